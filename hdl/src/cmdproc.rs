//! `CmdProc`: the command processor — runs the descriptor list the host
//! wrote into DDR, one convolution after the other, and sequences the engines
//! for each.
//!
//! Per run (`start` from `CTRL.START`): the list itself is checked first
//! (`list_code` from [`crate::desc_check::ListCheck`]: count, alignment,
//! window). Per descriptor `i`:
//! 1. **Fetch** its 64 bytes (8 words through the AXI reader) into the
//!    descriptor register (a shift register: word pairs arrive in order).
//! 2. **Check** it ([`crate::desc_check::DescCheck`], exactly
//!    `isa::validate_words`); a code stops the list (`error_pulse`, code,
//!    index `i`) before anything is written.
//! 3. **Setup**: the derived sizes (groups, slice words, pixel and row bytes,
//!    weight words per channel, destination pixel bytes, the last group's
//!    channel mask) into registers.
//! 4. **Scan** (threshold mode): the whole threshold table is streamed and
//!    every record's mode word checked as `ThresholdMode::decode` does; a bad
//!    one stops the list with `BadThresholds` before anything is written.
//! 5. **Group size** (state `GSIZE`, once per descriptor): how many passes
//!    of `rows` output channels one run may cover — as many as fit the
//!    weight banks (`g·wpc ≤` bank depth, `wpc` = words per output channel),
//!    the threshold unit's records for this `a_out` (records are strided by
//!    their size, [`crate::threshold::record_shift`]) and 255; one cycle per
//!    pass counted. The same count is made for half the banks and half the
//!    records: when the layer needs more than one run and a half holds at
//!    least one pass, the runs are **overlapped** (`ovl`): a run covers what
//!    fits a half, and the next run's weights and records load into the other
//!    half while this run computes (double-buffering, as VTA and Gemmini do
//!    with their scratchpads).
//! 6. For every run of `g` passes (output channels `co0..co0+g·rows`): the
//!    **loader** (a second process, `lstate`) loads the run's weights (one
//!    read per channel; channel `j` of the run goes to bank `j mod rows` from
//!    address `half + ⌊j/rows⌋·wpc`) and threshold records (two 32-bit words
//!    per bus word, from record `half`), unless it did so during the previous
//!    run; then the gatherer and the feeder **run** over every tile — the
//!    feeder computes each gathered tile once per pass (`reps`), and the
//!    tile's pass (`f_rep`) selects its channels, destination and valid rows
//!    (`co_t`) — and **drain** (the output writer and the threshold unit
//!    idle). In overlapped mode the run's start also starts the loader on the
//!    next run, into the other half (`w_off`/`rec_off` give the engines the
//!    running half). The input is read once per run, not once per pass.
//! 7. **Finish**: wait for every write response; an AXI error response seen
//!    by either master during the descriptor stops the list with `BusError`
//!    (unlike the model, the hardware cannot promise that nothing was written
//!    then: reads of later passes can fail after earlier passes wrote).
//!    Otherwise `cmds_done` counts it.
//!
//! After the last descriptor `done_pulse` (the register block raises the
//! interrupt). The performance counters restart with each run: busy cycles
//! (not idle), stall cycles (the feeder waiting for the gatherer), useful
//! MACs (per tile: valid columns × valid rows × kh·kw·cin, so a completed
//! descriptor adds exactly `CheckedDescriptor::macs`).
//!
//! The AXI reader is shared. The command processor's own reads (descriptor,
//! threshold scan) have it alone; from a descriptor's first run to its last
//! drain the gatherer and the loader share it: the gatherer's requests go
//! first (each held a cycle in a register, `gb_*`, so that the gatherer's
//! ready is a register), the loader has at most two requests in flight (so the gatherer's
//! data never waits behind more than two channels of weights), and a queue of
//! one-bit owner tags (`tags`, in request order, as the reader answers)
//! routes each word to its owner.
use rust_hdl::prelude::*;

use crate::desc_check::Widen;
use crate::desc_fields::DescFields;
use crate::fifo::{konst as k, Mul32x16, Narrow, Unused};

/// Command processor states (module docs: the steps of a descriptor), the
/// values of the 4-bit state register (an enum `DFF` printed a 64-bit reset
/// constant into a 4-bit register: Verilator `WIDTH`).
pub mod st {
    /// Waiting for `start`.
    pub const IDLE: u64 = 0;
    /// Requesting the descriptor.
    pub const FETCH: u64 = 1;
    /// Receiving its 8 words.
    pub const FETCH_DATA: u64 = 2;
    /// Starting the check.
    pub const CHECK: u64 = 3;
    /// Waiting for the check.
    pub const CHECK_WAIT: u64 = 4;
    /// Registering derived sizes (3 cycles).
    pub const SETUP: u64 = 5;
    /// Checking every threshold record's mode word.
    pub const SCAN: u64 = 6;
    /// Starting a pass of `rows` output channels.
    pub const PASS: u64 = 7;
    /// Waiting for the loader to hold the run's weights and records.
    pub const LOAD_WAIT: u64 = 8;
    /// Starting the run (and the loader on the next run, when overlapped).
    pub const LAUNCH: u64 = 9;
    /// Gatherer and feeder running.
    pub const RUN: u64 = 10;
    /// Waiting for the writer and the threshold unit.
    pub const DRAIN: u64 = 11;
    /// Waiting for the write responses.
    pub const FINISH: u64 = 12;
    /// Reporting an error.
    pub const ERROR: u64 = 13;
    /// Reporting completion.
    pub const DONE: u64 = 14;
    /// Counting the passes one run covers.
    pub const GSIZE: u64 = 15;
}

/// Most passes one run covers (the feeder's `repeats`).
pub const GROUP_CAP: usize = 255;

/// How the command processor splits a descriptor's passes of `rows` output
/// channels into runs (state `GSIZE`), stated in software for the tools
/// that need it: `zynqflow bench` measures a descriptor of several runs
/// whole, since overlapped runs make its cycles non-linear in its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlan {
    /// Passes of the descriptor, `⌈cout / rows⌉`.
    pub passes: u32,
    /// Passes one run covers.
    pub per_run: u32,
    /// Runs alternate between halves of the weight banks and records, each
    /// loading while the previous one computes.
    pub overlapped: bool,
}

impl RunPlan {
    /// Runs of the descriptor.
    pub fn runs(&self) -> u32 {
        self.passes.div_ceil(self.per_run.max(1))
    }
}

/// Threshold records (channels) the unit of a `rows`-row array holds for
/// `a_out`-bit codes (`ThresholdUnit::records_for` of the accelerator's
/// unit, asserted equal in `Accelerator::new`): `rows` 8-bit records,
/// narrower codes in proportion to their smaller records.
pub fn threshold_records(rows: usize, a_out: usize) -> usize {
    use crate::threshold::record_shift;
    let p = crate::top::THRESHOLD_COMPARATORS;
    rows << (record_shift(p, crate::threshold::MAX_A_OUT) - record_shift(p, a_out))
}

/// The run plan `CmdProc` makes for descriptor `d` on `config` (module
/// docs, step 5).
pub fn run_plan(config: &zynqflow_isa::ArrayConfig, d: &zynqflow_isa::Descriptor) -> RunPlan {
    let rows = usize::from(config.rows);
    let words = config.capabilities().weight_words_per_row() as usize;
    let wpc = (d.array_taps() * d.cin.div_ceil(64) * d.w_bits).max(1) as usize;
    let (records, records_half) = if d.mode == zynqflow_isa::MODE_RAW {
        (GROUP_CAP, GROUP_CAP)
    } else {
        let n = threshold_records(rows, d.a_out as usize);
        ((n / rows).clamp(1, GROUP_CAP), (n / 2 / rows).min(GROUP_CAP))
    };
    let full = (words / wpc).min(records).max(1);
    let half = (words / 2 / wpc).min(records_half);
    let passes = d.cout.div_ceil(u32::from(config.rows));
    let overlapped = half != 0 && passes as usize > full;
    RunPlan { passes, per_run: if overlapped { half } else { full } as u32, overlapped }
}

/// Reader requests in flight the owner-tag queue tracks (a 32-bit register).
const TAG_CAP: usize = 31;

/// `isa::ErrorCode::BadThresholds`.
const BAD_THRESHOLDS: u64 = 16;
/// `isa::ErrorCode::BusError`.
const BUS_ERROR: u64 = 15;

/// The command processor of an array with `rows` rows and `cols` columns.
#[derive(LogicBlock)]
pub struct CmdProc {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (also the soft reset).
    pub reset: Signal<In, Bit>,
    // Register block.
    /// Start pulse.
    pub start: Signal<In, Bit>,
    /// `CMD_BASE`.
    pub cmd_base: Signal<In, Bits<32>>,
    /// `CMD_COUNT`.
    pub cmd_count: Signal<In, Bits<32>>,
    /// The list check's code for `cmd_base`/`cmd_count` (0 = fine).
    pub list_code: Signal<In, Bits<5>>,
    /// Running.
    pub busy: Signal<Out, Bit>,
    /// The list completed (pulse).
    pub done_pulse: Signal<Out, Bit>,
    /// The list stopped on an error (pulse).
    pub error_pulse: Signal<Out, Bit>,
    /// Error code, with `error_pulse`.
    pub error_code: Signal<Out, Bits<32>>,
    /// Failing descriptor index, with `error_pulse`.
    pub error_index: Signal<Out, Bits<32>>,
    /// Descriptors completed.
    pub cmds_done: Signal<Out, Bits<32>>,
    /// Busy cycles.
    pub perf_busy: Signal<Out, Bits<64>>,
    /// Memory-stall cycles.
    pub perf_stall: Signal<Out, Bits<64>>,
    /// Useful MACs.
    pub perf_macs: Signal<Out, Bits<64>>,
    /// Clears the engines' sticky state at the start of a run (pulse).
    pub clear: Signal<Out, Bit>,
    // Descriptor check.
    /// The descriptor under check.
    pub words: Signal<Out, Bits<512>>,
    /// Start a check (pulse).
    pub check_start: Signal<Out, Bit>,
    /// The check finished.
    pub check_done: Signal<In, Bit>,
    /// Its code.
    pub check_code: Signal<In, Bits<5>>,
    // The AXI reader (shared with the gatherer).
    /// Reader request valid.
    pub rreq_valid: Signal<Out, Bit>,
    /// Reader request accepted.
    pub rreq_ready: Signal<In, Bit>,
    /// Reader request address.
    pub rreq_addr: Signal<Out, Bits<32>>,
    /// Reader request words.
    pub rreq_words: Signal<Out, Bits<24>>,
    /// Reader data.
    pub rd_word: Signal<In, Bits<64>>,
    /// Reader data valid.
    pub rd_valid: Signal<In, Bit>,
    /// Reader data taken.
    pub rd_ready: Signal<Out, Bit>,
    /// The reader saw an error response.
    pub rd_error: Signal<In, Bit>,
    /// The writer saw an error response.
    pub wr_error: Signal<In, Bit>,
    /// The writer has responses outstanding.
    pub wr_busy: Signal<In, Bit>,
    /// Gatherer's request valid (granted first while a descriptor runs).
    pub g_rreq_valid: Signal<In, Bit>,
    /// Gatherer's request accepted.
    pub g_rreq_ready: Signal<Out, Bit>,
    /// Gatherer's request address.
    pub g_rreq_addr: Signal<In, Bits<32>>,
    /// Gatherer's request words.
    pub g_rreq_words: Signal<In, Bits<24>>,
    /// Gatherer's data valid.
    pub g_rd_valid: Signal<Out, Bit>,
    /// Gatherer's data taken.
    pub g_rd_ready: Signal<In, Bit>,
    // Weight banks.
    /// Write a weight word.
    pub wb_we: Signal<Out, Bit>,
    /// Its row (bank).
    pub wb_row: Signal<Out, Bits<8>>,
    /// Its address.
    pub wb_addr: Signal<Out, Bits<16>>,
    // (data: `rd_word`)
    // Threshold unit.
    /// Write a record word.
    pub thr_we: Signal<Out, Bit>,
    /// Its channel (row).
    pub thr_channel: Signal<Out, Bits<16>>,
    /// Its index in the record.
    pub thr_word: Signal<Out, Bits<8>>,
    /// The word.
    pub thr_data: Signal<Out, Bits<32>>,
    /// Cycles per row of the threshold unit.
    pub row_cycles: Signal<In, Bits<8>>,
    /// The threshold unit has rows in flight.
    pub thr_busy: Signal<In, Bit>,
    // Layer settings for the engines.
    /// Raw output mode.
    pub mode_raw: Signal<Out, Bit>,
    /// Output code bits.
    pub a_out: Signal<Out, Bits<4>>,
    /// log2 of the copies the writer makes of each tile's codes.
    pub copies_log2: Signal<Out, Bits<2>>,
    /// Input code bits.
    pub a_bits: Signal<Out, Bits<4>>,
    /// Weight bits.
    pub w_bits: Signal<Out, Bits<4>>,
    /// Gatherer: first slice word address of pixel (0, 0).
    pub in_base: Signal<Out, Bits<32>>,
    /// Gatherer: bytes per input row.
    pub row_bytes: Signal<Out, Bits<32>>,
    /// Gatherer: bytes per input pixel.
    pub pix_bytes: Signal<Out, Bits<16>>,
    /// Gatherer: words per slice.
    pub slice_words: Signal<Out, Bits<16>>,
    /// Gatherer: `a_in` as 16 bits.
    pub a_bits16: Signal<Out, Bits<16>>,
    /// Gatherer: the last group's channel mask.
    pub mask: Signal<Out, Bits<64>>,
    /// Kernel rows.
    pub kh: Signal<Out, Bits<4>>,
    /// Kernel columns.
    pub kw: Signal<Out, Bits<4>>,
    /// Gatherer: packed taps (a 2×2 kernel read as one tap of 64 lanes).
    pub pack_taps: Signal<Out, Bit>,
    /// Feeder: packed planes (the last pair on the packed plane pairs only).
    pub pack_planes: Signal<Out, Bit>,
    /// Stride 2.
    pub stride_two: Signal<Out, Bit>,
    /// Upsampling ×2.
    pub up_two: Signal<Out, Bit>,
    /// Top padding.
    pub pad_top: Signal<Out, Bits<4>>,
    /// Left padding.
    pub pad_left: Signal<Out, Bits<4>>,
    /// Upsampled input rows.
    pub up_h: Signal<Out, Bits<20>>,
    /// Upsampled input columns.
    pub up_w: Signal<Out, Bits<20>>,
    /// Output rows.
    pub out_h: Signal<Out, Bits<16>>,
    /// Output columns.
    pub out_w: Signal<Out, Bits<16>>,
    /// Feeder: (tap, group) pairs.
    pub pairs: Signal<Out, Bits<16>>,
    /// Feeder: tile spacing.
    pub spacing: Signal<Out, Bits<16>>,
    /// Feeder: passes computed on each gathered tile in this run.
    pub reps: Signal<Out, Bits<16>>,
    /// The run's output channels (records `0..run_channels` of the
    /// threshold unit; rows past them are skipped).
    pub run_channels: Signal<Out, Bits<16>>,
    /// Feeder: weight words per output channel (a pass's bank stride).
    pub w_stride: Signal<Out, Bits<16>>,
    /// Weight bank address of the running run's half (0, or half the
    /// depth when runs are overlapped); added to the feeder's addresses.
    pub w_off: Signal<Out, Bits<16>>,
    /// Threshold record of the running run's half (0, or half the records
    /// of this `a_out`); added to the drained rows' record indices.
    pub rec_off: Signal<Out, Bits<16>>,
    /// Feeder: the pass of the tile being computed.
    pub f_rep: Signal<In, Bits<16>>,
    /// Feeder: destination base of the pass.
    pub dst_base: Signal<Out, Bits<32>>,
    /// Feeder: destination pixel bytes.
    pub dst_pix_bytes: Signal<Out, Bits<16>>,
    /// Feeder: destination columns.
    pub dst_w: Signal<Out, Bits<16>>,
    /// Feeder: output stride 2.
    pub os_two: Signal<Out, Bit>,
    /// Feeder: row offset.
    pub off_y: Signal<Out, Bits<4>>,
    /// Feeder: column offset.
    pub off_x: Signal<Out, Bits<4>>,
    /// Writer: bytes between columns.
    pub col_step: Signal<Out, Bits<32>>,
    /// Writer: valid rows of the pass.
    pub tile_rows: Signal<Out, Bits<8>>,
    /// Writer: first byte of the pass's channels in a word.
    pub byte_lo: Signal<Out, Bits<3>>,
    /// Writer: the pass is the layer's last.
    pub fill: Signal<Out, Bit>,
    /// Start the gatherer and the feeder (pulse).
    pub run_start: Signal<Out, Bit>,
    /// The gatherer is busy.
    pub g_busy: Signal<In, Bit>,
    /// The feeder is busy.
    pub f_busy: Signal<In, Bit>,
    /// The feeder is stalled on memory.
    pub f_stall: Signal<In, Bit>,
    /// The feeder finished a tile.
    pub f_tile: Signal<In, Bit>,
    /// Its valid columns.
    pub f_tile_cols: Signal<In, Bits<8>>,
    /// The output writer is idle.
    pub w_idle: Signal<In, Bit>,
    fields: DescFields,
    state: DFF<Bits<4>>,
    desc: DFF<Bits<512>>,
    index: DFF<Bits<32>>,
    done_cnt: DFF<Bits<32>>,
    cnt: DFF<Bits<24>>,
    cnt2: DFF<Bits<24>>,
    phase: DFF<Bit>,
    bad: DFF<Bit>,
    co0: DFF<Bits<16>>,
    code_r: DFF<Bits<32>>,
    p_busy: DFF<Bits<64>>,
    p_stall: DFF<Bits<64>>,
    p_macs: DFF<Bits<64>>,
    // Registered layer values.
    r_slice: DFF<Bits<16>>,
    r_pix: DFF<Bits<16>>,
    r_row: DFF<Bits<32>>,
    r_in_base: DFF<Bits<32>>,
    r_mask: DFF<Bits<64>>,
    r_pairs: DFF<Bits<16>>,
    r_wpc: DFF<Bits<16>>,
    r_wch_bytes: DFF<Bits<32>>,
    r_dpix: DFF<Bits<16>>,
    r_rf: DFF<Bits<32>>,
    co_t: DFF<Bits<16>>,
    g_max: DFF<Bits<16>>,
    gacc: DFF<Bits<24>>,
    wch: DFF<Bits<16>>,
    wbase: DFF<Bits<16>>,
    // The run's sizes, registered (they change only when co0 does, in PASS,
    // and are used from LOAD_WAIT on): `reps` and `nch` feed other blocks and a
    // `Widen`, where a direct use of the locals makes Verilator see a loop
    // (UNOPTFLAT); and the chain from the descriptor's fields through them
    // was the accelerator's deepest path (15 LUT levels).
    reps_r: DFF<Bits<16>>,
    nch_r: DFF<Bits<16>>,
    grp_rows_r: DFF<Bits<16>>,
    group_last_r: DFF<Bit>,
    // Overlapped runs: the half-bank group size, the mode, the running half.
    g_half: DFF<Bits<16>>,
    gacc_h: DFF<Bits<24>>,
    ovl: DFF<Bit>,
    run_half: DFF<Bit>,
    // The loader: state (0 idle, 1 weights, 2 records, 3 loaded), the run
    // it loads (first channel, channels, half) and its requests in flight.
    lstate: DFF<Bits<2>>,
    l_co0: DFF<Bits<16>>,
    lnch_r: DFF<Bits<16>>,
    l_half: DFF<Bit>,
    l_out: DFF<Bits<2>>,
    // The next run's first channel and channel count, registered a cycle
    // apart (ready from LAUNCH on, co0 having changed before PASS): the
    // count's subtraction and comparison off the descriptor's `cout` were
    // the design's longest path when computed in the kick's cycle.
    nxt_co0: DFF<Bits<16>>,
    nxt_nch: DFF<Bits<16>>,
    // The gatherer's request, held one cycle before it goes to the reader:
    // the gatherer's Verilog makes its request look combinational of its
    // ready, so a ready taken straight from the reader's closed a loop
    // through the reader in Verilator's view (UNOPTFLAT). It costs the
    // gatherer one request per two cycles at most (its requests are a slice
    // of `G·A` words, usually many).
    gb_valid: DFF<Bit>,
    gb_addr: DFF<Bits<32>>,
    gb_words: DFF<Bits<24>>,
    // Owner tags of the reader's requests in flight (bit 0 = oldest;
    // 1 = loader, 0 = gatherer), their count, and the words of the oldest
    // gatherer request delivered so far.
    tags: DFF<Bits<32>>,
    tcount: DFF<Bits<6>>,
    gcnt: DFF<Bits<16>>,
    // Combinational.
    arb: Signal<Local, Bit>,
    l_want: Signal<Local, Bit>,
    g_grant: Signal<Local, Bit>,
    l_grant: Signal<Local, Bit>,
    push_l: Signal<Local, Bit>,
    push_any: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    l_pop: Signal<Local, Bit>,
    g_head: Signal<Local, Bit>,
    l_head: Signal<Local, Bit>,
    ld_ready: Signal<Local, Bit>,
    fsm_rd_ready: Signal<Local, Bit>,
    kick: Signal<Local, Bit>,
    kick_co0: Signal<Local, Bits<16>>,
    kick_half: Signal<Local, Bit>,
    nxt_left: Signal<Local, Bits<16>>,
    kick_nch: Signal<Local, Bits<16>>,
    gmax_rows: Signal<Local, Bits<16>>,
    gthr_h: Signal<Local, Bits<16>>,
    rec_half: Signal<Local, Bits<16>>,
    l_woff: Signal<Local, Bits<16>>,
    l_recoff: Signal<Local, Bits<16>>,
    grow_f: Signal<Local, Bit>,
    grow_h: Signal<Local, Bit>,
    w_lco032: Widen<16, 32>,
    w_lnch24: Widen<16, 24>,
    tags_sh: Signal<Local, Bits<32>>,
    tpos: Signal<Local, Bits<6>>,
    gthr_h_tab: Vec<Constant<Bits<16>>>,
    rec_half_tab: Vec<Constant<Bits<16>>>,
    ww_half16: Constant<Bits<16>>,
    ww_half24: Constant<Bits<24>>,
    l_idle: Constant<Bits<2>>,
    l_w: Constant<Bits<2>>,
    l_t: Constant<Bits<2>>,
    l_loaded: Constant<Bits<2>>,
    two2: Constant<Bits<2>>,
    one2: Constant<Bits<2>>,
    one6: Constant<Bits<6>>,
    zero2: Constant<Bits<2>>,
    zero6: Constant<Bits<6>>,
    tag_cap: Constant<Bits<6>>,
    g_left: Signal<Local, Bits<16>>,
    passes_left: Signal<Local, Bits<16>>,
    reps_l: Signal<Local, Bits<16>>,
    grp_rows: Signal<Local, Bits<16>>,
    nch: Signal<Local, Bits<16>>,
    group_last: Signal<Local, Bit>,
    gthr: Signal<Local, Bits<16>>,
    valid16: Signal<Local, Bits<16>>,
    valid_r: DFF<Bits<16>>,
    gthr_tab: Vec<Constant<Bits<16>>>,
    a_tab: Vec<Constant<Bits<4>>>,
    lr16: Constant<Bits<16>>,
    rows_m1: Constant<Bits<16>>,
    row_mask8: Constant<Bits<8>>,
    ww24: Constant<Bits<24>>,
    g_cap: Constant<Bits<16>>,
    s_gsize: Constant<Bits<4>>,
    groups: Signal<Local, Bits<16>>,
    groups_tot: Signal<Local, Bits<16>>,
    groups_dst: Signal<Local, Bits<16>>,
    cin_rem: Signal<Local, Bits<7>>,
    kk16: Signal<Local, Bits<16>>,
    /// Taps the array steps through: `kh·kw`, or 1 with packed taps.
    kt16: Signal<Local, Bits<16>>,
    left: Signal<Local, Bits<16>>,
    nrows: Signal<Local, Bits<16>>,
    last_pass: Signal<Local, Bit>,
    mode_mask: Signal<Local, Bits<24>>,
    lo32: Signal<Local, Bits<32>>,
    hi32: Signal<Local, Bits<32>>,
    mode_ok: Signal<Local, Bit>,
    k_idx: Signal<Local, Bits<24>>,
    rec_mask: Signal<Local, Bits<24>>,
    list_bytes: Signal<Local, Bits<32>>,
    wmul: Mul32x16,
    macmul: Mul32x16,
    running: Signal<Local, Bit>,
    s_idle: Constant<Bits<4>>,
    s_fetch: Constant<Bits<4>>,
    s_fetch_data: Constant<Bits<4>>,
    s_check: Constant<Bits<4>>,
    s_check_wait: Constant<Bits<4>>,
    s_setup: Constant<Bits<4>>,
    s_scan: Constant<Bits<4>>,
    s_pass: Constant<Bits<4>>,
    s_load_wait: Constant<Bits<4>>,
    s_launch: Constant<Bits<4>>,
    s_run: Constant<Bits<4>>,
    s_drain: Constant<Bits<4>>,
    s_finish: Constant<Bits<4>>,
    s_error: Constant<Bits<4>>,
    s_done: Constant<Bits<4>>,
    // Zero-extensions and truncations (lint-clean `bit_cast`s).
    w_ain16: Widen<4, 16>,
    w_aout16: Widen<4, 16>,
    w_wb16: Widen<4, 16>,
    w_kh16: Widen<4, 16>,
    w_kw16: Widen<4, 16>,
    w_aout24: Widen<4, 24>,
    w_inh20: Widen<16, 20>,
    w_inw20: Widen<16, 20>,
    w_wpc32: Widen<16, 32>,
    w_wpc24: Widen<16, 24>,
    w_dpix32: Widen<16, 32>,
    w_rc16: Widen<8, 16>,
    w_ftc16: Widen<8, 16>,
    w_chco32: Widen<16, 32>,
    w_cout24: Widen<16, 24>,
    w_list32: Widen<5, 32>,
    w_check32: Widen<5, 32>,
    w_word512: Widen<64, 512>,
    w_macs64: Widen<32, 64>,
    n_kk: Narrow<32, 16>,
    n_slice: Narrow<32, 16>,
    n_pix: Narrow<32, 16>,
    n_pairs: Narrow<32, 16>,
    n_dpix: Narrow<32, 16>,
    n_wpc: Narrow<32, 16>,
    n_spacing: Narrow<32, 16>,
    n_cr: Narrow<32, 16>,
    n_kch: Narrow<24, 16>,
    n_kword: Narrow<24, 8>,
    // Decoder outputs the command processor does not need: the opcode,
    // `dst_h` and the reserved bits are checked by `DescCheck` (which has its
    // own decoder) before anything runs; the writer needs no row count.
    u_opcode: Unused<Bits<8>>,
    u_dst_h: Unused<Bits<16>>,
    u_reserved: Unused<Bit>,
    ch_grp: Signal<Local, Bits<16>>,
    chco: Signal<Local, Bits<16>>,
    chco_grp: Signal<Local, Bits<16>>,
    tbl_words: Signal<Local, Bits<24>>,
    pass_words: Signal<Local, Bits<24>>,
    c63_7: Constant<Bits<7>>,
    two24: Constant<Bits<24>>,
    rows16: Constant<Bits<16>>,
    zero5: Constant<Bits<5>>,
    zero7: Constant<Bits<7>>,
    zero16: Constant<Bits<16>>,
    one16: Constant<Bits<16>>,
    zero24: Constant<Bits<24>>,
    zero32: Constant<Bits<32>>,
    zero64: Constant<Bits<64>>,
    one24: Constant<Bits<24>>,
    one32: Constant<Bits<32>>,
    one64: Constant<Bits<64>>,
    two4: Constant<Bits<4>>,
    eight24: Constant<Bits<24>>,
    sixty3: Constant<Bits<16>>,
    ones64: Constant<Bits<64>>,
    ones24: Constant<Bits<24>>,
    c64_7: Constant<Bits<7>>,
    m_asc: Constant<Bits<32>>,
    m_desc: Constant<Bits<32>>,
    m_const: Constant<Bits<8>>,
    zero_hi16: Constant<Bits<16>>,
    bad_thr: Constant<Bits<32>>,
    bus_err: Constant<Bits<32>>,
    seven24: Constant<Bits<24>>,
}

impl CmdProc {
    /// The command processor of a `rows` × `cols` array (rows a multiple of 8
    /// dividing 64) with `weight_words` words per weight bank and a threshold
    /// unit holding `thr_records[a]` records of `a`-bit codes (`a` in 0..16;
    /// [`crate::threshold::ThresholdUnit::records_for`]).
    pub fn new(rows: usize, cols: usize, weight_words: usize, thr_records: [usize; 16]) -> Self {
        assert!(rows.is_multiple_of(8) && 64_usize.is_multiple_of(rows), "rows {rows}: a multiple of 8 dividing 64");
        assert!((1..1 << 24).contains(&weight_words), "weight_words {weight_words}");
        let _ = cols;
        CmdProc {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            cmd_base: Default::default(),
            cmd_count: Default::default(),
            list_code: Default::default(),
            busy: Default::default(),
            done_pulse: Default::default(),
            error_pulse: Default::default(),
            error_code: Default::default(),
            error_index: Default::default(),
            cmds_done: Default::default(),
            perf_busy: Default::default(),
            perf_stall: Default::default(),
            perf_macs: Default::default(),
            clear: Default::default(),
            words: Default::default(),
            check_start: Default::default(),
            check_done: Default::default(),
            check_code: Default::default(),
            rreq_valid: Default::default(),
            rreq_ready: Default::default(),
            rreq_addr: Default::default(),
            rreq_words: Default::default(),
            rd_word: Default::default(),
            rd_valid: Default::default(),
            rd_ready: Default::default(),
            rd_error: Default::default(),
            wr_error: Default::default(),
            wr_busy: Default::default(),
            g_rreq_valid: Default::default(),
            g_rreq_ready: Default::default(),
            g_rreq_addr: Default::default(),
            g_rreq_words: Default::default(),
            g_rd_valid: Default::default(),
            g_rd_ready: Default::default(),
            wb_we: Default::default(),
            wb_row: Default::default(),
            wb_addr: Default::default(),
            thr_we: Default::default(),
            thr_channel: Default::default(),
            thr_word: Default::default(),
            thr_data: Default::default(),
            row_cycles: Default::default(),
            thr_busy: Default::default(),
            mode_raw: Default::default(),
            a_out: Default::default(),
            copies_log2: Default::default(),
            a_bits: Default::default(),
            w_bits: Default::default(),
            in_base: Default::default(),
            row_bytes: Default::default(),
            pix_bytes: Default::default(),
            slice_words: Default::default(),
            a_bits16: Default::default(),
            mask: Default::default(),
            kh: Default::default(),
            kw: Default::default(),
            pack_taps: Default::default(),
            pack_planes: Default::default(),
            stride_two: Default::default(),
            up_two: Default::default(),
            pad_top: Default::default(),
            pad_left: Default::default(),
            up_h: Default::default(),
            up_w: Default::default(),
            out_h: Default::default(),
            out_w: Default::default(),
            pairs: Default::default(),
            spacing: Default::default(),
            reps: Default::default(),
            run_channels: Default::default(),
            valid16: Default::default(),
            valid_r: Default::default(),
            w_stride: Default::default(),
            w_off: Default::default(),
            rec_off: Default::default(),
            f_rep: Default::default(),
            dst_base: Default::default(),
            dst_pix_bytes: Default::default(),
            dst_w: Default::default(),
            os_two: Default::default(),
            off_y: Default::default(),
            off_x: Default::default(),
            col_step: Default::default(),
            tile_rows: Default::default(),
            byte_lo: Default::default(),
            fill: Default::default(),
            run_start: Default::default(),
            g_busy: Default::default(),
            f_busy: Default::default(),
            f_stall: Default::default(),
            f_tile: Default::default(),
            f_tile_cols: Default::default(),
            w_idle: Default::default(),
            fields: Default::default(),
            state: Default::default(),
            desc: Default::default(),
            index: Default::default(),
            done_cnt: Default::default(),
            cnt: Default::default(),
            cnt2: Default::default(),
            phase: Default::default(),
            bad: Default::default(),
            co0: Default::default(),
            code_r: Default::default(),
            p_busy: Default::default(),
            p_stall: Default::default(),
            p_macs: Default::default(),
            r_slice: Default::default(),
            r_pix: Default::default(),
            r_row: Default::default(),
            r_in_base: Default::default(),
            r_mask: Default::default(),
            r_pairs: Default::default(),
            r_wpc: Default::default(),
            r_wch_bytes: Default::default(),
            r_dpix: Default::default(),
            r_rf: Default::default(),
            co_t: Default::default(),
            g_max: Default::default(),
            gacc: Default::default(),
            wch: Default::default(),
            wbase: Default::default(),
            reps_r: Default::default(),
            nch_r: Default::default(),
            grp_rows_r: Default::default(),
            group_last_r: Default::default(),
            g_half: Default::default(),
            gacc_h: Default::default(),
            ovl: Default::default(),
            run_half: Default::default(),
            lstate: Default::default(),
            l_co0: Default::default(),
            lnch_r: Default::default(),
            l_half: Default::default(),
            l_out: Default::default(),
            tags: Default::default(),
            tcount: Default::default(),
            gcnt: Default::default(),
            arb: Default::default(),
            l_want: Default::default(),
            g_grant: Default::default(),
            l_grant: Default::default(),
            push_l: Default::default(),
            push_any: Default::default(),
            pop: Default::default(),
            l_pop: Default::default(),
            g_head: Default::default(),
            l_head: Default::default(),
            ld_ready: Default::default(),
            fsm_rd_ready: Default::default(),
            kick: Default::default(),
            kick_co0: Default::default(),
            kick_half: Default::default(),
            nxt_left: Default::default(),
            nxt_co0: Default::default(),
            gb_valid: Default::default(),
            gb_addr: Default::default(),
            gb_words: Default::default(),
            nxt_nch: Default::default(),
            kick_nch: Default::default(),
            gmax_rows: Default::default(),
            gthr_h: Default::default(),
            rec_half: Default::default(),
            l_woff: Default::default(),
            l_recoff: Default::default(),
            grow_f: Default::default(),
            grow_h: Default::default(),
            w_lco032: Default::default(),
            w_lnch24: Default::default(),
            tags_sh: Default::default(),
            tpos: Default::default(),
            gthr_h_tab: thr_records.iter().map(|&n| k((n / 2 / rows).min(GROUP_CAP) as u64)).collect(),
            rec_half_tab: thr_records.iter().map(|&n| k((n / 2) as u64)).collect(),
            ww_half16: k((weight_words / 2) as u64),
            ww_half24: k((weight_words / 2) as u64),
            l_idle: k(0),
            l_w: k(1),
            l_t: k(2),
            l_loaded: k(3),
            two2: k(2),
            one2: k(1),
            one6: k(1),
            zero2: k(0),
            zero6: k(0),
            tag_cap: k(TAG_CAP as u64),
            g_left: Default::default(),
            passes_left: Default::default(),
            reps_l: Default::default(),
            grp_rows: Default::default(),
            nch: Default::default(),
            group_last: Default::default(),
            gthr: Default::default(),
            gthr_tab: thr_records.iter().map(|&n| k((n / rows).clamp(1, GROUP_CAP) as u64)).collect(),
            a_tab: (0..16).map(k).collect(),
            lr16: k(rows.trailing_zeros() as u64),
            rows_m1: k(rows as u64 - 1),
            row_mask8: k(rows as u64 - 1),
            ww24: k(weight_words as u64),
            g_cap: k(GROUP_CAP as u64),
            s_gsize: k(st::GSIZE),
            groups: Default::default(),
            groups_tot: Default::default(),
            groups_dst: Default::default(),
            cin_rem: Default::default(),
            kk16: Default::default(),
            kt16: Default::default(),
            left: Default::default(),
            nrows: Default::default(),
            last_pass: Default::default(),
            mode_mask: Default::default(),
            lo32: Default::default(),
            hi32: Default::default(),
            mode_ok: Default::default(),
            k_idx: Default::default(),
            rec_mask: Default::default(),
            list_bytes: Default::default(),
            wmul: Default::default(),
            macmul: Default::default(),
            running: Default::default(),
            s_idle: k(st::IDLE),
            s_fetch: k(st::FETCH),
            s_fetch_data: k(st::FETCH_DATA),
            s_check: k(st::CHECK),
            s_check_wait: k(st::CHECK_WAIT),
            s_setup: k(st::SETUP),
            s_scan: k(st::SCAN),
            s_pass: k(st::PASS),
            s_load_wait: k(st::LOAD_WAIT),
            s_launch: k(st::LAUNCH),
            s_run: k(st::RUN),
            s_drain: k(st::DRAIN),
            s_finish: k(st::FINISH),
            s_error: k(st::ERROR),
            s_done: k(st::DONE),
            w_ain16: Default::default(),
            w_aout16: Default::default(),
            w_wb16: Default::default(),
            w_kh16: Default::default(),
            w_kw16: Default::default(),
            w_aout24: Default::default(),
            w_inh20: Default::default(),
            w_inw20: Default::default(),
            w_wpc32: Default::default(),
            w_wpc24: Default::default(),
            w_dpix32: Default::default(),
            w_rc16: Default::default(),
            w_ftc16: Default::default(),
            w_chco32: Default::default(),
            w_cout24: Default::default(),
            w_list32: Default::default(),
            w_check32: Default::default(),
            w_word512: Default::default(),
            w_macs64: Default::default(),
            n_kk: Default::default(),
            n_slice: Default::default(),
            n_pix: Default::default(),
            n_pairs: Default::default(),
            n_dpix: Default::default(),
            n_wpc: Default::default(),
            n_spacing: Default::default(),
            n_cr: Default::default(),
            n_kch: Default::default(),
            n_kword: Default::default(),
            u_opcode: Default::default(),
            u_dst_h: Default::default(),
            u_reserved: Default::default(),
            ch_grp: Default::default(),
            chco: Default::default(),
            chco_grp: Default::default(),
            tbl_words: Default::default(),
            pass_words: Default::default(),
            c63_7: k(63),
            two24: k(2),
            rows16: k(rows as u64),
            zero5: k(0),
            zero7: k(0),
            zero16: k(0),
            one16: k(1),
            zero24: k(0),
            zero32: k(0),
            zero64: k(0),
            one24: k(1),
            one32: k(1),
            one64: k(1),
            two4: k(2),
            eight24: k(8),
            sixty3: k(63),
            ones64: k(u64::MAX),
            ones24: k(0xff_ffff),
            c64_7: k(64),
            m_asc: k(0),
            m_desc: k(1),
            m_const: k(2),
            zero_hi16: k(0),
            bad_thr: k(BAD_THRESHOLDS),
            bus_err: k(BUS_ERROR),
            seven24: k(7),
        }
    }
}

impl Logic for CmdProc {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            desc,
            index,
            done_cnt,
            cnt,
            cnt2,
            phase,
            bad,
            co0,
            code_r,
            p_busy,
            p_stall,
            p_macs,
            r_slice,
            r_pix,
            r_row,
            r_in_base,
            r_mask,
            r_pairs,
            r_wpc,
            r_wch_bytes,
            r_dpix,
            r_rf,
            co_t,
            g_max,
            gacc,
            wch,
            wbase,
            reps_r,
            nch_r,
            grp_rows_r,
            group_last_r,
            valid_r,
            g_half,
            gacc_h,
            ovl,
            run_half,
            lstate,
            l_co0,
            lnch_r,
            l_half,
            l_out,
            nxt_co0,
            nxt_nch,
            gb_valid,
            gb_addr,
            gb_words,
            tags,
            tcount,
            gcnt
        );
        self.fields.words.next = self.desc.q.val();
        self.words.next = self.desc.q.val();
        self.u_opcode.i.next = self.fields.opcode.val();
        self.u_dst_h.i.next = self.fields.dst_h.val();
        self.u_reserved.i.next = self.fields.reserved.val();
        self.w_ain16.i.next = self.fields.a_in.val();
        self.w_aout16.i.next = self.fields.a_out.val();
        self.w_wb16.i.next = self.fields.w_bits.val();
        self.w_kh16.i.next = self.fields.kh.val();
        self.w_kw16.i.next = self.fields.kw.val();
        self.w_aout24.i.next = self.fields.a_out.val();
        self.w_inh20.i.next = self.fields.in_h.val();
        self.w_inw20.i.next = self.fields.in_w.val();
        self.w_cout24.i.next = self.fields.cout.val();
        self.w_list32.i.next = self.list_code.val();
        self.w_check32.i.next = self.check_code.val();
        self.w_word512.i.next = self.rd_word.val();
        self.w_rc16.i.next = self.row_cycles.val();
        self.w_ftc16.i.next = self.f_tile_cols.val();
        self.w_macs64.i.next = self.macmul.p.val();

        // ---- Layer values straight from the fields.
        self.mode_raw.next = self.fields.mode.val();
        self.a_out.next = self.fields.a_out.val();
        self.copies_log2.next = self.fields.copies_log2.val();
        self.a_bits.next = self.fields.a_in.val();
        self.a_bits16.next = self.w_ain16.o.val();
        self.w_bits.next = self.fields.w_bits.val();
        self.kh.next = self.fields.kh.val();
        self.kw.next = self.fields.kw.val();
        self.pack_taps.next = self.fields.pack_taps.val();
        self.pack_planes.next = self.fields.pack_planes.val();
        self.stride_two.next = self.fields.stride.val() == self.two4.val();
        self.up_two.next = self.fields.upsample.val() == self.two4.val();
        self.pad_top.next = self.fields.pad_top.val();
        self.pad_left.next = self.fields.pad_left.val();
        self.up_h.next = self.w_inh20.o.val();
        self.up_w.next = self.w_inw20.o.val();
        if self.up_two.val() {
            self.up_h.next = self.w_inh20.o.val() << 1;
            self.up_w.next = self.w_inw20.o.val() << 1;
        }
        self.out_h.next = self.fields.out_h.val();
        self.out_w.next = self.fields.out_w.val();
        self.dst_w.next = self.fields.dst_w.val();
        self.os_two.next = self.fields.out_stride.val() == self.two4.val();
        self.off_y.next = self.fields.out_off_y.val();
        self.off_x.next = self.fields.out_off_x.val();

        // ---- Derived sizes (registered in SETUP).
        self.groups.next = (self.fields.cin.val() + self.sixty3.val()) >> 6;
        self.groups_tot.next = (self.fields.in_c_total.val() + self.sixty3.val()) >> 6;
        self.groups_dst.next = (self.fields.dst_c.val() + self.sixty3.val()) >> 6;
        self.cin_rem.next = self.fields.cin.val().get_bits::<7>(0) & self.c63_7.val();
        self.n_kk.i.next = self.w_kh16.o.val() * self.w_kw16.o.val();
        self.kk16.next = self.n_kk.o.val();
        self.n_slice.i.next = self.groups.val() * self.w_ain16.o.val();
        self.n_pix.i.next = (self.groups_tot.val() * self.w_ain16.o.val()) << 3;
        self.kt16.next = self.kk16.val();
        if self.fields.pack_taps.val() {
            self.kt16.next = self.one16.val();
        }
        self.n_pairs.i.next = self.kt16.val() * self.groups.val();
        self.n_dpix.i.next = (self.groups_dst.val() * self.w_aout16.o.val()) << 3;
        self.ch_grp.next = self.fields.in_ch_off.val() >> 6;
        if self.state.q.val() == self.s_setup.val() {
            self.r_slice.d.next = self.n_slice.o.val();
            self.r_pix.d.next = self.n_pix.o.val();
            self.r_in_base.d.next = self.fields.in_addr.val() + ((self.ch_grp.val() * self.w_ain16.o.val()) << 3);
            self.r_mask.d.next = self.ones64.val();
            if self.cin_rem.val() != self.zero7.val() {
                self.r_mask.d.next = self.ones64.val() >> (self.c64_7.val() - self.cin_rem.val());
            }
            self.r_pairs.d.next = self.n_pairs.o.val();
            self.r_rf.d.next = self.kk16.val() * self.fields.cin.val();
            if self.fields.mode.val() {
                self.r_dpix.d.next = self.fields.dst_c.val() << 2;
            } else {
                self.r_dpix.d.next = self.n_dpix.o.val();
            }
        }
        self.r_row.d.next = self.fields.in_w.val() * self.r_pix.q.val();
        self.n_wpc.i.next = self.r_pairs.q.val() * self.w_wb16.o.val();
        self.r_wpc.d.next = self.n_wpc.o.val();
        self.w_wpc32.i.next = self.r_wpc.q.val();
        self.w_wpc24.i.next = self.r_wpc.q.val();
        self.r_wch_bytes.d.next = self.w_wpc32.o.val() << 3;
        self.in_base.next = self.r_in_base.q.val();
        self.row_bytes.next = self.r_row.q.val();
        self.pix_bytes.next = self.r_pix.q.val();
        self.slice_words.next = self.r_slice.q.val();
        self.mask.next = self.r_mask.q.val();
        self.pairs.next = self.r_pairs.q.val();
        self.dst_pix_bytes.next = self.r_dpix.q.val();
        self.w_dpix32.i.next = self.r_dpix.q.val();
        self.col_step.next = self.w_dpix32.o.val();
        if self.os_two.val() {
            self.col_step.next = self.w_dpix32.o.val() << 1;
        }
        // A tile's rows past the run's channels take one threshold cycle
        // each (a run of one partial pass: the 4-channel flow predictions).
        self.run_channels.next = self.nch_r.q.val();
        self.valid16.next = self.rows16.val();
        if self.nch_r.q.val() < self.rows16.val() {
            self.valid16.next = self.nch_r.q.val();
        }
        // Registered: a `Narrow` input from a local makes Verilator see a
        // loop (UNOPTFLAT); nch_r settled long before a run's first tile.
        self.valid_r.d.next = self.valid16.val();
        self.n_spacing.i.next = self.w_rc16.o.val() * self.valid_r.q.val();
        self.spacing.next = self.n_spacing.o.val() + (self.rows16.val() - self.valid_r.q.val());

        // ---- The run: passes co0, co0 + rows, … of `reps` (at most `g_max`).
        self.g_left.next = self.fields.cout.val() - self.co0.q.val();
        self.passes_left.next = (self.g_left.val() + self.rows_m1.val()) >> self.lr16.val();
        self.reps_l.next = self.g_max.q.val();
        if self.passes_left.val() < self.g_max.q.val() {
            self.reps_l.next = self.passes_left.val();
        }
        self.reps_r.d.next = self.reps_l.val();
        self.reps.next = self.reps_r.q.val();
        self.w_stride.next = self.r_wpc.q.val();
        self.grp_rows.next = self.reps_l.val() << self.lr16.val();
        self.nch.next = self.grp_rows.val();
        if self.g_left.val() < self.grp_rows.val() {
            self.nch.next = self.g_left.val();
        }
        self.group_last.next = self.g_left.val() <= self.grp_rows.val();
        self.group_last_r.d.next = self.group_last.val();
        self.grp_rows_r.d.next = self.grp_rows.val();
        // Records the threshold unit holds for this a_out, in passes (all
        // of them, and half of them), and the record index of the upper half.
        self.gthr.next = self.g_cap.val();
        self.gthr_h.next = self.g_cap.val();
        self.rec_half.next = self.zero16.val();
        if !self.fields.mode.val() {
            for a in 0..16 {
                if self.fields.a_out.val() == self.a_tab[a].val() {
                    self.gthr.next = self.gthr_tab[a].val();
                    self.gthr_h.next = self.gthr_h_tab[a].val();
                    self.rec_half.next = self.rec_half_tab[a].val();
                }
            }
        }
        // Group sizes: does one more pass fit the whole banks / a half?
        self.grow_f.next =
            (self.g_max.q.val() < self.gthr.val()) & ((self.gacc.q.val() + self.w_wpc24.o.val()) <= self.ww24.val());
        self.grow_h.next = (self.g_half.q.val() < self.gthr_h.val())
            & ((self.gacc_h.q.val() + self.w_wpc24.o.val()) <= self.ww_half24.val());
        // The halves: the running run's (engines) and the loading run's.
        self.w_off.next = self.zero16.val();
        self.rec_off.next = self.zero16.val();
        if self.run_half.q.val() {
            self.w_off.next = self.ww_half16.val();
            self.rec_off.next = self.rec_half.val();
        }
        self.l_woff.next = self.zero16.val();
        self.l_recoff.next = self.zero16.val();
        if self.l_half.q.val() {
            self.l_woff.next = self.ww_half16.val();
            self.l_recoff.next = self.rec_half.val();
        }
        self.gmax_rows.next = self.g_max.q.val() << self.lr16.val();
        // ---- The tile's pass (the feeder's `rep`, one register later):
        // channels co_t .. co_t + nrows.
        self.co_t.d.next = self.co0.q.val() + (self.f_rep.val() << self.lr16.val());
        self.left.next = self.fields.cout.val() - self.co_t.q.val();
        self.nrows.next = self.rows16.val();
        if self.left.val() < self.rows16.val() {
            self.nrows.next = self.left.val();
        }
        self.last_pass.next = self.left.val() <= self.rows16.val();
        self.tile_rows.next = self.nrows.val().get_bits::<8>(0);
        self.byte_lo.next = self.co_t.q.val().get_bits::<3>(3);
        self.fill.next = self.last_pass.val();
        self.chco.next = self.fields.ch_off.val() + self.co_t.q.val();
        self.chco_grp.next = self.chco.val() >> 6;
        // Widen inputs are driven from registers and fields only (not from
        // this block's locals): otherwise Verilator sees a false loop
        // through this always block (UNOPTFLAT).
        self.w_chco32.i.next = self.fields.ch_off.val() + self.co_t.q.val();
        if self.fields.mode.val() {
            self.dst_base.next = self.fields.out_addr.val() + (self.w_chco32.o.val() << 2);
        } else {
            self.dst_base.next = self.fields.out_addr.val() + ((self.chco_grp.val() * self.w_aout16.o.val()) << 3);
        }

        // ---- Threshold records: 2^a_out words of 32 bits per channel.
        // Bus words of the whole table and of a run (two records words each).
        self.nch_r.d.next = self.nch.val();
        self.w_lnch24.i.next = self.lnch_r.q.val();
        self.w_lco032.i.next = self.l_co0.q.val();
        self.tbl_words.next = self.w_cout24.o.val() << (self.w_aout24.o.val() - self.one24.val());
        self.pass_words.next = self.w_lnch24.o.val() << (self.w_aout24.o.val() - self.one24.val());
        self.rec_mask.next = !(self.ones24.val() << self.fields.a_out.val());
        self.mode_mask.next = self.rec_mask.val() >> 1;
        self.lo32.next = self.rd_word.val().get_bits::<32>(0);
        self.hi32.next = self.rd_word.val().get_bits::<32>(32);
        self.mode_ok.next = (self.lo32.val() == self.m_asc.val())
            | (self.lo32.val() == self.m_desc.val())
            | ((self.lo32.val().get_bits::<8>(0) == self.m_const.val())
                & (self.lo32.val().get_bits::<16>(16) == self.zero_hi16.val()));

        // ---- Defaults.
        self.rreq_valid.next = false;
        self.rreq_addr.next = self.zero32.val();
        self.rreq_words.next = self.zero24.val();
        self.fsm_rd_ready.next = false;
        self.g_rreq_ready.next = false;
        self.g_rd_valid.next = false;
        self.running.next = true;
        self.check_start.next = false;
        self.wb_we.next = false;
        // Channel `wch` of the run: bank wch mod rows, from wbase = ⌊wch/rows⌋·wpc.
        self.wb_row.next = self.wch.q.val().get_bits::<8>(0) & self.row_mask8.val();
        self.wb_addr.next = self.l_woff.val() + self.wbase.q.val() + self.cnt2.q.val().get_bits::<16>(0);
        self.thr_we.next = false;
        self.k_idx.next = self.cnt.q.val() << 1;
        if self.phase.q.val() {
            self.k_idx.next = (self.cnt.q.val() << 1) | self.one24.val();
        }
        self.n_kch.i.next = self.k_idx.val() >> self.fields.a_out.val();
        self.thr_channel.next = self.l_recoff.val() + self.n_kch.o.val();
        self.n_kword.i.next = self.k_idx.val() & self.rec_mask.val();
        self.thr_word.next = self.n_kword.o.val();
        self.thr_data.next = self.lo32.val();
        if self.phase.q.val() {
            self.thr_data.next = self.hi32.val();
        }
        self.run_start.next = false;
        self.done_pulse.next = false;
        self.error_pulse.next = false;
        self.clear.next = false;
        self.error_code.next = self.code_r.q.val();
        self.error_index.next = self.index.q.val();
        self.wmul.a.next = self.r_wch_bytes.q.val();
        self.wmul.b.next = self.l_co0.q.val() + self.cnt.q.val().get_bits::<16>(0);
        self.macmul.a.next = self.r_rf.q.val();
        self.n_cr.i.next = self.w_ftc16.o.val() * self.nrows.val();
        self.macmul.b.next = self.n_cr.o.val();
        self.list_bytes.next = self.index.q.val() << 6;
        self.kick.next = false;
        self.kick_co0.next = self.co0.q.val();
        self.kick_nch.next = self.nch_r.q.val();
        self.kick_half.next = false;

        // ---- The state machine.
        if self.state.q.val() == self.s_idle.val() {
            self.running.next = false;
            if self.start.val() {
                self.clear.next = true;
                self.index.d.next = self.zero32.val();
                self.done_cnt.d.next = self.zero32.val();
                self.p_busy.d.next = self.zero64.val();
                self.p_stall.d.next = self.zero64.val();
                self.p_macs.d.next = self.zero64.val();
                self.lstate.d.next = self.l_idle.val();
                self.l_out.d.next = self.zero2.val();
                self.tcount.d.next = self.zero6.val();
                self.gcnt.d.next = self.zero16.val();
                if self.list_code.val() != self.zero5.val() {
                    self.code_r.d.next = self.w_list32.o.val();
                    self.state.d.next = self.s_error.val();
                } else {
                    self.state.d.next = self.s_fetch.val();
                }
            }
        } else if self.state.q.val() == self.s_fetch.val() {
            self.rreq_valid.next = true;
            self.rreq_addr.next = self.cmd_base.val() + self.list_bytes.val();
            self.rreq_words.next = self.eight24.val();
            if self.rreq_ready.val() {
                self.cnt.d.next = self.zero24.val();
                self.state.d.next = self.s_fetch_data.val();
            }
        } else if self.state.q.val() == self.s_fetch_data.val() {
            self.fsm_rd_ready.next = true;
            if self.rd_valid.val() {
                self.desc.d.next = (self.desc.q.val() >> 64) | (self.w_word512.o.val() << 448);
                self.cnt.d.next = self.cnt.q.val() + self.one24.val();
                if self.cnt.q.val() == self.seven24.val() {
                    self.state.d.next = self.s_check.val();
                }
            }
        } else if self.state.q.val() == self.s_check.val() {
            self.check_start.next = true;
            self.state.d.next = self.s_check_wait.val();
        } else if self.state.q.val() == self.s_check_wait.val() {
            if self.check_done.val() {
                if self.check_code.val() != self.zero5.val() {
                    self.code_r.d.next = self.w_check32.o.val();
                    self.state.d.next = self.s_error.val();
                } else {
                    self.state.d.next = self.s_setup.val();
                    self.cnt.d.next = self.zero24.val();
                }
            }
        } else if self.state.q.val() == self.s_setup.val() {
            // Three cycles: r_slice.. (cycle 0), r_row/r_wpc (1), r_wch_bytes (2).
            self.cnt.d.next = self.cnt.q.val() + self.one24.val();
            if self.cnt.q.val() == self.two24.val() {
                self.cnt.d.next = self.zero24.val();
                self.phase.d.next = false;
                self.bad.d.next = false;
                self.co0.d.next = self.zero16.val();
                self.g_max.d.next = self.zero16.val();
                self.gacc.d.next = self.zero24.val();
                self.g_half.d.next = self.zero16.val();
                self.gacc_h.d.next = self.zero24.val();
                self.state.d.next = self.s_gsize.val();
            }
        } else if self.state.q.val() == self.s_gsize.val() {
            // g_max = passes whose weights (wpc words per channel) fit a
            // bank, capped by the threshold records; at least 1 (DescCheck
            // refused a channel that does not fit). g_half: the same for
            // half the bank and half the records. Overlapped runs when the
            // layer needs more than one run and a half holds a pass.
            if self.grow_f.val() {
                self.gacc.d.next = self.gacc.q.val() + self.w_wpc24.o.val();
                self.g_max.d.next = self.g_max.q.val() + self.one16.val();
            }
            if self.grow_h.val() {
                self.gacc_h.d.next = self.gacc_h.q.val() + self.w_wpc24.o.val();
                self.g_half.d.next = self.g_half.q.val() + self.one16.val();
            }
            if !self.grow_f.val() & !self.grow_h.val() {
                self.ovl.d.next = false;
                if self.g_max.q.val() == self.zero16.val() {
                    self.g_max.d.next = self.one16.val();
                }
                if (self.g_half.q.val() != self.zero16.val()) & (self.passes_left.val() > self.g_max.q.val()) {
                    self.ovl.d.next = true;
                    self.g_max.d.next = self.g_half.q.val();
                }
                if self.fields.mode.val() {
                    self.state.d.next = self.s_pass.val();
                } else {
                    self.state.d.next = self.s_scan.val();
                }
            }
        } else if self.state.q.val() == self.s_scan.val() {
            // Request the whole table once (cnt2 = 0), then check words.
            if !self.phase.q.val() {
                self.rreq_valid.next = true;
                self.rreq_addr.next = self.fields.thr_addr.val();
                // `tbl_words`, restated: the request must not share a local
                // with the word-count bookkeeping (UNOPTFLAT, see the
                // request statement after the state machine).
                self.rreq_words.next = self.w_cout24.o.val() << (self.w_aout24.o.val() - self.one24.val());
                if self.rreq_ready.val() {
                    self.phase.d.next = true;
                }
            } else {
                self.fsm_rd_ready.next = true;
                if self.rd_valid.val() {
                    if ((self.cnt.q.val() & self.mode_mask.val()) == self.zero24.val()) & !self.mode_ok.val() {
                        self.bad.d.next = true;
                    }
                    self.cnt.d.next = self.cnt.q.val() + self.one24.val();
                    if (self.cnt.q.val() + self.one24.val()) == self.tbl_words.val() {
                        self.phase.d.next = false;
                        self.cnt.d.next = self.zero24.val();
                        if self.bad.q.val()
                            | (((self.cnt.q.val() & self.mode_mask.val()) == self.zero24.val()) & !self.mode_ok.val())
                        {
                            self.code_r.d.next = self.bad_thr.val();
                            self.state.d.next = self.s_error.val();
                        } else {
                            self.state.d.next = self.s_pass.val();
                        }
                    }
                }
            }
        } else if self.state.q.val() == self.s_pass.val() {
            // One cycle: the run's sizes (reps_r, nch_r) follow the new co0.
            self.state.d.next = self.s_load_wait.val();
        } else if self.state.q.val() == self.s_load_wait.val() {
            if self.lstate.q.val() == self.l_loaded.val() {
                self.run_half.d.next = self.l_half.q.val();
                self.state.d.next = self.s_launch.val();
            } else if self.lstate.q.val() == self.l_idle.val() {
                // Not loaded during the previous run: load it now (half 0).
                self.kick.next = true;
            }
        } else if self.state.q.val() == self.s_launch.val() {
            self.run_start.next = true;
            self.lstate.d.next = self.l_idle.val();
            if self.ovl.q.val() & !self.group_last.val() {
                self.kick.next = true;
                self.kick_co0.next = self.nxt_co0.q.val();
                self.kick_nch.next = self.nxt_nch.q.val();
                self.kick_half.next = !self.l_half.q.val();
            }
            self.state.d.next = self.s_run.val();
        } else if self.state.q.val() == self.s_run.val() {
            if !self.g_busy.val() & !self.f_busy.val() {
                self.state.d.next = self.s_drain.val();
            }
        } else if self.state.q.val() == self.s_drain.val() {
            if self.w_idle.val() & !self.thr_busy.val() {
                if self.group_last_r.q.val() {
                    self.state.d.next = self.s_finish.val();
                } else {
                    self.co0.d.next = self.co0.q.val() + self.grp_rows_r.q.val();
                    self.state.d.next = self.s_pass.val();
                }
            }
        } else if self.state.q.val() == self.s_finish.val() {
            if !self.wr_busy.val() {
                if self.rd_error.val() | self.wr_error.val() {
                    self.code_r.d.next = self.bus_err.val();
                    self.state.d.next = self.s_error.val();
                } else {
                    self.done_cnt.d.next = self.done_cnt.q.val() + self.one32.val();
                    self.index.d.next = self.index.q.val() + self.one32.val();
                    if (self.index.q.val() + self.one32.val()) == self.cmd_count.val() {
                        self.state.d.next = self.s_done.val();
                    } else {
                        self.state.d.next = self.s_fetch.val();
                    }
                }
            }
        } else if self.state.q.val() == self.s_error.val() {
            self.error_pulse.next = true;
            self.state.d.next = self.s_idle.val();
        } else if self.state.q.val() == self.s_done.val() {
            self.done_pulse.next = true;
            self.state.d.next = self.s_idle.val();
        } else {
            self.state.d.next = self.s_idle.val();
        }
        // ---- The shared reader from a descriptor's first run to its last
        // drain: the gatherer first, then the loader (at most two requests in
        // flight); owner tags route the words in request order.
        self.arb.next = (self.state.q.val() == self.s_pass.val())
            | (self.state.q.val() == self.s_load_wait.val())
            | (self.state.q.val() == self.s_launch.val())
            | (self.state.q.val() == self.s_run.val())
            | (self.state.q.val() == self.s_drain.val());
        self.l_want.next = ((self.lstate.q.val() == self.l_w.val())
            & (self.cnt.q.val().get_bits::<16>(0) != self.lnch_r.q.val()))
            | ((self.lstate.q.val() == self.l_t.val()) & (self.cnt2.q.val() == self.zero24.val()));
        self.g_grant.next = self.arb.val() & self.gb_valid.q.val() & (self.tcount.q.val() < self.tag_cap.val());
        // The oldest request in flight is the gatherer's / the loader's.
        self.g_head.next = self.arb.val() & (self.tcount.q.val() != self.zero6.val()) & !self.tags.q.val().get_bit(0);
        self.l_head.next = self.arb.val() & (self.tcount.q.val() != self.zero6.val()) & self.tags.q.val().get_bit(0);
        // The loader takes every weight word, and a record word's two halves
        // over two cycles.
        self.ld_ready.next =
            (self.lstate.q.val() == self.l_w.val()) | ((self.lstate.q.val() == self.l_t.val()) & self.phase.q.val());
        self.l_grant.next = self.arb.val()
            & !self.gb_valid.q.val()
            & self.l_want.val()
            & (self.l_out.q.val() < self.two2.val())
            & (self.tcount.q.val() < self.tag_cap.val());
        // The request: the gatherer's held request first, then the loader's.
        // Registers and ports only, no local: Verilator groups the
        // statements of an always block that share a local, and a group that
        // also reads the reader's ready (the bookkeeping below) would make
        // the request look combinational of it (UNOPTFLAT through the reader).
        if (self.state.q.val() == self.s_pass.val())
            | (self.state.q.val() == self.s_load_wait.val())
            | (self.state.q.val() == self.s_launch.val())
            | (self.state.q.val() == self.s_run.val())
            | (self.state.q.val() == self.s_drain.val())
        {
            self.rreq_valid.next = (self.tcount.q.val() < self.tag_cap.val())
                & (self.gb_valid.q.val()
                    | ((((self.lstate.q.val() == self.l_w.val())
                        & (self.cnt.q.val().get_bits::<16>(0) != self.lnch_r.q.val()))
                        | ((self.lstate.q.val() == self.l_t.val()) & (self.cnt2.q.val() == self.zero24.val())))
                        & (self.l_out.q.val() < self.two2.val())));
            if self.gb_valid.q.val() {
                self.rreq_addr.next = self.gb_addr.q.val();
                self.rreq_words.next = self.gb_words.q.val();
            } else if self.lstate.q.val() == self.l_w.val() {
                self.rreq_addr.next = self.fields.w_addr.val() + self.wmul.p.val();
                self.rreq_words.next = self.w_wpc24.o.val();
            } else {
                self.rreq_addr.next =
                    self.fields.thr_addr.val() + (self.w_lco032.o.val() << (self.w_aout24.o.val() + self.two24.val()));
                self.rreq_words.next = self.w_lnch24.o.val() << (self.w_aout24.o.val() - self.one24.val());
            }
        }
        // The gatherer's handshakes, of registers and ports only.
        self.g_rreq_ready.next = (self.state.q.val() == self.s_run.val()) & !self.gb_valid.q.val();
        self.g_rd_valid.next = (self.state.q.val() == self.s_run.val())
            & (self.tcount.q.val() != self.zero6.val())
            & !self.tags.q.val().get_bit(0)
            & self.rd_valid.val();
        if self.g_rreq_valid.val() & (self.state.q.val() == self.s_run.val()) & !self.gb_valid.q.val() {
            self.gb_valid.d.next = true;
            self.gb_addr.d.next = self.g_rreq_addr.val();
            self.gb_words.d.next = self.g_rreq_words.val();
        }
        if self.g_grant.val() & self.rreq_ready.val() {
            self.gb_valid.d.next = false;
        }
        self.rd_ready.next = self.fsm_rd_ready.val()
            | (self.g_head.val() & self.g_rd_ready.val())
            | (self.l_head.val() & self.ld_ready.val());
        self.push_l.next = self.l_grant.val() & self.rreq_ready.val();
        self.push_any.next = (self.g_grant.val() | self.l_grant.val()) & self.rreq_ready.val();
        self.pop.next = false;
        self.l_pop.next = false;
        if self.g_head.val() & self.rd_valid.val() & self.g_rd_ready.val() {
            self.gcnt.d.next = self.gcnt.q.val() + self.one16.val();
            if (self.gcnt.q.val() + self.one16.val()) == self.r_slice.q.val() {
                self.gcnt.d.next = self.zero16.val();
                self.pop.next = true;
            }
        }
        // ---- The loader: weights (requests: one per channel, cnt; data:
        // channel wch, word cnt2), then the records (one request, cnt2 = 1
        // once made; data: bus word cnt, its two halves by phase).
        if self.lstate.q.val() == self.l_w.val() {
            if self.push_l.val() {
                self.cnt.d.next = self.cnt.q.val() + self.one24.val();
            }
            if self.l_head.val() {
                if self.rd_valid.val() {
                    self.wb_we.next = true;
                    self.cnt2.d.next = self.cnt2.q.val() + self.one24.val();
                    if (self.cnt2.q.val().get_bits::<16>(0) + self.one16.val()) == self.r_wpc.q.val() {
                        self.cnt2.d.next = self.zero24.val();
                        self.pop.next = true;
                        self.l_pop.next = true;
                        self.wch.d.next = self.wch.q.val() + self.one16.val();
                        if (self.wch.q.val() & self.rows_m1.val()) == self.rows_m1.val() {
                            self.wbase.d.next = self.wbase.q.val() + self.r_wpc.q.val();
                        }
                        if (self.wch.q.val() + self.one16.val()) == self.lnch_r.q.val() {
                            self.cnt.d.next = self.zero24.val();
                            if self.fields.mode.val() {
                                self.lstate.d.next = self.l_loaded.val();
                            } else {
                                self.lstate.d.next = self.l_t.val();
                            }
                        }
                    }
                }
            }
        } else if self.lstate.q.val() == self.l_t.val() {
            if self.push_l.val() {
                self.cnt2.d.next = self.one24.val();
            }
            if self.l_head.val() & self.rd_valid.val() {
                self.thr_we.next = true;
                self.phase.d.next = !self.phase.q.val();
                if self.phase.q.val() {
                    self.cnt.d.next = self.cnt.q.val() + self.one24.val();
                    if (self.cnt.q.val() + self.one24.val()) == self.pass_words.val() {
                        self.cnt.d.next = self.zero24.val();
                        self.cnt2.d.next = self.zero24.val();
                        self.pop.next = true;
                        self.l_pop.next = true;
                        self.lstate.d.next = self.l_loaded.val();
                    }
                }
            }
        }
        self.nxt_co0.d.next = self.co0.q.val() + self.gmax_rows.val();
        self.nxt_left.next = self.fields.cout.val() - self.nxt_co0.q.val();
        self.nxt_nch.d.next = self.gmax_rows.val();
        if self.nxt_left.val() < self.gmax_rows.val() {
            self.nxt_nch.d.next = self.nxt_left.val();
        }
        if self.kick.val() {
            self.lstate.d.next = self.l_w.val();
            self.l_co0.d.next = self.kick_co0.val();
            self.l_half.d.next = self.kick_half.val();
            self.lnch_r.d.next = self.kick_nch.val();
            self.cnt.d.next = self.zero24.val();
            self.cnt2.d.next = self.zero24.val();
            self.wch.d.next = self.zero16.val();
            self.wbase.d.next = self.zero16.val();
            self.phase.d.next = false;
        }
        // Owner tags: pop the oldest, push the new one behind the rest.
        self.tags_sh.next = self.tags.q.val();
        self.tpos.next = self.tcount.q.val();
        if self.pop.val() {
            self.tags_sh.next = self.tags.q.val() >> 1;
            self.tpos.next = self.tcount.q.val() - self.one6.val();
        }
        self.tags.d.next = self.tags_sh.val();
        if self.push_l.val() {
            self.tags.d.next = self.tags_sh.val() | (self.one32.val() << self.tpos.val());
        }
        self.tcount.d.next = self.tpos.val();
        if self.push_any.val() {
            self.tcount.d.next = self.tpos.val() + self.one6.val();
        }
        if self.push_l.val() & !self.l_pop.val() {
            self.l_out.d.next = self.l_out.q.val() + self.one2.val();
        } else if self.l_pop.val() & !self.push_l.val() {
            self.l_out.d.next = self.l_out.q.val() - self.one2.val();
        }

        // Counters.
        if self.running.val() {
            self.p_busy.d.next = self.p_busy.q.val() + self.one64.val();
        }
        if self.f_stall.val() {
            self.p_stall.d.next = self.p_stall.q.val() + self.one64.val();
        }
        if self.f_tile.val() {
            self.p_macs.d.next = self.p_macs.q.val() + self.w_macs64.o.val();
        }
        self.busy.next = self.running.val();
        self.cmds_done.next = self.done_cnt.q.val();
        self.perf_busy.next = self.p_busy.q.val();
        self.perf_stall.next = self.p_stall.q.val();
        self.perf_macs.next = self.p_macs.q.val();
        if self.reset.val() {
            self.state.d.next = self.s_idle.val();
            self.lstate.d.next = self.l_idle.val();
            self.l_out.d.next = self.zero2.val();
            self.tcount.d.next = self.zero6.val();
            self.gcnt.d.next = self.zero16.val();
            self.gb_valid.d.next = false;
        }
    }
}

//! `OutWriter`: the output writer between the threshold unit and the AXI
//! write master — turns the rows of a drained tile into write requests and
//! 64-bit words in the `isa` activation layouts.
//!
//! Role: the output-stationary array ([`crate::array`]) computes tiles of
//! `rows` output channels × `cols` output pixels (consecutive `x` of one output
//! row). They drain through the threshold unit ([`crate::threshold`]) one row
//! (one output channel) per cycle, rows `rows − 1, rows − 2, …, 0`, every row
//! of the tile, also the ones past its valid rows. Memory wants the opposite
//! orientation: per pixel, groups of 64 channels × `a_out` bit-plane words
//! (`zynqflow_isa::layout`). This block transposes a tile and hands it to the
//! AXI writer as one request per pixel (column).
//!
//! # Generation parameters
//! `OutWriter<CODE_BUS, ACC_BUS, ROWS, RA>::new(rows, cols)`: `rows` = `ROWS` ∈ {8, 16, 32, 64}
//! output channels per tile, `cols` (1..=64) pixels per tile; the bus widths
//! are type parameters (rust-hdl needs them at compile time) and `new`
//! asserts `CODE_BUS = 8·cols`, `ACC_BUS = 32·cols` and `RA =`
//! [`raw_addr_bits`]`(rows)` (the raw-row RAMs' address width).
//!
//! # Ports
//! - `clock`, `reset` (synchronous, active high: forgets every pushed tile,
//!   drops the output registers' `valid`s, restarts the row count).
//! - Per-descriptor settings, stable while `idle` is low: `mode_raw`, `a_out`
//!   (4 bits, 1..=8 planes per column in threshold mode), `col_step` (bytes
//!   between the destination addresses of consecutive columns),
//!   `copies_log2` (2 bits, threshold mode: the copies of the valid rows,
//!   the descriptor field of that name).
//! - Tile metadata (`tile_valid`/`tile_ready` handshake), pushed for each tile
//!   before its first row: `tile_addr` (destination of column 0), `tile_cols`
//!   (valid columns, 1..=cols), `tile_rows` (valid rows, 1..=rows),
//!   `tile_byte_lo` (first byte of the 64-channel word the tile's channels
//!   occupy: channel offset in the group / 8), `tile_fill` (the layer's last
//!   channel tile: also write the rest of the group, as zeros). At most
//!   [`SLOTS`] = 4 tiles may be pushed and not yet `tile_done`; `tile_ready` is
//!   high exactly when fewer are (it comes from flops only).
//! - Rows: `row_valid`, `row_codes` (column `c`'s code in bits `8c..8c+8`,
//!   planes `≥ a_out` ignored), `row_raw` (column `c`'s accumulator in bits
//!   `32c..32c+32`). Exactly `rows` rows per pushed tile, in the drain order
//!   above, sampled at every edge where `row_valid` is high — there is no
//!   back-pressure. A row belongs to the oldest pushed tile that has not
//!   received all its rows, so rows of a tile must follow its push.
//! - `tile_done`: one-cycle pulse per tile, in push order, once all of the
//!   tile's requests and words were accepted by the writer: if the later of
//!   its last request and last word is accepted at the edge ending cycle `t`,
//!   `tile_done` is high in cycle `t + 2`, when its slot is already free
//!   (`tile_ready` high).
//! - `idle`: no pushed tile is unfinished.
//! - To the AXI writer (its ports mirrored): request `wreq_valid`,
//!   `wreq_ready`, `wreq_addr` (low 3 bits forced to 0), `wreq_words`; data
//!   `wdata_word`, `wdata_strb`, `wdata_valid`, `wdata_ready`. Both `valid`s
//!   and all outputs come from flops: nothing depends combinationally on a
//!   `ready`.
//!
//! # What is written
//! For each column `c < tile_cols`, with `a_c = tile_addr + c·col_step`:
//! - threshold mode: one request `(a_c, a_out)`; word `p` holds bit `p` of the
//!   codes of rows `0..rows`, row `r` in bit `8·tile_byte_lo + r`, rows
//!   `≥ tile_rows` as 0; strobe = bytes `tile_byte_lo ..= (tile_fill ? 7 :
//!   tile_byte_lo + rows/8 − 1)`. `a_c` must be a multiple of 8. With
//!   `copies_log2 = k`, bit `m·tile_rows + r` (`m < 2^k`, `r < tile_rows`)
//!   holds row `r`'s bit and rows `≥ tile_rows·2^k` are 0; `tile_rows·2^k ≤
//!   rows` is the caller's promise (bits past `rows` are dropped).
//! - raw mode: the `i32` of rows `0..tile_rows` at `a_c + 4r` (`a_c` a
//!   multiple of 4): one request from `a_c` aligned down to 8 bytes,
//!   `(a_c[2] + tile_rows + 1) / 2` words, strobes per 32-bit half (`0x0f`,
//!   `0xf0`, `0xff`); the half outside the rows is written as 0 with its
//!   strobe off.
//!
//! Requests and words are generated independently, in order: requests may
//! run ahead of their words (a tile's requests start as soon as it is pushed),
//! and the writer decides when a word may go.
//!
//! # Structure and timing
//! Four staging slots: tile `t` uses slot `t mod 4`, so the rows of later
//! tiles arrive while tile `t` is written. A tile holds its slot from its
//! push (at its last step, see [`crate::feeder`]) to `tile_done`: the array's
//! drain latency, the threshold unit, its `rows` rows and its words. With two
//! slots that occupancy (about 63 cycles on `pynq-z2`) bounded tiles of few
//! steps to one per 32 cycles or so — `cast` (1×1, 8 steps) measured 36.6 per
//! tile; with four the array's own spacing (`rows` cycles) is nearly reached
//! (docs/performance.md, change 9). Per slot, column and plane a shift
//! register of `rows` bits takes bit `p` of the column's code at every row
//! (`sr = sr << 1 | bit`: after `rows` rows, row `r` sits in bit `r`); a word
//! is one register, masked with the tile's valid rows and shifted to
//! `tile_byte_lo`. Raw rows are written to two inferred RAMs (even and odd
//! rows; entry `(row / 2)·4 + slot`), so a 64-bit word (two consecutive rows)
//! is one read of each.
//! - Threshold mode: one word per cycle while `wdata_ready` is high, no bubble
//!   between columns or between tiles whose rows are in: a tile costs
//!   `tile_cols · a_out` cycles of words (measured: 8 back-to-back tiles of 12
//!   columns, 96·a_out words in 96·a_out cycles, `a_out` 1, 2, 4, 8). A tile
//!   whose last row is sampled in cycle `t` offers its first word in cycle
//!   `t + 2` (if the previous tile's words are out).
//! - Raw mode: at most one word every two cycles (registered RAM read, then
//!   the output register; the first word in cycle `t + 3`),
//!   `⌈(a_c[2] + tile_rows)/2⌉` words per column.
//! - Requests: one per cycle while `wreq_ready` is high.
//!
//! # Size
//! Flip-flops: `4 · cols · 8 · rows` shift-register bits (the registers are
//! exactly `ROWS` = `rows` bits wide: when they were declared 64 bits wide and
//! masked, a flattened synthesis trimmed the unused bits but a hierarchical
//! one — rust-hdl writes one module per register — kept them, 23,509 LUTs in
//! the whole pynq-z2 top), the two RAMs' `32·cols`-bit read registers, and
//! about 600 of control, metadata and output registers. The raw rows take
//! two `2·rows × 32·cols` RAMs (`rows / 2` entries per slot).
//!
//! yosys 0.23 `read_verilog top.v; synth_xilinx -family xc7 -flatten -top
//! top; stat`, with four slots: rows 16, cols 8 (`pynq-z2`) 3,894 logic LUTs
//! \+ 86 RAM32M (the raw-row RAMs as LUT RAM, 4 LUTs each), 5,129 FFs (2,850
//! LUTs, 2,914 FFs with two slots: +1,388 LUTs for the slots); rows 8, cols
//! 12: 3,378 logic LUTs + 128 RAM32M, 4,329 FFs. Synthesized hierarchically
//! (one file per module, test `size_rows_8_cols_12`) rows 8, cols 12 is
//! 7,030 LUTs, 4,573 FFs: the shift registers' hold multiplexers (one LUT3
//! per bit) stay, which only a flattened synthesis turns into clock enables
//! because rust-hdl's `DFF` module has no enable input.
use crate::fifo::Narrow;
use rust_hdl::prelude::*;

/// Output channels per tile the block accepts.
pub const ROWS_CHOICES: [usize; 4] = [8, 16, 32, 64];
/// Largest number of columns (pixels) per tile.
pub const MAX_COLS: usize = 64;
/// Staging slots: tiles pushed and not yet done (the feeder keeps at most
/// this many in flight).
pub const SLOTS: usize = 4;
// The slot pointers are 2 bits wide (they wrap at 4 on their own) and the
// register index `32·c + 8·slot + plane` is written out in `update`
// (rust-hdl needs literal index arithmetic): another slot count means
// changing both.
const _: () = assert!(SLOTS == 4, "the slot pointers and register indices assume 4 slots");

/// Address bits `RA` of each raw-row RAM for `rows` rows per tile:
/// `log2(rows / 2 · SLOTS)`, entry `(row / 2)·SLOTS + slot`.
pub fn raw_addr_bits(rows: usize) -> usize {
    (rows / 2 * SLOTS).trailing_zeros() as usize
}

/// The output writer; see the module documentation.
#[derive(LogicBlock)]
pub struct OutWriter<const CODE_BUS: usize, const ACC_BUS: usize, const ROWS: usize, const RA: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: forgets every tile (see the module docs).
    pub reset: Signal<In, Bit>,
    /// Raw mode: write the accumulators as `i32` NHWC.
    pub mode_raw: Signal<In, Bit>,
    /// Bit planes per column in threshold mode, 1..=8.
    pub a_out: Signal<In, Bits<4>>,
    /// Bytes between the destinations of consecutive columns.
    pub col_step: Signal<In, Bits<32>>,
    /// Threshold mode: each tile's valid rows are written `2^copies_log2`
    /// times (see the module documentation).
    pub copies_log2: Signal<In, Bits<2>>,
    /// A tile's metadata is offered.
    pub tile_valid: Signal<In, Bit>,
    /// Fewer than [`SLOTS`] tiles are pushed and not done.
    pub tile_ready: Signal<Out, Bit>,
    /// Destination byte address of column 0.
    pub tile_addr: Signal<In, Bits<32>>,
    /// Valid columns of the tile, 1..=cols.
    pub tile_cols: Signal<In, Bits<8>>,
    /// Valid rows of the tile, 1..=rows.
    pub tile_rows: Signal<In, Bits<8>>,
    /// First byte of the word the tile's channels occupy (threshold mode).
    pub tile_byte_lo: Signal<In, Bits<3>>,
    /// Also strobe (as zeros) the bytes of the word after the tile's channels.
    pub tile_fill: Signal<In, Bit>,
    /// A row arrives at this edge.
    pub row_valid: Signal<In, Bit>,
    /// The row's codes, column `c` in bits `8c..8c+8`.
    pub row_codes: Signal<In, Bits<CODE_BUS>>,
    /// The row's accumulators, column `c` in bits `32c..32c+32`.
    pub row_raw: Signal<In, Bits<ACC_BUS>>,
    /// One-cycle pulse: a tile's requests and words were all accepted.
    pub tile_done: Signal<Out, Bit>,
    /// No pushed tile is unfinished.
    pub idle: Signal<Out, Bit>,
    /// A write request is offered.
    pub wreq_valid: Signal<Out, Bit>,
    /// The writer takes the request.
    pub wreq_ready: Signal<In, Bit>,
    /// The request's first byte address (multiple of 8).
    pub wreq_addr: Signal<Out, Bits<32>>,
    /// The request's number of 64-bit words.
    pub wreq_words: Signal<Out, Bits<24>>,
    /// A data word.
    pub wdata_word: Signal<Out, Bits<64>>,
    /// Its byte enables.
    pub wdata_strb: Signal<Out, Bits<8>>,
    /// A data word is offered.
    pub wdata_valid: Signal<Out, Bit>,
    /// The writer takes the word.
    pub wdata_ready: Signal<In, Bit>,

    // Staging: bit-plane shift registers, index 16·c + 8·slot + plane, and
    // the raw rows (even and odd rows).
    sr: Vec<DFF<Bits<ROWS>>>,
    ram_even: RAM<Bits<ACC_BUS>, RA>,
    ram_odd: RAM<Bits<ACC_BUS>, RA>,
    // Per-slot metadata and progress flags.
    m_addr: Vec<DFF<Bits<32>>>,
    m_cols: Vec<DFF<Bits<8>>>,
    m_rows: Vec<DFF<Bits<8>>>,
    m_blo: Vec<DFF<Bits<3>>>,
    m_strb: Vec<DFF<Bits<8>>>,
    m_rmask: Vec<DFF<Bits<ROWS>>>,
    m_ok: Vec<DFF<Bit>>,
    m_full: Vec<DFF<Bit>>,
    m_rdone: Vec<DFF<Bit>>,
    m_ddone: Vec<DFF<Bit>>,
    push_ptr: DFF<Bits<2>>,
    fill_slot: DFF<Bits<2>>,
    fill_cnt: DFF<Bits<8>>,
    done_ptr: DFF<Bits<2>>,
    done_q: DFF<Bit>,
    // Request generator and its output register.
    r_busy: DFF<Bit>,
    r_slot: DFF<Bits<2>>,
    r_col: DFF<Bits<8>>,
    r_addr: DFF<Bits<32>>,
    q_valid: DFF<Bit>,
    q_last: DFF<Bit>,
    q_slot: DFF<Bits<2>>,
    q_addr: DFF<Bits<32>>,
    q_words: DFF<Bits<24>>,
    // Data generator and its output register.
    d_busy: DFF<Bit>,
    d_slot: DFF<Bits<2>>,
    d_col: DFF<Bits<8>>,
    d_word: DFF<Bits<16>>,
    d_alo: DFF<Bits<3>>,
    rd_ok: DFF<Bit>,
    o_valid: DFF<Bit>,
    o_last: DFF<Bit>,
    o_slot: DFF<Bits<2>>,
    o_word: DFF<Bits<64>>,
    o_strb: DFF<Bits<8>>,

    // Wires.
    push: Signal<Local, Bit>,
    fill_sel: Vec<Signal<Local, Bit>>,
    thermo: Signal<Local, Bits<ROWS>>,
    new_strb: Signal<Local, Bits<8>>,
    fill_row: Signal<Local, Bits<8>>,
    ram_wr_addr: Signal<Local, Bits<RA>>,
    fill_slot_ra: Signal<Local, Bits<RA>>,
    d_slot_ra: Signal<Local, Bits<RA>>,
    // RAM entry of a row pair, `(row & !1) · 2` (bits 0 and 1 zero: the slot
    // goes there), cut to `RA` bits.
    n_wr: Narrow<8, RA>,
    n_rd_even: Narrow<8, RA>,
    n_rd_odd: Narrow<8, RA>,
    r_ok: Signal<Local, Bit>,
    r_active: Signal<Local, Bit>,
    r_load: Signal<Local, Bit>,
    r_last: Signal<Local, Bit>,
    r_cur: Signal<Local, Bits<32>>,
    r_cols: Signal<Local, Bits<8>>,
    r_rows: Signal<Local, Bits<8>>,
    r_h8: Signal<Local, Bits<8>>,
    r_n8: Signal<Local, Bits<8>>,
    r_words: Signal<Local, Bits<24>>,
    d_ok: Signal<Local, Bit>,
    d_active: Signal<Local, Bit>,
    d_load: Signal<Local, Bit>,
    d_last_word: Signal<Local, Bit>,
    d_last_col: Signal<Local, Bit>,
    d_cols: Signal<Local, Bits<8>>,
    d_rows: Signal<Local, Bits<8>>,
    d_blo: Signal<Local, Bits<3>>,
    d_strb: Signal<Local, Bits<8>>,
    d_rmask: Signal<Local, Bits<ROWS>>,
    // The tile's valid rows, then doubled `copies_log2` times.
    rep0: Signal<Local, Bits<ROWS>>,
    rep1: Signal<Local, Bits<ROWS>>,
    rep2: Signal<Local, Bits<ROWS>>,
    rep3: Signal<Local, Bits<ROWS>>,
    d_cur_alo: Signal<Local, Bits<3>>,
    d_a16: Signal<Local, Bits<16>>,
    d_key: Signal<Local, Bits<5>>,
    col_word: Vec<Signal<Local, Bits<ROWS>>>,
    d_sr: Signal<Local, Bits<ROWS>>,
    // `rep3` zero-extended to a 64-bit word, bit by bit (a `Widen` block here
    // made a false combinational loop through this always block: UNOPTFLAT).
    rep_wide: Signal<Local, Bits<64>>,
    thr_word: Signal<Local, Bits<64>>,
    two_j: Signal<Local, Bits<8>>,
    two_jo: Signal<Local, Bits<8>>,
    h8: Signal<Local, Bits<8>>,
    lo_row: Signal<Local, Bits<8>>,
    hi_row: Signal<Local, Bits<8>>,
    lo_ok: Signal<Local, Bit>,
    hi_ok: Signal<Local, Bit>,
    ev32: Signal<Local, Bits<32>>,
    od32: Signal<Local, Bits<32>>,
    lo32: Signal<Local, Bits<32>>,
    hi32: Signal<Local, Bits<32>>,
    raw_word: Signal<Local, Bits<64>>,
    raw_strb: Signal<Local, Bits<8>>,
    done_now: Signal<Local, Bit>,

    // Constants (localparams).
    key_c: Vec<Constant<Bits<5>>>,
    bit5: Vec<Constant<Bits<5>>>,
    slot_c: Vec<Constant<Bits<2>>>,
    one2: Constant<Bits<2>>,
    three2: Constant<Bits<2>>,
    two8: Constant<Bits<8>>,
    zero2: Constant<Bits<2>>,
    col_c: Vec<Constant<Bits<8>>>,
    row_c: Vec<Constant<Bits<8>>>,
    blo_c: Vec<Constant<Bits<3>>>,
    shift_c: Vec<Constant<Bits<8>>>,
    strb_fill: Vec<Constant<Bits<8>>>,
    strb_part: Vec<Constant<Bits<8>>>,
    a_c: Vec<Constant<Bits<4>>>,
    a16_c: Vec<Constant<Bits<16>>>,
    a24_c: Vec<Constant<Bits<24>>>,
    bit64: Vec<Constant<Bits<64>>>,
    bit24: Vec<Constant<Bits<24>>>,
    twice8: Vec<Constant<Bits<8>>>,
    bit_r: Vec<Constant<Bits<ROWS>>>,
    top_row: Constant<Bits<8>>,
    addr_mask: Constant<Bits<32>>,
    zero64: Constant<Bits<64>>,
    zero_r: Constant<Bits<ROWS>>,
    one_r: Constant<Bits<ROWS>>,
    zero32: Constant<Bits<32>>,
    zero24: Constant<Bits<24>>,
    zero16: Constant<Bits<16>>,
    one16: Constant<Bits<16>>,
    zero5: Constant<Bits<5>>,
    zero8: Constant<Bits<8>>,
    one8: Constant<Bits<8>>,
    zero_ra: Constant<Bits<RA>>,
    pair_mask: Constant<Bits<8>>,
    bit_ra: Vec<Constant<Bits<RA>>>,
    lo_strb: Constant<Bits<8>>,
    hi_strb: Constant<Bits<8>>,
    zero_strb: Constant<Bits<8>>,
    _rows: usize,
    _cols: usize,
}

fn many<T: Default>(n: usize) -> Vec<T> {
    (0..n).map(|_| T::default()).collect()
}

fn constants<const N: usize>(values: impl IntoIterator<Item = u64>) -> Vec<Constant<Bits<N>>> {
    values.into_iter().map(|v| Constant::new(v.into())).collect()
}

/// Byte-enable mask of bytes `lo ..= hi` (both clipped to 0..=7).
fn byte_range(lo: usize, hi: usize) -> u64 {
    (lo..=hi.min(7)).fold(0, |m, b| m | 1 << b)
}

/// The strobe of a threshold-mode word: bytes `byte_lo ..= (fill ? 7 :
/// byte_lo + rows/8 − 1)`, clipped to the word.
pub fn threshold_strobe(rows: usize, byte_lo: usize, fill: bool) -> u8 {
    let hi = if fill { 7 } else { byte_lo + rows / 8 - 1 };
    byte_range(byte_lo, hi) as u8
}

impl<const CODE_BUS: usize, const ACC_BUS: usize, const ROWS: usize, const RA: usize>
    OutWriter<CODE_BUS, ACC_BUS, ROWS, RA>
{
    /// A writer for tiles of `rows` channels × `cols` pixels; the bus widths
    /// must match (see the module documentation).
    pub fn new(rows: usize, cols: usize) -> Self {
        assert!(ROWS_CHOICES.contains(&rows), "rows {rows} not one of {ROWS_CHOICES:?}");
        assert_eq!(ROWS, rows, "shift-register width {ROWS} is not rows = {rows}");
        assert_eq!(
            RA,
            raw_addr_bits(rows),
            "raw RAM address width {RA} is not log2(rows/2 · {SLOTS}) for rows = {rows}"
        );
        assert!((1..=MAX_COLS).contains(&cols), "cols {cols} outside 1..={MAX_COLS}");
        assert_eq!(CODE_BUS, 8 * cols, "code bus {CODE_BUS} is not 8·cols for {cols} columns");
        assert_eq!(ACC_BUS, 32 * cols, "accumulator bus {ACC_BUS} is not 32·cols for {cols} columns");
        OutWriter {
            clock: Default::default(),
            reset: Default::default(),
            mode_raw: Default::default(),
            a_out: Default::default(),
            col_step: Default::default(),
            copies_log2: Default::default(),
            tile_valid: Default::default(),
            tile_ready: Default::default(),
            tile_addr: Default::default(),
            tile_cols: Default::default(),
            tile_rows: Default::default(),
            tile_byte_lo: Default::default(),
            tile_fill: Default::default(),
            row_valid: Default::default(),
            row_codes: Default::default(),
            row_raw: Default::default(),
            tile_done: Default::default(),
            idle: Default::default(),
            wreq_valid: Default::default(),
            wreq_ready: Default::default(),
            wreq_addr: Default::default(),
            wreq_words: Default::default(),
            wdata_word: Default::default(),
            wdata_strb: Default::default(),
            wdata_valid: Default::default(),
            wdata_ready: Default::default(),
            sr: many(8 * SLOTS * cols),
            ram_even: Default::default(),
            ram_odd: Default::default(),
            m_addr: many(SLOTS),
            m_cols: many(SLOTS),
            m_rows: many(SLOTS),
            m_blo: many(SLOTS),
            m_strb: many(SLOTS),
            m_rmask: many(SLOTS),
            m_ok: many(SLOTS),
            m_full: many(SLOTS),
            m_rdone: many(SLOTS),
            m_ddone: many(SLOTS),
            push_ptr: Default::default(),
            fill_slot: Default::default(),
            fill_cnt: Default::default(),
            done_ptr: Default::default(),
            done_q: Default::default(),
            r_busy: Default::default(),
            r_slot: Default::default(),
            r_col: Default::default(),
            r_addr: Default::default(),
            q_valid: Default::default(),
            q_last: Default::default(),
            q_slot: Default::default(),
            q_addr: Default::default(),
            q_words: Default::default(),
            d_busy: Default::default(),
            d_slot: Default::default(),
            d_col: Default::default(),
            d_word: Default::default(),
            d_alo: Default::default(),
            rd_ok: Default::default(),
            o_valid: Default::default(),
            o_last: Default::default(),
            o_slot: Default::default(),
            o_word: Default::default(),
            o_strb: Default::default(),
            push: Default::default(),
            fill_sel: many(SLOTS),
            thermo: Default::default(),
            new_strb: Default::default(),
            fill_row: Default::default(),
            ram_wr_addr: Default::default(),
            fill_slot_ra: Default::default(),
            d_slot_ra: Default::default(),
            n_wr: Default::default(),
            n_rd_even: Default::default(),
            n_rd_odd: Default::default(),
            r_ok: Default::default(),
            r_active: Default::default(),
            r_load: Default::default(),
            r_last: Default::default(),
            r_cur: Default::default(),
            r_cols: Default::default(),
            r_rows: Default::default(),
            r_h8: Default::default(),
            r_n8: Default::default(),
            r_words: Default::default(),
            d_ok: Default::default(),
            d_active: Default::default(),
            d_load: Default::default(),
            d_last_word: Default::default(),
            d_last_col: Default::default(),
            d_cols: Default::default(),
            d_rows: Default::default(),
            d_blo: Default::default(),
            d_strb: Default::default(),
            d_rmask: Default::default(),
            rep0: Default::default(),
            rep1: Default::default(),
            rep2: Default::default(),
            rep3: Default::default(),
            d_cur_alo: Default::default(),
            d_a16: Default::default(),
            d_key: Default::default(),
            col_word: many(cols),
            d_sr: Default::default(),
            rep_wide: Default::default(),
            thr_word: Default::default(),
            two_j: Default::default(),
            two_jo: Default::default(),
            h8: Default::default(),
            lo_row: Default::default(),
            hi_row: Default::default(),
            lo_ok: Default::default(),
            hi_ok: Default::default(),
            ev32: Default::default(),
            od32: Default::default(),
            lo32: Default::default(),
            hi32: Default::default(),
            raw_word: Default::default(),
            raw_strb: Default::default(),
            done_now: Default::default(),
            key_c: constants(0..32u64),
            bit5: constants((0..5).map(|i| 1u64 << i)),
            slot_c: constants(0..SLOTS as u64),
            one2: Constant::new(1u64.into()),
            three2: Constant::new(3u64.into()),
            two8: Constant::new(2u64.into()),
            zero2: Constant::new(0u64.into()),
            col_c: constants(0..cols as u64),
            row_c: constants(0..rows as u64),
            blo_c: constants(0..8u64),
            shift_c: constants((0..8).map(|b| 8 * b)),
            strb_fill: constants((0..8).map(|b| u64::from(threshold_strobe(rows, b, true)))),
            strb_part: constants((0..8).map(|b| u64::from(threshold_strobe(rows, b, false)))),
            a_c: constants(0..16u64),
            a16_c: constants(0..16u64),
            a24_c: constants(0..16u64),
            bit64: constants((0..64).map(|i| 1u64 << i)),
            bit24: constants((0..8).map(|i| 1u64 << i)),
            twice8: constants((0..7).map(|i| 2u64 << i)),
            bit_r: constants((0..rows).map(|i| 1u64 << i)),
            top_row: Constant::new(((rows - 1) as u64).into()),
            addr_mask: Constant::new(0xffff_fff8u64.into()),
            zero64: Constant::new(0u64.into()),
            zero_r: Constant::new(0u64.into()),
            one_r: Constant::new(1u64.into()),
            zero32: Constant::new(0u64.into()),
            zero24: Constant::new(0u64.into()),
            zero16: Constant::new(0u64.into()),
            one16: Constant::new(1u64.into()),
            zero5: Constant::new(0u64.into()),
            zero8: Constant::new(0u64.into()),
            one8: Constant::new(1u64.into()),
            zero_ra: Constant::new(0u64.into()),
            pair_mask: Constant::new((((rows / 2 - 1) << 1) as u64).into()),
            bit_ra: constants([1, 2]),
            lo_strb: Constant::new(0x0fu64.into()),
            hi_strb: Constant::new(0xf0u64.into()),
            zero_strb: Constant::new(0u64.into()),
            _rows: rows,
            _cols: cols,
        }
    }

    /// Output channels per tile.
    pub fn rows(&self) -> usize {
        self._rows
    }

    /// Pixels (columns) per tile.
    pub fn cols(&self) -> usize {
        self._cols
    }
}

impl<const CODE_BUS: usize, const ACC_BUS: usize, const ROWS: usize, const RA: usize> Logic
    for OutWriter<CODE_BUS, ACC_BUS, ROWS, RA>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, push_ptr, fill_slot, fill_cnt, done_ptr, done_q, r_busy, r_slot, r_col, r_addr, q_valid,
            q_last, q_slot, q_addr, q_words, d_busy, d_slot, d_col, d_word, d_alo, rd_ok, o_valid, o_last, o_slot,
            o_word, o_strb
        );
        for s in 0..SLOTS {
            self.m_addr[s].clock.next = self.clock.val();
            self.m_cols[s].clock.next = self.clock.val();
            self.m_rows[s].clock.next = self.clock.val();
            self.m_blo[s].clock.next = self.clock.val();
            self.m_strb[s].clock.next = self.clock.val();
            self.m_rmask[s].clock.next = self.clock.val();
            self.m_ok[s].clock.next = self.clock.val();
            self.m_full[s].clock.next = self.clock.val();
            self.m_rdone[s].clock.next = self.clock.val();
            self.m_ddone[s].clock.next = self.clock.val();
            self.m_addr[s].d.next = self.m_addr[s].q.val();
            self.m_cols[s].d.next = self.m_cols[s].q.val();
            self.m_rows[s].d.next = self.m_rows[s].q.val();
            self.m_blo[s].d.next = self.m_blo[s].q.val();
            self.m_strb[s].d.next = self.m_strb[s].q.val();
            self.m_rmask[s].d.next = self.m_rmask[s].q.val();
            self.m_ok[s].d.next = self.m_ok[s].q.val();
            self.m_full[s].d.next = self.m_full[s].q.val();
            self.m_rdone[s].d.next = self.m_rdone[s].q.val();
            self.m_ddone[s].d.next = self.m_ddone[s].q.val();
        }
        self.ram_even.read_clock.next = self.clock.val();
        self.ram_even.write_clock.next = self.clock.val();
        self.ram_odd.read_clock.next = self.clock.val();
        self.ram_odd.write_clock.next = self.clock.val();

        // ---------------------------------------------------------------
        // Tile metadata: the valid-row mask (rows below `tile_rows`, and
        // below `rows`: a constant, so the unused shift-register bits go)
        // and the strobe, stored in slot `push_ptr`.
        self.push.next = false;
        for s in 0..SLOTS {
            if self.push_ptr.q.val() == self.slot_c[s].val() {
                self.push.next = self.tile_valid.val() & !self.m_ok[s].q.val();
            }
        }
        self.thermo.next = self.zero_r.val();
        for i in 0..self._rows {
            if self.tile_rows.val() > self.row_c[i].val() {
                self.thermo.next = self.thermo.val() | self.bit_r[i].val();
            }
        }
        self.new_strb.next = self.zero_strb.val();
        for b in 0..8 {
            if self.tile_byte_lo.val() == self.blo_c[b].val() {
                self.new_strb.next = self.strb_part[b].val();
                if self.tile_fill.val() {
                    self.new_strb.next = self.strb_fill[b].val();
                }
            }
        }
        if self.push.val() {
            // Slot pointers count modulo SLOTS = 4: the 2-bit wrap.
            self.push_ptr.d.next = self.push_ptr.q.val() + self.one2.val();
        }
        for s in 0..SLOTS {
            self.fill_sel[s].next = self.row_valid.val() & (self.fill_slot.q.val() == self.slot_c[s].val());
            if self.push.val() & (self.push_ptr.q.val() == self.slot_c[s].val()) {
                self.m_addr[s].d.next = self.tile_addr.val();
                self.m_cols[s].d.next = self.tile_cols.val();
                self.m_rows[s].d.next = self.tile_rows.val();
                self.m_blo[s].d.next = self.tile_byte_lo.val();
                self.m_strb[s].d.next = self.new_strb.val();
                self.m_rmask[s].d.next = self.thermo.val();
                self.m_ok[s].d.next = true;
            }
        }

        // ---------------------------------------------------------------
        // Rows: shift every plane bit into slot `fill_slot`'s registers and
        // write the accumulators to the even or odd raw RAM.
        // Register index 32·c + 8·slot + plane (SLOTS = 4).
        for c in 0..self._cols {
            for s in 0..SLOTS {
                for p in 0..8 {
                    self.sr[32 * c + 8 * s + p].clock.next = self.clock.val();
                    self.sr[32 * c + 8 * s + p].d.next = self.sr[32 * c + 8 * s + p].q.val();
                    if self.fill_sel[s].val() {
                        self.sr[32 * c + 8 * s + p].d.next = self.sr[32 * c + 8 * s + p].q.val() << self.one8.val();
                        if self.row_codes.val().get_bit(8 * c + p) {
                            self.sr[32 * c + 8 * s + p].d.next =
                                (self.sr[32 * c + 8 * s + p].q.val() << self.one8.val()) | self.one_r.val();
                        }
                    }
                }
            }
        }
        self.fill_slot_ra.next = self.zero_ra.val();
        if self.fill_slot.q.val().get_bit(0) {
            self.fill_slot_ra.next = self.bit_ra[0].val();
        }
        if self.fill_slot.q.val().get_bit(1) {
            self.fill_slot_ra.next = self.fill_slot_ra.val() | self.bit_ra[1].val();
        }
        // Rows arrive top row first: row index = (rows − 1) − count. RAM
        // entry (row / 2)·4 + slot = (row with bit 0 cleared) · 2 + slot.
        self.fill_row.next = self.top_row.val() - self.fill_cnt.q.val();
        self.n_wr.i.next = (self.fill_row.val() & self.pair_mask.val()) << self.one8.val();
        self.ram_wr_addr.next = self.n_wr.o.val() | self.fill_slot_ra.val();
        self.ram_even.write_address.next = self.ram_wr_addr.val();
        self.ram_odd.write_address.next = self.ram_wr_addr.val();
        self.ram_even.write_data.next = self.row_raw.val();
        self.ram_odd.write_data.next = self.row_raw.val();
        self.ram_even.write_enable.next = self.row_valid.val() & !self.fill_row.val().get_bit(0);
        self.ram_odd.write_enable.next = self.row_valid.val() & self.fill_row.val().get_bit(0);
        if self.row_valid.val() {
            self.fill_cnt.d.next = self.fill_cnt.q.val() + self.one8.val();
            if self.fill_cnt.q.val() == self.top_row.val() {
                self.fill_cnt.d.next = self.zero8.val();
                self.fill_slot.d.next = self.fill_slot.q.val() + self.one2.val();
                for s in 0..SLOTS {
                    if self.fill_slot.q.val() == self.slot_c[s].val() {
                        self.m_full[s].d.next = true;
                    }
                }
            }
        }

        // ---------------------------------------------------------------
        // Request generator: one request per column of slot `r_slot`, from
        // its push on.
        self.r_ok.next = false;
        self.r_cur.next = self.zero32.val();
        self.r_cols.next = self.zero8.val();
        self.r_rows.next = self.zero8.val();
        for s in 0..SLOTS {
            if self.r_slot.q.val() == self.slot_c[s].val() {
                self.r_ok.next = self.m_ok[s].q.val() & !self.m_rdone[s].q.val();
                self.r_cur.next = self.m_addr[s].q.val();
                self.r_cols.next = self.m_cols[s].q.val();
                self.r_rows.next = self.m_rows[s].q.val();
            }
        }
        if self.r_busy.q.val() {
            self.r_cur.next = self.r_addr.q.val();
        }
        self.r_active.next = self.r_busy.q.val() | self.r_ok.val();
        self.r_load.next = self.r_active.val() & (!self.q_valid.q.val() | self.wreq_ready.val());
        self.r_last.next = (self.r_col.q.val() + self.one8.val()) == self.r_cols.val();
        // Raw: (a_c[2] + tile_rows + 1) / 2 words; threshold: a_out words.
        self.r_h8.next = self.zero8.val();
        if self.r_cur.val().get_bit(2) {
            self.r_h8.next = self.one8.val();
        }
        self.r_n8.next = (self.r_rows.val() + self.one8.val() + self.r_h8.val()) >> self.one8.val();
        self.r_words.next = self.zero24.val();
        for i in 0..8 {
            if self.r_n8.val().get_bit(i) {
                self.r_words.next = self.r_words.val() | self.bit24[i].val();
            }
        }
        if !self.mode_raw.val() {
            self.r_words.next = self.zero24.val();
            for a in 0..16 {
                if self.a_out.val() == self.a_c[a].val() {
                    self.r_words.next = self.a24_c[a].val();
                }
            }
        }
        if self.r_load.val() {
            self.q_valid.d.next = true;
            self.q_addr.d.next = self.r_cur.val() & self.addr_mask.val();
            self.q_words.d.next = self.r_words.val();
            self.q_last.d.next = self.r_last.val();
            self.q_slot.d.next = self.r_slot.q.val();
            self.r_addr.d.next = self.r_cur.val() + self.col_step.val();
            self.r_col.d.next = self.r_col.q.val() + self.one8.val();
            self.r_busy.d.next = true;
            if self.r_last.val() {
                self.r_col.d.next = self.zero8.val();
                self.r_busy.d.next = false;
                self.r_slot.d.next = self.r_slot.q.val() + self.one2.val();
            }
        } else if self.wreq_ready.val() {
            self.q_valid.d.next = false;
        }

        // ---------------------------------------------------------------
        // Data generator: the words of slot `d_slot`, column by column,
        // once all its rows are in.
        self.d_ok.next = false;
        self.d_cols.next = self.zero8.val();
        self.d_rows.next = self.zero8.val();
        self.d_blo.next = self.blo_c[0].val();
        self.d_strb.next = self.zero_strb.val();
        self.d_rmask.next = self.zero_r.val();
        self.d_cur_alo.next = self.blo_c[0].val();
        for s in 0..SLOTS {
            if self.d_slot.q.val() == self.slot_c[s].val() {
                self.d_ok.next = self.m_ok[s].q.val() & self.m_full[s].q.val() & !self.m_ddone[s].q.val();
                self.d_cols.next = self.m_cols[s].q.val();
                self.d_rows.next = self.m_rows[s].q.val();
                self.d_blo.next = self.m_blo[s].q.val();
                self.d_strb.next = self.m_strb[s].q.val();
                self.d_rmask.next = self.m_rmask[s].q.val();
                self.d_cur_alo.next = self.m_addr[s].q.val().get_bits::<3>(0);
            }
        }
        if self.d_busy.q.val() {
            self.d_cur_alo.next = self.d_alo.q.val();
        }
        self.d_active.next = self.d_busy.q.val() | self.d_ok.val();

        // Threshold word: register (column, slot, plane), valid rows, moved
        // to byte `tile_byte_lo`.
        // Key {slot, plane} inside a column, then the column.
        self.d_key.next = self.zero5.val();
        for i in 0..3 {
            if self.d_word.q.val().get_bit(i) {
                self.d_key.next = self.d_key.val() | self.bit5[i].val();
            }
        }
        for i in 0..2 {
            if self.d_slot.q.val().get_bit(i) {
                self.d_key.next = self.d_key.val() | self.bit5[3 + i].val();
            }
        }
        for c in 0..self._cols {
            self.col_word[c].next = self.zero_r.val();
            for k in 0..32 {
                if self.d_key.val() == self.key_c[k].val() {
                    self.col_word[c].next = self.sr[32 * c + k].q.val();
                }
            }
        }
        self.d_sr.next = self.zero_r.val();
        for c in 0..self._cols {
            if self.d_col.q.val() == self.col_c[c].val() {
                self.d_sr.next = self.col_word[c].val();
            }
        }
        // Copies: the valid rows, then rows `m·tile_rows + r` as row `r`
        // (`tile_rows << copies_log2 ≤ rows`, which the descriptor check
        // guarantees; more would be cut at `rows`).
        self.rep0.next = self.d_sr.val() & self.d_rmask.val();
        self.rep1.next = self.rep0.val();
        if self.copies_log2.val() != self.zero2.val() {
            self.rep1.next = self.rep0.val() | (self.rep0.val() << self.d_rows.val());
        }
        self.rep2.next = self.rep1.val();
        if self.copies_log2.val().get_bit(1) {
            self.rep2.next = self.rep1.val() | (self.rep1.val() << (self.d_rows.val() << self.one8.val()));
        }
        self.rep3.next = self.rep2.val();
        if self.copies_log2.val() == self.three2.val() {
            self.rep3.next = self.rep2.val() | (self.rep2.val() << (self.d_rows.val() << self.two8.val()));
        }
        self.rep_wide.next = self.zero64.val();
        for i in 0..self._rows {
            if self.rep3.val().get_bit(i) {
                self.rep_wide.next = self.rep_wide.val() | self.bit64[i].val();
            }
        }
        self.thr_word.next = self.zero64.val();
        for b in 0..8 {
            if self.d_blo.val() == self.blo_c[b].val() {
                self.thr_word.next = self.rep_wide.val() << self.shift_c[b].val();
            }
        }
        self.d_a16.next = self.zero16.val();
        for a in 0..16 {
            if self.a_out.val() == self.a_c[a].val() {
                self.d_a16.next = self.a16_c[a].val();
            }
        }

        // Raw word j of the column: rows 2j − h (low half) and 2j + 1 − h
        // (high half), h = a_c[2]; one comes from each RAM.
        self.h8.next = self.zero8.val();
        if self.d_cur_alo.val().get_bit(2) {
            self.h8.next = self.one8.val();
        }
        self.two_j.next = self.zero8.val();
        for i in 0..7 {
            if self.d_word.q.val().get_bit(i) {
                self.two_j.next = self.two_j.val() | self.twice8[i].val();
            }
        }
        self.two_jo.next = self.two_j.val();
        if self.d_cur_alo.val().get_bit(2) {
            self.two_jo.next = self.two_j.val() - self.twice8[0].val();
        }
        self.d_slot_ra.next = self.zero_ra.val();
        if self.d_slot.q.val().get_bit(0) {
            self.d_slot_ra.next = self.bit_ra[0].val();
        }
        if self.d_slot.q.val().get_bit(1) {
            self.d_slot_ra.next = self.d_slot_ra.val() | self.bit_ra[1].val();
        }
        self.n_rd_even.i.next = (self.two_j.val() & self.pair_mask.val()) << self.one8.val();
        self.n_rd_odd.i.next = (self.two_jo.val() & self.pair_mask.val()) << self.one8.val();
        self.ram_even.read_address.next = self.n_rd_even.o.val() | self.d_slot_ra.val();
        self.ram_odd.read_address.next = self.n_rd_odd.o.val() | self.d_slot_ra.val();
        self.lo_row.next = self.two_j.val() - self.h8.val();
        self.hi_row.next = (self.two_j.val() + self.one8.val()) - self.h8.val();
        self.lo_ok.next = self.lo_row.val() < self.d_rows.val();
        self.hi_ok.next = self.hi_row.val() < self.d_rows.val();
        self.ev32.next = self.zero32.val();
        self.od32.next = self.zero32.val();
        for c in 0..self._cols {
            if self.d_col.q.val() == self.col_c[c].val() {
                self.ev32.next = self.ram_even.read_data.val().get_bits::<32>(32 * c);
                self.od32.next = self.ram_odd.read_data.val().get_bits::<32>(32 * c);
            }
        }
        self.lo32.next = self.ev32.val();
        self.hi32.next = self.od32.val();
        if self.d_cur_alo.val().get_bit(2) {
            self.lo32.next = self.od32.val();
            self.hi32.next = self.ev32.val();
        }
        if !self.lo_ok.val() {
            self.lo32.next = self.zero32.val();
        }
        if !self.hi_ok.val() {
            self.hi32.next = self.zero32.val();
        }
        self.raw_word.next = self.zero64.val();
        for i in 0..32 {
            if self.lo32.val().get_bit(i) {
                self.raw_word.next = self.raw_word.val() | self.bit64[i].val();
            }
            if self.hi32.val().get_bit(i) {
                self.raw_word.next = self.raw_word.val() | self.bit64[32 + i].val();
            }
        }
        self.raw_strb.next = self.zero_strb.val();
        if self.lo_ok.val() {
            self.raw_strb.next = self.lo_strb.val();
        }
        if self.hi_ok.val() {
            self.raw_strb.next = self.raw_strb.val() | self.hi_strb.val();
        }

        // Advance: a word moves to the output register when the register
        // is free or being emptied (and, in raw mode, the RAM read of this
        // word has had its cycle).
        self.d_load.next = self.d_active.val()
            & (!self.mode_raw.val() | self.rd_ok.q.val())
            & (!self.o_valid.q.val() | self.wdata_ready.val());
        self.d_last_word.next = (self.d_word.q.val() + self.one16.val()) == self.d_a16.val();
        if self.mode_raw.val() {
            self.d_last_word.next = (self.hi_row.val() + self.one8.val()) >= self.d_rows.val();
        }
        self.d_last_col.next = (self.d_col.q.val() + self.one8.val()) == self.d_cols.val();
        self.rd_ok.d.next = self.d_active.val() & !self.d_load.val();
        if self.d_load.val() {
            self.o_valid.d.next = true;
            self.o_word.d.next = self.thr_word.val();
            self.o_strb.d.next = self.d_strb.val();
            if self.mode_raw.val() {
                self.o_word.d.next = self.raw_word.val();
                self.o_strb.d.next = self.raw_strb.val();
            }
            self.o_last.d.next = self.d_last_word.val() & self.d_last_col.val();
            self.o_slot.d.next = self.d_slot.q.val();
            self.d_busy.d.next = true;
            self.d_word.d.next = self.d_word.q.val() + self.one16.val();
            self.d_alo.d.next = self.d_cur_alo.val();
            if self.d_last_word.val() {
                self.d_word.d.next = self.zero16.val();
                self.d_col.d.next = self.d_col.q.val() + self.one8.val();
                self.d_alo.d.next = self.d_cur_alo.val() + self.col_step.val().get_bits::<3>(0);
                if self.d_last_col.val() {
                    self.d_busy.d.next = false;
                    self.d_col.d.next = self.zero8.val();
                    self.d_slot.d.next = self.d_slot.q.val() + self.one2.val();
                }
            }
        } else if self.wdata_ready.val() {
            self.o_valid.d.next = false;
        }

        // ---------------------------------------------------------------
        // Completion: the last request and the last word of a slot were
        // accepted; tiles finish in push order.
        self.done_now.next = false;
        self.tile_ready.next = false;
        self.idle.next = true;
        for s in 0..SLOTS {
            if self.q_valid.q.val()
                & self.wreq_ready.val()
                & self.q_last.q.val()
                & (self.q_slot.q.val() == self.slot_c[s].val())
            {
                self.m_rdone[s].d.next = true;
            }
            if self.o_valid.q.val()
                & self.wdata_ready.val()
                & self.o_last.q.val()
                & (self.o_slot.q.val() == self.slot_c[s].val())
            {
                self.m_ddone[s].d.next = true;
            }
            if self.done_ptr.q.val() == self.slot_c[s].val() {
                self.done_now.next = self.m_rdone[s].q.val() & self.m_ddone[s].q.val();
            }
            if self.push_ptr.q.val() == self.slot_c[s].val() {
                self.tile_ready.next = !self.m_ok[s].q.val();
            }
            if self.m_ok[s].q.val() {
                self.idle.next = false;
            }
        }
        self.done_q.d.next = self.done_now.val();
        if self.done_now.val() {
            self.done_ptr.d.next = self.done_ptr.q.val() + self.one2.val();
            for s in 0..SLOTS {
                if self.done_ptr.q.val() == self.slot_c[s].val() {
                    self.m_ok[s].d.next = false;
                    self.m_full[s].d.next = false;
                    self.m_rdone[s].d.next = false;
                    self.m_ddone[s].d.next = false;
                }
            }
        }

        // Outputs.
        self.tile_done.next = self.done_q.q.val();
        self.wreq_valid.next = self.q_valid.q.val();
        self.wreq_addr.next = self.q_addr.q.val();
        self.wreq_words.next = self.q_words.q.val();
        self.wdata_valid.next = self.o_valid.q.val();
        self.wdata_word.next = self.o_word.q.val();
        self.wdata_strb.next = self.o_strb.q.val();

        if self.reset.val() {
            self.push_ptr.d.next = self.zero2.val();
            self.fill_slot.d.next = self.zero2.val();
            self.fill_cnt.d.next = self.zero8.val();
            self.done_ptr.d.next = self.zero2.val();
            self.done_q.d.next = false;
            self.r_busy.d.next = false;
            self.r_slot.d.next = self.zero2.val();
            self.r_col.d.next = self.zero8.val();
            self.q_valid.d.next = false;
            self.d_busy.d.next = false;
            self.d_slot.d.next = self.zero2.val();
            self.d_col.d.next = self.zero8.val();
            self.d_word.d.next = self.zero16.val();
            self.rd_ok.d.next = false;
            self.o_valid.d.next = false;
            for s in 0..SLOTS {
                self.m_ok[s].d.next = false;
                self.m_full[s].d.next = false;
                self.m_rdone[s].d.next = false;
                self.m_ddone[s].d.next = false;
            }
            self.ram_even.write_enable.next = false;
            self.ram_odd.write_enable.next = false;
        }
    }
}

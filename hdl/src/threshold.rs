//! `ThresholdUnit`: the threshold stage at the south edge of the systolic
//! array — turns each drained row of 32-bit accumulators into `a_out`-bit
//! activation codes, or passes it through in raw mode.
//!
//! Role: the array drains one result row per cycle (one output channel `co`
//! of a tile, `cols` accumulators, one per output pixel). For every row this
//! unit applies channel `co`'s threshold record — exactly
//! [`zynqflow_isa::ThresholdMode::apply`] on the record laid out as
//! `isa::layout` ("Thresholds") and `docs/registers.md` describe: word 0 the
//! mode ([`zynqflow_isa::ThresholdMode::encode`]: 0 ascending, 1 descending,
//! `2 | code << 8` constant), words `1..2^a_out` the `2^a_out − 1` thresholds.
//! Ascending: code = number of thresholds `t` with `acc >= t`; descending:
//! number with `acc <= t`; constant: `min(code, 2^a_out − 1)`. Counting every
//! threshold (not a search) is what `apply` does, so unsorted thresholds give
//! the same answer as in software. Raw mode (`mode_raw`) outputs the
//! accumulators unchanged (`isa` raw layout), with the same timing as a
//! 1-cycle row.
//!
//! # Generation parameters
//! `ThresholdUnit<ACC_BUS, CODE_BUS, ROW_ADDR, FIFO_ADDR>::new(cols, p,
//! max_channels, fifo_depth)`; the widths are type parameters (rust-hdl needs
//! them at compile time) and `new` asserts that they match:
//! - `cols` accumulators per row: `ACC_BUS = 32·cols`, `CODE_BUS = 8·cols`;
//! - `p` comparators per column (`1..=8`): thresholds are read `p` at a time
//!   and broadcast to all columns;
//! - `max_channels` (a power of two, 4..=256) records of 8-bit codes in the
//!   threshold RAM;
//! - `ROW_ADDR = log2(max_channels) + row_bits(p)` ([`row_bits`]): the
//!   threshold RAM is `p` banks of `2^ROW_ADDR` 32-bit words (registered read,
//!   inferred as block RAM). A record takes `2^record_shift(p, a_out)` rows
//!   ([`record_shift`]): bank `b`, row `(co << record_shift) + r` holds
//!   threshold `r·p + b` of channel `co`, so narrow codes fit more channels
//!   ([`ThresholdUnit::records_for`]: 2,048 2-bit records for `ROW_ADDR = 11`,
//!   `p = 3`, the records of several passes). Plus a `2^ROW_ADDR × 10` mode RAM
//!   (each mode word decoded when written: descending, constant, the
//!   constant's code);
//!   Channel indices are `ROW_ADDR` bits wide;
//! - `fifo_depth = 2^FIFO_ADDR` (2..=64) queued rows (the accumulators in an
//!   inferred memory, the channel indices in registers).
//!
//! # Ports
//! - `clock`, `reset` (synchronous: empties the queue and the pipeline,
//!   clears `out_valid`, `overflow`, `bad_mode`; the RAM contents stay).
//! - `mode_raw`, `a_out` (4 bits, 1..=8): the layer's mode; must not change
//!   while `busy`. An `a_out` outside 1..=8 gives code 0 in one cycle per row.
//! - `row_valid`, `row_channel` (`ROW_ADDR` bits), `row_acc` (`ACC_BUS` bits, column
//!   `c` in bits `32c..32c+32`, two's complement), `row_skip`: one row, sampled
//!   at an edge when `row_valid` is high. A row with `row_skip` (a channel past
//!   the layer's last, which the writer drops) takes one cycle like a raw row
//!   and gives code 0 in every column; its record is not read.
//! - Write port, one 32-bit word per edge when `wr_en`: `wr_channel`
//!   (`ROW_ADDR` bits), `wr_word` (8 bits: the word's index inside the channel's record,
//!   0 = mode word, `k + 1` = threshold `k`), `wr_data`. The DMA maps the
//!   `isa` table's word `i` of a pass to channel `i >> a_out`, word
//!   `i & (2^a_out − 1)`. A write does not disturb rows in flight, but a record
//!   must not be rewritten while rows of its channel are queued.
//! - `out_valid`, `out_channel`, `out_codes` (`CODE_BUS` bits, column `c`'s
//!   code in bits `8c..8c+8`, zero-extended from `a_out` bits; all zero in raw
//!   mode), `out_raw` (`ACC_BUS` bits: the row's accumulators, in both modes).
//!   The outputs hold their values between valid rows.
//! - `ready`: a row offered this cycle is accepted (queue not full, counting a
//!   row leaving at this edge). `busy`: some accepted row has not reached the
//!   outputs yet (low in the cycle the last row is on the outputs).
//! - `row_cycles` (8 bits): cycles per row for the current `mode_raw`/`a_out`
//!   (1 in raw mode, else `ceil((2^a_out − 1)/p)`, [`row_cycles`]).
//! - `overflow` (sticky until reset): a row arrived while `ready` was low and
//!   was dropped.
//! - `bad_mode` (sticky until reset): a mode word was written that
//!   [`zynqflow_isa::ThresholdMode::decode`] refuses (the command processor's
//!   `BadThresholds`). Such a record's channel computes: constant
//!   `min(word[15:8], 2^a_out − 1)` if `word[7:0] = 2`, else ascending.
//!
//! # Timing
//! A row sampled at edge `e` into an empty unit is on the outputs right after
//! edge `e + n + 1`, `n` = `row_cycles` (issue `n` threshold reads at edges
//! `e + 1 ..= e + n`, compare one edge later). One row every `n` cycles; rows
//! arriving faster wait in the queue, in order. A burst of `k ≤ fifo_depth`
//! back-to-back rows into an idle unit never overflows, nor do bursts of
//! `k ≤ fifo_depth` rows that start at least `k · n` cycles apart; so a
//! controller feeding tiles of `rows` rows needs `fifo_depth ≥ rows` whenever
//! `n > 1`, and spaces tiles by `max(min_tile_cycles, rows · n)` cycles.
//! At full rate (`n = 1`, e.g. 2-bit codes with `p = 3`, or raw mode) the
//! queue never holds more than 2 rows.
//!
//! # Size (yosys 0.23 `synth_xilinx -family xc7 -flatten`, cols 16, p 3, 64 channels, depth 16)
//! About 2,250 LUTs (most in the 48 32-bit comparators, which yosys maps
//! partly to LUT/MUXF7 trees rather than carry chains), 1,458 FFs, 97
//! LUT-RAM cells (RAM32M/RAM64M: the row queue and the mode RAM), 24 RAMB36
//! (3 banks × 8192 × 32 bits: `max_channels · 128` rows per bank, sized for
//! 8-bit codes; 2-bit codes use one row per channel).
use rust_hdl::prelude::*;

/// Largest number of comparators per column.
pub const MAX_P: usize = 8;
/// Largest code width.
pub const MAX_A_OUT: usize = 8;

/// Rows of `p` thresholds per channel needed for 8-bit codes:
/// `ceil(255 / p)`.
pub fn rows_per_channel(p: usize) -> usize {
    ((1 << MAX_A_OUT) - 1usize).div_ceil(p)
}

/// Address bits of a channel's rows in a threshold bank for 8-bit codes:
/// `ceil(log2(ceil(255 / p)))`; `ROW_ADDR = log2(max_channels) + row_bits(p)`.
pub fn row_bits(p: usize) -> usize {
    rows_per_channel(p).next_power_of_two().trailing_zeros() as usize
}

/// Address bits of a channel's rows for `a_out`-bit codes (the record
/// stride is `2^record_shift`): `ceil(log2(row_cycles(p, a_out)))`, 0 for
/// an `a_out` outside 1..=8. A bank of `2^ROW_ADDR` rows holds
/// `2^(ROW_ADDR − record_shift)` records: 16 at 8-bit codes, 2,048 at 2-bit
/// codes for `ROW_ADDR = 11`, `p = 3`.
pub fn record_shift(p: usize, a_out: usize) -> usize {
    row_cycles(p, a_out, false).next_power_of_two().trailing_zeros() as usize
}

/// Cycles the unit spends on one row: `ceil((2^a_out − 1)/p)` for
/// `a_out` in 1..=8, 1 otherwise and in raw mode.
pub fn row_cycles(p: usize, a_out: usize, raw: bool) -> usize {
    if raw || !(1..=MAX_A_OUT).contains(&a_out) {
        1
    } else {
        ((1usize << a_out) - 1).div_ceil(p)
    }
}

/// The threshold unit; see the module documentation for the parameters.
#[derive(LogicBlock)]
pub struct ThresholdUnit<const ACC_BUS: usize, const CODE_BUS: usize, const ROW_ADDR: usize, const FIFO_ADDR: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (control and flags; not the RAM contents).
    pub reset: Signal<In, Bit>,
    /// Raw mode: pass the accumulators through.
    pub mode_raw: Signal<In, Bit>,
    /// Output code width, 1..=8.
    pub a_out: Signal<In, Bits<4>>,
    /// A row is offered this cycle.
    pub row_valid: Signal<In, Bit>,
    /// The row's channel index (its record in the RAM: below
    /// [`ThresholdUnit::records_for`] of `a_out`).
    pub row_channel: Signal<In, Bits<ROW_ADDR>>,
    /// The row's accumulators, column `c` in bits `32c..32c+32`.
    pub row_acc: Signal<In, Bits<ACC_BUS>>,
    /// The row is past the layer's channels: it takes one cycle and gives
    /// code 0 (its record is not read).
    pub row_skip: Signal<In, Bit>,
    /// Write one record word at this edge.
    pub wr_en: Signal<In, Bit>,
    /// Channel of the written word.
    pub wr_channel: Signal<In, Bits<ROW_ADDR>>,
    /// Word index inside the record (0 = mode word).
    pub wr_word: Signal<In, Bits<8>>,
    /// The word.
    pub wr_data: Signal<In, Bits<32>>,
    /// A row is on the outputs.
    pub out_valid: Signal<Out, Bit>,
    /// Its channel index.
    pub out_channel: Signal<Out, Bits<ROW_ADDR>>,
    /// Its codes, column `c` in bits `8c..8c+8` (zero in raw mode).
    pub out_codes: Signal<Out, Bits<CODE_BUS>>,
    /// Its accumulators, unchanged.
    pub out_raw: Signal<Out, Bits<ACC_BUS>>,
    /// A row offered this cycle is accepted.
    pub ready: Signal<Out, Bit>,
    /// Accepted rows are still on their way to the outputs.
    pub busy: Signal<Out, Bit>,
    /// Cycles per row for the current mode and `a_out`.
    pub row_cycles: Signal<Out, Bits<8>>,
    /// Sticky: a row was dropped because the queue was full.
    pub overflow: Signal<Out, Bit>,
    /// Sticky: a mode word that `isa` refuses was written.
    pub bad_mode: Signal<Out, Bit>,

    // Storage.
    acc_fifo: RAM<Bits<ACC_BUS>, FIFO_ADDR>,
    ch_fifo: Vec<DFF<Bits<ROW_ADDR>>>,
    skip_fifo: Vec<DFF<Bit>>,
    banks: Vec<RAM<Bits<32>, ROW_ADDR>>,
    /// Mode words, decoded when written (`mode_in` in `update`): bit 0 descending,
    /// bit 1 constant, bits 9:2 the constant's code.
    modes: RAM<Bits<10>, ROW_ADDR>,
    // Queue and issue state.
    wr_ptr: DFF<Bits<FIFO_ADDR>>,
    issue_ptr: DFF<Bits<FIFO_ADDR>>,
    count: DFF<Bits<8>>,
    pending: DFF<Bits<8>>,
    step: DFF<Bits<8>>,
    // Compare stage.
    cmp_valid: DFF<Bit>,
    cmp_first: DFF<Bit>,
    cmp_last: DFF<Bit>,
    cmp_channel: DFF<Bits<ROW_ADDR>>,
    cmp_skip: DFF<Bit>,
    cnt: Vec<DFF<Bits<8>>>,
    // Outputs and flags.
    o_valid: DFF<Bit>,
    o_channel: DFF<Bits<ROW_ADDR>>,
    o_codes: DFF<Bits<CODE_BUS>>,
    o_raw: DFF<Bits<ACC_BUS>>,
    o_overflow: DFF<Bit>,
    o_bad_mode: DFF<Bit>,

    // Wires.
    ready_l: Signal<Local, Bit>,
    push: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    issuing: Signal<Local, Bit>,
    issue_last: Signal<Local, Bit>,
    issue_ch: Signal<Local, Bits<ROW_ADDR>>,
    issue_skip: Signal<Local, Bit>,
    rd_addr: Signal<Local, Bits<ROW_ADDR>>,
    wr_row: Signal<Local, Bits<ROW_ADDR>>,
    wr_addr: Signal<Local, Bits<ROW_ADDR>>,
    wr_bank: Signal<Local, Bits<8>>,
    last_step: Signal<Local, Bits<8>>,
    shift: Signal<Local, Bits<4>>,
    last_count: Signal<Local, Bits<8>>,
    nthr: Signal<Local, Bits<8>>,
    cycles: Signal<Local, Bits<8>>,
    mode_word: Signal<Local, Bits<10>>,
    mode_in: Signal<Local, Bits<10>>,
    is_desc: Signal<Local, Bit>,
    is_const: Signal<Local, Bit>,
    const_code: Signal<Local, Bits<8>>,
    flip: Signal<Local, Bits<32>>,
    acc_row: Signal<Local, Bits<ACC_BUS>>,
    t_cond: Vec<Signal<Local, Bits<32>>>,
    t_used: Vec<Signal<Local, Bit>>,
    a_cond: Vec<Signal<Local, Bits<32>>>,
    passed: Vec<Signal<Local, Bits<4>>>,
    passed_wide: Vec<Signal<Local, Bits<8>>>,
    total: Vec<Signal<Local, Bits<8>>>,
    code: Vec<Signal<Local, Bits<8>>>,
    codes_bus: Signal<Local, Bits<CODE_BUS>>,

    // Constants (localparams).
    fifo_idx: Vec<Constant<Bits<FIFO_ADDR>>>,
    depth_c: Constant<Bits<8>>,
    one_f: Constant<Bits<FIFO_ADDR>>,
    zero8: Constant<Bits<8>>,
    one8: Constant<Bits<8>>,
    zero4: Constant<Bits<4>>,
    one4: Constant<Bits<4>>,
    bit8: Vec<Constant<Bits<8>>>,
    a_tab: Vec<Constant<Bits<4>>>,
    last_step_tab: Vec<Constant<Bits<8>>>,
    shift_tab: Vec<Constant<Bits<4>>>,
    last_count_tab: Vec<Constant<Bits<8>>>,
    nthr_tab: Vec<Constant<Bits<8>>>,
    cycles_tab: Vec<Constant<Bits<8>>>,
    word_c: Vec<Constant<Bits<8>>>,
    word_row: Vec<Constant<Bits<ROW_ADDR>>>,
    word_bank: Vec<Constant<Bits<8>>>,
    bank_idx: Vec<Constant<Bits<8>>>,
    addr_bit: Vec<Constant<Bits<ROW_ADDR>>>,
    zero_addr: Constant<Bits<ROW_ADDR>>,
    code_bit: Vec<Constant<Bits<CODE_BUS>>>,
    zero_codes: Constant<Bits<CODE_BUS>>,
    flip_up: Constant<Bits<32>>,
    flip_down: Constant<Bits<32>>,
    word_zero: Constant<Bits<32>>,
    word_one: Constant<Bits<32>>,
    const_tag: Constant<Bits<8>>,
    zero16: Constant<Bits<16>>,
    mode_code_mask: Constant<Bits<10>>,
    mode_desc_bit: Constant<Bits<10>>,
    mode_const_bit: Constant<Bits<10>>,
    _cols: usize,
    _p: usize,
    _row_bits: usize,
}

fn many<T: Default>(n: usize) -> Vec<T> {
    (0..n).map(|_| T::default()).collect()
}

fn constants<const N: usize>(values: impl IntoIterator<Item = u64>) -> Vec<Constant<Bits<N>>> {
    values.into_iter().map(|v| Constant::new(v.into())).collect()
}

impl<const ACC_BUS: usize, const CODE_BUS: usize, const ROW_ADDR: usize, const FIFO_ADDR: usize>
    ThresholdUnit<ACC_BUS, CODE_BUS, ROW_ADDR, FIFO_ADDR>
{
    /// A unit for rows of `cols` accumulators, `p` comparators per column,
    /// `max_channels` records and a queue of `fifo_depth` rows; the type's
    /// widths must match (see the module documentation).
    pub fn new(cols: usize, p: usize, max_channels: usize, fifo_depth: usize) -> Self {
        assert!((1..=64).contains(&cols), "cols {cols} outside 1..=64");
        assert_eq!(ACC_BUS, 32 * cols, "accumulator bus {ACC_BUS} is not 32·cols for {cols} columns");
        assert_eq!(CODE_BUS, 8 * cols, "code bus {CODE_BUS} is not 8·cols for {cols} columns");
        assert!((1..=MAX_P).contains(&p), "p {p} outside 1..={MAX_P}");
        assert!(
            max_channels.is_power_of_two() && (4..=256).contains(&max_channels),
            "max_channels {max_channels} is not a power of two in 4..=256"
        );
        let rb = row_bits(p);
        let ch8 = max_channels.trailing_zeros() as usize;
        assert_eq!(
            ROW_ADDR,
            ch8 + rb,
            "threshold RAM address width {ROW_ADDR} is not log2({max_channels}) + row_bits({p}) = {}",
            ch8 + rb
        );
        assert!(
            fifo_depth.is_power_of_two() && (2..=64).contains(&fifo_depth),
            "fifo_depth {fifo_depth} is not a power of two in 2..=64"
        );
        assert_eq!(1 << FIFO_ADDR, fifo_depth, "queue address width {FIFO_ADDR} does not fit {fifo_depth} rows");
        // Per `a_out` (all 16 values of the port): last step index, valid
        // thresholds in the last step, threshold count, cycles per row.
        let nthr = |a: usize| if (1..=MAX_A_OUT).contains(&a) { (1usize << a) - 1 } else { 0 };
        let cyc = |a: usize| row_cycles(p, a, false);
        ThresholdUnit {
            clock: Default::default(),
            reset: Default::default(),
            mode_raw: Default::default(),
            a_out: Default::default(),
            row_valid: Default::default(),
            row_channel: Default::default(),
            row_acc: Default::default(),
            row_skip: Default::default(),
            wr_en: Default::default(),
            wr_channel: Default::default(),
            wr_word: Default::default(),
            wr_data: Default::default(),
            out_valid: Default::default(),
            out_channel: Default::default(),
            out_codes: Default::default(),
            out_raw: Default::default(),
            ready: Default::default(),
            busy: Default::default(),
            row_cycles: Default::default(),
            overflow: Default::default(),
            bad_mode: Default::default(),
            acc_fifo: Default::default(),
            ch_fifo: many(fifo_depth),
            skip_fifo: many(fifo_depth),
            banks: many(p),
            modes: Default::default(),
            wr_ptr: Default::default(),
            issue_ptr: Default::default(),
            count: Default::default(),
            pending: Default::default(),
            step: Default::default(),
            cmp_valid: Default::default(),
            cmp_first: Default::default(),
            cmp_last: Default::default(),
            cmp_channel: Default::default(),
            cmp_skip: Default::default(),
            cnt: many(cols),
            o_valid: Default::default(),
            o_channel: Default::default(),
            o_codes: Default::default(),
            o_raw: Default::default(),
            o_overflow: Default::default(),
            o_bad_mode: Default::default(),
            ready_l: Default::default(),
            push: Default::default(),
            pop: Default::default(),
            issuing: Default::default(),
            issue_last: Default::default(),
            issue_ch: Default::default(),
            issue_skip: Default::default(),
            rd_addr: Default::default(),
            wr_row: Default::default(),
            wr_addr: Default::default(),
            wr_bank: Default::default(),
            last_step: Default::default(),
            shift: Default::default(),
            last_count: Default::default(),
            nthr: Default::default(),
            cycles: Default::default(),
            mode_word: Default::default(),
            mode_in: Default::default(),
            is_desc: Default::default(),
            is_const: Default::default(),
            const_code: Default::default(),
            flip: Default::default(),
            acc_row: Default::default(),
            t_cond: many(p),
            t_used: many(p),
            a_cond: many(cols),
            passed: many(cols),
            passed_wide: many(cols),
            total: many(cols),
            code: many(cols),
            codes_bus: Default::default(),
            fifo_idx: constants((0..fifo_depth as u64).collect::<Vec<_>>()),
            depth_c: Constant::new((fifo_depth as u64).into()),
            one_f: Constant::new(1u64.into()),
            zero8: Constant::new(0u64.into()),
            one8: Constant::new(1u64.into()),
            zero4: Constant::new(0u64.into()),
            one4: Constant::new(1u64.into()),
            bit8: constants((0..4).map(|i| 1u64 << i)),
            a_tab: constants(0..16u64),
            last_step_tab: constants((0..16).map(|a| cyc(a) as u64 - 1)),
            shift_tab: constants((0..16).map(|a| record_shift(p, a) as u64)),
            last_count_tab: constants((0..16).map(|a| (nthr(a) - (cyc(a) - 1) * p) as u64)),
            nthr_tab: constants((0..16).map(|a| nthr(a) as u64)),
            cycles_tab: constants((0..16).map(|a| cyc(a) as u64)),
            word_c: constants(1..256u64),
            word_row: constants((0..255).map(|k| (k / p) as u64)),
            word_bank: constants((0..255).map(|k| (k % p) as u64)),
            bank_idx: constants(0..p as u64),
            addr_bit: constants((0..rb).map(|i| 1u64 << i)),
            zero_addr: Constant::new(0u64.into()),
            code_bit: (0..CODE_BUS)
                .map(|i| {
                    let mut b = Bits::<CODE_BUS>::default();
                    b = b.replace_bit(i, true);
                    Constant::new(b)
                })
                .collect(),
            zero_codes: Constant::new(Bits::<CODE_BUS>::default()),
            flip_up: Constant::new(0x8000_0000u64.into()),
            flip_down: Constant::new(0x7fff_ffffu64.into()),
            word_zero: Constant::new(0u64.into()),
            word_one: Constant::new(1u64.into()),
            const_tag: Constant::new(2u64.into()),
            zero16: Constant::new(0u64.into()),
            mode_code_mask: Constant::new(0x3fcu64.into()),
            mode_desc_bit: Constant::new(1u64.into()),
            mode_const_bit: Constant::new(2u64.into()),
            _cols: cols,
            _p: p,
            _row_bits: rb,
        }
    }

    /// Columns (accumulators per row).
    pub fn cols(&self) -> usize {
        self._cols
    }

    /// Comparators per column.
    pub fn p(&self) -> usize {
        self._p
    }

    /// Rows the queue holds.
    pub fn fifo_depth(&self) -> usize {
        1 << FIFO_ADDR
    }

    /// Records the threshold RAM holds for 8-bit codes.
    pub fn max_channels(&self) -> usize {
        1 << (ROW_ADDR - self._row_bits)
    }

    /// Records the threshold RAM holds for `a_out`-bit codes (records are
    /// strided by their size, [`record_shift`]).
    pub fn records_for(&self, a_out: usize) -> usize {
        1 << (ROW_ADDR - record_shift(self._p, a_out))
    }

    /// Cycles per row for `a_out` (see [`row_cycles`]).
    pub fn row_cycles_for(&self, a_out: usize, raw: bool) -> usize {
        row_cycles(self._p, a_out, raw)
    }
}

impl<const ACC_BUS: usize, const CODE_BUS: usize, const ROW_ADDR: usize, const FIFO_ADDR: usize> Logic
    for ThresholdUnit<ACC_BUS, CODE_BUS, ROW_ADDR, FIFO_ADDR>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            wr_ptr,
            issue_ptr,
            count,
            pending,
            step,
            cmp_valid,
            cmp_first,
            cmp_last,
            cmp_channel,
            cmp_skip,
            o_valid,
            o_channel,
            o_codes,
            o_raw,
            o_overflow,
            o_bad_mode
        );
        for i in 0..self.ch_fifo.len() {
            self.ch_fifo[i].clock.next = self.clock.val();
            self.skip_fifo[i].clock.next = self.clock.val();
        }
        for c in 0..self.cnt.len() {
            self.cnt[c].clock.next = self.clock.val();
        }
        self.acc_fifo.read_clock.next = self.clock.val();
        self.acc_fifo.write_clock.next = self.clock.val();
        self.modes.read_clock.next = self.clock.val();
        self.modes.write_clock.next = self.clock.val();
        for b in 0..self.banks.len() {
            self.banks[b].read_clock.next = self.clock.val();
            self.banks[b].write_clock.next = self.clock.val();
        }

        // Per-`a_out` figures (tables over all 16 port values).
        self.last_step.next = self.zero8.val();
        self.shift.next = self.zero4.val();
        self.last_count.next = self.zero8.val();
        self.nthr.next = self.zero8.val();
        self.cycles.next = self.one8.val();
        for a in 0..16 {
            if self.a_out.val() == self.a_tab[a].val() {
                self.last_step.next = self.last_step_tab[a].val();
                self.shift.next = self.shift_tab[a].val();
                self.last_count.next = self.last_count_tab[a].val();
                self.nthr.next = self.nthr_tab[a].val();
                self.cycles.next = self.cycles_tab[a].val();
            }
        }
        if self.mode_raw.val() {
            self.last_step.next = self.zero8.val();
            self.cycles.next = self.one8.val();
        }
        self.row_cycles.next = self.cycles.val();

        // Record writes: word 0 to the mode RAM, word k + 1 to bank k % p,
        // row (channel, k / p).
        self.wr_row.next = self.zero_addr.val();
        self.wr_bank.next = self.zero8.val();
        for k in 0..self.word_c.len() {
            if self.wr_word.val() == self.word_c[k].val() {
                self.wr_row.next = self.word_row[k].val();
                self.wr_bank.next = self.word_bank[k].val();
            }
        }
        // Records are strided by their size (`record_shift` of `a_out`), so
        // 2-bit codes fit `2^ROW_ADDR` channels: several passes' records.
        self.wr_addr.next = self.wr_row.val() | (self.wr_channel.val() << self.shift.val());
        self.modes.write_address.next = self.wr_channel.val();
        // The mode word is decoded here, not at every compare: the compare
        // path then starts at one RAM bit instead of a 32-bit equality
        // (docs/resources.md, "Depth").
        self.mode_in.next = self.wr_data.val().get_bits::<10>(6) & self.mode_code_mask.val();
        if self.wr_data.val() == self.word_one.val() {
            self.mode_in.next = self.mode_in.val() | self.mode_desc_bit.val();
        }
        if self.wr_data.val().get_bits::<8>(0) == self.const_tag.val() {
            self.mode_in.next = self.mode_in.val() | self.mode_const_bit.val();
        }
        self.modes.write_data.next = self.mode_in.val();
        self.modes.write_enable.next = self.wr_en.val() & (self.wr_word.val() == self.zero8.val());
        for b in 0..self.banks.len() {
            self.banks[b].write_address.next = self.wr_addr.val();
            self.banks[b].write_data.next = self.wr_data.val();
            self.banks[b].write_enable.next = self.wr_en.val()
                & (self.wr_word.val() != self.zero8.val())
                & (self.wr_bank.val() == self.bank_idx[b].val());
        }

        // Queue: a row enters at `wr_ptr`; it leaves when its last compare
        // step ends (`pop`), which frees its slot at the same edge.
        self.pop.next = self.cmp_valid.q.val() & self.cmp_last.q.val();
        self.ready_l.next = (self.count.q.val() < self.depth_c.val()) | self.pop.val();
        self.push.next = self.row_valid.val() & self.ready_l.val();
        self.acc_fifo.write_address.next = self.wr_ptr.q.val();
        self.acc_fifo.write_data.next = self.row_acc.val();
        self.acc_fifo.write_enable.next = self.push.val();
        for i in 0..self.ch_fifo.len() {
            self.ch_fifo[i].d.next = self.ch_fifo[i].q.val();
            self.skip_fifo[i].d.next = self.skip_fifo[i].q.val();
            if self.push.val() & (self.wr_ptr.q.val() == self.fifo_idx[i].val()) {
                self.ch_fifo[i].d.next = self.row_channel.val();
                self.skip_fifo[i].d.next = self.row_skip.val();
            }
        }
        if self.push.val() {
            self.wr_ptr.d.next = self.wr_ptr.q.val() + self.one_f.val();
        }
        self.count.d.next = self.count.q.val();
        if self.push.val() & !self.pop.val() {
            self.count.d.next = self.count.q.val() + self.one8.val();
        }
        if !self.push.val() & self.pop.val() {
            self.count.d.next = self.count.q.val() - self.one8.val();
        }

        // Issue: step `step` of the row at `issue_ptr` reads threshold row
        // (channel, step) from every bank, the channel's mode word, and the
        // row's accumulators; they meet in the compare stage one edge later.
        self.issuing.next = self.pending.q.val() != self.zero8.val();
        self.issue_ch.next = self.ch_fifo[0].q.val();
        self.issue_skip.next = self.skip_fifo[0].q.val();
        for i in 0..self.ch_fifo.len() {
            if self.issue_ptr.q.val() == self.fifo_idx[i].val() {
                self.issue_skip.next = self.skip_fifo[i].q.val();
            }
        }
        self.issue_last.next = (self.step.q.val() == self.last_step.val()) | self.issue_skip.val();
        for i in 0..self.ch_fifo.len() {
            if self.issue_ptr.q.val() == self.fifo_idx[i].val() {
                self.issue_ch.next = self.ch_fifo[i].q.val();
            }
        }
        self.rd_addr.next = self.zero_addr.val();
        for i in 0..self._row_bits {
            if self.step.q.val().get_bit(i) {
                self.rd_addr.next = self.rd_addr.val() | self.addr_bit[i].val();
            }
        }
        self.rd_addr.next = self.rd_addr.val() | (self.issue_ch.val() << self.shift.val());
        for b in 0..self.banks.len() {
            self.banks[b].read_address.next = self.rd_addr.val();
        }
        self.modes.read_address.next = self.issue_ch.val();
        self.acc_fifo.read_address.next = self.issue_ptr.q.val();
        self.cmp_valid.d.next = self.issuing.val();
        self.cmp_first.d.next = self.step.q.val() == self.zero8.val();
        self.cmp_last.d.next = self.issue_last.val();
        self.cmp_channel.d.next = self.issue_ch.val();
        self.cmp_skip.d.next = self.issue_skip.val();
        self.pending.d.next = self.pending.q.val();
        if self.issuing.val() {
            self.step.d.next = self.step.q.val() + self.one8.val();
            if self.issue_last.val() {
                self.step.d.next = self.zero8.val();
                self.issue_ptr.d.next = self.issue_ptr.q.val() + self.one_f.val();
            }
        }
        if self.push.val() & !(self.issuing.val() & self.issue_last.val()) {
            self.pending.d.next = self.pending.q.val() + self.one8.val();
        }
        if !self.push.val() & self.issuing.val() & self.issue_last.val() {
            self.pending.d.next = self.pending.q.val() - self.one8.val();
        }

        // Compare: the mode decides the comparison; `>=` on offset-binary
        // values is the signed `>=`, and inverting both sides turns it into
        // `<=` (descending) without overflow at i32::MIN/MAX.
        self.mode_word.next = self.modes.read_data.val();
        self.is_desc.next = self.mode_word.val().get_bit(0);
        self.is_const.next = self.mode_word.val().get_bit(1);
        self.const_code.next = self.mode_word.val().get_bits::<8>(2);
        if self.const_code.val() > self.nthr.val() {
            self.const_code.next = self.nthr.val();
        }
        self.flip.next = self.flip_up.val();
        if self.is_desc.val() {
            self.flip.next = self.flip_down.val();
        }
        for b in 0..self.banks.len() {
            self.t_cond[b].next = self.banks[b].read_data.val() ^ self.flip.val();
            self.t_used[b].next = !self.cmp_last.q.val() | (self.bank_idx[b].val() < self.last_count.val());
        }
        self.acc_row.next = self.acc_fifo.read_data.val();
        self.codes_bus.next = self.zero_codes.val();
        for c in 0..self.cnt.len() {
            self.a_cond[c].next = self.acc_row.val().get_bits::<32>(32 * c) ^ self.flip.val();
            // Passing comparators of this step (0..=p, 4 bits), then one add.
            self.passed[c].next = self.zero4.val();
            for b in 0..self.banks.len() {
                if self.t_used[b].val() & (self.a_cond[c].val() >= self.t_cond[b].val()) {
                    self.passed[c].next = self.passed[c].val() + self.one4.val();
                }
            }
            self.passed_wide[c].next = self.zero8.val();
            for i in 0..4 {
                if self.passed[c].val().get_bit(i) {
                    self.passed_wide[c].next = self.passed_wide[c].val() | self.bit8[i].val();
                }
            }
            self.total[c].next = self.cnt[c].q.val() + self.passed_wide[c].val();
            if self.cmp_first.q.val() {
                self.total[c].next = self.passed_wide[c].val();
            }
            self.cnt[c].d.next = self.cnt[c].q.val();
            if self.cmp_valid.q.val() {
                self.cnt[c].d.next = self.total[c].val();
            }
            self.code[c].next = self.total[c].val();
            if self.is_const.val() {
                self.code[c].next = self.const_code.val();
            }
            for i in 0..8 {
                if self.code[c].val().get_bit(i) {
                    self.codes_bus.next = self.codes_bus.val() | self.code_bit[8 * c + i].val();
                }
            }
        }
        if self.mode_raw.val() | self.cmp_skip.q.val() {
            self.codes_bus.next = self.zero_codes.val();
        }

        // Outputs.
        self.o_valid.d.next = self.pop.val();
        if self.pop.val() {
            self.o_channel.d.next = self.cmp_channel.q.val();
            self.o_codes.d.next = self.codes_bus.val();
            self.o_raw.d.next = self.acc_row.val();
        }
        if self.row_valid.val() & !self.ready_l.val() {
            self.o_overflow.d.next = true;
        }
        if self.wr_en.val()
            & (self.wr_word.val() == self.zero8.val())
            & !((self.wr_data.val() == self.word_zero.val())
                | (self.wr_data.val() == self.word_one.val())
                | ((self.wr_data.val().get_bits::<8>(0) == self.const_tag.val())
                    & (self.wr_data.val().get_bits::<16>(16) == self.zero16.val())))
        {
            self.o_bad_mode.d.next = true;
        }
        self.out_valid.next = self.o_valid.q.val();
        self.out_channel.next = self.o_channel.q.val();
        self.out_codes.next = self.o_codes.q.val();
        self.out_raw.next = self.o_raw.q.val();
        self.overflow.next = self.o_overflow.q.val();
        self.bad_mode.next = self.o_bad_mode.q.val();
        self.ready.next = self.ready_l.val();
        self.busy.next = self.count.q.val() != self.zero8.val();

        if self.reset.val() {
            self.wr_ptr.d.next = self.fifo_idx[0].val();
            self.issue_ptr.d.next = self.fifo_idx[0].val();
            self.count.d.next = self.zero8.val();
            self.pending.d.next = self.zero8.val();
            self.step.d.next = self.zero8.val();
            self.cmp_valid.d.next = false;
            self.o_valid.d.next = false;
            self.o_overflow.d.next = false;
            self.o_bad_mode.d.next = false;
            self.acc_fifo.write_enable.next = false;
        }
    }
}

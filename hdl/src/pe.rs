//! `Pe`: one processing element of the output-stationary systolic array.
//!
//! Role: accumulates one output value (one output channel × one output pixel)
//! of a tile over `K` steps, and passes finished values down its column's
//! drain chain while the next tile accumulates. It implements the bit-plane
//! identity of `isa::precision` by Horner's scheme: for an activation plane
//! word `a` (plane `p`) and a weight plane word `w` (plane `q`, factor
//! [`WeightBits::plane_weight`] = `±2^(p+q)`), the term of a step is
//! `v = popcount(a & w)`, negated for the sign plane of signed weights; for
//! binary weights (bit 1 = +1, 0 = −1) `v = 2·popcount(a & w) − popcount(a)`,
//! with `popcount(a)` computed once per column and carried with the word. The
//! factor `2^(p+q)` is never applied to a term: the steps come ordered by
//! `s = p + q` descending and the accumulator doubles between levels.
//!
//! The systolic moves themselves (weights east, activations and control
//! south, one PE per cycle) are registers owned by the array
//! ([`crate::array`]): a PE has no pass-through outputs, so the PEs on the east
//! and south edges leave no port unconnected.
//!
//! # Sequencing contract ([`StepControl::sequence`] is its one definition)
//! A tile of `A`-bit codes × `W`-bit weights over `n` (tap, channel word)
//! pairs has `K = n·A·W` steps, ordered by the plane level `s = p + q` from
//! `A + W − 2` down to 0; within a level, every (pair, `p`, `q = s − p`) once,
//! in any order. The step that opens a level carries `double` (except the
//! tile's first step, which carries `first`): the accumulator is doubled
//! before that step's term is added, so after the last level it holds
//! `Σ ±2^(p+q)·v`. `double` is always a shift by exactly one, so no level may
//! be empty: for `s = 0..=A+W−2` and `n ≥ 1` none is (every `s` has some
//! `p < A`, `q < W` with `p + q = s`), and a controller that skips work (e.g.
//! all-zero words) must still present one step of each level, or a zero
//! bubble-step (`valid`, zero activation word) carrying the `double`.
//!
//! # Ports
//! - `clock`, `reset` (synchronous: clears the pipeline's valid bit and the
//!   drain chain's valid bits; the accumulator needs none, `first` reloads it).
//! - Step inputs, all registered by the array: `w_in` (weight plane word,
//!   64·lanes bits), `a_in` (activation plane word), `pa_in` (`popcount(a_in)`,
//!   used for binary weights), `ctl_in` (the step's control, [`StepControl`]).
//! - Drain chain: `drain_in`/`drain_in_valid` from the PE above (tie to zero at
//!   the top row), `drain_out`/`drain_out_valid` to the PE below.
//!
//! # Pipeline and latency
//! For a step on the inputs when clock edge `e` arrives:
//! - stage 1, edge `e`: `popcount(a_in & w_in)` (the AND folded into the
//!   popcount's first level) is registered together with `ctl_in` and `pa_in`;
//! - stage 2, edge `e + 1`: the 10-bit term `t` = `count`, `−count` (sign
//!   plane) or `2·count − pa` (binary), sign-extended;
//!   `sum = base + t` with `base` = 0 on `first`, `2·acc` on `double`, `acc`
//!   otherwise; the accumulator takes `sum`;
//! - on `last`, `sum` enters the drain chain (`res`) at the same edge instead
//!   of waiting in the accumulator, and is on `drain_out` after edge `e + 2`.
//!   The accumulator is free for the next tile's `first` on the very next step
//!   (double buffering: accumulator + drain registers).
//!
//! One step per cycle, any mix of valid steps and bubbles (`valid = 0` steps
//! change nothing, `double` included). Resources: see `docs/architecture.md`
//! (yosys `synth_xilinx` figures, checked by `hdl/tests/size.rs`).
//!
//! # Drain chain
//! Two registers per PE, `res` then `pass`: a value moves down one PE every two
//! cycles. `res` loads the PE's own sum on a valid `last` step, otherwise the
//! value coming from the PE above; `pass` copies `res`. Because the `last`
//! steps reach the rows one cycle apart (row `r+1` one cycle after row `r`)
//! while values move at half that speed, the values of one tile never meet: the
//! south edge sees the rows one per cycle, bottom row first (see the array's
//! docs for the exact timing and the one constraint it imposes: at least `rows`
//! cycles between the `last` steps of consecutive tiles).
//!
//! # Arithmetic
//! 32-bit two's complement in unsigned `Bits<32>` (wrapping adds and doubling),
//! never rust-hdl's `Signed` (REFERENCE §5: its simulator's `signed_bit_cast`
//! recursion bug). Doubling and adding are exact modulo 2^32, so the result is
//! exact whenever the final sum fits 32 bits, which `isa::validate` ensures;
//! the intermediate Horner values are bounded by the same worst case anyway
//! (each is a partial sum of the final one's terms divided by `2^s`).
//!
//! [`WeightBits::plane_weight`]: zynqflow_isa::WeightBits::plane_weight
use rust_hdl::prelude::*;
use zynqflow_isa::{ActBits, WeightBits};

use crate::popcount::{Popcount, COUNT_BITS, MAX_LANES};

/// Width of the step control word carried with each activation word.
pub const CTL_BITS: usize = 6;
/// Width of the accumulator and of every drained result.
pub const ACC_BITS: usize = 32;
/// Width of a step's signed term before sign extension: `|t| ≤ 256`.
pub const TERM_BITS: usize = 10;

/// The control of one step, as carried in `Bits<CTL_BITS>` down each column.
///
/// Bit layout: 0 `valid`, 1 `first`, 2 `last`, 3 `negate`, 4 `binary`,
/// 5 `double`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepControl {
    /// The step carries data; an invalid step (a bubble) changes nothing.
    pub valid: bool,
    /// First step of a tile: the accumulator restarts from this step's term
    /// (`double` is then ignored).
    pub first: bool,
    /// Last step of a tile: the sum including this step goes to the drain.
    pub last: bool,
    /// The term is negated (the sign plane of a signed weight).
    pub negate: bool,
    /// Binary weights: the term is `2·popcount(a & w) − popcount(a)`.
    pub binary: bool,
    /// The accumulator is doubled before this step's term is added: the step
    /// opens the next plane level `s = p + q` (one lower).
    pub double: bool,
}

/// One step of a tile in the order the PE requires ([`StepControl::sequence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneStep {
    /// Which (tap, channel word) pair, `0..pairs`: the controller's numbering.
    pub pair: usize,
    /// Activation plane.
    pub p: usize,
    /// Weight plane.
    pub q: usize,
    /// The step's control word.
    pub ctl: StepControl,
}

impl StepControl {
    /// A bubble: no data this cycle.
    pub const IDLE: StepControl =
        StepControl { valid: false, first: false, last: false, negate: false, binary: false, double: false };

    /// The control of the step pairing activation plane `p` with weight plane
    /// `q` of a layer with `a_bits`/`w_bits` widths; `first`/`last` mark the
    /// tile's first and last steps, `double` the first step of a plane level.
    pub fn for_planes(
        a_bits: ActBits,
        w_bits: WeightBits,
        p: usize,
        q: usize,
        first: bool,
        last: bool,
        double: bool,
    ) -> Self {
        assert!(p < a_bits.bits() && q < w_bits.bits(), "plane ({p}, {q}) outside {a_bits}×{w_bits} bits");
        StepControl {
            valid: true,
            first,
            last,
            negate: w_bits.plane_weight(q) < 0,
            binary: w_bits.is_binary(),
            double: double && !first,
        }
    }

    /// The steps of one tile of `a_bits`-bit codes × `w_bits`-bit weights over
    /// `pairs` (tap, channel word) pairs, in the order the PE requires: plane
    /// level `s = p + q` from `A + W − 2` down to 0, then pairs, then `p`
    /// ascending (`q = s − p`). `first` on the first step, `last` on the last,
    /// `double` on the first step of every level after the first. This is the
    /// one definition of the sequencing contract (module docs); the
    /// controller and the tests both follow it.
    pub fn sequence(a_bits: ActBits, w_bits: WeightBits, pairs: usize) -> Vec<PlaneStep> {
        assert!(pairs >= 1, "a tile has at least one (tap, channel word) pair");
        let (a, w) = (a_bits.bits(), w_bits.bits());
        let k = pairs * a * w;
        let mut steps = Vec::with_capacity(k);
        for s in (0..a + w - 1).rev() {
            let mut opens_level = true;
            for pair in 0..pairs {
                for p in s.saturating_sub(w - 1)..=s.min(a - 1) {
                    let q = s - p;
                    let (first, last) = (steps.is_empty(), steps.len() == k - 1);
                    let ctl = StepControl::for_planes(a_bits, w_bits, p, q, first, last, opens_level);
                    steps.push(PlaneStep { pair, p, q, ctl });
                    opens_level = false;
                }
            }
        }
        assert_eq!(steps.len(), k);
        steps
    }

    /// The packed control word.
    pub fn to_bits(self) -> Bits<CTL_BITS> {
        let v = u64::from(self.valid)
            | u64::from(self.first) << 1
            | u64::from(self.last) << 2
            | u64::from(self.negate) << 3
            | u64::from(self.binary) << 4
            | u64::from(self.double) << 5;
        v.into()
    }
}

/// One processing element; `W` = 64·lanes bits per word.
#[derive(LogicBlock)]
pub struct Pe<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (valid bits only).
    pub reset: Signal<In, Bit>,
    /// Weight plane word of this step (this PE's output channel).
    pub w_in: Signal<In, Bits<W>>,
    /// Activation plane word of this step (this PE's output pixel).
    pub a_in: Signal<In, Bits<W>>,
    /// `popcount(a_in)`, computed once at the top of the column.
    pub pa_in: Signal<In, Bits<COUNT_BITS>>,
    /// Step control ([`StepControl::to_bits`]).
    pub ctl_in: Signal<In, Bits<CTL_BITS>>,
    /// Drain chain value from the PE above.
    pub drain_in: Signal<In, Bits<ACC_BITS>>,
    /// `drain_in` holds a result.
    pub drain_in_valid: Signal<In, Bit>,
    /// Drain chain value to the PE below (the `pass` register).
    pub drain_out: Signal<Out, Bits<ACC_BITS>>,
    /// `drain_out` holds a result.
    pub drain_out_valid: Signal<Out, Bit>,
    popcount: Popcount<W>,
    // Stage 1 registers.
    count: DFF<Bits<COUNT_BITS>>,
    ctl: DFF<Bits<CTL_BITS>>,
    pa: DFF<Bits<COUNT_BITS>>,
    // The running sum of the current tile.
    acc: DFF<Bits<ACC_BITS>>,
    // Drain chain: `res` then `pass`.
    res: DFF<Bits<ACC_BITS>>,
    res_valid: DFF<Bit>,
    pass: DFF<Bits<ACC_BITS>>,
    pass_valid: DFF<Bit>,
    // Stage 2, decoded control and arithmetic.
    valid: Signal<Local, Bit>,
    first: Signal<Local, Bit>,
    last: Signal<Local, Bit>,
    negate: Signal<Local, Bit>,
    binary: Signal<Local, Bit>,
    double: Signal<Local, Bit>,
    // `count` and `pa` zero-extended to the term width.
    count_t: Signal<Local, Bits<TERM_BITS>>,
    pa_t: Signal<Local, Bits<TERM_BITS>>,
    term: Signal<Local, Bits<TERM_BITS>>,
    term_wide: Signal<Local, Bits<ACC_BITS>>,
    base: Signal<Local, Bits<ACC_BITS>>,
    sum: Signal<Local, Bits<ACC_BITS>>,
    zero: Constant<Bits<ACC_BITS>>,
    zero_t: Constant<Bits<TERM_BITS>>,
    // `bit_t[i]` = 2^i (zero extension bit by bit, see `update`); `bit[i]` =
    // 2^i and `sign_ext` = the bits above the term (sign extension).
    bit_t: Vec<Constant<Bits<TERM_BITS>>>,
    bit: Vec<Constant<Bits<ACC_BITS>>>,
    sign_ext: Constant<Bits<ACC_BITS>>,
    idle: Constant<Bits<CTL_BITS>>,
}

impl<const W: usize> Pe<W> {
    /// A PE for `lanes` 64-bit words per step and an `acc_bits` accumulator
    /// (`isa::ArrayConfig`); `W` must be `64·lanes`.
    pub fn new(lanes: usize, acc_bits: usize) -> Self {
        assert!((1..=MAX_LANES).contains(&lanes), "lanes {lanes} outside 1..={MAX_LANES}");
        assert_eq!(W, 64 * lanes, "word width {W} is not 64·lanes for {lanes} lanes");
        assert_eq!(acc_bits, ACC_BITS, "only {ACC_BITS}-bit accumulators are implemented");
        Pe {
            clock: Default::default(),
            reset: Default::default(),
            w_in: Default::default(),
            a_in: Default::default(),
            pa_in: Default::default(),
            ctl_in: Default::default(),
            drain_in: Default::default(),
            drain_in_valid: Default::default(),
            drain_out: Default::default(),
            drain_out_valid: Default::default(),
            popcount: Default::default(),
            count: Default::default(),
            ctl: Default::default(),
            pa: Default::default(),
            acc: Default::default(),
            res: Default::default(),
            res_valid: Default::default(),
            pass: Default::default(),
            pass_valid: Default::default(),
            valid: Default::default(),
            first: Default::default(),
            last: Default::default(),
            negate: Default::default(),
            binary: Default::default(),
            double: Default::default(),
            count_t: Default::default(),
            pa_t: Default::default(),
            term: Default::default(),
            term_wide: Default::default(),
            base: Default::default(),
            sum: Default::default(),
            zero: Constant::new(0.into()),
            zero_t: Constant::new(0.into()),
            bit_t: (0..COUNT_BITS).map(|i| Constant::new((1u64 << i).into())).collect(),
            bit: (0..TERM_BITS).map(|i| Constant::new((1u64 << i).into())).collect(),
            sign_ext: Constant::new((((1u64 << ACC_BITS) - 1) ^ ((1u64 << TERM_BITS) - 1)).into()),
            idle: Constant::new(0.into()),
        }
    }
}

impl<const W: usize> Logic for Pe<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, count, ctl, pa, acc, res, res_valid, pass, pass_valid);
        // Stage 1: AND + popcount (the AND inside the popcount's first level),
        // registered with the step's control.
        self.popcount.word.next = self.a_in.val();
        self.popcount.mask.next = self.w_in.val();
        self.count.d.next = self.popcount.count.val();
        self.ctl.d.next = self.ctl_in.val();
        self.pa.d.next = self.pa_in.val();
        // Stage 2: decode the control (layout: StepControl::to_bits).
        self.valid.next = self.ctl.q.val().get_bit(0);
        self.first.next = self.ctl.q.val().get_bit(1);
        self.last.next = self.ctl.q.val().get_bit(2);
        self.negate.next = self.ctl.q.val().get_bit(3);
        self.binary.next = self.ctl.q.val().get_bit(4);
        self.double.next = self.ctl.q.val().get_bit(5);
        // Zero extension: rust-hdl widens only with `bit_cast`, whose Verilog
        // (`x & 10'h3ff`) Verilator flags as a width mismatch; OR-ing in one
        // power of two per set bit is clean, and synthesis reduces it to wires.
        self.count_t.next = self.zero_t.val();
        self.pa_t.next = self.zero_t.val();
        for i in 0..COUNT_BITS {
            if self.count.q.val().get_bit(i) {
                self.count_t.next = self.count_t.val() | self.bit_t[i].val();
            }
            if self.pa.q.val().get_bit(i) {
                self.pa_t.next = self.pa_t.val() | self.bit_t[i].val();
            }
        }
        // The 10-bit signed term: count, −count or 2·count − popcount(a)
        // (all within ±256; 2·count may wrap, the difference does not).
        self.term.next = self.count_t.val();
        if self.negate.val() {
            self.term.next = self.zero_t.val() - self.count_t.val();
        }
        if self.binary.val() {
            self.term.next = (self.count_t.val() << 1) - self.pa_t.val();
        }
        // Sign extension to the accumulator width, bit by bit as above.
        self.term_wide.next = self.zero.val();
        for i in 0..TERM_BITS {
            if self.term.val().get_bit(i) {
                self.term_wide.next = self.term_wide.val() | self.bit[i].val();
            }
        }
        // (One-iteration loop: the generator evaluates only loop variables.)
        for top in (TERM_BITS - 1)..TERM_BITS {
            if self.term.val().get_bit(top) {
                self.term_wide.next = self.term_wide.val() | self.sign_ext.val();
            }
        }
        // Horner: base = 0 on `first`, 2·acc on `double`, else acc; one adder.
        self.base.next = self.acc.q.val();
        if self.double.val() {
            self.base.next = self.acc.q.val() << 1;
        }
        if self.first.val() {
            self.base.next = self.zero.val();
        }
        self.sum.next = self.base.val() + self.term_wide.val();
        if self.valid.val() {
            self.acc.d.next = self.sum.val();
        }
        // Drain chain: own result on `last`, else the value from above.
        self.res.d.next = self.drain_in.val();
        self.res_valid.d.next = self.drain_in_valid.val();
        if self.valid.val() & self.last.val() {
            self.res.d.next = self.sum.val();
            self.res_valid.d.next = true;
        }
        self.pass.d.next = self.res.q.val();
        self.pass_valid.d.next = self.res_valid.q.val();
        self.drain_out.next = self.pass.q.val();
        self.drain_out_valid.next = self.pass_valid.q.val();
        if self.reset.val() {
            self.ctl.d.next = self.idle.val();
            self.res_valid.d.next = false;
            self.pass_valid.d.next = false;
        }
    }
}

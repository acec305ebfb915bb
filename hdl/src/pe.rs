//! `Pe`: one processing element of the output-stationary systolic array.
//!
//! Role: accumulates one output value (one output channel × one output pixel)
//! of a tile over `K` steps, and passes finished values down its column's
//! drain chain while the next tile accumulates. It implements the bit-plane
//! identity of `isa::precision`: for an activation plane word `a` (plane `p`)
//! and a weight plane word `w` (plane `q`, factor [`WeightBits::plane_weight`]),
//! a step adds `±2^(p+q) · popcount(a & w)`; for binary weights (bit 1 = +1,
//! 0 = −1) it adds `2^p · (2·popcount(a & w) − popcount(a))`, with
//! `popcount(a)` computed once per column and carried with the word.
//!
//! The systolic moves themselves (weights east, activations and control
//! south, one PE per cycle) are registers owned by the array
//! ([`crate::array`]): a PE has no pass-through outputs, so the PEs on the east
//! and south edges leave no port unconnected.
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
//! - stage 1, edge `e`: `popcount(a_in & w_in)` is registered together with
//!   `ctl_in` and `pa_in`;
//! - stage 2, edge `e + 1`: `v = count` (or `2·count − pa` for binary weights),
//!   `sum = base ± (v << shift)` with `−` for the sign plane and `base` = 0 on
//!   `first`, the accumulator otherwise; the accumulator takes `sum`;
//! - on `last`, `sum` enters the drain chain (`res`) at the same edge instead
//!   of waiting in the accumulator, and is on `drain_out` after edge `e + 2`.
//!   The accumulator is free for the next tile's `first` on the very next step
//!   (double buffering: accumulator + drain registers).
//!
//! One step per cycle, any mix of valid steps and bubbles (`valid = 0` steps
//! change nothing). Resources (yosys `synth_xilinx`, one lane): 125 flip-flops
//! (9 count, 9 control, 9 `popcount(a)`, 32 accumulator, 2 × 33 drain) and
//! about 440 LUTs.
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
//! 32-bit two's complement in unsigned `Bits<32>` (wrapping adds), never
//! rust-hdl's `Signed` (REFERENCE §5: its simulator's `signed_bit_cast`
//! recursion bug). |term| ≤ 64·lanes·2^14 ≤ 2^22, and `isa::validate` refuses
//! any layer whose exact sum could leave the 32-bit range.
//!
//! [`WeightBits::plane_weight`]: zynqflow_isa::WeightBits::plane_weight
use rust_hdl::prelude::*;
use zynqflow_isa::{ActBits, WeightBits};

use crate::popcount::{Popcount, COUNT_BITS, MAX_LANES};

/// Width of the step control word carried with each activation word.
pub const CTL_BITS: usize = 9;
/// Width of the accumulator and of every drained result.
pub const ACC_BITS: usize = 32;

/// The control of one step, as carried in `Bits<CTL_BITS>` down each column.
///
/// Bit layout: 0 `valid`, 1 `first`, 2 `last`, 3 `negate`, 4 `binary`,
/// 8:5 `shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepControl {
    /// The step carries data; an invalid step (a bubble) changes nothing.
    pub valid: bool,
    /// First step of a tile: the accumulator restarts from this step's term.
    pub first: bool,
    /// Last step of a tile: the sum including this step goes to the drain.
    pub last: bool,
    /// The term is negated (the sign plane of a signed weight).
    pub negate: bool,
    /// Binary weights: the term is `2·popcount(a & w) − popcount(a)`.
    pub binary: bool,
    /// Left shift of the term, `p + q` (0..=14).
    pub shift: u8,
}

impl StepControl {
    /// A bubble: no data this cycle.
    pub const IDLE: StepControl =
        StepControl { valid: false, first: false, last: false, negate: false, binary: false, shift: 0 };

    /// The control of the step pairing activation plane `p` with weight plane
    /// `q` of a layer with `a_bits`/`w_bits` widths; `first`/`last` mark the
    /// tile's first and last steps.
    pub fn for_planes(a_bits: ActBits, w_bits: WeightBits, p: usize, q: usize, first: bool, last: bool) -> Self {
        assert!(p < a_bits.bits() && q < w_bits.bits(), "plane ({p}, {q}) outside {a_bits}×{w_bits} bits");
        StepControl {
            valid: true,
            first,
            last,
            negate: w_bits.plane_weight(q) < 0,
            binary: w_bits.is_binary(),
            shift: (p + q) as u8,
        }
    }

    /// The packed control word.
    pub fn to_bits(self) -> Bits<CTL_BITS> {
        assert!(self.shift <= 14, "shift {} out of range", self.shift);
        let v = u64::from(self.valid)
            | u64::from(self.first) << 1
            | u64::from(self.last) << 2
            | u64::from(self.negate) << 3
            | u64::from(self.binary) << 4
            | u64::from(self.shift) << 5;
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
    shift: Signal<Local, Bits<4>>,
    // `count` and `pa` zero-extended to the accumulator width.
    count_wide: Signal<Local, Bits<ACC_BITS>>,
    pa_wide: Signal<Local, Bits<ACC_BITS>>,
    value: Signal<Local, Bits<ACC_BITS>>,
    shifted: Signal<Local, Bits<ACC_BITS>>,
    base: Signal<Local, Bits<ACC_BITS>>,
    sum: Signal<Local, Bits<ACC_BITS>>,
    zero: Constant<Bits<ACC_BITS>>,
    // `bit[i]` = 2^i: zero extension bit by bit (see `update`).
    bit: Vec<Constant<Bits<ACC_BITS>>>,
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
            shift: Default::default(),
            count_wide: Default::default(),
            pa_wide: Default::default(),
            value: Default::default(),
            shifted: Default::default(),
            base: Default::default(),
            sum: Default::default(),
            zero: Constant::new(0.into()),
            bit: (0..COUNT_BITS).map(|i| Constant::new((1u64 << i).into())).collect(),
            idle: Constant::new(0.into()),
        }
    }
}

impl<const W: usize> Logic for Pe<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, count, ctl, pa, acc, res, res_valid, pass, pass_valid);
        // Stage 1: AND + popcount, registered with the step's control.
        self.popcount.word.next = self.a_in.val() & self.w_in.val();
        self.count.d.next = self.popcount.count.val();
        self.ctl.d.next = self.ctl_in.val();
        self.pa.d.next = self.pa_in.val();
        // Stage 2: decode the control (layout: StepControl::to_bits).
        self.valid.next = self.ctl.q.val().get_bit(0);
        self.first.next = self.ctl.q.val().get_bit(1);
        self.last.next = self.ctl.q.val().get_bit(2);
        self.negate.next = self.ctl.q.val().get_bit(3);
        self.binary.next = self.ctl.q.val().get_bit(4);
        self.shift.next = self.ctl.q.val().get_bits::<4>(5);
        // Zero extension: rust-hdl widens only with `bit_cast`, whose Verilog
        // (`x & 32'hffffffff`) Verilator flags as a width mismatch; OR-ing in
        // one power of two per set bit is clean, and synthesis reduces it to
        // wires.
        self.count_wide.next = self.zero.val();
        self.pa_wide.next = self.zero.val();
        for i in 0..COUNT_BITS {
            if self.count.q.val().get_bit(i) {
                self.count_wide.next = self.count_wide.val() | self.bit[i].val();
            }
            if self.pa.q.val().get_bit(i) {
                self.pa_wide.next = self.pa_wide.val() | self.bit[i].val();
            }
        }
        // sum = base ± (v << shift), v = count or 2·count − popcount(a),
        // base = 0 on `first`, else the accumulator: one adder/subtractor.
        self.value.next = self.count_wide.val();
        if self.binary.val() {
            self.value.next = self.count_wide.val() + self.count_wide.val() - self.pa_wide.val();
        }
        self.shifted.next = self.value.val() << self.shift.val();
        self.base.next = self.acc.q.val();
        if self.first.val() {
            self.base.next = self.zero.val();
        }
        self.sum.next = self.base.val() + self.shifted.val();
        if self.negate.val() {
            self.sum.next = self.base.val() - self.shifted.val();
        }
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

//! `RegFifo`: a small first-in first-out queue in registers with the head
//! visible before it is popped (show-ahead), for control metadata between
//! the accelerator's engines (a few entries of a few dozen bits).
//!
//! # Ports
//! - `clock`, `reset` (synchronous: empties the queue; the entries stay).
//! - `push` + `din`: appended at the edge (ignored when `full`).
//! - `pop`: removes the head at the edge (ignored when `empty`).
//! - `head`: the oldest entry (meaningless when `empty`), combinational from
//!   the registers; `empty`, `full`.
//!
//! A push and a pop in the same cycle are both performed (also when full:
//! the pop makes room at the same edge only if the queue is not full — a
//! full queue refuses the push even while popping, which keeps `full`
//! independent of `pop`).
use rust_hdl::prelude::*;

/// A `2^PTR`-entry queue of `W`-bit entries in registers.
#[derive(LogicBlock)]
pub struct RegFifo<const W: usize, const PTR: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: empties the queue.
    pub reset: Signal<In, Bit>,
    /// Append `din` at this edge.
    pub push: Signal<In, Bit>,
    /// The entry to append.
    pub din: Signal<In, Bits<W>>,
    /// Remove the head at this edge.
    pub pop: Signal<In, Bit>,
    /// The oldest entry.
    pub head: Signal<Out, Bits<W>>,
    /// No entry.
    pub empty: Signal<Out, Bit>,
    /// No room.
    pub full: Signal<Out, Bit>,
    regs: Vec<DFF<Bits<W>>>,
    wr_ptr: DFF<Bits<PTR>>,
    rd_ptr: DFF<Bits<PTR>>,
    count: DFF<Bits<8>>,
    do_push: Signal<Local, Bit>,
    do_pop: Signal<Local, Bit>,
    idx: Vec<Constant<Bits<PTR>>>,
    one_p: Constant<Bits<PTR>>,
    one8: Constant<Bits<8>>,
    zero8: Constant<Bits<8>>,
    depth8: Constant<Bits<8>>,
}

impl<const W: usize, const PTR: usize> RegFifo<W, PTR> {
    /// A queue of `2^PTR` entries (`PTR` 1..=7).
    pub fn new() -> Self {
        assert!((1..=7).contains(&PTR), "RegFifo depth 2^{PTR} outside 2..=128");
        let n = 1usize << PTR;
        RegFifo {
            clock: Default::default(),
            reset: Default::default(),
            push: Default::default(),
            din: Default::default(),
            pop: Default::default(),
            head: Default::default(),
            empty: Default::default(),
            full: Default::default(),
            regs: (0..n).map(|_| Default::default()).collect(),
            wr_ptr: Default::default(),
            rd_ptr: Default::default(),
            count: Default::default(),
            do_push: Default::default(),
            do_pop: Default::default(),
            idx: (0..n as u64).map(|i| Constant::new(i.into())).collect(),
            one_p: Constant::new(1u64.into()),
            one8: Constant::new(1u64.into()),
            zero8: Constant::new(0u64.into()),
            depth8: Constant::new((n as u64).into()),
        }
    }
}

impl<const W: usize, const PTR: usize> Default for RegFifo<W, PTR> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize, const PTR: usize> Logic for RegFifo<W, PTR> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, wr_ptr, rd_ptr, count);
        for i in 0..self.regs.len() {
            self.regs[i].clock.next = self.clock.val();
            self.regs[i].d.next = self.regs[i].q.val();
        }
        self.empty.next = self.count.q.val() == self.zero8.val();
        self.full.next = self.count.q.val() == self.depth8.val();
        self.do_push.next = self.push.val() & (self.count.q.val() != self.depth8.val());
        self.do_pop.next = self.pop.val() & (self.count.q.val() != self.zero8.val());
        self.head.next = self.regs[0].q.val();
        for i in 0..self.regs.len() {
            if self.rd_ptr.q.val() == self.idx[i].val() {
                self.head.next = self.regs[i].q.val();
            }
            if self.do_push.val() & (self.wr_ptr.q.val() == self.idx[i].val()) {
                self.regs[i].d.next = self.din.val();
            }
        }
        if self.do_push.val() {
            self.wr_ptr.d.next = self.wr_ptr.q.val() + self.one_p.val();
        }
        if self.do_pop.val() {
            self.rd_ptr.d.next = self.rd_ptr.q.val() + self.one_p.val();
        }
        if self.do_push.val() & !self.do_pop.val() {
            self.count.d.next = self.count.q.val() + self.one8.val();
        }
        if !self.do_push.val() & self.do_pop.val() {
            self.count.d.next = self.count.q.val() - self.one8.val();
        }
        if self.reset.val() {
            self.wr_ptr.d.next = self.idx[0].val();
            self.rd_ptr.d.next = self.idx[0].val();
            self.count.d.next = self.zero8.val();
        }
    }
}

/// `Mul32x16`: the low 32 bits of a 32-bit × 16-bit unsigned product, from
/// rust-hdl's one multiplier (16 × 16 → 32): `a·b = a_lo·b + (a_hi·b) << 16`.
/// Combinational. Address arithmetic of the engines uses it where a value is
/// known to stay below 2^32 (descriptor validation guarantees it).
#[derive(LogicBlock, Default)]
pub struct Mul32x16 {
    /// Multiplicand.
    pub a: Signal<In, Bits<32>>,
    /// Multiplier.
    pub b: Signal<In, Bits<16>>,
    /// `(a·b) mod 2^32`.
    pub p: Signal<Out, Bits<32>>,
    lo: Signal<Local, Bits<32>>,
    hi: Signal<Local, Bits<32>>,
}

impl Logic for Mul32x16 {
    #[hdl_gen]
    fn update(&mut self) {
        self.lo.next = self.a.val().get_bits::<16>(0) * self.b.val();
        self.hi.next = self.a.val().get_bits::<16>(16) * self.b.val();
        self.p.next = self.lo.val() + (self.hi.val() << 16);
    }
}

/// A constant of any width (the generated Verilog gets a sized `localparam`,
/// so comparisons and sums keep exact widths).
pub fn konst<const N: usize>(v: u64) -> Constant<Bits<N>> {
    Constant::new(v.into())
}

/// Keeps the low `B` bits of an `A`-bit value, as a block: rust-hdl prints a
/// narrowing `bit_cast` as `x & B'h..` with the `A`-bit operand, which
/// Verilator's `-Wall` flags (`WIDTH`); this block prints the part select
/// `i[B-1:0]` instead. (Zero-extension: [`crate::desc_check::Widen`].)
#[derive(LogicBlock, Default)]
pub struct Narrow<const A: usize, const B: usize> {
    /// The value.
    pub i: Signal<In, Bits<A>>,
    /// Its low `B` bits.
    pub o: Signal<Out, Bits<B>>,
}

impl<const A: usize, const B: usize> Logic for Narrow<A, B> {
    fn update(&mut self) {
        self.o.next = self.i.val().get_bits::<B>(0);
    }

    fn connect(&mut self) {
        self.o.connect();
    }

    fn hdl(&self) -> Verilog {
        assert!(A > B, "Narrow<{A}, {B}> does not narrow");
        // The dropped bits are read by `unused_hi` (Verilator's `*unused*`
        // idiom), so the deliberate truncation is not an UNUSEDSIGNAL.
        Verilog::Custom(format!("always @(*) o = i[{}:0];\nwire unused_hi = ^i[{}:{}];\n", B - 1, A - 1, B))
    }
}

/// Reads an output that its consumer deliberately ignores, so the generated
/// Verilog says so: the signal feeds `unused_bits`, which Verilator's
/// `-Wall` skips by its default `--unused-regexp` (`*unused*`), the
/// documented Verilator idiom for intentionally unread bits. Each use in
/// the design states why the value is not needed.
#[derive(LogicBlock, Default)]
pub struct Unused<T: Synth> {
    /// The ignored value.
    pub i: Signal<In, T>,
}

impl<T: Synth> Logic for Unused<T> {
    fn update(&mut self) {}

    fn hdl(&self) -> Verilog {
        Verilog::Custom("wire unused_bits = ^i;\n".into())
    }
}

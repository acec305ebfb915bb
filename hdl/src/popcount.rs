//! Population count of `word & mask`, `W` bits (`W` = 64·lanes), combinational.
//!
//! Role: the multiplier of the bit-serial dot product. The AND of an activation
//! bit-plane word with a weight bit-plane word followed by this count is the
//! dot product of 64·lanes one-bit values (`isa::precision`; the plane factor
//! `±2^(p+q)` is applied by the PE's Horner sequencing). The AND is part of
//! the tree's first level, so that it shares those LUTs instead of taking a
//! level of its own at a module boundary (rust-hdl emits one Verilog module per
//! instance, and yosys synthesizes them separately). The array also uses it
//! once per column for `popcount(a)` (`mask` = `word`), the correction term
//! of binary weights.
//!
//! Structure: each 64-bit lane is a balanced adder tree of six levels (32 sums
//! of two ANDed bits, then 16, 8, 4, 2 and 1 sums); the lanes' counts are
//! added in a chain (at most [`MAX_LANES`] lanes, so at most three more
//! adders).
//!
//! Every value is [`COUNT_BITS`] wide, the width of the result: rust-hdl
//! widens a value only through `bit_cast`, whose Verilog (`x & 9'h1ff`) Verilator
//! flags as a width mismatch, so each leaf is a 9-bit slice of the word
//! starting at its bit (masked to its low bit) or, for the top bits, ending at
//! it (shifted down), and the tree is 9 bits wide from the start.
//!
//! Ports: `word`, `mask` in, `count` out. Latency 0: the user registers `count`.
use rust_hdl::prelude::*;

/// Largest number of 64-bit lanes a [`Popcount`] (and so a PE) supports.
pub const MAX_LANES: usize = 4;

/// Width of a count: up to 64·[`MAX_LANES`] = 256 ones.
pub const COUNT_BITS: usize = 9;

/// Popcount of one 64-bit lane: a six-level balanced adder tree.
#[derive(LogicBlock)]
pub struct Popcount64 {
    /// The word whose ones are counted where `mask` has ones.
    pub word: Signal<In, Bits<64>>,
    /// The mask ANDed with `word`.
    pub mask: Signal<In, Bits<64>>,
    /// Number of ones in `word & mask`, 0..=64.
    pub count: Signal<Out, Bits<COUNT_BITS>>,
    one: Constant<Bits<COUNT_BITS>>,
    // Adder tree levels: sums of 2, 4, 8, 16 and 32 bits.
    sum2: Vec<Signal<Local, Bits<COUNT_BITS>>>,
    sum4: Vec<Signal<Local, Bits<COUNT_BITS>>>,
    sum8: Vec<Signal<Local, Bits<COUNT_BITS>>>,
    sum16: Vec<Signal<Local, Bits<COUNT_BITS>>>,
    sum32: Vec<Signal<Local, Bits<COUNT_BITS>>>,
}

impl Default for Popcount64 {
    fn default() -> Self {
        let level = |n: usize| (0..n).map(|_| Default::default()).collect();
        Popcount64 {
            word: Default::default(),
            mask: Default::default(),
            count: Default::default(),
            one: Constant::new(1.into()),
            sum2: level(32),
            sum4: level(16),
            sum8: level(8),
            sum16: level(4),
            sum32: level(2),
        }
    }
}

impl Logic for Popcount64 {
    #[hdl_gen]
    fn update(&mut self) {
        // Bits 0..56: a 9-bit slice starting at the bit, masked to bit 0.
        for i in 0..28 {
            self.sum2[i].next = ((self.word.val().get_bits::<COUNT_BITS>(2 * i)
                & self.mask.val().get_bits::<COUNT_BITS>(2 * i))
                & self.one.val())
                + ((self.word.val().get_bits::<COUNT_BITS>(2 * i + 1)
                    & self.mask.val().get_bits::<COUNT_BITS>(2 * i + 1))
                    & self.one.val());
        }
        // Bits 56..64: a 9-bit slice ending at the bit, shifted down.
        for i in 28..32 {
            self.sum2[i].next = ((self.word.val().get_bits::<COUNT_BITS>(2 * i - 8)
                & self.mask.val().get_bits::<COUNT_BITS>(2 * i - 8))
                >> 8)
                + ((self.word.val().get_bits::<COUNT_BITS>(2 * i - 7)
                    & self.mask.val().get_bits::<COUNT_BITS>(2 * i - 7))
                    >> 8);
        }
        for i in 0..16 {
            self.sum4[i].next = self.sum2[2 * i].val() + self.sum2[2 * i + 1].val();
        }
        for i in 0..8 {
            self.sum8[i].next = self.sum4[2 * i].val() + self.sum4[2 * i + 1].val();
        }
        for i in 0..4 {
            self.sum16[i].next = self.sum8[2 * i].val() + self.sum8[2 * i + 1].val();
        }
        for i in 0..2 {
            self.sum32[i].next = self.sum16[2 * i].val() + self.sum16[2 * i + 1].val();
        }
        self.count.next = self.sum32[0].val() + self.sum32[1].val();
    }
}

/// Popcount of a `W`-bit word, `W` = 64·lanes with 1 ≤ lanes ≤ [`MAX_LANES`].
#[derive(LogicBlock)]
pub struct Popcount<const W: usize> {
    /// The word whose ones are counted where `mask` has ones.
    pub word: Signal<In, Bits<W>>,
    /// The mask ANDed with `word` (`word` itself for a plain popcount).
    pub mask: Signal<In, Bits<W>>,
    /// Number of ones in `word & mask`, 0..=W.
    pub count: Signal<Out, Bits<COUNT_BITS>>,
    lanes: Vec<Popcount64>,
    // Running sum of the lane counts: `partial[l]` = lanes 0..=l.
    partial: Vec<Signal<Local, Bits<COUNT_BITS>>>,
}

impl<const W: usize> Default for Popcount<W> {
    fn default() -> Self {
        assert!(
            W.is_multiple_of(64) && (1..=MAX_LANES).contains(&(W / 64)),
            "popcount width {W} is not 64·lanes with lanes in 1..={MAX_LANES}"
        );
        let lanes = W / 64;
        Popcount {
            word: Default::default(),
            mask: Default::default(),
            count: Default::default(),
            lanes: (0..lanes).map(|_| Default::default()).collect(),
            partial: (0..lanes).map(|_| Default::default()).collect(),
        }
    }
}

impl<const W: usize> Logic for Popcount<W> {
    #[hdl_gen]
    fn update(&mut self) {
        for l in 0..self.lanes.len() {
            self.lanes[l].word.next = self.word.val().get_bits::<64>(64 * l);
            self.lanes[l].mask.next = self.mask.val().get_bits::<64>(64 * l);
        }
        self.partial[0].next = self.lanes[0].count.val();
        for l in 1..self.lanes.len() {
            self.partial[l].next = self.partial[l - 1].val() + self.lanes[l].count.val();
        }
        // One-iteration loop binding the last index (see `skew::Delay`).
        for last in (self.lanes.len() - 1)..self.lanes.len() {
            self.count.next = self.partial[last].val();
        }
    }
}

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
//! Structure: each 64-bit lane is a compressor tree written as Verilog by
//! [`compressor_tree`] (the block's `hdl`): the ANDed bits in groups of three
//! (`sum = a ^ b ^ c` of weight 1 and `carry = maj(a, b, c)` of weight 2, each
//! one 6-input LUT over the three (word, mask) pairs), then rounds of
//! counters of up to six bits of one weight (a `k`-bit count of weight
//! `2^j` feeds the columns `j..`) until every weight has at most two bits, and
//! one final carry-propagate add of the two rows. yosys 0.23 `synth_xilinx`
//! maps one lane to 94 LUTs and 15 CARRY4, longest path 15 cells, against
//! 173 LUTs and 17 for the balanced adder tree of pairs it replaces (it was
//! a third of every PE; `hdl/tests/size.rs` checks the figure). rust-hdl's
//! simulator runs the block's `update`, a plain `count_ones`, so the tests
//! that co-simulate the generated Verilog (Icarus here, Verilator in `sim/`)
//! are what check the tree: `hdl/tests/popcount.rs` runs it on random and
//! edge words.
//!
//! The lanes' counts are added in a chain (at most [`MAX_LANES`] lanes, so at
//! most three more adders), [`COUNT_BITS`] wide.
//!
//! Ports: `word`, `mask` in, `count` out. Latency 0: the user registers `count`.
use rust_hdl::prelude::*;
use std::fmt::Write as _;

/// Largest number of 64-bit lanes a [`Popcount`] (and so a PE) supports.
pub const MAX_LANES: usize = 4;

/// Width of a count: up to 64·[`MAX_LANES`] = 256 ones.
pub const COUNT_BITS: usize = 9;

/// Widest counter of the compressor tree (a 6:3 counter: each output bit is
/// one 6-input LUT).
const MAX_COUNTER: usize = 6;

/// The body of [`Popcount64`]'s Verilog: `count = popcount(word & mask)` as
/// a compressor tree (see the module documentation).
pub fn compressor_tree() -> String {
    let mut v = String::from("wire [63:0] x = word & mask;\n");
    // cols[j]: the bits of weight 2^j still to be added.
    let mut cols: Vec<Vec<String>> = vec![vec![]; COUNT_BITS];
    let mut wires = 0usize;
    let mut wire = || {
        wires += 1;
        format!("c{wires}")
    };
    for g in 0..21 {
        let (a, b, c) = (3 * g, 3 * g + 1, 3 * g + 2);
        let (sum, carry) = (wire(), wire());
        writeln!(v, "wire {sum} = x[{a}] ^ x[{b}] ^ x[{c}];").unwrap();
        writeln!(v, "wire {carry} = (x[{a}] & x[{b}]) | (x[{a}] & x[{c}]) | (x[{b}] & x[{c}]);").unwrap();
        cols[0].push(sum);
        cols[1].push(carry);
    }
    cols[0].push("x[63]".into());
    while cols.iter().any(|c| c.len() > 2) {
        let mut next: Vec<Vec<String>> = vec![vec![]; COUNT_BITS];
        for (j, bits) in cols.iter().enumerate() {
            let mut rest: &[String] = bits;
            while rest.len() > 2 {
                let k = rest.len().min(MAX_COUNTER);
                let (group, tail) = rest.split_at(k);
                rest = tail;
                let outs = (usize::BITS - k.leading_zeros()) as usize;
                let t = wire();
                let terms: Vec<String> = group.iter().map(|b| format!("{{{}'d0, {b}}}", outs - 1)).collect();
                writeln!(v, "wire [{}:0] {t} = {};", outs - 1, terms.join(" + ")).unwrap();
                for o in 0..outs {
                    assert!(j + o < COUNT_BITS, "compressor column {} beyond the count width", j + o);
                    next[j + o].push(format!("{t}[{o}]"));
                }
            }
            next[j].extend(rest.iter().cloned());
        }
        cols = next;
    }
    let row = |r: usize| -> String {
        let bits: Vec<String> =
            (0..COUNT_BITS).rev().map(|j| cols[j].get(r).cloned().unwrap_or_else(|| "1'b0".into())).collect();
        format!("{{{}}}", bits.join(", "))
    };
    writeln!(v, "always @(*) count = {} + {};", row(0), row(1)).unwrap();
    v
}

/// Popcount of one 64-bit lane: a compressor tree (see the module docs).
#[derive(LogicBlock, Default)]
pub struct Popcount64 {
    /// The word whose ones are counted where `mask` has ones.
    pub word: Signal<In, Bits<64>>,
    /// The mask ANDed with `word`.
    pub mask: Signal<In, Bits<64>>,
    /// Number of ones in `word & mask`, 0..=64.
    pub count: Signal<Out, Bits<COUNT_BITS>>,
}

impl Logic for Popcount64 {
    fn update(&mut self) {
        let ones = (self.word.val() & self.mask.val()).to_u64().count_ones();
        self.count.next = u64::from(ones).into();
    }

    fn connect(&mut self) {
        self.count.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(compressor_tree())
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

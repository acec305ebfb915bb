//! `SystolicArray`: the output-stationary grid of [`Pe`]s with its edge skew
//! and deskew lines.
//!
//! Role: computes a tile of `rows` output channels × `cols` output pixels.
//! Row `r` ↔ output channel `r` of the tile, column `c` ↔ output pixel `c`.
//! A tile is a sequence of `K` steps; a step pairs, for every row, one weight
//! plane word (64·lanes channels of plane `q` of that row's output channel)
//! with, for every column, one activation plane word (the same channels, plane
//! `p`, of that column's pixel), and one control word for all
//! ([`StepControl`]). Implements `isa::precision`'s plane identity over the
//! `isa::layout` words, sized by `isa::ArrayConfig` (`rows`, `cols`, `lanes`,
//! `acc_bits`).
//!
//! # Ports (one unskewed step per cycle)
//! - `clock`, `reset` (synchronous; clears every valid bit: the skewed
//!   control, the PEs' pipelines and drain chains, the output valids).
//! - `w_in[r]`: weight word of row `r`; `a_in[c]`: activation word of column
//!   `c`; `ctl_in`: the step's control, [`StepControl::to_bits`].
//! - `out_data[c]`, `out_valid[c]`: drained results, one per column per cycle.
//!   After deskewing every column presents the same row in the same cycle, so
//!   the `out_valid` bits are equal; there is one per column so that no column's
//!   valid chain is left unread.
//!
//! # Inside
//! - Skew: `w_in[r]` passes `r + 1` registers, `a_in[c]` and its popcount
//!   (computed once per column, for binary weights) `c + 1` registers; the
//!   control passes one tapped chain (column `c` taps stage `c`). A step
//!   sampled from the ports at edge `k` is sampled by PE(r, c) at edge
//!   `k + r + c + 1`: every PE meets its row's weight word and its column's
//!   activation word of the same step.
//! - Between PEs: weights move east, activations, their popcount and the
//!   control move south, one register per hop (owned here, so that edge PEs
//!   have no unused outputs).
//! - Drain: each column's PEs form a chain of two registers per PE (see
//!   [`crate::pe`]); the bottom PE's chain output goes through a deskew line of
//!   `cols − c` registers.
//!
//! # Latency and drain order (checked cycle by cycle by `hdl/tests/array.rs`)
//! Count clock edges: edge `e` samples the inputs presented in the cycle
//! before it. If the tile's last step is sampled at edge `L`, its results are
//! on the outputs right after edge `L + drain_latency() + j` for
//! `j = 0..rows` (`drain_latency() = rows + cols + 2`): row `rows − 1 − j`, i.e.
//! the bottom row first, then upward, one row per cycle, every column in the
//! same cycle, `out_valid` high for exactly those `rows` cycles. (A consumer
//! registering the outputs samples row `rows − 1 − j` at edge
//! `L + drain_latency() + 1 + j`.) The count, for row `r` of column `c`: the
//! value passes `r + 1` skew registers (the first samples at edge `L`), `c`
//! links, the PE's 2 stages and its `pass` register, 2 registers per row below
//! and `cols − c` deskew registers: `2·rows + cols + 3 − r` registers, so
//! `2·rows + cols + 2 − r` edges after `L`.
//!
//! # Throughput
//! One step per cycle, every PE busy on every valid step: a tile costs `K`
//! cycles, `K = taps × ⌈groups / lanes⌉ × A × W`, and its drain overlaps the
//! next tile's accumulation completely. Peak: `rows·cols·lanes·64` one-bit
//! multiply-accumulates per cycle (`ArrayConfig::peak_bit_macs_per_cycle`),
//! i.e. that divided by `A × W` multiply-accumulates of `A`-bit codes by
//! `W`-bit weights.
//!
//! # Sequencing contract (what the controller must do)
//! 1. Present one step per cycle on `w_in`, `a_in`, `ctl_in`, or a bubble
//!    (`ctl_in` = [`StepControl::IDLE`]; the words are then ignored). Bubbles
//!    may appear anywhere, inside a tile too (memory stalls).
//! 2. A step of a tile with `A`-bit codes and `W`-bit weights is one tap
//!    `(ky, kx)`, one channel word (`lanes` consecutive 64-channel groups,
//!    lane `l` in bits `64l..64l+64`), one activation plane `p` and one weight
//!    plane `q`: `w_in[r]` = plane `q` of those channels of output channel
//!    `r` at that tap, `a_in[c]` = plane `p` of those channels of the input
//!    pixel that tap reads for output pixel `c`, `ctl_in` =
//!    the control of that step in [`StepControl::sequence`]`(A, W, n)` over
//!    the tile's `n` (tap, word) pairs. Every (tap, word, p, q) once, ordered by
//!    plane level `s = p + q` descending (Horner's scheme, [`crate::pe`]):
//!    `double` on the first step of each level after the first, no level
//!    empty; within a level any order (the helper: pairs, then `p`; the tests
//!    number pairs taps then words).
//! 3. `first` on the tile's first step, `last` on its last (both on a one-step
//!    tile), as `sequence` sets them. Each tile may use other widths than the
//!    previous one.
//! 4. Padding is zero activation words: channels past `cin`, groups past the
//!    last, taps outside the (upsampled, padded) input. Their weight words may
//!    hold anything (for binary weights too: the `popcount(a)` correction
//!    counts only activation ones). Rows past `cout` and columns past the
//!    last output pixel compute values the consumer drops.
//! 5. Consecutive `last` steps at least [`SystolicArray::min_tile_cycles`]
//!    (`rows`) cycles apart: a tile of `K < rows` steps is followed by
//!    `rows − K` bubbles (or its steps are spread). Closer tiles collide in the
//!    drain chains and results are lost; nothing detects it.
//! 6. Accept one result row per cycle when `out_valid` is high (no
//!    back-pressure): bottom row first, `drain_latency()` edges after the last
//!    step (above).
//! 7. `reset` for one cycle discards every step and result in flight; the
//!    next step must then carry `first`.
use rust_hdl::prelude::*;
use zynqflow_isa::ArrayConfig;

use crate::pe::{Pe, StepControl, ACC_BITS, CTL_BITS};
use crate::popcount::{Popcount, COUNT_BITS, MAX_LANES};
use crate::skew::Delay;

/// Largest number of rows or columns a generated array may have.
pub const MAX_SIDE: usize = 64;

/// The PE grid, its skew lines and its drain; `W` = 64·lanes bits per word.
#[derive(LogicBlock)]
pub struct SystolicArray<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (valid bits only).
    pub reset: Signal<In, Bit>,
    /// Weight plane word of each row for this step.
    pub w_in: Vec<Signal<In, Bits<W>>>,
    /// Activation plane word of each column for this step.
    pub a_in: Vec<Signal<In, Bits<W>>>,
    /// Control of this step ([`StepControl::to_bits`]).
    pub ctl_in: Signal<In, Bits<CTL_BITS>>,
    /// Drained result of each column.
    pub out_data: Vec<Signal<Out, Bits<ACC_BITS>>>,
    /// `out_data[c]` holds a result (the same for every column).
    pub out_valid: Vec<Signal<Out, Bit>>,
    // Edge skew.
    w_skew: Vec<Delay<Bits<W>>>,
    a_skew: Vec<Delay<Bits<W>>>,
    pa_skew: Vec<Delay<Bits<COUNT_BITS>>>,
    ctl_skew: Vec<DFF<Bits<CTL_BITS>>>,
    heads: Vec<Popcount<W>>,
    // The grid, row-major: PE(r, c) is `pes[r * cols + c]`.
    pes: Vec<Pe<W>>,
    // East links, `rows × (cols − 1)`: `w_link[r * (cols − 1) + c]` feeds PE(r, c + 1).
    w_link: Vec<DFF<Bits<W>>>,
    // South links, `(rows − 1) × cols`: `*_link[r * cols + c]` feed PE(r + 1, c).
    a_link: Vec<DFF<Bits<W>>>,
    pa_link: Vec<DFF<Bits<COUNT_BITS>>>,
    ctl_link: Vec<DFF<Bits<CTL_BITS>>>,
    // What each PE sees, row-major (wires).
    w_at: Vec<Signal<Local, Bits<W>>>,
    a_at: Vec<Signal<Local, Bits<W>>>,
    pa_at: Vec<Signal<Local, Bits<COUNT_BITS>>>,
    ctl_at: Vec<Signal<Local, Bits<CTL_BITS>>>,
    // Output deskew.
    out_skew: Vec<Delay<Bits<ACC_BITS>>>,
    valid_skew: Vec<Delay<Bit>>,
    zero: Constant<Bits<ACC_BITS>>,
    idle: Constant<Bits<CTL_BITS>>,
    _rows: usize,
    _cols: usize,
}

fn many<T: Default>(n: usize) -> Vec<T> {
    (0..n).map(|_| T::default()).collect()
}

impl<const W: usize> SystolicArray<W> {
    /// The array of an accelerator configuration; `W` must be `64·config.lanes`
    /// ([`crate::array_verilog`] picks it at run time).
    pub fn new(config: &ArrayConfig) -> Self {
        Self::with_shape(config.rows.into(), config.cols.into(), config.lanes.into(), config.acc_bits.into())
    }

    /// An array of `rows × cols` PEs of `lanes` words and `acc_bits` bits.
    pub fn with_shape(rows: usize, cols: usize, lanes: usize, acc_bits: usize) -> Self {
        assert!((1..=MAX_SIDE).contains(&rows), "rows {rows} outside 1..={MAX_SIDE}");
        assert!((1..=MAX_SIDE).contains(&cols), "cols {cols} outside 1..={MAX_SIDE}");
        assert!((1..=MAX_LANES).contains(&lanes), "lanes {lanes} outside 1..={MAX_LANES}");
        assert_eq!(W, 64 * lanes, "word width {W} is not 64·lanes for {lanes} lanes");
        assert_eq!(acc_bits, ACC_BITS, "only {ACC_BITS}-bit accumulators are implemented");
        let n = rows * cols;
        SystolicArray {
            clock: Default::default(),
            reset: Default::default(),
            w_in: many(rows),
            a_in: many(cols),
            ctl_in: Default::default(),
            out_data: many(cols),
            out_valid: many(cols),
            w_skew: (0..rows).map(|r| Delay::new(r + 1, false)).collect(),
            a_skew: (0..cols).map(|c| Delay::new(c + 1, false)).collect(),
            pa_skew: (0..cols).map(|c| Delay::new(c + 1, false)).collect(),
            ctl_skew: many(cols),
            heads: many(cols),
            pes: (0..n).map(|_| Pe::new(lanes, acc_bits)).collect(),
            w_link: many(rows * (cols - 1)),
            a_link: many((rows - 1) * cols),
            pa_link: many((rows - 1) * cols),
            ctl_link: many((rows - 1) * cols),
            w_at: many(n),
            a_at: many(n),
            pa_at: many(n),
            ctl_at: many(n),
            out_skew: (0..cols).map(|c| Delay::new(cols - c, false)).collect(),
            valid_skew: (0..cols).map(|c| Delay::new(cols - c, true)).collect(),
            zero: Constant::new(0.into()),
            idle: Constant::new(StepControl::IDLE.to_bits()),
            _rows: rows,
            _cols: cols,
        }
    }

    /// PE rows (output channels per tile).
    pub fn rows(&self) -> usize {
        self._rows
    }

    /// PE columns (output pixels per tile).
    pub fn cols(&self) -> usize {
        self._cols
    }

    /// Cycles from a tile's last step on the ports to its first result (the
    /// bottom row's) on the outputs; row `rows − 1 − j` follows `j` cycles later.
    pub fn drain_latency(&self) -> usize {
        self._rows + self._cols + 2
    }

    /// Fewest cycles between the `last` steps of consecutive tiles.
    pub fn min_tile_cycles(&self) -> usize {
        self._rows
    }
}

impl<const W: usize> Logic for SystolicArray<W> {
    #[hdl_gen]
    fn update(&mut self) {
        // Clocks and resets.
        for r in 0..self._rows {
            self.w_skew[r].clock.next = self.clock.val();
            self.w_skew[r].reset.next = self.reset.val();
        }
        for c in 0..self._cols {
            self.a_skew[c].clock.next = self.clock.val();
            self.a_skew[c].reset.next = self.reset.val();
            self.pa_skew[c].clock.next = self.clock.val();
            self.pa_skew[c].reset.next = self.reset.val();
            self.ctl_skew[c].clock.next = self.clock.val();
            self.out_skew[c].clock.next = self.clock.val();
            self.out_skew[c].reset.next = self.reset.val();
            self.valid_skew[c].clock.next = self.clock.val();
            self.valid_skew[c].reset.next = self.reset.val();
        }
        for i in 0..self.pes.len() {
            self.pes[i].clock.next = self.clock.val();
            self.pes[i].reset.next = self.reset.val();
        }
        for i in 0..self.w_link.len() {
            self.w_link[i].clock.next = self.clock.val();
        }
        for i in 0..self.a_link.len() {
            self.a_link[i].clock.next = self.clock.val();
            self.pa_link[i].clock.next = self.clock.val();
            self.ctl_link[i].clock.next = self.clock.val();
        }

        // West and north edges: skew lines; popcount(a) once per column.
        for r in 0..self._rows {
            self.w_skew[r].data_in.next = self.w_in[r].val();
        }
        for c in 0..self._cols {
            self.heads[c].word.next = self.a_in[c].val();
            self.heads[c].mask.next = self.a_in[c].val();
            self.a_skew[c].data_in.next = self.a_in[c].val();
            self.pa_skew[c].data_in.next = self.heads[c].count.val();
        }
        self.ctl_skew[0].d.next = self.ctl_in.val();
        for c in 1..self._cols {
            self.ctl_skew[c].d.next = self.ctl_skew[c - 1].q.val();
        }
        if self.reset.val() {
            for c in 0..self._cols {
                self.ctl_skew[c].d.next = self.idle.val();
            }
        }

        // One-iteration loop binding `cols` (and below `bottom`) as loop
        // variables: rust-hdl's Verilog generator evaluates an index only from
        // loop variables, and the grid is indexed `r * cols + c`.
        for cols in self._cols..(self._cols + 1) {
            // What each PE sees: the edge lines on the first row/column,
            // the neighbour's link register elsewhere.
            for r in 0..self._rows {
                self.w_at[r * cols].next = self.w_skew[r].data_out.val();
                for c in 1..self._cols {
                    self.w_at[r * cols + c].next = self.w_link[r * (cols - 1) + c - 1].q.val();
                }
            }
            for c in 0..self._cols {
                self.a_at[c].next = self.a_skew[c].data_out.val();
                self.pa_at[c].next = self.pa_skew[c].data_out.val();
                self.ctl_at[c].next = self.ctl_skew[c].q.val();
            }
            for r in 1..self._rows {
                for c in 0..self._cols {
                    self.a_at[r * cols + c].next = self.a_link[(r - 1) * cols + c].q.val();
                    self.pa_at[r * cols + c].next = self.pa_link[(r - 1) * cols + c].q.val();
                    self.ctl_at[r * cols + c].next = self.ctl_link[(r - 1) * cols + c].q.val();
                }
            }
            // The links register what their PE sees, for the next PE.
            for r in 0..self._rows {
                for c in 0..(self._cols - 1) {
                    self.w_link[r * (cols - 1) + c].d.next = self.w_at[r * cols + c].val();
                }
            }
            for r in 0..(self._rows - 1) {
                for c in 0..self._cols {
                    self.a_link[r * cols + c].d.next = self.a_at[r * cols + c].val();
                    self.pa_link[r * cols + c].d.next = self.pa_at[r * cols + c].val();
                    self.ctl_link[r * cols + c].d.next = self.ctl_at[r * cols + c].val();
                }
            }
            for i in 0..self.pes.len() {
                self.pes[i].w_in.next = self.w_at[i].val();
                self.pes[i].a_in.next = self.a_at[i].val();
                self.pes[i].pa_in.next = self.pa_at[i].val();
                self.pes[i].ctl_in.next = self.ctl_at[i].val();
            }
            // Drain chains: top row starts empty, each PE feeds the one below.
            for c in 0..self._cols {
                self.pes[c].drain_in.next = self.zero.val();
                self.pes[c].drain_in_valid.next = false;
            }
            for r in 1..self._rows {
                for c in 0..self._cols {
                    self.pes[r * cols + c].drain_in.next = self.pes[(r - 1) * cols + c].drain_out.val();
                    self.pes[r * cols + c].drain_in_valid.next = self.pes[(r - 1) * cols + c].drain_out_valid.val();
                }
            }
            for bottom in (self._rows - 1)..self._rows {
                for c in 0..self._cols {
                    self.out_skew[c].data_in.next = self.pes[bottom * cols + c].drain_out.val();
                    self.valid_skew[c].data_in.next = self.pes[bottom * cols + c].drain_out_valid.val();
                }
            }
        }
        if self.reset.val() {
            for i in 0..self.ctl_link.len() {
                self.ctl_link[i].d.next = self.idle.val();
            }
        }
        for c in 0..self._cols {
            self.out_data[c].next = self.out_skew[c].data_out.val();
            self.out_valid[c].next = self.valid_skew[c].data_out.val();
        }
    }
}

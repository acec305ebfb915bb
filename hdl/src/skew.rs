//! `Delay<T>`: a chain of `depth` registers — the skew and deskew lines at the
//! edges of the systolic array.
//!
//! Role: row `r` of the array receives its weight words `r + 1` cycles after
//! they reach the array's ports, column `c` its activation words `c + 1`
//! cycles after, and the drained results of column `c` are delayed by
//! `cols − c` cycles so that every column presents the same output row in the
//! same cycle. The extra cycle registers the array's inputs and outputs.
//!
//! Ports: `clock`, `reset` (synchronous), `data_in`, `data_out`.
//! Latency: exactly `depth` cycles (`depth ≥ 1`); throughput one value per
//! cycle. With `clear_on_reset`, `reset` clears every stage (for valid bits);
//! without it the stages hold data only and have no reset, so that synthesis
//! can map a long line to shift-register LUTs (SRL) on Xilinx parts.
use rust_hdl::prelude::*;

/// A `depth`-cycle delay line.
#[derive(LogicBlock)]
pub struct Delay<T: Synth> {
    /// Clock of every stage.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset; only acts when the line was built with `clear_on_reset`.
    pub reset: Signal<In, Bit>,
    /// Value entering the line.
    pub data_in: Signal<In, T>,
    /// `data_in` of `depth` cycles ago.
    pub data_out: Signal<Out, T>,
    stages: Vec<DFF<T>>,
    clears: Constant<Bit>,
    cleared: Constant<T>,
}

impl<T: Synth> Delay<T> {
    /// A line of `depth` registers (`depth ≥ 1`); `clear_on_reset` makes
    /// `reset` load `T::default()` into every stage.
    pub fn new(depth: usize, clear_on_reset: bool) -> Self {
        assert!(depth >= 1, "a delay line needs at least one register");
        Delay {
            clock: Default::default(),
            reset: Default::default(),
            data_in: Default::default(),
            data_out: Default::default(),
            stages: (0..depth).map(|_| Default::default()).collect(),
            clears: Constant::new(clear_on_reset),
            cleared: Constant::new(T::default()),
        }
    }

    /// Number of registers.
    pub fn depth(&self) -> usize {
        self.stages.len()
    }
}

impl<T: Synth> Logic for Delay<T> {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..self.stages.len() {
            self.stages[i].clock.next = self.clock.val();
        }
        self.stages[0].d.next = self.data_in.val();
        for i in 1..self.stages.len() {
            self.stages[i].d.next = self.stages[i - 1].q.val();
        }
        if self.clears.val() & self.reset.val() {
            for i in 0..self.stages.len() {
                self.stages[i].d.next = self.cleared.val();
            }
        }
        // One-iteration loop: rust-hdl's Verilog generator can only evaluate
        // an index made of loop variables, so the last index is bound as one.
        for last in (self.stages.len() - 1)..self.stages.len() {
            self.data_out.next = self.stages[last].q.val();
        }
    }
}

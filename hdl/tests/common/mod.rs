//! Shared test tools: a cycle driver for rust-hdl blocks and per-cycle vector logs that replay on the generated Verilog
//! with Icarus Verilog.
#![allow(dead_code)] // each test binary uses part of this module

use std::fmt::Write as _;
use std::path::Path;

use rust_hdl::prelude::*;
use zynqflow_hdl::array::SystolicArray;
use zynqflow_hdl::pe::Pe;
use zynqflow_hdl::skew::Delay;
use zynqflow_hdl::verilog_check;

/// A block with a `clock` input.
pub trait Clocked: Block {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock>;
}

impl<const W: usize> Clocked for Pe<W> {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

impl<T: Synth> Clocked for Delay<T> {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

impl<const W: usize> Clocked for SystolicArray<W> {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

/// Drives a block cycle by cycle with rust-hdl's own evaluation (the same
/// `update_all`-until-stable loop as `rust_hdl::Simulation`, without its
/// testbench threads).
pub struct Driver<T: Clocked> {
    pub uut: T,
}

impl<T: Clocked> Driver<T> {
    /// Connects and checks the block (`check_all`: undriven signals, logic
    /// loops, written inputs), clock low.
    pub fn new(mut uut: T) -> Self {
        uut.connect_all();
        check_all(&uut).expect("rust-hdl checks");
        uut.clock_signal().next = Clock { clk: false };
        let mut d = Driver { uut };
        d.settle();
        d
    }

    /// Evaluates the block until its signals are stable (no clock edge).
    pub fn settle(&mut self) {
        for _ in 0..200 {
            self.uut.update_all();
            if !self.uut.has_changed() {
                return;
            }
        }
        panic!("rust-hdl simulation did not converge");
    }

    /// Settles the inputs set since the last call, then one rising and one
    /// falling clock edge; registered outputs then show the new state.
    pub fn tick(&mut self) {
        self.settle();
        self.uut.clock_signal().next = Clock { clk: true };
        self.settle();
        self.uut.clock_signal().next = Clock { clk: false };
        self.settle();
    }
}

/// A `W`-bit word from 64-bit lanes, lane 0 in the low bits.
pub fn word<const W: usize>(lanes: &[u64]) -> Bits<W> {
    assert_eq!(lanes.len() * 64, W);
    let mut b = Bits::<W>::default();
    for (l, v) in lanes.iter().enumerate() {
        b.set_bits::<64>(64 * l, (*v).into());
    }
    b
}

/// The 32-bit pattern of a signed result.
pub fn to_u32(v: i64) -> u32 {
    assert!(i64::from(i32::MIN) <= v && v <= i64::from(i32::MAX), "{v} overflows 32 bits");
    v as i32 as u32
}

/// A value of a port in one cycle: 64-bit lanes, low lane first.
pub type Value = Vec<u64>;

/// Per-cycle values of a block's ports: inputs applied before a rising edge,
/// outputs read after it.
#[derive(Default)]
pub struct VectorLog {
    /// (Verilog port name, width) of every input but the clock.
    pub inputs: Vec<(String, usize)>,
    /// (Verilog port name, width) of the outputs compared.
    pub outputs: Vec<(String, usize)>,
    pub input_rows: Vec<Vec<Value>>,
    pub output_rows: Vec<Vec<Value>>,
}

fn hex(v: &Value, width: usize) -> String {
    let digits = width.div_ceil(4);
    let mut s = String::new();
    for lane in v.iter().rev() {
        write!(s, "{lane:016x}").unwrap();
    }
    s[s.len() - digits..].to_string()
}

impl VectorLog {
    pub fn new(inputs: &[(&str, usize)], outputs: &[(&str, usize)]) -> Self {
        VectorLog {
            inputs: inputs.iter().map(|(n, w)| (n.to_string(), *w)).collect(),
            outputs: outputs.iter().map(|(n, w)| (n.to_string(), *w)).collect(),
            ..Default::default()
        }
    }

    pub fn record(&mut self, inputs: Vec<Value>, outputs: Vec<Value>) {
        assert_eq!(inputs.len(), self.inputs.len());
        assert_eq!(outputs.len(), self.outputs.len());
        self.input_rows.push(inputs);
        self.output_rows.push(outputs);
    }

    fn expected_lines(&self) -> Vec<String> {
        self.output_rows
            .iter()
            .map(|row| row.iter().zip(&self.outputs).map(|(v, (_, w))| hex(v, *w)).collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// A testbench for module `top` that applies the logged inputs from one
    /// `$readmemh` file per input and prints the outputs after every edge.
    fn testbench(&self) -> String {
        let n = self.input_rows.len();
        let mut tb = String::from("`timescale 1ns/1ps\nmodule tb;\n  reg clock;\n  integer i;\n  integer f;\n");
        for (k, (_, w)) in self.inputs.iter().enumerate() {
            writeln!(tb, "  reg [{}:0] in{k};\n  reg [{}:0] mem{k} [0:{}];", w - 1, w - 1, n - 1).unwrap();
        }
        for (k, (_, w)) in self.outputs.iter().enumerate() {
            writeln!(tb, "  wire [{}:0] out{k};", w - 1).unwrap();
        }
        let mut pins = vec![".clock(clock)".to_string()];
        pins.extend(self.inputs.iter().enumerate().map(|(k, (name, _))| format!(".{name}(in{k})")));
        pins.extend(self.outputs.iter().enumerate().map(|(k, (name, _))| format!(".{name}(out{k})")));
        writeln!(tb, "  top dut({});", pins.join(", ")).unwrap();
        tb.push_str("  initial begin\n    clock = 0;\n");
        for k in 0..self.inputs.len() {
            writeln!(tb, "    $readmemh(\"in{k}.hex\", mem{k});").unwrap();
        }
        tb.push_str("    f = $fopen(\"out.txt\", \"w\");\n");
        writeln!(tb, "    for (i = 0; i < {n}; i = i + 1) begin").unwrap();
        for k in 0..self.inputs.len() {
            writeln!(tb, "      in{k} = mem{k}[i];").unwrap();
        }
        let fmt = vec!["%h"; self.outputs.len()].join(" ");
        let args: Vec<String> = (0..self.outputs.len()).map(|k| format!("out{k}")).collect();
        writeln!(
            tb,
            "      #5 clock = 1;\n      #5 clock = 0;\n      #1 $fdisplay(f, \"{fmt}\", {});",
            args.join(", ")
        )
        .unwrap();
        tb.push_str("    end\n    $fclose(f);\n    $finish;\n  end\nendmodule\n");
        tb
    }

    /// Replays the logged inputs on `verilog` (top module `top`) with Icarus
    /// Verilog and asserts that every output of every cycle matches the log.
    pub fn replay_on_verilog(&self, verilog: &str, dir: &Path) {
        let files = verilog_check::write_modules(verilog, dir).expect("write Verilog");
        for (k, (_, w)) in self.inputs.iter().enumerate() {
            let text: String = self.input_rows.iter().map(|row| hex(&row[k], *w) + "\n").collect();
            std::fs::write(dir.join(format!("in{k}.hex")), text).unwrap();
        }
        let tb = dir.join("tb.v");
        std::fs::write(&tb, self.testbench()).unwrap();
        verilog_check::icarus_run(dir, &files, &tb, "tb").unwrap_or_else(|e| panic!("{e}"));
        let got = std::fs::read_to_string(dir.join("out.txt")).expect("testbench output");
        let got: Vec<&str> = got.lines().collect();
        let want = self.expected_lines();
        assert_eq!(got.len(), want.len(), "cycles simulated by Icarus");
        let names: Vec<&str> = self.outputs.iter().map(|(n, _)| n.as_str()).collect();
        for (cycle, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "cycle {cycle}: Verilog vs rust-hdl outputs ({})", names.join(" "));
        }
    }
}

//! The generated Verilog: Verilator lint, Yosys checks, and co-simulation
//! (Icarus Verilog) against the Rust simulation, cycle by cycle, on every output.

use rust_hdl::prelude::*;
use zynqflow_hdl::axil_regs::AxilRegs;
use zynqflow_hdl::verilog_check::{icarus_run, verilator_lint, write_modules, yosys_elaborate};
use zynqflow_isa::regs::*;
use zynqflow_isa::ArrayConfig;

use crate::master::{Bench, Pulse, ReadTiming, WriteTiming};
use crate::model::RW_WORDS;
use crate::ports::{IDX_INTERRUPT, IDX_START, INPUTS, OUTPUTS};
use crate::random::random_traffic;
use crate::semantics::write_with_pulse;

// ------------------------------------------------------------------------
// The generated Verilog: lint, synthesis front end, co-simulation.

fn verilog() -> String {
    let mut uut = AxilRegs::new(&ArrayConfig::pynq_z2().capabilities());
    uut.connect_all();
    generate_verilog(&uut)
}

/// The one Verilator waiver: `interrupt` is the port name Vivado infers an
/// interrupt line from (and the name the register docs use); it only clashes
/// with a C++ word inside Verilator's own generated model, which renames it.
const WAIVERS: &str = r#"`verilator_config
lint_off -rule SYMRSVDWORD -file "*top.v" -match "*'interrupt'*"
"#;

#[test]
fn generated_verilog_lints_clean_with_verilator() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_modules(&verilog(), dir.path()).unwrap();
    let waivers = dir.path().join("waivers.vlt");
    std::fs::write(&waivers, WAIVERS).unwrap();
    let waived: Vec<_> = std::iter::once(waivers).chain(files.iter().cloned()).collect();
    verilator_lint(dir.path(), &waived, "top").unwrap_or_else(|e| panic!("{e}"));
    // Without the waiver, exactly the waived warning appears (so it is not stale).
    let e = verilator_lint(dir.path(), &files, "top").expect_err("the waived warning");
    let warnings: Vec<&str> = e.0.lines().filter(|l| l.starts_with("%Warning-")).collect();
    assert_eq!(warnings.len(), 1, "{e}");
    assert!(warnings[0].starts_with("%Warning-SYMRSVDWORD") && warnings[0].contains("'interrupt'"), "{e}");
}

#[test]
fn generated_verilog_passes_yosys_checks() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_modules(&verilog(), dir.path()).unwrap();
    yosys_elaborate(dir.path(), &files, "top").unwrap_or_else(|e| panic!("{e}"));
    // And rust-hdl's own check.
    yosys_validate("zynqflow_axil_regs", &verilog()).expect("yosys_validate");
}

/// Hex digits of a field of `bits` bits, as Verilog's `%h` prints it.
fn hex(v: u64, bits: usize) -> String {
    format!("{:0w$x}", v, w = bits.div_ceil(4))
}

/// The inputs of one cycle as one hex word, first input in the top bits.
fn packed(ins: &[u64]) -> String {
    let mut bits = vec![];
    for (&(_, w), &v) in INPUTS.iter().zip(ins) {
        bits.extend((0..w).rev().map(|i| v >> i & 1 == 1));
    }
    while bits.len() % 4 != 0 {
        bits.insert(0, false);
    }
    bits.chunks(4).map(|c| format!("{:x}", c.iter().fold(0, |a, &b| a << 1 | b as u8))).collect()
}

fn testbench(cycles: usize) -> String {
    let width: usize = INPUTS.iter().map(|p| p.1).sum();
    let decl = |(name, w): &(&str, usize)| {
        if *w == 1 {
            format!("    wire {name};\n")
        } else {
            format!("    wire [{}:0] {name};\n", w - 1)
        }
    };
    let mut s = String::from("`timescale 1ns/1ps\nmodule tb;\n    reg clock = 0;\n");
    s += &format!(
        "    reg [{}:0] stim [0:{}];\n    reg [{}:0] now;\n    integer i;\n",
        width - 1,
        cycles - 1,
        width - 1
    );
    for p in INPUTS.iter().chain(OUTPUTS) {
        s += &decl(p);
    }
    let names = |ps: &[(&str, usize)]| ps.iter().map(|p| p.0).collect::<Vec<_>>().join(", ");
    s += &format!("    assign {{{}}} = now;\n", names(INPUTS));
    let conns: Vec<String> = std::iter::once("clock")
        .chain(INPUTS.iter().chain(OUTPUTS).map(|p| p.0))
        .map(|n| format!(".{n}({n})"))
        .collect();
    s += &format!("    top dut({});\n", conns.join(", "));
    let fmt = vec!["%h"; OUTPUTS.len()].join(" ");
    s += &format!(
        "    initial begin\n        $readmemh(\"stim.hex\", stim);\n        for (i = 0; i < {cycles}; i = i + 1) begin\n            now = stim[i];\n            #1 $display(\"{fmt}\", {});\n            #4 clock = 1;\n            #5 clock = 0;\n        end\n        $finish;\n    end\nendmodule\n",
        names(OUTPUTS)
    );
    s
}

#[test]
fn generated_verilog_cosimulates_cycle_for_cycle_with_the_rust_simulation() {
    let v = verilog();
    // The testbench drives every port the generated module has.
    let header = v.lines().find(|l| l.starts_with("module top(")).unwrap();
    let mut ports: Vec<&str> = header["module top(".len()..header.len() - 2].split(',').collect();
    let mut ours: Vec<&str> = std::iter::once("clock").chain(INPUTS.iter().chain(OUTPUTS).map(|p| p.0)).collect();
    ports.sort_unstable();
    ours.sort_unstable();
    assert_eq!(ports, ours);

    // The same capabilities as `verilog()`, directed sequences, then random traffic.
    let mut b = Bench::new(ArrayConfig::pynq_z2().capabilities());
    for r in REGISTERS {
        b.read(r.offset);
    }
    b.core.perf = [0xffff_fffe, 0x1_ffff_fff0, 5];
    b.core.perf_step = [1, 7, 64];
    for (off, v) in RW_WORDS.iter().zip([0x1000_0000, 3, 0x1000_0000, 0x40_0000]) {
        b.write_op(*off, v, 0xf, WriteTiming { aw: 1, w: 0, b: 2 });
    }
    b.write_strb(CMD_BASE, 0xabcd_ef01, 0b0110);
    b.write(IRQ_ENABLE, IRQ_ENABLE_BIT);
    b.write(CTRL, CTRL_START);
    b.core.busy = true;
    b.write(CTRL, CTRL_START);
    b.pulse(Pulse::Error { code: 9, index: 77 });
    b.core.busy = false;
    for off in [STATUS, ERROR_CODE, ERROR_INDEX, PERF_BUSY_LO, PERF_BUSY_HI, PERF_STALL_LO, PERF_STALL_HI] {
        b.read_op(off, ReadTiming { ar: 2, r: 3 });
    }
    write_with_pulse(&mut b, STATUS, STATUS_ERROR, Pulse::Done);
    b.write(CTRL, CTRL_START | CTRL_SOFT_RESET);
    // Random traffic from reset (where the model starts).
    b.uut.reset.next = true;
    b.idle(2);
    b.uut.reset.next = false;
    b.idle(1);
    random_traffic(&mut b, 99, 900);
    assert!(b.trace.len() > 4000, "{} cycles", b.trace.len());
    assert!(b.trace.iter().any(|(_, o)| o[IDX_START] == 1) && b.trace.iter().any(|(_, o)| o[IDX_INTERRUPT] == 1));

    let dir = tempfile::tempdir().unwrap();
    let files = write_modules(&v, dir.path()).unwrap();
    let tb = dir.path().join("tb.v");
    std::fs::write(&tb, testbench(b.trace.len())).unwrap();
    let stim: String = b.trace.iter().map(|(i, _)| packed(i) + "\n").collect();
    std::fs::write(dir.path().join("stim.hex"), stim).unwrap();
    let text = icarus_run(dir.path(), &files, &tb, "tb").unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<&str> = text.lines().filter(|l| !l.is_empty() && !l.contains("$finish")).collect();
    assert_eq!(got.len(), b.trace.len(), "Verilog printed {} cycles:\n{}", got.len(), &text[..text.len().min(2000)]);
    for (c, ((ins, outs), line)) in b.trace.iter().zip(&got).enumerate() {
        let want: Vec<String> = OUTPUTS.iter().zip(outs).map(|(&(_, w), &v)| hex(v, w)).collect();
        let want = want.join(" ");
        if want != *line {
            let names: Vec<&str> = OUTPUTS.iter().map(|p| p.0).collect();
            panic!("cycle {c}: Verilog and rust-hdl disagree\n  outputs: {names:?}\n  rust-hdl: {want}\n  verilog:  {line}\n  inputs: {ins:x?}");
        }
    }
}

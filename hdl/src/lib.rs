//! zynqflow accelerator hardware, described in RustHDL (`rust-hdl` 0.46).
//!
//! What exists: the compute core, built from `zynqflow_isa::ArrayConfig`
//! (`rows`, `cols`, `lanes`, `acc_bits`):
//! - [`popcount`]: the 64·lanes-bit population count (the bit-serial multiply);
//! - [`pe`]: the processing element — AND, popcount, doubling on each new
//!   plane level (Horner's scheme, no barrel shifter), 32-bit accumulate,
//!   two-register drain stage — and
//!   [`pe::StepControl`], the control word that travels with each step;
//! - [`skew`]: the delay lines that skew the array's inputs and deskew its
//!   outputs;
//! - [`array`](mod@array): the output-stationary `rows × cols` systolic array, its ports
//!   (one unskewed step per cycle), drain order, latency and the controller's
//!   one timing rule;
//! - [`verilog_check`]: Verilator lint, yosys elaboration and Icarus Verilog
//!   runs of the generated Verilog, used by the tests;
//! - [`axil_regs`]: the AXI4-Lite register block;
//! - [`threshold`]: the threshold unit on the array's south edge (codes of
//!   1..8 bits from per-channel records, or raw accumulators).
//!
//! The memory side and control, around the core:
//! - [`axi_master`]: the AXI4 read and write masters (bursts ≤ 16 beats, no
//!   4 KiB crossing, 16 bursts outstanding, 64- or 128-bit data);
//! - [`desc_fields`], [`desc_check`]: the descriptor's fields (from
//!   `isa::descriptor::FIELDS`) and `isa::validate_words` in hardware;
//! - [`act_bank`]: a column's activation bank, written by 16-lane segment;
//!   [`gather`]: the activation buffer's filler (receptive fields of a tile,
//!   double-buffered); [`feeder`]: the step sequencer that drives the array
//!   from the activation and weight banks; [`out_writer`]: threshold codes or
//!   raw accumulators into destination words with byte strobes;
//! - [`cmdproc`]: the command processor (fetch, check, weight and threshold
//!   loads, passes over output channels, errors, counters);
//! - [`top`]: everything behind Vivado-style ports; [`accelerator_verilog`]
//!   generates it for a named `isa` preset; [`fifo`]: small shared pieces.
//!
//! The crate is behind the CLI's `hdl` feature: the board binary builds
//! without rust-hdl (DESIGN.md).
//!
//! Every block is simulated with rust-hdl and its generated Verilog is linted
//! (`verilator -Wall`, no waivers), elaborated (yosys) and co-simulated (Icarus
//! Verilog) in `hdl/tests/`.

pub mod act_bank;
pub mod array;
pub mod axi_drain;
pub mod axi_master;
pub mod axil_regs;
pub mod cmdproc;
pub mod desc_check;
pub mod desc_fields;
pub mod feeder;
pub mod fifo;
pub mod gather;
pub mod out_writer;
pub mod pe;
pub mod popcount;
pub mod skew;
pub mod synth_estimate;
pub mod threshold;
pub mod top;
pub mod verilog_check;

use rust_hdl::prelude::*;
use zynqflow_isa::ArrayConfig;

/// Verilog of the systolic array of `config` (top module `top`), with the
/// word width picked from `config.lanes` at run time.
pub fn array_verilog(config: &ArrayConfig) -> String {
    fn generate<const W: usize>(config: &ArrayConfig) -> String {
        let mut array = array::SystolicArray::<W>::new(config);
        array.connect_all();
        generate_verilog(&array)
    }
    match config.lanes {
        1 => generate::<64>(config),
        2 => generate::<128>(config),
        3 => generate::<192>(config),
        4 => generate::<256>(config),
        n => panic!("lanes {n} outside 1..={}", popcount::MAX_LANES),
    }
}

/// The accelerator's top-level Verilog module name.
pub const TOP_MODULE: &str = "zynqflow_top";

/// Verilog of the whole accelerator of `config` ([`top::Accelerator`]), top
/// module [`TOP_MODULE`]. The type parameters of each named preset are
/// listed here (rust-hdl needs widths at compile time); an unnamed or
/// modified configuration is refused with the list of those supported.
pub fn accelerator_verilog(config: &ArrayConfig) -> Result<String, String> {
    fn generate<
        const D: usize,
        const S: usize,
        const AB: usize,
        const WB: usize,
        const ACC_BUS: usize,
        const CODE_BUS: usize,
        const CH: usize,
        const ROW_ADDR: usize,
        const FIFO_ADDR: usize,
        const ROWS: usize,
        const RAW_A: usize,
    >(
        config: &ArrayConfig,
    ) -> String {
        let mut top =
            top::Accelerator::<D, S, AB, WB, ACC_BUS, CODE_BUS, CH, ROW_ADDR, FIFO_ADDR, ROWS, RAW_A>::new(config);
        top.connect_all();
        waive(&rename_top(&generate_verilog(&top)))
    }
    let supported = ArrayConfig::presets();
    if !supported.contains(config) {
        let names: Vec<&str> = supported.iter().map(|c| c.name).collect();
        return Err(format!(
            "no generator for configuration `{}`: the named presets are {}",
            config.name,
            names.join(", ")
        ));
    }
    Ok(match config.name {
        // D, S, AB, WB, ACC_BUS, CODE_BUS, CH, ROW_ADDR, FIFO_ADDR, ROWS, RAW_A
        "small" => generate::<64, 8, 12, 11, 64, 16, 3, 10, 4, 8, 4>(config),
        "pynq-z2" => generate::<64, 8, 11, 11, 256, 64, 4, 11, 5, 16, 5>(config),
        "ultra96v2" => generate::<128, 16, 11, 11, 256, 64, 4, 11, 5, 16, 5>(config),
        "kv260" => generate::<128, 16, 11, 11, 512, 128, 4, 11, 5, 16, 5>(config),
        other => return Err(format!("preset `{other}` has no generator entry")),
    })
}

/// A Verilator warning kept in the generated Verilog, waived at its one line.
#[derive(Debug, Clone, Copy)]
pub struct Waiver {
    /// The module the line is in.
    pub module: &'static str,
    /// The line, trimmed.
    pub line: &'static str,
    /// The Verilator rule.
    pub rule: &'static str,
    /// Why the warning stays.
    pub reason: &'static str,
}

/// The warnings `verilator --lint-only -Wall` reports on the accelerator,
/// each waived at its line by [`accelerator_verilog`] with the reason written
/// next to it in the Verilog.
pub const WAIVERS: &[Waiver] = &[
    Waiver {
        module: TOP_MODULE,
        line: "output reg  interrupt;",
        rule: "SYMRSVDWORD",
        reason: "`interrupt` is the port name Vivado's IP integrator infers an interrupt line from; it clashes only with a C++ word inside Verilator's own model, which renames it",
    },
];

/// Wraps each [`WAIVERS`] line in `lint_off`/`lint_on` with its reason;
/// panics if a waiver does not match exactly one line (a stale waiver).
fn waive(verilog: &str) -> String {
    let mut used = vec![0usize; WAIVERS.len()];
    let mut module = String::new();
    let mut out = String::with_capacity(verilog.len() + 1024);
    for line in verilog.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("module ") {
            module = rest.chars().take_while(|c| *c != '(' && !c.is_whitespace() && *c != ';').collect();
        }
        match WAIVERS.iter().position(|w| w.module == module && w.line == line.trim()) {
            Some(i) => {
                let w = &WAIVERS[i];
                used[i] += 1;
                out.push_str(&format!(
                    "    // {}: {}\n    /* verilator lint_off {} */\n{line}\n    /* verilator lint_on {} */\n",
                    w.rule, w.reason, w.rule, w.rule
                ));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (w, n) in WAIVERS.iter().zip(used) {
        assert_eq!(n, 1, "waiver {} `{}` in {} matched {n} lines", w.rule, w.line, w.module);
    }
    out
}

/// Renames rust-hdl's `module top` to [`TOP_MODULE`].
fn rename_top(verilog: &str) -> String {
    let mut done = false;
    verilog
        .lines()
        .map(|line| {
            if !done && line.trim_start().starts_with("module top") {
                done = true;
                line.replacen("module top", &format!("module {TOP_MODULE}"), 1)
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

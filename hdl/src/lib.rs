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
//! What comes next (issue 4): the on-chip activation and weight buffers
//! (double-buffered block RAM), the AXI4 DMA engines, the command processor that turns a descriptor into
//! the step sequence the array expects (see [`array`](mod@array)), the AXI shells and the
//! top level. The crate is behind the CLI's `hdl` feature: the board binary
//! builds without rust-hdl (DESIGN.md).
//!
//! Every block is simulated with rust-hdl and its generated Verilog is linted
//! (`verilator -Wall`, no waivers), elaborated (yosys) and co-simulated (Icarus
//! Verilog) in `hdl/tests/`.

pub mod array;
pub mod axil_regs;
pub mod pe;
pub mod popcount;
pub mod skew;
pub mod threshold;
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

//! # zynqflow-driver: everything that runs on the host
//!
//! - [`graph`]: LmFlowNetS and FlowNetS as data, shape-checked;
//! - [`quant`]: integer weights and thresholds in the `isa` layouts, and the
//!   folding of batch-norm and the activation quantizer into thresholds;
//! - [`cpu`]: the CPU reference: float and quantized kernels and the two
//!   network executors everything else is checked against;
//! - [`compiler`]: graph + weights + capabilities → descriptor list, packed
//!   weights and memory plan;
//! - [`runtime`]: `Accelerator<P: Platform>`, the one runtime for every backend;
//! - [`selftest`]: seeded random layers and their CPU reference results;
//! - [`weights`]: safetensors weight files and deterministic synthetic weights;
//! - [`platform`]: the platform traits the runtime drives, the board
//!   backend (UIO + u-dma-buf) and a recording mock;
//! - [`emulate`]: an emulated board (fake sysfs/dev tree played by the
//!   functional model) for the board backend to run against;
//! - [`model`]: the bit-exact functional model of the accelerator, as a platform backend;
//! - [`io`]: frames (PNG/PPM), synthetic frame pairs, `.flo` and colour-wheel
//!   PNG output, atomic file writes.
//!
//! No dependency on rust-hdl or Verilator: the board binary builds from this.

pub mod compiler;
pub mod cpu;
pub mod emulate;
// The fuzz targets' runner, shared with zynqflow-isa (one file, two crates).
#[cfg(test)]
#[path = "../../isa/src/fuzz.rs"]
pub(crate) mod fuzz;
pub mod graph;
pub mod io;
pub mod model;
pub mod platform;
pub mod quant;
pub mod runtime;
pub mod selftest;
pub mod tensor;
pub mod weights;

pub use tensor::{FTensor, QTensor, RawTensor};

//! zynqflow Verilator simulation: the accelerator's RTL driven from Rust by
//! the same runtime that drives a board.
//!
//! - [`verilate`]: hdl's Verilog → Verilator → the C++ harness → a shared
//!   library, cached under `target/zynqflow-sim/<config>-<hash>/`;
//! - [`harness`]: the loaded library — AXI4-Lite master, AXI4 memory with
//!   latency and bandwidth parameters, clock, reset, interrupt, waveform;
//!   every per-cycle action stays in C++ (`csrc/shim.cpp`);
//! - [`platform`]: [`SimPlatform`], host-driver's `Platform` on the RTL.
//!
//! See docs/simulation.md for the timing model, the figures and the cache.

pub mod harness;
pub mod platform;
pub mod verilate;

pub use harness::{Harness, MemStats, MemTiming};
pub use platform::SimPlatform;
pub use verilate::{build, BuildOptions, Built};

/// Errors of the simulation.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A tool the build needs is not installed.
    #[error("`{tool}` is not installed: the Verilator simulation needs it (install the Debian package {package}; `make deps` does)")]
    MissingTool {
        /// Command name.
        tool: String,
        /// What to install.
        package: String,
    },
    /// No generator for the configuration.
    #[error("{0}")]
    Config(String),
    /// The Verilator or C++ build failed.
    #[error("{0}")]
    Build(String),
    /// The library could not be loaded.
    #[error("loading the simulation library: {0}")]
    Load(String),
    /// An AXI4-Lite access failed.
    #[error("{0}")]
    Bus(String),
}

//! zynqflow Verilator simulation harness.
//!
//! Nothing is here yet: the Verilator build of hdl's Verilog, the AXI harness
//! and the DDR model arrive with issue 5. The crate exists so that the
//! workspace has its final shape and the `sim` feature of the CLI already gates
//! it (DESIGN.md: the board binary builds without Verilator).

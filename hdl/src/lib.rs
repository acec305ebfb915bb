//! zynqflow accelerator hardware, described in RustHDL.
//!
//! Nothing is here yet: the systolic array, buffers, DMA engines, command
//! processor and AXI shells arrive with issue 4. The crate exists so that the
//! workspace has its final shape and the `hdl` feature of the CLI already gates
//! it (DESIGN.md: the board binary builds without rust-hdl).

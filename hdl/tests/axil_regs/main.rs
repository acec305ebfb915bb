//! Behaviour of the AXI4-Lite register block (`zynqflow_hdl::axil_regs`).
//!
//! A Rust testbench drives the block's ports clock by clock through rust-hdl's
//! simulation kernel (`update_all` until the circuit settles, as rust-hdl's
//! `Simulation` does), with an AXI4-Lite master that can delay each channel
//! and hold `bready`/`rready` low, a stand-in for the core's side (busy,
//! pulses, counters), and protocol checks on every cycle. Register semantics
//! are checked against `zynqflow_isa::regs` by directed tests and by a
//! reference model under random traffic. The generated Verilog is linted
//! (Verilator), checked (Yosys) and co-simulated (Icarus Verilog) against the
//! Rust simulation, cycle by cycle, on every output (`verilog_check` runs the
//! tools; a missing one fails the test naming its package).
//!
//! This file only lists the modules:
//! - `ports`: the port lists and values, in the generated Verilog's names;
//! - `master`: the testbench (AXI4-Lite master, core stand-in, protocol checks);
//! - `model`: the reference model of the register semantics;
//! - `access`: reset values, decoding, handshakes and timing;
//! - `semantics`: directed tests of each register's behaviour;
//! - `random`: random traffic against the model;
//! - `verilog`: lint, Yosys, and co-simulation of the generated Verilog.

mod access;
mod master;
mod model;
mod ports;
mod random;
mod semantics;
mod verilog;

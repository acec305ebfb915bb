//! `zynqflow`: quantized optical flow on Zynq SoC-FPGAs, from the command line.
//!
//! Each subcommand lives in its own module under `cmd/`; this file only
//! parses arguments, sets up logging and turns errors into one line on stderr
//! and a non-zero exit code.

mod cmd;

use clap::{Parser, Subcommand};

/// Quantized optical flow (LmFlowNetS / FlowNetS) for Zynq SoC-FPGAs.
#[derive(Parser, Debug)]
#[command(name = "zynqflow", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compute optical flow for a frame pair.
    Infer(cmd::infer::InferArgs),
    /// Print a network's per-layer table (shapes, MACs, bit widths).
    Net(cmd::net::NetArgs),
    /// Make or inspect weight files.
    #[command(subcommand)]
    Weights(cmd::weights::WeightsCommand),
    /// Benchmarks: the CPU's quantized path against its float path.
    Bench(cmd::bench::BenchArgs),
    /// The hardware/software contract.
    #[command(subcommand)]
    Isa(cmd::isa::IsaCommand),
    /// Run single layers on a backend, from .npy arrays.
    #[command(subcommand)]
    Sim(cmd::sim::SimCommand),
    /// Generate the accelerator's Verilog for a named configuration.
    Verilog(cmd::verilog::VerilogArgs),
    /// Open-source resource estimate (yosys synth_xilinx) of a configuration, before Vivado.
    SynthEstimate(cmd::synth_estimate::SynthEstimateArgs),
    /// Build a fake /sys and /dev tree and play the accelerator in it (board rehearsal).
    EmulateBoard(cmd::board::EmulateArgs),
    /// Print the device's ID, version, capabilities, counters, memory and coherency.
    Info(cmd::board::InfoArgs),
    /// Run random layers on the device and compare with the CPU reference.
    Selftest(cmd::board::SelftestArgs),
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).format_timestamp(None).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Infer(a) => cmd::infer::run(a),
        Command::Net(a) => cmd::net::run(a),
        Command::Weights(c) => cmd::weights::run(c),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Isa(c) => cmd::isa::run(c),
        Command::Sim(c) => cmd::sim::run(c),
        Command::Verilog(a) => cmd::verilog::run(a),
        Command::SynthEstimate(a) => cmd::synth_estimate::run(a),
        Command::EmulateBoard(a) => cmd::board::emulate(a),
        Command::Info(a) => cmd::board::info(a),
        Command::Selftest(a) => cmd::board::selftest(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

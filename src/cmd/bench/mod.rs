//! `zynqflow bench` (`make bench`): the figures of docs/performance.md,
//! measured and written down in one command.
//!
//! - **RTL** ([`rtl`]): per configuration and network, every descriptor's
//!   cycles on the Verilator simulation with the default memory model,
//!   utilization, memory stalls, projected frame rates;
//! - **CPU** ([`cpu`]): quantized against float on the same network;
//! - **simulation speed**: Verilator cycles per second of the RTL runs.
//!
//! It writes `bench/results/<date>.json` and refreshes the generated part of
//! docs/performance.md (between `<!-- bench:begin -->` and
//! `<!-- bench:end -->`), so the committed table is the committed JSON.

pub mod cpu;
#[cfg(feature = "sim")]
mod report;
#[cfg(feature = "sim")]
pub mod rtl;

#[cfg(feature = "sim")]
use super::with_progress;
use super::{parse_config, parse_size, NetName};
#[cfg(feature = "sim")]
use anyhow::Context;
use anyhow::Result;
use std::path::PathBuf;
use zynqflow_isa::ArrayConfig;

/// Arguments of `zynqflow bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Network of the CPU comparison.
    #[arg(long, value_enum, default_value = "lmflownets")]
    pub net: NetName,
    /// Input size HxW of the CPU comparison.
    #[arg(long, value_parser = parse_size, default_value = "192x256")]
    pub size: (usize, usize),
    /// Timed runs of each CPU path (alternating; the fastest of each is kept).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Configurations measured on the RTL (comma-separated).
    #[arg(long, value_parser = parse_config, value_delimiter = ',', default_value = "pynq-z2,ultra96v2")]
    pub configs: Vec<ArrayConfig>,
    /// Networks measured on the RTL (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "lmflownets,flownets")]
    pub rtl_nets: Vec<NetName>,
    /// Input size HxW of the RTL measurements.
    #[arg(long, value_parser = parse_size, default_value = "384x512")]
    pub rtl_size: (usize, usize),
    /// Networks whose every descriptor runs whole on the RTL (a whole
    /// frame, no extrapolation; comma-separated, `none` for none). The
    /// others are measured on slabs of rows where a descriptor allows it.
    #[arg(long, value_parser = parse_nets, default_value = "lmflownets")]
    pub whole_nets: NetList,
    /// Size at which the slab extrapolation is checked against whole
    /// descriptors (the first network measured on slabs, on the first
    /// configuration); `none` skips it.
    #[arg(long, default_value = "64x64")]
    pub check_size: String,
    /// CPU comparison only (no RTL, no JSON, no docs).
    #[arg(long)]
    pub cpu_only: bool,
    /// Where the results go (default `bench/results/<date>.json`).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The page whose generated part is refreshed; `none` leaves docs alone.
    #[arg(long, default_value = "docs/performance.md")]
    pub doc: String,
}

/// Runs the benchmark.
pub fn run(a: BenchArgs) -> Result<()> {
    let cpu = cpu::run(a.net, a.size, a.runs)?;
    if a.cpu_only {
        return Ok(());
    }
    rtl_and_write(a, cpu)
}

#[cfg(not(feature = "sim"))]
fn rtl_and_write(_a: BenchArgs, _cpu: cpu::CpuResult) -> Result<()> {
    anyhow::bail!(
        "the RTL benchmark needs the Verilator simulation: build with the default features (or use --cpu-only)"
    )
}

#[cfg(feature = "sim")]
fn rtl_and_write(a: BenchArgs, cpu: cpu::CpuResult) -> Result<()> {
    let date = report::today();
    let json_path = a.json.clone().unwrap_or_else(|| PathBuf::from(format!("bench/results/{date}.json")));
    super::check_output_dir(&json_path)?;
    let doc = (a.doc != "none").then(|| PathBuf::from(&a.doc));
    if let Some(d) = &doc {
        std::fs::metadata(d).with_context(|| format!("docs page '{}'", d.display()))?;
    }
    let slab_net = a.rtl_nets.iter().find(|n| !a.whole_nets.0.contains(n));
    let check = match (a.check_size.as_str(), slab_net) {
        ("none", _) => None,
        (_, None) => {
            eprintln!("bench: every network runs whole: no slab extrapolation to check");
            None
        }
        (s, Some(net)) => {
            let size = parse_size(s).map_err(anyhow::Error::msg)?;
            let config = a.configs.first().context("--configs is empty")?;
            let net = net.as_str();
            eprintln!("bench: checking the slab extrapolation on {} {net} {s} (whole descriptors)", config.name);
            let c = rtl::check_extrapolation(config, net, size)?;
            println!(
                "extrapolation check ({} {net} {s}): whole {} cycles, extrapolated {} ({:+.2} %, worst layer {:.2} %)",
                c.config, c.whole_cycles, c.extrapolated_cycles, c.error_percent, c.worst_layer_error_percent
            );
            Some(c)
        }
    };
    let mut nets = Vec::new();
    for config in &a.configs {
        for net in &a.rtl_nets {
            let label = format!("{} {} {}x{}", config.name, net.as_str(), a.rtl_size.0, a.rtl_size.1);
            let whole = a.whole_nets.0.contains(net);
            let r = with_progress(&label, |p| rtl::measure_net(config, net.as_str(), a.rtl_size, whole, p))?;
            println!(
                "{label}: {} cycles, {:.2} fps at 100 MHz, utilization {:.1} %, memory stall {:.1} % ({} cycles simulated in {:.0} s)",
                r.cycles,
                r.fps_at_100mhz,
                100.0 * r.utilization,
                100.0 * r.stall_cycles as f64 / r.cycles.max(1) as f64,
                r.simulated_cycles,
                r.simulation_seconds
            );
            nets.push(r);
        }
    }
    let results = report::Results::new(&a, date, cpu, nets, check);
    let json = serde_json::to_string_pretty(&results.to_json())? + "\n";
    zynqflow_driver::io::atomic::write_atomic(&json_path, json.as_bytes())?;
    println!("wrote {}", json_path.display());
    if let Some(d) = doc {
        report::refresh_doc(&d, &results.markdown(&json_path))?;
        println!("refreshed {}", d.display());
    }
    Ok(())
}

/// A comma-separated list of networks (`--whole-nets`); `none` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetList(pub Vec<NetName>);

impl NetList {
    /// The list as given on the command line (the report's command line).
    #[cfg(feature = "sim")]
    pub fn as_arg(&self) -> String {
        if self.0.is_empty() {
            return "none".to_string();
        }
        self.0.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(",")
    }
}

fn parse_nets(s: &str) -> Result<NetList, String> {
    use clap::ValueEnum;
    if s == "none" {
        return Ok(NetList(Vec::new()));
    }
    s.split(',').map(|n| NetName::from_str(n.trim(), false)).collect::<Result<Vec<_>, _>>().map(NetList)
}

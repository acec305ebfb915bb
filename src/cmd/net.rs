//! `zynqflow net`: a network's per-layer table, or its accelerator plan.

use super::{graph, parse_config, parse_size, NetName};
use anyhow::Result;
use zynqflow_driver::compiler::{compile, plan_table};
use zynqflow_driver::cpu::QuantNet;
use zynqflow_driver::graph::table;
use zynqflow_driver::weights::synth;

/// Arguments of `zynqflow net`.
#[derive(clap::Args, Debug)]
pub struct NetArgs {
    /// Network.
    #[arg(long, value_enum, default_value = "lmflownets")]
    pub net: NetName,
    /// Input size HxW (multiples of 64).
    #[arg(long, value_parser = parse_size, default_value = "384x512")]
    pub size: (usize, usize),
    /// Show where each layer runs (accelerator descriptors, fused, host) instead.
    #[arg(long)]
    pub plan: bool,
    /// Accelerator configuration the plan is made for.
    #[arg(long, value_parser = parse_config, default_value = "pynq-z2")]
    pub config: zynqflow_isa::ArrayConfig,
}

/// Prints the table.
pub fn run(a: NetArgs) -> Result<()> {
    let g = graph(a.net, a.size)?;
    if a.plan {
        // The plan does not depend on weight values; synthetic ones stand in.
        let w = synth::synthesize(&g, 0);
        let q = QuantNet::new(g, &w)?;
        let p = compile(&q, &a.config.capabilities())?;
        print!("{}", plan_table::render(&p));
    } else {
        print!("{}", table::render(&g));
    }
    Ok(())
}

//! `zynqflow weights`: synthesize or check weight files.

use super::{graph, parse_size, NetName};
use anyhow::Result;
use std::path::PathBuf;
use zynqflow_driver::weights::{file, synth};

/// `zynqflow weights ...`
#[derive(clap::Subcommand, Debug)]
pub enum WeightsCommand {
    /// Write deterministic synthetic weights (batch-norm calibrated so that
    /// every activation uses all its codes) to a safetensors file.
    Synth {
        /// Network.
        #[arg(long, value_enum, default_value = "lmflownets")]
        net: NetName,
        /// Seed.
        #[arg(long)]
        seed: u64,
        /// Output file (.safetensors).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a weights file against a network and print its layers.
    Check {
        /// Network.
        #[arg(long, value_enum, default_value = "lmflownets")]
        net: NetName,
        /// Weights file.
        #[arg(long)]
        weights: PathBuf,
    },
}

/// Runs the subcommand.
pub fn run(c: WeightsCommand) -> Result<()> {
    match c {
        WeightsCommand::Synth { net, seed, out } => {
            super::check_output_dir(&out)?;
            let g = graph(net, (128, 192))?;
            let w = synth::synthesize(&g, seed);
            file::save(&out, &w, &g)?;
            println!("wrote {} weights (seed {seed}) to {}", g.name, out.display());
        }
        WeightsCommand::Check { net, weights } => {
            let g = graph(net, parse_size("128x192").expect("constant"))?;
            let w = file::load(&weights, &g)?;
            let n: usize = w.layers.values().map(|l| l.weight.len()).sum();
            println!("{}: {} layers, {n} kernel weights, valid for {}", weights.display(), w.layers.len(), g.name);
        }
    }
    Ok(())
}

//! `zynqflow net`: a network's per-layer table.

use super::{graph, parse_size, NetName};
use anyhow::Result;
use zynqflow_driver::graph::table;

/// Arguments of `zynqflow net`.
#[derive(clap::Args, Debug)]
pub struct NetArgs {
    /// Network.
    #[arg(long, value_enum, default_value = "lmflownets")]
    pub net: NetName,
    /// Input size HxW (multiples of 64).
    #[arg(long, value_parser = parse_size, default_value = "384x512")]
    pub size: (usize, usize),
}

/// Prints the table.
pub fn run(a: NetArgs) -> Result<()> {
    let g = graph(a.net, a.size)?;
    print!("{}", table::render(&g));
    Ok(())
}

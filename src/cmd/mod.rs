//! The subcommands, one module each, and the argument types they share.

pub mod bench;
pub mod board;
pub mod infer;
pub mod isa;
pub mod net;
pub mod sim;
pub mod synth_estimate;
pub mod verilog;
pub mod weights;

use anyhow::{bail, Result};
use std::path::Path;
use zynqflow_driver::graph::Graph;
use zynqflow_driver::weights::{file, synth, WeightSet};

/// Parses `HxW` (rows × columns, e.g. `384x512`).
pub fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (h, w) = s.split_once(['x', 'X']).ok_or_else(|| format!("size '{s}' is not HxW (e.g. 384x512)"))?;
    let n = |v: &str| v.trim().parse::<usize>().map_err(|_| format!("size '{s}' is not HxW (e.g. 384x512)"));
    Ok((n(h)?, n(w)?))
}

/// The networks the CLI knows.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetName {
    /// Blueoil's LmFlowNetS: 1-bit weights, 2-bit activations.
    Lmflownets,
    /// The original FlowNetS, quantized to 4-bit weights and activations.
    Flownets,
}

impl NetName {
    /// The graph name.
    pub fn as_str(self) -> &'static str {
        match self {
            NetName::Lmflownets => "lmflownets",
            NetName::Flownets => "flownets",
        }
    }
}

/// Builds a graph, turning the error into a CLI message.
pub fn graph(net: NetName, (h, w): (usize, usize)) -> Result<Graph> {
    Ok(Graph::by_name(net.as_str(), h, w)?)
}

/// Weights from a file or synthesized from a seed.
pub fn load_weights(g: &Graph, file_path: Option<&Path>, seed: Option<u64>) -> Result<WeightSet> {
    match (file_path, seed) {
        (Some(p), None) => Ok(file::load(p, g)?),
        (None, Some(s)) => {
            log::info!("synthesizing {} weights from seed {s} (calibrated on a synthetic pair)", g.name);
            Ok(synth::synthesize(g, s))
        }
        _ => bail!("give exactly one of --weights FILE and --synthetic-weights SEED"),
    }
}

/// Parses an array configuration name (`small`, `pynq-z2`, ...).
pub fn parse_config(s: &str) -> Result<zynqflow_isa::ArrayConfig, String> {
    zynqflow_isa::ArrayConfig::by_name(s).ok_or_else(|| {
        let names: Vec<&str> = zynqflow_isa::ArrayConfig::presets().iter().map(|c| c.name).collect();
        format!("unknown configuration '{s}' (known: {})", names.join(", "))
    })
}

/// Fails early, before any long computation, if `path` cannot be created
/// because its directory does not exist.
pub fn check_output_dir(path: &Path) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!("output '{}': directory '{}' does not exist", path.display(), dir.display());
    }
    if path.is_dir() {
        bail!("output '{}' is a directory", path.display());
    }
    Ok(())
}

/// Runs `f` with an indicatif progress bar over `total` steps (hidden when
/// stderr is not a terminal).
pub fn with_progress<T>(label: &str, f: impl FnOnce(&mut dyn FnMut(usize, usize, &str)) -> T) -> T {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    let out = f(&mut |done, total, name| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(name.to_string());
    });
    bar.finish_and_clear();
    out
}

//! `zynqflow synth-estimate`: the open-source, pre-Vivado resource estimate
//! of a configuration's accelerator (yosys `synth_xilinx`; the flow and what
//! each figure counts are in `zynqflow_hdl::synth_estimate` and
//! docs/resources.md).

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// `zynqflow synth-estimate --config NAME [--json FILE] [--keep DIR]`
#[derive(clap::Args, Debug)]
pub struct SynthEstimateArgs {
    /// Array configuration (small, pynq-z2, ultra96v2, kv260); its part picks
    /// the yosys family and the capacity.
    #[arg(long, value_parser = super::parse_config)]
    pub config: zynqflow_isa::ArrayConfig,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Keep yosys' work directory here (Verilog, script, log, stat, netlist)
    /// instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn run(a: SynthEstimateArgs) -> Result<()> {
    if let Some(j) = &a.json {
        super::check_output_dir(j)?;
    }
    if let Some(k) = &a.keep {
        if k.exists() && std::fs::read_dir(k).map(|mut d| d.next().is_some()).unwrap_or(true) {
            bail!("--keep directory '{}' exists and is not empty", k.display());
        }
    }
    estimate(&a)
}

#[cfg(feature = "hdl")]
fn estimate(a: &SynthEstimateArgs) -> Result<()> {
    use zynqflow_hdl::synth_estimate;
    let c = &a.config;
    if synth_estimate::part_for(c.part).is_none() {
        bail!("configuration '{}' targets part {}, for which no capacity is known", c.name, c.part);
    }
    // Fail before generating anything when yosys is missing.
    synth_estimate::yosys_version().map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = match &a.keep {
        Some(k) => k.clone(),
        None => std::env::temp_dir().join(format!("zynqflow-synth-estimate-{}", std::process::id())),
    };
    log::info!(
        "generating {} ({}x{} PEs) and running yosys synth_xilinx for {} (minutes)",
        c.name,
        c.rows,
        c.cols,
        c.part
    );
    let verilog = zynqflow_hdl::accelerator_verilog(c).map_err(anyhow::Error::msg)?;
    let result = synth_estimate::estimate(&verilog, zynqflow_hdl::TOP_MODULE, c.name, c.part, &dir);
    if a.keep.is_none() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing '{}'", dir.display()))?;
    }
    let e = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    print!("{}", e.render());
    if let Some(j) = &a.json {
        let text = serde_json::to_string_pretty(&e.to_json())? + "\n";
        zynqflow_driver::io::write_atomic(j, text.as_bytes())?;
        println!("wrote {}", j.display());
    }
    if a.keep.is_some() {
        println!("yosys work directory kept in {}", dir.display());
    }
    Ok(())
}

#[cfg(not(feature = "hdl"))]
fn estimate(_: &SynthEstimateArgs) -> Result<()> {
    bail!("this zynqflow was built without the `hdl` feature (the board build); build with default features to run the estimate")
}

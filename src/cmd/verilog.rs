//! `zynqflow verilog`: the accelerator's Verilog for a named configuration,
//! one file per module, for Verilator, yosys and Vivado.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// `zynqflow verilog --config NAME --out DIR`
#[derive(clap::Args, Debug)]
pub struct VerilogArgs {
    /// Array configuration (small, pynq-z2, ultra96v2, kv260).
    #[arg(long, value_parser = super::parse_config)]
    pub config: zynqflow_isa::ArrayConfig,
    /// Directory for the `.v` files (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the `.v` files already in the directory.
    #[arg(long)]
    pub force: bool,
}

/// Runs the subcommand.
pub fn run(a: VerilogArgs) -> Result<()> {
    if a.out.exists() && !a.out.is_dir() {
        bail!("output '{}' exists and is not a directory", a.out.display());
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating '{}'", a.out.display()))?;
    let stale: Vec<PathBuf> = std::fs::read_dir(&a.out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "v"))
        .collect();
    if !stale.is_empty() {
        if !a.force {
            bail!(
                "output directory '{}' already holds {} .v files (a glob over it would mix two designs); use --force to replace them",
                a.out.display(),
                stale.len()
            );
        }
        for p in &stale {
            std::fs::remove_file(p).with_context(|| format!("removing '{}'", p.display()))?;
        }
    }
    generate(&a)
}

#[cfg(feature = "hdl")]
fn generate(a: &VerilogArgs) -> Result<()> {
    let c = &a.config;
    log::info!(
        "generating {}: {}x{} PEs, {}-bit AXI, part {}",
        c.name,
        c.rows,
        c.cols,
        u32::from(c.bus_bytes) * 8,
        c.part
    );
    let verilog = zynqflow_hdl::accelerator_verilog(c).map_err(anyhow::Error::msg)?;
    let files = zynqflow_hdl::verilog_check::write_modules(&verilog, &a.out).map_err(|e| anyhow::anyhow!("{e}"))?;
    let list: String =
        files.iter().filter_map(|p| p.file_name()).map(|n| format!("{}\n", n.to_string_lossy())).collect();
    zynqflow_driver::io::write_atomic(&a.out.join("filelist.f"), list.as_bytes())?;
    println!("wrote {} modules to {} (list: filelist.f)", files.len(), a.out.display());
    println!("top: {}", zynqflow_hdl::TOP_MODULE);
    Ok(())
}

#[cfg(not(feature = "hdl"))]
fn generate(_: &VerilogArgs) -> Result<()> {
    bail!("this zynqflow was built without the `hdl` feature (the board build); build with default features to generate Verilog")
}

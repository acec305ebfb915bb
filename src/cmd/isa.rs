//! `zynqflow isa`: the hardware/software contract, as documentation.

use anyhow::Result;
use std::path::PathBuf;

/// `zynqflow isa ...`
#[derive(clap::Subcommand, Debug)]
pub enum IsaCommand {
    /// Generate docs/registers.md (register map, descriptor, error codes,
    /// layouts, configurations) from the isa crate.
    Doc {
        /// Write to this file (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs the subcommand.
pub fn run(c: IsaCommand) -> Result<()> {
    match c {
        IsaCommand::Doc { out } => {
            let md = zynqflow_isa::doc::registers_markdown();
            match out {
                Some(p) => {
                    super::check_output_dir(&p)?;
                    zynqflow_driver::io::write_atomic(&p, md.as_bytes())?;
                    println!("wrote {}", p.display());
                }
                None => print!("{md}"),
            }
        }
    }
    Ok(())
}

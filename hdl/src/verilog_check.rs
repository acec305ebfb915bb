//! Checks of generated Verilog with the external tools: Verilator lint, yosys
//! elaboration, and Icarus Verilog for co-simulation.
//!
//! rust-hdl's simulator and the Verilog it generates have disagreed before
//! (REFERENCE §5: double indexing), so every block is checked as Verilog too.
//!
//! rust-hdl writes every module into one text; [`write_modules`] splits it
//! into one file per module, named after it, so that Verilator's
//! `DECLFILENAME` rule holds without a waiver. No warning is waived: the
//! blocks are written so that Verilator's `-Wall` finds nothing. The generator
//! habits this required: `bit_cast` widening prints `x & 32'hffffffff`
//! (`WIDTH`), so the popcount tree is built at its final width and the PE
//! zero-extends bit by bit (`crate::popcount`, `crate::pe`); every instance
//! port gets a wire, so no block has an output its neighbour may leave unread
//! (`UNUSEDSIGNAL`: the systolic links belong to the array, `crate::array`).
//!
//! A missing tool is an error naming the Debian package to install (`make
//! deps` installs them), never a silent pass.
use std::path::{Path, PathBuf};
use std::process::Command;

/// An external tool failed, was missing, or found problems.
#[derive(Debug)]
pub struct CheckError(pub String);

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckError {}

/// The Debian packages of the tools, by command name.
const PACKAGES: [(&str, &str); 4] =
    [("verilator", "verilator"), ("yosys", "yosys"), ("iverilog", "iverilog"), ("vvp", "iverilog")];

/// Fails unless `tool` is on the `PATH`, naming the package to install.
pub fn require_tool(tool: &str) -> Result<(), CheckError> {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    if found {
        Ok(())
    } else {
        let package = PACKAGES.iter().find(|(t, _)| *t == tool).map_or(tool, |(_, p)| p);
        Err(CheckError(format!(
            "`{tool}` is not installed: install the Debian package `{package}` (`make deps` does) to run this check"
        )))
    }
}

/// Splits rust-hdl's output into `(module name, text)` pairs, in order.
pub fn split_modules(verilog: &str) -> Vec<(String, String)> {
    let mut modules = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in verilog.lines() {
        if current.is_none() {
            if let Some(rest) = line.trim_start().strip_prefix("module ") {
                let name: String =
                    rest.chars().take_while(|ch| *ch != '(' && !ch.is_whitespace() && *ch != ';').collect();
                current = Some((name, String::new()));
            }
        }
        if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
            if line.trim_start().starts_with("endmodule") {
                modules.push(current.take().expect("inside a module"));
            }
        }
    }
    assert!(current.is_none(), "unterminated module in generated Verilog");
    modules
}

/// Writes each module of `verilog` to `dir/<module>.v`; returns the paths,
/// top module first.
pub fn write_modules(verilog: &str, dir: &Path) -> Result<Vec<PathBuf>, CheckError> {
    let modules = split_modules(verilog);
    if modules.is_empty() {
        return Err(CheckError("no module in the generated Verilog".into()));
    }
    let mut paths = Vec::with_capacity(modules.len());
    for (name, text) in modules {
        let path = dir.join(format!("{name}.v"));
        std::fs::write(&path, text).map_err(|e| CheckError(format!("writing {}: {e}", path.display())))?;
        paths.push(path);
    }
    Ok(paths)
}

fn run(tool: &str, args: &[String], dir: &Path) -> Result<String, CheckError> {
    require_tool(tool)?;
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| CheckError(format!("running {tool}: {e}")))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(CheckError(format!("{tool} {} failed:\n{text}", args.join(" "))))
    }
}

fn file_names(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|p| p.file_name().expect("file").to_string_lossy().into_owned()).collect()
}

/// `verilator --lint-only -Wall` over `files` (in `dir`); any warning fails.
pub fn verilator_lint(dir: &Path, files: &[PathBuf], top: &str) -> Result<(), CheckError> {
    let mut args: Vec<String> = ["--lint-only", "-Wall", "--top-module", top].iter().map(|s| s.to_string()).collect();
    args.extend(file_names(files));
    let text = run("verilator", &args, dir)?;
    if text.contains("%Warning") || text.contains("%Error") {
        return Err(CheckError(format!("verilator lint reported:\n{text}")));
    }
    Ok(())
}

/// yosys `read_verilog; hierarchy -check -top; proc; opt` over `files`.
pub fn yosys_elaborate(dir: &Path, files: &[PathBuf], top: &str) -> Result<(), CheckError> {
    let script = format!("read_verilog {}; hierarchy -check -top {top}; proc; opt", file_names(files).join(" "));
    let text = run("yosys", &["-q".to_string(), "-p".to_string(), script], dir)?;
    if text.to_lowercase().contains("error") {
        return Err(CheckError(format!("yosys reported:\n{text}")));
    }
    Ok(())
}

/// Generates `verilog` into `dir`, lints it and elaborates it with yosys.
pub fn lint_and_elaborate(verilog: &str, dir: &Path, top: &str) -> Result<(), CheckError> {
    let files = write_modules(verilog, dir)?;
    verilator_lint(dir, &files, top)?;
    yosys_elaborate(dir, &files, top)
}

/// Compiles `files` plus a testbench with Icarus Verilog and runs it in `dir`
/// (where the testbench finds its vector files); returns what it printed.
pub fn icarus_run(dir: &Path, files: &[PathBuf], testbench: &Path, tb_top: &str) -> Result<String, CheckError> {
    let mut args: Vec<String> = vec!["-g2005".into(), "-o".into(), "sim.vvp".into(), "-s".into(), tb_top.into()];
    args.extend(file_names(files));
    args.push(testbench.to_string_lossy().into_owned());
    run("iverilog", &args, dir)?;
    run("vvp", &["-n".to_string(), "sim.vvp".to_string()], dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_split_at_module_and_endmodule() {
        let v = "\n\nmodule top(a,b);\n  wire x;\nendmodule // top\n\n\nmodule top$sub$0(c);\nendmodule\n";
        let m = split_modules(v);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].0, "top");
        assert!(m[0].1.starts_with("module top(a,b);") && m[0].1.contains("wire x;"));
        assert_eq!(m[1].0, "top$sub$0");
    }

    #[test]
    fn a_missing_tool_names_its_package() {
        let e = require_tool("surely-not-a-tool-zf").unwrap_err();
        assert!(e.0.contains("surely-not-a-tool-zf") && e.0.contains("install"));
    }
}

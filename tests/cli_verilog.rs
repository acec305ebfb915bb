//! `zynqflow verilog`: writes one file per module and a file list, prints the
//! top module's name, refuses to mix two designs in one directory, and its
//! output passes Verilator's default lint with no message at all (the
//! `-Wall` checks with their reasoned waivers are in `hdl/tests/top_verilog.rs`).

mod common;

use common::*;
use std::process::Command;

#[test]
fn verilog_writes_a_lint_clean_design_and_names_its_top() {
    let dir = tempfile::tempdir().unwrap();
    let out = zynqflow_ok(dir.path(), &["verilog", "--config", "small", "--out", "v"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let top = stdout.lines().find_map(|l| l.strip_prefix("top: ")).expect("a `top: NAME` line").to_string();
    assert_eq!(top, "zynqflow_top");
    let v = dir.path().join("v");
    let list = std::fs::read_to_string(v.join("filelist.f")).unwrap();
    let files: Vec<&str> = list.lines().collect();
    assert!(files.len() > 100, "{} modules", files.len());
    assert_eq!(files[0], format!("{top}.v"));
    for f in &files {
        assert!(v.join(f).is_file(), "{f} listed but missing");
    }

    // A second run into the same directory is refused, nothing touched.
    let before = std::fs::metadata(v.join(files[0])).unwrap().modified().unwrap();
    let again = zynqflow(dir.path(), &["verilog", "--config", "small", "--out", "v"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(std::fs::metadata(v.join(files[0])).unwrap().modified().unwrap(), before);
    zynqflow_ok(dir.path(), &["verilog", "--config", "small", "--out", "v", "--force"]);

    // Verilator's default lint: not one message.
    let lint = Command::new("verilator")
        .args(["--lint-only", "--top-module", &top])
        .args(&files)
        .current_dir(&v)
        .output()
        .expect("verilator is installed (make deps)");
    let text = format!("{}{}", String::from_utf8_lossy(&lint.stdout), String::from_utf8_lossy(&lint.stderr));
    assert!(lint.status.success() && text.trim().is_empty(), "verilator --lint-only:\n{text}");
}

#[test]
fn verilog_refuses_unknown_configs_and_file_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = zynqflow(dir.path(), &["verilog", "--config", "zynq-huge", "--out", "v"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("known: small"));
    std::fs::write(dir.path().join("f"), b"x").unwrap();
    let out = zynqflow(dir.path(), &["verilog", "--config", "small", "--out", "f"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}

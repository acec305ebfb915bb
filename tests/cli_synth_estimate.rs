//! `zynqflow synth-estimate`: the yosys estimate of the `small` preset
//! (about 2.5 minutes of yosys here) prints its table and writes the JSON
//! report with the documented keys and plausible figures; a missing yosys
//! and an unknown configuration fail at once with a clear message.
//!
//! The parsing of yosys' output is unit-tested in
//! `zynqflow_hdl::synth_estimate`; the estimate's growth with the array size
//! in `hdl/tests/synth_estimate.rs`.

mod common;

use common::*;
use std::process::Command;

#[test]
fn synth_estimate_of_small_reports_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        zynqflow_ok(dir.path(), &["synth-estimate", "--config", "small", "--json", "small.json", "--keep", "work"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    for want in ["LUT", "FF", "BRAM36", "DSP", "CARRY", "LUT levels", "53200", "xc7z020clg400-1"] {
        assert!(stdout.contains(want), "no `{want}` in:\n{stdout}");
    }
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("small.json")).unwrap()).unwrap();
    for key in [
        "lut",
        "ff",
        "bram36",
        "dsp",
        "lut_capacity",
        "logic_levels",
        "carry",
        "part",
        "config",
        "lut_percent",
        "yosys_version",
        "seconds",
    ] {
        assert!(j.get(key).is_some(), "no `{key}` in {j}");
    }
    assert_eq!(j["config"], "small");
    assert_eq!(j["lut_capacity"], 53_200);
    assert_eq!(j["family"], "xc7");
    let lut = j["lut"].as_u64().unwrap();
    // 16 PEs of ~300 LUTs plus the memory side and control: thousands of LUTs,
    // far from the device's capacity.
    assert!((4_000..40_000).contains(&lut), "small: {lut} LUTs");
    assert!(j["ff"].as_u64().unwrap() > 2_000 && j["bram36"].as_f64().unwrap() > 0.0, "{j}");
    assert!(j["logic_levels"].as_u64().unwrap() >= 2, "{j}");
    // --keep leaves yosys' work: the script, its log, the counts.
    for f in ["estimate.ys", "yosys.log", "stat.txt", "netlist.json", "zynqflow_top.v"] {
        assert!(dir.path().join("work").join(f).is_file(), "no {f} kept");
    }
}

#[test]
fn synth_estimate_without_yosys_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zynqflow"))
        .args(["synth-estimate", "--config", "small"])
        .current_dir(dir.path())
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("`yosys` is not installed") && err.contains("install the Debian package `yosys`"), "{err}");
}

#[test]
fn synth_estimate_refuses_unknown_configs_and_used_directories() {
    let dir = tempfile::tempdir().unwrap();
    let out = zynqflow(dir.path(), &["synth-estimate", "--config", "zcu104"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("known: small"));
    std::fs::create_dir(dir.path().join("used")).unwrap();
    std::fs::write(dir.path().join("used/x"), b"x").unwrap();
    let out = zynqflow(dir.path(), &["synth-estimate", "--config", "small", "--keep", "used"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not empty"));
    let out = zynqflow(dir.path(), &["synth-estimate", "--config", "small", "--json", "nodir/e.json"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

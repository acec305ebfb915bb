//! `--backend sim`: the accelerator's RTL in Verilator, through the same
//! runtime, gives byte-identical results to the CPU reference, prints its
//! cycle count and counters, and writes a waveform on `--trace`.
//!
//! The issue's exact command (LmFlowNetS 128x192 on `small`) takes minutes
//! of simulation: it is `#[ignore]`d here (`make test-sim-full` runs it); the
//! default run checks the same at 64x64.
#![cfg(feature = "sim")]

mod common;

use common::{zynqflow, zynqflow_ok};
use std::path::Path;

/// Runs `infer` on `backend` and returns (flow bytes, stdout).
fn infer(dir: &Path, backend: &str, size: &str, extra: &[&str]) -> (Vec<u8>, String) {
    let out = format!("{backend}-{size}.flo");
    let mut args = vec![
        "infer",
        "--backend",
        backend,
        "--config",
        "small",
        "--net",
        "lmflownets",
        "--synthetic-weights",
        "13",
        "--synthetic-frames",
        "2",
        "--size",
        size,
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    let o = zynqflow_ok(dir, &args);
    (std::fs::read(dir.join(&out)).unwrap(), String::from_utf8_lossy(&o.stdout).into_owned())
}

fn cycles_of(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.ends_with(" cycles") && l.starts_with("sim (small)"))
        .unwrap_or_else(|| panic!("no cycle line in {stdout}"));
    line.rsplit(' ').nth(1).unwrap().parse().unwrap()
}

fn same_as_cpu(size: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (cpu, _) = infer(dir.path(), "cpu", size, &[]);
    let (sim, stdout) = infer(dir.path(), "sim", size, &[]);
    assert!(cpu == sim, "{size}: sim and cpu flow files differ");
    let cycles = cycles_of(&stdout);
    assert!(cycles > 1000, "{stdout}");
    assert!(stdout.contains("counters: busy") && stdout.contains("0 SLVERR, 0 protocol errors"), "{stdout}");
    eprintln!("{size}: {stdout}");
}

#[test]
fn infer_on_the_rtl_is_byte_identical_to_cpu_64x64() {
    same_as_cpu("64x64");
}

#[test]
#[ignore = "minutes of simulation: `make test-sim-full`"]
fn infer_on_the_rtl_is_byte_identical_to_cpu_128x192() {
    same_as_cpu("128x192");
}

/// A `.npy` file as `np.save` writes it (version 1.0).
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}), }}", dims.join(", "));
    h.push_str(&" ".repeat(64 - (h.len() + 11) % 64));
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A 2-bit-in, binary-weight, 2-bit-out 3x3 layer and a raw 8-bit one.
fn write_layer(dir: &Path) {
    let (h, w, cin, cout) = (7, 9, 70, 5);
    let x: Vec<u8> = (0..h * w * cin).map(|i| ((i * 7 + i / 5) % 4) as u8).collect();
    let wt: Vec<u8> = (0..cout * 9 * cin).map(|i| if (i * 13 + i / 7) % 3 == 0 { 1 } else { 0xff }).collect();
    let mut t = Vec::new();
    for co in 0..cout as i32 {
        for v in [0, -20 + co, 3 + co, 25] {
            t.extend_from_slice(&i32::to_le_bytes(v));
        }
    }
    std::fs::write(dir.join("x.npy"), npy("|u1", &[h, w, cin], &x)).unwrap();
    std::fs::write(dir.join("w.npy"), npy("|i1", &[cout, 3, 3, cin], &wt)).unwrap();
    std::fs::write(dir.join("t.npy"), npy("<i4", &[cout, 4], &t)).unwrap();
    std::fs::write(dir.join("codes.json"), r#"{"kernel": 3, "pad": 1, "a_in": 2, "w_bits": 1, "a_out": 2}"#).unwrap();
    let w8: Vec<u8> = (0..cout * 4 * cin).map(|i| ((i * 37 + 11) % 256) as u8).collect();
    std::fs::write(dir.join("w8.npy"), npy("|i1", &[cout, 2, 2, cin], &w8)).unwrap();
    std::fs::write(dir.join("raw.json"), r#"{"kernel": 2, "stride": 2, "upsample": 2, "a_in": 2, "w_bits": 8}"#)
        .unwrap();
}

#[test]
fn sim_layer_is_byte_identical_to_cpu_and_writes_a_waveform() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_layer(d);
    for (spec, w, thr) in [("codes.json", "w.npy", Some("t.npy")), ("raw.json", "w8.npy", None)] {
        let mut outs = Vec::new();
        for backend in ["cpu", "sim"] {
            let out = format!("{backend}-{spec}.npy");
            let mut args = vec![
                "sim",
                "layer",
                "--spec",
                spec,
                "--input",
                "x.npy",
                "--weights",
                w,
                "--out",
                &out,
                "--backend",
                backend,
                "--config",
                "small",
            ];
            if let Some(t) = thr {
                args.extend(["--thresholds", t]);
            }
            let trace = format!("{spec}.fst");
            if backend == "sim" && thr.is_some() {
                args.extend(["--trace", &trace]);
            }
            let o = zynqflow_ok(d, &args);
            let stdout = String::from_utf8_lossy(&o.stdout);
            if backend == "sim" {
                assert!(stdout.lines().any(|l| l.starts_with("sim (small): ") && l.ends_with(" cycles")), "{stdout}");
                assert!(stdout.contains("MACs"), "{stdout}");
            }
            outs.push(std::fs::read(d.join(&out)).unwrap());
        }
        assert!(outs[0] == outs[1], "{spec}: sim and cpu outputs differ");
    }
    let fst = std::fs::read(d.join("codes.json.fst")).unwrap();
    assert!(fst.len() > 1000, "waveform of {} bytes", fst.len());
}

#[test]
fn trace_needs_the_sim_backend() {
    let dir = tempfile::tempdir().unwrap();
    let o = zynqflow(
        dir.path(),
        &[
            "infer",
            "--backend",
            "cpu",
            "--synthetic-weights",
            "1",
            "--synthetic-frames",
            "1",
            "--size",
            "64x64",
            "--out",
            "a.flo",
            "--trace",
            "a.fst",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--trace needs --backend sim"));
    assert!(!dir.path().join("a.flo").exists());
}

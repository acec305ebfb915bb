//! The accelerator's functional model, driven through the same runtime as a
//! board, gives byte-identical flow files to the CPU reference for both
//! networks, at a small and at the full resolution.

mod common;

use std::process::Command;

fn infer(dir: &std::path::Path, backend: &str, net: &str, size: &str) -> Vec<u8> {
    let out = dir.join(format!("{backend}-{net}-{size}.flo"));
    let o = Command::new(env!("CARGO_BIN_EXE_zynqflow"))
        .args([
            "infer",
            "--backend",
            backend,
            "--net",
            net,
            "--synthetic-weights",
            "7",
            "--synthetic-frames",
            "3",
            "--size",
            size,
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run zynqflow");
    assert!(o.status.success(), "{backend} {net} {size}: {}", String::from_utf8_lossy(&o.stderr));
    if backend == "model" {
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("descriptors") && stdout.contains("GMAC"), "{stdout}");
    }
    std::fs::read(out).unwrap()
}

#[test]
fn model_backend_is_byte_identical_to_cpu_for_both_networks_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    for net in ["lmflownets", "flownets"] {
        for size in ["128x192", "384x512"] {
            let cpu = infer(dir.path(), "cpu", net, size);
            let model = infer(dir.path(), "model", net, size);
            let (h, w): (usize, usize) = {
                let (a, b) = size.split_once('x').unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            };
            assert_eq!(cpu.len(), 12 + h * w * 8, "{net} {size}");
            assert!(cpu == model, "{net} {size}: model and cpu flow files differ");
        }
    }
}

#[test]
fn float_on_the_model_backend_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.flo");
    let o = Command::new(env!("CARGO_BIN_EXE_zynqflow"))
        .args([
            "infer",
            "--backend",
            "model",
            "--float",
            "--synthetic-weights",
            "1",
            "--synthetic-frames",
            "1",
            "--size",
            "64x64",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("only on the CPU backend"));
    assert!(!out.exists());
}

//! Every bad input of `zynqflow infer` fails cleanly: a non-zero exit code,
//! a single `error: ...` line on stderr naming the problem (and the file),
//! no panic, nothing on stdout and no file (not even a temporary) in the
//! output directory.

mod common;

use common::*;
use std::path::Path;

/// A test directory with an `in/` for inputs and an empty `out/` for outputs.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        Case { dir }
    }

    fn input(&self, name: &str) -> String {
        self.dir.path().join("in").join(name).to_str().unwrap().to_string()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.input(name), bytes).unwrap();
        self.input(name)
    }

    /// Runs `infer ARGS --out out/o.flo --png out/o.png` (unless ARGS give
    /// `--out`), expects a clean failure and returns the error line.
    fn fails(&self, args: &[&str], must_contain: &[&str]) -> String {
        let mut all = vec!["infer", "--backend", "cpu"];
        all.extend_from_slice(args);
        if !args.contains(&"--out") {
            all.extend(["--out", "out/o.flo", "--png", "out/o.png"]);
        }
        let out = zynqflow(self.dir.path(), &all);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "{args:?} succeeded: {stdout}");
        assert_eq!(out.status.code(), Some(1), "{args:?}: exit code 1 for a runtime error: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: stderr is one line:\n{stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        for m in must_contain {
            assert!(stderr.contains(m), "{args:?}: error should mention {m:?}: {stderr}");
        }
        assert!(stdout.is_empty(), "{args:?}: nothing on stdout: {stdout}");
        assert_eq!(
            entries(&self.dir.path().join("out")),
            Vec::<String>::new(),
            "{args:?}: output directory stays empty"
        );
        stderr.trim_end().to_string()
    }
}

const SYNTH: [&str; 6] = ["--synthetic-weights", "7", "--synthetic-frames", "3", "--size", "128x192"];

#[test]
fn missing_weights_file() {
    let c = Case::new();
    let w = c.input("nope.safetensors");
    let e = c.fails(&["--weights", &w, "--synthetic-frames", "3", "--size", "128x192"], &["nope.safetensors"]);
    let lower = e.to_lowercase();
    assert!(lower.contains("no such file") || lower.contains("not found"), "{e}");
    // The cause is said once, not repeated by the error chain.
    assert!(lower.matches("no such file").count() == 1, "cause repeated: {e}");
}

#[test]
fn weights_that_are_not_safetensors() {
    let c = Case::new();
    let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for (name, bytes) in [("noise.st", noise), ("empty.st", vec![]), ("text.st", b"{\"not\": \"weights\"}\n".to_vec())]
    {
        let w = c.write(name, &bytes);
        c.fails(&["--weights", &w, "--synthetic-frames", "3", "--size", "128x192"], &[name, "not a safetensors file"]);
    }
}

#[test]
fn weights_of_the_other_network() {
    let c = Case::new();
    let w = synth_weights(&c.dir.path().join("in"), "flownets", 7, "flownets.st");
    let w = w.to_str().unwrap();
    c.fails(
        &["--net", "lmflownets", "--weights", w, "--synthetic-frames", "3", "--size", "128x192"],
        &["flownets.st", "flownets", "lmflownets"],
    );
}

#[test]
fn corrupt_weight_files_name_the_file_and_the_tensor() {
    let c = Case::new();
    let good = std::fs::read(synth_weights(&c.dir.path().join("in"), "lmflownets", 7, "good.st")).unwrap();
    let args = |w: &str| {
        vec!["--net", "lmflownets", "--weights", w, "--synthetic-frames", "3", "--size", "128x192"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let run = |name: &str, bytes: &[u8], must: &[&str]| {
        let w = c.write(name, bytes);
        let a = args(&w);
        c.fails(&a.iter().map(String::as_str).collect::<Vec<_>>(), must)
    };

    // Truncated: the last tensor's data is cut short, then only the header is left.
    run("cut.st", &good[..good.len() - 1000], &["cut.st", "not a safetensors file"]);
    let (_, data_start) = st_header(&good);
    run("header-only.st", &good[..data_start], &["header-only.st", "not a safetensors file"]);

    // Wrong shape (same number of values, so the file itself stays valid).
    let shape = st_patch_entry(&good, "conv2.weight", "[128,256,3,3]", "[256,128,3,3]");
    let e = run("shape.st", &shape, &["shape.st", "'conv2.weight'", "[256, 128, 3, 3]", "[128, 256, 3, 3]"]);
    assert!(e.contains("expected"), "{e}");

    // Wrong dtype (I32 has the same size as F32).
    let dtype = st_patch_entry(&good, "conv2.weight", "\"F32\"", "\"I32\"");
    run("dtype.st", &dtype, &["dtype.st", "'conv2.weight'", "I32", "F32"]);

    // A NaN in a flow bias, and an infinity in a kernel.
    let mut nan = good.clone();
    let (r, _, _) = st_tensor(&good, "predict_flow3.bias");
    assert_eq!(r.len(), 8, "predict_flow3.bias is 2 f32");
    nan[r.start + 4..r.start + 8].copy_from_slice(&f32::NAN.to_le_bytes());
    run("nan.st", &nan, &["nan.st", "'predict_flow3.bias'", "NaN", "index 1"]);
    let mut inf = good.clone();
    let (r, _, _) = st_tensor(&good, "conv4_1.weight");
    inf[r.start..r.start + 4].copy_from_slice(&f32::INFINITY.to_le_bytes());
    run("inf.st", &inf, &["inf.st", "'conv4_1.weight'", "infinity"]);

    // A negative variance.
    let mut neg = good.clone();
    let (r, _, _) = st_tensor(&good, "deconv3.bn.running_var");
    neg[r.start + 8..r.start + 12].copy_from_slice(&(-1.0f32).to_le_bytes());
    run("var.st", &neg, &["var.st", "'deconv3.bn.running_var'", "negative variance", "index 2"]);

    // The unpatched file works (the failures above are the patches').
    let w = c.write("good.st", &good);
    let a = args(&w);
    let mut all = vec!["infer"];
    all.extend(a.iter().map(String::as_str));
    all.extend(["--out", "out/ok.flo"]);
    zynqflow_ok(c.dir.path(), &all);
}

#[test]
fn missing_frame_file() {
    let c = Case::new();
    write_ppm(Path::new(&c.input("a.ppm")), 192, 128, 0.0, 0.0, 1);
    let (a, b) = (c.input("a.ppm"), c.input("missing.ppm"));
    let e = c.fails(&["--synthetic-weights", "7", "--frames", &a, &b], &["missing.ppm"]);
    assert!(e.starts_with("error: frame '") && e.ends_with("no such file"), "{e}");
}

#[test]
fn frame_that_is_not_an_image() {
    let c = Case::new();
    let t = c.write("notes.png", b"these are notes, not pixels\n");
    write_ppm(Path::new(&c.input("b.ppm")), 192, 128, 0.0, 0.0, 1);
    c.fails(&["--synthetic-weights", "7", "--frames", &t, &c.input("b.ppm")], &["notes.png", "not a PNG or PPM image"]);
    // A PPM header with too few pixels is an image that cannot be decoded.
    let cut = c.write("cut.ppm", b"P6\n192 128\n255\n\x01\x02\x03");
    c.fails(&["--synthetic-weights", "7", "--frames", &cut, &c.input("b.ppm")], &["cut.ppm", "cannot decode"]);
}

#[test]
fn frames_of_different_sizes() {
    let c = Case::new();
    write_ppm(Path::new(&c.input("a.ppm")), 192, 128, 0.0, 0.0, 1);
    write_ppm(Path::new(&c.input("b.ppm")), 256, 128, 0.0, 0.0, 2);
    let (a, b) = (c.input("a.ppm"), c.input("b.ppm"));
    for size in [None, Some("128x192")] {
        let mut args = vec!["--synthetic-weights", "7", "--frames", &a, &b];
        args.extend(size.iter().flat_map(|s| ["--size", s]));
        c.fails(&args, &["b.ppm", "256x128", "differs", "192x128"]);
    }
}

#[test]
fn size_not_a_multiple_of_64() {
    let c = Case::new();
    c.fails(
        &["--synthetic-weights", "7", "--synthetic-frames", "3", "--size", "100x192"],
        &["100x192", "multiple of 64"],
    );
    // With frames too: the size is refused before the frames are resized
    // (no resizing warning, a single line).
    write_ppm(Path::new(&c.input("a.ppm")), 192, 128, 0.0, 0.0, 1);
    write_ppm(Path::new(&c.input("b.ppm")), 192, 128, 1.0, 0.0, 2);
    let (a, b) = (c.input("a.ppm"), c.input("b.ppm"));
    c.fails(&["--synthetic-weights", "7", "--frames", &a, &b, "--size", "100x192"], &["100x192", "multiple of 64"]);
}

#[test]
fn output_directory_that_does_not_exist() {
    let c = Case::new();
    let mut args = SYNTH.to_vec();
    args.extend(["--out", "out/nodir/o.flo"]);
    c.fails(&args, &["out/nodir/o.flo", "does not exist"]);
    let mut args = SYNTH.to_vec();
    args.extend(["--out", "out/o.flo", "--png", "out/nodir/o.png"]);
    c.fails(&args, &["out/nodir/o.png", "does not exist"]);
    // An output that is a directory.
    let mut args = SYNTH.to_vec();
    args.extend(["--out", "in"]);
    c.fails(&args, &["'in'", "is a directory"]);
}

#[test]
fn malformed_size_is_a_usage_error() {
    let c = Case::new();
    for bad in ["abc", "128x", "128x-64", "x192"] {
        let out = zynqflow(
            c.dir.path(),
            &["infer", "--synthetic-weights", "7", "--synthetic-frames", "3", "--size", bad, "--out", "out/o.flo"],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: clap usage error: {err}");
        assert!(!err.contains("panicked"), "{err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: ") && first.contains(&format!("'{bad}'")) && first.contains("HxW"), "{err}");
        assert!(entries(&c.dir.path().join("out")).is_empty());
    }
}

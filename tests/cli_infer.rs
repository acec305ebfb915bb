//! The acceptance checks of `zynqflow infer` and `zynqflow net`, run on the
//! real binary: valid and reproducible `.flo`/PNG output for both networks,
//! the float path, weight files, frame files and their resizing, and the
//! per-layer totals.

mod common;

use common::*;
use zynqflow_driver::io;

const W: usize = 192;
const H: usize = 128;

/// Checks both outputs of one run: a valid, non-constant `W × H` flow, and a
/// PNG that is exactly the colour wheel of that flow.
fn check_outputs(dir: &std::path::Path, flo: &[u8], png: &[u8], png_name: &str) {
    check_flo(flo, W, H);
    check_png(png, W as u32, H as u32);
    let flow = io::decode_flo(flo, std::path::Path::new("x.flo")).unwrap();
    let img = io::load_frame(&dir.join(png_name)).expect("the PNG decodes");
    assert_eq!((img.width(), img.height()), (W as u32, H as u32));
    assert_eq!(img.as_raw(), &io::flow_to_rgb(&flow), "the PNG is the colour wheel of the .flo");
}

fn synthetic_run_is_valid_and_reproducible(net: &str) {
    let d = tempfile::tempdir().unwrap();
    let (flo, png) = infer_synthetic(d.path(), net, "a", &[]);
    check_outputs(d.path(), &flo, &png, "a.png");
    let (flo2, png2) = infer_synthetic(d.path(), net, "b", &[]);
    assert!(flo == flo2, "{net}: a second run gives the same .flo bytes");
    assert!(png == png2, "{net}: a second run gives the same PNG bytes");
    assert_eq!(entries(d.path()), ["a.flo", "a.png", "b.flo", "b.png"], "no temporary left behind");
}

#[test]
fn lmflownets_synthetic_run_is_valid_and_reproducible() {
    synthetic_run_is_valid_and_reproducible("lmflownets");
}

#[test]
fn flownets_synthetic_run_is_valid_and_reproducible() {
    synthetic_run_is_valid_and_reproducible("flownets");
}

#[test]
fn float_path_gives_a_valid_flow_that_differs_from_the_quantized_one() {
    let d = tempfile::tempdir().unwrap();
    let (q, _) = infer_synthetic(d.path(), "lmflownets", "q", &[]);
    let (f, fpng) = infer_synthetic(d.path(), "lmflownets", "f", &["--float"]);
    check_outputs(d.path(), &f, &fpng, "f.png");
    let (qu, qv) = check_flo(&q, W, H);
    let (fu, fv) = check_flo(&f, W, H);
    assert_eq!(q[..12], f[..12], "same header");
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).filter(|(x, y)| x != y).count();
    let n = W * H;
    // Quantization changes the result, but not into something unrelated to
    // the float network: most pixels differ, and both have a similar spread.
    assert!(diff(&qu, &fu) > n / 2 && diff(&qv, &fv) > n / 2, "float and quantized differ");
    for (a, b) in [(&qu, &fu), (&qv, &fv)] {
        let r = std_dev(a) / std_dev(b);
        assert!((0.1..10.0).contains(&r), "spread ratio {r}");
    }
}

#[test]
fn weights_file_from_synth_gives_the_same_output_as_synthetic_weights() {
    let d = tempfile::tempdir().unwrap();
    let w = synth_weights(d.path(), "lmflownets", 7, "w.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    let (header, _) = st_header(&bytes);
    assert!(header.contains("\"net\":\"lmflownets\""), "metadata names the network");
    let (flo_s, png_s) = infer_synthetic(d.path(), "lmflownets", "s", &[]);
    let (flo_w, png_w) = infer_synthetic(d.path(), "lmflownets", "w", &["--weights", "w.safetensors"]);
    assert!(flo_s == flo_w, "--weights (synth seed 7) and --synthetic-weights 7 give the same .flo");
    assert!(png_s == png_w, "... and the same PNG");
    // Another seed gives other weights, hence another flow.
    synth_weights(d.path(), "lmflownets", 8, "w8.safetensors");
    let (flo_8, _) = infer_synthetic(d.path(), "lmflownets", "w8", &["--weights", "w8.safetensors"]);
    check_flo(&flo_8, W, H);
    assert!(flo_8 != flo_s, "seed 8 differs from seed 7");
}

#[test]
fn weights_synth_is_byte_reproducible_across_runs() {
    let d = tempfile::tempdir().unwrap();
    let files: Vec<Vec<u8>> =
        (0..3).map(|i| std::fs::read(synth_weights(d.path(), "flownets", 5, &format!("w{i}.st"))).unwrap()).collect();
    // The metadata object comes first in the header; compare it alone first
    // for a readable message.
    let meta = |f: &[u8]| {
        let (h, _) = st_header(f);
        h[..h.find('}').unwrap() + 1].to_string()
    };
    for (i, f) in files.iter().enumerate().skip(1) {
        assert_eq!(meta(f), meta(&files[0]), "run {i}: same metadata (keys in a fixed order)");
        assert!(f == &files[0], "run {i}: same bytes");
    }
}

#[test]
fn synthetic_frames_saved_as_png_or_ppm_give_the_synthetic_result() {
    let d = tempfile::tempdir().unwrap();
    let (a, b, _) = io::synthetic_pair(3, H, W);
    io::save_png(&d.path().join("a.png"), &a).unwrap();
    io::save_png(&d.path().join("b.png"), &b).unwrap();
    io::save_ppm(&d.path().join("a.ppm"), &a).unwrap();
    io::save_ppm(&d.path().join("b.ppm"), &b).unwrap();
    let (reference, _) = infer_synthetic(d.path(), "lmflownets", "s", &[]);
    // No --size: the frames' own size (a multiple of 64) is used.
    for (fa, fb) in [("a.png", "b.png"), ("a.ppm", "b.ppm"), ("a.png", "b.ppm")] {
        let out = zynqflow_ok(
            d.path(),
            &["infer", "--net", "lmflownets", "--synthetic-weights", "7", "--frames", fa, fb, "--out", "f.flo"],
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("f.flo"), "reports what it wrote");
        let flo = std::fs::read(d.path().join("f.flo")).unwrap();
        assert!(flo == reference, "{fa} {fb}: same flow as --synthetic-frames 3");
    }
}

#[test]
fn ppm_frames_of_the_network_size_give_a_valid_flow() {
    let d = tempfile::tempdir().unwrap();
    write_ppm(&d.path().join("a.ppm"), W, H, 0.0, 0.0, 1);
    write_ppm(&d.path().join("b.ppm"), W, H, 3.0, -2.0, 2);
    let frames = ["--frames", "a.ppm", "b.ppm"];
    let (flo, png) = infer_synthetic(d.path(), "lmflownets", "o", &frames);
    check_outputs(d.path(), &flo, &png, "o.png");
    let (flo_f, _) = infer_synthetic(d.path(), "flownets", "of", &frames);
    check_flo(&flo_f, W, H);
    // The frames matter: swapping them changes the flow.
    let (swapped, _) = infer_synthetic(d.path(), "lmflownets", "sw", &["--frames", "b.ppm", "a.ppm"]);
    check_flo(&swapped, W, H);
    assert!(swapped != flo, "swapping the frames changes the flow");
}

#[test]
fn frames_of_another_size_are_resized_to_size_and_refused_without_it() {
    let d = tempfile::tempdir().unwrap();
    write_ppm(&d.path().join("a.ppm"), 190, 130, 0.0, 0.0, 1);
    write_ppm(&d.path().join("b.ppm"), 190, 130, 2.0, 1.0, 2);
    let (flo, png) = infer_synthetic(d.path(), "lmflownets", "r", &["--frames", "a.ppm", "b.ppm"]);
    check_outputs(d.path(), &flo, &png, "r.png");

    let out =
        zynqflow(d.path(), &["infer", "--synthetic-weights", "7", "--frames", "a.ppm", "b.ppm", "--out", "n.flo"]);
    assert!(!out.status.success(), "130x190 frames without --size are refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("a.ppm") && err.contains("multiple of 64"), "{err}");
    assert!(err.contains("--size 128x192"), "suggests the nearest size: {err}");
    assert!(!d.path().join("n.flo").exists());
}

/// The `total:` line of `zynqflow net`.
fn net_total(net: &str, size: &str) -> (String, usize) {
    let d = tempfile::tempdir().unwrap();
    let out = zynqflow_ok(d.path(), &["net", "--net", net, "--size", size]);
    let s = String::from_utf8(out.stdout).unwrap();
    let total = s.lines().find(|l| l.starts_with("total:")).unwrap_or_else(|| panic!("no total line in\n{s}"));
    (total.to_string(), s.lines().count())
}

#[test]
fn net_prints_the_hand_counted_totals() {
    // Hand counts (sum of out pixels × taps × Cin × Cout over the layers of
    // host-driver/src/graph/{lmflownets,flownets}.rs at 384x512):
    // LmFlowNetS 28.072 GMAC (conv1 reads 24 s2d channels), FlowNetS 15.788
    // GMAC (a 4x4/2 deconvolution forms 4 products per output and input channel).
    let (t, lines) = net_total("lmflownets", "384x512");
    assert_eq!(t, "total: 28.07 GMAC, 57.7 M parameters, 24 convolutions");
    assert!(lines > 24 + 2, "one row per node");
    let (t, _) = net_total("flownets", "384x512");
    assert_eq!(t, "total: 15.79 GMAC, 38.7 M parameters, 23 convolutions");
    // MACs scale with the pixel count; parameters do not.
    let (t, _) = net_total("flownets", "192x256");
    assert!(t.starts_with("total: 3.95 GMAC, 38.7 M parameters"), "{t}");
}

#[test]
fn truth_png_shows_the_synthetic_pairs_flow_and_reports_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "infer",
        "--synthetic-weights",
        "2",
        "--synthetic-frames",
        "5",
        "--size",
        "64x128",
        "--out",
        "f.flo",
        "--truth-png",
        "t.png",
    ];
    let o = zynqflow_ok(dir.path(), &args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("average end-point error") && stdout.contains(" px"), "{stdout}");
    check_png(&std::fs::read(dir.path().join("t.png")).unwrap(), 128, 64);
    // Only a synthetic pair has a known flow.
    common::write_ppm(&dir.path().join("a.ppm"), 128, 64, 0.0, 0.0, 1);
    common::write_ppm(&dir.path().join("b.ppm"), 128, 64, 1.0, 0.0, 1);
    let o = zynqflow(
        dir.path(),
        &["infer", "--synthetic-weights", "2", "--frames", "a.ppm", "b.ppm", "--out", "g.flo", "--truth-png", "u.png"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--truth-png needs --synthetic-frames"));
    assert!(!dir.path().join("g.flo").exists() && !dir.path().join("u.png").exists());
}

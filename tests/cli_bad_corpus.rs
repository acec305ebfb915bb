//! The bad-input corpus in tests/data/bad/ (written by `make_corpus.py`
//! there; docs/robustness.md lists it): one test per file, each running every
//! command that reads that kind of file and expecting a clean failure: exit
//! code 1, a single line `error: ...` on stderr naming the file and the
//! problem, no panic, nothing on stdout, and nothing at all (not even a
//! temporary) in the output directory. The valid companions of a case are in
//! tests/data/bad/ok/, so that each case fails because of its one bad file.
//!
//! Also here: the bad inputs that are not files (a size that is not a
//! multiple of 64 or is absurdly large, a board root that does not exist,
//! missing files), and a check that every corpus file has its case.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The corpus directory.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

/// Absolute path of corpus file `rel` (e.g. `weights/nan.safetensors`).
fn bad(rel: &str) -> String {
    let p = corpus_dir().join(rel);
    assert!(p.is_file(), "corpus file {} is missing: run tests/data/bad/make_corpus.py", p.display());
    p.to_str().unwrap().to_string()
}

/// Runs `zynqflow ARGS` in a fresh directory with an empty `out/` (where
/// every output argument points), expects a clean failure whose message
/// contains each of `must`, and returns the message.
fn fails(args: &[&str], must: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let out = zynqflow(dir.path(), args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{args:?}: exit code 1 for a bad input:\n{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: stderr is one line:\n{stderr}");
    assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    for m in must {
        assert!(stderr.contains(m), "{args:?}: the error should mention {m:?}: {stderr}");
    }
    assert!(stdout.is_empty(), "{args:?}: nothing on stdout: {stdout}");
    assert_eq!(entries(&dir.path().join("out")), Vec::<String>::new(), "{args:?}: the output directory stays empty");
    stderr.trim_end().to_string()
}

/// `must` plus the file's name: every message names the bad file.
fn naming<'a>(file: &'a str, must: &[&'a str]) -> Vec<&'a str> {
    let name = file.rsplit('/').next().unwrap();
    std::iter::once(name).chain(must.iter().copied()).collect()
}

/// A weights file, through `weights check` and `infer`.
fn weights(file: &str, must: &[&str]) {
    let (w, must) = (bad(file), naming(file, must));
    let e = fails(&["weights", "check", "--weights", &w], &must);
    assert!(e.starts_with(&format!("error: weights '{w}': ")), "{e}");
    fails(
        &[
            "infer",
            "--weights",
            &w,
            "--synthetic-frames",
            "3",
            "--size",
            "64x64",
            "--out",
            "out/o.flo",
            "--png",
            "out/o.png",
        ],
        &must,
    );
}

/// `infer --frames A B` with synthetic weights, writing into `out/`.
fn infer_frames(a: &str, b: &str, must: &[&str]) -> String {
    fails(&["infer", "--synthetic-weights", "7", "--frames", a, b, "--out", "out/o.flo", "--png", "out/o.png"], must)
}

/// A frame whose content is bad: as the first frame and as the second.
fn frame(file: &str, must: &[&str]) {
    let (f, ok, must) = (bad(file), bad("ok/frame.png"), naming(file, must));
    for (a, b) in [(&f, &ok), (&ok, &f)] {
        let e = infer_frames(a, b, &must);
        assert!(e.starts_with(&format!("error: frame '{f}': ")), "{e}");
    }
}

/// A frame whose size is bad: the pair is the frame twice.
fn frame_size(file: &str, must: &[&str]) {
    let f = bad(file);
    infer_frames(&f, &f, must);
}

/// A frame of another size than the valid 64x64 one it is paired with.
fn frame_vs_ok(file: &str, must: &[&str]) {
    let (f, ok) = (bad(file), bad("ok/frame.png"));
    infer_frames(&f, &ok, &naming(file, &[&["frame.png", "differs"], must].concat()));
}

/// A frame that is not 8-bit RGB: converted (documented in
/// `io::frames::load_frame`), with an info line naming the file and its colour type.
fn converted(file: &str, colour: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let f = bad(file);
    let out = zynqflow_ok(
        dir.path(),
        &["infer", "--synthetic-weights", "7", "--frames", &f, &bad("ok/frame.png"), "--out", "o.flo"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = format!("frame '{f}': converting {} to 8-bit RGB", colour[0]);
    assert!(stderr.lines().any(|l| l.ends_with(&line)), "{file}: expected {line:?} in:\n{stderr}");
    check_flo(&std::fs::read(dir.path().join("o.flo")).unwrap(), 64, 64);
}

/// `sim layer` on the valid layer in ok/, with `slot` (`--spec`, `--input`,
/// `--weights`, `--thresholds`) replaced by `file`, on the CPU and the model.
fn sim_layer(slot: &str, file: &str, must: &[&str]) {
    let (f, must) = (bad(file), naming(file, must));
    let ok = |name: &str| bad(&format!("ok/{name}"));
    for backend in ["cpu", "model"] {
        let mut args = vec!["sim".to_string(), "layer".into(), "--backend".into(), backend.into()];
        for (flag, name) in
            [("--spec", "layer.json"), ("--input", "x.npy"), ("--weights", "w.npy"), ("--thresholds", "t.npy")]
        {
            args.extend([flag.to_string(), if flag == slot { f.clone() } else { ok(name) }]);
        }
        args.extend(["--out".into(), "out/y.npy".into()]);
        fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &must);
    }
}

fn spec(file: &str, must: &[&str]) {
    sim_layer("--spec", file, must)
}

fn input(file: &str, must: &[&str]) {
    sim_layer("--input", file, must)
}

fn weights_npy(file: &str, must: &[&str]) {
    sim_layer("--weights", file, must)
}

fn thresholds(file: &str, must: &[&str]) {
    sim_layer("--thresholds", file, must)
}

/// One `#[test]` per corpus file: `test_name: kind("file", "must", ...);`,
/// and the list of the files in `CORPUS`.
macro_rules! corpus {
    ($( $test:ident : $kind:ident ( $file:literal $(, $must:literal)* ); )*) => {
        $(
            #[test]
            fn $test() {
                $kind($file, &[$($must),*]);
            }
        )*
        /// Every corpus file that has a case above.
        const CORPUS: &[&str] = &[$($file),*];
    };
}

corpus! {
    // Weights: not safetensors at all.
    weights_text: weights("weights/text.safetensors", "not a safetensors file", "header length of", "more than safetensors allows");
    weights_empty: weights("weights/empty.safetensors", "not a safetensors file", "0 bytes, shorter than the 8-byte header length");
    weights_short: weights("weights/short.safetensors", "3 bytes, shorter than the 8-byte header length");
    weights_noise: weights("weights/noise.safetensors", "not a safetensors file", "header length of");
    weights_header_length_huge: weights("weights/header-length-huge.safetensors", "header length of 4611686018427387904 bytes");
    weights_header_past_end: weights("weights/header-past-end.safetensors", "truncated", "header length of 4096 bytes, only 19 follow");
    weights_header_not_json: weights("weights/header-not-json.safetensors", "not a safetensors JSON header");
    weights_header_not_utf8: weights("weights/header-not-utf8.safetensors", "not UTF-8");
    // Weights: safetensors whose header and data disagree.
    weights_offsets_past_end: weights("weights/offsets-past-end.safetensors", "truncated or padded", "0 data bytes after the header");
    weights_offsets_reversed: weights("weights/offsets-reversed.safetensors", "tensor 'conv1.weight'", "data_offsets");
    weights_shape_size_mismatch: weights("weights/shape-size-mismatch.safetensors", "data_offsets do not span its shape");
    weights_unknown_dtype: weights("weights/unknown-dtype.safetensors", "known dtype");
    weights_data_cut: weights("weights/data-cut.safetensors", "truncated or padded");
    // Weights: valid safetensors, not what the network needs.
    weights_wrong_names: weights("weights/wrong-names.safetensors", "missing tensor 'conv1.weight'");
    weights_conv1_only: weights("weights/conv1-only.safetensors", "missing tensor 'conv1.bn.weight'");
    weights_wrong_shape: weights("weights/wrong-shape.safetensors", "'conv1.weight' is F32 [64, 24, 9], expected F32 [64, 24, 3, 3]");
    weights_wrong_dtype: weights("weights/wrong-dtype.safetensors", "'conv1.weight' is F16 [4], expected F32 [64, 24, 3, 3]");
    weights_wrong_net: weights("weights/wrong-net.safetensors", "made for network 'flownets', not 'lmflownets'");
    weights_wrong_format: weights("weights/wrong-format.safetensors", "metadata format is 'pytorch', expected 'zynqflow-weights'");
    weights_nan: weights("weights/nan.safetensors", "'conv1.weight' holds NaN at index 5");
    weights_inf: weights("weights/inf.safetensors", "'conv1.weight' holds infinity at index 0");

    // Frames: not an image, or a broken one.
    frame_text: frame("frames/text.png", "not a PNG or PPM image (unrecognised content)");
    frame_empty: frame("frames/empty.png", "not a PNG or PPM image (empty file)");
    frame_jpeg: frame("frames/jpeg.png", "found jpg, which is not supported");
    frame_gif: frame("frames/gif.png", "found gif, which is not supported");
    frame_signature_only: frame("frames/signature-only.png", "cannot decode");
    frame_cut_png: frame("frames/cut.png", "cannot decode (truncated: the file ends before its pixels do");
    frame_bad_crc: frame("frames/bad-crc.png", "cannot decode", "CRC");
    frame_zero_width: frame("frames/zero-width.png", "cannot decode", "dimensions");
    frame_cut_ppm: frame("frames/cut.ppm", "cannot decode (truncated: the file ends before its pixels do");
    frame_bad_ppm_header: frame("frames/bad-ppm-header.ppm", "cannot decode", "preamble");
    frame_huge_png: frame("frames/huge.png", "cannot decode", "limit");
    frame_huge_ppm: frame("frames/huge.ppm", "cannot decode", "limit");
    // Frames: the wrong size.
    frame_size_100x60: frame_size("frames/size-100x60.png", "size-100x60.png", "size 100x60 is not a multiple of 64", "--size 64x128");
    frame_size_16384x64: frame_size("frames/size-16384x64.png", "size 16384x64 is larger than the network takes", "--size 64x8192");
    frame_size_128x64: frame_vs_ok("frames/size-128x64.png", "size 64x64 differs from the first frame's 128x64");
    // Frames that are not 8-bit RGB are converted, not refused.
    frame_gray: converted("frames/gray.png", "L8");
    frame_rgba: converted("frames/rgba.png", "Rgba8");
    frame_rgb16: converted("frames/rgb16.png", "Rgb16");

    // `.npy` files that are not (valid) .npy.
    npy_text: input("npy/text.npy", "array file", "not a .npy file");
    npy_empty: input("npy/empty.npy", "not a .npy file");
    npy_zip: input("npy/zip.npy", "not a .npy file (starts with \"PK");
    npy_magic_only: input("npy/magic-only.npy", "truncated: 6 bytes, no format version");
    npy_version_9: input("npy/version-9.npy", "format version 9.0 is not supported");
    npy_header_cut: input("npy/header-cut.npy", "truncated: header of 118 bytes, 30 left");
    npy_header_not_a_dict: input("npy/header-not-a-dict.npy", "bad header: expected '{'");
    npy_header_no_newline: input("npy/header-no-newline.npy", "bad header", "newline");
    npy_header_unknown_key: input("npy/header-unknown-key.npy", "unknown key 'fortran_ordex'");
    npy_negative_dim: input("npy/negative-dim.npy", "'-6' is not a non-negative integer");
    npy_huge_shape: input("npy/huge-shape.npy", "is too large");
    npy_data_cut: input("npy/data-cut.npy", "truncated: shape (6, 5, 4) uint8 needs 120 data bytes, the file has 119");
    npy_trailing: input("npy/trailing.npy", "2 trailing bytes");
    // `.npy` files of a dtype or layout the layer does not take.
    npy_float32: input("npy/float32.npy", "dtype '<f4' (float32) is not supported");
    npy_int64: input("npy/int64.npy", "dtype '<i8' (int64) is not supported");
    npy_big_endian: thresholds("npy/big-endian.npy", "dtype '>i4' (big-endian) is not supported");
    npy_fortran: input("npy/fortran.npy", "fortran_order is True");
    // `.npy` files that are valid arrays, wrong for the layer.
    npy_input_2d: input("npy/input-2d.npy", "input", "shape (30, 4) is not [H, W, Cin]");
    npy_input_batch_2: input("npy/input-batch-2.npy", "shape (2, 6, 5, 4) is not [H, W, Cin] or [1, H, W, Cin]");
    npy_input_zero_dim: input("npy/input-zero-dim.npy", "shape (0, 5, 4) has a zero dimension");
    npy_input_code_4: input("npy/input-code-4.npy", "code 4 at [1, 4, 1] is too large for a_in = 2");
    npy_input_3_channels: input("npy/input-3-channels.npy", "w.npy", "Cin 4", "Cin 3");
    npy_weights_uint8: weights_npy("npy/weights-uint8.npy", "dtype uint8", "expected int8");
    npy_weights_3d: weights_npy("npy/weights-3d.npy", "shape (3, 9, 4) is not [Cout, Kh, Kw, Cin]");
    npy_weights_kernel_5: weights_npy("npy/weights-kernel-5.npy", "kernel 5x5", "layer.json", "kernel 3x3");
    npy_weights_not_binary: weights_npy("npy/weights-not-binary.npy", "value 0 at [1, 1, 0, 2] is not -1 or +1");
    npy_thresholds_int8: thresholds("npy/thresholds-int8.npy", "dtype int8", "expected int32");
    npy_thresholds_shape: thresholds("npy/thresholds-shape.npy", "shape (3, 3) is not [Cout, 2^a_out] = [3, 4]");
    npy_thresholds_unsorted: thresholds("npy/thresholds-unsorted.npy", "row 0: thresholds not ascending");
    npy_thresholds_mode_7: thresholds("npy/thresholds-mode-7.npy", "row 2: mode 7");
    npy_thresholds_constant_4: thresholds("npy/thresholds-constant-4.npy", "row 2: constant code 4 is too large for a_out = 2");

    // Layer specs: not a JSON object.
    spec_empty: spec("spec/empty.json", "not valid JSON");
    spec_not_json: spec("spec/not-json.json", "not valid JSON");
    spec_cut: spec("spec/cut.json", "not valid JSON", "EOF");
    spec_not_utf8: spec("spec/not-utf8.json", "not UTF-8 text");
    spec_array: spec("spec/array.json", "not a JSON object");
    // Layer specs: fields missing, unknown or repeated.
    spec_missing_kernel: spec("spec/missing-kernel.json", "missing field `kernel`");
    spec_missing_a_in: spec("spec/missing-a_in.json", "missing field `a_in`");
    spec_missing_w_bits: spec("spec/missing-w_bits.json", "missing field `w_bits`");
    spec_unknown_field: spec("spec/unknown-field.json", "unknown field `strid`");
    spec_duplicate_field: spec("spec/duplicate-field.json", "duplicate field `kernel`");
    // Layer specs: fields out of range or of the wrong type.
    spec_kernel_0: spec("spec/kernel-0.json", "field 'kernel': 0 is outside 1..=7");
    spec_kernel_8: spec("spec/kernel-8.json", "field 'kernel': 8 is outside 1..=7");
    spec_kernel_3_items: spec("spec/kernel-3-items.json", "field 'kernel'", "[kh, kw]");
    spec_kernel_string: spec("spec/kernel-string.json", "field 'kernel'", "\"3\"");
    spec_kernel_float: spec("spec/kernel-float.json", "field 'kernel': expected an integer", "3.0");
    spec_stride_3: spec("spec/stride-3.json", "field 'stride': 3 is outside 1..=2");
    spec_stride_negative: spec("spec/stride-negative.json", "field 'stride'", "-1");
    spec_pad_3: spec("spec/pad-3.json", "field 'pad': 3 is outside 0..=2");
    spec_upsample_4: spec("spec/upsample-4.json", "field 'upsample': 4 is outside 1..=2");
    spec_transposed_number: spec("spec/transposed-number.json", "field 'transposed': expected true or false");
    spec_transposed_upsample: spec("spec/transposed-upsample.json", "a transposed convolution cannot also upsample");
    spec_a_in_0: spec("spec/a_in-0.json", "field 'a_in': 0 is outside 1..=8");
    spec_a_in_9: spec("spec/a_in-9.json", "field 'a_in': 9 is outside 1..=8");
    spec_w_bits_9: spec("spec/w_bits-9.json", "field 'w_bits': 9 is outside 1..=8");
    spec_a_out_0: spec("spec/a_out-0.json", "field 'a_out': 0 is outside 1..=8");
    spec_a_out_huge: spec("spec/a_out-huge.json", "field 'a_out': expected an integer in 1..=8");
    spec_no_a_out: spec("spec/no-a_out.json", "--thresholds", "given", "has no a_out");
}

#[test]
fn every_corpus_file_has_a_case() {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_str().unwrap().to_string());
            }
        }
    }
    let root = corpus_dir();
    let mut files = BTreeSet::new();
    walk(&root, &root, &mut files);
    let helpers: BTreeSet<String> =
        files.iter().filter(|f| f.starts_with("ok/") || !f.contains('/')).cloned().collect();
    let cases: BTreeSet<String> = CORPUS.iter().map(|s| s.to_string()).collect();
    assert_eq!(cases.len(), CORPUS.len(), "a file has two cases");
    let without_case: Vec<_> = files.difference(&helpers).filter(|f| !cases.contains(*f)).collect();
    assert!(without_case.is_empty(), "corpus files without a case in {}: {without_case:?}", file!());
    let without_file: Vec<_> = cases.difference(&files).collect();
    assert!(without_file.is_empty(), "cases without a corpus file: {without_file:?}");
    assert_eq!(helpers.iter().filter(|f| f.starts_with("ok/")).count(), 5, "{helpers:?}");
    // Small enough to keep in git.
    let total: u64 = files.iter().map(|f| std::fs::metadata(root.join(f)).unwrap().len()).sum();
    assert!(total < 512 * 1024, "the corpus is {total} bytes");
}

#[test]
fn the_valid_companions_are_valid() {
    let ok = |name: &str| bad(&format!("ok/{name}"));
    let dir = tempfile::tempdir().unwrap();
    let args = ["sim", "layer", "--spec", &ok("layer.json"), "--input", &ok("x.npy"), "--weights", &ok("w.npy")];
    let out = zynqflow_ok(dir.path(), &[&args[..], &["--thresholds", &ok("t.npy"), "--out", "y.npy"]].concat());
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("wrote y.npy: (6, 5, 3) uint8 codes (a_out = 2)\n"));
    let f = ok("frame.png");
    zynqflow_ok(
        dir.path(),
        &["infer", "--synthetic-weights", "7", "--frames", &f, &f, "--out", "o.flo", "--png", "o.png"],
    );
    check_png(&std::fs::read(dir.path().join("o.png")).unwrap(), 64, 64);
}

#[test]
fn missing_files_are_named() {
    let ok = |name: &str| bad(&format!("ok/{name}"));
    fails(&["weights", "check", "--weights", "nope.safetensors"], &["weights 'nope.safetensors'", "No such file"]);
    for slot in ["--spec", "--input", "--weights", "--thresholds"] {
        let mut args = vec!["sim".to_string(), "layer".into()];
        for (flag, name) in
            [("--spec", "layer.json"), ("--input", "x.npy"), ("--weights", "w.npy"), ("--thresholds", "t.npy")]
        {
            args.extend([flag.to_string(), if flag == slot { "in/nope".to_string() } else { ok(name) }]);
        }
        args.extend(["--out".into(), "out/y.npy".into()]);
        fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), &["'in/nope': no such file"]);
    }
    fails(
        &["infer", "--synthetic-weights", "7", "--frames", "in/a.png", &ok("frame.png"), "--out", "out/o.flo"],
        &["frame 'in/a.png': no such file"],
    );
}

#[test]
fn sizes_that_are_not_multiples_of_64_or_too_large() {
    let synth = ["--synthetic-weights", "7", "--synthetic-frames", "3", "--out", "out/o.flo"];
    for size in ["100x192", "64x100", "0x64"] {
        fails(&["net", "--size", size], &[size, "not a positive multiple of 64"]);
        fails(&["net", "--plan", "--size", size], &[size, "not a positive multiple of 64"]);
        fails(&[&["infer", "--size", size][..], &synth].concat(), &[size, "multiple of 64"]);
    }
    // `net` used to overflow the MAC count (a panic), `infer` to try to
    // allocate the synthetic pair (terabytes).
    for size in ["6400000000x6400000000", "64x65536", "8256x64"] {
        fails(&["net", "--size", size], &[size, "too large (at most 8192 in each dimension)"]);
        fails(&[&["infer", "--size", size][..], &synth].concat(), &[size, "too large"]);
    }
}

#[test]
fn a_board_root_that_does_not_exist() {
    let ok = |name: &str| bad(&format!("ok/{name}"));
    let file = ok("x.npy");
    for (root, problem) in [("/nonexistent", "does not exist"), (file.as_str(), "is not a directory")] {
        let must = [&format!("board root '{root}' {problem}")[..]];
        let e = fails(&["info", "--backend", "board", "--root", root], &must);
        if problem == "does not exist" {
            assert_eq!(e, must_root(root));
        }
        fails(&["selftest", "--backend", "board", "--root", root], &must);
        let layer = [
            "--spec",
            &ok("layer.json"),
            "--input",
            &ok("x.npy"),
            "--weights",
            &ok("w.npy"),
            "--thresholds",
            &ok("t.npy"),
        ];
        fails(
            &[&["sim", "layer", "--backend", "board", "--root", root][..], &layer, &["--out", "out/y.npy"]].concat(),
            &must,
        );
    }
    // infer synthesizes its weights (one info line) before it opens the board.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let args = [
        "infer",
        "--backend",
        "board",
        "--root",
        "/nonexistent",
        "--synthetic-weights",
        "7",
        "--synthetic-frames",
        "3",
        "--size",
        "64x64",
        "--out",
        "out/o.flo",
    ];
    let out = zynqflow(dir.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.last().copied(), Some(&must_root("/nonexistent")[..]), "{stderr}");
    assert!(lines[..lines.len() - 1].iter().all(|l| l.starts_with("[INFO ")), "{stderr}");
    assert!(out.stdout.is_empty() && entries(&dir.path().join("out")).is_empty());
}

/// The whole error line for a board root that does not exist.
fn must_root(root: &str) -> String {
    format!("error: board root '{root}' does not exist (the prefix of /sys and /dev: / on a board, or a `zynqflow emulate-board` directory)")
}

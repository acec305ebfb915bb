//! `zynqflow sim layer`: random single layers give byte-identical `.npy`
//! outputs on the CPU reference and the accelerator's functional model, and
//! both agree with a direct integer convolution computed here from the
//! arrays (docs/sim-layer.md semantics); bad inputs fail cleanly.
//!
//! The `.npy` files are written and read by this file's own few lines (as
//! numpy 1.x/2.x writes them), not by the driver's reader/writer.

mod common;

use common::*;
use std::path::Path;

/// xorshift64*: a tiny deterministic generator (no rand dev-dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.int(0, v.len() as i64 - 1) as usize]
    }
}

/// A `.npy` file as `np.save` writes it (version 1.0, header padded to 64).
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    h.push_str(&" ".repeat(21usize.saturating_sub(dims.first().map_or(21, |d| d.len()))));
    h.push_str(&" ".repeat(64 - (h.len() + 11) % 64));
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// One random layer: geometry, widths and the arrays.
struct Layer {
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
    up: usize,
    tr: bool,
    a_in: u32,
    w_bits: u32,
    a_out: Option<u32>,
    x: Vec<u8>,
    wt: Vec<i8>,
    t: Vec<i32>,
}

impl Layer {
    fn out_extent(&self, n: usize, k: usize) -> Option<usize> {
        let (n, k, p, s, u) = (n as i64, k as i64, self.pad as i64, self.stride as i64, self.up as i64);
        let o = if self.tr { (n - 1) * s + k - 2 * p } else { (n * u + 2 * p - k).div_euclid(s) + 1 };
        (o > 0 && (self.tr || n * u + 2 * p >= k)).then_some(o as usize)
    }

    fn out_shape(&self) -> Option<(usize, usize)> {
        Some((self.out_extent(self.h, self.kh)?, self.out_extent(self.w, self.kw)?))
    }

    /// The input coordinate that output `o` reads through tap `k` along an
    /// axis of `n` pixels: nearest upsampling, then zero padding and stride;
    /// transposed: input `i` lands on output `i·stride − pad + k`.
    fn src(&self, o: usize, k: usize, n: usize) -> Option<usize> {
        let (o, k, p, s) = (o as i64, k as i64, self.pad as i64, self.stride as i64);
        if self.tr {
            let t = o + p - k;
            (t >= 0 && t % s == 0 && t / s < n as i64).then_some((t / s) as usize)
        } else {
            let u = o * s - p + k;
            (u >= 0 && u < (n * self.up) as i64).then_some(u as usize / self.up)
        }
    }

    /// The accumulator at output (oy, ox, co), straight from the definition.
    fn acc(&self, oy: usize, ox: usize, co: usize) -> i32 {
        let mut s = 0i64;
        for ky in 0..self.kh {
            for kx in 0..self.kw {
                let (Some(iy), Some(ix)) = (self.src(oy, ky, self.h), self.src(ox, kx, self.w)) else { continue };
                for ci in 0..self.cin {
                    let a = i64::from(self.x[(iy * self.w + ix) * self.cin + ci]);
                    s += a * i64::from(self.wt[((co * self.kh + ky) * self.kw + kx) * self.cin + ci]);
                }
            }
        }
        i32::try_from(s).unwrap()
    }

    /// Output code of channel `co` for accumulator `acc` (isa threshold record).
    fn code(&self, co: usize, acc: i32) -> u8 {
        let n = 1usize << self.a_out.unwrap();
        let row = &self.t[co * n..(co + 1) * n];
        match row[0] {
            0 => row[1..].iter().filter(|&&t| acc >= t).count() as u8,
            1 => row[1..].iter().filter(|&&t| acc <= t).count() as u8,
            m => (m >> 8) as u8,
        }
    }

    fn spec(&self) -> String {
        let kernel = if self.kh == self.kw { self.kh.to_string() } else { format!("[{}, {}]", self.kh, self.kw) };
        let a_out = self.a_out.map_or("null".to_string(), |b| b.to_string());
        format!(
            "{{\"kernel\": {kernel}, \"stride\": {}, \"pad\": {}, \"upsample\": {}, \"transposed\": {}, \"a_in\": {}, \"w_bits\": {}, \"a_out\": {a_out}}}",
            self.stride, self.pad, self.up, self.tr, self.a_in, self.w_bits
        )
    }
}

/// Layer `i`: geometry from a fixed cycle (every kernel 1..7, stride 2,
/// upsample 2, non-square, transposed), the rest random.
fn random_layer(rng: &mut Rng, i: usize) -> Layer {
    // (kh, kw, stride, pad, upsample, transposed)
    const GEOMS: [(usize, usize, usize, usize, usize, bool); 12] = [
        (1, 1, 1, 0, 1, false),
        (2, 2, 2, 0, 1, false),
        (3, 3, 1, 1, 1, false),
        (3, 3, 2, 1, 1, false),
        (3, 3, 1, 1, 2, false),
        (4, 4, 2, 1, 1, true),
        (5, 5, 2, 2, 1, false),
        (6, 6, 1, 2, 2, false),
        (7, 7, 2, 3, 1, false),
        (1, 3, 1, 0, 1, false),
        (3, 3, 2, 1, 1, true),
        (5, 3, 2, 2, 2, false),
    ];
    let (kh, kw, stride, pad, up, tr) = GEOMS[i % GEOMS.len()];
    let a_in = rng.int(1, 8) as u32;
    let w_bits = rng.pick(&[1, 1, 2, 3, 4, 5, 8]);
    let a_out = if i % 3 == 2 { None } else { Some(rng.int(1, 8) as u32) };
    let cin = rng.pick(&[1, 3, 7, 17, 63, 65, 70, 100, 130]);
    let cout = rng.pick(&[1, 2, 5, 33, 63, 65, 70]);
    let mut l = Layer {
        h: 0,
        w: 0,
        cin,
        cout,
        kh,
        kw,
        stride,
        pad,
        up,
        tr,
        a_in,
        w_bits,
        a_out,
        x: vec![],
        wt: vec![],
        t: vec![],
    };
    while l.h == 0 || l.out_shape().is_none() {
        let max = if i.is_multiple_of(4) { 24 } else { 9 };
        (l.h, l.w) = (rng.int(1, max) as usize, rng.int(1, max) as usize);
    }
    l.x = (0..l.h * l.w * cin).map(|_| rng.int(0, (1 << a_in) - 1) as u8).collect();
    let (lo, hi) = if w_bits == 1 { (-1, 1) } else { (-(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1) };
    l.wt = (0..cout * kh * kw * cin)
        .map(|_| if w_bits == 1 { rng.pick(&[-1i8, 1]) } else { rng.int(lo, hi) as i8 })
        .collect();
    if let Some(b) = a_out {
        // Thresholds drawn from sampled accumulators of each channel, so that
        // every code occurs; some descending, some constant.
        let (oh, ow) = l.out_shape().unwrap();
        for co in 0..cout {
            let samples: Vec<i64> = (0..6)
                .map(|_| i64::from(l.acc(rng.int(0, oh as i64 - 1) as usize, rng.int(0, ow as i64 - 1) as usize, co)))
                .collect();
            let (mn, mx) = (samples.iter().min().unwrap() - 2, samples.iter().max().unwrap() + 2);
            let mut th: Vec<i32> = (0..(1 << b) - 1).map(|_| rng.int(mn, mx) as i32).collect();
            th.sort();
            let mode = match rng.int(0, 9) {
                0..=6 => 0,
                7 | 8 => {
                    th.reverse();
                    1
                }
                _ => 2 | (rng.int(0, (1 << b) - 1) as i32) << 8,
            };
            l.t.push(mode);
            l.t.extend(th);
        }
    }
    l
}

/// Writes the layer's files into `dir` (the input with a batch axis if `batched`).
fn write_layer(dir: &Path, l: &Layer, batched: bool) {
    let xs = if batched { vec![1, l.h, l.w, l.cin] } else { vec![l.h, l.w, l.cin] };
    std::fs::write(dir.join("x.npy"), npy("|u1", &xs, &l.x)).unwrap();
    let wb: Vec<u8> = l.wt.iter().map(|&v| v as u8).collect();
    std::fs::write(dir.join("w.npy"), npy("|i1", &[l.cout, l.kh, l.kw, l.cin], &wb)).unwrap();
    if let Some(b) = l.a_out {
        std::fs::write(dir.join("t.npy"), npy("<i4", &[l.cout, 1 << b], &i32_bytes(&l.t))).unwrap();
    }
    std::fs::write(dir.join("layer.json"), l.spec()).unwrap();
}

fn sim_args<'a>(backend: &'a str, out: &'a str, thresholds: bool) -> Vec<&'a str> {
    let mut a = vec![
        "sim",
        "layer",
        "--spec",
        "layer.json",
        "--input",
        "x.npy",
        "--weights",
        "w.npy",
        "--out",
        out,
        "--backend",
        backend,
    ];
    if thresholds {
        a.extend(["--thresholds", "t.npy"]);
    }
    a
}

#[test]
fn random_layers_agree_across_backends_and_with_the_definition() {
    let mut rng = Rng(0x5eed_2024_cafe_f00d);
    let d = tempfile::tempdir().unwrap();
    let (mut codes_seen, mut n_layers) = (std::collections::BTreeSet::new(), 0);
    for i in 0..36 {
        let l = random_layer(&mut rng, i);
        let batched = i % 5 == 4;
        write_layer(d.path(), &l, batched);
        let ctx = format!("layer {i}: {} on {}x{}x{} -> {}", l.spec(), l.h, l.w, l.cin, l.cout);
        let cpu = zynqflow_ok(d.path(), &sim_args("cpu", "cpu.npy", l.a_out.is_some()));
        let mut margs = sim_args("model", "model.npy", l.a_out.is_some());
        margs.extend(["--config", ["pynq-z2", "small", "kv260"][i % 3]]);
        let model = zynqflow_ok(d.path(), &margs);
        let (yc, ym) =
            (std::fs::read(d.path().join("cpu.npy")).unwrap(), std::fs::read(d.path().join("model.npy")).unwrap());
        assert!(yc == ym, "{ctx}: cpu and model outputs differ");
        let (oh, ow) = l.out_shape().unwrap();
        let mut shape = vec![oh, ow, l.cout];
        if batched {
            shape.insert(0, 1);
        }
        let descr = if l.a_out.is_some() { "|u1" } else { "<i4" };
        let header = npy(descr, &shape, &[]);
        assert_eq!(yc[..header.len()], header[..], "{ctx}: output header");
        let data = &yc[header.len()..];
        let size = if l.a_out.is_some() { 1 } else { 4 };
        assert_eq!(data.len(), oh * ow * l.cout * size, "{ctx}: output length");
        let stdout = String::from_utf8_lossy(&cpu.stdout);
        assert!(stdout.starts_with("wrote cpu.npy: (") && stdout.lines().count() == 1, "{ctx}: {stdout}");
        assert!(String::from_utf8_lossy(&model.stdout).contains(" descriptors, "), "{ctx}");
        // Check corners and random positions against the definition.
        let mut at = vec![(0, 0, 0), (oh - 1, ow - 1, l.cout - 1), (oh - 1, 0, 0), (0, ow - 1, l.cout - 1)];
        at.extend((0..40).map(|_| {
            (
                rng.int(0, oh as i64 - 1) as usize,
                rng.int(0, ow as i64 - 1) as usize,
                rng.int(0, l.cout as i64 - 1) as usize,
            )
        }));
        for (oy, ox, co) in at {
            let (acc, k) = (l.acc(oy, ox, co), (oy * ow + ox) * l.cout + co);
            if l.a_out.is_some() {
                assert_eq!(data[k], l.code(co, acc), "{ctx}: code at [{oy}, {ox}, {co}] (acc {acc})");
                codes_seen.insert((l.a_out, data[k]));
            } else {
                let got = i32::from_le_bytes(data[4 * k..4 * k + 4].try_into().unwrap());
                assert_eq!(got, acc, "{ctx}: accumulator at [{oy}, {ox}, {co}]");
            }
        }
        n_layers += 1;
    }
    assert_eq!(n_layers, 36);
    assert!(codes_seen.len() > 20, "thresholds should produce varied codes: {codes_seen:?}");
}

/// A small valid layer in `in/` (A2 input, binary weights, 2-bit output)
/// and an empty `out/`; each case breaks one thing.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(spec: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir(p.join("out")).unwrap();
        std::fs::write(p.join("layer.json"), spec).unwrap();
        let x: Vec<u8> = (0..6 * 5 * 4).map(|i| (i % 4) as u8).collect();
        std::fs::write(p.join("x.npy"), npy("|u1", &[6, 5, 4], &x)).unwrap();
        let w: Vec<u8> = (0..3 * 9 * 4).map(|i| if i % 3 == 0 { 1 } else { 255 }).collect();
        std::fs::write(p.join("w.npy"), npy("|i1", &[3, 3, 3, 4], &w)).unwrap();
        std::fs::write(
            p.join("t.npy"),
            npy("<i4", &[3, 4], &i32_bytes(&[0, -2, 0, 2, 1, 2, 0, -2, 2 | 3 << 8, 0, 0, 0])),
        )
        .unwrap();
        Case { dir }
    }

    fn put(&self, name: &str, bytes: &[u8]) -> &Self {
        std::fs::write(self.dir.path().join(name), bytes).unwrap();
        self
    }

    /// Runs `sim layer` (the default files, `out/y.npy`, then `extra`),
    /// expects a clean failure mentioning each of `want`.
    fn fails(&self, backend: &str, extra: &[&str], want: &[&str]) {
        let mut args = vec!["sim", "layer", "--backend", backend];
        for (flag, file) in [
            ("--spec", "layer.json"),
            ("--input", "x.npy"),
            ("--weights", "w.npy"),
            ("--thresholds", "t.npy"),
            ("--out", "out/y.npy"),
        ] {
            let dropped = flag == "--thresholds" && extra.contains(&"-");
            if !extra.contains(&flag) && !dropped {
                args.extend([flag, file]);
            }
        }
        args.extend(extra.iter().filter(|&&e| e != "-"));
        let out = zynqflow(self.dir.path(), &args);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(
            !stderr.contains("panicked") && stderr.lines().count() == 1 && stderr.starts_with("error: "),
            "{args:?}:\n{stderr}"
        );
        for w in want {
            assert!(stderr.contains(w), "{args:?}: error should mention {w:?}: {stderr}");
        }
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert_eq!(entries(&self.dir.path().join("out")), Vec::<String>::new(), "{args:?}: out/ stays empty");
    }
}

const SPEC: &str = r#"{"kernel": 3, "stride": 1, "pad": 1, "a_in": 2, "w_bits": 1, "a_out": 2}"#;

#[test]
fn the_valid_case_runs_on_both_backends() {
    let c = Case::new(SPEC);
    for b in ["cpu", "model"] {
        let args = [
            "sim",
            "layer",
            "--backend",
            b,
            "--spec",
            "layer.json",
            "--input",
            "x.npy",
            "--weights",
            "w.npy",
            "--thresholds",
            "t.npy",
            "--out",
            "out/y.npy",
        ];
        let out = zynqflow_ok(c.dir.path(), &args);
        assert!(String::from_utf8_lossy(&out.stdout).ends_with("wrote out/y.npy: (6, 5, 3) uint8 codes (a_out = 2)\n"));
    }
}

#[test]
fn bad_specs_fail_cleanly() {
    for (spec, want) in [
        (r#"{"kernel": 3,"#, &["layer.json", "not valid JSON"][..]),
        (r#"[3]"#, &["not a JSON object"]),
        (r#"{"kernel": 3, "a_in": 2, "w_bits": 1, "a_out": 2, "strid": 1}"#, &["unknown field `strid`"]),
        (r#"{"kernel": 3, "kernel": 3, "a_in": 2, "w_bits": 1, "a_out": 2}"#, &["duplicate field `kernel`"]),
        (r#"{"kernel": 3, "a_in": 2, "a_out": 2}"#, &["missing field `w_bits`"]),
        (r#"{"kernel": 9, "a_in": 2, "w_bits": 1, "a_out": 2}"#, &["field 'kernel': 9 is outside 1..=7"]),
        (r#"{"kernel": [3, 0], "a_in": 2, "w_bits": 1, "a_out": 2}"#, &["field 'kernel'"]),
        (r#"{"kernel": 3, "stride": 3, "a_in": 2, "w_bits": 1, "a_out": 2}"#, &["field 'stride': 3"]),
        (r#"{"kernel": 3, "pad": 3, "a_in": 2, "w_bits": 1, "a_out": 2}"#, &["field 'pad': 3"]),
        (
            r#"{"kernel": 3, "upsample": 2, "transposed": true, "a_in": 2, "w_bits": 1, "a_out": 2}"#,
            &["'transposed'", "'upsample'"],
        ),
        (r#"{"kernel": 3, "transposed": 1, "a_in": 2, "w_bits": 1, "a_out": 2}"#, &["field 'transposed'"]),
        (r#"{"kernel": 3, "a_in": 9, "w_bits": 1, "a_out": 2}"#, &["field 'a_in': 9"]),
        (r#"{"kernel": 3, "a_in": 2, "w_bits": -1, "a_out": 2}"#, &["field 'w_bits'", "-1"]),
        (r#"{"kernel": 3, "a_in": 2, "w_bits": 1, "a_out": 0}"#, &["field 'a_out': 0"]),
        (r#"{"kernel": 3, "a_in": 2, "w_bits": 1, "a_out": 3}"#, &["t.npy", "[3, 8]"]),
        (r#"{"kernel": 5, "a_in": 2, "w_bits": 1, "a_out": 2}"#, &["w.npy", "kernel 3x3", "kernel 5x5"]),
        (
            r#"{"kernel": 3, "stride": 2, "transposed": true, "pad": 2, "a_in": 1, "w_bits": 1, "a_out": 2}"#,
            &["code 2", "a_in = 1"],
        ),
    ] {
        Case::new(spec).fails("cpu", &[], want);
    }
    Case::new(r#"{"kernel": 3, "a_in": 2, "w_bits": 1}"#).fails(
        "cpu",
        &[],
        &["--thresholds 't.npy' given", "no a_out"],
    );
    Case::new(SPEC).fails("cpu", &["-"], &["a_out = 2", "--thresholds"]);
}

#[test]
fn bad_arrays_fail_cleanly() {
    let c = || Case::new(SPEC);
    let x: Vec<u8> = (0..120).map(|i| (i % 4) as u8).collect();
    let mut x4 = x.clone();
    x4[37] = 4;
    c().put("x.npy", &npy("|u1", &[6, 5, 4], &x4)).fails("cpu", &[], &["x.npy", "code 4 at [1, 4, 1]", "a_in = 2"]);
    c().put("x.npy", &npy("|u1", &[6, 5, 3], &x[..90])).fails("cpu", &[], &["w.npy", "Cin 4", "x.npy", "Cin 3"]);
    c().put("x.npy", &npy("<i4", &[6, 5, 1], &x)).fails("model", &[], &["x.npy", "dtype int32", "uint8"]);
    c().put("x.npy", &npy("|u1", &[2, 6, 5, 4], &[x.clone(), x.clone()].concat())).fails(
        "cpu",
        &[],
        &["x.npy", "(2, 6, 5, 4)"],
    );
    c().put("x.npy", &npy("|u1", &[6, 5, 4], &x[..119])).fails("cpu", &[], &["x.npy", "truncated"]);
    let mut fortran = npy("|u1", &[6, 5, 4], &x);
    let at = fortran.windows(5).position(|w| w == b"False").unwrap();
    fortran[at..at + 5].copy_from_slice(b"True ");
    c().put("x.npy", &fortran).fails("cpu", &[], &["x.npy", "fortran_order is True"]);
    c().put("layer.json", SPEC.replace("\"pad\": 1", "\"pad\": 0").as_bytes())
        .put("x.npy", &npy("|u1", &[1, 1, 4], &[0; 4]))
        .fails("cpu", &[], &["leaves no output", "x.npy"]);
    c().put("x.npy", &npy("|u1", &[1, 1100, 4], &vec![1; 4400])).fails("model", &[], &["model (pynq-z2)"]);
    let w2 = |v: u8| npy("|i1", &[3, 3, 3, 4], &[vec![1; 50], vec![v], vec![255; 57]].concat());
    c().put("w.npy", &w2(0)).fails("cpu", &[], &["w.npy", "value 0 at [1, 1, 0, 2]", "-1 or +1"]);
    c().put("layer.json", SPEC.replace("\"w_bits\": 1", "\"w_bits\": 2").as_bytes()).put("w.npy", &w2(2)).fails(
        "cpu",
        &[],
        &["value 2", "-2..=1"],
    );
    c().put("w.npy", &npy("|i1", &[3, 3, 4], &[1; 36])).fails("cpu", &[], &["w.npy", "[Cout, Kh, Kw, Cin]"]);
    let t = |v: &[i32]| npy("<i4", &[3, 4], &i32_bytes(v));
    c().put("t.npy", &npy("<i4", &[3, 3], &i32_bytes(&[0; 9]))).fails("cpu", &[], &["t.npy", "shape (3, 3)", "[3, 4]"]);
    c().put("t.npy", &t(&[0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0])).fails("cpu", &[], &["t.npy", "row 0", "not ascending"]);
    c().put("t.npy", &t(&[0, 0, 0, 0, 1, 0, 1, 2, 0, 0, 0, 0])).fails("cpu", &[], &["row 1", "not descending"]);
    c().put("t.npy", &t(&[0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0])).fails("model", &[], &["row 2", "mode 7"]);
    c().put("t.npy", &t(&[0, 0, 0, 0, 0, 0, 0, 0, 2 | 4 << 8, 0, 0, 0])).fails(
        "cpu",
        &[],
        &["row 2", "constant code 4"],
    );
    c().put("t.npy", &npy("|i1", &[3, 4], &[0; 12])).fails("cpu", &[], &["t.npy", "dtype int8", "int32"]);
    c().fails("cpu", &["--input", "nope.npy"], &["nope.npy", "no such file"]);
    c().fails("cpu", &["--spec", "nope.json"], &["nope.json", "no such file"]);
    c().fails("cpu", &["--out", "missing/y.npy"], &["missing", "does not exist"]);
}

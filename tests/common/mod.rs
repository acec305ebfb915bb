//! Helpers shared by the CLI integration tests (`cli_infer`, `cli_bad_input`):
//! running the `zynqflow` binary, checking `.flo` and PNG files by their
//! bytes, writing PPM frames and patching safetensors files.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Middlebury magic: 202021.25 as a little-endian f32.
pub const FLO_MAGIC: f32 = 202021.25;

/// The 8-byte PNG signature.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// Runs `zynqflow ARGS` in `dir` with the default logging (RUST_LOG unset).
pub fn zynqflow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zynqflow"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("zynqflow binary runs")
}

/// Runs `zynqflow ARGS` and panics with its stderr unless it succeeds.
pub fn zynqflow_ok(dir: &Path, args: &[&str]) -> Output {
    let out = zynqflow(dir, args);
    assert!(out.status.success(), "zynqflow {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `infer --backend cpu --net NET --size 128x192` with synthetic weights and
/// frames (seeds 7 and 3) plus `extra`, writing `OUT.flo` and `OUT.png` in `dir`.
pub fn infer_synthetic(dir: &Path, net: &str, out: &str, extra: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let (flo, png) = (format!("{out}.flo"), format!("{out}.png"));
    let mut args = vec!["infer", "--backend", "cpu", "--net", net, "--size", "128x192", "--out", &flo, "--png", &png];
    if !extra.contains(&"--weights") {
        args.extend(["--synthetic-weights", "7"]);
    }
    if !extra.contains(&"--frames") {
        args.extend(["--synthetic-frames", "3"]);
    }
    args.extend_from_slice(extra);
    zynqflow_ok(dir, &args);
    (std::fs::read(dir.join(&flo)).unwrap(), std::fs::read(dir.join(&png)).unwrap())
}

/// Checks a `.flo` file by its bytes (magic, `w × h`, exact length, finite
/// values, some spread in both u and v) and returns its (u, v) values.
pub fn check_flo(bytes: &[u8], w: usize, h: usize) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(bytes.len(), 12 + w * h * 8, "length of a {w}x{h} .flo");
    let f = |i: usize| f32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let i = |o: usize| i32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    assert_eq!(f(0), FLO_MAGIC, "magic");
    assert_eq!(&bytes[..4], b"PIEH");
    assert_eq!((i(4), i(8)), (w as i32, h as i32), "header width, height");
    let vals: Vec<f32> = (0..2 * w * h).map(|k| f(12 + 4 * k)).collect();
    assert!(vals.iter().all(|v| v.is_finite()), "every flow value is finite");
    let u: Vec<f32> = vals.iter().step_by(2).copied().collect();
    let v: Vec<f32> = vals.iter().skip(1).step_by(2).copied().collect();
    for (name, c) in [("u", &u), ("v", &v)] {
        let sd = std_dev(c);
        assert!(sd > 1e-3, "{name} is (nearly) constant: standard deviation {sd}");
    }
    (u, v)
}

/// Population standard deviation.
pub fn std_dev(v: &[f32]) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    (v.iter().map(|&x| (f64::from(x) - m).powi(2)).sum::<f64>() / n).sqrt()
}

/// Checks a PNG by its bytes: signature, an IHDR first with `w × h`, 8-bit
/// RGB, chunks well formed up to IEND.
pub fn check_png(bytes: &[u8], w: u32, h: u32) {
    assert_eq!(bytes[..8], PNG_SIGNATURE, "PNG signature");
    assert_eq!(&bytes[8..16], &[0, 0, 0, 13, b'I', b'H', b'D', b'R'], "IHDR first, 13 bytes");
    let be = |o: usize| u32::from_be_bytes(bytes[o..o + 4].try_into().unwrap());
    assert_eq!((be(16), be(20)), (w, h), "IHDR width, height");
    assert_eq!((bytes[24], bytes[25]), (8, 2), "8-bit truecolour");
    // Walk the chunks: lengths must add up exactly to IEND at the end.
    let mut o = 8;
    let mut kinds = Vec::new();
    while o + 12 <= bytes.len() {
        let len = be(o) as usize;
        kinds.push(String::from_utf8_lossy(&bytes[o + 4..o + 8]).into_owned());
        o += 12 + len;
    }
    assert_eq!(o, bytes.len(), "chunks cover the file exactly");
    assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
    assert!(kinds.iter().any(|k| k == "IDAT"), "{kinds:?}");
}

/// Writes a binary PPM (P6) of `w × h`: a smooth colour texture shifted by
/// `(dx, dy)` pixels, plus a little deterministic noise from `seed`.
pub fn write_ppm(path: &Path, w: usize, h: usize, dx: f64, dy: f64, seed: u32) {
    let mut data = format!("P6\n{w} {h}\n255\n").into_bytes();
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as f64 - dx, y as f64 - dy);
            for c in 0..3 {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let k = c as f64 + 1.0;
                let t = 0.5 + 0.2 * (xf * 0.11 * k + yf * 0.07).sin() + 0.2 * (yf * 0.13 / k - xf * 0.05).cos();
                let noise = f64::from(s % 16) - 8.0;
                data.push((t * 255.0 + noise).clamp(0.0, 255.0) as u8);
            }
        }
    }
    std::fs::write(path, data).unwrap();
}

/// Every entry of `dir` (hidden files included), sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// `weights synth --net NET --seed SEED` into `dir/NAME`; returns the path.
pub fn synth_weights(dir: &Path, net: &str, seed: u64, name: &str) -> PathBuf {
    let p = dir.join(name);
    zynqflow_ok(dir, &["weights", "synth", "--net", net, "--seed", &seed.to_string(), "--out", p.to_str().unwrap()]);
    p
}

/// The JSON header of a safetensors file, and where the data starts.
pub fn st_header(bytes: &[u8]) -> (String, usize) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (String::from_utf8(bytes[8..8 + n].to_vec()).unwrap(), 8 + n)
}

/// Byte range in the file of tensor `name`'s data, and the header entry
/// text (`{"dtype":...}`) with its byte range in the file.
pub fn st_tensor(bytes: &[u8], name: &str) -> (std::ops::Range<usize>, String, std::ops::Range<usize>) {
    let (h, data_start) = st_header(bytes);
    let key = format!("\"{name}\":{{");
    let at = h.find(&key).unwrap_or_else(|| panic!("tensor {name} in header")) + key.len() - 1;
    let end = at + h[at..].find('}').unwrap() + 1;
    let entry = &h[at..end];
    let offs = &entry[entry.find("\"data_offsets\":[").unwrap() + 16..];
    let offs = &offs[..offs.find(']').unwrap()];
    let (a, b) = offs.split_once(',').unwrap();
    let (a, b): (usize, usize) = (a.trim().parse().unwrap(), b.trim().parse().unwrap());
    (data_start + a..data_start + b, entry.to_string(), 8 + at..8 + end)
}

/// `bytes` with the header entry of `name` rewritten by replacing `from` by
/// `to` (same length, so every offset stays valid).
pub fn st_patch_entry(bytes: &[u8], name: &str, from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "patches keep the header length");
    let (_, entry, range) = st_tensor(bytes, name);
    assert!(entry.contains(from), "{name}: {entry} lacks {from}");
    let mut out = bytes.to_vec();
    out[range].copy_from_slice(entry.replacen(from, to, 1).as_bytes());
    out
}

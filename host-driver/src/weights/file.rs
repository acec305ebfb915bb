//! safetensors weight files: PyTorch's tensor layouts and names, so that a
//! trained checkpoint converts by renaming (docs/weights.md).
//!
//! Per convolution layer `L`:
//! - `L.weight`, f32: `[Cout, Cin, Kh, Kw]` (`nn.Conv2d`), or
//!   `[Cin, Cout, Kh, Kw]` for a transposed convolution (`nn.ConvTranspose2d`);
//! - `L.bias`, f32 `[Cout]`: flow predictions only;
//! - `L.bn.weight`, `L.bn.bias`, `L.bn.running_mean`, `L.bn.running_var`,
//!   f32 `[Cout]`: every layer with an activation output.
//!
//! The header metadata holds `format = zynqflow-weights`, `version = 1` and
//! `net` (the network name).

use super::{layer_specs, LayerSpec, LayerWeights, WeightSet, WeightsError};
use crate::graph::Graph;
use crate::quant::BatchNorm;
use safetensors::{tensor::TensorView, Dtype, SafeTensorError, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Value of the `format` metadata key.
pub const FORMAT: &str = "zynqflow-weights";
/// Value of the `version` metadata key.
pub const VERSION: &str = "1";

/// Reads and checks a weights file for network `g`.
pub fn load(path: &Path, g: &Graph) -> Result<WeightSet, WeightsError> {
    let p = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| WeightsError::Io { path: p.clone(), err })?;
    from_bytes(&bytes, g, &p)
}

/// Parses and checks weights for `g` from the bytes of a safetensors file;
/// `origin` names the file in errors.
pub fn from_bytes(bytes: &[u8], g: &Graph, origin: &str) -> Result<WeightSet, WeightsError> {
    let path = origin.to_string();
    let format = |e: SafeTensorError| WeightsError::Format { path: path.clone(), detail: describe(&e, bytes) };
    let st = SafeTensors::deserialize(bytes).map_err(format)?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(format)?;
    let meta_map = meta.metadata().clone().unwrap_or_default();
    for (key, want) in [("format", FORMAT), ("version", VERSION)] {
        if let Some(found) = meta_map.get(key) {
            if found != want {
                return Err(WeightsError::Metadata {
                    path,
                    detail: format!("metadata {key} is '{found}', expected '{want}'"),
                });
            }
        }
    }
    if let Some(found) = meta_map.get("net") {
        if found != &g.name {
            return Err(WeightsError::WrongNet { path, expected: g.name.clone(), found: found.clone() });
        }
    }
    let specs = layer_specs(g);
    let mut layers = BTreeMap::new();
    let mut known = Vec::new();
    for (name, spec) in &specs {
        let t = |suffix: &str, shape: Vec<usize>| -> Result<Vec<f32>, WeightsError> {
            let full = format!("{name}.{suffix}");
            read_f32(&st, &full, &shape, &path)
        };
        let raw = t("weight", pytorch_weight_shape(spec))?;
        known.push(format!("{name}.weight"));
        let bias = if spec.bias {
            known.push(format!("{name}.bias"));
            Some(t("bias", vec![spec.cout])?)
        } else {
            None
        };
        let bn = if spec.bn {
            let v = |n: &str| t(&format!("bn.{n}"), vec![spec.cout]);
            for n in ["weight", "bias", "running_mean", "running_var"] {
                known.push(format!("{name}.bn.{n}"));
            }
            let mut bn =
                BatchNorm { gamma: v("weight")?, beta: v("bias")?, mean: v("running_mean")?, var: v("running_var")? };
            // A conv bias before batch-norm (PyTorch's default `bias=True`)
            // only shifts the mean: fold it in rather than drop it.
            if st.names().iter().any(|n| **n == format!("{name}.bias")) {
                let b = t("bias", vec![spec.cout])?;
                for (m, b) in bn.mean.iter_mut().zip(&b) {
                    *m -= b;
                }
                known.push(format!("{name}.bias"));
                log::info!("weights '{path}': folded '{name}.bias' into '{name}.bn.running_mean'");
            }
            Some(bn)
        } else {
            None
        };
        layers.insert(name.clone(), LayerWeights { weight: from_pytorch(&raw, spec), bias, bn });
    }
    for extra in st.names() {
        if !known.contains(extra) && !extra.ends_with("num_batches_tracked") {
            log::warn!("weights '{path}': ignoring tensor '{extra}', which network {} does not use", g.name);
        }
    }
    let set = WeightSet { net: g.name.clone(), layers };
    set.check(g, origin)?;
    Ok(set)
}

/// Serializes `w` (checked against `g`) to safetensors bytes.
pub fn to_bytes(w: &WeightSet, g: &Graph) -> Result<Vec<u8>, WeightsError> {
    w.check(g, "(in memory)")?;
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let le = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    for (name, spec) in layer_specs(g) {
        let l = &w.layers[&name];
        tensors.push((format!("{name}.weight"), pytorch_weight_shape(&spec), le(&to_pytorch(&l.weight, &spec))));
        if let Some(b) = &l.bias {
            tensors.push((format!("{name}.bias"), vec![spec.cout], le(b)));
        }
        if let Some(bn) = &l.bn {
            for (n, v) in
                [("weight", &bn.gamma), ("bias", &bn.beta), ("running_mean", &bn.mean), ("running_var", &bn.var)]
            {
                tensors.push((format!("{name}.bn.{n}"), vec![spec.cout], le(v)));
            }
        }
    }
    let views = tensors
        .iter()
        .map(|(n, s, d)| Ok((n.clone(), TensorView::new(Dtype::F32, s.clone(), d).map_err(fmt_err)?)))
        .collect::<Result<Vec<_>, WeightsError>>()?;
    let meta: HashMap<String, String> = [("format", FORMAT), ("version", VERSION), ("net", g.name.as_str())]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let mut bytes = safetensors::serialize(views, &Some(meta)).map_err(fmt_err)?;
    // The metadata went through a HashMap, whose order varies from run to
    // run; rewrite it in a fixed order (same length, always first in the
    // header) so that the same weights give the same bytes.
    let fixed = format!(r#"{{"__metadata__":{{"format":"{FORMAT}","net":"{}","version":"{VERSION}"}}"#, g.name);
    let at = 8..8 + fixed.len();
    assert!(
        bytes[at.clone()].starts_with(b"{\"__metadata__\":{") && bytes[at.end - 1] == b'}',
        "safetensors header layout"
    );
    bytes[at].copy_from_slice(fixed.as_bytes());
    Ok(bytes)
}

/// The safetensors parser's error in words (its `Display` is the variant
/// name, e.g. `MetadataIncompleteBuffer`), with the numbers from `bytes`.
fn describe(e: &SafeTensorError, bytes: &[u8]) -> String {
    let header_len = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let after = bytes.len().saturating_sub(8);
    match (e, header_len) {
        (SafeTensorError::HeaderTooSmall, _) => {
            format!("{} bytes, shorter than the 8-byte header length that starts a safetensors file", bytes.len())
        }
        (SafeTensorError::HeaderTooLarge, Some(n)) => {
            format!("the first 8 bytes give a header length of {n} bytes, more than safetensors allows (100 MB)")
        }
        (SafeTensorError::InvalidHeaderLength, Some(n)) => {
            format!("truncated: the first 8 bytes give a header length of {n} bytes, only {after} follow")
        }
        (SafeTensorError::InvalidHeader, _) => "the header is not UTF-8 text".into(),
        (SafeTensorError::InvalidHeaderStart, _) => "the header does not start with '{'".into(),
        (SafeTensorError::InvalidHeaderDeserialization, _) => {
            "the header is not a safetensors JSON header (each tensor needs a known dtype, a shape and data_offsets)".into()
        }
        (SafeTensorError::InvalidOffset(name), _) => {
            format!("tensor '{name}': its data_offsets do not start where the previous tensor's data ends")
        }
        (SafeTensorError::TensorInvalidInfo, _) => "a tensor's data_offsets do not span its shape times its dtype's size".into(),
        (SafeTensorError::ValidationOverflow, _) => "a tensor's shape is too large (its byte size overflows)".into(),
        (SafeTensorError::MetadataIncompleteBuffer, Some(n)) => format!(
            "truncated or padded: the tensors' data_offsets do not end where the file does ({} data bytes after the header)",
            (after as u64).saturating_sub(n)
        ),
        (e, _) => e.to_string(),
    }
}

fn fmt_err(e: safetensors::SafeTensorError) -> WeightsError {
    WeightsError::Format { path: "(in memory)".into(), detail: e.to_string() }
}

/// Writes `w` to `path` atomically.
pub fn save(path: &Path, w: &WeightSet, g: &Graph) -> Result<(), WeightsError> {
    let bytes = to_bytes(w, g)?;
    crate::io::write_atomic(path, &bytes)
        .map_err(|e| WeightsError::Io { path: path.display().to_string(), err: std::io::Error::other(e.to_string()) })
}

fn read_f32(st: &SafeTensors, name: &str, shape: &[usize], path: &str) -> Result<Vec<f32>, WeightsError> {
    let t = st.tensor(name).map_err(|_| WeightsError::Missing { path: path.to_string(), name: name.to_string() })?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        return Err(WeightsError::Mismatch {
            path: path.to_string(),
            name: name.to_string(),
            expected: format!("F32 {shape:?}"),
            found: format!("{:?} {:?}", t.dtype(), t.shape()),
        });
    }
    let v: Vec<f32> = t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    // Checked here, in the file's own order, so the index in the message is
    // the one a user finds in the file.
    super::check_finite(path, name, &v)?;
    Ok(v)
}

/// PyTorch's shape of a layer's kernel.
pub fn pytorch_weight_shape(s: &LayerSpec) -> Vec<usize> {
    if s.transposed {
        vec![s.cin, s.cout, s.kh, s.kw]
    } else {
        vec![s.cout, s.cin, s.kh, s.kw]
    }
}

/// Index in PyTorch's layout of weight (co, ci, ky, kx).
fn pytorch_index(s: &LayerSpec, co: usize, ci: usize, ky: usize, kx: usize) -> usize {
    if s.transposed {
        ((ci * s.cout + co) * s.kh + ky) * s.kw + kx
    } else {
        ((co * s.cin + ci) * s.kh + ky) * s.kw + kx
    }
}

fn from_pytorch(raw: &[f32], s: &LayerSpec) -> Vec<f32> {
    let mut out = vec![0.0; s.weight_len()];
    for co in 0..s.cout {
        for ky in 0..s.kh {
            for kx in 0..s.kw {
                for ci in 0..s.cin {
                    out[((co * s.kh + ky) * s.kw + kx) * s.cin + ci] = raw[pytorch_index(s, co, ci, ky, kx)];
                }
            }
        }
    }
    out
}

fn to_pytorch(w: &[f32], s: &LayerSpec) -> Vec<f32> {
    let mut out = vec![0.0; s.weight_len()];
    for co in 0..s.cout {
        for ky in 0..s.kh {
            for kx in 0..s.kw {
                for ci in 0..s.cin {
                    out[pytorch_index(s, co, ci, ky, kx)] = w[((co * s.kh + ky) * s.kw + kx) * s.cin + ci];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lmflownets() -> Graph {
        Graph::by_name("lmflownets", 64, 64).unwrap()
    }

    /// The error for `bytes`, checked to be one line naming the file.
    fn err(bytes: &[u8]) -> String {
        let e = from_bytes(bytes, &lmflownets(), "w.st").unwrap_err().to_string();
        assert!(e.starts_with("weights 'w.st': ") && !e.contains('\n'), "{e}");
        e
    }

    /// A safetensors file with one tensor entry `entry` (JSON) and `data`.
    fn file(entry: &str, data: &[u8]) -> Vec<u8> {
        let mut h = format!("{{{entry}}}").into_bytes();
        h.resize(h.len().next_multiple_of(8), b' ');
        [&(h.len() as u64).to_le_bytes()[..], &h, data].concat()
    }

    #[test]
    fn parser_errors_are_said_in_words_not_variant_names() {
        let t = r#""conv1.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#;
        for (bytes, want) in [
            (b"abc".to_vec(), "not a safetensors file (3 bytes, shorter than the 8-byte header length"),
            ([&(1u64 << 40).to_le_bytes()[..], b"{}"].concat(), "header length of 1099511627776 bytes, more than safetensors allows"),
            ([&64u64.to_le_bytes()[..], b"{}"].concat(), "truncated: the first 8 bytes give a header length of 64 bytes, only 2 follow"),
            ([&2u64.to_le_bytes()[..], b"\xff}"].concat(), "the header is not UTF-8 text"),
            ([&2u64.to_le_bytes()[..], b"[]"].concat(), "not a safetensors JSON header"),
            (file(&t.replace("F32", "Q4"), &[0; 8]), "not a safetensors JSON header"),
            (file(t, &[0; 4]), "truncated or padded: the tensors' data_offsets do not end where the file does (4 data bytes after the header)"),
            (file(t, &[0; 12]), "(12 data bytes after the header)"),
            (file(&t.replace("[0,8]", "[8,16]"), &[0; 16]), "tensor 'conv1.weight': its data_offsets do not start where"),
            (file(&t.replace("[2]", "[3]"), &[0; 8]), "data_offsets do not span its shape times its dtype's size"),
            (file(&t.replace("[2]", "[4294967296,4294967296]"), &[0; 8]), "shape is too large"),
        ] {
            let e = err(&bytes);
            assert!(e.contains(want), "{e} lacks {want:?}");
            for name in ["HeaderTooSmall", "MetadataIncompleteBuffer", "InvalidHeaderDeserialization", "TensorInvalidInfo"] {
                assert!(!e.contains(name), "{e}");
            }
        }
    }

    /// lmflownets at 64x64, built once for the fuzz targets.
    fn net() -> &'static Graph {
        static G: std::sync::OnceLock<Graph> = std::sync::OnceLock::new();
        G.get_or_init(lmflownets)
    }

    /// One tensor of a generated file: name, dtype, shape, data.
    type Entry = (String, String, Vec<usize>, Vec<u8>);

    /// The bytes of a safetensors file of `entries` (in order, offsets
    /// consecutive unless `shift = (i, by)` moves entry i's start up by `by`
    /// (even) or its end down (odd)) and optional metadata text.
    fn assemble(entries: &[Entry], meta: Option<&str>, shift: Option<(usize, usize)>) -> Vec<u8> {
        let (mut items, mut data) = (Vec::new(), Vec::new());
        if let Some(m) = meta {
            items.push(format!("\"__metadata__\":{m}"));
        }
        for (i, (name, dtype, shape, bytes)) in entries.iter().enumerate() {
            let (mut a, mut b) = (data.len(), data.len() + bytes.len());
            if let Some((_, by)) = shift.filter(|(j, _)| *j == i) {
                (a, b) = if by % 2 == 0 { (a + by, b) } else { (a, b.saturating_sub(by)) };
            }
            items.push(format!("\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{a},{b}]}}"));
            data.extend_from_slice(bytes);
        }
        let h = format!("{{{}}}", items.join(","));
        [&(h.len() as u64).to_le_bytes()[..], h.as_bytes(), &data].concat()
    }

    /// The five conv1 tensors of lmflownets, valid, with values from `seed`.
    fn conv1(seed: u32) -> Vec<Entry> {
        let f32s = |n: usize, k: u32| {
            (0..n as u32).map(|i| ((i ^ seed ^ k) % 1000) as f32 / 500.0 - 0.9).flat_map(f32::to_le_bytes).collect()
        };
        let mut v = vec![("conv1.weight".to_string(), "F32".to_string(), vec![64, 24, 3, 3], f32s(64 * 24 * 9, 0))];
        for (k, n) in ["bias", "running_mean", "running_var", "weight"].iter().enumerate() {
            v.push((format!("conv1.bn.{n}"), "F32".into(), vec![64], f32s(64, k as u32 + 1)));
        }
        v
    }

    /// The loader's result on `b`: never a panic, never a weight set (no
    /// generated file holds the whole network), one line naming the file.
    fn check_refused(b: &[u8]) -> Result<String, proptest::test_runner::TestCaseError> {
        use proptest::prelude::*;
        let r = from_bytes(b, net(), "w.st");
        prop_assert!(r.is_err(), "an incomplete file was accepted");
        let m = r.unwrap_err().to_string();
        prop_assert!(m.starts_with("weights 'w.st': ") && !m.contains('\n'), "{}", m);
        Ok(m)
    }

    /// Fuzz target: arbitrary bytes, and safetensors-like files: tensors
    /// with lmflownets' names and others, every dtype and odd ones, shapes
    /// right and wrong, data of the right length or not, NaN and infinity,
    /// offsets shifted, metadata right, wrong or malformed.
    #[test]
    fn fuzz_weights_from_bytes() {
        use proptest::prelude::*;
        let sel = |v: &[&'static str]| prop::sample::select(v.to_vec()).prop_map(String::from);
        let name = prop_oneof![
            sel(&[
                "conv1.weight",
                "conv1.bn.weight",
                "conv1.bn.bias",
                "conv1.bn.running_mean",
                "conv1.bn.running_var",
                "conv1.bias",
                "conv2.weight",
                "predict_flow6.bias",
                "conv1.num_batches_tracked",
                "__metadata__"
            ]),
            "[a-z0-9_.\\\"]{0,12}",
        ];
        let dtype =
            sel(&["F32", "F32", "F16", "BF16", "F64", "I32", "I64", "U8", "I8", "BOOL", "F8_E4M3", "Q4", "f32"]);
        let shape = prop_oneof![
            Just(vec![64, 24, 3, 3]),
            Just(vec![64]),
            prop::collection::vec(prop_oneof![0usize..5, any::<usize>()], 0..4)
        ];
        let value = prop_oneof![4 => any::<f32>().prop_filter("finite", |v| v.is_finite()), 1 => Just(f32::NAN), 1 => Just(f32::NEG_INFINITY)];
        let entry = (name, dtype, shape, value, prop::option::weighted(0.2, 0usize..16)).prop_map(
            |(name, dtype, shape, v, len)| {
                let size = match dtype.as_str() {
                    "F64" | "I64" => 8,
                    "F32" | "I32" => 4,
                    "F16" | "BF16" => 2,
                    _ => 1,
                };
                let n =
                    shape.iter().try_fold(size, |a: usize, &d| a.checked_mul(d)).filter(|&n| n <= 1 << 20).unwrap_or(4);
                let bytes = v.to_le_bytes().into_iter().cycle().take(len.unwrap_or(n)).collect();
                (name, dtype, shape, bytes)
            },
        );
        let meta = prop::option::of(prop_oneof![
            Just(format!(r#"{{"format":"{FORMAT}","net":"lmflownets","version":"{VERSION}"}}"#)),
            Just(r#"{"net":"flownets"}"#.to_string()),
            Just(r#"{"version":"2","format":"x"}"#.to_string()),
            Just(r#"{"net":1}"#.to_string()),
            Just("[]".to_string()),
        ]);
        let with_conv1 = prop::option::weighted(0.3, any::<u32>());
        let file =
            (with_conv1, prop::collection::vec(entry, 0..5), meta, prop::option::weighted(0.1, (0usize..6, 1usize..9)))
                .prop_map(|(c1, mut entries, meta, shift)| {
                    if let Some(seed) = c1 {
                        entries.splice(0..0, conv1(seed));
                    }
                    assemble(&entries, meta.as_deref(), shift)
                });
        let bytes = prop_oneof![1 => prop::collection::vec(any::<u8>(), 0..64), 4 => file];
        crate::fuzz::fuzz("weights_from_bytes", bytes, |b| check_refused(&b).map(|_| ()));
    }

    /// Fuzz target: a valid file of conv1's tensors (the loader reads them
    /// all, then finds conv2 missing), mutated mostly in its header, or
    /// truncated anywhere.
    #[test]
    fn fuzz_weights_mutated() {
        use proptest::prelude::*;
        crate::fuzz::fuzz(
            "weights_mutated",
            (any::<u32>(), crate::fuzz::edits(6), any::<bool>()),
            |(seed, (edits, cut), in_header)| {
                let good = assemble(&conv1(seed), Some(r#"{"net":"lmflownets"}"#), None);
                let m = check_refused(&good)?;
                prop_assert!(m.ends_with("missing tensor 'conv2.weight'"), "{}", m);
                let header_end = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
                let edits: Vec<_> = edits
                    .into_iter()
                    .map(|(at, op, b)| (if in_header { at % header_end } else { at }, op, b))
                    .collect();
                check_refused(&crate::fuzz::mutate(good, &edits, cut)).map(|_| ())
            },
        );
    }

    #[test]
    fn metadata_of_another_format_is_not_called_a_non_safetensors_file() {
        let meta = r#""__metadata__":{"format":"pytorch"}"#;
        let e = err(&file(meta, &[]));
        assert_eq!(e, "weights 'w.st': metadata format is 'pytorch', expected 'zynqflow-weights'");
        let e = err(&file(&meta.replace(r#""format":"pytorch""#, r#""version":"2""#), &[]));
        assert_eq!(e, "weights 'w.st': metadata version is '2', expected '1'");
    }
}

//! The safetensors weights file: round trip, the documented tensor names,
//! shapes, layouts and metadata, errors that name the offending tensor, and
//! the per-layer table of docs/weights.md (regenerate it with
//! `ZYNQFLOW_BLESS=1 cargo test --release -p zynqflow-driver --test weights_file`).

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use zynqflow_driver::graph::{ConvOutput, Graph, ValueKind};
use zynqflow_driver::weights::{file, layer_specs, synth, WeightSet, WeightsError};

/// A network with its synthetic weights (seed 7) and their file bytes.
struct Fixture {
    g: Graph,
    w: WeightSet,
    bytes: Vec<u8>,
}

fn fixture(net: &str) -> &'static Fixture {
    static LM: OnceLock<Fixture> = OnceLock::new();
    static FN: OnceLock<Fixture> = OnceLock::new();
    let cell = if net == "lmflownets" { &LM } else { &FN };
    cell.get_or_init(|| {
        let g = Graph::by_name(net, 128, 192).unwrap();
        let w = synth::synthesize(&g, 7);
        let bytes = file::to_bytes(&w, &g).unwrap();
        Fixture { g, w, bytes }
    })
}

const NETS: [&str; 2] = ["lmflownets", "flownets"];

#[test]
fn round_trip_through_bytes_and_file_for_both_networks() {
    for net in NETS {
        let f = fixture(net);
        let back = file::from_bytes(&f.bytes, &f.g, "mem").unwrap();
        assert!(back == f.w, "{net}: from_bytes(to_bytes(w)) == w");
        // Weights do not depend on the resolution the graph is built at.
        let big = Graph::by_name(net, 384, 512).unwrap();
        assert!(file::from_bytes(&f.bytes, &big, "mem").unwrap() == f.w, "{net} at 384x512");
    }
    let f = fixture("lmflownets");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("w.safetensors");
    file::save(&p, &f.w, &f.g).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), f.bytes.len() as u64, "save writes to_bytes");
    assert!(file::load(&p, &f.g).unwrap() == f.w);
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temporary left");
}

#[test]
fn to_bytes_is_deterministic() {
    // The metadata is the part at risk (it goes through a HashMap).
    let f = fixture("flownets");
    let meta = |b: &[u8]| {
        let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        let h = String::from_utf8(b[8..8 + n].to_vec()).unwrap();
        h[..h.find('}').unwrap() + 1].to_string()
    };
    for i in 0..6 {
        let again = file::to_bytes(&f.w, &f.g).unwrap();
        assert_eq!(meta(&again), meta(&f.bytes), "call {i}: same metadata bytes");
        assert!(again == f.bytes, "call {i}: same bytes");
    }
}

#[test]
fn tensors_have_the_documented_names_shapes_and_dtype() {
    let spot: [(&str, &str, &[usize]); 10] = [
        ("lmflownets", "conv1.weight", &[64, 24, 3, 3]),
        ("lmflownets", "conv2.weight", &[128, 256, 3, 3]),
        ("lmflownets", "conv1.bn.running_var", &[64]),
        ("lmflownets", "upsample_flow6.weight", &[32, 4, 3, 3]),
        ("lmflownets", "cast.weight", &[224, 224, 1, 1]),
        ("lmflownets", "predict_flow6.bias", &[2]),
        ("flownets", "conv1.weight", &[64, 6, 7, 7]),
        ("flownets", "deconv5.weight", &[1024, 512, 4, 4]),
        ("flownets", "upsampled_flow6_to_5.weight", &[4, 2, 4, 4]),
        ("flownets", "predict_flow2.bias", &[2]),
    ];
    for (net, name, shape) in spot {
        let st = SafeTensors::deserialize(&fixture(net).bytes).unwrap();
        let t = st.tensor(name).unwrap_or_else(|_| panic!("{net}: {name} present"));
        assert_eq!((t.dtype(), t.shape()), (Dtype::F32, shape), "{net} {name}");
    }
    for (net, count) in [("lmflownets", 105), ("flownets", 100)] {
        let f = fixture(net);
        let st = SafeTensors::deserialize(&f.bytes).unwrap();
        let mut names: Vec<String> = st.names().into_iter().cloned().collect();
        names.sort();
        let mut expected = Vec::new();
        for (layer, spec) in layer_specs(&f.g) {
            expected.push(format!("{layer}.weight"));
            assert!(spec.bias != spec.bn, "{layer}: either a bias or batch-norm");
            if spec.bias {
                expected.push(format!("{layer}.bias"));
            }
            if spec.bn {
                expected.extend(["weight", "bias", "running_mean", "running_var"].map(|s| format!("{layer}.bn.{s}")));
            }
        }
        expected.sort();
        assert_eq!(names, expected, "{net}: exactly the documented tensors");
        assert_eq!(names.len(), count, "{net}");
        let values: usize = names.iter().map(|n| st.tensor(n).unwrap().shape().iter().product::<usize>()).sum();
        assert_eq!(values as u64, f.g.parameters(), "{net}: the file holds every parameter once");
        assert!(names.iter().all(|n| st.tensor(n).unwrap().dtype() == Dtype::F32), "{net}: all F32");
    }
}

#[test]
fn kernels_are_stored_in_pytorch_layout() {
    // Internal order is [co][ky][kx][ci]; the file holds nn.Conv2d's
    // [Cout, Cin, Kh, Kw] and nn.ConvTranspose2d's [Cin, Cout, Kh, Kw].
    for (net, layer) in
        [("lmflownets", "conv2"), ("flownets", "conv1"), ("flownets", "deconv5"), ("flownets", "upsampled_flow6_to_5")]
    {
        let f = fixture(net);
        let st = SafeTensors::deserialize(&f.bytes).unwrap();
        let t = st.tensor(&format!("{layer}.weight")).unwrap();
        let file: Vec<f32> = t.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        let spec = layer_specs(&f.g).into_iter().find(|(n, _)| n == layer).unwrap().1;
        let internal = &f.w.layers[layer].weight;
        let s = t.shape();
        let mut checked = 0;
        for co in (0..spec.cout).step_by(spec.cout.div_ceil(7)) {
            for ci in (0..spec.cin).step_by(spec.cin.div_ceil(5)) {
                for ky in 0..spec.kh {
                    for kx in 0..spec.kw {
                        let at = if spec.transposed {
                            ((ci * s[1] + co) * s[2] + ky) * s[3] + kx
                        } else {
                            ((co * s[1] + ci) * s[2] + ky) * s[3] + kx
                        };
                        let want = internal[((co * spec.kh + ky) * spec.kw + kx) * spec.cin + ci];
                        assert_eq!(file[at].to_bits(), want.to_bits(), "{net} {layer} co {co} ci {ci} ky {ky} kx {kx}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked >= 4 * spec.kh * spec.kw, "{net} {layer}");
        assert_eq!(spec.transposed, layer.starts_with("deconv") || layer.starts_with("upsampled"), "{layer}");
    }
}

#[test]
fn metadata_holds_net_format_and_version() {
    for net in NETS {
        let (_, meta) = SafeTensors::read_metadata(&fixture(net).bytes).unwrap();
        let m = meta.metadata().clone().expect("metadata present");
        assert_eq!(m.get("net").map(String::as_str), Some(net));
        assert_eq!(m.get("format").map(String::as_str), Some(file::FORMAT));
        assert_eq!(m.get("version").map(String::as_str), Some(file::VERSION));
        assert_eq!((file::FORMAT, file::VERSION, m.len()), ("zynqflow-weights", "1", 3));
    }
}

/// What to do with one tensor when rebuilding a file.
enum Edit {
    Keep,
    Drop,
    Replace(Dtype, Vec<usize>, Vec<u8>),
}

/// Re-serializes `bytes` with `edit` applied to every tensor, `extra`
/// tensors added and `meta` as the metadata.
fn rebuild(
    bytes: &[u8],
    edit: impl Fn(&str, &[usize], &[u8]) -> Edit,
    extra: &[(&str, Vec<u8>)],
    meta: Option<HashMap<String, String>>,
) -> Vec<u8> {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut kept: Vec<(String, TensorView)> = Vec::new();
    for (name, t) in st.tensors() {
        match edit(&name, t.shape(), t.data()) {
            Edit::Keep => kept.push((name, t)),
            Edit::Drop => {}
            Edit::Replace(d, s, data) => owned.push((name, d, s, data)),
        }
    }
    for (name, data) in extra {
        owned.push((name.to_string(), Dtype::F32, vec![data.len() / 4], data.clone()));
    }
    let views = kept
        .into_iter()
        .chain(owned.iter().map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())));
    safetensors::serialize(views, &meta).unwrap()
}

fn with_value(name: &'static str, index: usize, v: f32) -> impl Fn(&str, &[usize], &[u8]) -> Edit {
    move |n, s, d| {
        if n != name {
            return Edit::Keep;
        }
        let mut d = d.to_vec();
        d[4 * index..4 * index + 4].copy_from_slice(&v.to_le_bytes());
        Edit::Replace(Dtype::F32, s.to_vec(), d)
    }
}

fn meta(net: &str) -> Option<HashMap<String, String>> {
    Some(
        [("net", net), ("format", file::FORMAT), ("version", file::VERSION)]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    )
}

#[test]
fn structural_errors_name_the_tensor() {
    let f = fixture("lmflownets");
    let load = |b: &[u8]| file::from_bytes(b, &f.g, "w.st");
    let m = meta("lmflownets");
    for missing in ["deconv3.bn.running_var", "predict_flow4.bias", "upsample_flow5.weight"] {
        let e = load(&rebuild(&f.bytes, |n, _, _| if n == missing { Edit::Drop } else { Edit::Keep }, &[], m.clone()))
            .unwrap_err();
        assert!(matches!(&e, WeightsError::Missing { name, .. } if name == missing), "{missing}: {e:?}");
        assert_eq!(e.to_string(), format!("weights 'w.st': missing tensor '{missing}'"));
    }
    let reshape = |n: &str, _: &[usize], d: &[u8]| match n {
        "conv2.weight" => Edit::Replace(Dtype::F32, vec![128, 256, 9, 1], d.to_vec()),
        _ => Edit::Keep,
    };
    let e = load(&rebuild(&f.bytes, reshape, &[], m.clone())).unwrap_err();
    assert!(matches!(&e, WeightsError::Mismatch { name, .. } if name == "conv2.weight"), "{e:?}");
    assert!(e.to_string().contains("F32 [128, 256, 9, 1], expected F32 [128, 256, 3, 3]"), "{e}");
    let half = |n: &str, s: &[usize], d: &[u8]| match n {
        "conv2.weight" => Edit::Replace(Dtype::F16, s.to_vec(), d[..d.len() / 2].to_vec()),
        _ => Edit::Keep,
    };
    let e = load(&rebuild(&f.bytes, half, &[], m.clone())).unwrap_err();
    assert!(matches!(&e, WeightsError::Mismatch { name, .. } if name == "conv2.weight"), "{e:?}");
    assert!(e.to_string().contains("F16 [128, 256, 3, 3], expected F32"), "{e}");
    // Another network's file, by its metadata.
    let e = load(&rebuild(&f.bytes, |_, _, _| Edit::Keep, &[], meta("flownets"))).unwrap_err();
    assert!(matches!(&e, WeightsError::WrongNet { found, .. } if found == "flownets"), "{e:?}");
    // No metadata (e.g. a converted checkpoint) and extra tensors are accepted.
    let extra = [("conv1.bn.num_batches_tracked", vec![0u8; 8]), ("some.other.tensor", vec![0u8; 4])];
    let loose = rebuild(&f.bytes, |_, _, _| Edit::Keep, &extra, None);
    assert!(load(&loose).unwrap() == f.w);
}

#[test]
fn bad_values_name_the_file_tensor_and_its_index() {
    let f = fixture("flownets");
    let load = |b: &[u8]| file::from_bytes(b, &f.g, "w.st").unwrap_err();
    let m = meta("flownets");
    // (tensor, flat index in the file's own layout, value, what the error says)
    let cases: [(&'static str, usize, f32, &str); 6] = [
        ("predict_flow3.bias", 1, f32::NAN, "NaN"),
        ("predict_flow6.bias", 0, f32::INFINITY, "infinity"),
        ("conv3.bn.running_mean", 5, f32::NAN, "NaN"),
        ("conv1.bn.weight", 3, f32::NEG_INFINITY, "infinity"),
        ("deconv4.bn.running_var", 2, -1.0, "a negative variance"),
        // [Cout=64, Cin=6, 7, 7]: element (1, 2, 0, 3); the index must be
        // the file's (PyTorch) flat index, not the internal one.
        ("conv1.weight", ((6 + 2) * 7) * 7 + 3, f32::NAN, "NaN"),
    ];
    for (name, index, v, what) in cases {
        let e = load(&rebuild(&f.bytes, with_value(name, index, v), &[], m.clone()));
        let msg = e.to_string();
        assert!(matches!(&e, WeightsError::BadValue { .. }), "{name}: {e:?}");
        assert_eq!(msg, format!("weights 'w.st': tensor '{name}' holds {what} at index {index}"), "{name}");
    }
    // In memory too, batch-norm problems use the file's tensor names.
    let mut w = f.w.clone();
    w.layers.get_mut("conv2").unwrap().bn.as_mut().unwrap().gamma.pop();
    let e = w.check(&f.g, "mem").unwrap_err();
    assert!(matches!(&e, WeightsError::Mismatch { name, .. } if name == "conv2.bn.weight"), "{e:?}");
}

/// The per-layer table of docs/weights.md, rendered from the graphs.
fn render_tables() -> String {
    let mut s = String::new();
    for net in NETS {
        let g = Graph::by_name(net, 384, 512).unwrap();
        let specs = layer_specs(&g);
        let tensors: usize = specs.iter().map(|(_, sp)| 1 + if sp.bias { 1 } else { 4 }).sum();
        let _ =
            writeln!(s, "#### `{net}`: {} convolutions, {tensors} tensors, {} values\n", specs.len(), g.parameters());
        let _ = writeln!(s, "| layer | reads | op | bits (W → out) | `.weight` shape | other tensors |");
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for ((_, node, c), (name, spec)) in g.convs().zip(&specs) {
            assert_eq!(&node.name, name);
            let geo = &c.geom;
            let mut op =
                format!("{} {}x{}/{}", if geo.transposed { "deconv" } else { "conv" }, geo.kh, geo.kw, geo.stride);
            if geo.upsample > 1 {
                op = format!("up x{} + {op}", geo.upsample);
            }
            let src = &g.nodes[c.src];
            let reads = match src.kind {
                ValueKind::Codes { bits, .. } => format!("`{}` ({} ch, A{bits})", src.name, src.shape.c),
                ValueKind::Float => unreachable!("convolutions read codes"),
            };
            let out = match c.output {
                ConvOutput::Activation { bits } => format!("A{bits}"),
                ConvOutput::Flow => "raw (float)".to_string(),
            };
            let shape = file::pytorch_weight_shape(spec);
            let others = if spec.bias { format!("`bias` [{}]", spec.cout) } else { format!("`bn.*` [{}]", spec.cout) };
            let _ = writeln!(s, "| `{name}` | {reads} | {op} | W{} → {out} | {shape:?} | {others} |", c.weight_bits);
        }
        s.push('\n');
    }
    s
}

#[test]
fn docs_table_of_tensors_is_up_to_date() {
    const BEGIN: &str = "<!-- tensors:begin -->\n";
    const END: &str = "<!-- tensors:end -->";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/weights.md");
    let doc = std::fs::read_to_string(&path).expect("docs/weights.md exists");
    let (a, b) = (doc.find(BEGIN).expect("begin marker") + BEGIN.len(), doc.find(END).expect("end marker"));
    let want = format!("\n{}", render_tables());
    if doc[a..b] != want {
        if std::env::var("ZYNQFLOW_BLESS").as_deref() == Ok("1") {
            std::fs::write(&path, format!("{}{want}{}", &doc[..a], &doc[b..])).unwrap();
            eprintln!("rewrote the tensor tables of {}", path.display());
        } else {
            panic!(
                "docs/weights.md: the tensor tables are stale. Regenerate them with\n  \
                 ZYNQFLOW_BLESS=1 cargo test --release -p zynqflow-driver --test weights_file docs_table\n\
                 expected section:\n{want}"
            );
        }
    }
    // The table is the spec: spot-check rows a reader relies on.
    for row in [
        "| `conv2` | `conv2_s2d` (256 ch, A2) | conv 3x3/1 | W1 → A2 | [128, 256, 3, 3] | `bn.*` [128] |",
        "| `deconv5` | `conv6_1` (1024 ch, A4) | deconv 4x4/2 | W4 → A4 | [1024, 512, 4, 4] | `bn.*` [512] |",
    ] {
        assert!(want.contains(row), "missing row {row}");
    }
}

//! The per-layer table printed by `zynqflow net`.

use super::{ConvOutput, Graph, Op, ValueKind};
use std::fmt::Write;

/// One row per node: name, operation, output shape, MACs and bit widths;
/// then totals. `plan` adds where each node runs (accelerator or host).
pub fn render(g: &Graph) -> String {
    let mut s = String::new();
    let (h, w) = g.input_size();
    let _ = writeln!(s, "network {} at {h}x{w}", g.name);
    let _ = writeln!(
        s,
        "{:<22} {:<26} {:>14} {:>10}  {:<5} {:<5} {:<5}",
        "layer", "op", "out HxWxC", "MMAC", "A_in", "W", "out"
    );
    for (i, n) in g.nodes.iter().enumerate() {
        let (op, a_in, wb, out) = match &n.op {
            Op::Input => ("input".to_string(), "-".into(), "-".into(), kind(n.kind)),
            Op::SpaceToDepth { .. } => ("space-to-depth 2".into(), "-".into(), "-".into(), kind(n.kind)),
            Op::Conv(c) => {
                let geo = &c.geom;
                let mut op = format!(
                    "{}{}x{}/{} p{}",
                    if geo.transposed { "deconv " } else { "conv " },
                    geo.kh,
                    geo.kw,
                    geo.stride,
                    geo.pad
                );
                if geo.upsample > 1 {
                    op = format!("up{} + {op}", geo.upsample);
                }
                let out = match c.output {
                    ConvOutput::Activation { bits } => format!("A{bits}"),
                    ConvOutput::Flow => "raw".into(),
                };
                (op, kind(g.nodes[c.src].kind), format!("W{}", c.weight_bits), out)
            }
            Op::Concat(v) => (format!("concat of {}", v.len()), "-".into(), "-".into(), kind(n.kind)),
            Op::SignSplit { .. } => ("sign split (host)".into(), "f32".into(), "-".into(), kind(n.kind)),
            Op::Upsample { factor, .. } => {
                (format!("nearest x{factor} (host)"), "f32".into(), "-".into(), kind(n.kind))
            }
            Op::Scale { factor, .. } => (format!("scale x{factor} (host)"), "f32".into(), "-".into(), kind(n.kind)),
        };
        let macs = g.macs(i);
        let mmac = if macs > 0 { format!("{:.1}", macs as f64 / 1e6) } else { String::new() };
        let _ = writeln!(
            s,
            "{:<22} {:<26} {:>14} {:>10}  {:<5} {:<5} {:<5}",
            n.name,
            op,
            n.shape.to_string(),
            mmac,
            a_in,
            wb,
            out
        );
    }
    let _ = writeln!(
        s,
        "total: {:.2} GMAC, {:.1} M parameters, {} convolutions",
        g.total_macs() as f64 / 1e9,
        g.parameters() as f64 / 1e6,
        g.convs().count()
    );
    s
}

fn kind(k: ValueKind) -> String {
    match k {
        ValueKind::Codes { bits, .. } => format!("A{bits}"),
        ValueKind::Float => "f32".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_every_layer_and_the_total() {
        let g = crate::graph::lmflownets::build(384, 512).unwrap();
        let t = render(&g);
        assert_eq!(t.lines().count(), g.nodes.len() + 3);
        assert!(t.contains("total: 28.07 GMAC"), "{t}");
        assert!(t
            .lines()
            .any(|l| l.starts_with("deconv2") && l.contains("up2 + conv 3x3/1 p1") && l.contains("2944.")));
    }
}

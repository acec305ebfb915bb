//! The table printed by `zynqflow net --plan`: where every layer runs, with
//! its descriptors, arena placement and MACs.

use super::{Placement, Program};
use std::fmt::Write;

/// Renders the plan of a compiled program.
pub fn render(p: &Program) -> String {
    let g = &p.graph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "plan for {} at {}x{}: {} descriptors, {:.2} GMAC on the accelerator, weights {:.2} MiB, activation arena {:.2} MiB",
        g.name,
        g.input_size().0,
        g.input_size().1,
        p.image.commands.len(),
        p.image.macs() as f64 / 1e9,
        p.image.weights.len() as f64 / 1048576.0,
        p.image.arena_bytes as f64 / 1048576.0
    );
    let _ = writeln!(s, "{:<22} {:<14} {:<34} {:>12}", "layer", "runs on", "as", "arena");
    for (id, node) in g.nodes.iter().enumerate() {
        let (runs, how) = match &p.placement[id] {
            Placement::HostInput => (
                "host".to_string(),
                match &p.image.input_im2col {
                    Some(c) => format!("packs {}x{}/{} receptive fields ({} ch)", c.kh, c.kw, c.stride, c.channels()),
                    None => "packs the 8-bit frame pair".to_string(),
                },
            ),
            Placement::Accelerator(r) => {
                let d = &p.image.commands[r.start].desc;
                let mut how = format!("{}x{}/{} p{},{}", d.kh, d.kw, d.stride, d.pad_top, d.pad_left);
                if d.upsample > 1 {
                    how = format!("up{} + {how}", d.upsample);
                }
                if r.len() > 1 {
                    how = format!("{} phases of {how}, out stride {}", r.len(), d.out_stride);
                }
                if let (Some(t), true) = (&p.image.output_taps, id == p.output_node) {
                    how = format!("{}x{} as {} 1x1 taps ({} ch), host sums", t.kh, t.kw, t.taps(), t.channels());
                }
                how.push_str(if d.mode == zynqflow_isa::MODE_RAW { ", raw" } else { ", thresholds" });
                let runs =
                    if r.len() > 1 { format!("acc #{}-{}", r.start, r.end - 1) } else { format!("acc #{}", r.start) };
                (runs, how)
            }
            Placement::FusedInto(other) => ("(fused)".into(), format!("into {}", g.nodes[*other].name)),
            Placement::InPlace => ("(in place)".into(), "producers write at channel offsets".into()),
            Placement::Host => ("host".into(), "float, after the list".into()),
        };
        let arena = match p.tensors[id] {
            Some((off, 0)) => format!("{off:#x}"),
            Some((off, ch)) => format!("{off:#x}+c{ch}"),
            None => String::new(),
        };
        let _ = writeln!(s, "{:<22} {:<14} {:<34} {:>12}", node.name, runs, how, arena);
    }
    s
}

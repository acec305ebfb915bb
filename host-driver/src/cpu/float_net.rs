//! The float network on the CPU: the same graph with the unquantized weights
//! and real-valued activations (batch-norm, then clip to `[0, ACT_MAX]`, the
//! quantizer without its rounding). It is the reference the quantized network
//! is compared with, and the baseline of the CPU benchmark.

use super::fconv::fconv;
use super::ops;
use super::quant_net::last_uses;
use crate::graph::{ConvOutput, Graph, Op, ACT_MAX};
use crate::quant::BN_EPS;
use crate::weights::{WeightSet, WeightsError};
use crate::FTensor;

/// A network ready to run in f32.
#[derive(Debug, Clone)]
pub struct FloatNet {
    /// The graph.
    pub graph: Graph,
    /// The weights, checked against the graph.
    pub weights: WeightSet,
}

impl FloatNet {
    /// Checks `w` against `graph`.
    pub fn new(graph: Graph, w: &WeightSet) -> Result<Self, WeightsError> {
        w.check(&graph, "weights")?;
        Ok(FloatNet { graph, weights: w.clone() })
    }

    /// Runs the network on a frame pair (pixel codes 0..=255); returns the flow
    /// in pixels. `progress(done, total, layer)` is called after each node.
    pub fn run(&self, frames: &FTensor, progress: &mut dyn FnMut(usize, usize, &str)) -> FTensor {
        let g = &self.graph;
        let last = last_uses(g);
        let mut values: Vec<Option<FTensor>> = vec![None; g.nodes.len()];
        for (id, node) in g.nodes.iter().enumerate() {
            let get = |i: usize| values[i].as_ref().expect("live input");
            let v = match &node.op {
                Op::Input => ops::scale_f(frames, 1.0 / 255.0),
                Op::SpaceToDepth { src } => ops::space_to_depth_f(get(*src)),
                Op::Conv(c) => {
                    let lw = &self.weights.layers[&node.name];
                    let mut y = fconv(get(c.src), &lw.weight, c.cout, &c.geom);
                    finish(&mut y, lw, c.output);
                    y
                }
                Op::Concat(srcs) => ops::concat_f(&srcs.iter().map(|&s| get(s)).collect::<Vec<_>>()),
                Op::SignSplit { src, bits, step } => ops::sign_split_f(get(*src), *bits, *step),
                Op::Upsample { src, factor } => ops::upsample_f(get(*src), *factor),
                Op::Scale { src, factor } => ops::scale_f(get(*src), *factor),
            };
            values[id] = Some(v);
            for s in node.op.inputs() {
                if last[s] == id {
                    values[s] = None;
                }
            }
            progress(id + 1, g.nodes.len(), &node.name);
        }
        values[g.output].take().expect("output evaluated")
    }
}

/// Bias, batch-norm and the clipping activation, in place.
fn finish(y: &mut FTensor, lw: &crate::weights::LayerWeights, output: ConvOutput) {
    let c = y.c;
    let affine: Vec<(f32, f32)> = (0..c)
        .map(|co| {
            let b = lw.bias.as_ref().map_or(0.0, |b| b[co]);
            match &lw.bn {
                None => (1.0, b),
                Some(bn) => {
                    let k = bn.gamma[co] / (bn.var[co] + BN_EPS as f32).sqrt();
                    (k, k * (b - bn.mean[co]) + bn.beta[co])
                }
            }
        })
        .collect();
    let clip = matches!(output, ConvOutput::Activation { .. });
    for (i, v) in y.data.iter_mut().enumerate() {
        let (k, d) = affine[i % c];
        *v = k * *v + d;
        if clip {
            *v = v.clamp(0.0, ACT_MAX);
        }
    }
}

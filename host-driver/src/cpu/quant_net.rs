//! The quantized network on the CPU: the golden model of what the
//! accelerator computes, layer for layer and bit for bit.
//!
//! [`QuantNet::new`] turns float weights into what the hardware consumes
//! (integer weights as bit-planes, threshold tables, raw-mode scales and
//! biases); [`QuantNet::run`] executes the graph with the bit-plane kernels of
//! [`super::qconv`] and the host steps of [`super::ops`].

use super::ops;
use super::qconv::{qconv, threshold};
use crate::graph::{act_step, ConvOutput, Graph, NodeId, Op, ValueKind};
use crate::quant::{fold_thresholds, quantize_weights, QuantizedWeights, Thresholds};
use crate::weights::{LayerWeights, WeightSet, WeightsError};
use crate::{FTensor, QTensor, RawTensor};
use zynqflow_isa::ActBits;

/// The value of a node in the quantized network.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Activation codes.
    Codes(QTensor),
    /// Float values (flows).
    Float(FTensor),
}

impl Value {
    /// The codes; panics on a float (the graph's kinds rule that out).
    pub fn codes(&self) -> &QTensor {
        match self {
            Value::Codes(q) => q,
            Value::Float(_) => panic!("expected codes, found a float tensor"),
        }
    }

    /// The float tensor; panics on codes.
    pub fn float(&self) -> &FTensor {
        match self {
            Value::Float(f) => f,
            Value::Codes(_) => panic!("expected a float tensor, found codes"),
        }
    }
}

/// How a prepared layer finishes its accumulators.
#[derive(Debug, Clone, PartialEq)]
pub enum QuantOut {
    /// Threshold mode: codes for the next layer.
    Thresholds(Thresholds),
    /// Raw mode: the host computes `acc · scale[co] + bias[co]` in float.
    Flow {
        /// Real value of one accumulator unit per channel (`s_in · s_w`).
        scale: Vec<f64>,
        /// Bias per channel.
        bias: Vec<f32>,
    },
}

/// One convolution prepared for the integer datapath.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantLayer {
    /// Integer weights and their scales.
    pub weights: QuantizedWeights,
    /// Output stage.
    pub out: QuantOut,
}

/// Quantizes one convolution's float parameters for node `id` of `g`.
pub fn prepare_layer(g: &Graph, id: NodeId, lw: &LayerWeights) -> QuantLayer {
    let Op::Conv(c) = &g.nodes[id].op else { panic!("node {id} is not a convolution") };
    let ValueKind::Codes { step: s_in, .. } = g.nodes[c.src].kind else { panic!("conv input is not codes") };
    let cin = g.nodes[c.src].shape.c;
    let weights = quantize_weights(&lw.weight, c.cout, c.geom.kh, c.geom.kw, cin, c.weight_bits);
    let acc_scale: Vec<f64> = weights.scale.iter().map(|s| s * f64::from(s_in)).collect();
    let out = match c.output {
        ConvOutput::Activation { bits } => QuantOut::Thresholds(fold_thresholds(
            &acc_scale,
            lw.bias.as_deref(),
            lw.bn.as_ref(),
            bits,
            f64::from(act_step(bits)),
        )),
        ConvOutput::Flow => {
            QuantOut::Flow { scale: acc_scale, bias: lw.bias.clone().unwrap_or_else(|| vec![0.0; c.cout]) }
        }
    };
    QuantLayer { weights, out }
}

/// Raw-mode finish: `acc · scale + bias` per channel, as f32.
pub fn finish_flow(acc: &RawTensor, scale: &[f64], bias: &[f32]) -> FTensor {
    let c = acc.c();
    let data = acc
        .data
        .iter()
        .enumerate()
        .map(|(i, &a)| (f64::from(a) * scale[i % c] + f64::from(bias[i % c])) as f32)
        .collect();
    FTensor::from_vec(acc.h(), acc.w(), c, data)
}

/// The frame pair (pixel codes 0..=255 as f32) as 8-bit input codes,
/// packed straight into bit-planes. Panics on a value that is not an
/// integer in 0..=255 (the loaders never produce one).
pub fn input_codes(frames: &FTensor) -> QTensor {
    let layout = zynqflow_isa::ActLayout::new(frames.h, frames.w, frames.c, ActBits::B8).expect("non-zero");
    let mut t = QTensor::zeros(layout);
    let wpp = layout.words_per_pixel();
    for (px, dst) in t.data.chunks_mut(wpp).enumerate() {
        for (ch, &v) in frames.data[px * frames.c..(px + 1) * frames.c].iter().enumerate() {
            assert!((0.0..=255.0).contains(&v) && v.fract() == 0.0, "pixel code {v} is not an integer in 0..=255");
            let code = v as u64;
            let (g, i) = (ch / zynqflow_isa::CHANNELS_PER_WORD, ch % zynqflow_isa::CHANNELS_PER_WORD);
            for p in 0..8 {
                dst[g * 8 + p] |= ((code >> p) & 1) << i;
            }
        }
    }
    t
}

/// Evaluates node `id` given the values of its inputs (`layer` for convolutions).
pub fn eval_node(
    g: &Graph,
    id: NodeId,
    layer: Option<&QuantLayer>,
    values: &[Option<Value>],
    frames: &FTensor,
) -> Value {
    let get = |i: NodeId| values[i].as_ref().expect("input evaluated and still live");
    match &g.nodes[id].op {
        Op::Input => Value::Codes(input_codes(frames)),
        Op::SpaceToDepth { src } => Value::Codes(ops::space_to_depth_q(get(*src).codes())),
        Op::Conv(c) => {
            let layer = layer.expect("prepared layer");
            let acc = qconv(get(c.src).codes(), &layer.weights.weights, &c.geom);
            match &layer.out {
                QuantOut::Thresholds(t) => Value::Codes(threshold(&acc, t)),
                QuantOut::Flow { scale, bias } => Value::Float(finish_flow(&acc, scale, bias)),
            }
        }
        Op::Concat(srcs) => {
            let parts: Vec<&QTensor> = srcs.iter().map(|&s| get(s).codes()).collect();
            Value::Codes(ops::concat_q(&parts))
        }
        Op::SignSplit { src, bits, step } => Value::Codes(ops::sign_split_q(get(*src).float(), *bits, *step)),
        Op::Upsample { src, factor } => Value::Float(ops::upsample_f(get(*src).float(), *factor)),
        Op::Scale { src, factor } => Value::Float(ops::scale_f(get(*src).float(), *factor)),
    }
}

/// For each node, the last node that reads it (itself if none): values are
/// dropped after their last use.
pub fn last_uses(g: &Graph) -> Vec<NodeId> {
    let mut last: Vec<NodeId> = (0..g.nodes.len()).collect();
    for (i, n) in g.nodes.iter().enumerate() {
        for s in n.op.inputs() {
            last[s] = last[s].max(i);
        }
    }
    last[g.output] = usize::MAX;
    last
}

/// A network ready to run on the CPU's integer path.
#[derive(Debug, Clone)]
pub struct QuantNet {
    /// The graph.
    pub graph: Graph,
    /// Per node: the prepared convolution, if it is one.
    pub layers: Vec<Option<QuantLayer>>,
}

impl QuantNet {
    /// Checks `w` against `graph` and quantizes every convolution.
    pub fn new(graph: Graph, w: &WeightSet) -> Result<Self, WeightsError> {
        w.check(&graph, "weights")?;
        let layers = (0..graph.nodes.len())
            .map(|i| match &graph.nodes[i].op {
                Op::Conv(_) => Some(prepare_layer(&graph, i, &w.layers[&graph.nodes[i].name])),
                _ => None,
            })
            .collect();
        Ok(QuantNet { graph, layers })
    }

    /// Runs the network on a frame pair (6 channels of pixel codes at the
    /// graph's input size); `progress(done, total, layer)` is called after
    /// each node. Returns the flow in pixels at full resolution.
    pub fn run(&self, frames: &FTensor, progress: &mut dyn FnMut(usize, usize, &str)) -> FTensor {
        let g = &self.graph;
        let (h, w) = g.input_size();
        assert_eq!((frames.h, frames.w, frames.c), (h, w, 6), "frames do not match the graph input");
        let last = last_uses(g);
        let mut values: Vec<Option<Value>> = vec![None; g.nodes.len()];
        for id in 0..g.nodes.len() {
            values[id] = Some(eval_node(g, id, self.layers[id].as_ref(), &values, frames));
            for s in g.nodes[id].op.inputs() {
                if last[s] == id {
                    values[s] = None;
                }
            }
            progress(id + 1, g.nodes.len(), &g.nodes[id].name);
        }
        match values[g.output].take() {
            Some(Value::Float(f)) => f,
            _ => unreachable!("validated graphs end in a float flow"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_packing_matches_code_by_code_packing() {
        let (h, w, c) = (3, 5, 70);
        let codes: Vec<u8> = (0..h * w * c).map(|i| (i * 37 % 256) as u8).collect();
        let f = FTensor::from_vec(h, w, c, codes.iter().map(|&v| f32::from(v)).collect());
        assert_eq!(input_codes(&f), QTensor::from_codes(h, w, c, ActBits::B8, &codes));
    }
}

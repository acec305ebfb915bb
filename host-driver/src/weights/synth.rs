//! Deterministic synthetic weights whose batch-norm statistics are calibrated
//! so that every quantized activation spreads over all its codes.
//!
//! Random weights alone give activations stuck at 0 or at the maximum code,
//! which test nothing. So the network is built layer by layer on a synthetic
//! frame pair, on the quantized path (the one the hardware computes): each
//! convolution gets random kernels (uniform, He-scaled), its pre-activation
//! `y = a·acc` is measured per channel, and batch-norm is set to
//! `μ = mean(y)`, `σ² = var(y)`, `γ ≈ ±0.6·ACT_MAX/2`, `β ≈ ACT_MAX/2`, so
//! the normalized value covers `[0, ACT_MAX]`. About one channel in eight
//! gets a negative γ (descending thresholds) and one in 64 a zero γ (a
//! constant channel), so every threshold mode occurs. Flow predictions are
//! rescaled so their output has a standard deviation of 0.25 (5 pixels after
//! the ×20), with a small bias.
//!
//! Everything is drawn from a ChaCha8 stream seeded by the seed, and all
//! arithmetic is sequential: the same seed gives the same bytes everywhere.

use super::{layer_specs, LayerWeights, WeightSet};
use crate::cpu::qconv::qconv;
use crate::cpu::quant_net::{eval_node, prepare_layer, Value};
use crate::graph::{ConvOutput, Graph, Op, ACT_MAX};
use crate::quant::{quantize_weights, BatchNorm};
use crate::FTensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Calibration frames are this size (or the graph's, if smaller): big enough
/// that the 1/64-scale layers still have several pixels.
pub const CALIBRATION_SIZE: (usize, usize) = (128, 192);

/// Synthesizes weights for `g`'s network, calibrated on the synthetic frame
/// pair of seed `seed ^ 0x5eed` at [`CALIBRATION_SIZE`]. The result does not
/// depend on `g`'s resolution.
pub fn synthesize(g: &Graph, seed: u64) -> WeightSet {
    let cal = Graph::by_name(&g.name, CALIBRATION_SIZE.0, CALIBRATION_SIZE.1).expect("calibration size is valid");
    let (a, b, _) = crate::io::synthetic_pair(seed ^ 0x5eed, CALIBRATION_SIZE.0, CALIBRATION_SIZE.1);
    let frames = crate::io::frames::pair_tensor(&a, &b);
    synthesize_on(&cal, seed, &frames)
}

/// [`synthesize`] with explicit calibration frames (pixel codes).
pub fn synthesize_on(g: &Graph, seed: u64, frames: &FTensor) -> WeightSet {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let specs: BTreeMap<_, _> = layer_specs(g).into_iter().collect();
    let mut set = WeightSet { net: g.name.clone(), layers: BTreeMap::new() };
    let mut values: Vec<Option<Value>> = vec![None; g.nodes.len()];
    for id in 0..g.nodes.len() {
        let node = &g.nodes[id];
        let layer = if let Op::Conv(c) = &node.op {
            let spec = specs[&node.name];
            let fan_in = (spec.kh * spec.kw * spec.cin) as f32;
            let bound = (6.0 / fan_in).sqrt();
            let mut weight: Vec<f32> = (0..spec.weight_len()).map(|_| rng.gen_range(-bound..bound)).collect();
            let src = values[c.src].as_ref().expect("input evaluated").codes();
            let q = quantize_weights(&weight, c.cout, c.geom.kh, c.geom.kw, spec.cin, c.weight_bits);
            let acc = qconv(src, &q.weights, &c.geom);
            let s_in = f64::from(act_step_of(g, c.src));
            let stats = channel_stats(&acc.data, c.cout, |co| q.scale[co] * s_in);
            let lw = match c.output {
                ConvOutput::Activation { .. } => {
                    let mut bn = BatchNorm { gamma: vec![], beta: vec![], mean: vec![], var: vec![] };
                    for (co, &(m, v)) in stats.iter().enumerate() {
                        let sign = if co % 64 == 63 {
                            0.0
                        } else if rng.gen_range(0..8) == 0 {
                            -1.0
                        } else {
                            1.0
                        };
                        bn.gamma.push(sign * rng.gen_range(0.5..0.7) * ACT_MAX / 2.0);
                        bn.beta.push(ACT_MAX / 2.0 + rng.gen_range(-0.1..0.1));
                        bn.mean.push(m as f32);
                        bn.var.push(v as f32);
                    }
                    LayerWeights { weight, bias: None, bn: Some(bn) }
                }
                ConvOutput::Flow => {
                    let mut bias = Vec::with_capacity(c.cout);
                    let per = spec.weight_len() / c.cout;
                    for (co, &(m, v)) in stats.iter().enumerate() {
                        let k = if v > 0.0 { 0.25 / v.sqrt() } else { 1.0 };
                        for w in &mut weight[co * per..(co + 1) * per] {
                            *w = (f64::from(*w) * k) as f32;
                        }
                        bias.push((-m * k + rng.gen_range(-0.05..0.05)) as f32);
                    }
                    LayerWeights { weight, bias: Some(bias), bn: None }
                }
            };
            set.layers.insert(node.name.clone(), lw);
            Some(prepare_layer(g, id, &set.layers[&node.name]))
        } else {
            None
        };
        values[id] = Some(eval_node(g, id, layer.as_ref(), &values, frames));
    }
    set
}

fn act_step_of(g: &Graph, id: usize) -> f32 {
    match g.nodes[id].kind {
        crate::graph::ValueKind::Codes { step, .. } => step,
        crate::graph::ValueKind::Float => unreachable!("convolutions read codes"),
    }
}

/// Per channel (mean, variance) of `acc · scale(co)` over all pixels.
fn channel_stats(acc: &[i32], c: usize, scale: impl Fn(usize) -> f64) -> Vec<(f64, f64)> {
    let n = (acc.len() / c) as f64;
    let mut sum = vec![0f64; c];
    let mut sq = vec![0f64; c];
    for (i, &a) in acc.iter().enumerate() {
        let y = f64::from(a) * scale(i % c);
        sum[i % c] += y;
        sq[i % c] += y * y;
    }
    (0..c)
        .map(|co| {
            let m = sum[co] / n;
            (m, (sq[co] / n - m * m).max(0.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::quant_net::QuantNet;
    use crate::graph::ValueKind;

    #[test]
    fn synthetic_weights_are_deterministic_and_spread_every_activation() {
        for net in ["lmflownets", "flownets"] {
            let g = Graph::by_name(net, 128, 192).unwrap();
            let w = synthesize(&g, 3);
            assert_eq!(w, synthesize(&g, 3), "{net}: same seed, same weights");
            assert_ne!(w.layers["conv1"].weight, synthesize(&g, 4).layers["conv1"].weight);
            w.check(&g, "synth").unwrap();
            // Run node by node and look at every activation's code histogram.
            let qn = QuantNet::new(g.clone(), &w).unwrap();
            let (a, b, _) = crate::io::synthetic_pair(99, 128, 192);
            let frames = crate::io::frames::pair_tensor(&a, &b);
            let mut values: Vec<Option<Value>> = vec![None; g.nodes.len()];
            for id in 0..g.nodes.len() {
                values[id] = Some(eval_node(&g, id, qn.layers[id].as_ref(), &values, &frames));
                let n = &g.nodes[id];
                if let (Op::Conv(_), ValueKind::Codes { bits, .. }) = (&n.op, n.kind) {
                    let codes = values[id].as_ref().unwrap().codes().to_codes();
                    let mut hist = vec![0usize; bits.max_code() as usize + 1];
                    for c in codes {
                        hist[c as usize] += 1;
                    }
                    let total: usize = hist.iter().sum();
                    // Lowest and highest code each hold at least 2% of values,
                    // no code holds more than 80%.
                    let (lo, hi) = (hist[0], hist[hist.len() - 1]);
                    assert!(lo * 50 >= total && hi * 50 >= total, "{net} {}: {hist:?}", n.name);
                    assert!(hist.iter().all(|&h| h * 5 <= total * 4), "{net} {}: {hist:?}", n.name);
                }
            }
        }
    }
}

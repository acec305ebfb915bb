//! Folding conv bias, batch-norm and the activation quantizer into integer
//! thresholds (Blueoil's threshold mode).
//!
//! For output channel `co` the real pre-activation is `y = a·acc + b`, with
//! `a = s_in · s_w[co]` the real value of one accumulator unit and `b` the
//! conv bias. Batch-norm gives `z = γ(y − μ)/√(σ² + ε) + β = α·acc + c`, and
//! the quantizer `code = clamp(⌊z/S + ½⌋, 0, 2^A − 1)`. So `code ≥ k` exactly
//! when `α·acc ≥ (k − ½)S − c`:
//! - `α > 0`: `acc ≥ t_k = ⌈((k − ½)S − c)/α⌉` — ascending thresholds;
//! - `α < 0`: `acc ≤ t_k = ⌊((k − ½)S − c)/α⌋` — descending thresholds;
//! - `α = 0`: the channel is the constant `clamp(⌊c/S + ½⌋)`.
//!
//! Thresholds beyond the `i32` range are clamped to it; no accumulator of
//! these networks comes near that range, so the comparison is unchanged.
//! Computed in f64 in a fixed order: the same tables on every machine.

use super::Thresholds;
use crate::cpu::ops::quantize;
use zynqflow_isa::{ActBits, ThresholdMode};

/// Batch-norm epsilon (PyTorch's default).
pub const BN_EPS: f64 = 1e-5;

/// Batch-norm parameters of one layer, one value per output channel.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Scale γ.
    pub gamma: Vec<f32>,
    /// Shift β.
    pub beta: Vec<f32>,
    /// Running mean μ.
    pub mean: Vec<f32>,
    /// Running variance σ².
    pub var: Vec<f32>,
}

/// The affine map `acc ↦ α·acc + c` of channel `co` (before the quantizer).
pub fn affine(acc_scale: &[f64], bias: Option<&[f32]>, bn: Option<&BatchNorm>, co: usize) -> (f64, f64) {
    let a = acc_scale[co];
    let b = bias.map_or(0.0, |b| f64::from(b[co]));
    match bn {
        None => (a, b),
        Some(bn) => {
            let g = f64::from(bn.gamma[co]);
            let sd = (f64::from(bn.var[co]) + BN_EPS).sqrt();
            (g * a / sd, g * (b - f64::from(bn.mean[co])) / sd + f64::from(bn.beta[co]))
        }
    }
}

/// Folds a layer's accumulator scales, bias and batch-norm into a threshold
/// table producing `out_bits`-bit codes of real step `step`.
pub fn fold_thresholds(
    acc_scale: &[f64],
    bias: Option<&[f32]>,
    bn: Option<&BatchNorm>,
    out_bits: ActBits,
    step: f64,
) -> Thresholds {
    let n = out_bits.num_thresholds();
    let channels: Vec<(ThresholdMode, Vec<i32>)> = (0..acc_scale.len())
        .map(|co| {
            let (alpha, c) = affine(acc_scale, bias, bn, co);
            let bound = |k: usize| ((k as f64 - 0.5) * step - c) / alpha;
            let clamp = |v: f64| v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
            if alpha > 0.0 {
                (ThresholdMode::Ascending, (1..=n).map(|k| clamp(bound(k).ceil())).collect())
            } else if alpha < 0.0 {
                (ThresholdMode::Descending, (1..=n).map(|k| clamp(bound(k).floor())).collect())
            } else {
                (ThresholdMode::Constant(quantize(c, step, out_bits)), vec![0; n])
            }
        })
        .collect();
    Thresholds::from_channels(out_bits, &channels)
}

/// The float definition that [`fold_thresholds`] must reproduce:
/// `quantize(BN(a·acc + b))`, computed step by step.
pub fn reference_code(
    acc: i32,
    acc_scale: &[f64],
    bias: Option<&[f32]>,
    bn: Option<&BatchNorm>,
    co: usize,
    out_bits: ActBits,
    step: f64,
) -> u8 {
    let mut y = f64::from(acc) * acc_scale[co] + bias.map_or(0.0, |b| f64::from(b[co]));
    if let Some(bn) = bn {
        y = f64::from(bn.gamma[co]) * (y - f64::from(bn.mean[co])) / (f64::from(bn.var[co]) + BN_EPS).sqrt()
            + f64::from(bn.beta[co]);
    }
    quantize(y, step, out_bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn thresholds_reproduce_quantize_of_batch_norm_on_random_layers() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut checked = 0;
        let mut modes = [0usize; 3];
        for layer in 0..60 {
            let bits = ActBits::new(rng.gen_range(1..=8)).unwrap();
            let step = 2.0 / f64::from(bits.max_code());
            let cout = 16;
            let acc_scale: Vec<f64> = (0..cout).map(|_| rng.gen_range(1e-4..0.1)).collect();
            let bias: Vec<f32> = (0..cout).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let bn = BatchNorm {
                gamma: (0..cout).map(|i| if i == 0 { 0.0 } else { rng.gen_range(-2.0..2.0) }).collect(),
                beta: (0..cout).map(|_| rng.gen_range(-1.0..2.0)).collect(),
                mean: (0..cout).map(|_| rng.gen_range(-5.0..5.0)).collect(),
                var: (0..cout).map(|_| rng.gen_range(0.0..20.0)).collect(),
            };
            let with_bias = layer % 2 == 0;
            let b = with_bias.then_some(&bias[..]);
            let t = fold_thresholds(&acc_scale, b, Some(&bn), bits, step);
            for co in 0..cout {
                modes[match t.channel(co).0 {
                    ThresholdMode::Ascending => 0,
                    ThresholdMode::Descending => 1,
                    ThresholdMode::Constant(_) => 2,
                }] += 1;
                for _ in 0..200 {
                    let acc = rng.gen_range(-3000..3000);
                    // Skip values within rounding noise of a code boundary.
                    let (alpha, c) = affine(&acc_scale, b, Some(&bn), co);
                    let u = (alpha * f64::from(acc) + c) / step + 0.5;
                    if (u - u.round()).abs() < 1e-7 {
                        continue;
                    }
                    let want = reference_code(acc, &acc_scale, b, Some(&bn), co, bits, step);
                    assert_eq!(t.apply(co, acc), want, "layer {layer} ch {co} acc {acc}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 150_000);
        assert!(modes.iter().all(|&m| m >= 50), "every mode exercised: {modes:?}");
    }

    #[test]
    fn exact_boundaries_round_half_up() {
        // a = 1, S = 1, no bias, no BN: code = clamp(round_half_up(acc)).
        let t = fold_thresholds(&[1.0], None, None, ActBits::B2, 1.0);
        assert_eq!(t.channel(0), (ThresholdMode::Ascending, &[1, 2, 3][..]));
        // S = 2: code ≥ 1 needs acc ≥ 1 (1/2 + 1/2 = 1 → rounds up).
        let t = fold_thresholds(&[1.0], None, None, ActBits::B2, 2.0);
        assert_eq!(t.channel(0).1, &[1, 3, 5]);
        assert_eq!(reference_code(1, &[1.0], None, None, 0, ActBits::B2, 2.0), 1);
        assert_eq!(reference_code(0, &[1.0], None, None, 0, ActBits::B2, 2.0), 0);
    }

    #[test]
    fn huge_thresholds_clamp_to_i32() {
        let t = fold_thresholds(&[1e-12], Some(&[-1.0]), None, ActBits::B2, 1.0);
        assert_eq!(t.channel(0).1, &[i32::MAX; 3]);
        assert_eq!(t.apply(0, 1_000_000), 0);
    }
}

//! Threshold tables that let the accelerator do the host's work after a
//! flow prediction: `f = (acc·scale + bias) as f32`, then the sign split
//! `[quantize(f), quantize(−f)]` to 8-bit codes.
//!
//! Both codes are monotone in the accumulator (`scale ≥ 0`), so each
//! threshold is found exactly by binary search over the accumulator range the
//! layer can reach, evaluating the host's own float expression — the result
//! is bit-identical to the host computation for every reachable accumulator,
//! whatever the float rounding does.

use crate::cpu::ops::quantize;
use zynqflow_isa::{ActBits, ThresholdMode};

/// The flow value the host computes for an accumulator (see
/// [`crate::cpu::quant_net::finish_flow`]).
fn flow_value(acc: i64, scale: f64, bias: f32) -> f32 {
    (acc as f64 * scale + f64::from(bias)) as f32
}

/// Mode and thresholds of the positive (`negative = false`) or negative part
/// of a split flow channel, for accumulators in `lo..=hi`.
pub fn split_channel(
    scale: f64,
    bias: f32,
    bits: ActBits,
    step: f32,
    negative: bool,
    lo: i64,
    hi: i64,
) -> (ThresholdMode, Vec<i32>) {
    let code = |acc: i64| {
        let v = f64::from(flow_value(acc, scale, bias));
        quantize(if negative { -v } else { v }, f64::from(step), bits)
    };
    let n = bits.num_thresholds();
    if scale == 0.0 {
        return (ThresholdMode::Constant(code(0)), vec![0; n]);
    }
    assert!(scale > 0.0, "flow scales are non-negative");
    let thresholds = (1..=n as u32)
        .map(|k| {
            let k = k as u8;
            if !negative {
                // Smallest acc with code ≥ k (non-decreasing), or hi + 1.
                let (mut a, mut b) = (lo, hi + 1);
                while a < b {
                    let m = a + (b - a) / 2;
                    if code(m) >= k {
                        b = m;
                    } else {
                        a = m + 1;
                    }
                }
                a
            } else {
                // Largest acc with code ≥ k (non-increasing), or lo − 1.
                let (mut a, mut b) = (lo - 1, hi);
                while a < b {
                    let m = a + (b - a + 1) / 2;
                    if code(m) >= k {
                        a = m;
                    } else {
                        b = m - 1;
                    }
                }
                a
            }
        })
        .map(|t| t.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        .collect();
    (if negative { ThresholdMode::Descending } else { ThresholdMode::Ascending }, thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn split_thresholds_equal_the_host_computation_on_the_whole_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let step = 8.0f32 / 255.0;
        for _ in 0..40 {
            let scale = rng.gen_range(1e-6..1e-2);
            let bias: f32 = rng.gen_range(-1.0..1.0);
            let (lo, hi) = (-20_000i64, 20_000i64);
            for negative in [false, true] {
                let (mode, t) = split_channel(scale, bias, ActBits::B8, step, negative, lo, hi);
                for acc in (lo..=hi).step_by(7) {
                    let v = f64::from(flow_value(acc, scale, bias));
                    let want = quantize(if negative { -v } else { v }, f64::from(step), ActBits::B8);
                    assert_eq!(mode.apply(acc as i32, &t) as u8, want, "acc {acc} scale {scale} bias {bias}");
                }
            }
        }
        let (m, _) = split_channel(0.0, 0.5, ActBits::B8, step, false, -10, 10);
        assert_eq!(m, ThresholdMode::Constant(quantize(0.5, f64::from(step), ActBits::B8)));
    }
}

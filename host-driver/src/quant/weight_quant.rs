//! Float weights to integer weights with a per-output-channel scale.
//!
//! - Binary (`W = 1`): Blueoil's `binary_channel_wise_mean_scaling`:
//!   `w_q = sign(w) · mean(|w|)` over each output channel (`sign(0) = +1`).
//! - `W`-bit signed: symmetric, `s = max|w| / (2^(W−1) − 1)`,
//!   `q = clamp(round(w / s), −(2^(W−1) − 1), 2^(W−1) − 1)`; the most
//!   negative code is never produced, so the range is symmetric.
//!
//! Scales are computed in f64 in a fixed order, so the result is the same on
//! every IEEE-754 machine.

use super::QWeights;
use zynqflow_isa::WeightBits;

/// Quantized weights and the real value of one integer step per output channel.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedWeights {
    /// The integers, packed.
    pub weights: QWeights,
    /// Per output channel: real weight = integer × scale.
    pub scale: Vec<f64>,
}

/// Quantizes float weights laid out `[co][ky][kx][ci]`.
pub fn quantize_weights(
    w: &[f32],
    cout: usize,
    kh: usize,
    kw: usize,
    cin: usize,
    bits: WeightBits,
) -> QuantizedWeights {
    let per = kh * kw * cin;
    assert_eq!(w.len(), cout * per, "quantize_weights: length");
    let mut ints = Vec::with_capacity(w.len());
    let mut scale = Vec::with_capacity(cout);
    for row in w.chunks(per) {
        if bits.is_binary() {
            let s = row.iter().map(|&v| f64::from(v).abs()).sum::<f64>() / per as f64;
            ints.extend(row.iter().map(|&v| if v >= 0.0 { 1i8 } else { -1 }));
            scale.push(s);
        } else {
            let qmax = f64::from(bits.max_value());
            let m = row.iter().map(|&v| f64::from(v).abs()).fold(0.0, f64::max);
            let s = if m > 0.0 { m / qmax } else { 1.0 };
            ints.extend(row.iter().map(|&v| (f64::from(v) / s).round().clamp(-qmax, qmax) as i8));
            scale.push(s);
        }
    }
    QuantizedWeights { weights: QWeights::from_ints(cout, kh, kw, cin, bits, &ints), scale }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_weights_keep_the_sign_and_the_mean_magnitude() {
        let w = [0.5, -0.25, 0.0, -1.0, 2.0, 2.0, -2.0, 2.0];
        let q = quantize_weights(&w, 2, 1, 1, 4, WeightBits::BINARY);
        assert_eq!(q.weights.to_ints(), vec![1, -1, 1, -1, 1, 1, -1, 1]);
        assert_eq!(q.scale, vec![0.4375, 2.0]);
    }

    #[test]
    fn multibit_weights_are_symmetric_and_hit_the_extremes() {
        let w = [1.0, -1.0, 0.5, 0.26];
        let q = quantize_weights(&w, 1, 1, 1, 4, WeightBits::new(3).unwrap());
        assert_eq!(q.weights.to_ints(), vec![3, -3, 2, 1]);
        assert!((q.scale[0] - 1.0 / 3.0).abs() < 1e-12);
        let z = quantize_weights(&[0.0; 4], 1, 1, 1, 4, WeightBits::B8);
        assert_eq!(z.weights.to_ints(), vec![0; 4]);
    }
}

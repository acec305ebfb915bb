//! The small tensor operations around the convolutions, for both paths:
//! space-to-depth, concatenation, nearest upsampling, scaling and the sign
//! split that turns a float flow into unsigned codes.

use crate::graph::Shape;
use crate::{FTensor, QTensor};
use rayon::prelude::*;
use zynqflow_isa::{ActBits, ActLayout, CHANNELS_PER_WORD};

/// Space-to-depth by 2 of a float tensor: output channel `(dy·2 + dx)·C + c`
/// at (y, x) is input channel `c` at (2y + dy, 2x + dx).
pub fn space_to_depth_f(t: &FTensor) -> FTensor {
    let (h, w, c) = (t.h / 2, t.w / 2, t.c);
    let mut out = FTensor::zeros(h, w, 4 * c);
    for y in 0..h {
        for x in 0..w {
            for d in 0..4 {
                let src = t.pixel(2 * y + d / 2, 2 * x + d % 2);
                let i = out.idx(y, x, d * c);
                out.data[i..i + c].copy_from_slice(src);
            }
        }
    }
    out
}

/// Space-to-depth by 2 of quantized codes, same channel order as
/// [`space_to_depth_f`]. Works on bit-planes: each of the four source
/// pixels' planes is copied as a run of `C` bits to channel offset `d·C`
/// (whole words when `C` is a multiple of 64).
pub fn space_to_depth_q(t: &QTensor) -> QTensor {
    let (h, w, c) = (t.h() / 2, t.w() / 2, t.c());
    let bits = t.bits().bits();
    let mut out = QTensor::zeros(ActLayout::new(h, w, 4 * c, t.bits()).expect("non-zero"));
    let (gi, go) = (t.layout.groups(), out.layout.groups());
    let wpp = out.layout.words_per_pixel();
    out.data.par_chunks_mut(w * wpp).enumerate().for_each(|(y, row)| {
        for x in 0..w {
            let dst = &mut row[x * wpp..(x + 1) * wpp];
            for d in 0..4 {
                let src = t.pixel_words(2 * y + d / 2, 2 * x + d % 2);
                for p in 0..bits {
                    // Plane p of the source is words src[g*bits + p], g < gi.
                    for ch0 in (0..c).step_by(CHANNELS_PER_WORD) {
                        let n = (c - ch0).min(CHANNELS_PER_WORD);
                        let v = src[(ch0 / CHANNELS_PER_WORD) * bits + p];
                        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
                        let o = d * c + ch0;
                        let (g, sh) = (o / CHANNELS_PER_WORD, o % CHANNELS_PER_WORD);
                        dst[g * bits + p] |= v << sh;
                        if sh != 0 && sh + n > CHANNELS_PER_WORD {
                            dst[(g + 1) * bits + p] |= v >> (CHANNELS_PER_WORD - sh);
                        }
                    }
                }
            }
            debug_assert!(go >= gi);
        }
    });
    out
}

/// Channel concatenation of float tensors of the same height and width.
pub fn concat_f(parts: &[&FTensor]) -> FTensor {
    let (h, w) = (parts[0].h, parts[0].w);
    let c: usize = parts.iter().map(|p| p.c).sum();
    let mut out = FTensor::zeros(h, w, c);
    for y in 0..h {
        for x in 0..w {
            let mut off = out.idx(y, x, 0);
            for p in parts {
                out.data[off..off + p.c].copy_from_slice(p.pixel(y, x));
                off += p.c;
            }
        }
    }
    out
}

/// Channel concatenation of quantized tensors of the same size and width.
/// Every part but the last must have a multiple of 64 channels (the graph
/// checks this), so each part owns whole words: words are copied, not codes.
pub fn concat_q(parts: &[&QTensor]) -> QTensor {
    let (h, w, bits) = (parts[0].h(), parts[0].w(), parts[0].bits());
    let c: usize = parts.iter().map(|p| p.c()).sum();
    let mut out = QTensor::zeros(ActLayout::new(h, w, c, bits).expect("non-zero"));
    for y in 0..h {
        for x in 0..w {
            let mut ch = 0;
            for p in parts {
                assert_eq!(ch % CHANNELS_PER_WORD, 0, "concat part at channel {ch} is not word aligned");
                assert_eq!((p.h(), p.w(), p.bits()), (h, w, bits), "concat part mismatch");
                let dst = out.layout.word_index(y, x, ch / CHANNELS_PER_WORD, 0);
                let src = p.pixel_words(y, x);
                out.data[dst..dst + src.len()].copy_from_slice(src);
                ch += p.c();
            }
        }
    }
    out
}

/// Nearest-neighbour upsampling of a float tensor by `factor`.
pub fn upsample_f(t: &FTensor, factor: usize) -> FTensor {
    let mut out = FTensor::zeros(t.h * factor, t.w * factor, t.c);
    for y in 0..out.h {
        for x in 0..out.w {
            let i = out.idx(y, x, 0);
            out.data[i..i + t.c].copy_from_slice(t.pixel(y / factor, x / factor));
        }
    }
    out
}

/// Multiplies every value by `factor`.
pub fn scale_f(t: &FTensor, factor: f32) -> FTensor {
    FTensor { data: t.data.iter().map(|v| v * factor).collect(), ..t.clone() }
}

/// The activation quantizer: `clamp(floor(x / step + 0.5), 0, 2^A − 1)`
/// (round half up, Blueoil's `linear_mid_tread_half`). NaN maps to 0.
#[inline]
pub fn quantize(x: f64, step: f64, bits: ActBits) -> u8 {
    let q = (x / step + 0.5).floor();
    if q.is_nan() || q <= 0.0 {
        0
    } else {
        q.min(f64::from(bits.max_code())) as u8
    }
}

/// Float path of [`Op::SignSplit`](crate::graph::Op::SignSplit):
/// `[relu(f), relu(−f)]`, each clipped to the code range `[0, step·(2^A−1)]`.
pub fn sign_split_f(t: &FTensor, bits: ActBits, step: f32) -> FTensor {
    let max = step * bits.max_code() as f32;
    let mut out = FTensor::zeros(t.h, t.w, 2 * t.c);
    for y in 0..t.h {
        for x in 0..t.w {
            for ch in 0..t.c {
                let v = t.at(y, x, ch);
                let (pos, neg) = (out.idx(y, x, ch), out.idx(y, x, t.c + ch));
                out.data[pos] = v.clamp(0.0, max);
                out.data[neg] = (-v).clamp(0.0, max);
            }
        }
    }
    out
}

/// Quantized path of [`Op::SignSplit`](crate::graph::Op::SignSplit): the same
/// split, quantized with [`quantize`].
pub fn sign_split_q(t: &FTensor, bits: ActBits, step: f32) -> QTensor {
    let mut out = QTensor::zeros(ActLayout::new(t.h, t.w, 2 * t.c, bits).expect("non-zero"));
    for y in 0..t.h {
        for x in 0..t.w {
            for ch in 0..t.c {
                let v = f64::from(t.at(y, x, ch));
                out.set(y, x, ch, quantize(v, f64::from(step), bits));
                out.set(y, x, t.c + ch, quantize(-v, f64::from(step), bits));
            }
        }
    }
    out
}

/// Real values of codes: code × step, as a float tensor.
pub fn dequantize(t: &QTensor, step: f32) -> FTensor {
    let data = t.to_codes().into_iter().map(|c| f32::from(c) * step).collect();
    FTensor::from_vec(t.h(), t.w(), t.c(), data)
}

/// The shape of a float tensor.
pub fn shape_of(t: &FTensor) -> Shape {
    Shape { h: t.h, w: t.w, c: t.c }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize, c: usize) -> FTensor {
        FTensor::from_vec(h, w, c, (0..h * w * c).map(|i| i as f32).collect())
    }

    #[test]
    fn space_to_depth_agrees_between_paths_and_with_its_definition() {
        let t = ramp(4, 6, 3);
        let s = space_to_depth_f(&t);
        assert_eq!((s.h, s.w, s.c), (2, 3, 12));
        assert_eq!(s.at(1, 2, 3 + 1), t.at(2, 5, 1)); // dy=0, dx=1
        assert_eq!(s.at(1, 2, 9 + 2), t.at(3, 5, 2)); // dy=1, dx=1
        for (c, bits) in [(70, 2), (6, 8), (64, 1), (23, 3), (128, 2)] {
            let b = ActBits::new(bits).unwrap();
            let codes: Vec<u8> = (0..4 * 6 * c).map(|i| ((i * 7 + i / 5) % (1 << bits)) as u8).collect();
            let q = QTensor::from_codes(4, 6, c, b, &codes);
            let qs = space_to_depth_q(&q);
            let fs = space_to_depth_f(&dequantize(&q, 1.0));
            assert_eq!(dequantize(&qs, 1.0), fs, "{c} channels, {bits} bits");
        }
    }

    #[test]
    fn concatenation_agrees_between_paths() {
        let mk = |c: usize, seed: usize| {
            let codes: Vec<u8> = (0..2 * 3 * c).map(|i| ((i * 7 + seed) % 4) as u8).collect();
            QTensor::from_codes(2, 3, c, ActBits::B2, &codes)
        };
        let (a, b, c) = (mk(64, 1), mk(128, 2), mk(32, 3));
        let q = concat_q(&[&a, &b, &c]);
        assert_eq!(q.c(), 224);
        let f = concat_f(&[&dequantize(&a, 1.0), &dequantize(&b, 1.0), &dequantize(&c, 1.0)]);
        assert_eq!(dequantize(&q, 1.0), f);
    }

    #[test]
    fn quantizer_rounds_half_up_and_clamps() {
        let b = ActBits::B2;
        let s = 2.0 / 3.0;
        assert_eq!(quantize(-1.0, s, b), 0);
        assert_eq!(quantize(s * 0.49, s, b), 0);
        assert_eq!(quantize(s * 0.5, s, b), 1);
        assert_eq!(quantize(2.0, s, b), 3);
        assert_eq!(quantize(100.0, s, b), 3);
        assert_eq!(quantize(f64::NAN, s, b), 0);
    }

    #[test]
    fn sign_split_keeps_the_sign_in_separate_channels() {
        let t = FTensor::from_vec(1, 2, 2, vec![0.5, -0.25, -20.0, 0.0]);
        let q = sign_split_q(&t, ActBits::B8, 1.0 / 64.0);
        assert_eq!(q.to_codes(), vec![32, 0, 0, 16, 0, 0, 255, 0]);
        let f = sign_split_f(&t, ActBits::B8, 1.0 / 64.0);
        assert_eq!(f.data, vec![0.5, 0.0, 0.0, 0.25, 0.0, 0.0, 255.0 / 64.0, 0.0]);
        let u = upsample_f(&t, 2);
        assert_eq!((u.h, u.w), (2, 4));
        assert_eq!(u.at(1, 3, 0), -20.0);
    }
}

//! The first layer's receptive fields packed into channels by the host.
//!
//! The network's input has few channels (6: two RGB frames) at 8 bits, and
//! the array multiplies 64-channel words: a `k × k` first conv would spend
//! `k²` taps × 64 plane pairs per tile on words that are 90 % zero lanes
//! (6 of 64 channels). Packing each output pixel's whole receptive field
//! into the channels of one pixel (an im2col, done by the host while it packs
//! the frame pair anyway) turns the layer into a 1 × 1 convolution over
//! `kh·kw·cin` channels: LmFlowNetS's 6×6/2 conv1 reads 4 channel groups per
//! output pixel instead of 36 taps of one group, so it takes 9× fewer array
//! steps and 9× fewer bus words (FlowNetS's 7×7/2: 5 groups against 49).
//!
//! The weights need no rearranging: a conv's integer weights are stored
//! `[co][ky][kx][ci]`, which is exactly the order of a 1 × 1 conv over the
//! packed channel `(ky·kw + kx)·cin + ci`. Padding becomes zero codes in the
//! packed tensor, as the array's zero padding would have read them.
//!
//! **Packed planes** (`planes`, the descriptor's `pack_planes`): LmFlowNetS's
//! 216 channels leave 40 of the last group's 64 lanes empty, and 8-bit codes
//! × 8-bit weights take 64 steps per group. The host appends the last
//! group's `c ≤ 32` channels again, codes shifted down one plane
//! (`zynqflow_isa::precision::packed_upper_code`), and the weights of those
//! lanes ([`Im2col::pack_weights`]); the array then takes 40 steps on that
//! group instead of 64 (`zynqflow_isa::precision::packed_plane_steps`),
//! conv1's 256 steps per tile become 232.

use crate::tensor::QTensor;
use zynqflow_isa::precision::{packed_upper_code, packed_upper_weight};
use zynqflow_isa::{ActLayout, Descriptor, WeightBits, CHANNELS_PER_WORD};

/// How the host packs a tensor of layout `src` into the receptive-field
/// tensor a 1 × 1 convolution reads (`out_h × out_w × kh·kw·cin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Im2col {
    /// The tensor the host has (the network's input).
    pub src: ActLayout,
    /// Kernel rows.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Stride.
    pub stride: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Output rows (rows of the packed tensor).
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
    /// The last group's channels are appended one plane over (packed
    /// planes; set by [`Im2col::with_planes`] where it pays off).
    pub planes: bool,
}

impl Im2col {
    /// Channels of the receptive field, `kh·kw·cin`.
    pub fn field_channels(&self) -> usize {
        self.kh * self.kw * self.src.channels
    }

    /// Channels of the last group that packed planes repeat (0 without).
    pub fn upper_channels(&self) -> usize {
        if self.planes {
            self.field_channels() % CHANNELS_PER_WORD
        } else {
            0
        }
    }

    /// Channels of the packed tensor: the receptive field's, and the
    /// repeated ones with packed planes.
    pub fn channels(&self) -> usize {
        self.field_channels() + self.upper_channels()
    }

    /// `self` with packed planes where they save steps for `w_bits`-bit
    /// weights (`Descriptor::can_pack_planes`).
    pub fn with_planes(self, w_bits: WeightBits) -> Self {
        let can = Descriptor::can_pack_planes(1, 1, self.field_channels() as u32, self.src.bits, w_bits);
        Im2col { planes: can, ..self }
    }

    /// The 1 × 1 conv's integer weights `[co][ci]` over the packed tensor's
    /// channels, from the layer's `[co][ky][kx][ci]` (`cout` channels): the
    /// same, with packed planes followed by the upper lanes' weights
    /// (`packed_upper_weight` of the last group's).
    pub fn pack_weights(&self, ints: &[i8], cout: usize, w_bits: WeightBits) -> Vec<i8> {
        let (n, up) = (self.field_channels(), self.upper_channels());
        assert_eq!(ints.len(), cout * n, "weights of the receptive field");
        let mut out = Vec::with_capacity(cout * (n + up));
        for row in ints.chunks_exact(n) {
            out.extend_from_slice(row);
            out.extend(row[n - up..].iter().map(|&v| packed_upper_weight(w_bits, i32::from(v)) as i8));
        }
        out
    }

    /// Layout of the packed tensor (same code width as the source).
    pub fn layout(&self) -> ActLayout {
        ActLayout::new(self.out_h, self.out_w, self.channels(), self.src.bits).expect("non-zero shape")
    }

    /// Whether packing saves array work: fewer channel groups per output
    /// pixel than the `kh·kw` taps of the source's groups.
    pub fn pays_off(&self) -> bool {
        self.kh * self.kw > 1 && self.layout().groups() < self.kh * self.kw * self.src.groups()
    }

    /// Packs `t` (of layout `src`). Panics on another layout: the runtime
    /// checks the input's shape before it packs.
    pub fn pack(&self, t: &QTensor) -> QTensor {
        assert_eq!(t.layout, self.src, "im2col source layout");
        let cin = self.src.channels;
        let (n, up) = (self.field_channels(), self.upper_channels());
        let mut out = QTensor::zeros(self.layout());
        for oy in 0..self.out_h {
            for ox in 0..self.out_w {
                for ky in 0..self.kh {
                    let Some(y) = (oy * self.stride + ky).checked_sub(self.pad_top).filter(|&y| y < self.src.height)
                    else {
                        continue;
                    };
                    for kx in 0..self.kw {
                        let Some(x) =
                            (ox * self.stride + kx).checked_sub(self.pad_left).filter(|&x| x < self.src.width)
                        else {
                            continue;
                        };
                        let base = (ky * self.kw + kx) * cin;
                        for c in 0..cin {
                            let code = t.get(y, x, c);
                            if code != 0 {
                                out.set(oy, ox, base + c, code);
                                // The last group's channels again, one plane over.
                                let k = base + c;
                                if let Some(i) = (k + up).checked_sub(n) {
                                    out.set(oy, ox, n + i, packed_upper_code(u32::from(code)) as u8);
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::qconv::qconv;
    use crate::cpu::ConvGeom;
    use crate::quant::QWeights;
    use rand::{Rng, SeedableRng};
    use zynqflow_isa::ActBits;

    /// A k×k strided conv and the 1×1 conv over its packed input give the
    /// same accumulators, bit for bit, with the same integer weights.
    #[test]
    fn packed_one_by_one_conv_equals_the_strided_conv() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(61);
        for case in 0..12 {
            let k = rng.gen_range(2..8usize);
            let (h, w) = (rng.gen_range(k..16), rng.gen_range(k..16));
            let cin = rng.gen_range(1..9);
            let stride = rng.gen_range(1..3);
            let pad = rng.gen_range(0..k);
            let (oh, ow) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
            let bits = [ActBits::B8, ActBits::B2, ActBits::B4][case % 3];
            let codes: Vec<u8> = (0..h * w * cin).map(|_| rng.gen_range(0..=bits.max_code()) as u8).collect();
            let x = QTensor::from_codes(h, w, cin, bits, &codes);
            let cout = rng.gen_range(1..5);
            let ints: Vec<i8> = (0..cout * k * k * cin).map(|_| rng.gen_range(-128..=127)).collect();
            let wk = QWeights::from_ints(cout, k, k, cin, WeightBits::B8, &ints);
            let direct = qconv(&x, &wk, &ConvGeom::square(k, stride, pad));
            let p = Im2col {
                src: x.layout,
                kh: k,
                kw: k,
                stride,
                pad_top: pad,
                pad_left: pad,
                out_h: oh,
                out_w: ow,
                planes: false,
            };
            let packed = p.pack(&x);
            let w1 = QWeights::from_ints(cout, 1, 1, k * k * cin, WeightBits::B8, &ints);
            let via = qconv(&packed, &w1, &ConvGeom::square(1, 1, 0));
            assert_eq!((direct.h(), direct.w()), (oh, ow), "case {case}");
            assert_eq!(direct, via, "case {case}: {h}x{w}x{cin} k{k} s{stride} p{pad}");
        }
    }

    #[test]
    fn the_network_first_layers_pay_off() {
        let src = ActLayout::new(384, 512, 6, ActBits::B8).unwrap();
        let lm =
            Im2col { src, kh: 6, kw: 6, stride: 2, pad_top: 2, pad_left: 2, out_h: 192, out_w: 256, planes: false };
        assert_eq!((lm.channels(), lm.layout().groups()), (216, 4));
        assert!(lm.pays_off());
        let one = Im2col { kh: 1, kw: 1, ..lm };
        assert!(!one.pays_off());
        // 216 channels: 24 in the last group, repeated one plane over.
        let planes = lm.with_planes(WeightBits::B8);
        assert!(planes.planes);
        assert_eq!((planes.channels(), planes.layout().groups()), (240, 4));
        assert!(!lm.with_planes(WeightBits::BINARY).planes);
    }
}

//! The last raw layer's kernel taps split into output channels, summed by
//! the host.
//!
//! The network's last convolution (LmFlowNetS's and FlowNetS's
//! `predict_flow2`: 3×3, 2 output channels, raw `i32` output) fills 2 of the
//! array's rows: every tile spends `kh·kw` taps × its plane pairs on 2 output
//! channels while the other rows idle. Because its output goes to the host
//! anyway (as raw accumulators, for the float steps after it), the layer can
//! run instead as a 1 × 1 convolution with one output channel per
//! (tap, channel) — `kh·kw·cout` channels, 18 for a 3×3 to 2 — whose
//! accumulator `P(y, x, t·cout + c)` is the tap `t = ky·kw + kx` part of the
//! sum at every input pixel. The host adds the parts back:
//!
//! `acc(oy, ox, c) = Σ_(ky, kx) P(oy + ky − pad_top, ox + kx − pad_left, t·cout + c)`
//!
//! over the input pixels inside the tensor (outside ones are the zero
//! padding, which contributes nothing). The sum is of integers, so the result
//! is the accumulator the `kh × kw` convolution would have produced, bit for
//! bit. The array does `⌈taps·cout / rows⌉` passes of one tap instead of
//! `⌈cout / rows⌉` passes of `taps` taps: for `predict_flow2` on 16 rows,
//! 2 × 1 tap instead of 1 × 9. The host's share is `taps·cout` additions
//! per output pixel (221,184 for LmFlowNetS at 384×512).

use crate::tensor::RawTensor;
use zynqflow_isa::RawLayout;

/// How a stride-1 raw convolution is split into taps and folded back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapSplit {
    /// Kernel rows of the original convolution.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Output channels of the original convolution.
    pub cout: usize,
    /// Input rows (rows of the split layer's output).
    pub in_h: usize,
    /// Input columns.
    pub in_w: usize,
    /// Output rows of the original convolution.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
}

impl TapSplit {
    /// Kernel taps.
    pub fn taps(&self) -> usize {
        self.kh * self.kw
    }

    /// Output channels of the split (1 × 1) layer: one per (tap, channel).
    pub fn channels(&self) -> usize {
        self.taps() * self.cout
    }

    /// The raw tensor the accelerator writes.
    pub fn device_layout(&self) -> RawLayout {
        RawLayout { height: self.in_h, width: self.in_w, channels: self.channels() }
    }

    /// The raw tensor the original convolution produces (what [`TapSplit::fold`] returns).
    pub fn out_layout(&self) -> RawLayout {
        RawLayout { height: self.out_h, width: self.out_w, channels: self.cout }
    }

    /// Whether splitting saves array steps on an array of `rows` rows:
    /// `⌈taps·cout / rows⌉` one-tap passes against `⌈cout / rows⌉` passes
    /// of `taps` taps, over the same number of tiles (stride 1, and the
    /// output no larger than the input).
    pub fn pays_off(&self, rows: usize) -> bool {
        self.taps() > 1
            && self.out_h <= self.in_h
            && self.out_w <= self.in_w
            && self.channels().div_ceil(rows) < self.taps() * self.cout.div_ceil(rows)
    }

    /// The split layer's integer weights `[t·cout + c][ci]` from the
    /// original `[c][ky][kx][ci]`.
    pub fn weights(&self, ints: &[i8], cin: usize) -> Vec<i8> {
        assert_eq!(
            ints.len(),
            self.cout * self.taps() * cin,
            "weights of a {}x{} conv to {}",
            self.kh,
            self.kw,
            self.cout
        );
        let mut out = vec![0i8; ints.len()];
        for c in 0..self.cout {
            for t in 0..self.taps() {
                let src = (c * self.taps() + t) * cin;
                let dst = (t * self.cout + c) * cin;
                out[dst..dst + cin].copy_from_slice(&ints[src..src + cin]);
            }
        }
        out
    }

    /// Adds the tap parts `p` (of [`TapSplit::device_layout`]) into the
    /// original convolution's accumulators. Panics on another layout: the
    /// runtime reads exactly that tensor back.
    pub fn fold(&self, p: &RawTensor) -> RawTensor {
        assert_eq!(p.layout, self.device_layout(), "tap-split output layout");
        let out = self.out_layout();
        let mut data = vec![0i32; out.height * out.width * out.channels];
        for oy in 0..self.out_h {
            for ox in 0..self.out_w {
                let acc = &mut data[out.index(oy, ox, 0)..][..self.cout];
                for ky in 0..self.kh {
                    let Some(y) = (oy + ky).checked_sub(self.pad_top).filter(|&y| y < self.in_h) else { continue };
                    for kx in 0..self.kw {
                        let Some(x) = (ox + kx).checked_sub(self.pad_left).filter(|&x| x < self.in_w) else {
                            continue;
                        };
                        let parts = &p.data[p.layout.index(y, x, (ky * self.kw + kx) * self.cout)..][..self.cout];
                        for (a, v) in acc.iter_mut().zip(parts) {
                            // The whole sum fits the accumulator (validated), so every partial one does.
                            *a = a.wrapping_add(*v);
                        }
                    }
                }
            }
        }
        RawTensor { layout: out, data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded xorshift stream.
    fn stream(mut s: u64) -> impl FnMut() -> u64 {
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    #[test]
    fn folding_the_split_layer_gives_the_original_accumulators() {
        // Odd sizes, kernels 1..4 wide, padding 0..k-1 on each side, outputs
        // smaller than the input, extreme codes and weights (8-bit range).
        let mut r = stream(0x5eed_7a95);
        for case in 0..60 {
            let (kh, kw) = (1 + (r() % 4) as usize, 1 + (r() % 4) as usize);
            let (pad_top, pad_left) = ((r() as usize) % kh, (r() as usize) % kw);
            let (in_h, in_w) = (1 + (r() % 9) as usize, 1 + (r() % 11) as usize);
            let (cin, cout) = (1 + (r() % 70) as usize, 1 + (r() % 3) as usize);
            let (out_h, out_w) = (1 + (r() as usize) % in_h, 1 + (r() as usize) % in_w);
            let code = |r: &mut dyn FnMut() -> u64| match case % 4 {
                0 => 255,
                1 => 0,
                _ => (r() % 256) as i32,
            };
            let x: Vec<i32> = (0..in_h * in_w * cin).map(|_| code(&mut r)).collect();
            let ints: Vec<i8> = (0..cout * kh * kw * cin)
                .map(|_| match case % 5 {
                    0 => i8::MIN,
                    1 => i8::MAX,
                    _ => r() as i8,
                })
                .collect();
            let s = TapSplit { kh, kw, pad_top, pad_left, cout, in_h, in_w, out_h, out_w };
            // The original convolution, directly.
            let mut expect = vec![0i32; out_h * out_w * cout];
            for oy in 0..out_h {
                for ox in 0..out_w {
                    for c in 0..cout {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let (Some(y), Some(xx)) =
                                    ((oy + ky).checked_sub(pad_top), (ox + kx).checked_sub(pad_left))
                                else {
                                    continue;
                                };
                                if y >= in_h || xx >= in_w {
                                    continue;
                                }
                                for ci in 0..cin {
                                    let w = i32::from(ints[((c * kh + ky) * kw + kx) * cin + ci]);
                                    expect[(oy * out_w + ox) * cout + c] += x[(y * in_w + xx) * cin + ci] * w;
                                }
                            }
                        }
                    }
                }
            }
            // The split layer: a 1x1 convolution over every input pixel.
            let sw = s.weights(&ints, cin);
            let n = s.channels();
            let mut parts = RawTensor { layout: s.device_layout(), data: vec![0; in_h * in_w * n] };
            for p in 0..in_h * in_w {
                for k in 0..n {
                    parts.data[p * n + k] = (0..cin).map(|ci| x[p * cin + ci] * i32::from(sw[k * cin + ci])).sum();
                }
            }
            let got = s.fold(&parts);
            assert_eq!(got.layout, s.out_layout());
            assert_eq!(
                got.data, expect,
                "case {case}: {kh}x{kw} pad {pad_top},{pad_left} {in_h}x{in_w}x{cin} -> {out_h}x{out_w}x{cout}"
            );
        }
    }

    #[test]
    fn splitting_pays_off_only_when_it_saves_passes() {
        let s = TapSplit { kh: 3, kw: 3, pad_top: 1, pad_left: 1, cout: 2, in_h: 96, in_w: 128, out_h: 96, out_w: 128 };
        assert!(s.pays_off(16), "2 one-tap passes against 1 pass of 9 taps");
        assert!(s.pays_off(8), "3 against 9");
        assert!(!s.pays_off(2), "9 against 9: no gain");
        assert!(!TapSplit { cout: 16, ..s }.pays_off(16), "9 against 9");
        assert!(!TapSplit { kh: 1, kw: 1, ..s }.pays_off(16), "nothing to split");
        assert!(!TapSplit { out_h: 97, ..s }.pays_off(16), "more output rows than input rows");
    }
}

//! Rewrites one graph convolution into the convolutions the accelerator
//! runs, with their integer weights rearranged to match:
//!
//! - **space-to-depth + k×k stride-1 conv** (LmFlowNetS's strided layers)
//!   becomes a `2k × 2k` stride-2 conv with padding `2p` on the tensor before
//!   space-to-depth: s2d channel `(dy·2 + dx)·C + c` at tap (ky, kx) is
//!   original channel `c` at tap `(2ky + dy, 2kx + dx)`. Same MACs, no copy.
//! - **transposed conv** of stride `s` becomes `s²` phase convolutions, one
//!   per output phase (ry, rx), each a regular stride-1 conv over the input
//!   with only the taps that land on that phase, written with output pixel
//!   stride `s` and offset (ry, rx).
//! - anything else is one conv as it is.

use super::push_aligned;
use crate::cpu::ConvGeom;
use crate::quant::QWeights;
use zynqflow_isa::{ActLayout, Descriptor, WeightBits, CHANNELS_PER_WORD, OP_CONV, PACK_LANES};

/// What all the descriptors of one layer share: widths, mode, the input
/// slice, the destination and the threshold table. Addresses are offsets
/// (arena for `in_addr`/`out_addr`, weights region for `thr_addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerFrame {
    /// `MODE_THRESHOLD` or `MODE_RAW`.
    pub mode: u32,
    /// Output code width (0 in raw mode).
    pub a_out: u32,
    /// Threshold table offset (0 in raw mode).
    pub thr_addr: u32,
    /// Input tensor offset.
    pub in_addr: u32,
    /// Destination tensor offset.
    pub out_addr: u32,
    /// The whole input tensor.
    pub input: ActLayout,
    /// First input channel read.
    pub in_ch_off: usize,
    /// Input channels read.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Destination tensor rows, columns, channels.
    pub dst: (usize, usize, usize),
    /// First destination channel written.
    pub ch_off: usize,
    /// The codes are written `2^copies_log2` times (`isa` descriptor
    /// `copies_log2`; 0 in raw mode).
    pub copies_log2: u32,
    /// The input's last channel group holds its channels twice, one plane
    /// over (the host's im2col packing, `isa` `pack_planes`): the
    /// descriptors compute that group on the packed plane pairs only.
    pub pack_planes: bool,
}

/// Packs each phase's weights into `blob` and returns one descriptor per phase.
/// A 2 × 2 phase over at most [`PACK_LANES`] channels packs its taps
/// ([`packed_taps`]): one array step per bit pair instead of four.
pub fn emit(phases: &[PhaseConv], f: &LayerFrame, w_bits: WeightBits, blob: &mut Vec<u8>) -> Vec<Descriptor> {
    phases
        .iter()
        .map(|p| {
            let packed = packed_taps(p, f.cin, f.cout, w_bits);
            let pw = match &packed {
                Some(ints) => QWeights::from_ints(f.cout, 1, 1, CHANNELS_PER_WORD, w_bits, ints),
                None => QWeights::from_ints(f.cout, p.kh, p.kw, f.cin, w_bits, &p.ints),
            };
            let w_off = push_aligned(blob, &pw.data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
            Descriptor {
                opcode: OP_CONV,
                mode: f.mode,
                a_in: f.input.bits.bits() as u32,
                w_bits: w_bits.bits() as u32,
                a_out: f.a_out,
                in_addr: f.in_addr,
                w_addr: w_off as u32,
                thr_addr: f.thr_addr,
                out_addr: f.out_addr,
                in_h: f.input.height as u32,
                in_w: f.input.width as u32,
                cin: f.cin as u32,
                cout: f.cout as u32,
                out_h: p.out_h as u32,
                out_w: p.out_w as u32,
                kh: p.kh as u32,
                kw: p.kw as u32,
                stride: p.stride as u32,
                upsample: p.upsample as u32,
                pad_top: p.pad_top as u32,
                pad_left: p.pad_left as u32,
                dst_h: f.dst.0 as u32,
                dst_w: f.dst.1 as u32,
                dst_c: f.dst.2 as u32,
                ch_off: f.ch_off as u32,
                out_stride: p.out_stride as u32,
                out_off_y: p.out_off_y as u32,
                out_off_x: p.out_off_x as u32,
                copies_log2: f.copies_log2,
                pack_taps: u32::from(packed.is_some()),
                pack_planes: u32::from(f.pack_planes),
                in_c_total: f.input.channels as u32,
                in_ch_off: f.in_ch_off as u32,
            }
        })
        .collect()
}

/// A 2 × 2 conv's weights `[co][ky][kx][c]` (`cout` channels) over
/// `cin ≤ PACK_LANES` channels as the 64-lane kernel of a packed-taps descriptor (`isa`
/// `pack_taps`): weight `(co, ky, kx, c)` at lane `16·(2·ky + kx) + c`. The
/// lanes past `cin` in each segment read zero inputs: they hold 0, or +1
/// where binary weights have no zero. `None` when the conv cannot pack.
pub fn packed_taps(p: &PhaseConv, cin: usize, cout: usize, w_bits: WeightBits) -> Option<Vec<i8>> {
    if !Descriptor::can_pack_taps(p.kh as u32, p.kw as u32, cin as u32) {
        return None;
    }
    let fill = if w_bits.is_binary() { 1 } else { 0 };
    let mut ints = vec![fill; cout * CHANNELS_PER_WORD];
    for co in 0..cout {
        for t in 0..4 {
            let src = (co * 4 + t) * cin;
            let dst = co * CHANNELS_PER_WORD + t * PACK_LANES;
            ints[dst..dst + cin].copy_from_slice(&p.ints[src..src + cin]);
        }
    }
    Some(ints)
}

/// The geometry of one accelerator convolution along one axis and overall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseConv {
    /// Kernel rows and columns.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Stride.
    pub stride: usize,
    /// Input upsampling.
    pub upsample: usize,
    /// Zero rows above.
    pub pad_top: usize,
    /// Zero columns left.
    pub pad_left: usize,
    /// Output rows and columns computed.
    pub out_h: usize,
    /// Output columns computed.
    pub out_w: usize,
    /// Destination pixel stride.
    pub out_stride: usize,
    /// Destination row offset.
    pub out_off_y: usize,
    /// Destination column offset.
    pub out_off_x: usize,
    /// Integer weights `[co][ky][kx][ci]` for this convolution.
    pub ints: Vec<i8>,
}

impl PhaseConv {
    /// Output phase `(ry, rx)` of a layer whose outputs interleave with
    /// stride `s` (transposed conv, upsampled conv): a stride-1 conv of a
    /// `kernel = (kh, kw)` kernel with padding `pad = (top, left)` computing
    /// `out = (rows, cols)` outputs, written at pixel stride `s` from offset
    /// `(ry, rx)`.
    fn phase(
        kernel: (usize, usize),
        pad: (usize, usize),
        out: (usize, usize),
        s: usize,
        r: (usize, usize),
        ints: Vec<i8>,
    ) -> Self {
        PhaseConv {
            kh: kernel.0,
            kw: kernel.1,
            stride: 1,
            upsample: 1,
            pad_top: pad.0,
            pad_left: pad.1,
            out_h: out.0,
            out_w: out.1,
            out_stride: s,
            out_off_y: r.0,
            out_off_x: r.1,
            ints,
        }
    }
}

/// One phase of a transposed convolution along one axis: the taps that land
/// on output phase `r`, as (number of taps, padding, first tap index).
fn phase_axis(k: usize, s: usize, p: usize, r: usize) -> Option<(usize, usize, usize)> {
    let k0 = (r + p) % s;
    if k0 >= k {
        return None;
    }
    let nk = (k - k0).div_ceil(s);
    let c0 = (r + p - k0) / s;
    let pad = (nk - 1).checked_sub(c0)?;
    Some((nk, pad, k0))
}

/// Lowers a graph convolution reading an `in_h × in_w × cin` tensor (for an
/// s2d-fused conv: the tensor before space-to-depth, `cin` its channels)
/// into accelerator convolutions producing `out_h × out_w`.
/// Returns `Err` with a reason when the geometry cannot be expressed.
pub fn lower(
    geom: &ConvGeom,
    s2d: bool,
    w: &QWeights,
    cin: usize,
    out_h: usize,
    out_w: usize,
) -> Result<Vec<PhaseConv>, String> {
    let l = w.layout;
    let ints = w.to_ints();
    if s2d {
        if geom.stride != 1 || geom.upsample != 1 || geom.transposed {
            return Err("space-to-depth is only fused into stride-1 convolutions".into());
        }
        assert_eq!(l.cin, 4 * cin);
        let (kh, kw) = (2 * l.kh, 2 * l.kw);
        let mut out = vec![0i8; l.cout * kh * kw * cin];
        for co in 0..l.cout {
            for ky in 0..l.kh {
                for kx in 0..l.kw {
                    for d in 0..4 {
                        let (dy, dx) = (d / 2, d % 2);
                        for c in 0..cin {
                            let src = ((co * l.kh + ky) * l.kw + kx) * l.cin + d * cin + c;
                            let dst = ((co * kh + 2 * ky + dy) * kw + 2 * kx + dx) * cin + c;
                            out[dst] = ints[src];
                        }
                    }
                }
            }
        }
        return Ok(vec![PhaseConv {
            kh,
            kw,
            stride: 2,
            upsample: 1,
            pad_top: 2 * geom.pad,
            pad_left: 2 * geom.pad,
            out_h,
            out_w,
            out_stride: 1,
            out_off_y: 0,
            out_off_x: 0,
            ints: out,
        }]);
    }
    if !geom.transposed {
        return Ok(vec![PhaseConv {
            kh: l.kh,
            kw: l.kw,
            stride: geom.stride,
            upsample: geom.upsample,
            pad_top: geom.pad,
            pad_left: geom.pad,
            out_h,
            out_w,
            out_stride: 1,
            out_off_y: 0,
            out_off_x: 0,
            ints,
        }]);
    }
    let s = geom.stride;
    let mut phases = Vec::new();
    for ry in 0..s {
        for rx in 0..s {
            let (ph, pw) = (out_h.saturating_sub(ry).div_ceil(s), out_w.saturating_sub(rx).div_ceil(s));
            if ph == 0 || pw == 0 {
                continue;
            }
            let ay = phase_axis(l.kh, s, geom.pad, ry);
            let ax = phase_axis(l.kw, s, geom.pad, rx);
            let (Some((nky, pad_y, k0y)), Some((nkx, pad_x, k0x))) = (ay, ax) else {
                return Err(format!(
                    "transposed {}x{}/{s} pad {}: output phase ({ry},{rx}) has no kernel tap or would need negative padding",
                    l.kh, l.kw, geom.pad
                ));
            };
            let mut p = vec![0i8; l.cout * nky * nkx * l.cin];
            for co in 0..l.cout {
                for ty in 0..nky {
                    for tx in 0..nkx {
                        let ky = k0y + s * (nky - 1 - ty);
                        let kx = k0x + s * (nkx - 1 - tx);
                        let src = ((co * l.kh + ky) * l.kw + kx) * l.cin;
                        let dst = ((co * nky + ty) * nkx + tx) * l.cin;
                        p[dst..dst + l.cin].copy_from_slice(&ints[src..src + l.cin]);
                    }
                }
            }
            phases.push(PhaseConv::phase((nky, nkx), (pad_y, pad_x), (ph, pw), s, (ry, rx), p));
        }
    }
    Ok(phases)
}

/// One output phase `r` of nearest-×`u` upsampling followed by a stride-1
/// conv of `k` taps and padding `p`, along one axis: output `u·i + r` reads
/// source `i + ⌊(r + t − p) / u⌋` at tap `t`. Returns the phase's padding
/// and, per source offset (the phase kernel's taps), the original taps that
/// read it; `None` if the phase would need negative padding.
fn upsampled_axis(k: usize, u: usize, p: usize, r: usize) -> Option<(usize, Vec<Vec<usize>>)> {
    let off = |t: usize| (r + t) as isize - p as isize;
    let d = |t: usize| off(t).div_euclid(u as isize);
    let (lo, hi) = (d(0), d(k - 1));
    if lo > 0 {
        return None;
    }
    let mut groups = vec![Vec::new(); (hi - lo + 1) as usize];
    for t in 0..k {
        groups[(d(t) - lo) as usize].push(t);
    }
    Some(((-lo) as usize, groups))
}

/// The copies of the input an upsampled conv needs for [`upsampled_phases`]:
/// the most original taps any phase tap sums (4 for ×2 and 3 × 3 pad 1).
/// `None` if a phase would need negative padding.
pub fn upsample_copies(geom: &ConvGeom) -> Option<usize> {
    let most = |k: usize| -> Option<usize> {
        (0..geom.upsample)
            .map(|r| {
                upsampled_axis(k, geom.upsample, geom.pad, r).map(|(_, g)| g.iter().map(Vec::len).max().unwrap_or(0))
            })
            .try_fold(0, |m, g| g.map(|g| m.max(g)))
    };
    Some(most(geom.kh)? * most(geom.kw)?)
}

/// Nearest-×`u` upsampling and a `k × k` stride-1 conv (LmFlowNetS's
/// `upsample_flowN`) as `u²` phase convolutions over the source, when the
/// input tensor holds `copies` ([`upsample_copies`]) copies of its `cin`
/// channels (copy `m` at channels `m·cin ..`).
///
/// Output pixel `(u·i + ry, u·j + rx)` sees, along each axis, source rows
/// `i + ⌊(ry + ky − pad) / u⌋`: several taps read the same source pixel
/// (3 × 3 after ×2: two of the three on each axis). A phase's tap over
/// that pixel must multiply it by the sum of their weights, which needs more
/// bits than the weights have; instead each summed weight goes to its own
/// copy of the channels, so the phase kernel (2 × 2 for 3 × 3 after ×2)
/// holds only the original weights and zeros, the sum is the original one,
/// bit for bit, and the copies cost nothing while `copies·cin ≤ 64` (one
/// channel group). Array steps per output pixel: `2·2` taps against `3·3`.
/// Zero weights make the unused copies vanish, so binary weights (±1) are
/// refused by the caller.
pub fn upsampled_phases(
    geom: &ConvGeom,
    w: &QWeights,
    copies: usize,
    out_h: usize,
    out_w: usize,
) -> Result<Vec<PhaseConv>, String> {
    let l = w.layout;
    let ints = w.to_ints();
    let u = geom.upsample;
    if geom.stride != 1 || geom.transposed || u < 2 {
        return Err("only upsampled stride-1 convolutions split into upsampling phases".into());
    }
    let cin2 = copies * l.cin;
    let mut phases = Vec::new();
    for ry in 0..u {
        for rx in 0..u {
            let (ph, pw) = (out_h.saturating_sub(ry).div_ceil(u), out_w.saturating_sub(rx).div_ceil(u));
            if ph == 0 || pw == 0 {
                continue;
            }
            let (Some((pad_y, gy)), Some((pad_x, gx))) =
                (upsampled_axis(l.kh, u, geom.pad, ry), upsampled_axis(l.kw, u, geom.pad, rx))
            else {
                return Err(format!(
                    "upsampled {}x{} pad {}: phase ({ry},{rx}) needs negative padding",
                    l.kh, l.kw, geom.pad
                ));
            };
            let (nky, nkx) = (gy.len(), gx.len());
            let mut p = vec![0i8; l.cout * nky * nkx * cin2];
            for co in 0..l.cout {
                for (ty, ys) in gy.iter().enumerate() {
                    for (tx, xs) in gx.iter().enumerate() {
                        let taps: Vec<(usize, usize)> =
                            ys.iter().flat_map(|&ky| xs.iter().map(move |&kx| (ky, kx))).collect();
                        if taps.len() > copies {
                            return Err(format!("phase ({ry},{rx}) sums {} taps on {copies} copies", taps.len()));
                        }
                        for (m, (ky, kx)) in taps.into_iter().enumerate() {
                            let src = ((co * l.kh + ky) * l.kw + kx) * l.cin;
                            let dst = ((co * nky + ty) * nkx + tx) * cin2 + m * l.cin;
                            p[dst..dst + l.cin].copy_from_slice(&ints[src..src + l.cin]);
                        }
                    }
                }
            }
            phases.push(PhaseConv::phase((nky, nkx), (pad_y, pad_x), (ph, pw), u, (ry, rx), p));
        }
    }
    Ok(phases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_by_four_stride_two_splits_into_four_two_by_two_phases() {
        // Phase r=0 uses taps 3,1 (pad 1); phase r=1 taps 2,0 (pad 0).
        assert_eq!(phase_axis(4, 2, 1, 0), Some((2, 1, 1)));
        assert_eq!(phase_axis(4, 2, 1, 1), Some((2, 0, 0)));
        let ints: Vec<i8> = (0..16).map(|i| i as i8 - 8).collect();
        let w = QWeights::from_ints(1, 4, 4, 1, zynqflow_isa::WeightBits::B8, &ints);
        let g = ConvGeom { transposed: true, ..ConvGeom::square(4, 2, 1) };
        let p = lower(&g, false, &w, 1, 12, 16).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!((p[0].kh, p[0].pad_top, p[0].out_h, p[0].out_off_y), (2, 1, 6, 0));
        assert_eq!((p[3].kh, p[3].pad_top, p[3].out_w, p[3].out_off_x), (2, 0, 8, 1));
        // Phase (0,0): taps (3,3),(3,1),(1,3),(1,1) in that order.
        let at = |y: usize, x: usize| ints[y * 4 + x];
        assert_eq!(p[0].ints, vec![at(3, 3), at(3, 1), at(1, 3), at(1, 1)]);
    }

    #[test]
    fn three_by_three_after_up2_needs_four_copies_and_two_by_two_phases() {
        let g = ConvGeom { upsample: 2, ..ConvGeom::square(3, 1, 1) };
        assert_eq!(upsample_copies(&g), Some(4));
        assert_eq!(upsampled_axis(3, 2, 1, 0), Some((1, vec![vec![0], vec![1, 2]])));
        assert_eq!(upsampled_axis(3, 2, 1, 1), Some((0, vec![vec![0, 1], vec![2]])));
        assert_eq!(upsample_copies(&ConvGeom { upsample: 2, ..ConvGeom::square(1, 1, 0) }), Some(1));
        // Without padding, phase 0 reads taps 0 and 1 at one source pixel, 2 at the next.
        assert_eq!(upsample_copies(&ConvGeom { upsample: 2, ..ConvGeom::square(3, 1, 0) }), Some(4));
    }

    /// Direct integer convolution over `codes` (`h × w × cin`), reading the
    /// input upsampled by `u` (nearest), stride 1, padding (`pt`, `pl`).
    #[allow(clippy::too_many_arguments)]
    fn direct(
        codes: &[i32],
        h: usize,
        w: usize,
        cin: usize,
        u: usize,
        ints: &[i8],
        cout: usize,
        kh: usize,
        kw: usize,
        pt: usize,
        pl: usize,
        oh: usize,
        ow: usize,
    ) -> Vec<i32> {
        let mut out = vec![0i32; oh * ow * cout];
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..cout {
                    let mut acc = 0;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let (Some(y), Some(x)) = ((oy + ky).checked_sub(pt), (ox + kx).checked_sub(pl)) else {
                                continue;
                            };
                            if y >= h * u || x >= w * u {
                                continue;
                            }
                            for ci in 0..cin {
                                acc += codes[((y / u) * w + x / u) * cin + ci]
                                    * i32::from(ints[((co * kh + ky) * kw + kx) * cin + ci]);
                            }
                        }
                    }
                    out[(oy * ow + ox) * cout + co] = acc;
                }
            }
        }
        out
    }

    #[test]
    fn upsampled_phases_over_copies_give_the_upsampled_conv_bit_for_bit() {
        let mut r: u64 = 0x0b5e_55ed;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r
        };
        for case in 0..40 {
            let k = 1 + (next() % 4) as usize;
            let pad = (next() as usize) % k;
            let g = ConvGeom { upsample: 2, ..ConvGeom::square(k, 1, pad) };
            let (h, w, cin, cout) = (
                1 + (next() % 6) as usize,
                1 + (next() % 7) as usize,
                1 + (next() % 5) as usize,
                1 + (next() % 3) as usize,
            );
            let Some((oh, ow)) = g.out_shape(h, w) else { continue };
            let copies = upsample_copies(&g).unwrap();
            let codes: Vec<i32> =
                (0..h * w * cin).map(|_| if case % 3 == 0 { 255 } else { (next() % 256) as i32 }).collect();
            let ints: Vec<i8> =
                (0..cout * k * k * cin).map(|_| if case % 5 == 0 { i8::MIN } else { next() as i8 }).collect();
            let wq = QWeights::from_ints(cout, k, k, cin, zynqflow_isa::WeightBits::B8, &ints);
            let expect = direct(&codes, h, w, cin, 2, &ints, cout, k, k, pad, pad, oh, ow);
            // The copies tensor: copy m of channel c at channel m·cin + c.
            let c2 = copies * cin;
            let copied: Vec<i32> = (0..h * w * c2).map(|i| codes[(i / c2) * cin + (i % c2) % cin]).collect();
            let phases = upsampled_phases(&g, &wq, copies, oh, ow).unwrap();
            assert_eq!(phases.len(), oh.min(2) * ow.min(2), "a phase per output parity present");
            let mut got = vec![i32::MIN; oh * ow * cout];
            for p in &phases {
                let part =
                    direct(&copied, h, w, c2, 1, &p.ints, cout, p.kh, p.kw, p.pad_top, p.pad_left, p.out_h, p.out_w);
                for i in 0..p.out_h {
                    for j in 0..p.out_w {
                        let (y, x) = (i * p.out_stride + p.out_off_y, j * p.out_stride + p.out_off_x);
                        let dst = (y * ow + x) * cout;
                        got[dst..dst + cout].copy_from_slice(&part[(i * p.out_w + j) * cout..][..cout]);
                    }
                }
            }
            assert_eq!(got, expect, "case {case}: {k}x{k} pad {pad} on {h}x{w}x{cin} -> {oh}x{ow}x{cout}");
        }
    }
}

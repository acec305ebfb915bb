//! Quantized convolution on bit-planes, and the threshold step after it.
//!
//! [`qconv`] computes the exact integer convolution (regular, with optional
//! nearest ×2 input upsampling, or transposed) of `A`-bit unsigned activation
//! codes with `W`-bit weights into `i32` accumulators; [`threshold`] turns
//! accumulators into output codes with per-channel thresholds.
//!
//! ## Bit-plane identity
//! With `a = Σ_p 2^p·a_p` (activation planes) and `w = Σ_q pw(q)·w_q` (weight
//! planes, `pw` = [`zynqflow_isa::WeightBits::plane_weight`]), a dot product
//! over one 64-channel word is
//! `Σ_p Σ_q 2^p·pw(q)·popcount(a_p & w_q)`. Binary weights (bit set = +1,
//! clear = −1) use `Σ a·w = Σ_p 2^p·(2·popcount(a_p & k) − popcount(a_p))`,
//! where the second term depends only on the output pixel and is computed
//! once per pixel. Channels past `Cin` and taps in the padding have zero
//! activation bits and contribute nothing.
//!
//! ## How it is fast
//! Output rows are split across rayon tasks. Per task and per *phase* (a
//! transposed convolution of stride `s` has `s²` phases, each using only the
//! kernel taps that land on it, so no work is spent on the zeros between
//! input pixels), the receptive field of every output pixel is gathered into
//! a contiguous plane-major buffer (`[plane][tap][group]` `u64` words), and
//! the weights are pre-transposed once per call to `[co][plane][tap][group]`.
//! Each pair of planes is then a popcount dot product of two contiguous
//! slices, computed by a 4-pixel × 4-channel register-blocked micro-kernel
//! that LLVM vectorizes (AVX-512 `vpopcntq` where available, chosen at run
//! time). Layers with a large bit product `A·W` (8-bit first layers, 4×4-bit
//! FlowNetS) instead unpack codes to bytes and use `u8 × i8` dot products
//! (AVX-512 VNNI), which costs less than `A·W` popcount passes; both methods
//! give bit-identical results.
//!
//! Measured (AMD EPYC Zen 4, 2 cores, `cargo bench -p zynqflow-driver --bench
//! qconv`): 3×3, 48×64, Cin 512 → 256, A2/W1: MEASURED_A; 3×3, 192×256,
//! Cin 24 → 64, A8/W8: MEASURED_B.

use crate::cpu::ConvGeom;
use crate::quant::{QWeights, Thresholds};
use crate::tensor::{QTensor, RawTensor};
use rayon::prelude::*;
use std::array::from_fn;
use zynqflow_isa::{ActLayout, ThresholdMode, WeightBits, CHANNELS_PER_WORD};

/// How the dot products are computed (both are exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// AND + popcount over bit-planes.
    BitPlane,
    /// Codes unpacked to bytes, `u8 × i8` products.
    Unpacked,
}

/// Instruction-set level of the micro-kernels, detected at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    /// Whatever the compile target offers.
    Portable,
    /// AVX2 + POPCNT.
    Avx2,
    /// AVX-512 F/BW/VPOPCNTDQ/VNNI + POPCNT.
    Avx512,
}

/// The best level this CPU supports.
fn detect_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vpopcntdq")
            && is_x86_feature_detected!("avx512vnni")
            && is_x86_feature_detected!("popcnt")
        {
            return Isa::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("popcnt") {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// Exact integer convolution of `input` codes with `weights` under `geom`
/// (regular, or transposed when `geom.transposed`): `i32` accumulators,
/// `H_out × W_out × Cout`, NHWC.
///
/// Panics if the input channels differ from the weights' `cin`, if the kernel
/// size differs from `geom`, if `geom.check()` fails, if the geometry leaves
/// no output, or if an accumulator does not fit in `i32` (callers validate).
pub fn qconv(input: &QTensor, weights: &QWeights, geom: &ConvGeom) -> RawTensor {
    qconv_with(input, weights, geom, None, detect_isa())
}

/// [`qconv`] with the method (`None` = cheapest) and kernel level forced.
fn qconv_with(input: &QTensor, weights: &QWeights, geom: &ConvGeom, method: Option<Method>, isa: Isa) -> RawTensor {
    let wl = weights.layout;
    assert_eq!(input.c(), wl.cin, "qconv: input has {} channels, weights expect {}", input.c(), wl.cin);
    assert!((wl.kh, wl.kw) == (geom.kh, geom.kw), "qconv: weights are {}x{}, geometry {}x{}", wl.kh, wl.kw, geom.kh, geom.kw);
    if let Err(e) = geom.check() {
        panic!("qconv: bad geometry: {e}");
    }
    let (hout, wout) = geom
        .out_shape(input.h(), input.w())
        .unwrap_or_else(|| panic!("qconv: {geom:?} leaves no output for a {}x{} input", input.h(), input.w()));
    let (abits, wbits, cin) = (input.bits().bits(), wl.bits, wl.cin);
    // Largest possible |accumulator|: the byte method sums in i32 lanes and is
    // only exact when this fits; the bit-plane method checks every output.
    let max_w = if wbits.is_binary() { 1 } else { 1u64 << (wbits.bits() - 1) };
    let bound = (geom.kh * geom.kw * cin) as u64 * u64::from(input.bits().max_code()) * max_w;
    let fits = bound <= i32::MAX as u64;
    let method = match method {
        Some(Method::Unpacked) => {
            assert!(fits, "qconv: unpacked method forced on a layer that may overflow i32");
            Method::Unpacked
        }
        Some(m) => m,
        // Per tap and 64 channels: A·W popcount words vs one 64-byte block.
        None if fits && 3 * abits * wbits.bits() * cin.div_ceil(64) * 64 > 32 * cin.div_ceil(16) * 16 => Method::Unpacked,
        None => Method::BitPlane,
    };
    let phases = Phase::all(geom);
    // Output channels per block: vectors of 8 (bits) or 16 (bytes) lanes.
    let lanes = if method == Method::BitPlane { 8 } else { 16 };
    let nv = wl.cout.div_ceil(lanes).next_power_of_two().min(4);
    let prep = match method {
        Method::BitPlane => Prepared::Bits(phases.iter().map(|ph| ph.bit_weights(weights, 8 * nv)).collect()),
        Method::Unpacked => {
            Prepared::Bytes(unpack_codes(input), phases.iter().map(|ph| ph.byte_weights(weights, 16 * nv)).collect())
        }
    };
    let cx = Ctx { input, geom: *geom, wout, cout: wl.cout, abits, wbits, nv, phases, prep };
    let mut out = RawTensor::zeros(hout, wout, wl.cout);
    let threads = rayon::current_num_threads().max(1);
    let rows = 32usize.div_ceil(wout).min(hout.div_ceil(threads)).max(1);
    out.data.par_chunks_mut(rows * wout * wl.cout).enumerate().for_each_init(Scratch::default, |s, (i, chunk)| {
        run_task(&cx, isa, i * rows, chunk, s)
    });
    out
}

/// The taps of a kernel that reach one class of output pixels.
struct Phase {
    /// Kernel rows used.
    kys: Vec<usize>,
    /// Kernel columns used.
    kxs: Vec<usize>,
}

impl Phase {
    /// One phase with every tap, or `s²` phases for a transposed convolution:
    /// output `o` only receives through `k ≡ o + pad (mod s)`.
    fn all(g: &ConvGeom) -> Vec<Phase> {
        let s = if g.transposed { g.stride } else { 1 };
        let pick = |r: usize, k: usize| (0..k).filter(|&t| (t + s - (r + g.pad) % s) % s == 0).collect::<Vec<_>>();
        (0..s * s).map(|i| Phase { kys: pick(i / s, g.kh), kxs: pick(i % s, g.kw) }).collect()
    }

    fn taps(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.kys.iter().flat_map(move |&ky| self.kxs.iter().map(move |&kx| (ky, kx)))
    }

    /// Bit-plane weights in blocks of `nc` output channels:
    /// `[block][q][tap·G + group][nc]` words, channels past `cout` zero.
    fn bit_weights(&self, w: &QWeights, nc: usize) -> Vec<u64> {
        let l = w.layout;
        let (g, nb) = (l.groups(), l.bits.bits());
        let len = self.kys.len() * self.kxs.len() * g;
        let mut out = vec![0u64; l.cout.next_multiple_of(nc) * nb * len];
        for co in 0..l.cout {
            let (b, c) = (co / nc, co % nc);
            for (t, (ky, kx)) in self.taps().enumerate() {
                for gi in 0..g {
                    for q in 0..nb {
                        out[((b * nb + q) * len + t * g + gi) * nc + c] = w.data[l.word_index(co, ky, kx, gi, q)];
                    }
                }
            }
        }
        out
    }

    /// Byte weights in blocks of `nc` output channels: for `k = tap·Cin + ci`,
    /// `[block][k / 4][nc][k % 4]`, the operand layout of `vpdpbusd`.
    fn byte_weights(&self, w: &QWeights, nc: usize) -> Vec<i8> {
        let l = w.layout;
        let kq = (self.kys.len() * self.kxs.len() * l.cin).div_ceil(4);
        let mut out = vec![0i8; l.cout.next_multiple_of(nc) * kq * 4];
        let mut bytes = [0u8; CHANNELS_PER_WORD];
        for co in 0..l.cout {
            let (b, c) = (co / nc, co % nc);
            for (t, (ky, kx)) in self.taps().enumerate() {
                for gi in 0..l.groups() {
                    let first = l.word_index(co, ky, kx, gi, 0);
                    spread_planes(&w.data[first..first + l.bits.bits()], &mut bytes);
                    let n = (l.cin - gi * CHANNELS_PER_WORD).min(CHANNELS_PER_WORD);
                    for (i, &e) in bytes[..n].iter().enumerate() {
                        let k = t * l.cin + gi * CHANNELS_PER_WORD + i;
                        out[((b * kq + k / 4) * nc + c) * 4 + k % 4] = l.bits.decode(e) as i8;
                    }
                }
            }
        }
        out
    }
}

/// `SPREAD[b]` has byte `i` = bit `i` of `b`.
const SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut b = 0;
        while b < 8 {
            t[i] |= ((i as u64 >> b) & 1) << (8 * b);
            b += 1;
        }
        i += 1;
    }
    t
};

/// Turns the bit-planes of 64 channels into one byte per channel.
fn spread_planes(planes: &[u64], out: &mut [u8; CHANNELS_PER_WORD]) {
    let mut acc = [0u64; 8];
    for (p, &w) in planes.iter().enumerate() {
        for (k, a) in acc.iter_mut().enumerate() {
            *a |= SPREAD[((w >> (8 * k)) & 0xff) as usize] << p;
        }
    }
    for (k, a) in acc.iter().enumerate() {
        out[8 * k..8 * k + 8].copy_from_slice(&a.to_le_bytes());
    }
}

/// All codes of a tensor, one byte each, NHWC.
fn unpack_codes(t: &QTensor) -> Vec<u8> {
    let (c, a) = (t.c(), t.bits().bits());
    let mut out = vec![0u8; t.h() * t.w() * c];
    out.par_chunks_mut(t.w() * c).enumerate().for_each(|(y, row)| {
        let mut bytes = [0u8; CHANNELS_PER_WORD];
        for (x, px) in row.chunks_mut(c).enumerate() {
            let words = t.pixel_words(y, x);
            for (gi, dst) in px.chunks_mut(CHANNELS_PER_WORD).enumerate() {
                spread_planes(&words[gi * a..(gi + 1) * a], &mut bytes);
                dst.copy_from_slice(&bytes[..dst.len()]);
            }
        }
    });
    out
}

/// Weights (and, for bytes, the unpacked input) prepared per phase.
enum Prepared {
    Bits(Vec<Vec<u64>>),
    Bytes(Vec<u8>, Vec<Vec<i8>>),
}

/// Everything a task needs, shared read-only.
struct Ctx<'a> {
    input: &'a QTensor,
    geom: ConvGeom,
    wout: usize,
    cout: usize,
    abits: usize,
    wbits: WeightBits,
    /// Vectors (of 8 `u64` or 16 `i32` lanes) per block of output channels.
    nv: usize,
    phases: Vec<Phase>,
    prep: Prepared,
}

impl Ctx<'_> {
    /// Input coordinate read by output `o` through tap `k`, along an axis of `n`.
    #[inline]
    fn coord(&self, o: usize, k: usize, n: usize) -> Option<usize> {
        if self.geom.transposed {
            self.geom.transposed_input_coord(o, k, n)
        } else {
            self.geom.input_coord(o, k, n)
        }
    }

    /// Calls `f(pixel index, iy, ix, tap)` for every tap of `pixels` inside the input.
    fn for_each_tap(&self, ph: &Phase, pixels: &[(usize, usize)], mut f: impl FnMut(usize, usize, usize, usize)) {
        let (h, w) = (self.input.h(), self.input.w());
        for (i, &(oy, ox)) in pixels.iter().enumerate() {
            for (ty, &ky) in ph.kys.iter().enumerate() {
                let Some(iy) = self.coord(oy, ky, h) else { continue };
                for (tx, &kx) in ph.kxs.iter().enumerate() {
                    if let Some(ix) = self.coord(ox, kx, w) {
                        f(i, iy, ix, ty * ph.kxs.len() + tx);
                    }
                }
            }
        }
    }

    /// Index in a task's output of channel 0 of pixel (oy, ox).
    #[inline]
    fn out_index(&self, y0: usize, (oy, ox): (usize, usize)) -> usize {
        ((oy - y0) * self.wout + ox) * self.cout
    }
}

/// Per-worker buffers, reused across the tasks a rayon worker runs.
#[derive(Default)]
struct Scratch {
    pixels: Vec<(usize, usize)>,
    words: Vec<u64>,
    pops: Vec<i64>,
    bytes: Vec<u8>,
}

/// Runs one task with the micro-kernels of level `isa`.
fn run_task(cx: &Ctx, isa: Isa, y0: usize, out: &mut [i32], s: &mut Scratch) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512` is only used when `detect_isa` found every
        // feature `task_avx512` enables (tests only force detected levels).
        Isa::Avx512 => unsafe { task_avx512(cx, y0, out, s) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, AVX2 and POPCNT were detected.
        Isa::Avx2 => unsafe { task_avx2(cx, y0, out, s) },
        _ => task::<2, false>(cx, y0, out, s),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq,avx512vnni,popcnt")]
fn task_avx512(cx: &Ctx, y0: usize, out: &mut [i32], s: &mut Scratch) {
    task::<6, true>(cx, y0, out, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn task_avx2(cx: &Ctx, y0: usize, out: &mut [i32], s: &mut Scratch) {
    task::<2, false>(cx, y0, out, s)
}

/// One task: the output rows from `y0` that `out` covers, `MR` pixels per
/// micro-kernel tile, with the AVX-512 kernels if `SIMD`.
#[inline(always)]
fn task<const MR: usize, const SIMD: bool>(cx: &Ctx, y0: usize, out: &mut [i32], s: &mut Scratch) {
    let rows = out.len() / (cx.wout * cx.cout);
    let ns = if cx.geom.transposed { cx.geom.stride } else { 1 };
    for (pi, ph) in cx.phases.iter().enumerate() {
        let (py, px) = (pi / ns, pi % ns);
        s.pixels.clear();
        for oy in (y0..y0 + rows).filter(|oy| oy % ns == py) {
            s.pixels.extend((px..cx.wout).step_by(ns).map(|ox| (oy, ox)));
        }
        if s.pixels.is_empty() || ph.kys.is_empty() || ph.kxs.is_empty() {
            continue; // no tap reaches these outputs: they stay 0
        }
        match (&cx.prep, cx.nv) {
            (Prepared::Bits(w), 1) => bit_phase::<MR, 1, SIMD>(cx, ph, &w[pi], y0, out, s),
            (Prepared::Bits(w), 2) => bit_phase::<MR, 2, SIMD>(cx, ph, &w[pi], y0, out, s),
            (Prepared::Bits(w), _) => bit_phase::<MR, 4, SIMD>(cx, ph, &w[pi], y0, out, s),
            (Prepared::Bytes(c, w), 1) => byte_phase::<MR, 1, SIMD>(cx, ph, c, &w[pi], y0, out, s),
            (Prepared::Bytes(c, w), 2) => byte_phase::<MR, 2, SIMD>(cx, ph, c, &w[pi], y0, out, s),
            (Prepared::Bytes(c, w), _) => byte_phase::<MR, 4, SIMD>(cx, ph, c, &w[pi], y0, out, s),
        }
    }
}

/// Tile starts covering `m` pixels with tiles of `mr` (the last one is
/// moved back to stay inside; buffers hold at least `mr` pixels).
fn tile_starts(m: usize, mr: usize) -> impl Iterator<Item = usize> {
    (0..m).step_by(mr).map(move |m0| m0.min(m.max(mr) - mr))
}

/// Bit-plane method for the pixels in `s.pixels`, all of phase `ph`.
#[inline(always)]
fn bit_phase<const MR: usize, const NV: usize, const SIMD: bool>(
    cx: &Ctx,
    ph: &Phase,
    wt: &[u64],
    y0: usize,
    out: &mut [i32],
    s: &mut Scratch,
) {
    let (a, nw, binary) = (cx.abits, cx.wbits.bits(), cx.wbits.is_binary());
    let g = cx.input.layout.groups();
    let len = ph.kys.len() * ph.kxs.len() * g;
    let m = s.pixels.len();
    s.words.clear();
    s.words.resize(m.max(MR) * a * len, 0);
    s.pops.clear();
    s.pops.resize(m, 0);
    // Gather: pixel i, plane p, tap t, group gi at (i·A + p)·len + t·G + gi.
    let (words, pops) = (&mut s.words, &mut s.pops);
    cx.for_each_tap(ph, &s.pixels, |i, iy, ix, t| {
        let src = cx.input.pixel_words(iy, ix);
        for gi in 0..g {
            for p in 0..a {
                let w = src[gi * a + p];
                words[(i * a + p) * len + t * g + gi] = w;
                pops[i] += i64::from(w.count_ones()) << p;
            }
        }
    });
    // Plane-pair factors as (shift, negative).
    let fac: Vec<(u32, bool)> = (0..a * nw)
        .map(|i| {
            let (p, q) = ((i / nw) as u32, i % nw);
            if binary {
                (p + 1, false)
            } else {
                (p + q as u32, q + 1 == nw && nw > 1)
            }
        })
        .collect();
    let nc = 8 * NV;
    for (b, wb) in wt.chunks_exact(nw * len * nc).enumerate() {
        for m0 in tile_starts(m, MR) {
            let ar: [&[u64]; MR] = from_fn(|i| &s.words[(m0 + i) * a * len..][..a * len]);
            let mut res = [[[0i64; 8]; NV]; MR];
            #[cfg(target_arch = "x86_64")]
            if SIMD {
                // SAFETY: `SIMD` is only set by `task_avx512`, which runs
                // after `detect_isa` found AVX-512 F and VPOPCNTDQ.
                unsafe { simd::tile_bits::<MR, NV>(&ar, wb, len, &fac, &mut res) };
            }
            if !SIMD || cfg!(not(target_arch = "x86_64")) {
                tile_bits::<MR, NV>(&ar, wb, len, &fac, &mut res);
            }
            for (i, r) in res.iter().enumerate().take(m - m0) {
                let base = cx.out_index(y0, s.pixels[m0 + i]);
                let corr = if binary { s.pops[m0 + i] } else { 0 };
                for (c, &v) in r.iter().flatten().enumerate().take(cx.cout.saturating_sub(b * nc)) {
                    out[base + b * nc + c] =
                        i32::try_from(v - corr).unwrap_or_else(|_| panic!("qconv: accumulator {} overflows i32", v - corr));
                }
            }
        }
    }
}

/// Adds to `res[i][c]` (channel `c` of the block as `[vector][lane]`)
/// `Σ_(p,q) ±2^shift · Σ_k popcount(a[i][p·len + k] & w[(q·len + k)·nc + c])`,
/// `fac[p·W + q] = (shift, negative)`.
#[inline(always)]
fn tile_bits<const MR: usize, const NV: usize>(
    a: &[&[u64]; MR],
    w: &[u64],
    len: usize,
    fac: &[(u32, bool)],
    res: &mut [[[i64; 8]; NV]; MR],
) {
    let nw = w.len() / (len * 8 * NV);
    for (pq, &(sh, neg)) in fac.iter().enumerate() {
        let (p, q) = (pq / nw, pq % nw);
        let mut acc = [[[0u64; 8]; NV]; MR];
        for (k, wk) in w[q * len * 8 * NV..][..len * 8 * NV].chunks_exact(8 * NV).enumerate() {
            for (acc, a) in acc.iter_mut().zip(a) {
                let x = a[p * len + k];
                for (acc, wv) in acc.iter_mut().zip(wk.chunks_exact(8)) {
                    for (acc, &y) in acc.iter_mut().zip(wv) {
                        *acc = acc.wrapping_add(u64::from((x & y).count_ones()));
                    }
                }
            }
        }
        for (r, &c) in res.iter_mut().flatten().flatten().zip(acc.iter().flatten().flatten()) {
            let v = (c << sh) as i64;
            *r = if neg { r.wrapping_sub(v) } else { r.wrapping_add(v) };
        }
    }
}

/// Unpacked-byte method for the pixels in `s.pixels`, all of phase `ph`.
#[inline(always)]
fn byte_phase<const MR: usize, const NV: usize, const SIMD: bool>(
    cx: &Ctx,
    ph: &Phase,
    codes: &[u8],
    wt: &[i8],
    y0: usize,
    out: &mut [i32],
    s: &mut Scratch,
) {
    let (c, w) = (cx.input.c(), cx.input.w());
    let kb = (ph.kys.len() * ph.kxs.len() * c).next_multiple_of(4);
    let m = s.pixels.len();
    s.bytes.clear();
    s.bytes.resize(m.max(MR) * kb, 0);
    let bytes = &mut s.bytes;
    cx.for_each_tap(ph, &s.pixels, |i, iy, ix, t| {
        bytes[i * kb + t * c..][..c].copy_from_slice(&codes[(iy * w + ix) * c..][..c]);
    });
    let nc = 16 * NV;
    for (b, wb) in wt.chunks_exact(kb * nc).enumerate() {
        for m0 in tile_starts(m, MR) {
            let ar: [&[u8]; MR] = from_fn(|i| &s.bytes[(m0 + i) * kb..][..kb]);
            let mut res = [[[0i32; 16]; NV]; MR];
            #[cfg(target_arch = "x86_64")]
            if SIMD {
                // SAFETY: `SIMD` is only set by `task_avx512`, which runs
                // after `detect_isa` found AVX-512 F and VNNI.
                unsafe { simd::tile_bytes::<MR, NV>(&ar, wb, &mut res) };
            }
            if !SIMD || cfg!(not(target_arch = "x86_64")) {
                tile_bytes::<MR, NV>(&ar, wb, &mut res);
            }
            for (i, r) in res.iter().enumerate().take(m - m0) {
                let base = cx.out_index(y0, s.pixels[m0 + i]);
                let n = cx.cout.saturating_sub(b * nc).min(nc);
                out[base + b * nc..][..n].copy_from_slice(&r.as_flattened()[..n]);
            }
        }
    }
}

/// `res[i][c] = Σ_k a[i][k] · w[(k/4)·nc + c][k%4]` (wrapping; callers
/// checked that no sum can leave `i32`).
#[inline(always)]
fn tile_bytes<const MR: usize, const NV: usize>(a: &[&[u8]; MR], w: &[i8], res: &mut [[[i32; 16]; NV]; MR]) {
    for (k, wk) in w.chunks_exact(64 * NV).enumerate() {
        for (r, a) in res.iter_mut().zip(a) {
            let x = &a[4 * k..4 * k + 4];
            for (r, wq) in r.iter_mut().flatten().zip(wk.chunks_exact(4)) {
                let mut sum = *r;
                for (&x, &y) in x.iter().zip(wq) {
                    sum = sum.wrapping_add(i32::from(x).wrapping_mul(i32::from(y)));
                }
                *r = sum;
            }
        }
    }
}

/// AVX-512 versions of the micro-kernels (same contracts as the portable ones).
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// [`super::tile_bits`] with `vpopcntq`.
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(super) fn tile_bits<const MR: usize, const NV: usize>(
        a: &[&[u64]; MR],
        w: &[u64],
        len: usize,
        fac: &[(u32, bool)],
        res: &mut [[[i64; 8]; NV]; MR],
    ) {
        let nw = w.len() / (len * 8 * NV);
        let mut tot = [[_mm512_setzero_si512(); NV]; MR];
        for (pq, &(sh, neg)) in fac.iter().enumerate() {
            let (p, q) = (pq / nw, pq % nw);
            let mut acc = [[_mm512_setzero_si512(); NV]; MR];
            for (k, wk) in w[q * len * 8 * NV..][..len * 8 * NV].chunks_exact(8 * NV).enumerate() {
                let mut wv = [_mm512_setzero_si512(); NV];
                for (v, wv) in wv.iter_mut().enumerate() {
                    // SAFETY: `wk` holds 8·NV words, so words 8v..8v+8 are in it.
                    *wv = unsafe { _mm512_loadu_si512(wk.as_ptr().add(8 * v).cast()) };
                }
                for (acc, a) in acc.iter_mut().zip(a) {
                    let x = _mm512_set1_epi64(a[p * len + k] as i64);
                    for (acc, &wv) in acc.iter_mut().zip(&wv) {
                        *acc = _mm512_add_epi64(*acc, _mm512_popcnt_epi64(_mm512_and_si512(x, wv)));
                    }
                }
            }
            let count = _mm_cvtsi32_si128(sh as i32);
            for (tot, acc) in tot.iter_mut().flatten().zip(acc.iter().flatten()) {
                let v = _mm512_sll_epi64(*acc, count);
                *tot = if neg { _mm512_sub_epi64(*tot, v) } else { _mm512_add_epi64(*tot, v) };
            }
        }
        for (r, t) in res.iter_mut().flatten().zip(tot.iter().flatten()) {
            // SAFETY: `r` is an `[i64; 8]`, exactly one 64-byte vector.
            unsafe { _mm512_storeu_si512(r.as_mut_ptr().cast(), *t) };
        }
    }

    /// [`super::tile_bytes`] with `vpdpbusd` (u8 × i8, exact, no saturation).
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) fn tile_bytes<const MR: usize, const NV: usize>(a: &[&[u8]; MR], w: &[i8], res: &mut [[[i32; 16]; NV]; MR]) {
        let mut acc = [[_mm512_setzero_si512(); NV]; MR];
        for (k, wk) in w.chunks_exact(64 * NV).enumerate() {
            let mut wv = [_mm512_setzero_si512(); NV];
            for (v, wv) in wv.iter_mut().enumerate() {
                // SAFETY: `wk` holds 64·NV bytes, so bytes 64v..64v+64 are in it.
                *wv = unsafe { _mm512_loadu_si512(wk.as_ptr().add(64 * v).cast()) };
            }
            for (acc, a) in acc.iter_mut().zip(a) {
                let x = _mm512_set1_epi32(i32::from_le_bytes([a[4 * k], a[4 * k + 1], a[4 * k + 2], a[4 * k + 3]]));
                for (acc, &wv) in acc.iter_mut().zip(&wv) {
                    *acc = _mm512_dpbusd_epi32(*acc, x, wv);
                }
            }
        }
        for (r, t) in res.iter_mut().flatten().zip(acc.iter().flatten()) {
            // SAFETY: `r` is an `[i32; 16]`, exactly one 64-byte vector.
            unsafe { _mm512_storeu_si512(r.as_mut_ptr().cast(), *t) };
        }
    }
}

/// Output codes from accumulators: channel `co` gets
/// `th.channel(co)`'s [`ThresholdMode`] applied to its accumulator, giving
/// `th.out_bits()`-bit codes in the bit-plane layout.
///
/// Panics if `acc` has a channel count other than `th.cout()` or is empty.
pub fn threshold(acc: &RawTensor, th: &Thresholds) -> QTensor {
    assert_eq!(acc.c(), th.cout(), "threshold: {} accumulator channels, {} threshold channels", acc.c(), th.cout());
    let layout = ActLayout::new(acc.h(), acc.w(), acc.c(), th.out_bits()).expect("threshold: empty accumulator tensor");
    // Sorted tables (the normal case) are searched by bisection; anything
    // else falls back to the definition, `ThresholdMode::apply`.
    let chans: Vec<(ThresholdMode, &[i32], bool)> = (0..th.cout())
        .map(|co| {
            let (mode, t) = th.channel(co);
            let sorted = match mode {
                ThresholdMode::Ascending => t.is_sorted(),
                ThresholdMode::Descending => t.windows(2).all(|p| p[0] >= p[1]),
                ThresholdMode::Constant(_) => false,
            };
            (mode, t, sorted)
        })
        .collect();
    let (c, a, wpp) = (acc.c(), layout.bits.bits(), layout.words_per_pixel());
    let mut out = QTensor::zeros(layout);
    out.data.par_chunks_mut(wpp * acc.w()).zip(acc.data.par_chunks(c * acc.w())).for_each(|(dst, src)| {
        for (d, s) in dst.chunks_mut(wpp).zip(src.chunks(c)) {
            for (co, (&v, &(mode, t, sorted))) in s.iter().zip(&chans).enumerate() {
                let code = match mode {
                    ThresholdMode::Ascending if sorted => t.partition_point(|&x| x <= v) as u64,
                    ThresholdMode::Descending if sorted => t.partition_point(|&x| x >= v) as u64,
                    _ => u64::from(mode.apply(v, t)),
                };
                let (g, bit) = (co / CHANNELS_PER_WORD, co % CHANNELS_PER_WORD);
                for (p, word) in d[g * a..(g + 1) * a].iter_mut().enumerate() {
                    *word |= ((code >> p) & 1) << bit;
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests;

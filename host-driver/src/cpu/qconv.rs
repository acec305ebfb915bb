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
//! Output rows are split into rayon tasks of about 64 pixels. A transposed
//! convolution of stride `s` is split into `s²` phases (output parities),
//! each using only the kernel taps that reach it, so no work is spent on the
//! zeros between input pixels. Per task and phase, the receptive fields are
//! gathered into a tile-major buffer (`[6-pixel tile][plane][tap·G + group]
//! [pixel]` words); the weights, rearranged once per call, are
//! `[32-channel block][plane][tap·G + group][channel]`. The micro-kernel
//! (`qconv/kernels.rs`) is an outer product: per word position it broadcasts one
//! activation word of each of 6 pixels, ANDs it with 32 channels' weight
//! words (4 AVX-512 vectors) and accumulates `vpopcntq` counts per channel
//! lane, so no horizontal sums are needed; plane pairs are combined with
//! shifts. When the bit product `A·W` is large (8-bit first layers, 4-bit
//! FlowNetS), codes unpacked to bytes and `vpdpbusd` (`u8 × i8`, AVX-512
//! VNNI) in the same tiling are cheaper; [`qconv`] picks the method with a
//! measured cost model (which also counts the per-call weight
//! rearrangement, dominant on 6×8 maps). Both methods are exact and tested
//! bit for bit against a naive reference. Kernels are chosen at run time
//! (`is_x86_feature_detected!`): AVX-512 intrinsics, else portable code
//! compiled for AVX2+POPCNT or for the baseline target.
//!
//! Measured on the 2-core AMD EPYC (Zen 4) dev machine, both cores,
//! `cargo bench -p zynqflow-driver --bench qconv` (best of ≥ 2 s): 3×3,
//! 48×64, Cin 512 → 256, A2/W1: ≈ 1000 GMAC/s (3.6 ms; 500 on one core);
//! 3×3, 192×256, Cin 24 → 64, A8/W8: ≈ 185 GMAC/s (3.7 ms). [`threshold`]
//! takes ≈ 0.4 ns per 2-bit output code.

use crate::cpu::ConvGeom;
use crate::quant::{QWeights, Thresholds};
use crate::tensor::{QTensor, RawTensor};
use rayon::prelude::*;
use zynqflow_isa::{RawLayout, WeightBits, CHANNELS_PER_WORD};

mod kernels;
mod thresholds;
use thresholds::threshold_with;

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
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
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
    assert_eq!((wl.kh, wl.kw), (geom.kh, geom.kw), "qconv: kernel size of weights and geometry");
    geom.check().unwrap_or_else(|e| panic!("qconv: bad geometry: {e}"));
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
        None if fits && unpacked_is_cheaper(geom, hout * wout, cin, abits, wbits.bits()) => Method::Unpacked,
        None => Method::BitPlane,
    };
    let phases = Phase::all(geom);
    // Output channels per block: vectors of 8 (bits) or 16 (bytes) lanes.
    let lanes = if method == Method::BitPlane { 8 } else { 16 };
    let nv = wl.cout.div_ceil(lanes).next_power_of_two().min(4);
    let prep = match method {
        Method::BitPlane => {
            let pops = if wbits.is_binary() { pixel_pops(input) } else { Vec::new() };
            Prepared::Bits(phases.iter().map(|ph| ph.bit_weights(weights, 8 * nv)).collect(), pops)
        }
        Method::Unpacked => {
            Prepared::Bytes(unpack_codes(input), phases.iter().map(|ph| ph.byte_weights(weights, 16 * nv)).collect())
        }
    };
    let rows = coord_table(geom, hout, geom.kh, input.h());
    let cols = coord_table(geom, wout, geom.kw, input.w());
    let cx = Ctx { input, geom: *geom, wout, cout: wl.cout, abits, wbits, nv, phases, prep, rows, cols };
    // Rows are split into tasks of about 64 pixels, as many as a multiple of
    // the thread count; each task zeroes its part of the (uninitialized)
    // output while it is hot in cache, instead of a serial memset up front.
    let n = hout * wout * wl.cout;
    let threads = rayon::current_num_threads().max(1);
    let per_task = 64usize.div_ceil(wout).min(hout.div_ceil(threads)).max(1);
    let per_task = hout.div_ceil(hout.div_ceil(per_task).next_multiple_of(threads)); // balance the threads
    let mut data: Vec<i32> = Vec::with_capacity(n);
    data.spare_capacity_mut()[..n].par_chunks_mut(per_task * wout * wl.cout).enumerate().for_each(|(i, chunk)| {
        SCRATCH.with_borrow_mut(|s| {
            if s.zeros.len() < chunk.len() {
                s.zeros.resize(chunk.len(), 0);
            }
            let out = chunk.write_copy_of_slice(&s.zeros[..chunk.len()]);
            run_task(&cx, isa, i * per_task, out, s)
        })
    });
    // SAFETY: the chunks above tile the first `n` spare slots of `data`, and
    // each was initialized by `write_copy_of_slice` (a task that panics
    // propagates the panic before this line is reached).
    unsafe { data.set_len(n) };
    RawTensor { layout: RawLayout { height: hout, width: wout, channels: wl.cout }, data }
}

/// Cost model fitted on the 2-core Zen 4 dev machine (ns per output channel
/// and tap): bit-planes ≈ 0.032 per pixel, 64-channel group and plane pair,
/// plus 0.6 per weight word prepared; bytes ≈ 0.0025 per pixel and channel,
/// plus 0.7 per weight byte prepared (which dominates on 6×8 maps).
fn unpacked_is_cheaper(geom: &ConvGeom, pixels: usize, cin: usize, a: usize, w: usize) -> bool {
    let s2 = if geom.transposed { geom.stride * geom.stride } else { 1 };
    let p = pixels as f64 / s2 as f64; // taps used per output: T / s²
    let bits = cin.div_ceil(64) as f64 * w as f64 * (0.032 * p * a as f64 + 0.6);
    let bytes = cin as f64 * (0.0025 * p + 0.7);
    bytes < bits
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
        let pick =
            |r: usize, k: usize| (0..k).filter(|&t| (t + s - (r + g.pad) % s).is_multiple_of(s)).collect::<Vec<_>>();
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
        if len == 0 {
            return out; // a transposed phase no tap reaches
        }
        out.par_chunks_mut(nb * len * nc).enumerate().for_each(|(b, block)| {
            let cos = b * nc..l.cout.min(b * nc + nc);
            for (t, (ky, kx)) in self.taps().enumerate() {
                for gi in 0..g {
                    for q in 0..nb {
                        let dst = &mut block[(q * len + t * g + gi) * nc..][..nc];
                        for (d, co) in dst.iter_mut().zip(cos.clone()) {
                            *d = w.data[l.word_index(co, ky, kx, gi, q)];
                        }
                    }
                }
            }
        });
        out
    }

    /// 4-byte quads per kernel row of unpacked codes or weights: row `ty`
    /// starts at byte `4·ty·row_quads`, tap (ty, tx) channel ci at
    /// `4·ty·row_quads + tx·Cin + ci`.
    fn row_quads(&self, cin: usize) -> usize {
        (self.kxs.len() * cin).div_ceil(4)
    }

    /// Byte weights in blocks of `nc` output channels: for `k` as in
    /// [`Phase::row_quads`], `[block][k / 4][nc][k % 4]`, the operand layout
    /// of `vpdpbusd`.
    fn byte_weights(&self, w: &QWeights, nc: usize) -> Vec<i8> {
        let l = w.layout;
        let rq = self.row_quads(l.cin);
        let kq = self.kys.len() * rq;
        let mut out = vec![0i8; l.cout.next_multiple_of(nc) * kq * 4];
        if kq == 0 {
            return out;
        }
        let decode: [i8; 256] = std::array::from_fn(|e| l.bits.decode(e as u8) as i8);
        out.par_chunks_mut(kq * nc * 4).enumerate().for_each(|(b, block)| {
            // One (tap, group) at a time: the codes of all the block's
            // channels, then written quad row by quad row.
            let cos = b * nc..l.cout.min(b * nc + nc);
            let mut vals = vec![[0i8; CHANNELS_PER_WORD]; cos.len()];
            let mut bytes = [0u8; CHANNELS_PER_WORD];
            for (t, (ky, kx)) in self.taps().enumerate() {
                let (ty, tx) = (t / self.kxs.len(), t % self.kxs.len());
                for gi in 0..l.groups() {
                    let n = (l.cin - gi * CHANNELS_PER_WORD).min(CHANNELS_PER_WORD);
                    for (v, co) in vals.iter_mut().zip(cos.clone()) {
                        let first = l.word_index(co, ky, kx, gi, 0);
                        spread_planes(&w.data[first..first + l.bits.bits()], &mut bytes[..n]);
                        for (v, &e) in v.iter_mut().zip(&bytes[..n]) {
                            *v = decode[usize::from(e)];
                        }
                    }
                    for i in 0..n {
                        let k = 4 * ty * rq + tx * l.cin + gi * CHANNELS_PER_WORD + i;
                        let row = &mut block[k / 4 * nc * 4..][..nc * 4];
                        for (d, v) in row.chunks_exact_mut(4).zip(&vals) {
                            d[k % 4] = v[i];
                        }
                    }
                }
            }
        });
        out
    }
}

/// Byte `i` of the result is bit `i` of `b`: replicate `b` into every byte,
/// keep bit `i` in byte `i`, and turn a non-zero byte into 1 (adding 0x7f
/// sets bit 7 of exactly the non-zero bytes, and never carries).
fn spread(b: u64) -> u64 {
    let bits = ((b & 0xff) * 0x0101_0101_0101_0101) & 0x8040_2010_0804_0201;
    ((bits + 0x7f7f_7f7f_7f7f_7f7f) >> 7) & 0x0101_0101_0101_0101
}

/// Turns the bit-planes of (up to) 64 channels into one byte per channel,
/// for the first `out.len()` channels.
fn spread_planes(planes: &[u64], out: &mut [u8]) {
    for (k, dst) in out.chunks_mut(8).enumerate() {
        let mut acc = 0u64;
        for (p, &w) in planes.iter().enumerate() {
            acc |= spread(w >> (8 * k)) << p;
        }
        dst.copy_from_slice(&acc.to_le_bytes()[..dst.len()]);
    }
}

/// All codes of a tensor, one byte each, NHWC.
fn unpack_codes(t: &QTensor) -> Vec<u8> {
    let (c, a) = (t.c(), t.bits().bits());
    let mut out = vec![0u8; t.h() * t.w() * c];
    out.par_chunks_mut(t.w() * c).enumerate().for_each(|(y, row)| {
        for (x, px) in row.chunks_mut(c).enumerate() {
            let words = t.pixel_words(y, x);
            for (gi, dst) in px.chunks_mut(CHANNELS_PER_WORD).enumerate() {
                spread_planes(&words[gi * a..(gi + 1) * a], dst);
            }
        }
    });
    out
}

/// `Σ_p 2^p·popcount(a_p)` (the sum of the codes) of every input pixel.
fn pixel_pops(t: &QTensor) -> Vec<i64> {
    let (wpp, a) = (t.layout.words_per_pixel(), t.bits().bits());
    t.data
        .par_chunks(wpp)
        .map(|px| px.iter().enumerate().map(|(i, w)| i64::from(w.count_ones()) << (i % a)).sum())
        .collect()
}

/// Weights (and, for bytes, the unpacked input) prepared per phase.
enum Prepared {
    /// Weights per phase; for binary weights, `Σ_p 2^p·popcount(a_p)` per input pixel.
    Bits(Vec<Vec<u64>>, Vec<i64>),
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
    /// `[oy][ky]` and `[ox][kx]`: the input row / column read, or `NONE`.
    rows: Vec<u32>,
    cols: Vec<u32>,
}

/// Marks a tap that falls in the padding (or between transposed inputs).
const NONE: u32 = u32::MAX;

/// `[o][k]` table of the input coordinate output `o` reads through tap `k`
/// along an axis of `n` inputs, [`NONE`] where it reads zero.
fn coord_table(g: &ConvGeom, outs: usize, k: usize, n: usize) -> Vec<u32> {
    let f = |o, t| if g.transposed { g.transposed_input_coord(o, t, n) } else { g.input_coord(o, t, n) };
    (0..outs * k).map(|i| f(i / k, i % k).map_or(NONE, |c| c as u32)).collect()
}

impl Ctx<'_> {
    /// Index in a task's output of channel 0 of pixel (oy, ox).
    fn out_index(&self, y0: usize, (oy, ox): (usize, usize)) -> usize {
        ((oy - y0) * self.wout + ox) * self.cout
    }
}

/// Per-thread buffers, reused across tasks and calls (a task makes no rayon
/// calls, so a worker never re-enters one while it holds the borrow).
#[derive(Default)]
struct Scratch {
    pixels: Vec<(usize, usize)>,
    words: Vec<u64>,
    pops: Vec<i64>,
    bytes: Vec<u8>,
    zeros: Vec<i32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
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
            (Prepared::Bits(w, pops), 1) => bit_phase::<MR, 1, SIMD>(cx, ph, &w[pi], pops, y0, out, s),
            (Prepared::Bits(w, pops), 2) => bit_phase::<MR, 2, SIMD>(cx, ph, &w[pi], pops, y0, out, s),
            (Prepared::Bits(w, pops), _) => bit_phase::<MR, 4, SIMD>(cx, ph, &w[pi], pops, y0, out, s),
            (Prepared::Bytes(c, w), 1) => byte_phase::<MR, 1, SIMD>(cx, ph, c, &w[pi], y0, out, s),
            (Prepared::Bytes(c, w), 2) => byte_phase::<MR, 2, SIMD>(cx, ph, c, &w[pi], y0, out, s),
            (Prepared::Bytes(c, w), _) => byte_phase::<MR, 4, SIMD>(cx, ph, c, &w[pi], y0, out, s),
        }
    }
}

/// Bit-plane method for the pixels in `s.pixels`, all of phase `ph`.
#[inline(always)]
fn bit_phase<const MR: usize, const NV: usize, const SIMD: bool>(
    cx: &Ctx,
    ph: &Phase,
    wt: &[u64],
    in_pops: &[i64],
    y0: usize,
    out: &mut [i32],
    s: &mut Scratch,
) {
    let (a, nw, binary) = (cx.abits, cx.wbits.bits(), cx.wbits.is_binary());
    let g = cx.input.layout.groups();
    let len = ph.kys.len() * ph.kxs.len() * g;
    let (m, per_tile) = (s.pixels.len(), a * len * MR);
    let size = m.div_ceil(MR) * per_tile;
    if s.words.len() < size {
        s.words.resize(size, 0);
    }
    s.pops.clear();
    s.pops.resize(m, 0);
    // Gather, tile-major: pixel i = tile·MR + lane, plane p, tap t, group gi
    // at ((tile·A + p)·len + t·G + gi)·MR + lane. Every word of a used lane
    // is written; unused lanes of the last tile hold stale words whose
    // results are never read.
    let (kh, kw, w) = (cx.geom.kh, cx.geom.kw, cx.input.w());
    for (i, &(oy, ox)) in s.pixels.iter().enumerate() {
        let tile = &mut s.words[i / MR * per_tile..][..per_tile];
        for (t, (ky, kx)) in ph.taps().enumerate() {
            let (iy, ix) = (cx.rows[oy * kh + ky], cx.cols[ox * kw + kx]);
            let src = (iy != NONE && ix != NONE).then(|| iy as usize * w + ix as usize);
            let px = src.map_or(&[][..], |src| &cx.input.data[src * g * a..][..g * a]);
            for p in 0..a {
                let dst = tile[(p * len + t * g) * MR..][..g * MR].as_chunks_mut::<MR>().0;
                for (gi, d) in dst.iter_mut().enumerate() {
                    d[i % MR] = px.get(gi * a + p).copied().unwrap_or(0);
                }
            }
            if let (true, Some(src)) = (binary, src) {
                s.pops[i] += in_pops[src];
            }
        }
    }
    // Plane-pair factors 2^p·pw(q) (binary: 2^(p+1)) as (shift, negative).
    let fac: Vec<(u32, bool)> = (0..a * nw)
        .map(|i| if binary { (i as u32 + 1, false) } else { ((i / nw + i % nw) as u32, i % nw + 1 == nw) })
        .collect();
    let nc = 8 * NV;
    let wc = wt.as_chunks::<8>().0.as_chunks::<NV>().0;
    for (b, wb) in wc.chunks_exact(nw * len).enumerate() {
        for (ti, x) in s.words[..size].as_chunks::<MR>().0.chunks_exact(a * len).enumerate() {
            let mut res = [[[0i64; 8]; NV]; MR];
            #[cfg(target_arch = "x86_64")]
            if SIMD {
                // SAFETY: `SIMD` is only set by `task_avx512`, which runs
                // after `detect_isa` found AVX-512 F and VPOPCNTDQ.
                unsafe { kernels::avx512::tile_bits::<MR, NV>(x, wb, len, &fac, &mut res) };
            }
            if !SIMD || cfg!(not(target_arch = "x86_64")) {
                kernels::tile_bits::<MR, NV>(x, wb, len, &fac, &mut res);
            }
            let m0 = ti * MR;
            for (i, r) in res.iter().enumerate().take(m - m0) {
                let base = cx.out_index(y0, s.pixels[m0 + i]);
                let n = cx.cout.saturating_sub(b * nc).min(nc);
                let corr = s.pops[m0 + i];
                let (mut lo, mut hi) = (0i64, 0i64);
                for (d, &v) in out[base + b * nc..][..n].iter_mut().zip(r.as_flattened()) {
                    let v = v.wrapping_sub(corr);
                    (lo, hi) = (lo.min(v), hi.max(v));
                    *d = v as i32;
                }
                if lo < i64::from(i32::MIN) || hi > i64::from(i32::MAX) {
                    panic!("qconv: accumulator {} overflows i32", if lo < i64::from(i32::MIN) { lo } else { hi });
                }
            }
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
    let (c, w, kw) = (cx.input.c(), cx.input.w(), cx.geom.kw);
    let (nkx, rq) = (ph.kxs.len(), ph.row_quads(c));
    let kq = ph.kys.len() * rq;
    let m = s.pixels.len();
    // Gather per pixel (k as in `Phase::row_quads`), writing every byte.
    if s.bytes.len() < m * kq * 4 {
        s.bytes.resize(m * kq * 4, 0);
    }
    // Without upsampling or transposition the taps of a kernel row read
    // consecutive input pixels: one copy per kernel row.
    let span = !cx.geom.transposed && cx.geom.upsample == 1;
    for (row, &(oy, ox)) in s.bytes.chunks_exact_mut(kq * 4).zip(&s.pixels) {
        for (seg, &ky) in row.chunks_exact_mut(rq * 4).zip(&ph.kys) {
            let iy = cx.rows[oy * cx.geom.kh + ky];
            if iy == NONE {
                seg.fill(0);
                continue;
            }
            let src = &codes[iy as usize * w * c..][..w * c];
            let cols = &cx.cols[ox * kw..][..kw];
            if span {
                let lo = cols.iter().position(|&x| x != NONE).unwrap_or(kw);
                let hi = cols.iter().rposition(|&x| x != NONE).map_or(lo, |h| h + 1);
                seg[..lo * c].fill(0);
                if hi > lo {
                    seg[lo * c..hi * c].copy_from_slice(&src[cols[lo] as usize * c..][..(hi - lo) * c]);
                }
                seg[hi * c..].fill(0);
            } else {
                for (d, &kx) in seg.chunks_exact_mut(c).zip(&ph.kxs) {
                    match cols[kx] {
                        NONE => d.fill(0),
                        ix => d.copy_from_slice(&src[ix as usize * c..][..c]),
                    }
                }
                seg[nkx * c..].fill(0);
            }
        }
    }
    let nc = 16 * NV;
    let wc = wt.as_chunks::<64>().0.as_chunks::<NV>().0;
    let rows = s.bytes.as_chunks::<4>().0;
    for (b, wb) in wc.chunks_exact(kq).enumerate() {
        for m0 in (0..m).step_by(MR) {
            // Lanes past the last pixel repeat it; their results are dropped.
            let x: [&[[u8; 4]]; MR] = std::array::from_fn(|i| &rows[(m0 + i).min(m - 1) * kq..][..kq]);
            let mut res = [[[0i32; 16]; NV]; MR];
            #[cfg(target_arch = "x86_64")]
            if SIMD {
                // SAFETY: `SIMD` is only set by `task_avx512`, which runs
                // after `detect_isa` found AVX-512 F and VNNI.
                unsafe { kernels::avx512::tile_bytes::<MR, NV>(&x, wb, &mut res) };
            }
            if !SIMD || cfg!(not(target_arch = "x86_64")) {
                kernels::tile_bytes::<MR, NV>(&x, wb, &mut res);
            }
            for (i, r) in res.iter().enumerate().take(m - m0) {
                let base = cx.out_index(y0, s.pixels[m0 + i]);
                let n = cx.cout.saturating_sub(b * nc).min(nc);
                out[base + b * nc..][..n].copy_from_slice(&r.as_flattened()[..n]);
            }
        }
    }
}

/// Output codes from accumulators: channel `co` gets the mode of
/// `th.channel(co)` applied to its accumulator, exactly as defined by
/// [`zynqflow_isa::ThresholdMode::apply`], giving `th.out_bits()`-bit codes
/// in the bit-plane layout.
///
/// Up to 4-bit outputs are computed 64 channels at a time: each threshold
/// gives a mask of the channels that pass it, and the masks are summed into
/// the output bit-planes by a bit-sliced ripple-carry adder.
///
/// Panics if `acc` has a channel count other than `th.cout()` or is empty.
pub fn threshold(acc: &RawTensor, th: &Thresholds) -> QTensor {
    #[cfg(target_arch = "x86_64")]
    let simd = is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    let simd = false;
    threshold_with(acc, th, simd)
}

#[cfg(test)]
mod tests;

//! The implementation of [`super::threshold`]: 64 channels at a time, each
//! threshold a mask of the passing channels, summed into the output
//! bit-planes by a bit-sliced ripple-carry adder.

use crate::quant::Thresholds;
use crate::tensor::{QTensor, RawTensor};
use rayon::prelude::*;
use zynqflow_isa::{ActLayout, ThresholdMode, CHANNELS_PER_WORD};

/// [`super::threshold`], with the AVX-512 compares if `simd` (which must
/// only be set when AVX-512 F is available).
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
pub(super) fn threshold_with(acc: &RawTensor, th: &Thresholds, simd: bool) -> QTensor {
    assert_eq!(acc.c(), th.cout(), "threshold: {} accumulator channels, {} threshold channels", acc.c(), th.cout());
    let layout = ActLayout::new(acc.h(), acc.w(), acc.c(), th.out_bits()).expect("threshold: empty accumulator tensor");
    let (c, a, wpp) = (acc.c(), layout.bits.bits(), layout.words_per_pixel());
    let groups: Vec<ThGroup> = (0..layout.groups()).map(|g| ThGroup::new(th, g)).collect();
    let mut out = QTensor::zeros(layout);
    out.data.par_chunks_mut(wpp * acc.w()).zip(acc.data.par_chunks(c * acc.w())).for_each(|(dst, src)| {
        if a > 4 {
            for (d, s) in dst.chunks_exact_mut(wpp).zip(src.chunks_exact(c)) {
                for (co, &v) in s.iter().enumerate() {
                    let (mode, t) = th.channel(co);
                    let code = u64::from(mode.apply(v, t));
                    for (p, word) in d[co / CHANNELS_PER_WORD * a..][..a].iter_mut().enumerate() {
                        *word |= ((code >> p) & 1) << (co % CHANNELS_PER_WORD);
                    }
                }
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: callers only set `simd` when AVX-512 F was detected.
            return unsafe { threshold_rows_avx512(&groups, a, dst, src, c) };
        }
        threshold_rows::<false>(&groups, a, dst, src, c)
    });
    out
}

/// The thresholds of 64 output channels, laid out for [`threshold_rows`].
struct ThGroup {
    /// `t[i][lane]`: threshold `i` of each channel.
    t: Vec<[i32; 64]>,
    /// Channels in descending mode (they count `acc ≤ t` instead of `acc ≥ t`).
    desc: u64,
    /// Channels of constant code, and that code's bit-planes.
    constant: u64,
    const_planes: [u64; 8],
    /// Channels that exist (the last group may be partial).
    valid: u64,
}

impl ThGroup {
    fn new(th: &Thresholds, g: usize) -> Self {
        let n = th.out_bits().num_thresholds();
        let mut grp = ThGroup { t: vec![[0; 64]; n], desc: 0, constant: 0, const_planes: [0; 8], valid: 0 };
        for (lane, co) in (g * CHANNELS_PER_WORD..th.cout().min(g * CHANNELS_PER_WORD + 64)).enumerate() {
            let (mode, t) = th.channel(co);
            grp.valid |= 1 << lane;
            for (i, &x) in t.iter().enumerate() {
                grp.t[i][lane] = x;
            }
            match mode {
                ThresholdMode::Ascending => {}
                ThresholdMode::Descending => grp.desc |= 1 << lane,
                ThresholdMode::Constant(_) => {
                    grp.constant |= 1 << lane;
                    let code = mode.apply(0, t);
                    for (p, plane) in grp.const_planes.iter_mut().enumerate() {
                        *plane |= u64::from((code >> p) & 1) << lane;
                    }
                }
            }
        }
        grp
    }
}

/// Thresholds rows of pixels (`src`: `c` accumulators per pixel) into
/// `a`-plane words (`dst`), `a ≤ 4`, with the AVX-512 compares if `SIMD`.
#[inline(always)]
fn threshold_rows<const SIMD: bool>(groups: &[ThGroup], a: usize, dst: &mut [u64], src: &[i32], c: usize) {
    for (d, s) in dst.chunks_exact_mut(groups.len() * a).zip(src.chunks_exact(c)) {
        for (gi, (grp, d)) in groups.iter().zip(d.chunks_exact_mut(a)).enumerate() {
            let mut v = [0i32; 64];
            let part = &s[gi * CHANNELS_PER_WORD..c.min(gi * CHANNELS_PER_WORD + 64)];
            v[..part.len()].copy_from_slice(part);
            let mut planes = [0u64; 4];
            for t in &grp.t {
                let (mut ge, mut le) = (0u64, 0u64);
                #[cfg(target_arch = "x86_64")]
                if SIMD {
                    // SAFETY: `SIMD` is only set by `threshold_rows_avx512`,
                    // called after AVX-512 F was detected.
                    (ge, le) = unsafe { ge_le_masks(&v, t) };
                }
                if !SIMD || cfg!(not(target_arch = "x86_64")) {
                    for j in 0..64 {
                        ge |= u64::from(v[j] >= t[j]) << j;
                        le |= u64::from(v[j] <= t[j]) << j;
                    }
                }
                // Add the 1-bit mask of passing channels to the bit-sliced count.
                let mut carry = (ge & !grp.desc) | (le & grp.desc);
                for plane in &mut planes[..a] {
                    (*plane, carry) = (*plane ^ carry, *plane & carry);
                }
            }
            for (p, word) in d.iter_mut().enumerate() {
                *word = ((planes[p] & !grp.constant) | grp.const_planes[p]) & grp.valid;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn threshold_rows_avx512(groups: &[ThGroup], a: usize, dst: &mut [u64], src: &[i32], c: usize) {
    threshold_rows::<true>(groups, a, dst, src, c)
}

/// Masks of the lanes with `v ≥ t` and with `v ≤ t` (AVX-512 F compares).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn ge_le_masks(v: &[i32; 64], t: &[i32; 64]) -> (u64, u64) {
    use std::arch::x86_64::{_mm512_cmpge_epi32_mask, _mm512_cmple_epi32_mask, _mm512_loadu_si512};
    let (mut ge, mut le) = (0u64, 0u64);
    for (k, (v, t)) in v.as_chunks::<16>().0.iter().zip(t.as_chunks::<16>().0).enumerate() {
        // SAFETY: `v` and `t` are `[i32; 16]`s, exactly one 64-byte vector each.
        let (v, t) = unsafe { (_mm512_loadu_si512(v.as_ptr().cast()), _mm512_loadu_si512(t.as_ptr().cast())) };
        ge |= u64::from(_mm512_cmpge_epi32_mask(v, t)) << (16 * k);
        le |= u64::from(_mm512_cmple_epi32_mask(v, t)) << (16 * k);
    }
    (ge, le)
}

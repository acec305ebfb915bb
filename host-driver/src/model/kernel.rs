//! The popcount micro-kernel of the functional model: exact dot products of
//! gathered receptive fields with one block of output channels, over
//! bit-planes.
//!
//! For one output pixel and output channel, with activation planes `a_p`
//! (`p < A`) and weight planes `w_q` (`q < W`) over the same 64-channel word,
//! the contribution of the word is (`isa::precision`)
//!
//! - signed weights: `Σ_p Σ_q 2^p · pw(q) · popcount(a_p & w_q)` with
//!   `pw(q) = 2^q`, except `−2^(W−1)` for the top plane;
//! - binary weights: `Σ_p 2^p · (2·popcount(a_p & k) − popcount(a_p))`; the
//!   second term is per pixel and is subtracted by the caller.
//!
//! The kernel accumulates the positive part (`popcount << (p+q)`, or
//! `<< (p+1)` for binary) and the top-plane part separately in `u64` lanes
//! and returns their difference; every step is wrapping, which is exact
//! because validation guarantees the true sum fits the accumulator width
//! (at most 64 bits).
//!
//! Layouts: a receptive field is `TG·A` words, `[tap·G + group][plane]`; a
//! weight block is `TG·W·LANES` words, `[tap·G + group][plane][lane]`, lane
//! `l` being output channel `block·LANES + l`. Four pixels × eight channels
//! are computed at once so each weight vector is loaded once per four
//! pixels. The x86-64 entry points compile the same code with POPCNT or
//! AVX-512 VPOPCNTDQ enabled, chosen at run time.

/// Output channels per block (one 512-bit vector of `u64`).
pub(crate) const LANES: usize = 8;
/// Pixels computed together by the micro-kernel; chunks are padded to it.
pub(crate) const PX: usize = 4;

/// The instruction set the kernels are compiled for, detected at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Isa {
    /// Whatever the compile target offers (no POPCNT on default x86-64).
    Portable,
    /// x86-64 with POPCNT (and AVX2).
    Popcnt,
    /// x86-64 with AVX-512 F/VL/VPOPCNTDQ (and AVX2, POPCNT).
    Avx512,
}

/// The best [`Isa`] of this CPU.
pub(crate) fn detect() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("avx512vpopcntdq")
            && is_x86_feature_detected!("popcnt")
        {
            return Isa::Avx512;
        }
        if is_x86_feature_detected!("popcnt") && is_x86_feature_detected!("avx2") {
            return Isa::Popcnt;
        }
    }
    Isa::Portable
}

/// One chunk of pixels against every output-channel block.
pub(crate) struct Chunk<'a> {
    /// Receptive fields, `pixels × rf_len` words (`pixels` a multiple of [`PX`]).
    pub rf: &'a [u64],
    /// Words per receptive field (`TG·A`).
    pub rf_len: usize,
    /// Pixels in `rf`.
    pub pixels: usize,
    /// Weight blocks, `blocks × TG·W·LANES` words.
    pub wt: &'a [u64],
    /// Taps × input groups.
    pub tg: usize,
    /// Activation planes.
    pub a: usize,
    /// Weight planes.
    pub w: usize,
    /// Output-channel blocks.
    pub blocks: usize,
}

/// Fills `acc` (`pixels × blocks·LANES`, pixel-major) with the weighted
/// popcount sums of `c` (for binary weights, without the per-pixel
/// `Σ_p 2^p·popcount(a_p)` term).
///
/// `isa` must be supported by this CPU ([`detect`] or a level below it);
/// a level above it panics rather than executing unsupported instructions.
pub(crate) fn run(isa: Isa, binary: bool, c: &Chunk<'_>, acc: &mut [i64]) {
    assert!(isa <= detect(), "{isa:?} is not supported by this CPU");
    assert_eq!(c.pixels % PX, 0);
    assert!(c.rf.len() >= c.pixels * c.rf_len && c.rf_len == c.tg * c.a);
    assert!(c.wt.len() >= c.blocks * c.tg * c.w * LANES && acc.len() >= c.pixels * c.blocks * LANES);
    match (isa, binary) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa <= detect()` was asserted above, and `detect` returns
        // `Isa::Avx512` only after `is_x86_feature_detected!` confirmed every
        // feature enabled on `chunk_avx512`; the body is safe code.
        (Isa::Avx512, true) => unsafe { chunk_avx512::<true>(c, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        (Isa::Avx512, false) => unsafe { chunk_avx512::<false>(c, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa <= detect()` was asserted above, and `detect` returns
        // `Isa::Popcnt` or above only after POPCNT and AVX2 were detected.
        (Isa::Popcnt, true) => unsafe { chunk_popcnt::<true>(c, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        (Isa::Popcnt, false) => unsafe { chunk_popcnt::<false>(c, acc) },
        (_, true) => chunk::<true>(c, acc),
        (_, false) => chunk::<false>(c, acc),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512vpopcntdq,avx2,popcnt")]
unsafe fn chunk_avx512<const BIN: bool>(c: &Chunk<'_>, acc: &mut [i64]) {
    chunk::<BIN>(c, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
unsafe fn chunk_popcnt<const BIN: bool>(c: &Chunk<'_>, acc: &mut [i64]) {
    chunk::<BIN>(c, acc)
}

#[inline(always)]
fn chunk<const BIN: bool>(c: &Chunk<'_>, acc: &mut [i64]) {
    let wblock = c.tg * c.w * LANES;
    let row = c.blocks * LANES;
    for b in 0..c.blocks {
        let wt = &c.wt[b * wblock..(b + 1) * wblock];
        for p0 in (0..c.pixels).step_by(PX) {
            let rf = &c.rf[p0 * c.rf_len..(p0 + PX) * c.rf_len];
            let r = micro::<BIN>(rf, c.rf_len, wt, c.tg, c.a, c.w);
            for (i, lanes) in r.iter().enumerate() {
                acc[(p0 + i) * row + b * LANES..][..LANES].copy_from_slice(lanes);
            }
        }
    }
}

/// `acc[i] += popcount(a[i] & w) << sh`, lane by lane, for every pixel `i`.
#[inline(always)]
fn mac(acc: &mut [[u64; LANES]; PX], a: &[u64; PX], w: &[u64; LANES], sh: u32) {
    for i in 0..PX {
        for l in 0..LANES {
            acc[i][l] = acc[i][l].wrapping_add(u64::from((a[i] & w[l]).count_ones()).wrapping_shl(sh));
        }
    }
}

/// [`PX`] pixels × [`LANES`] channels.
#[inline(always)]
fn micro<const BIN: bool>(rf: &[u64], rf_len: usize, wt: &[u64], tg: usize, a: usize, w: usize) -> [[i64; LANES]; PX] {
    let px_rf: [&[u64]; PX] = std::array::from_fn(|i| &rf[i * rf_len..(i + 1) * rf_len]);
    let mut pos = [[0u64; LANES]; PX];
    let mut neg = [[0u64; LANES]; PX];
    // Binary: only plane 0, counted twice. Signed: planes below the top add,
    // the top plane subtracts.
    let npos = if BIN { 1 } else { w - 1 };
    let extra = u32::from(BIN);
    for t in 0..tg {
        let wv = &wt[t * w * LANES..(t + 1) * w * LANES];
        for p in 0..a {
            let av: [u64; PX] = std::array::from_fn(|i| px_rf[i][t * a + p]);
            for q in 0..npos {
                let wq: &[u64; LANES] = wv[q * LANES..(q + 1) * LANES].try_into().expect("LANES words");
                mac(&mut pos, &av, wq, (p + q) as u32 + extra);
            }
            if !BIN {
                let q = w - 1;
                let wq: &[u64; LANES] = wv[q * LANES..(q + 1) * LANES].try_into().expect("LANES words");
                mac(&mut neg, &av, wq, (p + q) as u32);
            }
        }
    }
    let mut out = [[0i64; LANES]; PX];
    for px in 0..PX {
        for l in 0..LANES {
            out[px][l] = pos[px][l].wrapping_sub(neg[px][l]) as i64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Every compiled variant gives the same sums as a scalar loop.
    #[test]
    fn every_isa_variant_matches_a_scalar_sum() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for &(tg, a, w, blocks) in &[(1, 1, 1, 1), (9, 2, 1, 2), (5, 3, 4, 1), (2, 8, 8, 3), (3, 1, 2, 1)] {
            let pixels = 2 * PX;
            let rf: Vec<u64> = (0..pixels * tg * a).map(|_| rng.gen()).collect();
            let wt: Vec<u64> = (0..blocks * tg * w * LANES).map(|_| rng.gen()).collect();
            let c = Chunk { rf: &rf, rf_len: tg * a, pixels, wt: &wt, tg, a, w, blocks };
            for binary in [w == 1, false] {
                let mut want = vec![0i64; pixels * blocks * LANES];
                for px in 0..pixels {
                    for co in 0..blocks * LANES {
                        let (b, l) = (co / LANES, co % LANES);
                        let mut s = 0i64;
                        for t in 0..tg {
                            for p in 0..a {
                                for q in 0..w {
                                    let n = i64::from(
                                        (rf[px * tg * a + t * a + p] & wt[((b * tg + t) * w + q) * LANES + l])
                                            .count_ones(),
                                    );
                                    let pw = if binary {
                                        2
                                    } else if q == w - 1 {
                                        -(1i64 << q)
                                    } else {
                                        1i64 << q
                                    };
                                    s += (n * pw) << p;
                                }
                            }
                        }
                        want[px * blocks * LANES + co] = s;
                    }
                }
                for isa in [Isa::Portable, Isa::Popcnt, Isa::Avx512].into_iter().filter(|&i| i <= detect()) {
                    let mut acc = vec![0i64; pixels * blocks * LANES];
                    run(isa, binary, &c, &mut acc);
                    assert_eq!(acc, want, "{isa:?} tg {tg} a {a} w {w} binary {binary}");
                }
            }
        }
    }
}

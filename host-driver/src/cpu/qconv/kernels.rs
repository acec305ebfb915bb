//! Micro-kernels of [`super::qconv`]: portable versions (compiled for the
//! baseline target or, inlined into a `#[target_feature]` task, for AVX2),
//! and AVX-512 versions with the same contracts.

/// Adds to `res[i][v][l]` (pixel `i` of the tile, channel `8v + l` of the
/// block) `Σ_(p,q) ±2^shift · Σ_k popcount(x[p·len + k][i] & w[q·len + k][v][l])`
/// with `fac[p·W + q] = (shift, negative)`.
#[inline(always)]
pub(super) fn tile_bits<const MR: usize, const NV: usize>(
    x: &[[u64; MR]],
    w: &[[[u64; 8]; NV]],
    len: usize,
    fac: &[(u32, bool)],
    res: &mut [[[i64; 8]; NV]; MR],
) {
    let nw = w.len() / len;
    for (pq, &(sh, neg)) in fac.iter().enumerate() {
        let (xp, wq) = (&x[pq / nw * len..][..len], &w[pq % nw * len..][..len]);
        let mut acc = [[[0u64; 8]; NV]; MR];
        for (xk, wk) in xp.iter().zip(wq) {
            for i in 0..MR {
                for v in 0..NV {
                    for l in 0..8 {
                        acc[i][v][l] = acc[i][v][l].wrapping_add(u64::from((xk[i] & wk[v][l]).count_ones()));
                    }
                }
            }
        }
        for (r, &c) in res.as_flattened_mut().as_flattened_mut().iter_mut().zip(acc.as_flattened().as_flattened()) {
            let v = (c << sh) as i64;
            *r = if neg { r.wrapping_sub(v) } else { r.wrapping_add(v) };
        }
    }
}

/// `res[i][v][l] = Σ_k Σ_j x[i][k][j] · w[k][v][4l + j]`, `x` unsigned, `w`
/// signed, every `x[i]` at least `w.len()` long (wrapping; callers checked
/// that no sum can leave `i32`).
#[inline(always)]
pub(super) fn tile_bytes<const MR: usize, const NV: usize>(
    x: &[&[[u8; 4]]; MR],
    w: &[[[i8; 64]; NV]],
    res: &mut [[[i32; 16]; NV]; MR],
) {
    for (k, wk) in w.iter().enumerate() {
        for i in 0..MR {
            let xb = x[i][k];
            for v in 0..NV {
                for l in 0..16 {
                    let mut sum = res[i][v][l];
                    for j in 0..4 {
                        sum = sum.wrapping_add(i32::from(xb[j]).wrapping_mul(i32::from(wk[v][4 * l + j])));
                    }
                    res[i][v][l] = sum;
                }
            }
        }
    }
}

/// The AVX-512 kernels (`vpopcntq` from AVX-512 VPOPCNTDQ, `vpdpbusd` from
/// AVX-512 VNNI). Only called after run-time detection of those features.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx512 {
    use std::arch::x86_64::*;

    /// [`super::tile_bits`] with `vpopcntq`.
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(in crate::cpu::qconv) fn tile_bits<const MR: usize, const NV: usize>(
        x: &[[u64; MR]],
        w: &[[[u64; 8]; NV]],
        len: usize,
        fac: &[(u32, bool)],
        res: &mut [[[i64; 8]; NV]; MR],
    ) {
        let nw = w.len() / len;
        let mut tot = [[_mm512_setzero_si512(); NV]; MR];
        for (pq, &(sh, neg)) in fac.iter().enumerate() {
            let (xp, wq) = (&x[pq / nw * len..][..len], &w[pq % nw * len..][..len]);
            let mut acc = [[_mm512_setzero_si512(); NV]; MR];
            for (xk, wk) in xp.iter().zip(wq) {
                let mut wv = [_mm512_setzero_si512(); NV];
                for v in 0..NV {
                    // SAFETY: `wk[v]` is a `[u64; 8]`, exactly one 64-byte vector.
                    wv[v] = unsafe { _mm512_loadu_si512(wk[v].as_ptr().cast()) };
                }
                for i in 0..MR {
                    let b = _mm512_set1_epi64(xk[i] as i64);
                    for v in 0..NV {
                        acc[i][v] = _mm512_add_epi64(acc[i][v], _mm512_popcnt_epi64(_mm512_and_si512(b, wv[v])));
                    }
                }
            }
            let count = _mm_cvtsi32_si128(sh as i32);
            for i in 0..MR {
                for v in 0..NV {
                    let s = _mm512_sll_epi64(acc[i][v], count);
                    tot[i][v] = if neg { _mm512_sub_epi64(tot[i][v], s) } else { _mm512_add_epi64(tot[i][v], s) };
                }
            }
        }
        for i in 0..MR {
            for v in 0..NV {
                // SAFETY: `res[i][v]` is an `[i64; 8]`, exactly one 64-byte vector.
                unsafe { _mm512_storeu_si512(res[i][v].as_mut_ptr().cast(), tot[i][v]) };
            }
        }
    }

    /// [`super::tile_bytes`] with `vpdpbusd` (u8 × i8, exact, no saturation).
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(in crate::cpu::qconv) fn tile_bytes<const MR: usize, const NV: usize>(
        x: &[&[[u8; 4]]; MR],
        w: &[[[i8; 64]; NV]],
        res: &mut [[[i32; 16]; NV]; MR],
    ) {
        assert!(x.iter().all(|r| r.len() >= w.len()), "tile_bytes: short activation row");
        let mut acc = [[_mm512_setzero_si512(); NV]; MR];
        for (k, wk) in w.iter().enumerate() {
            let mut wv = [_mm512_setzero_si512(); NV];
            for v in 0..NV {
                // SAFETY: `wk[v]` is an `[i8; 64]`, exactly one 64-byte vector.
                wv[v] = unsafe { _mm512_loadu_si512(wk[v].as_ptr().cast()) };
            }
            for i in 0..MR {
                // SAFETY: k < w.len() ≤ x[i].len(), asserted above.
                let b = _mm512_set1_epi32(i32::from_le_bytes(unsafe { *x[i].get_unchecked(k) }));
                for v in 0..NV {
                    acc[i][v] = _mm512_dpbusd_epi32(acc[i][v], b, wv[v]);
                }
            }
        }
        for i in 0..MR {
            for v in 0..NV {
                // SAFETY: `res[i][v]` is an `[i32; 16]`, exactly one 64-byte vector.
                unsafe { _mm512_storeu_si512(res[i][v].as_mut_ptr().cast(), acc[i][v]) };
            }
        }
    }
}

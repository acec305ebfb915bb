//! Float convolution: im2col per band of output rows, then one sgemm
//! (`matrixmultiply`) per band, bands in parallel with rayon.
//!
//! This is the float path of the CPU reference and the baseline the quantized
//! kernel is benchmarked against, so it is a reasonably fast one.

use super::ConvGeom;
use crate::FTensor;
use rayon::prelude::*;

/// Output rows per im2col band: small enough to stay in cache, large enough
/// to amortise sgemm's packing of the weights.
const BAND_ROWS: usize = 4;

/// Convolves `input` with float weights laid out `[co][ky][kx][ci]` (no bias).
/// Panics if the weight length does not match the geometry or the geometry
/// leaves no output (callers validate).
pub fn fconv(input: &FTensor, weights: &[f32], cout: usize, geom: &ConvGeom) -> FTensor {
    let cin = input.c;
    let k = geom.kh * geom.kw * cin;
    assert_eq!(weights.len(), cout * k, "fconv: weight length for {cout}x{}x{}x{cin}", geom.kh, geom.kw);
    let (oh, ow) = geom.out_shape(input.h, input.w).expect("fconv: geometry leaves no output");
    let mut out = FTensor::zeros(oh, ow, cout);
    out.data.par_chunks_mut(BAND_ROWS * ow * cout).enumerate().for_each(|(band, out_band)| {
        let y0 = band * BAND_ROWS;
        let rows = out_band.len() / (ow * cout);
        let m = rows * ow;
        let mut cols = vec![0f32; m * k];
        for r in 0..rows {
            for ox in 0..ow {
                let row = &mut cols[(r * ow + ox) * k..][..k];
                gather(input, geom, y0 + r, ox, row);
            }
        }
        // SAFETY: the pointers and strides describe `cols` (m×k, row-major),
        // `weights` read as k×cout (element (kk, co) at co·k + kk) and
        // `out_band` (m×cout, row-major), all in bounds and not aliased.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                cout,
                1.0,
                cols.as_ptr(),
                k as isize,
                1,
                weights.as_ptr(),
                1,
                k as isize,
                0.0,
                out_band.as_mut_ptr(),
                cout as isize,
                1,
            );
        }
    });
    out
}

/// Writes the receptive field of output (oy, ox) into `row`, `[ky][kx][ci]`,
/// zeros where it falls outside the input.
fn gather(input: &FTensor, geom: &ConvGeom, oy: usize, ox: usize, row: &mut [f32]) {
    let cin = input.c;
    for ky in 0..geom.kh {
        let iy = if geom.transposed {
            geom.transposed_input_coord(oy, ky, input.h)
        } else {
            geom.input_coord(oy, ky, input.h)
        };
        for kx in 0..geom.kw {
            let dst = &mut row[(ky * geom.kw + kx) * cin..][..cin];
            let ix = if geom.transposed {
                geom.transposed_input_coord(ox, kx, input.w)
            } else {
                geom.input_coord(ox, kx, input.w)
            };
            match (iy, ix) {
                (Some(iy), Some(ix)) => dst.copy_from_slice(input.pixel(iy, ix)),
                _ => dst.fill(0.0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Direct loops, written from the definitions (scatter form for the
    /// transposed convolution) rather than from `ConvGeom`'s helpers.
    fn naive(input: &FTensor, w: &[f32], cout: usize, g: &ConvGeom) -> FTensor {
        let (oh, ow) = g.out_shape(input.h, input.w).unwrap();
        let mut out = FTensor::zeros(oh, ow, cout);
        let wi = |co: usize, ky: usize, kx: usize, ci: usize| w[((co * g.kh + ky) * g.kw + kx) * input.c + ci];
        if g.transposed {
            for iy in 0..input.h {
                for ix in 0..input.w {
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let oy = (iy * g.stride + ky) as isize - g.pad as isize;
                            let ox = (ix * g.stride + kx) as isize - g.pad as isize;
                            if oy < 0 || ox < 0 || oy >= oh as isize || ox >= ow as isize {
                                continue;
                            }
                            for co in 0..cout {
                                for ci in 0..input.c {
                                    let i = out.idx(oy as usize, ox as usize, co);
                                    out.data[i] += input.at(iy, ix, ci) * wi(co, ky, kx, ci);
                                }
                            }
                        }
                    }
                }
            }
            return out;
        }
        let (uh, uw) = (input.h * g.upsample, input.w * g.upsample);
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..cout {
                    let mut acc = 0.0;
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let uy = (oy * g.stride + ky) as isize - g.pad as isize;
                            let ux = (ox * g.stride + kx) as isize - g.pad as isize;
                            if uy < 0 || ux < 0 || uy >= uh as isize || ux >= uw as isize {
                                continue;
                            }
                            let (iy, ix) = (uy as usize / g.upsample, ux as usize / g.upsample);
                            for ci in 0..input.c {
                                acc += input.at(iy, ix, ci) * wi(co, ky, kx, ci);
                            }
                        }
                    }
                    let i = out.idx(oy, ox, co);
                    out.data[i] = acc;
                }
            }
        }
        out
    }

    #[test]
    fn matches_direct_loops_on_random_layers() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for case in 0..60 {
            let k = rng.gen_range(1..=7);
            let transposed = case % 5 == 4;
            let stride = rng.gen_range(1..=2);
            let geom = ConvGeom {
                kh: k,
                kw: if case % 3 == 0 { rng.gen_range(1..=7) } else { k },
                stride: if transposed { 2 } else { stride },
                pad: rng.gen_range(0..k),
                upsample: if transposed { 1 } else { rng.gen_range(1..=2) },
                transposed,
            };
            let (h, w, cin, cout) =
                (rng.gen_range(1..10), rng.gen_range(1..10), rng.gen_range(1..20), rng.gen_range(1..9));
            if geom.out_shape(h, w).is_none() {
                continue;
            }
            let input = FTensor::from_vec(h, w, cin, (0..h * w * cin).map(|_| rng.gen_range(-1.0..1.0)).collect());
            let wts: Vec<f32> = (0..cout * geom.kh * geom.kw * cin).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let a = fconv(&input, &wts, cout, &geom);
            let b = naive(&input, &wts, cout, &geom);
            assert_eq!((a.h, a.w, a.c), (b.h, b.w, b.c));
            for (x, y) in a.data.iter().zip(&b.data) {
                assert!((x - y).abs() < 1e-3, "case {case} {geom:?}: {x} vs {y}");
            }
        }
    }
}

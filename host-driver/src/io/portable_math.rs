//! `exp`, `sin` and `cos` from basic IEEE-754 operations only.
//!
//! The platform's libm may differ in the last bit between targets (the host
//! and the board's ARM core), and the synthetic frames feed weight
//! calibration, so [`super::synthetic`] uses these instead: `+ − × ÷`,
//! `round` and bit manipulation are correctly rounded everywhere, and Rust
//! never fuses them into FMAs, so the results are bit-identical on every
//! target. Accuracy is about 1e-15 relative, plenty for textures.

/// ln 2 split into a part with 32 trailing zero bits (so that `k·LN2_HI` is
/// exact) and the remainder; given by their bits to be exact.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// π/2 split likewise.
const PIO2_HI: f64 = f64::from_bits(0x3ff9_21fb_5440_0000);
const PIO2_LO: f64 = f64::from_bits(0x3dd0_b461_1a62_6331);

/// e^x.
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < -700.0 {
        return 0.0;
    }
    if x > 700.0 {
        return f64::INFINITY;
    }
    // x = k·ln2 + r with |r| ≤ ln2/2; e^r by its Taylor series (14 terms).
    let k = (x / std::f64::consts::LN_2).round();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..=14 {
        term *= r / f64::from(i);
        sum += term;
    }
    // 2^k for |k| ≤ 1010 is a normal number: build it from its bits.
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// (sin x, cos x).
pub(crate) fn sin_cos(x: f64) -> (f64, f64) {
    if !x.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    // x = q·π/2 + r with |r| ≤ π/4 (plus rounding).
    let q = (x * std::f64::consts::FRAC_2_PI).round();
    let r = (x - q * PIO2_HI) - q * PIO2_LO;
    let r2 = r * r;
    // Taylor series: terms up to r^19 and r^18 (|r|^20/20! < 1e-20).
    let (mut s, mut st) = (r, r);
    let (mut c, mut ct) = (1.0, 1.0);
    for i in 1..=9 {
        let n = f64::from(2 * i);
        st *= -r2 / (n * (n + 1.0));
        s += st;
        ct *= -r2 / ((n - 1.0) * n);
        c += ct;
    }
    match (q as i64).rem_euclid(4) {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// sin x.
pub(crate) fn sin(x: f64) -> f64 {
    sin_cos(x).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_constants_add_up() {
        assert_eq!(LN2_HI + LN2_LO, std::f64::consts::LN_2);
        assert_eq!(PIO2_HI + PIO2_LO, std::f64::consts::FRAC_PI_2);
    }

    #[test]
    fn exp_matches_libm() {
        for i in -7000..=700 {
            let x = f64::from(i) * 0.1 + 0.0123;
            let (a, b) = (exp(x), x.exp());
            assert!((a - b).abs() <= 4e-15 * b, "exp({x}) = {a}, libm {b}");
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1e6), 0.0);
    }

    #[test]
    fn sin_cos_match_libm() {
        for i in -20000..=20000 {
            let x = f64::from(i) * 0.0731;
            let (s, c) = sin_cos(x);
            // Absolute error grows with |x| through the argument reduction.
            let tol = 1e-15 * (1.0 + x.abs());
            assert!((s - x.sin()).abs() <= tol && (c - x.cos()).abs() <= tol, "x = {x}: ({s}, {c})");
        }
        assert_eq!(sin(0.0), 0.0);
    }
}

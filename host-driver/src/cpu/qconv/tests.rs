//! Tests of [`super::qconv`] against a naive integer reference written
//! independently of the fast path, and of [`super::threshold`] against
//! [`ThresholdMode::apply`].

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zynqflow_isa::{ActBits, ActLayout, ThresholdLayout, ThresholdMode};

/// Naive convolution: plain loops over decoded codes and integer weights,
/// with its own output-shape and coordinate arithmetic, accumulating in i64.
/// Returns `None` where the geometry leaves no output.
fn reference(input: &QTensor, w: &QWeights, g: &ConvGeom) -> Option<(usize, usize, Vec<i64>)> {
    let (h, wd, c) = (input.h() as i64, input.w() as i64, input.c());
    let l = w.layout;
    let (s, pad, up) = (g.stride as i64, g.pad as i64, g.upsample as i64);
    let extent = |n: i64, k: i64| -> i64 {
        if g.transposed {
            (n - 1) * s + k - 2 * pad
        } else if n * up + 2 * pad < k {
            0
        } else {
            (n * up + 2 * pad - k) / s + 1
        }
    };
    let (ho, wo) = (extent(h, l.kh as i64), extent(wd, l.kw as i64));
    if ho <= 0 || wo <= 0 {
        return None;
    }
    // Input coordinate read by output `o` through tap `k` along an axis of `n`.
    let src = |o: i64, k: i64, n: i64| -> Option<usize> {
        if g.transposed {
            let t = o + pad - k;
            (t >= 0 && t % s == 0 && t / s < n).then(|| (t / s) as usize)
        } else {
            let u = o * s - pad + k;
            (u >= 0 && u < n * up).then(|| (u / up) as usize)
        }
    };
    let codes = input.to_codes();
    let ints = w.to_ints();
    let mut out = vec![0i64; (ho * wo) as usize * l.cout];
    for oy in 0..ho {
        for ox in 0..wo {
            for co in 0..l.cout {
                let mut sum = 0i64;
                for ky in 0..l.kh {
                    let Some(iy) = src(oy, ky as i64, h) else { continue };
                    for kx in 0..l.kw {
                        let Some(ix) = src(ox, kx as i64, wd) else { continue };
                        for ci in 0..c {
                            let a = i64::from(codes[(iy * wd as usize + ix) * c + ci]);
                            let wv = i64::from(ints[((co * l.kh + ky) * l.kw + kx) * c + ci]);
                            sum += a * wv;
                        }
                    }
                }
                out[(oy * wo + ox) as usize * l.cout + co] = sum;
            }
        }
    }
    Some((ho as usize, wo as usize, out))
}

/// Every kernel level this CPU can run.
fn levels() -> Vec<Isa> {
    let best = detect_isa();
    [Isa::Portable, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|&l| l == Isa::Portable || l == best || (l == Isa::Avx2 && best == Isa::Avx512))
        .collect()
}

/// Checks `qconv` (auto) and every forced method and level against the reference.
fn check_case(input: &QTensor, w: &QWeights, g: &ConvGeom, what: &str) {
    let (ho, wo, want) = reference(input, w, g).expect("case has an output");
    let want: Vec<i32> = want.iter().map(|&v| i32::try_from(v).expect("reference fits i32")).collect();
    let got = qconv(input, w, g);
    assert_eq!((got.h(), got.w(), got.c()), (ho, wo, w.layout.cout), "{what}: shape");
    assert!(got.data == want, "{what}: auto result differs from the reference");
    let max_w = i64::from(w.layout.bits.min_value().unsigned_abs());
    let fits = (g.kh * g.kw * input.c()) as i64 * i64::from(input.bits().max_code()) * max_w <= i64::from(i32::MAX);
    for isa in levels() {
        for method in [Method::BitPlane, Method::Unpacked] {
            if method == Method::Unpacked && !fits {
                continue;
            }
            let got = qconv_with(input, w, g, Some(method), isa);
            assert!(got.data == want, "{what}: {method:?} on {isa:?} differs from the reference");
        }
    }
}

fn random_codes(rng: &mut ChaCha8Rng, n: usize, bits: ActBits) -> Vec<u8> {
    (0..n).map(|_| rng.gen_range(0..=bits.max_code()) as u8).collect()
}

fn random_weights(rng: &mut ChaCha8Rng, n: usize, bits: WeightBits) -> Vec<i8> {
    (0..n)
        .map(|_| {
            if bits.is_binary() {
                [-1, 1][rng.gen_range(0..2)]
            } else {
                rng.gen_range(bits.min_value()..=bits.max_value()) as i8
            }
        })
        .collect()
}

/// A random valid geometry with a non-empty output for an `h × w` input.
fn random_geom(rng: &mut ChaCha8Rng, h: usize, w: usize) -> ConvGeom {
    loop {
        let g = if rng.gen_bool(0.25) {
            let (k, stride, pad) = match rng.gen_range(0..4) {
                0 => (4, 2, 1),
                1 => (3, 2, 1),
                2 => (2, 2, 0),
                _ => {
                    let k = rng.gen_range(1..=7);
                    (k, rng.gen_range(1..=2), rng.gen_range(0..k))
                }
            };
            let kw = if rng.gen_bool(0.8) { k } else { rng.gen_range(1..=7) };
            let pad = pad.min(k.max(kw) - 1);
            ConvGeom { kh: k, kw, stride, pad, upsample: 1, transposed: true }
        } else {
            let kh = rng.gen_range(1..=7);
            let kw = if rng.gen_bool(0.5) { kh } else { rng.gen_range(1..=7) };
            let pad = rng.gen_range(0..kh.max(kw));
            let upsample = if rng.gen_bool(0.3) { 2 } else { 1 };
            ConvGeom { kh, kw, stride: rng.gen_range(1..=2), pad, upsample, transposed: false }
        };
        if g.check().is_ok() && g.out_shape(h, w).is_some() {
            return g;
        }
    }
}

#[test]
fn random_layers_match_the_reference_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x9c017);
    let mut seen = std::collections::HashSet::new();
    for case in 0..240 {
        let (h, w) = (rng.gen_range(1..=13), rng.gen_range(1..=13));
        let abits = ActBits::new(1 + case % 8).unwrap();
        let wbits = WeightBits::new(1 + (case / 8) % 8).unwrap();
        let g = random_geom(&mut rng, h, w);
        let mut cin = if rng.gen_bool(0.15) { rng.gen_range(129..=150) } else { rng.gen_range(1..=150) };
        let mut cout = rng.gen_range(1..=20);
        let (ho, wo) = g.out_shape(h, w).unwrap();
        // Keep the naive reference affordable.
        while ho * wo * cout * g.kh * g.kw * cin > 3_000_000 && cout > 1 {
            cout = cout.div_ceil(2);
        }
        while ho * wo * cout * g.kh * g.kw * cin > 3_000_000 {
            cin = cin.div_ceil(2);
        }
        let input = QTensor::from_codes(h, w, cin, abits, &random_codes(&mut rng, h * w * cin, abits));
        let wts = QWeights::from_ints(
            cout,
            g.kh,
            g.kw,
            cin,
            wbits,
            &random_weights(&mut rng, cout * g.kh * g.kw * cin, wbits),
        );
        check_case(&input, &wts, &g, &format!("case {case}: {h}x{w}x{cin} A{abits} -> {cout} W{wbits} {g:?}"));
        seen.insert((g.transposed, g.upsample, g.stride, cin > 128, cin % 64 != 0));
    }
    // The sample did cover the kinds of layer it is meant to.
    for kind in
        [(true, 1, 2, false, true), (false, 2, 1, false, true), (false, 1, 2, true, true), (false, 1, 1, false, true)]
    {
        assert!(seen.contains(&kind), "no random case of kind {kind:?}");
    }
}

#[test]
fn network_sized_layers_match_the_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cases = [
        (9, 11, 256, ActBits::B2, 68, WeightBits::BINARY, ConvGeom::square(3, 1, 1)),
        (5, 6, 300, ActBits::B2, 9, WeightBits::BINARY, ConvGeom { upsample: 2, ..ConvGeom::square(3, 1, 1) }),
        (12, 14, 24, ActBits::B8, 64, WeightBits::B8, ConvGeom::square(3, 1, 1)),
        (11, 13, 6, ActBits::B8, 16, WeightBits::B8, ConvGeom::square(7, 2, 3)),
        (6, 5, 130, ActBits::new(4).unwrap(), 33, WeightBits::new(4).unwrap(), ConvGeom::square(5, 2, 2)),
        (
            4,
            5,
            200,
            ActBits::new(4).unwrap(),
            18,
            WeightBits::new(4).unwrap(),
            ConvGeom { transposed: true, ..ConvGeom::square(4, 2, 1) },
        ),
        (7, 7, 224, ActBits::B2, 2, WeightBits::B8, ConvGeom::square(3, 1, 1)),
    ];
    for (h, w, cin, a, cout, wb, g) in cases {
        let input = QTensor::from_codes(h, w, cin, a, &random_codes(&mut rng, h * w * cin, a));
        let wts =
            QWeights::from_ints(cout, g.kh, g.kw, cin, wb, &random_weights(&mut rng, cout * g.kh * g.kw * cin, wb));
        check_case(&input, &wts, &g, &format!("{h}x{w}x{cin} A{a} -> {cout} W{wb} {g:?}"));
    }
}

/// Constant input codes and weights over every width pair, with a closed form
/// for the pixel whose receptive field is entirely inside the input.
#[test]
fn extreme_codes_and_weights_match_the_reference_and_the_closed_form() {
    let g = ConvGeom::square(3, 1, 1);
    let (h, w, cin, cout) = (5, 7, 150, 5);
    for a in 1..=8 {
        let ab = ActBits::new(a).unwrap();
        for wb in 1..=8 {
            let wb = WeightBits::new(wb).unwrap();
            for (code, wv) in [(0, wb.max_value()), (ab.max_code(), wb.min_value()), (ab.max_code(), wb.max_value())] {
                let input = QTensor::from_codes(h, w, cin, ab, &vec![code as u8; h * w * cin]);
                let wts = QWeights::from_ints(cout, 3, 3, cin, wb, &vec![wv as i8; cout * 9 * cin]);
                check_case(&input, &wts, &g, &format!("A{a} W{wb} code {code} weight {wv}"));
                let got = qconv(&input, &wts, &g);
                let interior = 9 * cin as i32 * code as i32 * wv;
                assert_eq!(got.get(2, 3, cout - 1), interior, "A{a} W{wb} code {code} weight {wv}");
                assert_eq!(got.get(0, 0, 0), 4 * cin as i32 * code as i32 * wv, "corner");
            }
        }
    }
}

#[test]
fn transposed_phases_without_taps_give_zero() {
    // A 1×1 stride-2 transposed convolution only writes the even outputs.
    let g = ConvGeom { transposed: true, ..ConvGeom::square(1, 2, 0) };
    let input = QTensor::from_codes(2, 3, 3, ActBits::B2, &[3; 18]);
    let wts = QWeights::from_ints(2, 1, 1, 3, WeightBits::BINARY, &[1, 1, 1, -1, -1, -1]);
    let out = qconv(&input, &wts, &g);
    assert_eq!((out.h(), out.w()), (3, 5));
    assert_eq!(out.get(0, 0, 0), 9);
    assert_eq!(out.get(2, 4, 1), -9);
    assert_eq!(out.get(1, 0, 0), 0);
    assert_eq!(out.get(0, 1, 1), 0);
    check_case(&input, &wts, &g, "1x1 transposed");
}

#[test]
#[should_panic(expected = "overflows i32")]
fn accumulator_overflow_is_reported() {
    // 49 taps × 1400 channels × 255 × −128 < i32::MIN.
    let c = 1400;
    let input = QTensor::from_codes(7, 7, c, ActBits::B8, &vec![255; 49 * c]);
    let wts = QWeights::from_ints(1, 7, 7, c, WeightBits::B8, &vec![-128; 49 * c]);
    qconv(&input, &wts, &ConvGeom::square(7, 1, 0));
}

#[test]
#[should_panic(expected = "channels")]
fn channel_mismatch_is_refused() {
    let input = QTensor::zeros(ActLayout::new(3, 3, 10, ActBits::B2).unwrap());
    let wts = QWeights::from_ints(1, 1, 1, 11, WeightBits::BINARY, &[1; 11]);
    qconv(&input, &wts, &ConvGeom::square(1, 1, 0));
}

#[test]
#[should_panic(expected = "bad geometry")]
fn bad_geometry_is_refused() {
    let input = QTensor::zeros(ActLayout::new(3, 3, 4, ActBits::B2).unwrap());
    let wts = QWeights::from_ints(1, 3, 3, 4, WeightBits::BINARY, &[1; 36]);
    qconv(&input, &wts, &ConvGeom::square(3, 3, 1));
}

#[test]
#[should_panic(expected = "leaves no output")]
fn empty_output_is_refused() {
    let input = QTensor::zeros(ActLayout::new(2, 8, 4, ActBits::B2).unwrap());
    let wts = QWeights::from_ints(1, 5, 5, 4, WeightBits::BINARY, &[1; 100]);
    qconv(&input, &wts, &ConvGeom::square(5, 1, 0));
}

/// Checks every code of `threshold`'s output (portable and, where the CPU
/// has it, AVX-512) against `ThresholdMode::apply`.
fn check_threshold(acc: &RawTensor, th: &Thresholds) {
    let out = threshold(acc, th);
    assert_eq!(threshold_with(acc, th, false), out, "portable and detected paths differ");
    assert_eq!((out.h(), out.w(), out.c(), out.bits()), (acc.h(), acc.w(), acc.c(), th.out_bits()));
    for y in 0..acc.h() {
        for x in 0..acc.w() {
            for co in 0..acc.c() {
                let (mode, t) = th.channel(co);
                let want = mode.apply(acc.get(y, x, co), t);
                assert_eq!(u32::from(out.get(y, x, co)), want, "({y},{x},{co}) acc {} {mode:?}", acc.get(y, x, co));
            }
        }
    }
    // Channels past `c` in the last group stay zero.
    let a = th.out_bits().bits();
    let g = out.layout.groups() - 1;
    let used = acc.c() - g * CHANNELS_PER_WORD;
    for p in 0..a {
        let word = out.pixel_words(acc.h() - 1, acc.w() - 1)[g * a + p];
        assert_eq!(word.checked_shr(used as u32).unwrap_or(0), 0, "padding bits set");
    }
}

fn raw(h: usize, w: usize, c: usize, data: Vec<i32>) -> RawTensor {
    let mut r = RawTensor::zeros(h, w, c);
    r.data = data;
    r
}

#[test]
fn threshold_modes_follow_the_isa_definition() {
    let extremes = [i32::MIN, i32::MIN + 1, -1, 0, 1, 5, 6, 7, i32::MAX - 1, i32::MAX];
    let chans = vec![
        (ThresholdMode::Ascending, vec![i32::MIN, 0, i32::MAX]),
        (ThresholdMode::Descending, vec![i32::MAX, 0, i32::MIN]),
        (ThresholdMode::Ascending, vec![5, 5, 7]),
        (ThresholdMode::Descending, vec![7, 5, 5]),
        (ThresholdMode::Constant(2), vec![0, 0, 0]),
        (ThresholdMode::Constant(0), vec![i32::MAX, i32::MAX, i32::MAX]),
    ];
    let th = Thresholds::from_channels(ActBits::B2, &chans);
    let data: Vec<i32> = extremes.iter().flat_map(|&v| [v; 6]).collect();
    let acc = raw(2, 5, 6, data);
    check_threshold(&acc, &th);
    let out = threshold(&acc, &th);
    assert_eq!(out.get(0, 0, 0), 1, "MIN >= MIN only");
    assert_eq!(out.get(1, 4, 0), 3, "MAX passes every threshold");
    assert_eq!(out.get(0, 0, 1), 3, "MIN <= every descending threshold");
    assert_eq!(out.get(1, 4, 1), 1);
    assert_eq!(out.get(0, 3, 4), 2, "constant");
}

#[test]
fn threshold_matches_apply_on_random_tables_and_wide_outputs() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (bits, c) in [(1, 3), (2, 70), (3, 130), (4, 100), (5, 9), (8, 65)] {
        let ab = ActBits::new(bits).unwrap();
        let n = ab.num_thresholds();
        let chans: Vec<(ThresholdMode, Vec<i32>)> = (0..c)
            .map(|co| {
                let mut t: Vec<i32> = (0..n).map(|_| rng.gen_range(-300..300)).collect();
                t.sort();
                match co % 3 {
                    0 => (ThresholdMode::Ascending, t),
                    1 => (ThresholdMode::Descending, t.into_iter().rev().collect()),
                    _ => (ThresholdMode::Constant(rng.gen_range(0..=ab.max_code()) as u8), t),
                }
            })
            .collect();
        let th = Thresholds::from_channels(ab, &chans);
        let (h, w) = (3, 4);
        let acc = raw(h, w, c, (0..h * w * c).map(|_| rng.gen_range(-350..350)).collect());
        check_threshold(&acc, &th);
    }
}

#[test]
fn unsorted_tables_follow_the_definition() {
    // Built by hand: `from_channels` would refuse these.
    let th = Thresholds {
        layout: ThresholdLayout { cout: 2, out_bits: ActBits::B2 },
        data: vec![0, 10, -10, 0, 1, -10, 10, 0],
    };
    let acc = raw(1, 3, 2, vec![-20, -20, 0, 0, 20, 20]);
    check_threshold(&acc, &th);
    assert_eq!(threshold(&acc, &th).get(0, 1, 0), 2);
}

#[test]
#[should_panic(expected = "threshold channels")]
fn threshold_channel_mismatch_is_refused() {
    let th = Thresholds::from_channels(ActBits::B2, &[(ThresholdMode::Ascending, vec![0, 1, 2])]);
    threshold(&RawTensor::zeros(1, 1, 2), &th);
}

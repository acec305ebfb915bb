//! Tests of [`super::execute`] against a naive reference written directly
//! from the descriptor docs (`zynqflow_isa::descriptor`): codes and weights
//! decoded one by one from memory, `Σ code·weight` over the upsampled,
//! padded input, `ThresholdMode::apply`, placement by `out_stride`,
//! `out_off_*` and `ch_off`. Memory is filled with a random sentinel first,
//! and the whole memory image is compared, so words the descriptor does not
//! own must come out untouched.

use super::memory::{BusMemory, SparseMemory};
use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zynqflow_isa::descriptor::{Descriptor, MODE_RAW, MODE_THRESHOLD, OP_CONV};
use zynqflow_isa::{
    validate, ActBits, ArrayConfig, Capabilities, CheckedDescriptor, ErrorCode, ThresholdMode, WeightBits,
    CHANNELS_PER_WORD,
};

/// How operand values are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Values {
    /// Uniform codes and weights.
    Random,
    /// Every code at its maximum, every weight at its most negative value.
    Extreme,
    /// Every code zero.
    Zero,
}

fn u64_at(mem: &impl BusMemory, addr: u64) -> u64 {
    u64::from_le_bytes(mem.read(addr, 8).expect("backed").try_into().unwrap())
}

fn i32_at(mem: &impl BusMemory, addr: u64) -> i32 {
    i32::from_le_bytes(mem.read(addr, 4).expect("backed").try_into().unwrap())
}

/// Code of channel `c` at word index `base` of an `a`-plane tensor.
fn bitplane_value(mem: &impl BusMemory, addr: u64, base: usize, planes: usize, c: usize) -> u8 {
    let (g, i) = (c / CHANNELS_PER_WORD, c % CHANNELS_PER_WORD);
    (0..planes).map(|p| (((u64_at(mem, addr + 8 * (base + g * planes + p) as u64) >> i) & 1) as u8) << p).sum()
}

fn set_word_bits(mem: &mut SparseMemory, addr: u64, f: impl FnOnce(u64) -> u64) {
    let v = f(u64_at(mem, addr));
    assert!(mem.write(addr, &v.to_le_bytes()));
}

/// Writes random operands for `d` (input codes, weights, thresholds) into
/// `mem`. Bits of input channels past `cin` are garbage when `garbage`.
pub(super) fn write_operands(
    mem: &mut SparseMemory,
    d: &Descriptor,
    rng: &mut ChaCha8Rng,
    values: Values,
    garbage: bool,
) {
    let a = ActBits::new(d.a_in).unwrap();
    let wb = WeightBits::new(d.w_bits).unwrap();
    let (g_in, cin, a_n) = ((d.cin as usize).div_ceil(64), d.cin as usize, a.bits());
    // The whole input tensor: `in_c_total` channels, of which the
    // descriptor reads `in_ch_off .. in_ch_off + cin`.
    let (g_tot, c_tot) = ((d.in_c_total as usize).div_ceil(64), d.in_c_total as usize);
    for px in 0..(d.in_h * d.in_w) as usize {
        for g in 0..g_tot {
            let codes: Vec<u32> = (0..64)
                .map(|i| match values {
                    _ if g * 64 + i >= c_tot => 0,
                    Values::Random => rng.gen_range(0..=a.max_code()),
                    Values::Extreme => a.max_code(),
                    Values::Zero => 0,
                })
                .collect();
            for p in 0..a_n {
                let mut w = codes.iter().enumerate().fold(0u64, |w, (i, c)| w | (u64::from((c >> p) & 1) << i));
                if garbage && g == g_tot - 1 && c_tot % 64 != 0 {
                    w |= rng.gen::<u64>() & !((1u64 << (c_tot % 64)) - 1);
                }
                let addr = u64::from(d.in_addr) + 8 * ((px * g_tot + g) * a_n + p) as u64;
                assert!(mem.write(addr, &w.to_le_bytes()));
            }
        }
    }
    // Weights: random words (so padding channels hold garbage), then every
    // real channel's bits set to an encoded value.
    let taps = (d.cout * d.kh * d.kw) as usize;
    let w_n = wb.bits();
    for t in 0..taps * g_in * w_n {
        let v: u64 = rng.gen();
        assert!(mem.write(u64::from(d.w_addr) + 8 * t as u64, &v.to_le_bytes()));
    }
    for t in 0..taps {
        for c in 0..cin {
            let v = match values {
                Values::Extreme => wb.min_value(),
                _ => loop {
                    let v = rng.gen_range(wb.min_value()..=wb.max_value());
                    if wb.contains(v) {
                        break v;
                    }
                },
            };
            let e = wb.encode(v);
            for q in 0..w_n {
                let addr = u64::from(d.w_addr) + 8 * ((t * g_in + c / 64) * w_n + q) as u64;
                let bit = u64::from((e >> q) & 1) << (c % 64);
                set_word_bits(mem, addr, |w| (w & !(1 << (c % 64))) | bit);
            }
        }
    }
    if d.mode == MODE_THRESHOLD {
        let n = (1usize << d.a_out) - 1;
        let span = (f64::from(d.kh * d.kw * d.cin).sqrt() * f64::from(a.max_code()) * f64::from(wb.max_value().max(1)))
            as i32
            + 2;
        for co in 0..d.cout as usize {
            let mut t: Vec<i32> = (0..n)
                .map(|_| match rng.gen_range(0..20) {
                    0 => i32::MIN,
                    1 => i32::MAX,
                    _ => rng.gen_range(-span..=span),
                })
                .collect();
            t.sort();
            let mode = match rng.gen_range(0..10) {
                0..=4 => ThresholdMode::Ascending,
                5..=7 => {
                    t.reverse();
                    ThresholdMode::Descending
                }
                _ => ThresholdMode::Constant(rng.gen()),
            };
            let base = u64::from(d.thr_addr) + 4 * (co * (n + 1)) as u64;
            assert!(mem.write(base, &mode.encode().to_le_bytes()));
            for (i, v) in t.iter().enumerate() {
                assert!(mem.write(base + 4 * (i as u64 + 1), &v.to_le_bytes()));
            }
        }
    }
}

/// The memory image after `d`, computed naively from `before`.
pub(super) fn reference(before: &SparseMemory, d: &Descriptor) -> SparseMemory {
    let mut mem = before.clone();
    let (a_in, wb) = (d.a_in as usize, WeightBits::new(d.w_bits).unwrap());
    let (g_in, cin, up) = ((d.cin as usize).div_ceil(64), d.cin as usize, d.upsample as i64);
    let g_tot = (d.in_c_total as usize).div_ceil(64);
    let code = |y: usize, x: usize, c: usize| {
        let px = (y * d.in_w as usize + x) * g_tot * a_in;
        bitplane_value(before, u64::from(d.in_addr), px, a_in, d.in_ch_off as usize + c)
    };
    let weight = |co: usize, ky: usize, kx: usize, c: usize| {
        let t = (co * d.kh as usize + ky) * d.kw as usize + kx;
        wb.decode(bitplane_value(before, u64::from(d.w_addr), t * g_in * wb.bits(), wb.bits(), c))
    };
    let codes: Vec<u8> = (0..(d.in_h * d.in_w) as usize * cin)
        .map(|i| code(i / cin / d.in_w as usize, i / cin % d.in_w as usize, i % cin))
        .collect();
    let taps = (d.kh * d.kw) as usize;
    let weights: Vec<i32> = (0..d.cout as usize * taps * cin)
        .map(|i| {
            let (co, t, c) = (i / (taps * cin), i / cin % taps, i % cin);
            weight(co, t / d.kw as usize, t % d.kw as usize, c)
        })
        .collect();
    let groups_out = (d.cout as usize).div_ceil(64);
    for oy in 0..d.out_h as usize {
        for ox in 0..d.out_w as usize {
            let (dy, dx) =
                (oy * d.out_stride as usize + d.out_off_y as usize, ox * d.out_stride as usize + d.out_off_x as usize);
            let dpx = dy * d.dst_w as usize + dx;
            let a_out = d.a_out as usize;
            let dst_wpp = (d.dst_c as usize).div_ceil(64) * a_out;
            let first = u64::from(d.out_addr) + 8 * (dpx * dst_wpp + d.ch_off as usize / 64 * a_out) as u64;
            if d.mode == MODE_THRESHOLD {
                for i in 0..groups_out * a_out {
                    assert!(mem.write(first + 8 * i as u64, &[0; 8]));
                }
            }
            for co in 0..d.cout as usize {
                let mut acc = 0i64;
                for ky in 0..d.kh as usize {
                    let u = (oy * d.stride as usize + ky) as i64 - i64::from(d.pad_top);
                    if u < 0 || u >= i64::from(d.in_h) * up {
                        continue;
                    }
                    for kx in 0..d.kw as usize {
                        let v = (ox * d.stride as usize + kx) as i64 - i64::from(d.pad_left);
                        if v < 0 || v >= i64::from(d.in_w) * up {
                            continue;
                        }
                        let (iy, ix) = ((u / up) as usize, (v / up) as usize);
                        let cp = &codes[(iy * d.in_w as usize + ix) * cin..][..cin];
                        let wp = &weights[(co * taps + ky * d.kw as usize + kx) * cin..][..cin];
                        acc += cp.iter().zip(wp).map(|(&c, &w)| i64::from(c) * i64::from(w)).sum::<i64>();
                    }
                }
                let acc = i32::try_from(acc).expect("fits the 32-bit accumulator");
                if d.mode == MODE_RAW {
                    let addr = u64::from(d.out_addr) + 4 * (dpx * d.dst_c as usize + d.ch_off as usize + co) as u64;
                    assert!(mem.write(addr, &acc.to_le_bytes()));
                } else {
                    let n = (1usize << a_out) - 1;
                    let rec = u64::from(d.thr_addr) + 4 * (co * (n + 1)) as u64;
                    let th: Vec<i32> = (0..n).map(|i| i32_at(before, rec + 4 * (i as u64 + 1))).collect();
                    let c = ThresholdMode::decode(i32_at(before, rec)).map_or(0, |m| m.apply(acc, &th));
                    for p in 0..a_out {
                        let addr = first + 8 * ((co / 64) * a_out + p) as u64;
                        set_word_bits(&mut mem, addr, |w| w | (u64::from((c >> p) & 1) << (co % 64)));
                    }
                }
            }
        }
    }
    mem
}

/// Base of the test memory region.
pub(super) const BASE: u64 = 0x2000_0000;

/// Lays `d`'s tensors out from `BASE` (aligned, with random gaps), fills a
/// region with a random sentinel and writes the operands.
pub(super) fn setup(
    d: &mut Descriptor,
    rng: &mut ChaCha8Rng,
    values: Values,
    garbage: bool,
) -> (SparseMemory, CheckedDescriptor) {
    // The model computes any layer; the on-chip buffer limits (BufferTooSmall)
    // are the hardware's and have their own tests in isa.
    let caps = Capabilities { weight_buf_kib: u16::MAX, act_buf_kib: u16::MAX, ..ArrayConfig::small().capabilities() };
    let mut addr = BASE;
    let mut place = |bytes: usize, rng: &mut ChaCha8Rng| {
        let a = addr + 64 * rng.gen_range(0..3);
        addr = (a + bytes as u64).div_ceil(64) * 64;
        a as u32
    };
    let g_in = d.cin.div_ceil(64) as usize;
    let sizes = [
        (d.in_h * d.in_w) as usize * d.in_c_total.div_ceil(64) as usize * d.a_in as usize * 8,
        (d.cout * d.kh * d.kw) as usize * g_in * d.w_bits as usize * 8,
        d.cout as usize * (1usize << d.a_out) * 4,
        (d.dst_h * d.dst_w) as usize
            * if d.mode == MODE_RAW {
                d.dst_c as usize * 4
            } else {
                d.dst_c.div_ceil(64) as usize * d.a_out as usize * 8
            },
    ];
    d.in_addr = place(sizes[0], rng);
    d.w_addr = place(sizes[1], rng);
    if d.mode != MODE_RAW {
        d.thr_addr = place(sizes[2], rng);
    }
    d.out_addr = place(sizes[3], rng);
    let len = (addr - BASE) as usize + 64 * rng.gen_range(0..3);
    let mut mem = SparseMemory::new();
    mem.add_region(BASE, (0..len).map(|_| rng.gen()).collect()).unwrap();
    write_operands(&mut mem, d, rng, values, garbage);
    let checked = validate(d, &caps, &(BASE..BASE + len as u64)).expect("valid placed descriptor");
    (mem, checked)
}

/// A random descriptor with the given widths and mode.
pub(super) fn random_descriptor(rng: &mut ChaCha8Rng, a_in: u32, w_bits: u32, a_out: u32, raw: bool) -> Descriptor {
    let (kh, kw) = (rng.gen_range(1..=7), rng.gen_range(1..=7));
    let (stride, upsample) = (rng.gen_range(1..=2), rng.gen_range(1..=2));
    let (pad_top, pad_left) = (rng.gen_range(0..kh), rng.gen_range(0..kw));
    let (in_h, in_w) = (rng.gen_range(1..=9), rng.gen_range(1..=9));
    let natural = |n: u32, k: u32, pad: u32| ((n * upsample + 2 * pad).saturating_sub(k) / stride + 1) as i32;
    let out_h = (natural(in_h, kh, pad_top) + rng.gen_range(-2..=2)).max(1) as u32;
    let out_w = (natural(in_w, kw, pad_left) + rng.gen_range(-2..=2)).max(1) as u32;
    let cin = *[1, 3, 63, 64, 65, 100, 128, 150, 200].get(rng.gen_range(0..9)).unwrap();
    let cout = *[1, 2, 7, 8, 9, 63, 64, 65, 100, 130].get(rng.gen_range(0..10)).unwrap();
    let out_stride = rng.gen_range(1..=2);
    let (out_off_y, out_off_x) = (rng.gen_range(0..out_stride), rng.gen_range(0..out_stride));
    let dst_h = (out_h - 1) * out_stride + out_off_y + 1 + rng.gen_range(0..=2);
    let dst_w = (out_w - 1) * out_stride + out_off_x + 1 + rng.gen_range(0..=2);
    let ch_off = if raw { rng.gen_range(0..=40) } else { 64 * rng.gen_range(0..=2) };
    let dst_c = ch_off + cout + rng.gen_range(0..=70);
    let in_ch_off = 64 * rng.gen_range(0..=1);
    let mut d = Descriptor {
        opcode: OP_CONV,
        mode: if raw { MODE_RAW } else { MODE_THRESHOLD },
        a_in,
        w_bits,
        a_out: if raw { 0 } else { a_out },
        in_h,
        in_w,
        cin,
        cout,
        out_h,
        out_w,
        kh,
        kw,
        stride,
        upsample,
        pad_top,
        pad_left,
        dst_h,
        dst_w,
        dst_c,
        ch_off,
        out_stride,
        out_off_y,
        out_off_x,
        in_ch_off,
        ..Default::default()
    };
    // Keep the naive reference quick.
    while u64::from(d.out_h * d.out_w * d.kh * d.kw) * u64::from(d.cin * d.cout) > 1_500_000 && d.cin > 1 {
        d.cin = d.cin.div_ceil(2);
    }
    d.in_c_total = in_ch_off + d.cin + *[0, 0, 1, 30, 64, 70].get(rng.gen_range(0..6)).unwrap();
    d
}

/// Runs `d` through the model and the reference and compares whole images.
fn check(mut d: Descriptor, rng: &mut ChaCha8Rng, values: Values, garbage: bool) {
    let (mut mem, checked) = setup(&mut d, rng, values, garbage);
    let want = reference(&mem, &d);
    assert_eq!(execute(&mut mem, &checked), Ok(checked.macs()));
    let (got, exp) = (mem.region(0).unwrap().1, want.region(0).unwrap().1);
    if let Some(i) = (0..got.len()).find(|&i| got[i] != exp[i]) {
        let out = (u64::from(d.out_addr) - BASE) as usize;
        panic!("{values:?} garbage {garbage}: first difference at byte {i} (destination starts at {out}): {d:?}");
    }
}

#[test]
fn random_descriptors_match_the_naive_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0001);
    for i in 0..256u32 {
        let (a_in, w_bits, a_out) = (1 + i % 8, 1 + (i / 8) % 8, 1 + (i + i / 64) % 8);
        // Raw mode for one pass over every (a_in, w_bits) pair.
        let raw = i / 64 == 1;
        let values = match i % 16 {
            5 => Values::Extreme,
            11 => Values::Zero,
            _ => Values::Random,
        };
        let d = random_descriptor(&mut rng, a_in, w_bits, a_out, raw);
        check(d, &mut rng, values, i % 3 == 0);
    }
}

#[test]
fn extreme_accumulators_near_the_i32_limit_are_exact() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (a_in, w_bits) in [(8, 8), (8, 7), (7, 8), (8, 1), (1, 8), (4, 4), (2, 1)] {
        let a = ActBits::new(a_in).unwrap();
        let wb = WeightBits::new(w_bits).unwrap();
        let per_c = 49 * u64::from(a.max_code()) * u64::from(wb.min_value().unsigned_abs());
        let cin = (((1u64 << 31) - 1) / per_c).min(4096) as u32;
        for raw in [true, false] {
            let d = Descriptor {
                opcode: OP_CONV,
                mode: if raw { MODE_RAW } else { MODE_THRESHOLD },
                a_in,
                w_bits,
                a_out: if raw { 0 } else { 3 },
                in_h: 7,
                in_w: 8,
                cin,
                cout: 3,
                out_h: 1,
                out_w: 2,
                kh: 7,
                kw: 7,
                stride: 1,
                upsample: 1,
                dst_h: 1,
                dst_w: 2,
                dst_c: 3,
                out_stride: 1,
                in_c_total: cin,
                ..Default::default()
            };
            check(d, &mut rng, Values::Extreme, false);
        }
    }
}

#[test]
fn an_undecodable_threshold_mode_stops_before_writing() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut d = random_descriptor(&mut rng, 2, 1, 2, false);
    let (mut mem, checked) = setup(&mut d, &mut rng, Values::Random, false);
    // Channel 0: mode word 3 (no such mode).
    assert!(mem.write(u64::from(d.thr_addr), &3i32.to_le_bytes()));
    let before = mem.clone();
    assert_eq!(execute(&mut mem, &checked), Err(ErrorCode::BadThresholds));
    assert_eq!(mem, before);
}

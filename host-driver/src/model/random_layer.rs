//! Seeded random descriptors with their memory images: the cases of the
//! differential tests of the accelerator's RTL against this model — the
//! whole accelerator in rust-hdl's simulator (`hdl/tests/top_bench`) and its
//! Verilog under Verilator (`sim/tests/common`, `make fuzz-rtl`). One
//! generator, so that a new descriptor field is drawn by both benches at once.
//!
//! Geometry, bit widths and modes are drawn over the range the ISA allows,
//! within a [`Profile`] that keeps sizes small enough for the simulator at
//! hand. The image holds the descriptor at offset 0, then its input,
//! weights, thresholds (sorted, random modes) and output, each 64-byte
//! aligned with random gaps, everything else random bytes (so reads past a
//! tensor or of masked channels show up as differences).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use zynqflow_isa::descriptor::{Descriptor, MODE_RAW, MODE_THRESHOLD, OP_CONV};
use zynqflow_isa::{validate, Capabilities, ThresholdMode, PACK_LANES};

/// What a bench can afford and wants to stress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Widest activation and weight codes drawn (1..=8).
    pub max_bits: u32,
    /// Largest input height and width.
    pub max_in: (u32, u32),
    /// Largest channel count past the first group (`65..=max_cin`) and
    /// largest `cout` of an ordinary layer.
    pub max_cin: u32,
    /// Largest output channels of an ordinary layer.
    pub max_cout: u32,
    /// The array's rows: copies (`copies_log2`) must fit them.
    pub rows: u32,
    /// Also draw layers with many output channels (several runs of passes),
    /// kernels up to 7 × 7, spare destination groups, an input slice past
    /// the first group, and now and then a field out of range.
    pub stress: bool,
    /// One layer in `pack_one_in` packs its taps (`pack_taps`), and one in
    /// `pack_one_in` of the others is a 1 × 1 kernel with packed planes
    /// (`pack_planes`).
    pub pack_one_in: u32,
}

impl Profile {
    /// The whole accelerator in rust-hdl's simulator (`small`): narrow codes,
    /// small images, always valid.
    pub const RUST_HDL: Profile =
        Profile { max_bits: 3, max_in: (4, 5), max_cin: 100, max_cout: 12, rows: 8, stress: false, pack_one_in: 6 };
    /// The Verilator RTL (`small`): every width, several runs, invalid fields.
    pub const VERILATOR: Profile =
        Profile { max_bits: 8, max_in: (6, 8), max_cin: 140, max_cout: 20, rows: 8, stress: true, pack_one_in: 8 };
}

/// A random layer at bus address `base`: its memory image and descriptor.
/// With [`Profile::stress`], about one layer in ten is deliberately invalid
/// (a field out of range or misplaced) and kept now and then, to check the
/// error path; otherwise layers that `validate` refuses are drawn again.
pub fn layer(rng: &mut ChaCha8Rng, base: u64, caps: &Capabilities, p: &Profile) -> (Vec<u8>, Descriptor) {
    loop {
        let (mem, d) = draw(rng, base, p);
        let window = base..base + mem.len() as u64;
        let valid = validate(&d, caps, &window).is_ok();
        if valid || (p.stress && rng.gen_ratio(1, 4)) {
            return (mem, d);
        }
    }
}

/// One draw (valid or not) and its image.
pub fn draw(rng: &mut ChaCha8Rng, base: u64, p: &Profile) -> (Vec<u8>, Descriptor) {
    let raw = rng.gen_bool(0.25);
    let a_in = if rng.gen_bool(0.5) { rng.gen_range(1..=2) } else { rng.gen_range(1..=p.max_bits) };
    let w_bits = if rng.gen_bool(0.5) { 1 } else { rng.gen_range(2..=p.max_bits.max(2)) };
    let a_out = if raw {
        0
    } else if rng.gen_bool(0.5) {
        2
    } else {
        rng.gen_range(1..=p.max_bits)
    };
    // Many output channels on a small image: several runs of passes,
    // limited by the weight banks or the threshold records (the command
    // processor's group size), with a partial last run.
    let many = p.stress && rng.gen_bool(0.125);
    let big_k = p.stress && !many && rng.gen_bool(0.15);
    // Packed taps: a 2×2 kernel over at most 16 channels (the upsampled flows).
    let pack = !many && !big_k && rng.gen_bool(1.0 / f64::from(p.pack_one_in));
    // Packed planes: a 1×1 kernel whose last group takes the packed plane
    // pairs only (the first layer); the arithmetic is defined for any words.
    let planes = !pack && !many && rng.gen_bool(1.0 / f64::from(p.pack_one_in));
    // Mostly widths that skip steps (codes and weights of 2 bits or more).
    let (a_in, w_bits) = if planes && rng.gen_bool(0.8) {
        (rng.gen_range(2..=p.max_bits.max(2)), rng.gen_range(2..=p.max_bits.max(2)))
    } else {
        (a_in, w_bits)
    };
    let (kh, kw) = if pack {
        (2, 2)
    } else if planes {
        (1, 1)
    } else if big_k {
        (rng.gen_range(1..=7), rng.gen_range(1..=7))
    } else {
        (rng.gen_range(1..=3), rng.gen_range(1..=3))
    };
    let (stride, upsample) = (rng.gen_range(1..=2), rng.gen_range(1..=2));
    let (in_h, in_w): (u32, u32) = if many {
        (rng.gen_range(1..=3), rng.gen_range(1..=4))
    } else {
        (rng.gen_range(1..=p.max_in.0), rng.gen_range(1..=p.max_in.1))
    };
    let cin: u32 = if pack {
        rng.gen_range(1..=PACK_LANES as u32)
    } else if rng.gen_bool(0.2) {
        rng.gen_range(65..=p.max_cin)
    } else {
        rng.gen_range(1..=64)
    };
    let in_c_total = cin.div_ceil(64) * 64 + if rng.gen_bool(0.3) { 64 } else { 0 };
    // Now and then a threshold layer writes its codes 2, 4 or 8 times
    // (`copies_log2`), with `cout << copies_log2` within the rows.
    let copies_log2: u32 = if !raw && !many && rng.gen_bool(0.2) { rng.gen_range(1..=3) } else { 0 };
    let cout: u32 = if many {
        rng.gen_range(100..=260)
    } else if copies_log2 > 0 {
        rng.gen_range(1..=(p.rows >> copies_log2).max(1))
    } else {
        rng.gen_range(1..=p.max_cout)
    };
    let (pad_top, pad_left) = (rng.gen_range(0..kh), rng.gen_range(0..kw));
    let out_h = (in_h * upsample + 2 * pad_top).saturating_sub(kh) / stride + 1;
    let out_w = (in_w * upsample + 2 * pad_left).saturating_sub(kw) / stride + 1;
    let out_stride = rng.gen_range(1..=2);
    let (off_y, off_x) = (rng.gen_range(0..out_stride), rng.gen_range(0..out_stride));
    let (dst_c, ch_off) = if raw {
        let dst_c = cout + rng.gen_range(0..3);
        (dst_c, rng.gen_range(0..=dst_c - cout))
    } else {
        // A spare group after the written ones, now and then written past.
        let spare = p.stress && rng.gen_bool(0.2);
        let dst_c = (cout << copies_log2).div_ceil(64) * 64 + if spare { 64 } else { 0 };
        (dst_c, if spare && rng.gen_bool(0.5) { 64 } else { 0 })
    };
    let mut d = Descriptor {
        opcode: OP_CONV,
        mode: if raw { MODE_RAW } else { MODE_THRESHOLD },
        a_in,
        w_bits,
        a_out,
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
        dst_h: out_h * out_stride + rng.gen_range(0..2),
        dst_w: out_w * out_stride + rng.gen_range(0..2),
        dst_c,
        ch_off,
        out_stride,
        out_off_y: off_y,
        out_off_x: off_x,
        copies_log2,
        pack_taps: u32::from(pack),
        pack_planes: u32::from(planes),
        in_c_total,
        in_ch_off: if in_c_total > cin.div_ceil(64) * 64 && rng.gen_bool(0.5) { 64 } else { 0 },
        ..Default::default()
    };
    if d.in_ch_off + d.cin > d.in_c_total {
        d.in_ch_off = 0;
    }
    // Now and then one field goes wrong (validate decides whether it is).
    if p.stress && rng.gen_ratio(1, 10) {
        match rng.gen_range(0..6) {
            0 => d.pad_top = kh,
            1 => d.out_h += 1,
            2 => d.kh = 0,
            3 => d.a_in = 9,
            4 => d.pack_planes = 1,
            _ => d.ch_off += 8,
        }
    }
    let mem = image(rng, base, &mut d);
    (mem, d)
}

/// The memory image of descriptor `d` at bus address `base` (module docs);
/// sets `d`'s addresses. Thresholds are sorted (descending for a descending
/// record) and spread over the accumulator's reachable range.
pub fn image(rng: &mut ChaCha8Rng, base: u64, d: &mut Descriptor) -> Vec<u8> {
    let raw = d.mode == MODE_RAW;
    let (a_in, w_bits, a_out, kh, kw, cin, cout) = (d.a_in, d.w_bits, d.a_out, d.kh, d.kw, d.cin, d.cout);
    let (in_h, in_w, in_c_total, dst_c) = (d.in_h, d.in_w, d.in_c_total, d.dst_c);
    let g_in = u64::from(cin.div_ceil(64));
    let sizes = [
        u64::from(in_h * in_w) * u64::from(in_c_total.div_ceil(64)) * u64::from(a_in) * 8,
        u64::from(cout * d.array_taps()) * g_in * u64::from(w_bits) * 8,
        if raw { 0 } else { u64::from(cout) * (1u64 << a_out) * 4 },
        u64::from(d.dst_h * d.dst_w)
            * if raw { u64::from(dst_c) * 4 } else { u64::from(dst_c.div_ceil(64) * a_out) * 8 },
    ];
    let mut addr = base + 64; // the command list
    let mut place = |bytes: u64, rng: &mut ChaCha8Rng| {
        let a = addr + 64 * rng.gen_range(0..2);
        addr = (a + bytes).div_ceil(64) * 64;
        a as u32
    };
    d.in_addr = place(sizes[0], rng);
    d.w_addr = place(sizes[1], rng);
    if !raw {
        d.thr_addr = place(sizes[2], rng);
    }
    d.out_addr = place(sizes[3], rng);
    let len = ((addr - base) as usize + 64).min(ARENA);
    let mut mem: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    if let Ok(bytes) = d.to_bytes() {
        mem[..64].copy_from_slice(&bytes);
    }
    if !raw && a_out <= 8 {
        let n = 1usize << a_out;
        let span = (kh * kw * cin) as i32 * ((1 << a_in.min(8)) - 1) * (1 << (w_bits.clamp(2, 8) - 1));
        for co in 0..cout as usize {
            let rec = (u64::from(d.thr_addr) - base) as usize + co * n * 4;
            if rec + 4 * n > mem.len() {
                break;
            }
            let mode = match rng.gen_range(0..6) {
                0 => ThresholdMode::Descending,
                1 => ThresholdMode::Constant(rng.gen_range(0..=255)),
                _ => ThresholdMode::Ascending,
            };
            mem[rec..rec + 4].copy_from_slice(&mode.encode().to_le_bytes());
            let mut t: Vec<i32> = (1..n).map(|_| rng.gen_range(-span..=span)).collect();
            t.sort();
            if mode == ThresholdMode::Descending {
                t.reverse();
            }
            for (i, v) in t.iter().enumerate() {
                mem[rec + 4 * (i + 1)..rec + 4 * (i + 2)].copy_from_slice(&v.to_le_bytes());
            }
        }
    }
    mem
}

/// Largest image of a layer (a draw past it is cut: its tensors then
/// reach outside the window, which `validate` refuses).
pub const ARENA: usize = 1 << 20;

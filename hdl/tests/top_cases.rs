//! The whole accelerator on the cases random single layers rarely reach, in
//! rust-hdl's simulator against the functional model (every byte of memory
//! and the status registers): a list of dependent layers (each reads what the
//! previous wrote; 70 output channels in 9 passes), 8-bit codes × 8-bit
//! weights at their extremes over several passes, and every way a list
//! stops — a bad descriptor in the middle, a bad threshold record, list
//! errors — followed by a run that succeeds on the same device.
mod common;
mod top_bench;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use top_bench::*;
use zynqflow_driver::model::{BusMemory, Device, SparseMemory};
use zynqflow_isa::descriptor::{Descriptor, MODE_RAW, MODE_THRESHOLD, OP_CONV};
use zynqflow_isa::regs::*;
use zynqflow_isa::{ArrayConfig, ErrorCode, ThresholdMode};

/// How a layer's operands are filled.
#[derive(Clone, Copy, PartialEq)]
enum Fill {
    Random,
    /// Every code at its maximum, every weight at its most negative value.
    MaxCodesMinWeights,
}

/// Places `d`'s tensors from `*addr` (64-aligned, random gaps), grows `mem`
/// with random bytes to cover them, and writes operands and valid threshold
/// records (thresholds include `i32::MIN` and `i32::MAX`).
fn place(rng: &mut ChaCha8Rng, d: &mut Descriptor, mem: &mut Vec<u8>, addr: &mut u64, fill: Fill, input: Option<u32>) {
    let raw = d.mode == MODE_RAW;
    let sizes = [
        u64::from(d.in_h * d.in_w) * u64::from(d.in_c_total.div_ceil(64)) * u64::from(d.a_in) * 8,
        u64::from(d.cout * d.kh * d.kw) * u64::from(d.cin.div_ceil(64)) * u64::from(d.w_bits) * 8,
        if raw { 0 } else { u64::from(d.cout) * (1u64 << d.a_out) * 4 },
        u64::from(d.dst_h * d.dst_w)
            * if raw { u64::from(d.dst_c) * 4 } else { u64::from(d.dst_c.div_ceil(64) * d.a_out) * 8 },
    ];
    let mut at = |bytes: u64, rng: &mut ChaCha8Rng| {
        let a = *addr + 64 * rng.gen_range(0..2);
        *addr = (a + bytes).div_ceil(64) * 64;
        a as u32
    };
    d.in_addr = match input {
        Some(a) => a,
        None => at(sizes[0], rng),
    };
    d.w_addr = at(sizes[1], rng);
    d.thr_addr = if raw { 0 } else { at(sizes[2], rng) };
    d.out_addr = at(sizes[3], rng);
    let end = (*addr - BASE) as usize + 64;
    if mem.len() < end {
        let old = mem.len();
        mem.resize(end, 0);
        rng.fill(&mut mem[old..]);
    }
    let off = |a: u32| (u64::from(a) - BASE) as usize;
    if fill == Fill::MaxCodesMinWeights {
        if input.is_none() {
            mem[off(d.in_addr)..off(d.in_addr) + sizes[0] as usize].fill(0xff);
        }
        // Signed weights at their most negative value (the sign plane set, the
        // others clear); binary weights all +1 (every bit set).
        let w = d.w_bits as usize;
        for (i, b) in mem[off(d.w_addr)..off(d.w_addr) + sizes[1] as usize].iter_mut().enumerate() {
            *b = if w == 1 || (i / 8) % w == w - 1 { 0xff } else { 0 };
        }
    }
    if !raw {
        let n = 1usize << d.a_out;
        for co in 0..d.cout as usize {
            let rec = off(d.thr_addr) + co * n * 4;
            let mode = match rng.gen_range(0..5) {
                0 => ThresholdMode::Descending,
                1 => ThresholdMode::Constant(rng.gen_range(0..=255)),
                _ => ThresholdMode::Ascending,
            };
            mem[rec..rec + 4].copy_from_slice(&mode.encode().to_le_bytes());
            let mut t: Vec<i32> = (1..n)
                .map(|_| match rng.gen_range(0..5) {
                    0 => i32::MIN,
                    1 => i32::MAX,
                    _ => rng.gen_range(-3_000_000..=3_000_000),
                })
                .collect();
            t.sort();
            for (i, v) in t.iter().enumerate() {
                mem[rec + 4 * (i + 1)..rec + 4 * (i + 2)].copy_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// A convolution with "same"-style geometry over an `h × w × cin` input.
// Every argument is a field the cases vary; a struct would restate Descriptor.
#[allow(clippy::too_many_arguments)]
fn conv(h: u32, w: u32, cin: u32, cout: u32, k: u32, a_in: u32, w_bits: u32, a_out: u32) -> Descriptor {
    let raw = a_out == 0;
    Descriptor {
        opcode: OP_CONV,
        mode: if raw { MODE_RAW } else { MODE_THRESHOLD },
        a_in,
        w_bits,
        a_out,
        in_h: h,
        in_w: w,
        cin,
        cout,
        out_h: h,
        out_w: w,
        kh: k,
        kw: k,
        stride: 1,
        upsample: 1,
        pad_top: k / 2,
        pad_left: k / 2,
        dst_h: h,
        dst_w: w,
        dst_c: if raw { cout } else { cout.div_ceil(64) * 64 },
        ch_off: 0,
        out_stride: 1,
        in_c_total: cin.div_ceil(64) * 64,
        ..Default::default()
    }
}

/// The model's run of `mem` with the list at `cmd`.
fn model_at(mem: &[u8], cmd: u32, count: u32, win: (u32, u32)) -> (Vec<u8>, [u64; 5]) {
    let mut m = SparseMemory::new();
    m.add_region(BASE, mem.to_vec()).unwrap();
    let mut dev = Device::new(ArrayConfig::small().capabilities(), m);
    dev.write_reg(WIN_BASE, win.0);
    dev.write_reg(WIN_SIZE, win.1);
    dev.write_reg(CMD_BASE, cmd);
    dev.write_reg(CMD_COUNT, count);
    dev.write_reg(CTRL, CTRL_START);
    let regs = [
        u64::from(dev.read_reg(STATUS)),
        u64::from(dev.read_reg(ERROR_CODE)),
        u64::from(dev.read_reg(ERROR_INDEX)),
        u64::from(dev.read_reg(CMDS_DONE)),
        dev.perf_macs(),
    ];
    (dev.memory().read(BASE, mem.len()).unwrap().to_vec(), regs)
}

/// Writes the list (descriptors as given) at `BASE` into `mem`.
fn write_list(mem: &mut [u8], list: &[[u32; 16]]) {
    for (i, words) in list.iter().enumerate() {
        for (j, w) in words.iter().enumerate() {
            mem[i * 64 + j * 4..i * 64 + j * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
}

/// Runs the list on the RTL (on `b`) and the model; asserts they agree.
fn agree(b: &mut Bench, what: &str, cmd: u32, count: u32, win: (u32, u32)) -> [u64; 6] {
    let (want, regs) = model_at(&b.mem, cmd, count, win);
    let got = b.run(cmd, count, win, 3_000_000);
    assert_eq!(&got[..5], &regs[..], "{what}: registers (STATUS, CODE, INDEX, DONE, MACS)");
    if let Some(i) = (0..want.len()).find(|&i| want[i] != b.mem[i]) {
        panic!(
            "{what}: memory differs first at {:#x} (model {:#04x}, RTL {:#04x})",
            BASE + i as u64,
            want[i],
            b.mem[i]
        );
    }
    eprintln!("{what}: {} cycles", got[5]);
    got
}

/// Three layers, each reading the previous one's output in place: threshold
/// 3×3, then a 1×1 over it with 70 output channels (two groups, 9 passes),
/// then a raw 3×3 over those.
fn chain(rng: &mut ChaCha8Rng, fill: Fill) -> (Vec<u8>, Vec<Descriptor>) {
    let mut mem = vec![0u8; 4 * 64];
    let mut addr = BASE + 4 * 64;
    let mut l0 = conv(3, 5, 40, 24, 3, 2, 1, 2);
    place(rng, &mut l0, &mut mem, &mut addr, fill, None);
    let mut l1 = conv(3, 5, 24, 70, 1, 2, 3, 3);
    l1.in_c_total = 64;
    place(rng, &mut l1, &mut mem, &mut addr, fill, Some(l0.out_addr));
    let mut l2 = conv(3, 5, 70, 3, 3, 3, 2, 0);
    l2.in_c_total = 128;
    place(rng, &mut l2, &mut mem, &mut addr, fill, Some(l1.out_addr));
    let list: Vec<[u32; 16]> = [l0, l1, l2].iter().map(|d| d.encode().unwrap()).collect();
    write_list(&mut mem, &list);
    (mem, vec![l0, l1, l2])
}

#[test]
fn a_list_of_dependent_layers_matches_the_model() {
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let (mem, _) = chain(&mut rng, Fill::Random);
    let win = (BASE as u32, mem.len() as u32);
    let mut b = Bench::new(mem, 40);
    let got = agree(&mut b, "chain of 3", BASE as u32, 3, win);
    assert_eq!(got[3], 3);
}

#[test]
fn eight_bit_extremes_over_many_passes_match_the_model() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut mem = vec![0u8; 64];
    let mut addr = BASE + 64;
    // 8-bit codes all at 255, 8-bit weights all at −128, 20 outputs (3 passes
    // of 8 rows, the last partial), 65 inputs (2 groups, the last masked to
    // one channel).
    let mut d = conv(2, 2, 65, 20, 3, 8, 8, 8);
    place(&mut rng, &mut d, &mut mem, &mut addr, Fill::MaxCodesMinWeights, None);
    write_list(&mut mem, &[d.encode().unwrap()]);
    let win = (BASE as u32, mem.len() as u32);
    let mut b = Bench::new(mem, 8);
    agree(&mut b, "8x8 bits at the extremes", BASE as u32, 1, win);
    // Binary weights all +1 with 8-bit codes all at 255, raw output.
    let mut mem = vec![0u8; 64];
    let mut addr = BASE + 64;
    let mut d = conv(2, 2, 100, 9, 2, 8, 1, 0);
    d.pad_top = 1;
    place(&mut rng, &mut d, &mut mem, &mut addr, Fill::MaxCodesMinWeights, None);
    write_list(&mut mem, &[d.encode().unwrap()]);
    let win = (BASE as u32, mem.len() as u32);
    let mut b = Bench::new(mem, 8);
    agree(&mut b, "8-bit codes, binary weights, raw", BASE as u32, 1, win);
}

#[test]
fn every_stop_matches_the_model_and_the_next_run_succeeds() {
    let mut rng = ChaCha8Rng::seed_from_u64(43);
    let (mem, layers) = chain(&mut rng, Fill::Random);
    let win = (BASE as u32, mem.len() as u32);
    let good: Vec<[u32; 16]> = layers.iter().map(|d| d.encode().unwrap()).collect();
    let l1 = layers[1];
    let bad_cases: Vec<(&str, [u32; 16], ErrorCode)> = vec![
        ("kernel 0", Descriptor { kh: 0, ..l1 }.encode().unwrap(), ErrorCode::BadKernel),
        (
            "output outside the window",
            Descriptor { out_addr: win.0 + win.1, ..l1 }.encode().unwrap(),
            ErrorCode::OutOfWindow,
        ),
        (
            "weights too big for a row",
            Descriptor { kh: 7, kw: 7, pad_top: 3, pad_left: 3, cin: 3000, in_c_total: 3008, w_bits: 8, a_in: 1, ..l1 }
                .encode()
                .unwrap(),
            ErrorCode::BufferTooSmall,
        ),
        (
            "reserved bits",
            {
                let mut w = l1.encode().unwrap();
                w[15] = 1;
                w
            },
            ErrorCode::ReservedBits,
        ),
    ];
    let mut b = Bench::new(mem.clone(), 20);
    for (what, bad, code) in bad_cases {
        let mut m = mem.clone();
        write_list(&mut m, &[good[0], bad, good[2]]);
        b.mem = m;
        let got = agree(&mut b, what, BASE as u32, 3, win);
        assert_eq!((got[1], got[2], got[3]), (u64::from(code.code()), 1, 1), "{what}");
        b.clear_status();
    }
    // A threshold record whose mode word decodes to nothing (the last
    // channel's record of layer 1): stops before layer 1 writes anything.
    let mut m = mem.clone();
    let rec = (u64::from(l1.thr_addr) - BASE) as usize + (l1.cout as usize - 1) * (1 << l1.a_out) * 4;
    m[rec..rec + 4].copy_from_slice(&7i32.to_le_bytes());
    b.mem = m;
    let got = agree(&mut b, "bad threshold mode", BASE as u32, 3, win);
    assert_eq!((got[1], got[2]), (u64::from(ErrorCode::BadThresholds.code()), 1));
    b.clear_status();
    // List errors: nothing fetched, index 0.
    b.mem = mem.clone();
    let got = agree(&mut b, "count 0", BASE as u32, 0, win);
    assert_eq!(got[1], u64::from(ErrorCode::BadCount.code()));
    b.clear_status();
    let got = agree(&mut b, "misaligned list", BASE as u32 + 32, 1, win);
    assert_eq!(got[1], u64::from(ErrorCode::Misaligned.code()));
    b.clear_status();
    // And the same device then runs the good list.
    let got = agree(&mut b, "good list after the errors", BASE as u32, 3, win);
    assert_eq!((got[0] as u32 & STATUS_DONE, got[3]), (STATUS_DONE, 3));
}

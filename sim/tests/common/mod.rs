//! Seeded random layers run on the RTL (Verilator, through [`SimPlatform`])
//! and on the functional model (`zynqflow_driver::model::Device`) over the
//! same memory image: every byte of the image and the status registers must
//! agree.

#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};
use zynqflow_driver::model::{BusMemory, Device, SparseMemory};
use zynqflow_driver::platform::{DmaBuffer, Platform, Wait};
use zynqflow_isa::descriptor::{Descriptor, MODE_RAW, MODE_THRESHOLD, OP_CONV};
use zynqflow_isa::regs::*;
use zynqflow_isa::{validate, ArrayConfig, Capabilities, ThresholdMode};
use zynqflow_sim::SimPlatform;

/// Largest image of a layer.
pub const ARENA: usize = 1 << 20;
/// A page-aligned bus address to size images at.
const FIRST_BASE: u64 = 0x1000_0000;

/// A random layer: its memory image (descriptor at offset 0) and descriptor.
/// `base` is the image's bus address. Geometry, bit widths and modes are
/// drawn over the whole range the ISA allows; sizes are kept small enough
/// for a fast simulation. About one layer in ten is deliberately invalid
/// (a field out of range or misplaced) to check the error path too.
pub fn layer(rng: &mut ChaCha8Rng, base: u64, caps: &Capabilities) -> (Vec<u8>, Descriptor) {
    loop {
        let (mem, d) = draw(rng, base);
        let window = base..base + mem.len() as u64;
        let valid = validate(&d, caps, &window).is_ok();
        // Keep invalid ones only now and then (and never for "buffer too small"
        // alone: that is just an unlucky size draw).
        if valid || rng.gen_ratio(1, 4) {
            return (mem, d);
        }
    }
}

fn draw(rng: &mut ChaCha8Rng, base: u64) -> (Vec<u8>, Descriptor) {
    let raw = rng.gen_bool(0.25);
    let a_in = if rng.gen_bool(0.5) { rng.gen_range(1..=2) } else { rng.gen_range(1..=8) };
    let w_bits = if rng.gen_bool(0.5) { 1 } else { rng.gen_range(2..=8) };
    let a_out = if raw {
        0
    } else if rng.gen_bool(0.5) {
        2
    } else {
        rng.gen_range(1..=8)
    };
    // One layer in eight has many output channels on a small image: several
    // runs of passes, limited by the weight banks or the threshold records
    // (the command processor's group size), with a partial last run.
    let many = rng.gen_bool(0.125);
    let big_k = !many && rng.gen_bool(0.15);
    // One layer in eight packs a 2×2 kernel's taps (`pack_taps`, at most 16
    // channels: the upsampled flows).
    let pack = !many && !big_k && rng.gen_bool(0.125);
    let (kh, kw) = if pack {
        (2, 2)
    } else if big_k {
        (rng.gen_range(1..=7), rng.gen_range(1..=7))
    } else {
        (rng.gen_range(1..=3), rng.gen_range(1..=3))
    };
    let (stride, upsample) = (rng.gen_range(1..=2), rng.gen_range(1..=2));
    let (in_h, in_w): (u32, u32) =
        if many { (rng.gen_range(1..=3), rng.gen_range(1..=4)) } else { (rng.gen_range(1..=6), rng.gen_range(1..=8)) };
    let cin: u32 = if pack {
        rng.gen_range(1..=16)
    } else if rng.gen_bool(0.2) {
        rng.gen_range(65..=140)
    } else {
        rng.gen_range(1..=64)
    };
    let in_c_total = cin.div_ceil(64) * 64 + if rng.gen_bool(0.3) { 64 } else { 0 };
    // One threshold layer in five writes its codes 2, 4 or 8 times
    // (`copies_log2`), with `cout << copies_log2` within the rows of `small`.
    let copies_log2: u32 = if !raw && !many && rng.gen_bool(0.2) { rng.gen_range(1..=3) } else { 0 };
    let cout: u32 = if many {
        rng.gen_range(100..=260)
    } else if copies_log2 > 0 {
        rng.gen_range(1..=(8 >> copies_log2))
    } else {
        rng.gen_range(1..=20)
    };
    let (pad_top, pad_left) = (rng.gen_range(0..kh), rng.gen_range(0..kw));
    let out_h = (in_h * upsample + 2 * pad_top).saturating_sub(kh) / stride + 1;
    let out_w = (in_w * upsample + 2 * pad_left).saturating_sub(kw) / stride + 1;
    let out_stride = rng.gen_range(1..=2);
    let (off_y, off_x) = (rng.gen_range(0..out_stride), rng.gen_range(0..out_stride));
    let dst_c =
        if raw { cout + rng.gen_range(0..3) } else { cout.div_ceil(64) * 64 + if rng.gen_bool(0.2) { 64 } else { 0 } };
    let ch_off = if raw {
        rng.gen_range(0..=dst_c - cout)
    } else if dst_c >= cout.div_ceil(64) * 64 + 64 && rng.gen_bool(0.5) {
        64
    } else {
        0
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
        in_c_total,
        in_ch_off: if in_c_total > cin.div_ceil(64) * 64 && rng.gen_bool(0.5) { 64 } else { 0 },
        ..Default::default()
    };
    if d.in_ch_off + d.cin > d.in_c_total {
        d.in_ch_off = 0;
    }
    // Now and then one field goes wrong (validate decides whether it is).
    if rng.gen_ratio(1, 10) {
        match rng.gen_range(0..5) {
            0 => d.pad_top = kh,
            1 => d.out_h += 1,
            2 => d.kh = 0,
            3 => d.a_in = 9,
            _ => d.ch_off += 8,
        }
    }
    let mem = image(rng, base, &mut d);
    (mem, d)
}

/// The memory image of descriptor `d` at bus address `base`: the descriptor
/// at offset 0, then its input, weights, thresholds (sorted, random modes) and
/// output, each 64-byte aligned with random gaps, everything else random
/// bytes. Sets `d`'s addresses.
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

/// Registers after a run: STATUS, ERROR_CODE, ERROR_INDEX, CMDS_DONE, MACs.
pub type Regs = [u64; 5];

/// The model's run of `mem` at `base`.
pub fn model(caps: &Capabilities, mem: &[u8], base: u64) -> (Vec<u8>, Regs) {
    let mut m = SparseMemory::new();
    m.add_region(base, mem.to_vec()).unwrap();
    let mut dev = Device::new(*caps, m);
    dev.write_reg(WIN_BASE, base as u32);
    dev.write_reg(WIN_SIZE, mem.len() as u32);
    dev.write_reg(CMD_BASE, base as u32);
    dev.write_reg(CMD_COUNT, 1);
    dev.write_reg(CTRL, CTRL_START);
    let regs = [
        u64::from(dev.read_reg(STATUS)),
        u64::from(dev.read_reg(ERROR_CODE)),
        u64::from(dev.read_reg(ERROR_INDEX)),
        u64::from(dev.read_reg(CMDS_DONE)),
        dev.perf_macs(),
    ];
    (dev.memory().read(base, mem.len()).unwrap().to_vec(), regs)
}

/// The RTL; each layer gets a DMA buffer of exactly its image's length, so
/// that any access past the image (even inside its last page) is answered
/// SLVERR and shows up as a difference from the model.
pub struct Rtl {
    pub p: SimPlatform,
    pub buf: DmaBuffer,
    pub caps: Capabilities,
}

impl Rtl {
    pub fn new(config: &ArrayConfig) -> Rtl {
        // ZYNQFLOW_SIM_VERILOG=FILE: run the tests on that Verilog instead
        // (a planted bug must make them fail).
        let verilog = std::env::var_os("ZYNQFLOW_SIM_VERILOG")
            .map(|p| std::fs::read_to_string(p).expect("ZYNQFLOW_SIM_VERILOG file"));
        let opts = zynqflow_sim::BuildOptions { verilog, ..Default::default() };
        let mut p = SimPlatform::with_options(config, &opts, None).unwrap_or_else(|e| panic!("{e}"));
        // ZYNQFLOW_SIM_CHECK=1: two evaluations per cycle, counting any
        // output that depends combinationally on an input (must stay 0).
        if std::env::var_os("ZYNQFLOW_SIM_CHECK").is_some() {
            p.harness().set_mode(false, true);
        }
        let buf = p.alloc(64).unwrap();
        Rtl { p, buf, caps: config.capabilities() }
    }

    /// Runs `mem` (placed at the arena's start); returns the image after the
    /// run, the registers and the cycles.
    pub fn run(&mut self, mem: &[u8]) -> (Vec<u8>, Regs, u64) {
        let (p, base) = (&mut self.p, self.buf.bus_addr as u32);
        p.write(&self.buf, 0, mem).unwrap();
        p.write_reg(STATUS, STATUS_DONE | STATUS_ERROR).unwrap();
        p.write_reg(WIN_BASE, base).unwrap();
        p.write_reg(WIN_SIZE, mem.len() as u32).unwrap();
        p.write_reg(CMD_BASE, base).unwrap();
        p.write_reg(CMD_COUNT, 1).unwrap();
        p.write_reg(IRQ_ENABLE, IRQ_ENABLE_BIT).unwrap();
        p.write_reg(CTRL, CTRL_START).unwrap();
        let w = p.wait_irq(Instant::now() + Duration::from_secs(120)).unwrap();
        assert_eq!(w, Wait::Interrupt, "no interrupt within 120 s");
        let cycles = p.last_run_cycles().unwrap();
        let mut r = |o| u64::from(p.read_reg(o).unwrap());
        let macs = r(PERF_MACS_LO) | r(PERF_MACS_HI) << 32;
        let regs = [r(STATUS), r(ERROR_CODE), r(ERROR_INDEX), r(CMDS_DONE), macs];
        p.write_reg(STATUS, STATUS_DONE | STATUS_ERROR).unwrap();
        let mut out = vec![0u8; mem.len()];
        p.read(&self.buf, 0, &mut out).unwrap();
        (out, regs, cycles)
    }
}

/// Runs layer `seed` on both; panics with a description on any difference.
/// Returns the RTL's cycles and whether the descriptor ran (not refused).
pub fn check_layer(rtl: &mut Rtl, seed: u64) -> (u64, bool) {
    // The image's length does not depend on its (page-aligned) base: draw it
    // once to size the buffer, then again at the buffer's address.
    let (probe, _) = layer(&mut ChaCha8Rng::seed_from_u64(seed), FIRST_BASE, &rtl.caps);
    rtl.buf = rtl.p.alloc(probe.len()).unwrap();
    let base = rtl.buf.bus_addr;
    let (mem, d) = layer(&mut ChaCha8Rng::seed_from_u64(seed), base, &rtl.caps);
    assert_eq!(mem.len(), probe.len());
    let (want, regs) = model(&rtl.caps, &mem, base);
    let (got, rtl_regs, cycles) = rtl.run(&mem);
    assert_eq!(rtl_regs, regs, "seed {seed}: registers (STATUS, CODE, INDEX, DONE, MACS) RTL vs model for {d:?}");
    if let Some(i) = (0..want.len()).find(|&i| want[i] != got[i]) {
        panic!(
            "seed {seed}: memory differs first at {:#x} (model {:#04x}, RTL {:#04x}) for {d:?}",
            base + i as u64,
            want[i],
            got[i]
        );
    }
    let s = rtl.p.mem_stats();
    assert_eq!(s.protocol_errors, 0, "seed {seed}: AXI rule broken ({s:?})");
    assert_eq!(s.comb_output_changes, 0, "seed {seed}: an output depends combinationally on an input ({s:?})");
    assert_eq!(s.slverr_reads + s.slverr_writes, 0, "seed {seed}: access outside the arena ({s:?})");
    (cycles, rtl_regs[0] & u64::from(STATUS_DONE) != 0)
}

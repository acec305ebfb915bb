//! Tests of [`super::Device`] (every error code, register semantics) and of
//! [`super::ModelPlatform`] (buffers, end-to-end run, interrupt wait).

use super::memory::{BusMemory, SparseMemory};
use super::tests_exec::{random_descriptor, reference, setup, Values, BASE};
use super::*;
use crate::platform::{Platform, PlatformError, Wait};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};
use zynqflow_isa::descriptor::{Descriptor, DESCRIPTOR_WORDS, MODE_RAW};
use zynqflow_isa::regs::*;
use zynqflow_isa::{ArrayConfig, ErrorCode};

/// Command-list region: one page, one unbacked page below the data region.
const CMD: u64 = BASE - 0x2000;

/// A good descriptor (placed in `BASE..`) and memory with a command region.
fn fixture(seed: u64) -> (SparseMemory, Descriptor, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut d = random_descriptor(&mut rng, 2, 1, 2, false);
    let (mut mem, _) = setup(&mut d, &mut rng, Values::Random, false);
    let end = BASE + mem.region(0).unwrap().1.len() as u64;
    mem.add_zeroed(CMD, 0x1000).unwrap();
    (mem, d, end)
}

/// Writes `list` at `base`, sets the registers, starts; returns the device.
fn run(mem: SparseMemory, list: &[[u32; DESCRIPTOR_WORDS]], base: u64, count: u32, window: (u64, u64)) -> Device {
    let mut dev = Device::new(ArrayConfig::small().capabilities(), mem);
    for (i, w) in list.iter().enumerate() {
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert!(dev.memory_mut().write(base + 64 * i as u64, &bytes));
    }
    dev.write_reg(IRQ_ENABLE, 1);
    dev.write_reg(CMD_BASE, base as u32);
    dev.write_reg(CMD_COUNT, count);
    dev.write_reg(WIN_BASE, window.0 as u32);
    dev.write_reg(WIN_SIZE, (window.1 - window.0) as u32);
    dev.write_reg(CTRL, CTRL_START);
    dev
}

fn assert_error(dev: &mut Device, code: ErrorCode, index: u32, what: &str) {
    assert_eq!(dev.read_reg(STATUS), STATUS_ERROR, "{what}");
    assert_eq!(dev.read_reg(ERROR_CODE), code.code(), "{what}");
    assert_eq!(dev.read_reg(ERROR_INDEX), index, "{what}");
    assert_eq!(dev.read_reg(CMDS_DONE), index, "{what}");
    assert!(dev.interrupt(), "{what}");
}

#[test]
fn every_descriptor_error_stops_at_its_index_and_writes_nothing() {
    let (mem, g, end) = fixture(11);
    let win = (CMD, end);
    let good = g.encode().unwrap();
    // The reference run: the good descriptor alone (list of two, count 1).
    let once = {
        let mut dev = run(mem.clone(), &[good, good], CMD, 1, win);
        assert_eq!(dev.read_reg(STATUS), STATUS_DONE);
        assert_eq!(dev.read_reg(CMDS_DONE), 1);
        let want = reference(&mem, &g);
        assert!(dev.memory().region(0) == want.region(0), "the good descriptor computes the reference");
        dev.memory().clone()
    };
    let unbacked = (end + 0x1000).div_ceil(64) as u32 * 64;
    let raw = Descriptor { mode: MODE_RAW, thr_addr: 0, a_out: 0, ..g };
    let cases: Vec<(&str, [u32; DESCRIPTOR_WORDS], ErrorCode, u64)> = vec![
        ("opcode", Descriptor { opcode: 7, ..g }.encode().unwrap(), ErrorCode::BadOpcode, end),
        (
            "reserved word",
            {
                let mut w = good;
                w[15] = 1;
                w
            },
            ErrorCode::ReservedBits,
            end,
        ),
        ("raw with a_out", Descriptor { a_out: 2, ..raw }.encode().unwrap(), ErrorCode::ReservedBits, end),
        ("a_in 9", Descriptor { a_in: 9, ..g }.encode().unwrap(), ErrorCode::BadBits, end),
        ("kernel 0", Descriptor { kh: 0, ..g }.encode().unwrap(), ErrorCode::BadKernel, end),
        ("stride 3", Descriptor { stride: 3, ..g }.encode().unwrap(), ErrorCode::BadStride, end),
        ("upsample 0", Descriptor { upsample: 0, ..g }.encode().unwrap(), ErrorCode::BadUpsample, end),
        ("pad_left", Descriptor { pad_left: g.kw, ..g }.encode().unwrap(), ErrorCode::BadPadding, end),
        ("cin 0", Descriptor { cin: 0, ..g }.encode().unwrap(), ErrorCode::BadShape, end),
        (
            "in_ch_off 32",
            Descriptor { in_ch_off: 32, in_c_total: g.cin + 32, ..g }.encode().unwrap(),
            ErrorCode::BadShape,
            end,
        ),
        (
            "ch_off 32",
            Descriptor { ch_off: 32, dst_c: g.dst_c + 32, ..g }.encode().unwrap(),
            ErrorCode::BadPlacement,
            end,
        ),
        (
            "overflow",
            Descriptor {
                a_in: 8,
                w_bits: 8,
                kh: 7,
                kw: 7,
                pad_top: 0,
                pad_left: 0,
                cin: 4000,
                in_c_total: 4000,
                in_ch_off: 0,
                ..g
            }
            .encode()
            .unwrap(),
            ErrorCode::Overflow,
            end,
        ),
        (
            "buffer too small",
            Descriptor {
                a_in: 8,
                w_bits: 1,
                kh: 7,
                kw: 7,
                pad_top: 0,
                pad_left: 0,
                cin: 2752,
                in_c_total: 2752,
                in_ch_off: 0,
                ..g
            }
            .encode()
            .unwrap(),
            ErrorCode::BufferTooSmall,
            end,
        ),
        ("misaligned", Descriptor { w_addr: g.w_addr + 8, ..g }.encode().unwrap(), ErrorCode::Misaligned, end),
        ("outside window", Descriptor { out_addr: unbacked, ..g }.encode().unwrap(), ErrorCode::OutOfWindow, end),
        ("overlap", Descriptor { out_addr: g.in_addr, ..g }.encode().unwrap(), ErrorCode::Overlap, end),
        (
            "unbacked output",
            Descriptor { out_addr: unbacked, ..g }.encode().unwrap(),
            ErrorCode::BusError,
            end + 0x10_0000,
        ),
        (
            "unbacked input",
            Descriptor { in_addr: unbacked, ..g }.encode().unwrap(),
            ErrorCode::BusError,
            end + 0x10_0000,
        ),
    ];
    let mut seen = std::collections::HashSet::new();
    for (what, bad, code, win_end) in cases {
        seen.insert(code);
        let mut dev = run(mem.clone(), &[good, bad], CMD, 2, (CMD, win_end));
        assert_error(&mut dev, code, 1, what);
        assert_eq!(
            dev.perf_macs(),
            zynqflow_isa::validate(&g, &ArrayConfig::small().capabilities(), &(CMD..end)).unwrap().macs()
        );
        // Same image as the good descriptor alone: nothing written for `bad`.
        let mut expect = once.clone();
        assert!(expect.write(CMD + 64, &bad.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()));
        assert!(dev.memory() == &expect, "{what}: memory changed");
    }
    // List-level errors: index 0, memory untouched.
    let list_cases = [
        ("count 0", CMD, 0, win, ErrorCode::BadCount),
        ("misaligned list", CMD + 16, 1, win, ErrorCode::Misaligned),
        ("list outside window", CMD, 2, (CMD + 64, end), ErrorCode::OutOfWindow),
        ("list runs into a hole", CMD + 0x1000 - 64, 2, win, ErrorCode::BusError),
    ];
    for (what, base, count, w, code) in list_cases {
        seen.insert(code);
        let index = if code == ErrorCode::BusError { 1 } else { 0 };
        let mut dev = run(mem.clone(), &[good], base, count, w);
        assert_error(&mut dev, code, index, what);
        if index == 0 {
            let mut expect = mem.clone();
            assert!(expect.write(base, &good.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()));
            assert!(dev.memory() == &expect, "{what}: memory changed");
        }
    }
    // A threshold record whose mode word decodes to no mode: stops before
    // anything is written.
    let mut bad_mem = mem.clone();
    assert!(bad_mem.write(u64::from(g.thr_addr), &7i32.to_le_bytes()));
    seen.insert(ErrorCode::BadThresholds);
    let mut dev = run(bad_mem.clone(), &[good], CMD, 1, win);
    assert_error(&mut dev, ErrorCode::BadThresholds, 0, "bad threshold mode");
    assert!(bad_mem.write(CMD, &good.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()));
    assert!(dev.memory() == &bad_mem, "bad threshold mode: memory changed");
    let missing: Vec<_> = ErrorCode::ALL.iter().filter(|c| !seen.contains(c)).collect();
    assert!(missing.is_empty(), "error codes never produced: {missing:?}");
}

#[test]
fn registers_follow_the_map() {
    let (mem, g, end) = fixture(12);
    let caps = ArrayConfig::small().capabilities();
    let mut dev = run(mem, &[g.encode().unwrap()], CMD, 1, (CMD, end));
    assert_eq!(dev.read_reg(ID), ACCEL_ID);
    assert_eq!(dev.read_reg(VERSION), VERSION_WORD);
    let capw: Vec<u32> = [CAP_ARRAY, CAP_BITS, CAP_LIMITS, CAP_BUFFERS].iter().map(|&r| dev.read_reg(r)).collect();
    assert_eq!(capw, caps.to_words());
    assert_eq!((dev.read_reg(CMD_BASE), dev.read_reg(CMD_COUNT)), (CMD as u32, 1));
    assert_eq!((dev.read_reg(WIN_BASE), dev.read_reg(WIN_SIZE)), (CMD as u32, (end - CMD) as u32));
    // CTRL is write-only and self-clearing; the run is already over.
    assert_eq!(dev.read_reg(CTRL), 0);
    assert_eq!(dev.read_reg(STATUS), STATUS_DONE, "done, never busy");
    assert_eq!((dev.read_reg(ERROR_CODE), dev.read_reg(ERROR_INDEX)), (0, 0));
    assert!(dev.interrupt());
    dev.write_reg(IRQ_ENABLE, 0);
    assert!(!dev.interrupt(), "masked");
    assert_eq!(dev.read_reg(IRQ_ENABLE), 0);
    dev.write_reg(IRQ_ENABLE, 0xffff_ffff);
    assert_eq!(dev.read_reg(IRQ_ENABLE), 1, "only bit 0 exists");
    // RW1C: writing 0 or BUSY changes nothing, writing DONE clears it.
    dev.write_reg(STATUS, STATUS_BUSY | STATUS_ERROR);
    assert_eq!(dev.read_reg(STATUS), STATUS_DONE);
    dev.write_reg(STATUS, STATUS_DONE);
    assert_eq!(dev.read_reg(STATUS), 0);
    assert!(!dev.interrupt());
    // Read-only and unknown registers ignore writes; unknown read 0.
    for r in [ID, CAP_BITS, ERROR_CODE, CMDS_DONE, PERF_MACS_LO, 0x100, 0x26] {
        let before = dev.read_reg(r);
        dev.write_reg(r, 0x1234_5678);
        assert_eq!(dev.read_reg(r), before, "{r:#x}");
    }
    assert_eq!(dev.read_reg(0x100) | dev.read_reg(0x26) | dev.read_reg(0xffc), 0);
    // Timing counters stay 0 in the model; MACS counts.
    for r in [PERF_BUSY_LO, PERF_BUSY_HI, PERF_STALL_LO, PERF_STALL_HI] {
        assert_eq!(dev.read_reg(r), 0);
    }
    assert_eq!(u64::from(dev.read_reg(PERF_MACS_LO)), dev.perf_macs());
    assert_eq!(dev.read_reg(PERF_MACS_HI), 0);
    // START and SOFT_RESET together: reset wins, no run.
    dev.write_reg(CMD_COUNT, 0);
    dev.write_reg(CTRL, CTRL_START | CTRL_SOFT_RESET);
    assert_eq!((dev.read_reg(STATUS), dev.read_reg(CMDS_DONE)), (0, 1));
    // An error run, then soft reset: status clears, the rest stays.
    dev.write_reg(IRQ_ENABLE, 1);
    dev.write_reg(CTRL, CTRL_START);
    assert_error(&mut dev, ErrorCode::BadCount, 0, "count 0");
    assert_eq!(dev.perf_macs(), 0, "counters cleared at START");
    dev.write_reg(CTRL, CTRL_SOFT_RESET);
    assert_eq!(dev.read_reg(STATUS), 0);
    assert!(!dev.interrupt());
    assert_eq!(dev.read_reg(ERROR_CODE), ErrorCode::BadCount.code());
    assert_eq!((dev.read_reg(CMD_BASE), dev.read_reg(IRQ_ENABLE)), (CMD as u32, 1));
    // W1C of ERROR.
    dev.write_reg(CTRL, CTRL_START);
    dev.write_reg(STATUS, STATUS_ERROR);
    assert_eq!(dev.read_reg(STATUS), 0);
}

#[test]
fn reading_perf_lo_latches_hi() {
    // 32×32 pixels × 128 channels × 3×3 × 4096 = 4.83 G MACs (> 2^32), 1-bit.
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut big = Descriptor {
        opcode: 1,
        mode: MODE_RAW,
        a_in: 1,
        w_bits: 1,
        in_h: 32,
        in_w: 32,
        cin: 4096,
        cout: 128,
        out_h: 32,
        out_w: 32,
        kh: 3,
        kw: 3,
        stride: 1,
        upsample: 1,
        pad_top: 1,
        pad_left: 1,
        dst_h: 32,
        dst_w: 32,
        dst_c: 128,
        out_stride: 1,
        in_c_total: 4096,
        ..Default::default()
    };
    let (mut mem, checked) = setup(&mut big, &mut rng, Values::Random, false);
    let end = BASE + mem.region(0).unwrap().1.len() as u64;
    mem.add_zeroed(CMD, 0x1000).unwrap();
    let t0 = Instant::now();
    let mut dev = run(mem, &[big.encode().unwrap()], CMD, 1, (CMD, end));
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("model: {} binary MACs in {secs:.3} s = {:.1} G/s", checked.macs(), checked.macs() as f64 / secs / 1e9);
    assert_eq!(dev.read_reg(STATUS), STATUS_DONE);
    let macs = checked.macs();
    assert!(macs > 1 << 32);
    assert_eq!(dev.read_reg(PERF_MACS_HI), 0, "nothing latched yet");
    assert_eq!(dev.read_reg(PERF_MACS_LO), macs as u32);
    assert_eq!(dev.read_reg(PERF_MACS_HI), (macs >> 32) as u32);
    // A new run (here: an error, counters cleared) does not move the latch.
    dev.write_reg(CMD_COUNT, 0);
    dev.write_reg(CTRL, CTRL_START);
    assert_eq!(dev.read_reg(PERF_MACS_HI), (macs >> 32) as u32, "HI is the latched value");
    assert_eq!(dev.read_reg(PERF_MACS_LO), 0);
    assert_eq!(dev.read_reg(PERF_MACS_HI), 0);
}

#[test]
fn the_platform_allocates_runs_and_waits() {
    let caps = ArrayConfig::small().capabilities();
    let mut p = ModelPlatform::new(caps);
    assert_eq!(p.name(), "model");
    // A descriptor laid out at BASE, moved into one platform buffer.
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let mut d = random_descriptor(&mut rng, 3, 2, 4, false);
    let (mem, _) = setup(&mut d, &mut rng, Values::Random, false);
    let want = reference(&mem, &d);
    let image = mem.region(0).unwrap().1;
    let cmd = p.alloc(64).unwrap();
    let data = p.alloc(image.len()).unwrap();
    let after = p.alloc(1).unwrap();
    for b in [&cmd, &data, &after] {
        assert_eq!(b.bus_addr % 4096, 0);
    }
    assert!(
        data.bus_addr >= cmd.bus_addr + 2 * 4096
            && after.bus_addr >= data.bus_addr + (image.len() as u64).div_ceil(4096) * 4096 + 4096
    );
    let mut zero = vec![1u8; image.len()];
    p.read(&data, 0, &mut zero).unwrap();
    assert!(zero.iter().all(|&b| b == 0), "zeroed");
    p.write(&data, 0, image).unwrap();
    let shift = |a: u32| if a == 0 { 0 } else { (u64::from(a) - BASE + data.bus_addr) as u32 };
    let moved = Descriptor {
        in_addr: shift(d.in_addr),
        w_addr: shift(d.w_addr),
        thr_addr: shift(d.thr_addr),
        out_addr: shift(d.out_addr),
        ..d
    };
    p.write(&cmd, 0, &moved.to_bytes().unwrap()).unwrap();
    p.sync_for_device(&data, 0, image.len()).unwrap();
    assert!(matches!(p.sync_for_cpu(&data, 1, image.len()), Err(PlatformError::OutOfBounds { .. })));
    assert!(matches!(p.write(&cmd, 60, &[0; 5]), Err(PlatformError::OutOfBounds { .. })));
    assert!(matches!(p.read_reg(0x1000), Err(PlatformError::BadRegister(0x1000))));
    assert!(matches!(p.write_reg(0x2, 0), Err(PlatformError::BadRegister(2))));
    let win_end = after.bus_addr + 0x100_0000;
    for (r, v) in [
        (CMD_BASE, cmd.bus_addr as u32),
        (CMD_COUNT, 1),
        (WIN_BASE, cmd.bus_addr as u32),
        (WIN_SIZE, (win_end - cmd.bus_addr) as u32),
        (IRQ_ENABLE, 1),
        (CTRL, CTRL_START),
    ] {
        p.write_reg(r, v).unwrap();
    }
    let t0 = Instant::now();
    assert_eq!(p.wait_irq(t0 + Duration::from_secs(10)).unwrap(), Wait::Interrupt);
    assert!(t0.elapsed() < Duration::from_secs(1), "no wait when the line is up");
    let mut got = vec![0u8; image.len()];
    p.read(&data, 0, &mut got).unwrap();
    assert!(got == want.region(0).unwrap().1, "platform run matches the reference");
    assert_eq!(p.device().cmds_done(), 1);
    // Writing into the gap after the data buffer is a bus error.
    let stray = Descriptor { out_addr: ((data.bus_addr + image.len() as u64).div_ceil(4096) * 4096) as u32, ..moved };
    p.write(&cmd, 0, &stray.to_bytes().unwrap()).unwrap();
    p.write_reg(CTRL, CTRL_START).unwrap();
    assert_eq!(p.device().last_error(), Some((ErrorCode::BusError, 0)));
    // Cleared status: the interrupt never comes; wait_irq honours the deadline.
    p.write_reg(STATUS, STATUS_DONE | STATUS_ERROR).unwrap();
    let t0 = Instant::now();
    assert_eq!(p.wait_irq(t0 + Duration::from_millis(50)).unwrap(), Wait::TimedOut);
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(50) && waited < Duration::from_millis(250), "{waited:?}");
    // A buffer of another platform is refused.
    let foreign = crate::platform::DmaBuffer { id: 7, bus_addr: 0, len: 4 };
    assert!(matches!(p.write(&foreign, 0, &[0]), Err(PlatformError::UnknownBuffer(7))));
}

//! Directed tests of the bus side: reset values, address decoding, and the
//! AXI4-Lite handshakes and their timing.

use zynqflow_isa::regs::{self, *};
use zynqflow_isa::{ArrayConfig, Capabilities};

use crate::master::{Bench, ReadOp, ReadTiming, WriteOp, WriteTiming};
use crate::model::reset_value;

// ------------------------------------------------------------------------
// Reset values, decoding.

#[test]
fn every_register_has_its_reset_value_for_every_preset() {
    for cfg in ArrayConfig::presets() {
        let caps = cfg.capabilities();
        let mut b = Bench::new(caps);
        for r in REGISTERS {
            assert_eq!(b.read(r.offset), reset_value(&caps, r.offset), "{} on {}", r.name, cfg.name);
        }
        assert_eq!(
            Capabilities::from_words([b.read(CAP_ARRAY), b.read(CAP_BITS), b.read(CAP_LIMITS), b.read(CAP_BUFFERS)]),
            caps
        );
        assert_eq!(b.outputs_to_core(), [0; 4]);
        assert!(!b.uut.interrupt.val() && b.starts.is_empty() && b.soft_resets.is_empty());
    }
}

#[test]
fn unknown_and_unaligned_offsets_read_zero_and_ignore_writes() {
    let mut b = Bench::small();
    let caps = b.caps;
    let mut unknown: Vec<u32> = (0..WINDOW_BYTES).step_by(4).filter(|&o| regs::by_offset(o).is_none()).collect();
    // Every byte offset inside a register, but not its first.
    for r in REGISTERS {
        unknown.extend([r.offset + 1, r.offset + 2, r.offset + 3]);
    }
    for &o in &unknown {
        b.write(o, 0xffff_ffff);
        assert_eq!(b.read(o), 0, "offset {o:#x}");
    }
    for r in REGISTERS {
        assert_eq!(b.read(r.offset), reset_value(&caps, r.offset), "{} after writes elsewhere", r.name);
    }
    assert_eq!(b.outputs_to_core(), [0; 4]);
    assert!(b.starts.is_empty() && b.soft_resets.is_empty());
}

// ------------------------------------------------------------------------
// Handshakes and timing.

#[test]
fn writes_complete_in_any_channel_order_with_two_cycle_latency() {
    let mut b = Bench::small();
    let mut value = 0x1234_5678u32;
    for (aw, w) in [(0, 0), (0, 1), (0, 4), (1, 0), (4, 0), (2, 2), (3, 5)] {
        for bdelay in [0, 1, 5] {
            value = value.rotate_left(5) ^ 0x9e37_79b9;
            let t = WriteTiming { aw, w, b: bdelay };
            let d = b.write_op(CMD_COUNT, value, 0xf, t);
            // Ready is up before valid: each channel is taken the cycle it is offered.
            assert_eq!((d.aw - d.begin, d.w - d.begin), (aw, w), "{t:?}");
            assert_eq!(d.b_first, d.aw.max(d.w) + 2, "write latency, {t:?}");
            assert_eq!(d.b, d.b_first + bdelay, "{t:?}");
            assert_eq!(b.uut.cmd_count.val().to_u32(), value, "{t:?}");
            assert_eq!(b.read(CMD_COUNT), value, "{t:?}");
        }
    }
}

#[test]
fn reads_answer_one_cycle_after_the_address_and_hold_until_rready() {
    let mut b = Bench::small();
    b.write(WIN_BASE, 0xcafe_f00d);
    for ar in [0, 1, 3] {
        for r in [0, 1, 2, 7] {
            let d = b.read_op(WIN_BASE, ReadTiming { ar, r });
            assert_eq!(d.data, 0xcafe_f00d);
            assert_eq!(d.ar - d.begin, ar);
            assert_eq!(d.r_first, d.ar + 1, "read latency");
            assert_eq!(d.r, d.r_first + r);
            let d = b.read_op(ID, ReadTiming { ar, r });
            assert_eq!(d.data, ACCEL_ID);
        }
    }
}

#[test]
fn an_eager_master_writes_every_three_cycles_and_reads_every_two() {
    let mut b = Bench::small();
    let first = b.write(CMD_BASE, 1);
    let mut last = first;
    for i in 2..=10 {
        last = b.write(CMD_BASE, i);
    }
    assert_eq!(last.aw - first.aw, 9 * 3);
    let first = b.read_op(CMD_BASE, ReadTiming::default());
    let mut last = first;
    for _ in 0..9 {
        last = b.read_op(CMD_BASE, ReadTiming::default());
    }
    assert_eq!(last.ar - first.ar, 9 * 2);
    assert_eq!(last.data, 10);
}

#[test]
fn a_read_and_a_write_run_at_the_same_time() {
    let mut b = Bench::small();
    b.write(CMD_BASE, 0x1111_0000);
    let timings = [
        (WriteTiming { aw: 0, w: 0, b: 0 }, ReadTiming { ar: 0, r: 0 }),
        (WriteTiming { aw: 2, w: 0, b: 3 }, ReadTiming { ar: 1, r: 4 }),
    ];
    for (i, (wt, rt)) in timings.into_iter().enumerate() {
        let v = 0x2222_0000 + i as u32;
        let (w, r) = b.transact(
            Some(WriteOp { addr: WIN_SIZE, data: v, strb: 0xf, t: wt }),
            Some(ReadOp { addr: CMD_BASE, t: rt }),
        );
        let (w, r) = (w.unwrap(), r.unwrap());
        assert_eq!(r.data, 0x1111_0000);
        assert_eq!(w.b_first, w.aw.max(w.w) + 2);
        assert_eq!(r.r_first, r.ar + 1);
        assert_eq!(b.read(WIN_SIZE), v);
    }
}

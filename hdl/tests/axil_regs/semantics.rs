//! Directed tests of the register semantics: read-only and RW registers, CTRL,
//! STATUS, same-cycle priorities, the performance counters, the interrupt,
//! soft reset and reset.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zynqflow_isa::regs::*;
use zynqflow_isa::ErrorCode;

use crate::master::{Bench, Pulse, ReadTiming};
use crate::model::{reset_value, strb_mask, RW_WORDS};
use crate::ports::IDX_INTERRUPT;

// ------------------------------------------------------------------------
// Register semantics.

#[test]
fn read_only_registers_ignore_writes() {
    let mut b = Bench::small();
    let caps = b.caps;
    b.core.cmds_done = 17;
    b.core.perf = [0x1_0000_0005, 0x2_0000_0006, 0x3_0000_0007];
    b.pulse(Pulse::Error { code: ErrorCode::BadStride.code(), index: 9 });
    b.write(STATUS, STATUS_ERROR);
    let expect = |off: u32| match off {
        ERROR_CODE => ErrorCode::BadStride.code(),
        ERROR_INDEX => 9,
        CMDS_DONE => 17,
        PERF_BUSY_LO => 5,
        PERF_STALL_LO => 6,
        PERF_MACS_LO => 7,
        PERF_BUSY_HI => 1,
        PERF_STALL_HI => 2,
        PERF_MACS_HI => 3,
        o => reset_value(&caps, o),
    };
    for r in REGISTERS.iter().filter(|r| r.access == Access::Ro) {
        b.read(r.offset);
        b.write(r.offset, 0xffff_ffff);
        b.write(r.offset, 0);
    }
    for r in REGISTERS.iter().filter(|r| r.access == Access::Ro) {
        assert_eq!(b.read(r.offset), expect(r.offset), "{}", r.name);
    }
    assert_eq!(b.read(STATUS), 0);
    assert_eq!(b.outputs_to_core(), [0; 4]);
}

#[test]
fn rw_registers_round_trip_with_every_byte_strobe_pattern() {
    let mut b = Bench::small();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for (k, &off) in RW_WORDS.iter().enumerate() {
        let mut expect = 0u32;
        for strb in 0..16u8 {
            let v: u32 = rng.gen();
            b.write_strb(off, v, strb);
            let m = strb_mask(strb);
            expect = (expect & !m) | (v & m);
            assert_eq!(b.read(off), expect, "{off:#x} strb {strb:#06b}");
            assert_eq!(b.outputs_to_core()[k], expect);
        }
        for &other in RW_WORDS.iter().filter(|&&o| o != off) {
            b.write(other, 0);
        }
        assert_eq!(b.read(off), expect, "{off:#x} after writes to the others");
    }
}

#[test]
fn irq_enable_holds_its_one_bit_and_honours_the_strobe() {
    let mut b = Bench::small();
    b.write(IRQ_ENABLE, 0xffff_ffff);
    assert_eq!(b.read(IRQ_ENABLE), IRQ_ENABLE_BIT);
    b.write_strb(IRQ_ENABLE, 0, 0b1110);
    assert_eq!(b.read(IRQ_ENABLE), IRQ_ENABLE_BIT, "lane 0 not strobed: kept");
    b.write_strb(IRQ_ENABLE, !IRQ_ENABLE_BIT, 0b0001);
    assert_eq!(b.read(IRQ_ENABLE), 0);
    b.write_strb(IRQ_ENABLE, IRQ_ENABLE_BIT, 0b0001);
    assert_eq!(b.read(IRQ_ENABLE), IRQ_ENABLE_BIT);
}

#[test]
fn ctrl_start_and_soft_reset_are_single_cycle_pulses() {
    let mut b = Bench::small();
    // START: one pulse, in the cycle BVALID rises; CTRL reads 0.
    let d = b.write(CTRL, CTRL_START);
    b.idle(3);
    assert_eq!(b.starts, vec![d.b_first]);
    assert!(b.soft_resets.is_empty());
    assert_eq!(b.read(CTRL), 0);
    // SOFT_RESET alone.
    let d = b.write(CTRL, CTRL_SOFT_RESET);
    b.idle(3);
    assert_eq!(b.soft_resets, vec![d.b_first]);
    assert_eq!(b.starts.len(), 1);
    // Both: a soft reset, no start.
    let d = b.write(CTRL, CTRL_START | CTRL_SOFT_RESET);
    b.idle(3);
    assert_eq!(b.soft_resets.last(), Some(&d.b_first));
    assert_eq!((b.starts.len(), b.soft_resets.len()), (1, 2));
    // Byte lane 0 not strobed, or other bits only: nothing.
    b.write_strb(CTRL, CTRL_START | CTRL_SOFT_RESET, 0b1110);
    b.write(CTRL, !(CTRL_START | CTRL_SOFT_RESET));
    // START while busy: ignored (STATUS untouched); SOFT_RESET still acts.
    b.core.busy = true;
    b.write(CTRL, CTRL_START);
    b.idle(3);
    assert_eq!((b.starts.len(), b.soft_resets.len()), (1, 2));
    b.write(CTRL, CTRL_SOFT_RESET);
    b.core.busy = false;
    b.idle(3);
    assert_eq!((b.starts.len(), b.soft_resets.len()), (1, 3));
    // Back-to-back STARTs give separate pulses.
    let d1 = b.write(CTRL, CTRL_START);
    let d2 = b.write(CTRL, CTRL_START);
    assert_eq!(&b.starts[1..], &[d1.b_first, d2.b_first]);
}

#[test]
fn status_done_and_error_are_set_by_the_core_and_cleared_by_writing_one() {
    let mut b = Bench::small();
    b.core.busy = true;
    b.idle(1);
    assert_eq!(b.read(STATUS), STATUS_BUSY, "BUSY follows the input");
    b.core.busy = false;
    b.pulse(Pulse::Done);
    assert_eq!(b.read(STATUS), STATUS_DONE);
    b.write(STATUS, 0);
    b.write(STATUS, STATUS_BUSY | STATUS_ERROR);
    b.write_strb(STATUS, STATUS_DONE, 0b1110);
    assert_eq!(b.read(STATUS), STATUS_DONE, "only a strobed 1 in DONE clears it");
    b.write(STATUS, STATUS_DONE);
    assert_eq!(b.read(STATUS), 0);

    let code = ErrorCode::OutOfWindow.code();
    b.pulse(Pulse::Error { code, index: 41 });
    assert_eq!(b.read(STATUS), STATUS_ERROR);
    assert_eq!((b.read(ERROR_CODE), b.read(ERROR_INDEX)), (code, 41));
    b.write(STATUS, STATUS_DONE);
    assert_eq!(b.read(STATUS), STATUS_ERROR, "clearing DONE leaves ERROR");
    b.write(STATUS, STATUS_ERROR);
    assert_eq!(b.read(STATUS), 0);
    assert_eq!((b.read(ERROR_CODE), b.read(ERROR_INDEX)), (code, 41), "code and index outlive the W1C");
    // Both at once; then soft reset clears STATUS, keeps the code.
    b.pulse(Pulse::Done);
    b.pulse(Pulse::Error { code: 3, index: 2 });
    assert_eq!(b.read(STATUS), STATUS_DONE | STATUS_ERROR);
    b.write(CTRL, CTRL_SOFT_RESET);
    assert_eq!(b.read(STATUS), 0);
    assert_eq!((b.read(ERROR_CODE), b.read(ERROR_INDEX)), (3, 2), "soft reset keeps the code");
    // The next START zeroes them.
    b.pulse(Pulse::Error { code: 5, index: 6 });
    b.write(CTRL, CTRL_START);
    assert_eq!(b.read(STATUS), 0);
    assert_eq!((b.read(ERROR_CODE), b.read(ERROR_INDEX)), (0, 0));
}

/// A write to `off` whose register update happens in the same cycle as a core
/// pulse.
pub fn write_with_pulse(b: &mut Bench, off: u32, data: u32, p: Pulse) {
    // Both channels at once: taken at `begin`, written in `begin + 1`.
    let at = b.pulse_in(1, p);
    let d = b.write(off, data);
    assert_eq!(d.aw.max(d.w) + 1, at);
    b.idle(2);
}

#[test]
fn same_cycle_priorities_never_lose_a_completion() {
    let mut b = Bench::small();
    // W1C of DONE in the same cycle as a new done pulse: DONE stays.
    b.pulse(Pulse::Done);
    write_with_pulse(&mut b, STATUS, STATUS_DONE, Pulse::Done);
    assert_eq!(b.read(STATUS), STATUS_DONE);
    // START in the same cycle as an error pulse: the error (and its code) stays.
    b.write(STATUS, STATUS_DONE);
    write_with_pulse(&mut b, CTRL, CTRL_START, Pulse::Error { code: 12, index: 1 });
    assert_eq!(b.read(STATUS), STATUS_ERROR);
    assert_eq!(b.read(ERROR_CODE), 12);
    // Soft reset in the same cycle as a pulse: the run is abandoned, nothing set.
    write_with_pulse(&mut b, CTRL, CTRL_SOFT_RESET, Pulse::Error { code: 13, index: 4 });
    assert_eq!(b.read(STATUS), 0);
    assert_eq!(b.read(ERROR_CODE), 12, "an abandoned run's error is not latched");
    write_with_pulse(&mut b, CTRL, CTRL_SOFT_RESET, Pulse::Done);
    assert_eq!(b.read(STATUS), 0);
}

#[test]
fn perf_counters_latch_the_high_word_when_the_low_word_is_read() {
    let mut b = Bench::small();
    // BUSY crosses 2^32 while we read; STALL and MACS move at other rates.
    b.core.perf = [0xffff_fff0, 0x7_ffff_ff00, 0x1234_5678_9abc_def0];
    b.core.perf_step = [1, 3, 1000];
    assert_eq!(b.read(PERF_BUSY_HI), 0, "no LO read yet: the shadow is 0");
    for round in 0..12u64 {
        for k in 0..3 {
            let lo = PERF_BUSY_LO + 8 * k as u32;
            let d = b.read_op(lo, ReadTiming { ar: round % 3, r: round % 4 });
            // Let the counter move on (and across 2^32) before the HI read.
            b.idle(round);
            let hi = b.read_op(lo + 4, ReadTiming { ar: round % 2, r: 0 });
            let v = u64::from(hi.data) << 32 | u64::from(d.data);
            assert_eq!(v, d.sample.perf[k], "counter {k}, round {round}");
            assert_ne!(hi.sample.perf[k], d.sample.perf[k], "the counter moved between LO and HI");
        }
    }
    // A LO read of one counter leaves the other shadows alone.
    let stall_hi = b.read(PERF_STALL_HI);
    b.core.perf[1] += 1 << 40;
    b.read(PERF_BUSY_LO);
    b.read(PERF_MACS_LO);
    assert_eq!(b.read(PERF_STALL_HI), stall_hi);
    assert_eq!(b.read(PERF_STALL_HI), stall_hi, "HI reads do not relatch");
}

#[test]
fn interrupt_follows_irq_enable_and_status() {
    let mut b = Bench::small();
    b.pulse_in(0, Pulse::Done);
    b.idle(10);
    assert!(!b.uut.interrupt.val(), "IRQ_ENABLE clear: no interrupt");
    assert!(b.trace.iter().all(|(_, o)| o[IDX_INTERRUPT] == 0));
    // STATUS shows DONE from the cycle after the pulse.
    b.write(STATUS, STATUS_DONE);
    let p = b.pulse_in(0, Pulse::Done);
    let r = b.read_op(STATUS, ReadTiming::default());
    assert_eq!((r.ar, r.data), (p, 0));
    b.write(STATUS, STATUS_DONE);
    let p = b.pulse_in(0, Pulse::Done);
    let r = b.read_op(STATUS, ReadTiming { ar: 1, r: 0 });
    assert_eq!((r.ar, r.data), (p + 1, STATUS_DONE));
    b.write(IRQ_ENABLE, IRQ_ENABLE_BIT);
    assert!(b.uut.interrupt.val());
    b.write(STATUS, STATUS_DONE);
    assert!(!b.uut.interrupt.val(), "W1C drops the interrupt");
    // The interrupt rises two cycles after the pulse.
    let n = b.trace.len();
    let p = b.pulse_in(0, Pulse::Done);
    b.idle(4);
    let first = (n..b.trace.len()).find(|&i| b.trace[i].1[IDX_INTERRUPT] == 1);
    assert_eq!(first, Some(p as usize + 2), "interrupt two cycles after done_pulse");
    b.write(IRQ_ENABLE, 0);
    assert!(!b.uut.interrupt.val(), "disabling drops the interrupt");
    b.write(IRQ_ENABLE, IRQ_ENABLE_BIT);
    assert!(b.uut.interrupt.val());
    b.write(CTRL, CTRL_SOFT_RESET);
    assert!(!b.uut.interrupt.val(), "soft reset drops the interrupt");
    b.pulse(Pulse::Error { code: 1, index: 0 });
    assert!(b.uut.interrupt.val(), "ERROR raises it too");
    b.write(CTRL, CTRL_START);
    assert!(!b.uut.interrupt.val(), "START clears STATUS and the interrupt");
}

#[test]
fn soft_reset_clears_status_and_keeps_every_other_register() {
    let mut b = Bench::small();
    let vals = [0x1000_0040, 24, 0x1000_0000, 0x0100_0000];
    for (off, v) in RW_WORDS.iter().zip(vals) {
        b.write(*off, v);
    }
    b.write(IRQ_ENABLE, IRQ_ENABLE_BIT);
    b.pulse(Pulse::Error { code: 8, index: 3 });
    b.pulse(Pulse::Done);
    b.write(CTRL, CTRL_SOFT_RESET);
    assert_eq!(b.read(STATUS), 0);
    assert_eq!(b.outputs_to_core(), vals);
    for (off, v) in RW_WORDS.iter().zip(vals) {
        assert_eq!(b.read(*off), v);
    }
    assert_eq!(b.read(IRQ_ENABLE), IRQ_ENABLE_BIT);
    assert_eq!((b.read(ERROR_CODE), b.read(ERROR_INDEX)), (8, 3));
    assert!(!b.uut.interrupt.val());
}

#[test]
fn reset_clears_everything_even_in_the_middle_of_a_transaction() {
    let mut b = Bench::small();
    let caps = b.caps;
    b.core.perf = [1 << 33, 1 << 34, 1 << 35];
    for off in RW_WORDS {
        b.write(off, 0xffff_ffff);
    }
    b.write(IRQ_ENABLE, 1);
    b.read(PERF_BUSY_LO);
    b.read(PERF_STALL_LO);
    b.read(PERF_MACS_LO);
    b.pulse(Pulse::Error { code: 2, index: 2 });
    b.pulse(Pulse::Done);
    assert!(b.uut.interrupt.val());
    // A write and a read taken, then reset before the write is performed.
    let u = &mut b.uut;
    u.awvalid.next = true;
    u.awaddr.next = u64::from(CTRL).into();
    u.wvalid.next = true;
    u.wdata.next = u64::from(CTRL_START).into();
    u.wstrb.next = 0xfu64.into();
    u.arvalid.next = true;
    u.araddr.next = u64::from(ID).into();
    b.tick();
    let u = &mut b.uut;
    u.awvalid.next = false;
    u.wvalid.next = false;
    u.arvalid.next = false;
    u.reset.next = true;
    b.tick(); // the write would be performed here
    b.tick();
    b.uut.reset.next = false;
    b.settle();
    let u = &b.uut;
    assert!(!u.bvalid.val() && !u.rvalid.val() && u.awready.val() && u.wready.val() && u.arready.val());
    assert!(b.starts.is_empty(), "reset cancels the pending START");
    assert!(!u.interrupt.val());
    b.core.perf = [0; 3];
    for r in REGISTERS {
        assert_eq!(b.read(r.offset), reset_value(&caps, r.offset), "{} after reset", r.name);
    }
    assert_eq!(b.outputs_to_core(), [0; 4]);
}

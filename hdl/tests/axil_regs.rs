//! Behaviour of the AXI4-Lite register block (`zynqflow_hdl::axil_regs`).
//!
//! A Rust testbench drives the block's ports clock by clock through rust-hdl's
//! simulation kernel (`update_all` until the circuit settles, as rust-hdl's
//! `Simulation` does), with an AXI4-Lite master that can delay each channel
//! and hold `bready`/`rready` low, a stand-in for the core's side (busy,
//! pulses, counters), and protocol checks on every cycle. Register semantics
//! are checked against `zynqflow_isa::regs` by directed tests and by a
//! reference model under random traffic. The generated Verilog is linted
//! (Verilator), checked (Yosys) and co-simulated (Icarus Verilog) against the
//! Rust simulation, cycle by cycle, on every output (`verilog_check` runs the
//! tools; a missing one fails the test naming its package).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_hdl::axil_regs::AxilRegs;
use zynqflow_hdl::verilog_check::{icarus_run, verilator_lint, write_modules, yosys_elaborate};
use zynqflow_isa::regs::{self, *};
use zynqflow_isa::{ArrayConfig, Capabilities, ErrorCode};

// ------------------------------------------------------------------------
// Ports, as the generated Verilog names them (order = trace order).

/// Inputs driven by the testbench (all but `clock`), with widths.
const INPUTS: &[(&str, usize)] = &[
    ("reset", 1),
    ("awaddr", 12),
    ("awvalid", 1),
    ("wdata", 32),
    ("wstrb", 4),
    ("wvalid", 1),
    ("bready", 1),
    ("araddr", 12),
    ("arvalid", 1),
    ("rready", 1),
    ("busy", 1),
    ("done_pulse", 1),
    ("error_pulse", 1),
    ("error_code", 32),
    ("error_index", 32),
    ("cmds_done", 32),
    ("perf_busy", 64),
    ("perf_stall", 64),
    ("perf_macs", 64),
];

/// Outputs, with widths.
const OUTPUTS: &[(&str, usize)] = &[
    ("awready", 1),
    ("wready", 1),
    ("bresp", 2),
    ("bvalid", 1),
    ("arready", 1),
    ("rdata", 32),
    ("rresp", 2),
    ("rvalid", 1),
    ("start", 1),
    ("soft_reset", 1),
    ("interrupt", 1),
    ("cmd_base", 32),
    ("cmd_count", 32),
    ("win_base", 32),
    ("win_size", 32),
];

fn input_values(u: &AxilRegs) -> Vec<u64> {
    vec![
        u.reset.val() as u64,
        u.awaddr.val().to_u64(),
        u.awvalid.val() as u64,
        u.wdata.val().to_u64(),
        u.wstrb.val().to_u64(),
        u.wvalid.val() as u64,
        u.bready.val() as u64,
        u.araddr.val().to_u64(),
        u.arvalid.val() as u64,
        u.rready.val() as u64,
        u.busy.val() as u64,
        u.done_pulse.val() as u64,
        u.error_pulse.val() as u64,
        u.error_code.val().to_u64(),
        u.error_index.val().to_u64(),
        u.cmds_done.val().to_u64(),
        u.perf_busy.val().to_u64(),
        u.perf_stall.val().to_u64(),
        u.perf_macs.val().to_u64(),
    ]
}

fn output_values(u: &AxilRegs) -> Vec<u64> {
    vec![
        u.awready.val() as u64,
        u.wready.val() as u64,
        u.bresp.val().to_u64(),
        u.bvalid.val() as u64,
        u.arready.val() as u64,
        u.rdata.val().to_u64(),
        u.rresp.val().to_u64(),
        u.rvalid.val() as u64,
        u.start.val() as u64,
        u.soft_reset.val() as u64,
        u.interrupt.val() as u64,
        u.cmd_base.val().to_u64(),
        u.cmd_count.val().to_u64(),
        u.win_base.val().to_u64(),
        u.win_size.val().to_u64(),
    ]
}

// ------------------------------------------------------------------------
// The testbench.

/// What the core drives, and one-shot pulses scheduled at given cycles.
#[derive(Debug, Clone, Default)]
struct Core {
    busy: bool,
    cmds_done: u32,
    /// BUSY, STALL, MACS counters and how much each grows per cycle.
    perf: [u64; 3],
    perf_step: [u64; 3],
    /// `(cycle, event)`, applied in that cycle only.
    scheduled: Vec<(u64, Pulse)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Pulse {
    Done,
    Error { code: u32, index: u32 },
}

/// The core inputs as sampled in one cycle (what a read returns).
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    busy: bool,
    cmds_done: u32,
    perf: [u64; 3],
}

/// Delays of one write: cycles before `awvalid`, before `wvalid`, and
/// between `bvalid` and `bready`.
#[derive(Debug, Clone, Copy, Default)]
struct WriteTiming {
    aw: u64,
    w: u64,
    b: u64,
}

/// Delays of one read: cycles before `arvalid`, between `rvalid` and `rready`.
#[derive(Debug, Clone, Copy, Default)]
struct ReadTiming {
    ar: u64,
    r: u64,
}

#[derive(Debug, Clone, Copy)]
struct WriteOp {
    addr: u32,
    data: u32,
    strb: u8,
    t: WriteTiming,
}

#[derive(Debug, Clone, Copy)]
struct ReadOp {
    addr: u32,
    t: ReadTiming,
}

/// Cycle numbers of one write's handshakes.
#[derive(Debug, Clone, Copy)]
struct WriteDone {
    begin: u64,
    aw: u64,
    w: u64,
    b_first: u64,
    b: u64,
}

/// One read's data, the core inputs at its address handshake, and its cycles.
#[derive(Debug, Clone, Copy)]
struct ReadDone {
    data: u32,
    sample: Sample,
    begin: u64,
    ar: u64,
    r_first: u64,
    r: u64,
}

struct Bench {
    uut: AxilRegs,
    caps: Capabilities,
    cycle: u64,
    core: Core,
    /// Cycles in which `start` / `soft_reset` were high.
    starts: Vec<u64>,
    soft_resets: Vec<u64>,
    /// Per cycle: input and output values (see `INPUTS`, `OUTPUTS`).
    trace: Vec<(Vec<u64>, Vec<u64>)>,
    /// Last cycle's outputs and `bready`/`rready`, for the hold checks.
    last: Option<(Vec<u64>, bool, bool)>,
}

const IDX_BVALID: usize = 3;
const IDX_RDATA: usize = 5;
const IDX_RVALID: usize = 7;
const IDX_START: usize = 8;
const IDX_INTERRUPT: usize = 10;

impl Bench {
    fn new(caps: Capabilities) -> Bench {
        for (i, name) in [
            (IDX_BVALID, "bvalid"),
            (IDX_RDATA, "rdata"),
            (IDX_RVALID, "rvalid"),
            (IDX_START, "start"),
            (IDX_INTERRUPT, "interrupt"),
        ] {
            assert_eq!(OUTPUTS[i].0, name);
        }
        let mut uut = AxilRegs::new(&caps);
        uut.connect_all();
        check_all(&uut).expect("rust-hdl design checks");
        let mut b = Bench {
            uut,
            caps,
            cycle: 0,
            core: Core::default(),
            starts: vec![],
            soft_resets: vec![],
            trace: vec![],
            last: None,
        };
        b.settle();
        b.uut.reset.next = true;
        b.tick();
        b.tick();
        b.uut.reset.next = false;
        b.tick();
        b
    }

    fn small() -> Bench {
        Bench::new(ArrayConfig::small().capabilities())
    }

    fn settle(&mut self) {
        for _ in 0..100 {
            self.uut.update_all();
            if !self.uut.has_changed() {
                return;
            }
        }
        panic!("the circuit does not settle at cycle {}", self.cycle);
    }

    /// Drives the core inputs of this cycle.
    fn drive_core(&mut self) {
        let c = &self.core;
        let u = &mut self.uut;
        u.busy.next = c.busy;
        u.cmds_done.next = u64::from(c.cmds_done).into();
        u.perf_busy.next = c.perf[0].into();
        u.perf_stall.next = c.perf[1].into();
        u.perf_macs.next = c.perf[2].into();
        u.done_pulse.next = false;
        u.error_pulse.next = false;
        // Between pulses the code/index lines carry junk that must not be latched.
        u.error_code.next = u64::from(0xdead_0000 ^ self.cycle as u32).into();
        u.error_index.next = u64::from(0xbeef_0000 ^ self.cycle as u32).into();
        for &(at, p) in &c.scheduled {
            if at == self.cycle {
                match p {
                    Pulse::Done => u.done_pulse.next = true,
                    Pulse::Error { code, index } => {
                        u.error_pulse.next = true;
                        u.error_code.next = u64::from(code).into();
                        u.error_index.next = u64::from(index).into();
                    }
                }
            }
        }
    }

    /// The core inputs as they are in the current cycle.
    fn sample(&self) -> Sample {
        Sample { busy: self.core.busy, cmds_done: self.core.cmds_done, perf: self.core.perf }
    }

    /// Settles the current cycle (inputs as set), checks and records it, then
    /// clocks: a rising and a falling edge.
    fn tick(&mut self) {
        self.drive_core();
        self.settle();
        let ins = input_values(&self.uut);
        let outs = output_values(&self.uut);
        self.check_protocol(&outs);
        if self.uut.start.val() {
            self.starts.push(self.cycle);
        }
        if self.uut.soft_reset.val() {
            self.soft_resets.push(self.cycle);
        }
        self.last = Some((outs.clone(), self.uut.bready.val(), self.uut.rready.val()));
        self.trace.push((ins, outs));
        self.uut.clock.next = Clock { clk: true };
        self.settle();
        self.uut.clock.next = Clock { clk: false };
        self.settle();
        self.cycle += 1;
        let core = &mut self.core;
        for i in 0..3 {
            core.perf[i] = core.perf[i].wrapping_add(core.perf_step[i]);
        }
        let now = self.cycle;
        core.scheduled.retain(|&(at, _)| at >= now);
    }

    /// AXI4-Lite slave rules, checked every cycle.
    fn check_protocol(&self, outs: &[u64]) {
        let c = self.cycle;
        let u = &self.uut;
        if u.reset.val() {
            assert!(
                !u.awready.val() && !u.wready.val() && !u.arready.val() && !u.bvalid.val() && !u.rvalid.val(),
                "cycle {c}: ready/valid high during reset"
            );
        }
        assert_eq!(u.bresp.val().to_u64(), 0, "cycle {c}: BRESP not OKAY");
        assert_eq!(u.rresp.val().to_u64(), 0, "cycle {c}: RRESP not OKAY");
        if let Some((prev, bready, rready)) = &self.last {
            if !u.reset.val() {
                if prev[IDX_BVALID] == 1 && !bready {
                    assert_eq!(outs[IDX_BVALID], 1, "cycle {c}: BVALID dropped before BREADY");
                }
                if prev[IDX_RVALID] == 1 && !rready {
                    assert_eq!(outs[IDX_RVALID], 1, "cycle {c}: RVALID dropped before RREADY");
                    assert_eq!(outs[IDX_RDATA], prev[IDX_RDATA], "cycle {c}: RDATA changed while RVALID waited");
                }
            }
        }
    }

    fn idle(&mut self, n: u64) {
        for _ in 0..n {
            self.tick();
        }
    }

    /// Runs one write and/or one read concurrently, each with its own timing,
    /// until both have completed their response handshakes.
    fn transact(&mut self, w: Option<WriteOp>, r: Option<ReadOp>) -> (Option<WriteDone>, Option<ReadDone>) {
        let begin = self.cycle;
        let (mut aw, mut wd, mut b_first, mut b) = (None, None, None, None);
        let (mut ar, mut r_first, mut rd, mut sample, mut data) = (None, None, None, None, 0u32);
        loop {
            let n = self.cycle - begin;
            assert!(n < 1000, "transaction stuck: {w:?} {r:?}");
            let write_pending = w.is_some() && b.is_none();
            let read_pending = r.is_some() && rd.is_none();
            if !write_pending && !read_pending {
                break;
            }
            // Drive valids; the payload of an idle channel is junk the slave must ignore.
            {
                let u = &mut self.uut;
                match w {
                    Some(op) => {
                        let awv = aw.is_none() && n >= op.t.aw;
                        let wv = wd.is_none() && n >= op.t.w;
                        u.awvalid.next = awv;
                        u.awaddr.next = u64::from(if awv { op.addr } else { !op.addr & 0xfff }).into();
                        u.wvalid.next = wv;
                        u.wdata.next = u64::from(if wv { op.data } else { !op.data }).into();
                        u.wstrb.next = u64::from(if wv { op.strb } else { !op.strb & 0xf }).into();
                    }
                    None => {
                        u.awvalid.next = false;
                        u.wvalid.next = false;
                    }
                }
                match r {
                    Some(op) => {
                        let arv = ar.is_none() && n >= op.t.ar;
                        u.arvalid.next = arv;
                        u.araddr.next = u64::from(if arv { op.addr } else { !op.addr & 0xfff }).into();
                    }
                    None => u.arvalid.next = false,
                }
            }
            self.drive_core();
            self.settle();
            // Response readies may depend on the valids just seen.
            let c = self.cycle;
            if self.uut.bvalid.val() && b_first.is_none() && w.is_some() {
                b_first = Some(c);
            }
            if self.uut.rvalid.val() && r_first.is_none() && r.is_some() {
                r_first = Some(c);
            }
            let bready = matches!((b_first, w), (Some(f), Some(op)) if c >= f + op.t.b);
            let rready = matches!((r_first, r), (Some(f), Some(op)) if c >= f + op.t.r);
            self.uut.bready.next = bready;
            self.uut.rready.next = rready;
            self.settle();
            let u = &self.uut;
            if u.awvalid.val() && u.awready.val() {
                aw = Some(c);
            }
            if u.wvalid.val() && u.wready.val() {
                wd = Some(c);
            }
            if u.arvalid.val() && u.arready.val() {
                ar = Some(c);
                sample = Some(self.sample());
            }
            if u.bvalid.val() && bready {
                b = Some(c);
            }
            if u.rvalid.val() && rready {
                rd = Some(c);
                data = u.rdata.val().to_u32();
            }
            self.tick();
        }
        let u = &mut self.uut;
        u.awvalid.next = false;
        u.wvalid.next = false;
        u.arvalid.next = false;
        u.bready.next = false;
        u.rready.next = false;
        let wdone =
            w.map(|_| WriteDone { begin, aw: aw.unwrap(), w: wd.unwrap(), b_first: b_first.unwrap(), b: b.unwrap() });
        let rdone = r.map(|_| ReadDone {
            data,
            sample: sample.unwrap(),
            begin,
            ar: ar.unwrap(),
            r_first: r_first.unwrap(),
            r: rd.unwrap(),
        });
        (wdone, rdone)
    }

    fn write_op(&mut self, addr: u32, data: u32, strb: u8, t: WriteTiming) -> WriteDone {
        self.transact(Some(WriteOp { addr, data, strb, t }), None).0.unwrap()
    }

    fn write_strb(&mut self, addr: u32, data: u32, strb: u8) -> WriteDone {
        self.write_op(addr, data, strb, WriteTiming::default())
    }

    fn write(&mut self, addr: u32, data: u32) -> WriteDone {
        self.write_strb(addr, data, 0xf)
    }

    fn read_op(&mut self, addr: u32, t: ReadTiming) -> ReadDone {
        self.transact(None, Some(ReadOp { addr, t })).1.unwrap()
    }

    fn read(&mut self, addr: u32) -> u32 {
        self.read_op(addr, ReadTiming::default()).data
    }

    /// Schedules a core pulse `delay` cycles from now (0: the next tick).
    fn pulse_in(&mut self, delay: u64, p: Pulse) -> u64 {
        let at = self.cycle + delay;
        self.core.scheduled.push((at, p));
        at
    }

    /// A done or error pulse now, then two idle cycles (status and interrupt
    /// have then followed).
    fn pulse(&mut self, p: Pulse) {
        self.pulse_in(0, p);
        self.idle(3);
    }

    fn outputs_to_core(&self) -> [u32; 4] {
        let u = &self.uut;
        [u.cmd_base.val().to_u32(), u.cmd_count.val().to_u32(), u.win_base.val().to_u32(), u.win_size.val().to_u32()]
    }
}

fn strb_mask(strb: u8) -> u32 {
    (0..4).filter(|i| strb >> i & 1 == 1).map(|i| 0xffu32 << (8 * i)).sum()
}

/// Value of a register right after reset, by the contract.
fn reset_value(caps: &Capabilities, off: u32) -> u32 {
    let cap = caps.to_words();
    match off {
        ID => ACCEL_ID,
        VERSION => VERSION_WORD,
        CAP_ARRAY => cap[0],
        CAP_BITS => cap[1],
        CAP_LIMITS => cap[2],
        CAP_BUFFERS => cap[3],
        _ => 0,
    }
}

const RW_WORDS: [u32; 4] = [CMD_BASE, CMD_COUNT, WIN_BASE, WIN_SIZE];

// ------------------------------------------------------------------------
// A reference model of the register semantics (transaction level).

#[derive(Debug, Clone)]
struct Model {
    caps: Capabilities,
    done: bool,
    error: bool,
    irq: bool,
    code: u32,
    index: u32,
    rw: [u32; 4],
    hi: [u32; 3],
    starts: usize,
    soft_resets: usize,
}

impl Model {
    fn new(caps: Capabilities) -> Model {
        Model {
            caps,
            done: false,
            error: false,
            irq: false,
            code: 0,
            index: 0,
            rw: [0; 4],
            hi: [0; 3],
            starts: 0,
            soft_resets: 0,
        }
    }

    fn write(&mut self, off: u32, data: u32, strb: u8, busy: bool) {
        let mask = strb_mask(strb);
        let bits = data & mask;
        match off {
            CTRL => {
                if bits & CTRL_SOFT_RESET != 0 {
                    self.done = false;
                    self.error = false;
                    self.soft_resets += 1;
                } else if bits & CTRL_START != 0 && !busy {
                    self.done = false;
                    self.error = false;
                    self.code = 0;
                    self.index = 0;
                    self.starts += 1;
                }
            }
            STATUS => {
                self.done &= bits & STATUS_DONE == 0;
                self.error &= bits & STATUS_ERROR == 0;
            }
            IRQ_ENABLE => {
                if mask & IRQ_ENABLE_BIT != 0 {
                    self.irq = bits & IRQ_ENABLE_BIT != 0;
                }
            }
            _ => {
                if let Some(k) = RW_WORDS.iter().position(|&o| o == off) {
                    self.rw[k] = (self.rw[k] & !mask) | bits;
                }
            }
        }
    }

    fn read(&mut self, off: u32, s: &Sample) -> u32 {
        let perf = |k: usize| (off - PERF_BUSY_LO) as usize / 8 == k;
        match off {
            STATUS => {
                (if s.busy { STATUS_BUSY } else { 0 })
                    | (if self.done { STATUS_DONE } else { 0 })
                    | (if self.error { STATUS_ERROR } else { 0 })
            }
            IRQ_ENABLE => {
                if self.irq {
                    IRQ_ENABLE_BIT
                } else {
                    0
                }
            }
            ERROR_CODE => self.code,
            ERROR_INDEX => self.index,
            CMDS_DONE => s.cmds_done,
            PERF_BUSY_LO | PERF_STALL_LO | PERF_MACS_LO => {
                let k = (0..3).find(|&k| perf(k)).unwrap();
                self.hi[k] = (s.perf[k] >> 32) as u32;
                s.perf[k] as u32
            }
            PERF_BUSY_HI | PERF_STALL_HI | PERF_MACS_HI => self.hi[((off - PERF_BUSY_HI) / 8) as usize],
            _ => match RW_WORDS.iter().position(|&o| o == off) {
                Some(k) => self.rw[k],
                None => reset_value(&self.caps, off),
            },
        }
    }

    fn pulse(&mut self, p: Pulse) {
        match p {
            Pulse::Done => self.done = true,
            Pulse::Error { code, index } => {
                self.error = true;
                self.code = code;
                self.index = index;
            }
        }
    }

    fn interrupt(&self) -> bool {
        self.irq && (self.done || self.error)
    }
}

fn assert_matches_model(b: &Bench, m: &Model, what: &str) {
    assert_eq!(b.outputs_to_core(), m.rw, "{what}: CMD_BASE, CMD_COUNT, WIN_BASE, WIN_SIZE outputs");
    assert_eq!(b.uut.interrupt.val(), m.interrupt(), "{what}: interrupt");
    assert_eq!(b.starts.len(), m.starts, "{what}: start pulses");
    assert_eq!(b.soft_resets.len(), m.soft_resets, "{what}: soft_reset pulses");
}

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
fn write_with_pulse(b: &mut Bench, off: u32, data: u32, p: Pulse) {
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

// ------------------------------------------------------------------------
// Random traffic against the reference model.

fn random_offset(rng: &mut ChaCha8Rng) -> u32 {
    match rng.gen_range(0..10) {
        0 => rng.gen_range(0..WINDOW_BYTES),
        1 => rng.gen_range(0..WINDOW_BYTES / 4) * 4,
        _ => REGISTERS[rng.gen_range(0..REGISTERS.len())].offset,
    }
}

fn random_strb(rng: &mut ChaCha8Rng) -> u8 {
    if rng.gen_bool(0.5) {
        0xf
    } else {
        rng.gen_range(0..16)
    }
}

fn random_write(rng: &mut ChaCha8Rng, addr: u32) -> WriteOp {
    let data = if addr == CTRL && rng.gen_bool(0.7) { rng.gen_range(0..4) } else { rng.gen() };
    let t = WriteTiming { aw: rng.gen_range(0..4), w: rng.gen_range(0..4), b: rng.gen_range(0..4) };
    WriteOp { addr, data, strb: random_strb(rng), t }
}

fn random_read(rng: &mut ChaCha8Rng, addr: u32) -> ReadOp {
    ReadOp { addr, t: ReadTiming { ar: rng.gen_range(0..4), r: rng.gen_range(0..4) } }
}

/// `ops` random steps (transactions and core events) on `b`, each checked
/// against the model.
fn random_traffic(b: &mut Bench, seed: u64, ops: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut m = Model::new(b.caps);
    // The bench has already run: bring the model to its state.
    m.starts = b.starts.len();
    m.soft_resets = b.soft_resets.len();
    for i in 0..ops {
        let what = format!("seed {seed} op {i}");
        match rng.gen_range(0..100) {
            0..=39 => {
                let addr = random_offset(&mut rng);
                let op = random_write(&mut rng, addr);
                let busy = b.core.busy;
                b.transact(Some(op), None);
                m.write(op.addr, op.data, op.strb, busy);
            }
            40..=74 => {
                let addr = random_offset(&mut rng);
                let op = random_read(&mut rng, addr);
                let r = b.transact(None, Some(op)).1.unwrap();
                assert_eq!(r.data, m.read(op.addr, &r.sample), "{what}: read {:#x}", op.addr);
            }
            75..=84 => {
                // A write and a read of different registers in flight together.
                let waddr = [CMD_BASE, CMD_COUNT, WIN_BASE, WIN_SIZE, IRQ_ENABLE][rng.gen_range(0..5)];
                let mut raddr = random_offset(&mut rng);
                while raddr == waddr {
                    raddr = random_offset(&mut rng);
                }
                let (w, r) = (random_write(&mut rng, waddr), random_read(&mut rng, raddr));
                let rd = b.transact(Some(w), Some(r)).1.unwrap();
                assert_eq!(rd.data, m.read(r.addr, &rd.sample), "{what}: read {raddr:#x} beside a write");
                m.write(w.addr, w.data, w.strb, b.core.busy);
            }
            85..=89 => {
                let p = if rng.gen_bool(0.5) {
                    Pulse::Done
                } else {
                    Pulse::Error { code: rng.gen_range(1..=16), index: rng.gen() }
                };
                b.pulse(p);
                m.pulse(p);
            }
            90..=93 => {
                b.core.busy = rng.gen_bool(0.5);
                b.core.cmds_done = rng.gen();
                b.idle(1);
            }
            94..=97 => {
                // Counters near a 2^32 boundary, growing at random rates.
                for k in 0..3 {
                    b.core.perf[k] = (rng.gen_range(0..8u64) << 32) | rng.gen_range(0xffff_ff00..=0xffff_ffffu64);
                    b.core.perf_step[k] = rng.gen_range(0..40);
                }
                b.idle(1);
            }
            _ => b.idle(rng.gen_range(1..6)),
        }
        assert_matches_model(b, &m, &what);
    }
}

#[test]
fn random_traffic_matches_the_reference_model() {
    for seed in 0..6 {
        let mut b = Bench::small();
        random_traffic(&mut b, seed, 400);
    }
}

// ------------------------------------------------------------------------
// The generated Verilog: lint, synthesis front end, co-simulation.

fn verilog() -> String {
    let mut uut = AxilRegs::new(&ArrayConfig::pynq_z2().capabilities());
    uut.connect_all();
    generate_verilog(&uut)
}

/// The one Verilator waiver: `interrupt` is the port name Vivado infers an
/// interrupt line from (and the name the register docs use); it only clashes
/// with a C++ word inside Verilator's own generated model, which renames it.
const WAIVERS: &str = r#"`verilator_config
lint_off -rule SYMRSVDWORD -file "*top.v" -match "*'interrupt'*"
"#;

#[test]
fn generated_verilog_lints_clean_with_verilator() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_modules(&verilog(), dir.path()).unwrap();
    let waivers = dir.path().join("waivers.vlt");
    std::fs::write(&waivers, WAIVERS).unwrap();
    let waived: Vec<_> = std::iter::once(waivers).chain(files.iter().cloned()).collect();
    verilator_lint(dir.path(), &waived, "top").unwrap_or_else(|e| panic!("{e}"));
    // Without the waiver, exactly the waived warning appears (so it is not stale).
    let e = verilator_lint(dir.path(), &files, "top").expect_err("the waived warning");
    let warnings: Vec<&str> = e.0.lines().filter(|l| l.starts_with("%Warning-")).collect();
    assert_eq!(warnings.len(), 1, "{e}");
    assert!(warnings[0].starts_with("%Warning-SYMRSVDWORD") && warnings[0].contains("'interrupt'"), "{e}");
}

#[test]
fn generated_verilog_passes_yosys_checks() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_modules(&verilog(), dir.path()).unwrap();
    yosys_elaborate(dir.path(), &files, "top").unwrap_or_else(|e| panic!("{e}"));
    // And rust-hdl's own check.
    yosys_validate("zynqflow_axil_regs", &verilog()).expect("yosys_validate");
}

/// Hex digits of a field of `bits` bits, as Verilog's `%h` prints it.
fn hex(v: u64, bits: usize) -> String {
    format!("{:0w$x}", v, w = bits.div_ceil(4))
}

/// The inputs of one cycle as one hex word, first input in the top bits.
fn packed(ins: &[u64]) -> String {
    let mut bits = vec![];
    for (&(_, w), &v) in INPUTS.iter().zip(ins) {
        bits.extend((0..w).rev().map(|i| v >> i & 1 == 1));
    }
    while bits.len() % 4 != 0 {
        bits.insert(0, false);
    }
    bits.chunks(4).map(|c| format!("{:x}", c.iter().fold(0, |a, &b| a << 1 | b as u8))).collect()
}

fn testbench(cycles: usize) -> String {
    let width: usize = INPUTS.iter().map(|p| p.1).sum();
    let decl = |(name, w): &(&str, usize)| {
        if *w == 1 {
            format!("    wire {name};\n")
        } else {
            format!("    wire [{}:0] {name};\n", w - 1)
        }
    };
    let mut s = String::from("`timescale 1ns/1ps\nmodule tb;\n    reg clock = 0;\n");
    s += &format!(
        "    reg [{}:0] stim [0:{}];\n    reg [{}:0] now;\n    integer i;\n",
        width - 1,
        cycles - 1,
        width - 1
    );
    for p in INPUTS.iter().chain(OUTPUTS) {
        s += &decl(p);
    }
    let names = |ps: &[(&str, usize)]| ps.iter().map(|p| p.0).collect::<Vec<_>>().join(", ");
    s += &format!("    assign {{{}}} = now;\n", names(INPUTS));
    let conns: Vec<String> = std::iter::once("clock")
        .chain(INPUTS.iter().chain(OUTPUTS).map(|p| p.0))
        .map(|n| format!(".{n}({n})"))
        .collect();
    s += &format!("    top dut({});\n", conns.join(", "));
    let fmt = vec!["%h"; OUTPUTS.len()].join(" ");
    s += &format!(
        "    initial begin\n        $readmemh(\"stim.hex\", stim);\n        for (i = 0; i < {cycles}; i = i + 1) begin\n            now = stim[i];\n            #1 $display(\"{fmt}\", {});\n            #4 clock = 1;\n            #5 clock = 0;\n        end\n        $finish;\n    end\nendmodule\n",
        names(OUTPUTS)
    );
    s
}

#[test]
fn generated_verilog_cosimulates_cycle_for_cycle_with_the_rust_simulation() {
    let v = verilog();
    // The testbench drives every port the generated module has.
    let header = v.lines().find(|l| l.starts_with("module top(")).unwrap();
    let mut ports: Vec<&str> = header["module top(".len()..header.len() - 2].split(',').collect();
    let mut ours: Vec<&str> = std::iter::once("clock").chain(INPUTS.iter().chain(OUTPUTS).map(|p| p.0)).collect();
    ports.sort_unstable();
    ours.sort_unstable();
    assert_eq!(ports, ours);

    // The same capabilities as `verilog()`, directed sequences, then random traffic.
    let mut b = Bench::new(ArrayConfig::pynq_z2().capabilities());
    for r in REGISTERS {
        b.read(r.offset);
    }
    b.core.perf = [0xffff_fffe, 0x1_ffff_fff0, 5];
    b.core.perf_step = [1, 7, 64];
    for (off, v) in RW_WORDS.iter().zip([0x1000_0000, 3, 0x1000_0000, 0x40_0000]) {
        b.write_op(*off, v, 0xf, WriteTiming { aw: 1, w: 0, b: 2 });
    }
    b.write_strb(CMD_BASE, 0xabcd_ef01, 0b0110);
    b.write(IRQ_ENABLE, IRQ_ENABLE_BIT);
    b.write(CTRL, CTRL_START);
    b.core.busy = true;
    b.write(CTRL, CTRL_START);
    b.pulse(Pulse::Error { code: 9, index: 77 });
    b.core.busy = false;
    for off in [STATUS, ERROR_CODE, ERROR_INDEX, PERF_BUSY_LO, PERF_BUSY_HI, PERF_STALL_LO, PERF_STALL_HI] {
        b.read_op(off, ReadTiming { ar: 2, r: 3 });
    }
    write_with_pulse(&mut b, STATUS, STATUS_ERROR, Pulse::Done);
    b.write(CTRL, CTRL_START | CTRL_SOFT_RESET);
    // Random traffic from reset (where the model starts).
    b.uut.reset.next = true;
    b.idle(2);
    b.uut.reset.next = false;
    b.idle(1);
    random_traffic(&mut b, 99, 900);
    assert!(b.trace.len() > 4000, "{} cycles", b.trace.len());
    assert!(b.trace.iter().any(|(_, o)| o[IDX_START] == 1) && b.trace.iter().any(|(_, o)| o[IDX_INTERRUPT] == 1));

    let dir = tempfile::tempdir().unwrap();
    let files = write_modules(&v, dir.path()).unwrap();
    let tb = dir.path().join("tb.v");
    std::fs::write(&tb, testbench(b.trace.len())).unwrap();
    let stim: String = b.trace.iter().map(|(i, _)| packed(i) + "\n").collect();
    std::fs::write(dir.path().join("stim.hex"), stim).unwrap();
    let text = icarus_run(dir.path(), &files, &tb, "tb").unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<&str> = text.lines().filter(|l| !l.is_empty() && !l.contains("$finish")).collect();
    assert_eq!(got.len(), b.trace.len(), "Verilog printed {} cycles:\n{}", got.len(), &text[..text.len().min(2000)]);
    for (c, ((ins, outs), line)) in b.trace.iter().zip(&got).enumerate() {
        let want: Vec<String> = OUTPUTS.iter().zip(outs).map(|(&(_, w), &v)| hex(v, w)).collect();
        let want = want.join(" ");
        if want != *line {
            let names: Vec<&str> = OUTPUTS.iter().map(|p| p.0).collect();
            panic!("cycle {c}: Verilog and rust-hdl disagree\n  outputs: {names:?}\n  rust-hdl: {want}\n  verilog:  {line}\n  inputs: {ins:x?}");
        }
    }
}

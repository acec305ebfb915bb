//! The testbench: an AXI4-Lite master that can delay each channel and hold
//! `bready`/`rready` low, a stand-in for the core's side (busy, pulses,
//! counters), and the AXI4-Lite slave protocol checks run on every cycle.

use rust_hdl::prelude::*;
use zynqflow_hdl::axil_regs::AxilRegs;
use zynqflow_isa::{ArrayConfig, Capabilities};

use crate::ports::{input_values, output_values, IDX_BVALID, IDX_INTERRUPT, IDX_RDATA, IDX_RVALID, IDX_START, OUTPUTS};

// ------------------------------------------------------------------------
// The testbench.

/// What the core drives, and one-shot pulses scheduled at given cycles.
#[derive(Debug, Clone, Default)]
pub struct Core {
    pub busy: bool,
    pub cmds_done: u32,
    /// BUSY, STALL, MACS counters and how much each grows per cycle.
    pub perf: [u64; 3],
    pub perf_step: [u64; 3],
    /// `(cycle, event)`, applied in that cycle only.
    scheduled: Vec<(u64, Pulse)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pulse {
    Done,
    Error { code: u32, index: u32 },
}

/// The core inputs as sampled in one cycle (what a read returns).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub busy: bool,
    pub cmds_done: u32,
    pub perf: [u64; 3],
}

/// Delays of one write: cycles before `awvalid`, before `wvalid`, and
/// between `bvalid` and `bready`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteTiming {
    pub aw: u64,
    pub w: u64,
    pub b: u64,
}

/// Delays of one read: cycles before `arvalid`, between `rvalid` and `rready`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadTiming {
    pub ar: u64,
    pub r: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct WriteOp {
    pub addr: u32,
    pub data: u32,
    pub strb: u8,
    pub t: WriteTiming,
}

#[derive(Debug, Clone, Copy)]
pub struct ReadOp {
    pub addr: u32,
    pub t: ReadTiming,
}

/// Cycle numbers of one write's handshakes.
#[derive(Debug, Clone, Copy)]
pub struct WriteDone {
    pub begin: u64,
    pub aw: u64,
    pub w: u64,
    pub b_first: u64,
    pub b: u64,
}

/// One read's data, the core inputs at its address handshake, and its cycles.
#[derive(Debug, Clone, Copy)]
pub struct ReadDone {
    pub data: u32,
    pub sample: Sample,
    pub begin: u64,
    pub ar: u64,
    pub r_first: u64,
    pub r: u64,
}

pub struct Bench {
    pub uut: AxilRegs,
    pub caps: Capabilities,
    cycle: u64,
    pub core: Core,
    /// Cycles in which `start` / `soft_reset` were high.
    pub starts: Vec<u64>,
    pub soft_resets: Vec<u64>,
    /// Per cycle: input and output values (see `INPUTS`, `OUTPUTS`).
    pub trace: Vec<(Vec<u64>, Vec<u64>)>,
    /// Last cycle's outputs and `bready`/`rready`, for the hold checks.
    last: Option<(Vec<u64>, bool, bool)>,
}

impl Bench {
    pub fn new(caps: Capabilities) -> Bench {
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

    pub fn small() -> Bench {
        Bench::new(ArrayConfig::small().capabilities())
    }

    pub fn settle(&mut self) {
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
    pub fn tick(&mut self) {
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

    pub fn idle(&mut self, n: u64) {
        for _ in 0..n {
            self.tick();
        }
    }

    /// Runs one write and/or one read concurrently, each with its own timing,
    /// until both have completed their response handshakes.
    pub fn transact(&mut self, w: Option<WriteOp>, r: Option<ReadOp>) -> (Option<WriteDone>, Option<ReadDone>) {
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

    pub fn write_op(&mut self, addr: u32, data: u32, strb: u8, t: WriteTiming) -> WriteDone {
        self.transact(Some(WriteOp { addr, data, strb, t }), None).0.unwrap()
    }

    pub fn write_strb(&mut self, addr: u32, data: u32, strb: u8) -> WriteDone {
        self.write_op(addr, data, strb, WriteTiming::default())
    }

    pub fn write(&mut self, addr: u32, data: u32) -> WriteDone {
        self.write_strb(addr, data, 0xf)
    }

    pub fn read_op(&mut self, addr: u32, t: ReadTiming) -> ReadDone {
        self.transact(None, Some(ReadOp { addr, t })).1.unwrap()
    }

    pub fn read(&mut self, addr: u32) -> u32 {
        self.read_op(addr, ReadTiming::default()).data
    }

    /// Schedules a core pulse `delay` cycles from now (0: the next tick).
    pub fn pulse_in(&mut self, delay: u64, p: Pulse) -> u64 {
        let at = self.cycle + delay;
        self.core.scheduled.push((at, p));
        at
    }

    /// A done or error pulse now, then two idle cycles (status and interrupt
    /// have then followed).
    pub fn pulse(&mut self, p: Pulse) {
        self.pulse_in(0, p);
        self.idle(3);
    }

    pub fn outputs_to_core(&self) -> [u32; 4] {
        let u = &self.uut;
        [u.cmd_base.val().to_u32(), u.cmd_count.val().to_u32(), u.win_base.val().to_u32(), u.win_size.val().to_u32()]
    }
}

//! `AxiDrain` alone, in rust-hdl's simulator: a random AXI master model on
//! the engine side (reset abruptly at each soft reset, as the real engines
//! are) and an AXI slave model with latency and back-pressure on the port.
//! The AXI rules are checked at the port every cycle; after each soft reset
//! the drain must end, leave the slave with nothing outstanding, and show the
//! engines nothing of the old transactions.

mod common;

use std::collections::VecDeque;

use common::{Clocked, Driver};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_hdl::axi_drain::AxiDrain;

type Uut = AxiDrain<64, 8>;

/// Cycles a drain may take at most with this slave (latency ≤ 30, ready
/// about half of the time, ≤ 16 bursts of ≤ 16 beats per direction).
const DRAIN_BOUND: u64 = 3000;

impl Clocked for Uut {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

/// The engines: random AR/AW/W traffic obeying AXI on the engine side, at
/// most 16 bursts outstanding per direction; forgets everything at a reset.
#[derive(Default)]
struct Engine {
    ar: Option<(u64, u64)>,
    rd_out: usize,
    rbeats: VecDeque<u64>,
    rbeat: u64,
    aw: Option<(u64, u64)>,
    wq: VecDeque<u64>,
    w: Option<(u64, u64, bool)>,
    wbeat: u64,
    b_out: usize,
    rready: bool,
    bready: bool,
}

/// The slave at the port: queues with the cycle each answer may appear.
#[derive(Default)]
struct Slave {
    reads: VecDeque<(u64, u64, u64)>,
    rbeat: u64,
    aws: VecDeque<u64>,
    wbeat: u64,
    bs: VecDeque<u64>,
    arready: bool,
    awready: bool,
    wready: bool,
}

impl Slave {
    fn idle(&self) -> bool {
        self.reads.is_empty() && self.aws.is_empty() && self.bs.is_empty()
    }
}

/// What the port showed in a cycle (valid, payload) for the hold checks.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
struct Shown {
    valid: bool,
    payload: (u64, u64, u64, u64),
}

fn run_case(seed: u64) -> (u32, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sim = Driver::new(Uut::new());
    let mut eng = Engine::default();
    let mut sl = Slave::default();
    let (latency, p_ready, p_new) = (rng.gen_range(1..30u64), rng.gen_range(0.2..0.9), rng.gen_range(0.1..0.7));
    let cycles: u64 = rng.gen_range(800..1600);
    let mut resets: Vec<u64> = (0..rng.gen_range(1..4)).map(|_| rng.gen_range(5..cycles - 200)).collect();
    resets.sort();
    let (mut prev_ar, mut prev_aw, mut prev_w) = (Shown::default(), Shown::default(), Shown::default());
    let (mut ar_wait, mut aw_wait, mut w_wait) = (false, false, false);
    // The W beat left waiting at the soft reset keeps its strobes.
    let mut held_w_strobed = false;
    let mut drain_since: Option<u64> = None;
    let (mut drains, mut max_drain) = (0u32, 0u64);
    sim.uut.reset.next = true;
    sim.tick();
    sim.uut.reset.next = false;
    let mut t = 0u64;
    while t < cycles || drain_since.is_some() {
        let soft = resets.contains(&t);
        // Engine outputs (registered in the model).
        if eng.ar.is_none() && eng.rd_out < 16 && rng.gen_bool(p_new) {
            eng.ar = Some((rng.gen_range(0..1u64 << 20) * 8, rng.gen_range(0..16)));
            eng.rd_out += 1;
        }
        if eng.aw.is_none() && eng.b_out < 16 && rng.gen_bool(p_new) {
            eng.aw = Some((rng.gen_range(0..1u64 << 20) * 8, rng.gen_range(0..16)));
            eng.b_out += 1;
        }
        if eng.w.is_none() {
            if let Some(&len) = eng.wq.front() {
                if rng.gen_bool(0.8) {
                    let strb = if rng.gen_bool(0.2) { 0 } else { rng.gen_range(1..256) };
                    eng.w = Some((rng.gen(), strb, eng.wbeat == len));
                }
            }
        }
        eng.rready = rng.gen_bool(0.8);
        eng.bready = rng.gen_bool(0.8);
        let u = &mut sim.uut;
        u.soft_reset.next = soft;
        let (araddr, arlen) = eng.ar.unwrap_or((0, 0));
        u.e_araddr.next = araddr.into();
        u.e_arlen.next = arlen.into();
        u.e_arsize.next = 3u64.into();
        u.e_arburst.next = 1u64.into();
        u.e_arvalid.next = eng.ar.is_some();
        u.e_rready.next = eng.rready;
        let (awaddr, awlen) = eng.aw.unwrap_or((0, 0));
        u.e_awaddr.next = awaddr.into();
        u.e_awlen.next = awlen.into();
        u.e_awsize.next = 3u64.into();
        u.e_awburst.next = 1u64.into();
        u.e_awvalid.next = eng.aw.is_some();
        let (wdata, wstrb, wlast) = eng.w.unwrap_or((0, 0, false));
        u.e_wdata.next = wdata.into();
        u.e_wstrb.next = wstrb.into();
        u.e_wlast.next = wlast;
        u.e_wvalid.next = eng.w.is_some();
        u.e_bready.next = eng.bready;
        // Slave outputs.
        sl.arready = rng.gen_bool(p_ready);
        sl.awready = rng.gen_bool(p_ready);
        sl.wready = !sl.aws.is_empty() && rng.gen_bool(p_ready);
        let r = sl.reads.front().copied().filter(|&(at, _, _)| at <= t);
        u.m_arready.next = sl.arready;
        u.m_awready.next = sl.awready;
        u.m_wready.next = sl.wready;
        u.m_rvalid.next = r.is_some();
        u.m_rdata.next = (r.map_or(0, |(_, a, _)| a) + sl.rbeat).into();
        u.m_rresp.next = 0u64.into();
        u.m_rlast.next = r.is_some_and(|(_, _, len)| sl.rbeat == len);
        let b = sl.bs.front().is_some_and(|&at| at <= t);
        u.m_bvalid.next = b;
        u.m_bresp.next = 0u64.into();
        sim.settle();
        let u = &sim.uut;
        let draining = u.draining.val();
        let ctx = format!("seed {seed} cycle {t} draining {draining}");
        // Nothing left at the slave from before this cycle's handshakes.
        let slave_clean = sl.idle() && !ar_wait && !aw_wait && !w_wait;

        // The port, as the slave sees it.
        let ar = Shown {
            valid: u.m_arvalid.val(),
            payload: (
                u.m_araddr.val().to_u64(),
                u.m_arlen.val().to_u64(),
                u.m_arsize.val().to_u64(),
                u.m_arburst.val().to_u64(),
            ),
        };
        let aw = Shown {
            valid: u.m_awvalid.val(),
            payload: (
                u.m_awaddr.val().to_u64(),
                u.m_awlen.val().to_u64(),
                u.m_awsize.val().to_u64(),
                u.m_awburst.val().to_u64(),
            ),
        };
        let w = Shown {
            valid: u.m_wvalid.val(),
            payload: (u.m_wdata.val().to_u64(), u.m_wstrb.val().to_u64(), u.m_wlast.val() as u64, 0),
        };
        // Valid held until ready, payload stable.
        for (name, wait, prev, now) in
            [("AR", ar_wait, prev_ar, ar), ("AW", aw_wait, prev_aw, aw), ("W", w_wait, prev_w, w)]
        {
            if wait {
                assert_eq!(prev, now, "{ctx}: {name} changed before its handshake");
            }
        }
        // No new AR/AW during a drain.
        if draining {
            assert!(!ar.valid || ar_wait, "{ctx}: new AR during the drain");
            assert!(!aw.valid || aw_wait, "{ctx}: new AW during the drain");
            if w.valid && !(w_wait && held_w_strobed) {
                assert_eq!(w.payload.1, 0, "{ctx}: a drain beat with strobes");
            }
            // The engines see nothing.
            assert!(!u.e_arready.val() && !u.e_awready.val() && !u.e_wready.val(), "{ctx}: ready to the engines");
            assert!(!u.e_rvalid.val() && !u.e_bvalid.val(), "{ctx}: response to the engines");
        } else {
            assert_eq!(ar, Shown { valid: eng.ar.is_some(), payload: (araddr, arlen, 3, 1) }, "{ctx}: AR not wired");
            assert_eq!(w.valid, eng.w.is_some(), "{ctx}: W not wired");
        }
        assert!(ar.payload.1 < 16 && aw.payload.1 < 16, "{ctx}: burst length");
        let (ar_hs, aw_hs, w_hs) = (ar.valid && sl.arready, aw.valid && sl.awready, w.valid && sl.wready);
        assert!(!w.valid || !sl.aws.is_empty(), "{ctx}: W beat without an accepted AW");
        let r_hs = r.is_some() && u.m_rready.val();
        let b_hs = b && u.m_bready.val();
        // The engine side.
        let e_ar = eng.ar.is_some() && u.e_arready.val();
        let e_aw = eng.aw.is_some() && u.e_awready.val();
        let e_w = eng.w.is_some() && u.e_wready.val();
        let e_r = u.e_rvalid.val() && eng.rready;
        let e_b = u.e_bvalid.val() && eng.bready;
        let e_rlast = u.e_rlast.val();

        // Slave bookkeeping.
        if ar_hs {
            sl.reads.push_back((t + latency, ar.payload.0, ar.payload.1));
        }
        if aw_hs {
            sl.aws.push_back(aw.payload.1);
        }
        if w_hs {
            let len = sl.aws[0];
            assert_eq!(w.payload.2 == 1, sl.wbeat == len, "{ctx}: wlast on beat {} of {}", sl.wbeat, len + 1);
            sl.wbeat += 1;
            if sl.wbeat > len {
                sl.aws.pop_front();
                sl.wbeat = 0;
                sl.bs.push_back(t + latency);
            }
        }
        if r_hs {
            let (_, _, len) = sl.reads[0];
            sl.rbeat += 1;
            if sl.rbeat > len {
                sl.reads.pop_front();
                sl.rbeat = 0;
            }
        }
        if b_hs {
            sl.bs.pop_front();
        }
        ar_wait = ar.valid && !ar_hs;
        aw_wait = aw.valid && !aw_hs;
        w_wait = w.valid && !w_hs;
        (prev_ar, prev_aw, prev_w) = (ar, aw, w);

        // Engine bookkeeping: only its own transactions may come back.
        if e_ar {
            eng.rbeats.push_back(eng.ar.take().unwrap().1);
        }
        if e_aw {
            eng.wq.push_back(eng.aw.take().unwrap().1);
        }
        if e_w {
            let (_, _, last) = eng.w.take().unwrap();
            if last {
                eng.wq.pop_front();
                eng.wbeat = 0;
            } else {
                eng.wbeat += 1;
            }
        }
        if e_r {
            let len = *eng.rbeats.front().unwrap_or_else(|| panic!("{ctx}: R beat the engine never asked for"));
            assert_eq!(e_rlast, eng.rbeat == len, "{ctx}: rlast to the engine");
            eng.rbeat += 1;
            if eng.rbeat > len {
                eng.rbeats.pop_front();
                eng.rbeat = 0;
                eng.rd_out -= 1;
            }
        }
        if e_b {
            assert!(eng.b_out > eng.wq.len() + usize::from(eng.aw.is_some()), "{ctx}: B the engine never owed");
            eng.b_out -= 1;
        }

        if let Some(since) = drain_since {
            if !draining && t > since {
                assert!(slave_clean, "{ctx}: drain ended with the slave busy");
                max_drain = max_drain.max(t - since);
                drain_since = None;
            } else {
                assert!(t - since < DRAIN_BOUND, "{ctx}: drain does not end");
            }
        }
        // Soft reset: the engine forgets; the drain takes over.
        if soft {
            eng = Engine::default();
            held_w_strobed = w_wait;
            drain_since.get_or_insert(t);
            drains += 1;
        }
        sim.tick();
        t += 1;
    }
    (drains, max_drain)
}

#[test]
fn soft_reset_at_random_cycles_drains_by_the_rules() {
    let (mut drains, mut longest) = (0, 0);
    for seed in 0..60 {
        let (d, m) = run_case(seed);
        drains += d;
        longest = longest.max(m);
    }
    eprintln!("{drains} drains, longest {longest} cycles");
    assert!(drains >= 60);
}

//! The AXI4 master DMA engines (`AxiReader`, `AxiWriter`) against AXI slave
//! memory models written here: protocol rules checked every cycle (burst
//! length, 4 KiB boundary, INCR, size, valid/payload held until ready, `wlast`,
//! no data beat without a burst, counts), randomized seeded traffic with
//! back-pressure and read latency 0..60, data against memory, `busy` and
//! `error` cycle by cycle, SLVERR responses, throughput with a fixed-latency
//! memory, and the generated Verilog of both widths: Verilator lint, yosys
//! elaboration, an Icarus Verilog replay of a random run, and yosys sizes.

mod common;

use std::collections::{HashMap, VecDeque};

use common::{Clocked, Value, VectorLog};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_hdl::axi_master::{AxiReader, AxiWriter, AxiWriter128, AxiWriter64, MAX_OUTSTANDING};
use zynqflow_hdl::verilog_check;

impl<const D: usize> Clocked for AxiReader<D> {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

impl<const D: usize, const S: usize> Clocked for AxiWriter<D, S> {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

/// The slave models read combinational outputs (`rready`, `in_ready`, ...)
/// after the inputs of a cycle are applied and before the edge: they call
/// `settle` between `tick`s.
type Sim<T> = common::Driver<T>;

// ------------------------------------------------------------------------
// Shared helpers.

fn lanes<const N: usize>(b: Bits<N>) -> Value {
    if N <= 64 {
        vec![b.to_u64()]
    } else {
        (0..N / 64).map(|i| b.get_bits::<64>(64 * i).to_u64()).collect()
    }
}

fn bits<const N: usize>(v: u64) -> Bits<N> {
    v.into()
}

fn wide<const N: usize>(ls: &[u64]) -> Bits<N> {
    if N <= 64 {
        ls[0].into()
    } else {
        common::word::<N>(ls)
    }
}

/// The initial memory: a fixed function of the word address.
fn mem_word(addr: u64) -> u64 {
    let mut z = addr.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One request: byte address (multiple of 8) and 64-bit word count.
#[derive(Clone, Copy, Debug)]
struct Req {
    addr: u32,
    words: u32,
}

/// The bursts an AXI3 master should issue for `r` with `b`-byte beats:
/// greedy, at most 16 beats, never across 4 KiB — (address, beats).
fn canonical_bursts(r: Req, b: u64) -> Vec<(u64, u64)> {
    let start = u64::from(r.addr) / b * b;
    let end = u64::from(r.addr) + 8 * u64::from(r.words);
    let mut out = vec![];
    let mut a = start;
    while a < end {
        let to_page = (4096 - a % 4096) / b;
        let left = (end - a).div_ceil(b);
        let n = left.min(16).min(to_page);
        out.push((a, n));
        a += n * b;
    }
    out
}

/// Seeded random requests: 1 word, short, long (> 16 beats), 4 KiB
/// crossings, odd counts, 8- but not 16-aligned addresses.
fn random_requests(rng: &mut ChaCha8Rng, n: usize) -> Vec<Req> {
    (0..n)
        .map(|_| {
            let words = match rng.gen_range(0..20) {
                0..=3 => 1,
                4..=10 => rng.gen_range(2..=8),
                11..=15 => rng.gen_range(9..=40),
                16..=18 => rng.gen_range(41..=140),
                _ => rng.gen_range(300..=700),
            };
            let page = 0x1000_0000u32 + 4096 * rng.gen_range(0..64u32);
            let off = match rng.gen_range(0..4) {
                // Close to the end of the page: crosses it for most counts.
                0 => 4096 - 8 * rng.gen_range(1..=20u32),
                1 => 8 * rng.gen_range(0..4u32),
                _ => 8 * rng.gen_range(0..512u32),
            };
            Req { addr: page + off, words }
        })
        .collect()
}

/// Protocol checks of one address channel handshake.
fn check_burst(addr: u64, len: u64, size: u64, burst: u64, b: u64, what: &str) {
    assert_eq!(size, b.trailing_zeros() as u64, "{what}: size");
    assert_eq!(burst, 1, "{what}: burst type INCR");
    assert!(len < 16, "{what}: {} beats > 16", len + 1);
    assert_eq!(addr % b, 0, "{what}: address {addr:#x} not beat aligned");
    assert!(addr % 4096 + (len + 1) * b <= 4096, "{what}: {addr:#x} + {} beats crosses 4 KiB", len + 1);
}

/// Slave behaviour: probabilities per cycle and read latency range.
#[derive(Clone, Copy)]
struct Slave {
    p_addr_ready: f64,
    p_data_ready: f64,
    p_gap: f64,
    lat: (u64, u64),
    p_client_gap: f64,
    p_out_ready: f64,
}

const RANDOM: Slave =
    Slave { p_addr_ready: 0.6, p_data_ready: 0.7, p_gap: 0.25, lat: (0, 60), p_client_gap: 0.3, p_out_ready: 0.7 };
const FAST: Slave =
    Slave { p_addr_ready: 1.0, p_data_ready: 1.0, p_gap: 0.0, lat: (40, 40), p_client_gap: 0.0, p_out_ready: 1.0 };

// ------------------------------------------------------------------------
// Reader bench.

const R_INPUTS: [&str; 10] =
    ["reset", "req_valid", "req_addr", "req_words", "out_ready", "arready", "rdata", "rresp", "rlast", "rvalid"];
const R_OUTPUTS: [&str; 11] = [
    "req_ready",
    "out_word",
    "out_valid",
    "busy",
    "error",
    "araddr",
    "arlen",
    "arsize",
    "arburst",
    "arvalid",
    "rready",
];

/// A burst accepted on AR: beat-aligned address, beats, first cycle its data
/// may be returned.
struct RBurst {
    addr: u64,
    beats: u64,
    ready_at: u64,
}

struct ReaderBench<const D: usize> {
    sim: Sim<AxiReader<D>>,
    rng: ChaCha8Rng,
    slave: Slave,
    cycle: u64,
    /// AR offered and not taken in the previous cycle: (addr, len).
    ar_held: Option<(u64, u64)>,
    bursts: VecDeque<RBurst>,
    beat: u64,
    /// The R beat offered and not taken in the previous cycle.
    r_held: Option<(Value, u64, bool)>,
    out_held: Option<u64>,
    /// Beat addresses that answer SLVERR.
    slverr: Vec<u64>,
    pending: VecDeque<Req>,
    req_held: bool,
    expected: VecDeque<u64>,
    accepted: u64,
    delivered: u64,
    err: bool,
    max_outstanding: usize,
    ar_count: u64,
    log: Option<VectorLog>,
}

impl<const D: usize> ReaderBench<D> {
    const B: u64 = D as u64 / 8;

    fn new(seed: u64, slave: Slave, logged: bool) -> Self {
        let widths_in = [1, 1, 32, 24, 1, 1, D, 2, 1, 1];
        let widths_out = [1, 64, 1, 1, 1, 32, 8, 3, 2, 1, 1];
        let log = logged.then(|| {
            let ins: Vec<(&str, usize)> = R_INPUTS.iter().copied().zip(widths_in).collect();
            let outs: Vec<(&str, usize)> = R_OUTPUTS.iter().copied().zip(widths_out).collect();
            VectorLog::new(&ins, &outs)
        });
        let mut b = ReaderBench {
            sim: Sim::new(AxiReader::<D>::new()),
            rng: ChaCha8Rng::seed_from_u64(seed),
            slave,
            cycle: 0,
            ar_held: None,
            bursts: VecDeque::new(),
            beat: 0,
            r_held: None,
            out_held: None,
            slverr: vec![],
            pending: VecDeque::new(),
            req_held: false,
            expected: VecDeque::new(),
            accepted: 0,
            delivered: 0,
            err: false,
            max_outstanding: 0,
            ar_count: 0,
            log,
        };
        b.step(true);
        b
    }

    /// One clock cycle of slave, client and block; checks everything.
    fn step(&mut self, reset: bool) {
        let s = self.slave;
        let t = self.cycle;
        // Slave inputs.
        let arready = self.rng.gen_bool(s.p_addr_ready);
        let r = if let Some(h) = self.r_held.clone() {
            Some(h)
        } else if let Some(front) = self.bursts.front() {
            if t >= front.ready_at && !self.rng.gen_bool(s.p_gap) {
                let a = front.addr + self.beat * Self::B;
                let data: Value = (0..D as u64 / 64).map(|l| mem_word(a + 8 * l)).collect();
                let resp = if self.slverr.contains(&a) { 2 } else { 0 };
                Some((data, resp, self.beat + 1 == front.beats))
            } else {
                None
            }
        } else {
            None
        };
        // Client inputs.
        let req = if !reset && (self.req_held || !self.rng.gen_bool(s.p_client_gap)) {
            self.pending.front().copied()
        } else {
            None
        };
        let out_ready = self.rng.gen_bool(s.p_out_ready);

        let u = &mut self.sim.uut;
        u.reset.next = reset;
        u.req_valid.next = req.is_some();
        if let Some(q) = req {
            u.req_addr.next = bits(u64::from(q.addr));
            u.req_words.next = bits(u64::from(q.words));
        }
        u.out_ready.next = out_ready;
        u.arready.next = arready;
        u.rvalid.next = r.is_some();
        if let Some((data, resp, last)) = &r {
            u.rdata.next = wide::<D>(data);
            u.rresp.next = bits(*resp);
            u.rlast.next = *last;
        }
        let inputs: Vec<Value> = vec![
            vec![u64::from(reset)],
            vec![u64::from(req.is_some())],
            lanes(u.req_addr.next),
            lanes(u.req_words.next),
            vec![u64::from(out_ready)],
            vec![u64::from(arready)],
            lanes(u.rdata.next),
            lanes(u.rresp.next),
            vec![u64::from(u.rlast.next)],
            vec![u64::from(r.is_some())],
        ];
        self.sim.settle();
        let u = &self.sim.uut;

        // AR channel.
        let arvalid = u.arvalid.val();
        let (araddr, arlen) = (u.araddr.val().to_u64(), u.arlen.val().to_u64());
        if let Some(h) = self.ar_held {
            assert!(arvalid, "cycle {t}: arvalid dropped before arready");
            assert_eq!((araddr, arlen), h, "cycle {t}: AR changed before arready");
        }
        self.ar_held = (arvalid && !arready && !reset).then_some((araddr, arlen));
        if arvalid && arready && !reset {
            check_burst(araddr, arlen, u.arsize.val().to_u64(), u.arburst.val().to_u64(), Self::B, "AR");
            let lat = self.rng.gen_range(s.lat.0..=s.lat.1);
            // In order: never before the previous burst's data.
            let prev = self.bursts.back().map_or(0, |b| b.ready_at);
            self.bursts.push_back(RBurst { addr: araddr, beats: arlen + 1, ready_at: (t + 1 + lat).max(prev) });
            self.ar_count += 1;
            self.max_outstanding = self.max_outstanding.max(self.bursts.len());
        }
        // R channel.
        let rready = u.rready.val();
        if let Some((data, resp, last)) = r {
            if rready {
                if resp != 0 {
                    self.err = true;
                }
                self.beat += 1;
                if last {
                    self.bursts.pop_front();
                    self.beat = 0;
                }
                self.r_held = None;
            } else {
                self.r_held = Some((data, resp, last));
            }
        }
        // Data out.
        if let Some(w) = self.out_held {
            assert!(u.out_valid.val(), "cycle {t}: out_valid dropped before out_ready");
            assert_eq!(u.out_word.val().to_u64(), w, "cycle {t}: out_word changed before out_ready");
        }
        self.out_held = None;
        if u.out_valid.val() {
            let w = u.out_word.val().to_u64();
            if out_ready {
                let want = self.expected.pop_front().unwrap_or_else(|| panic!("cycle {t}: a word nobody asked for"));
                assert_eq!(w, want, "cycle {t}: word {} delivered", self.delivered);
                self.delivered += 1;
            } else {
                self.out_held = Some(w);
            }
        }
        // Requests.
        self.req_held = false;
        if let Some(q) = req {
            if u.req_ready.val() {
                self.pending.pop_front();
                self.accepted += u64::from(q.words);
                self.expected.extend((0..u64::from(q.words)).map(|i| mem_word(u64::from(q.addr) + 8 * i)));
            } else {
                self.req_held = true;
            }
        }

        self.sim.tick();
        self.cycle += 1;
        let u = &self.sim.uut;
        if reset {
            self.err = false;
        }
        assert_eq!(u.busy.val(), self.accepted > self.delivered, "busy after edge {t}");
        assert_eq!(u.error.val(), self.err, "error after edge {t}");
        if let Some(log) = self.log.as_mut() {
            let outputs: Vec<Value> = vec![
                vec![u64::from(u.req_ready.val())],
                lanes(u.out_word.val()),
                vec![u64::from(u.out_valid.val())],
                vec![u64::from(u.busy.val())],
                vec![u64::from(u.error.val())],
                lanes(u.araddr.val()),
                lanes(u.arlen.val()),
                lanes(u.arsize.val()),
                lanes(u.arburst.val()),
                vec![u64::from(u.arvalid.val())],
                vec![u64::from(u.rready.val())],
            ];
            log.record(inputs, outputs);
        }
    }

    /// Runs `reqs` to completion; returns the cycles taken.
    fn run(&mut self, reqs: &[Req]) -> u64 {
        let start = self.cycle;
        self.pending.extend(reqs.iter().copied());
        let limit = self.cycle + 200_000;
        while !self.pending.is_empty() || self.accepted > self.delivered {
            self.step(false);
            assert!(self.cycle < limit, "stuck: {} words left", self.accepted - self.delivered);
        }
        assert!(self.bursts.is_empty() && self.r_held.is_none(), "bursts left at the slave");
        assert!(!self.sim.uut.busy.val());
        self.cycle - start
    }
}

// ------------------------------------------------------------------------
// Writer bench.

const W_INPUTS: [&str; 10] =
    ["reset", "req_valid", "req_addr", "req_words", "in_word", "in_strb", "in_valid", "awready", "wready", "bresp"];
const W_INPUTS2: [&str; 1] = ["bvalid"];
const W_OUTPUTS: [&str; 14] = [
    "req_ready",
    "in_ready",
    "busy",
    "error",
    "awaddr",
    "awlen",
    "awsize",
    "awburst",
    "awvalid",
    "wdata",
    "wstrb",
    "wlast",
    "wvalid",
    "bready",
];

struct WBurst {
    addr: u64,
    beats: u64,
    got: u64,
    /// The request's bytes: a strobe outside them is an error.
    range: (u64, u64),
}

struct WriterBench<const D: usize, const S: usize> {
    sim: Sim<AxiWriter<D, S>>,
    rng: ChaCha8Rng,
    slave: Slave,
    cycle: u64,
    aw_held: Option<(u64, u64)>,
    w_held: Option<(Value, u64, bool)>,
    /// Bursts accepted on AW whose data is not complete.
    wbursts: VecDeque<WBurst>,
    /// B responses due: (first cycle, resp).
    bq: VecDeque<(u64, u64)>,
    b_held: Option<u64>,
    /// Burst addresses that answer SLVERR.
    slverr: Vec<u64>,
    /// The bursts expected on AW, in order, with their request's byte range.
    canon: VecDeque<((u64, u64), (u64, u64))>,
    pending: VecDeque<Req>,
    req_held: bool,
    /// Words to present: (word, strobes).
    data: VecDeque<(u64, u8)>,
    in_held: bool,
    /// Bytes written by the block, and as the requests say.
    written: HashMap<u64, u8>,
    want: HashMap<u64, u8>,
    bursts_accepted: u64,
    b_count: u64,
    err: bool,
    max_outstanding: usize,
    log: Option<VectorLog>,
}

impl<const D: usize, const S: usize> WriterBench<D, S> {
    const B: u64 = D as u64 / 8;

    fn new(seed: u64, slave: Slave, logged: bool) -> Self {
        let widths_in = [1, 1, 32, 24, 64, 8, 1, 1, 1, 2, 1];
        let widths_out = [1, 1, 1, 1, 32, 8, 3, 2, 1, D, S, 1, 1, 1];
        let log = logged.then(|| {
            let ins: Vec<(&str, usize)> = W_INPUTS.iter().chain(&W_INPUTS2).copied().zip(widths_in).collect();
            let outs: Vec<(&str, usize)> = W_OUTPUTS.iter().copied().zip(widths_out).collect();
            VectorLog::new(&ins, &outs)
        });
        let mut b = WriterBench {
            sim: Sim::new(AxiWriter::<D, S>::new()),
            rng: ChaCha8Rng::seed_from_u64(seed),
            slave,
            cycle: 0,
            aw_held: None,
            w_held: None,
            wbursts: VecDeque::new(),
            bq: VecDeque::new(),
            b_held: None,
            slverr: vec![],
            canon: VecDeque::new(),
            pending: VecDeque::new(),
            req_held: false,
            data: VecDeque::new(),
            in_held: false,
            written: HashMap::new(),
            want: HashMap::new(),
            bursts_accepted: 0,
            b_count: 0,
            err: false,
            max_outstanding: 0,
            log,
        };
        b.step(true);
        b
    }

    fn step(&mut self, reset: bool) {
        let s = self.slave;
        let t = self.cycle;
        let awready = self.rng.gen_bool(s.p_addr_ready);
        let wready = self.rng.gen_bool(s.p_data_ready);
        let b = if let Some(h) = self.b_held {
            Some(h)
        } else if let Some(&(at, resp)) = self.bq.front() {
            (t >= at && !self.rng.gen_bool(s.p_gap)).then_some(resp)
        } else {
            None
        };
        let req = if !reset && (self.req_held || !self.rng.gen_bool(s.p_client_gap)) {
            self.pending.front().copied()
        } else {
            None
        };
        let word = if !reset && (self.in_held || !self.rng.gen_bool(s.p_client_gap)) {
            self.data.front().copied()
        } else {
            None
        };

        let u = &mut self.sim.uut;
        u.reset.next = reset;
        u.req_valid.next = req.is_some();
        if let Some(q) = req {
            u.req_addr.next = bits(u64::from(q.addr));
            u.req_words.next = bits(u64::from(q.words));
        }
        u.in_valid.next = word.is_some();
        if let Some((w, st)) = word {
            u.in_word.next = bits(w);
            u.in_strb.next = bits(u64::from(st));
        }
        u.awready.next = awready;
        u.wready.next = wready;
        u.bvalid.next = b.is_some();
        if let Some(resp) = b {
            u.bresp.next = bits(resp);
        }
        let inputs: Vec<Value> = vec![
            vec![u64::from(reset)],
            vec![u64::from(req.is_some())],
            lanes(u.req_addr.next),
            lanes(u.req_words.next),
            lanes(u.in_word.next),
            lanes(u.in_strb.next),
            vec![u64::from(word.is_some())],
            vec![u64::from(awready)],
            vec![u64::from(wready)],
            lanes(u.bresp.next),
            vec![u64::from(b.is_some())],
        ];
        self.sim.settle();
        let u = &self.sim.uut;

        // AW channel.
        let awvalid = u.awvalid.val();
        let (awaddr, awlen) = (u.awaddr.val().to_u64(), u.awlen.val().to_u64());
        if let Some(h) = self.aw_held {
            assert!(awvalid, "cycle {t}: awvalid dropped before awready");
            assert_eq!((awaddr, awlen), h, "cycle {t}: AW changed before awready");
        }
        self.aw_held = (awvalid && !awready && !reset).then_some((awaddr, awlen));
        if awvalid && awready && !reset {
            check_burst(awaddr, awlen, u.awsize.val().to_u64(), u.awburst.val().to_u64(), Self::B, "AW");
            let want = self.canon.pop_front().unwrap_or_else(|| panic!("cycle {t}: AW burst for no request"));
            assert_eq!((awaddr, awlen + 1), want.0, "cycle {t}: AW burst (address, beats)");
            self.wbursts.push_back(WBurst { addr: awaddr, beats: awlen + 1, got: 0, range: want.1 });
            self.max_outstanding = self.max_outstanding.max(self.wbursts.len() + self.bq.len());
        }
        // W channel.
        let wvalid = u.wvalid.val();
        let wv: (Value, u64, bool) = (lanes(u.wdata.val()), u.wstrb.val().to_u64(), u.wlast.val());
        if let Some(h) = &self.w_held {
            assert!(wvalid, "cycle {t}: wvalid dropped before wready");
            assert_eq!(&wv, h, "cycle {t}: W beat changed before wready");
        }
        self.w_held = (wvalid && !wready && !reset).then(|| wv.clone());
        if wvalid && wready && !reset {
            let burst = self
                .wbursts
                .iter_mut()
                .find(|b| b.got < b.beats)
                .unwrap_or_else(|| panic!("cycle {t}: W beat without an accepted AW burst"));
            let a = burst.addr + burst.got * Self::B;
            burst.got += 1;
            assert_eq!(wv.2, burst.got == burst.beats, "cycle {t}: wlast on beat {} of {}", burst.got, burst.beats);
            for byte in 0..Self::B {
                if wv.1 >> byte & 1 == 1 {
                    let (lo, hi) = burst.range;
                    assert!(
                        (lo..hi).contains(&(a + byte)),
                        "cycle {t}: strobe on byte {:#x} outside the request",
                        a + byte
                    );
                    let lane = wv.0[(byte / 8) as usize];
                    self.written.insert(a + byte, (lane >> (8 * (byte % 8))) as u8);
                }
            }
            if burst.got == burst.beats {
                let resp = if self.slverr.contains(&burst.addr) { 2 } else { 0 };
                let lat = self.rng.gen_range(s.lat.0..=s.lat.1);
                let prev = self.bq.back().map_or(0, |b| b.0);
                self.bq.push_back(((t + 1 + lat).max(prev), resp));
                self.wbursts.pop_front();
            }
        }
        // B channel.
        assert!(u.bready.val(), "bready is always high");
        if let Some(resp) = b {
            self.bq.pop_front();
            self.b_held = None;
            self.b_count += 1;
            if resp != 0 {
                self.err = true;
            }
        }
        // Client.
        self.in_held = false;
        if word.is_some() {
            if u.in_ready.val() {
                self.data.pop_front();
            } else {
                self.in_held = true;
            }
        }
        self.req_held = false;
        if let Some(q) = req {
            if u.req_ready.val() {
                self.pending.pop_front();
                let c = canonical_bursts(q, Self::B);
                self.bursts_accepted += c.len() as u64;
                let range = (u64::from(q.addr), u64::from(q.addr) + 8 * u64::from(q.words));
                self.canon.extend(c.into_iter().map(|b| (b, range)));
            } else {
                self.req_held = true;
            }
        }

        self.sim.tick();
        self.cycle += 1;
        let u = &self.sim.uut;
        if reset {
            self.err = false;
        }
        assert_eq!(u.busy.val(), self.bursts_accepted > self.b_count, "busy after edge {t}");
        assert_eq!(u.error.val(), self.err, "error after edge {t}");
        if let Some(log) = self.log.as_mut() {
            let outputs: Vec<Value> = vec![
                vec![u64::from(u.req_ready.val())],
                vec![u64::from(u.in_ready.val())],
                vec![u64::from(u.busy.val())],
                vec![u64::from(u.error.val())],
                lanes(u.awaddr.val()),
                lanes(u.awlen.val()),
                lanes(u.awsize.val()),
                lanes(u.awburst.val()),
                vec![u64::from(u.awvalid.val())],
                lanes(u.wdata.val()),
                lanes(u.wstrb.val()),
                vec![u64::from(u.wlast.val())],
                vec![u64::from(u.wvalid.val())],
                vec![u64::from(u.bready.val())],
            ];
            log.record(inputs, outputs);
        }
    }

    /// Queues `reqs` with data words from `rng` (random strobes, some 0);
    /// the expected memory follows.
    fn queue(&mut self, reqs: &[Req], strobes: bool) {
        for q in reqs {
            for i in 0..u64::from(q.words) {
                let w: u64 = self.rng.gen();
                let st: u8 = if strobes && self.rng.gen_bool(0.3) {
                    if self.rng.gen_bool(0.2) {
                        0
                    } else {
                        self.rng.gen()
                    }
                } else {
                    0xff
                };
                let a = u64::from(q.addr) + 8 * i;
                for byte in 0..8 {
                    if st >> byte & 1 == 1 {
                        self.want.insert(a + byte, (w >> (8 * byte)) as u8);
                    }
                }
                self.data.push_back((w, st));
            }
            self.pending.push_back(*q);
        }
    }

    /// Runs everything queued to the last B response; returns the cycles.
    fn run(&mut self) -> u64 {
        let start = self.cycle;
        let limit = self.cycle + 200_000;
        while !self.pending.is_empty() || !self.data.is_empty() || self.bursts_accepted > self.b_count {
            self.step(false);
            assert!(self.cycle < limit, "stuck");
        }
        assert!(self.canon.is_empty() && self.wbursts.is_empty() && self.bq.is_empty());
        assert!(!self.sim.uut.busy.val(), "busy after the last B");
        self.cycle - start
    }

    fn check_memory(&self) {
        assert_eq!(self.written.len(), self.want.len(), "bytes written");
        for (a, v) in &self.want {
            assert_eq!(self.written.get(a), Some(v), "byte {a:#x}");
        }
    }
}

// ------------------------------------------------------------------------
// Tests: reader.

fn reader_random<const D: usize>(seed: u64, logged: bool) -> ReaderBench<D> {
    let mut b = ReaderBench::<D>::new(seed, RANDOM, logged);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let reqs = random_requests(&mut rng, 320);
    let words: u64 = reqs.iter().map(|r| u64::from(r.words)).sum();
    b.run(&reqs[..160]);
    // Second half: no back-pressure on the output, so bursts pile up.
    b.slave = Slave { p_out_ready: 1.0, p_addr_ready: 0.9, ..RANDOM };
    b.run(&reqs[160..]);
    assert_eq!(b.delivered, words);
    assert!(b.max_outstanding >= 8, "outstanding bursts reached {}", b.max_outstanding);
    b
}

#[test]
fn reader_64_random_requests_deliver_memory_in_order() {
    let b = reader_random::<64>(1, false);
    println!("reader 64: {} words, {} bursts, max outstanding {}", b.delivered, b.ar_count, b.max_outstanding);
}

#[test]
fn reader_128_random_requests_deliver_memory_in_order() {
    let b = reader_random::<128>(2, false);
    println!("reader 128: {} words, {} bursts, max outstanding {}", b.delivered, b.ar_count, b.max_outstanding);
}

#[test]
fn reader_edge_cases() {
    fn go<const D: usize>() {
        let mut b = ReaderBench::<D>::new(7, RANDOM, false);
        let p = 0x2000_0000u32;
        for (addr, words) in [
            (p, 1),
            (p + 8, 1),
            (p + 8, 2),
            (p + 8, 3),
            (p + 4096 - 8, 2),    // crosses by one word
            (p + 4096 - 16, 2),   // ends at the boundary
            (p + 4096 - 8, 1),    // last word of a page
            (p + 4096 - 128, 16), // exactly to the boundary
            (p + 8, 32),
            (p, 17),
            (p, 256),
            (p + 8, 1025),
            (p + 4096 * 3 - 8, 600),
            (0xffff_f000, 512), // the top of the address space
        ] {
            b.run(&[Req { addr, words }]);
        }
        // The same back to back.
        let reqs: Vec<Req> = (0..40).map(|i| Req { addr: p + 4096 - 8 * (i % 5 + 1), words: i % 7 + 1 }).collect();
        b.run(&reqs);
    }
    go::<64>();
    go::<128>();
}

#[test]
fn reader_slverr_sets_error_and_still_delivers() {
    fn go<const D: usize>() {
        let mut b = ReaderBench::<D>::new(9, RANDOM, false);
        let a = 0x3000_0040u32;
        b.run(&[Req { addr: a, words: 8 }]);
        assert!(!b.sim.uut.error.val());
        b.slverr.push(u64::from(a) + 2 * ReaderBench::<D>::B);
        b.run(&[Req { addr: a, words: 8 }, Req { addr: a + 64, words: 3 }]);
        assert!(b.sim.uut.error.val() && b.err);
        // Sticky, then reset (while idle) clears it.
        b.slverr.clear();
        b.run(&[Req { addr: a, words: 8 }]);
        assert!(b.sim.uut.error.val());
        b.step(true);
        assert!(!b.sim.uut.error.val());
        b.run(&[Req { addr: a + 8, words: 9 }]);
        assert!(!b.sim.uut.error.val());
    }
    go::<64>();
    go::<128>();
}

/// Always-ready memory, fixed latency 40: 200 requests of 4 words stream at
/// one word per cycle once the first data is back. The bound is 800 word
/// cycles, plus 40 of latency, plus 8 for the pipeline (request, AR
/// register, slave, beat register, output), plus 1 per 4 KiB crossing (an
/// extra burst). With D = 128 a request may need one beat more, but the
/// output port (one word per edge) is the limit there. Measured: 844.
#[test]
fn reader_throughput_short_requests() {
    fn go<const D: usize>() -> u64 {
        let mut b = ReaderBench::<D>::new(3, FAST, false);
        let mut rng = ChaCha8Rng::seed_from_u64(33);
        let reqs: Vec<Req> =
            (0..200).map(|_| Req { addr: 0x1000_0000 + 8 * rng.gen_range(0..8192u32), words: 4 }).collect();
        let crossings = reqs.iter().filter(|r| canonical_bursts(**r, D as u64 / 8).len() > 1).count() as u64;
        let cycles = b.run(&reqs);
        println!("reader {D}: 200 × 4 words, latency 40: {cycles} cycles ({crossings} page crossings)");
        assert!(cycles <= 800 + 40 + 8 + crossings, "{cycles} cycles");
        assert!(cycles < 1140);
        cycles
    }
    go::<64>();
    go::<128>();
}

// ------------------------------------------------------------------------
// Tests: writer.

fn writer_random<const D: usize, const S: usize>(seed: u64, logged: bool) -> WriterBench<D, S> {
    let mut b = WriterBench::<D, S>::new(seed, RANDOM, logged);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let reqs = random_requests(&mut rng, 320);
    b.queue(&reqs[..160], true);
    b.run();
    b.slave = Slave { p_data_ready: 0.95, p_addr_ready: 0.9, p_client_gap: 0.05, ..RANDOM };
    b.queue(&reqs[160..], true);
    b.run();
    b.check_memory();
    assert!(b.max_outstanding >= 8, "outstanding bursts reached {}", b.max_outstanding);
    b
}

#[test]
fn writer_64_random_requests_write_memory_with_strobes() {
    let b = writer_random::<64, 8>(4, false);
    println!("writer 64: {} bytes, {} bursts, max outstanding {}", b.want.len(), b.b_count, b.max_outstanding);
}

#[test]
fn writer_128_random_requests_write_memory_with_strobes() {
    let b = writer_random::<128, 16>(5, false);
    println!("writer 128: {} bytes, {} bursts, max outstanding {}", b.want.len(), b.b_count, b.max_outstanding);
}

#[test]
fn writer_edge_cases() {
    fn go<const D: usize, const S: usize>() {
        let mut b = WriterBench::<D, S>::new(8, RANDOM, false);
        let p = 0x2000_0000u32;
        for (addr, words) in [
            (p, 1),
            (p + 8, 1),
            (p + 8, 2),
            (p + 8, 3),
            (p + 4096 - 8, 2),
            (p + 4096 - 16, 2),
            (p + 4096 - 8, 1),
            (p + 4096 - 128, 16),
            (p + 8, 32),
            (p, 17),
            (p, 256),
            (p + 8, 1025),
            (p + 4096 * 3 - 8, 600),
            (0xffff_f000, 512),
        ] {
            b.queue(&[Req { addr, words }], true);
            b.run();
        }
        let reqs: Vec<Req> = (0..40).map(|i| Req { addr: p + 4096 - 8 * (i % 5 + 1), words: i % 7 + 1 }).collect();
        b.queue(&reqs, true);
        b.run();
        b.check_memory();
        // Data presented long before its request.
        let mut b = WriterBench::<D, S>::new(9, FAST, false);
        let q = Req { addr: p + 8, words: 5 };
        b.queue(&[q], false);
        let r = b.pending.pop_front().unwrap();
        for _ in 0..10 {
            b.step(false);
        }
        assert_eq!(b.data.len(), 5, "no word taken before its burst");
        b.pending.push_back(r);
        b.run();
        b.check_memory();
    }
    go::<64, 8>();
    go::<128, 16>();
}

#[test]
fn writer_slverr_sets_error_and_writes_anyway() {
    fn go<const D: usize, const S: usize>() {
        let mut b = WriterBench::<D, S>::new(10, RANDOM, false);
        let a = 0x3000_0040u32;
        b.queue(&[Req { addr: a, words: 8 }], true);
        b.run();
        assert!(!b.sim.uut.error.val());
        b.slverr.push(u64::from(a));
        b.queue(&[Req { addr: a, words: 8 }, Req { addr: a + 64, words: 3 }], true);
        b.run();
        assert!(b.sim.uut.error.val());
        b.slverr.clear();
        b.queue(&[Req { addr: a, words: 8 }], true);
        b.run();
        assert!(b.sim.uut.error.val());
        b.step(true);
        assert!(!b.sim.uut.error.val());
        b.queue(&[Req { addr: a + 8, words: 9 }], true);
        b.run();
        assert!(!b.sim.uut.error.val());
        b.check_memory();
    }
    go::<64, 8>();
    go::<128, 16>();
}

/// Always-ready slave, B 40 cycles after each burst's last beat: 200
/// requests of 4 words. The bound is one beat per cycle (D = 64: 800 beats
/// plus one per page crossing; D = 128: one word per cycle, 800), plus 40
/// for the last response, plus 8 for the pipeline. Measured: 845.
#[test]
fn writer_throughput_short_requests() {
    fn go<const D: usize, const S: usize>() -> u64 {
        let mut b = WriterBench::<D, S>::new(6, FAST, false);
        let mut rng = ChaCha8Rng::seed_from_u64(66);
        let reqs: Vec<Req> =
            (0..200).map(|_| Req { addr: 0x1000_0000 + 8 * rng.gen_range(0..8192u32), words: 4 }).collect();
        let crossings = reqs.iter().filter(|r| canonical_bursts(**r, D as u64 / 8).len() > 1).count() as u64;
        b.queue(&reqs, false);
        let cycles = b.run();
        b.check_memory();
        println!("writer {D}: 200 × 4 words, B latency 40: {cycles} cycles ({crossings} page crossings)");
        assert!(cycles <= 800 + 40 + 8 + crossings, "{cycles} cycles");
        cycles
    }
    go::<64, 8>();
    go::<128, 16>();
}

// ------------------------------------------------------------------------
// The generated Verilog.

fn lint(verilog: &str) {
    let dir = tempfile::tempdir().unwrap();
    verilog_check::lint_and_elaborate(verilog, dir.path(), "top").unwrap_or_else(|e| panic!("{e}"));
}

fn verilog_of<T: Block>(mut u: T) -> String {
    u.connect_all();
    generate_verilog(&u)
}

#[test]
fn generated_verilog_is_lint_clean_and_elaborates() {
    lint(&verilog_of(AxiReader::<64>::new()));
    lint(&verilog_of(AxiReader::<128>::new()));
    lint(&verilog_of(AxiWriter64::new()));
    lint(&verilog_of(AxiWriter128::new()));
    yosys_validate("zynqflow_axi_reader", &verilog_of(AxiReader::<64>::new())).expect("yosys_validate");
    yosys_validate("zynqflow_axi_writer", &verilog_of(AxiWriter128::new())).expect("yosys_validate");
}

/// A shorter random run (120 requests, the first RANDOM phase) logged and
/// replayed on the generated Verilog with Icarus, every output every cycle.
fn replay_reader<const D: usize>(seed: u64) {
    let mut b = ReaderBench::<D>::new(seed, RANDOM, true);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let reqs = random_requests(&mut rng, 120);
    b.slverr.push(u64::from(reqs[30].addr) / (D as u64 / 8) * (D as u64 / 8));
    b.run(&reqs);
    assert!(b.err);
    b.step(true);
    let log = b.log.take().unwrap();
    let dir = tempfile::tempdir().unwrap();
    log.replay_on_verilog(&verilog_of(AxiReader::<D>::new()), dir.path());
}

fn replay_writer<const D: usize, const S: usize>(seed: u64) {
    let mut b = WriterBench::<D, S>::new(seed, RANDOM, true);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let reqs = random_requests(&mut rng, 120);
    b.slverr.push(canonical_bursts(reqs[30], D as u64 / 8)[0].0);
    b.queue(&reqs, true);
    b.run();
    assert!(b.err);
    b.check_memory();
    b.step(true);
    let log = b.log.take().unwrap();
    let dir = tempfile::tempdir().unwrap();
    log.replay_on_verilog(&verilog_of(AxiWriter::<D, S>::new()), dir.path());
}

#[test]
fn random_runs_replay_on_the_verilog() {
    replay_reader::<64>(21);
    replay_reader::<128>(22);
    replay_writer::<64, 8>(23);
    replay_writer::<128, 16>(24);
}

/// LUT/FF of each engine for D = 64: yosys `synth_xilinx -family xc7
/// -flatten` then `stat` (printed; asserted loosely so that a blow-up fails).
#[test]
fn sizes_for_d64() {
    fn size(verilog: &str, name: &str) -> (u64, u64) {
        verilog_check::require_tool("yosys").unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        let files = verilog_check::write_modules(verilog, dir.path()).unwrap();
        let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        let script = format!(
            "read_verilog {}; synth_xilinx -family xc7 -flatten -top top; tee -q -o stat.txt stat",
            names.join(" ")
        );
        let out = std::process::Command::new("yosys").args(["-q", "-p", &script]).current_dir(dir.path()).output();
        let out = out.expect("yosys");
        assert!(out.status.success(), "yosys failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let stat = std::fs::read_to_string(dir.path().join("stat.txt")).expect("yosys stat output");
        let start = stat.rfind("Number of cells:").expect("no cell count");
        let cells: Vec<(String, u64)> = stat[start..]
            .lines()
            .skip(1)
            .map_while(|line| {
                let mut it = line.split_whitespace();
                let (n, c) = (it.next()?, it.next()?);
                Some((n.to_string(), c.parse().ok()?))
            })
            .collect();
        let count = |prefix: &str| cells.iter().filter(|(n, _)| n.starts_with(prefix)).map(|(_, c)| c).sum::<u64>();
        let (lut, ff) = (count("LUT") + count("SRL"), count("FD"));
        println!("{name}: {lut} LUT, {ff} FF (yosys synth_xilinx -family xc7 -flatten); cells {cells:?}");
        (lut, ff)
    }
    let (rl, rf) = size(&verilog_of(AxiReader::<64>::new()), "AxiReader<64>");
    let (wl, wf) = size(&verilog_of(AxiWriter64::new()), "AxiWriter<64, 8>");
    assert!(rl > 50 && rl < 800 && rf > 50 && rf < 600, "reader {rl} LUT {rf} FF");
    assert!(wl > 50 && wl < 1000 && wf > 50 && wf < 800, "writer {wl} LUT {wf} FF");
}

#[test]
fn widths_are_checked() {
    assert!(std::panic::catch_unwind(|| drop(AxiReader::<32>::new())).is_err());
    assert!(std::panic::catch_unwind(|| drop(AxiWriter::<64, 16>::new())).is_err());
    assert_eq!(MAX_OUTSTANDING, 16);
}

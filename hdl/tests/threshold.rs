//! The threshold unit against `zynqflow_isa::ThresholdMode::apply`, cycle by
//! cycle against a timing model (latency, queueing, `ready`, `busy`,
//! `overflow`, `bad_mode`), and its generated Verilog: Verilator lint, yosys
//! elaboration, and an Icarus Verilog replay of the random run.

mod common;

use std::collections::HashMap;

use common::{Clocked, Driver, Value, VectorLog};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_hdl::threshold::{row_bits, row_cycles, ThresholdUnit};
use zynqflow_hdl::verilog_check;
use zynqflow_isa::ThresholdMode;

impl<const A: usize, const C: usize, const RA: usize, const F: usize> Clocked for ThresholdUnit<A, C, RA, F> {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

/// The main test configuration: 4 columns, 3 comparators, 16 channels, 4 rows.
type Small = ThresholdUnit<128, 32, 11, 2>;
fn small() -> Small {
    ThresholdUnit::new(4, 3, 16, 4)
}
/// 3 columns, 1 comparator, 8 channels, a 2-row queue.
type Narrow = ThresholdUnit<96, 24, 11, 1>;
fn narrow() -> Narrow {
    ThresholdUnit::new(3, 1, 8, 2)
}
/// 2 columns, 8 comparators, 4 channels, 8 rows.
type Wide = ThresholdUnit<64, 16, 7, 3>;
fn wide() -> Wide {
    ThresholdUnit::new(2, 8, 4, 8)
}
/// The size quoted in the docs: 16 columns, 3 comparators, 64 channels, 16 rows.
type Full = ThresholdUnit<512, 128, 13, 4>;
fn full() -> Full {
    ThresholdUnit::new(16, 3, 64, 16)
}

fn bits_of<const N: usize>(b: Bits<N>) -> Value {
    let mut v = vec![0u64; N.div_ceil(64)];
    for i in 0..N {
        if b.get_bit(i) {
            v[i / 64] |= 1 << (i % 64);
        }
    }
    v
}

fn pack32<const N: usize>(vals: &[i32]) -> Bits<N> {
    let mut b = Bits::<N>::default();
    for (c, v) in vals.iter().enumerate() {
        b.set_bits::<32>(32 * c, u64::from(*v as u32).into());
    }
    b
}

/// A row the model expects on the outputs after edge `pop`.
struct InFlight {
    push: u64,
    pop: u64,
    channel: usize,
    codes: Vec<u32>,
    raw: Vec<i32>,
}

/// What the outputs hold.
#[derive(Clone, Default, PartialEq, Debug)]
struct Shown {
    channel: usize,
    codes: Vec<u32>,
    raw: Vec<i32>,
}

/// Drives a unit, predicts every output of every cycle, and logs the cycles
/// for the Verilog replay.
struct Bench<const A: usize, const C: usize, const RA: usize, const F: usize> {
    d: Driver<ThresholdUnit<A, C, RA, F>>,
    cols: usize,
    p: usize,
    depth: usize,
    edge: u64,
    a_out: usize,
    raw: bool,
    /// Record words per channel as written (256 words, unwritten = None).
    records: Vec<Vec<Option<i32>>>,
    flight: Vec<InFlight>,
    issue_free: u64,
    shown: Shown,
    overflow: bool,
    bad_mode: bool,
    rows_out: usize,
    /// Rows of channels from this one on are sent with `row_skip` (as the
    /// top does for channels past the layer's last).
    skip_from: Option<usize>,
    /// Cycles in which a row was waiting and `ready` was low.
    stalls: usize,
    log: Option<VectorLog>,
}

const INPUTS: [&str; 11] = [
    "reset",
    "mode_raw",
    "a_out",
    "row_valid",
    "row_channel",
    "row_acc",
    "row_skip",
    "wr_en",
    "wr_channel",
    "wr_word",
    "wr_data",
];
const OUTPUTS: [&str; 9] =
    ["out_valid", "out_channel", "out_codes", "out_raw", "ready", "busy", "row_cycles", "overflow", "bad_mode"];

impl<const A: usize, const C: usize, const RA: usize, const F: usize> Bench<A, C, RA, F> {
    fn new(uut: ThresholdUnit<A, C, RA, F>, logged: bool) -> Self {
        let (cols, p, depth, channels) = (uut.cols(), uut.p(), uut.fifo_depth(), uut.max_channels());
        let widths_in = [1, 1, 4, 1, RA, A, 1, 1, RA, 8, 32];
        let widths_out = [1, RA, C, A, 1, 1, 8, 1, 1];
        let log = logged.then(|| {
            let ins: Vec<(&str, usize)> = INPUTS.iter().copied().zip(widths_in).collect();
            let outs: Vec<(&str, usize)> = OUTPUTS.iter().copied().zip(widths_out).collect();
            VectorLog::new(&ins, &outs)
        });
        let mut b = Bench {
            d: Driver::new(uut),
            cols,
            p,
            depth,
            edge: 0,
            a_out: 2,
            raw: false,
            records: vec![vec![None; 256]; channels],
            flight: Vec::new(),
            issue_free: 0,
            shown: Shown { channel: 0, codes: vec![0; cols], raw: vec![0; cols] },
            overflow: false,
            bad_mode: false,
            rows_out: 0,
            skip_from: None,
            stalls: 0,
            log,
        };
        b.cycle(None, None, true, false);
        b
    }

    fn n(&self) -> u64 {
        row_cycles(self.p, self.a_out, self.raw) as u64
    }

    /// Rows inside the unit just before edge `t` that are not leaving at it.
    fn ready_model(&self) -> bool {
        let t = self.edge;
        self.flight.iter().filter(|r| r.push < t && r.pop > t).count() < self.depth
    }

    fn expected_codes(&self, channel: usize, acc: &[i32]) -> Vec<u32> {
        if self.raw || !(1..=8).contains(&self.a_out) {
            return vec![0; acc.len()];
        }
        let rec = &self.records[channel];
        let word = |i: usize| rec[i].unwrap_or_else(|| panic!("channel {channel} word {i} never written"));
        let mode = ThresholdMode::decode(word(0)).expect("valid mode word");
        let t: Vec<i32> = (1..1 << self.a_out).map(word).collect();
        acc.iter().map(|&a| mode.apply(a, &t)).collect()
    }

    /// One clock cycle: offers `row` (`force`: even when not ready), writes
    /// `write` = (channel, word, data), asserts `reset`; checks every output
    /// after the edge. Returns whether the row was accepted.
    fn cycle(
        &mut self,
        row: Option<(usize, &[i32])>,
        write: Option<(usize, usize, i32)>,
        reset: bool,
        force: bool,
    ) -> bool {
        let t = self.edge;
        let ready = self.ready_model();
        assert_eq!(self.d.uut.ready.val(), ready, "ready before edge {t}");
        if row.is_some() && !ready {
            self.stalls += 1;
        }
        let row = row.filter(|_| force || ready);
        let skip = row.is_some_and(|(ch, _)| self.skip_from.is_some_and(|n| ch >= n));
        let u = &mut self.d.uut;
        u.row_skip.next = skip;
        u.reset.next = reset;
        u.mode_raw.next = self.raw;
        u.a_out.next = (self.a_out as u64).into();
        u.row_valid.next = row.is_some();
        if let Some((ch, acc)) = row {
            assert_eq!(acc.len(), self.cols);
            u.row_channel.next = (ch as u64).into();
            u.row_acc.next = pack32::<A>(acc);
        }
        u.wr_en.next = write.is_some();
        if let Some((ch, w, data)) = write {
            u.wr_channel.next = (ch as u64).into();
            u.wr_word.next = (w as u64).into();
            u.wr_data.next = u64::from(data as u32).into();
        }
        let inputs: Vec<Value> = vec![
            vec![u64::from(reset)],
            vec![u64::from(self.raw)],
            vec![self.a_out as u64],
            vec![u64::from(row.is_some())],
            bits_of(u.row_channel.next),
            bits_of(u.row_acc.next),
            vec![u64::from(skip)],
            vec![u64::from(write.is_some())],
            bits_of(u.wr_channel.next),
            bits_of(u.wr_word.next),
            bits_of(u.wr_data.next),
        ];

        // The model at edge t.
        let mut accepted = false;
        if reset {
            self.flight.clear();
            self.issue_free = 0;
            self.overflow = false;
            self.bad_mode = false;
        } else if let Some((ch, acc)) = row {
            if ready {
                // A skipped row takes one cycle and gives code 0.
                let n = if skip { 1 } else { self.n() };
                let s = (t + 1).max(self.issue_free);
                self.issue_free = s + n;
                let codes = if skip { vec![0; acc.len()] } else { self.expected_codes(ch, acc) };
                self.flight.push(InFlight { push: t, pop: s + n, channel: ch, codes, raw: acc.to_vec() });
                accepted = true;
            } else {
                self.overflow = true;
            }
        }
        if let Some((ch, w, data)) = write {
            self.records[ch][w] = Some(data);
            if w == 0 && ThresholdMode::decode(data).is_err() && !reset {
                self.bad_mode = true;
            }
        }

        self.d.tick();
        self.edge += 1;

        let u = &self.d.uut;
        let leaving: Vec<&InFlight> = self.flight.iter().filter(|r| r.pop == t).collect();
        assert!(leaving.len() <= 1);
        let valid = leaving.len() == 1;
        assert_eq!(u.out_valid.val(), valid, "out_valid after edge {t}");
        if let Some(r) = leaving.first() {
            self.shown = Shown { channel: r.channel, codes: r.codes.clone(), raw: r.raw.clone() };
            self.rows_out += 1;
        }
        let got = Shown {
            channel: u.out_channel.val().to_u64() as usize,
            codes: (0..self.cols).map(|c| u.out_codes.val().get_bits::<8>(8 * c).to_u64() as u32).collect(),
            raw: (0..self.cols).map(|c| u.out_raw.val().get_bits::<32>(32 * c).to_u64() as u32 as i32).collect(),
        };
        assert_eq!(got, self.shown, "outputs after edge {t} (a_out {}, raw {})", self.a_out, self.raw);
        let busy = self.flight.iter().any(|r| r.push <= t && r.pop > t);
        assert_eq!(u.busy.val(), busy, "busy after edge {t}");
        assert_eq!(u.row_cycles.val().to_u64(), self.n(), "row_cycles");
        assert_eq!(u.overflow.val(), self.overflow, "overflow after edge {t}");
        assert_eq!(u.bad_mode.val(), self.bad_mode, "bad_mode after edge {t}");
        self.flight.retain(|r| r.pop > t);

        if let Some(log) = self.log.as_mut() {
            let outputs: Vec<Value> = vec![
                vec![u64::from(u.out_valid.val())],
                bits_of(u.out_channel.val()),
                bits_of(u.out_codes.val()),
                bits_of(u.out_raw.val()),
                vec![u64::from(u.ready.val())],
                vec![u64::from(u.busy.val())],
                bits_of(u.row_cycles.val()),
                vec![u64::from(u.overflow.val())],
                vec![u64::from(u.bad_mode.val())],
            ];
            log.record(inputs, outputs);
        }
        accepted
    }

    fn idle(&mut self, cycles: usize) {
        for _ in 0..cycles {
            self.cycle(None, None, false, false);
        }
    }

    fn write(&mut self, ch: usize, word: usize, data: i32) {
        self.cycle(None, Some((ch, word, data)), false, false);
    }

    /// Offers `acc` every cycle until accepted.
    fn send(&mut self, ch: usize, acc: &[i32]) {
        while !self.cycle(Some((ch, acc)), None, false, false) {}
    }

    fn drain(&mut self) {
        while !self.flight.is_empty() {
            self.idle(1);
        }
        assert!(!self.d.uut.busy.val());
    }

    /// Changes the layer's mode (only when idle).
    fn layer(&mut self, a_out: usize, raw: bool) {
        self.drain();
        self.a_out = a_out;
        self.raw = raw;
    }
}

// ------------------------------------------------------------------------
// Random records and accumulators.

fn some_value(rng: &mut ChaCha8Rng) -> i32 {
    match rng.gen_range(0..10) {
        0 => i32::MIN,
        1 => i32::MAX,
        2 => [i32::MIN + 1, i32::MAX - 1, -1, 0, 1][rng.gen_range(0..5)],
        3..=5 => rng.gen(),
        _ => rng.gen_range(-200..200),
    }
}

/// A record for `a_out`-bit codes: (mode word, thresholds).
fn random_record(rng: &mut ChaCha8Rng, a_out: usize) -> (i32, Vec<i32>) {
    let n = (1 << a_out) - 1;
    let mut t: Vec<i32> = (0..n).map(|_| some_value(rng)).collect();
    let mode = match rng.gen_range(0..10) {
        0..=3 => ThresholdMode::Ascending,
        4..=7 => ThresholdMode::Descending,
        _ => ThresholdMode::Constant(if rng.gen_bool(0.5) { rng.gen_range(0..=n as u8) } else { rng.gen() }),
    };
    // Mostly monotone as the compiler makes them; sometimes not (apply counts anyway).
    if rng.gen_bool(0.8) {
        t.sort_unstable();
        if mode == ThresholdMode::Descending {
            t.reverse();
        }
    }
    (mode.encode(), t)
}

fn random_row(rng: &mut ChaCha8Rng, cols: usize, t: &[i32]) -> Vec<i32> {
    (0..cols)
        .map(|_| {
            if rng.gen_bool(0.5) && !t.is_empty() {
                let v = t[rng.gen_range(0..t.len())];
                v.saturating_add(rng.gen_range(-1..=1))
            } else {
                some_value(rng)
            }
        })
        .collect()
}

/// Writes `channels` random records for `a_out` (words in random order) and
/// returns their thresholds.
fn load_records<const A: usize, const C: usize, const RA: usize, const F: usize>(
    b: &mut Bench<A, C, RA, F>,
    rng: &mut ChaCha8Rng,
    channels: &[usize],
    a_out: usize,
) -> HashMap<usize, Vec<i32>> {
    let mut out = HashMap::new();
    for &ch in channels {
        let (mode, t) = random_record(rng, a_out);
        let mut words: Vec<(usize, i32)> =
            std::iter::once((0, mode)).chain(t.iter().copied().enumerate().map(|(k, v)| (k + 1, v))).collect();
        for i in (1..words.len()).rev() {
            words.swap(i, rng.gen_range(0..=i));
        }
        for (w, v) in words {
            b.write(ch, w, v);
        }
        out.insert(ch, t);
    }
    out
}

/// Every `a_out` 1..=8 and raw mode, `rows_per_layer(a_out)` rows each over a
/// few channels, in bursts (offered every cycle while `ready`) and gaps.
fn random_run<const A: usize, const C: usize, const RA: usize, const F: usize>(
    b: &mut Bench<A, C, RA, F>,
    seed: u64,
    layers: &[(usize, bool, usize)],
) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let channels_max = b.records.len();
    let mut rows = 0;
    for &(a_out, raw, count) in layers {
        b.layer(a_out, raw);
        let k = channels_max.min(4);
        let mut chans: Vec<usize> = (0..channels_max).collect();
        for i in (1..chans.len()).rev() {
            chans.swap(i, rng.gen_range(0..=i));
        }
        chans.truncate(k);
        let recs = if raw { HashMap::new() } else { load_records(b, &mut rng, &chans, a_out) };
        // Now and then the layer ends inside the records: rows past it skip.
        b.skip_from = if rng.gen_bool(0.5) { Some(rng.gen_range(0..=channels_max)) } else { None };
        let mut sent = 0;
        while sent < count {
            let burst = rng.gen_range(1..=b.depth + 2).min(count - sent);
            for _ in 0..burst {
                let ch = chans[rng.gen_range(0..chans.len())];
                let t = recs.get(&ch).cloned().unwrap_or_default();
                let acc = random_row(&mut rng, b.cols, &t);
                b.send(ch, &acc);
            }
            sent += burst;
            let gap = rng.gen_range(0..=2 * b.n() as usize);
            b.idle(gap);
        }
        rows += count;
    }
    b.drain();
    b.skip_from = None;
    assert!(!b.overflow);
    rows
}

fn every_layer(rows_small: usize) -> Vec<(usize, bool, usize)> {
    let mut layers: Vec<(usize, bool, usize)> =
        (1..=8).map(|a| (a, false, if a <= 4 { rows_small } else { rows_small / 2 })).collect();
    layers.push((2, true, rows_small));
    layers.push((2, false, rows_small));
    layers
}

/// Replays a logged bench on the Verilog of `uut` (the same shape).
fn replay<const A: usize, const C: usize, const RA: usize, const F: usize>(
    b: &mut Bench<A, C, RA, F>,
    mut uut: ThresholdUnit<A, C, RA, F>,
) {
    let log = b.log.take().expect("a logged bench");
    uut.connect_all();
    let dir = tempfile::tempdir().unwrap();
    log.replay_on_verilog(&generate_verilog(&uut), dir.path());
}

// ------------------------------------------------------------------------
// Behaviour.

#[test]
fn random_rows_match_apply_for_every_width_and_mode_and_replay_on_verilog() {
    let mut b = Bench::new(small(), true);
    let rows = random_run(&mut b, 0x7e5, &every_layer(16));
    assert!(rows >= 100, "{rows} rows");
    assert_eq!(b.rows_out, rows);
    assert!(b.stalls > 100, "the queue filled up {} times", b.stalls);
    // The same cycles on the generated Verilog.
    replay(&mut b, small());
}

#[test]
fn other_shapes_match_apply_and_replay_on_verilog() {
    let layers = [(1, false, 8), (2, false, 8), (3, false, 8), (5, false, 4), (8, false, 2), (2, true, 8)];
    let mut b = Bench::new(narrow(), true);
    assert_eq!(random_run(&mut b, 11, &layers), b.rows_out);
    replay(&mut b, narrow());
    let mut b = Bench::new(wide(), true);
    assert_eq!(random_run(&mut b, 12, &layers), b.rows_out);
    replay(&mut b, wide());
}

#[test]
fn bursts_of_depth_rows_spaced_by_depth_times_row_cycles_never_overflow() {
    let mut b = Bench::new(small(), true);
    for (a_out, burst) in [(3, 4), (5, 4), (2, 40)] {
        b.layer(a_out, false);
        for w in 0..1 << a_out {
            b.write(0, w, if w == 0 { ThresholdMode::Ascending.encode() } else { 10 * w as i32 });
        }
        let n = b.n() as usize;
        // At full rate (n = 1) any burst fits; else bursts of `depth` rows,
        // one every depth·n cycles, offered without looking at `ready`.
        let spacing = if n == 1 { burst } else { burst * n };
        for k in 0..3 {
            for i in 0..spacing {
                let acc = [(k * 31 + i) as i32 * 3, -1, 0, i32::MAX];
                let offer = (i < burst).then_some((0, &acc[..]));
                assert!(b.cycle(offer, None, false, true) || offer.is_none());
            }
        }
    }
    b.drain();
    assert!(!b.overflow && b.rows_out == 3 * (4 + 4 + 40));
    replay(&mut b, small());
}

#[test]
fn a_out_outside_1_to_8_gives_code_0_at_full_rate() {
    let mut b = Bench::new(small(), false);
    for a_out in [0, 9, 15] {
        b.layer(a_out, false);
        b.write(1, 0, ThresholdMode::Constant(3).encode());
        assert_eq!(b.d.uut.row_cycles.val().to_u64(), 1);
        for i in 0..4 {
            b.send(1, &[i, i32::MAX, i32::MIN, 0]);
        }
        b.drain();
        assert_eq!(b.shown.codes, [0; 4]);
    }
}

#[test]
fn latency_is_row_cycles_plus_one_and_throughput_one_row_per_row_cycles() {
    for (a_out, raw) in (1..=8).map(|a| (a, false)).chain([(3, true)]) {
        let mut b = Bench::new(small(), false);
        b.layer(a_out, raw);
        if !raw {
            for w in 0..1 << a_out {
                b.write(5, w, if w == 0 { ThresholdMode::Ascending.encode() } else { w as i32 });
            }
        }
        let n = row_cycles(3, a_out, raw) as u64;
        assert_eq!(b.d.uut.row_cycles.val().to_u64(), n);
        // Four rows back to back: accepted while the queue has room, out at
        // e + n + 1, then every n cycles.
        let e = b.edge;
        let mut outs = vec![];
        let mut sent = 0;
        while outs.len() < 4 {
            let acc = [sent * 7, i32::MIN, i32::MAX, 3];
            let offer = (sent < 4).then_some((5, &acc[..]));
            let t = b.edge;
            if b.cycle(offer, None, false, false) {
                sent += 1;
            }
            if b.d.uut.out_valid.val() {
                outs.push(t);
            }
        }
        let want: Vec<u64> = (0..4).map(|j| e + n + 1 + j * n).collect();
        assert_eq!(outs, want, "a_out {a_out} raw {raw}");
        if !raw {
            // acc >= t for t = 1..2^a − 1: row 0 (acc 0) gives 0, i32::MIN 0, i32::MAX all, 3 → 3 (capped).
            let all = (1u32 << a_out) - 1;
            assert_eq!(b.shown.codes[1..], [0, all, 3.min(all)]);
        }
    }
}

#[test]
fn a_full_queue_drops_the_row_and_sets_overflow_until_reset() {
    let mut b = Bench::new(small(), true);
    b.layer(4, false); // 5 cycles per row
    for w in 0..16 {
        b.write(1, w, if w == 0 { ThresholdMode::Descending.encode() } else { 100 - w as i32 });
    }
    // depth + 1 rows offered back to back, regardless of `ready`: rows 0..4
    // fill the queue (the first leaves at e + 6), the fifth is dropped.
    let rows: Vec<[i32; 4]> = (0..6).map(|i| [i, 90 + i, i32::MIN, i32::MAX]).collect();
    let mut accepted = vec![];
    for r in &rows[..5] {
        accepted.push(b.cycle(Some((1, r)), None, false, true));
    }
    assert_eq!(accepted, [true, true, true, true, false]);
    assert!(b.d.uut.overflow.val() && b.overflow);
    // The accepted rows still come out, in order, and the flag stays.
    b.drain();
    assert_eq!(b.rows_out, 4);
    b.send(1, &rows[5]);
    b.drain();
    assert!(b.d.uut.overflow.val());
    // Reset clears it.
    b.cycle(None, None, true, false);
    assert!(!b.d.uut.overflow.val());
    replay(&mut b, small());
}

#[test]
fn reset_discards_rows_in_flight_and_keeps_the_records() {
    let mut b = Bench::new(small(), true);
    b.layer(3, false);
    for w in 0..8 {
        b.write(2, w, if w == 0 { ThresholdMode::Constant(9).encode() } else { w as i32 });
    }
    for i in 0..3 {
        b.send(2, &[i, i, i, i]);
    }
    assert!(b.d.uut.busy.val());
    // Reset while rows are queued and one is being compared; a row offered
    // with reset is dropped without overflow.
    b.cycle(Some((2, &[1, 2, 3, 4])), None, true, true);
    assert!(!b.d.uut.busy.val() && !b.d.uut.out_valid.val() && !b.d.uut.overflow.val());
    b.idle(20); // nothing comes out (the model checks every cycle)
    assert_eq!(b.rows_out, 0);
    // The record survived: constant 9 clamps to 7.
    b.send(2, &[0, -5, i32::MAX, i32::MIN]);
    b.drain();
    assert_eq!(b.rows_out, 1);
    assert_eq!(b.shown.codes, [7, 7, 7, 7]);
    replay(&mut b, small());
}

#[test]
fn mode_words_that_isa_refuses_set_bad_mode() {
    for word in [3, 2 | (1 << 16), -1, 0x100, i32::MIN] {
        let mut b = Bench::new(small(), false);
        b.write(0, 0, ThresholdMode::Constant(255).encode());
        b.write(0, 0, 1);
        b.write(0, 1, 77); // a threshold word is never a mode word
        assert!(!b.d.uut.bad_mode.val());
        b.write(3, 0, word);
        assert!(b.d.uut.bad_mode.val(), "{word:#x}");
        b.write(3, 0, 0);
        assert!(b.d.uut.bad_mode.val(), "sticky");
        b.cycle(None, None, true, false);
        assert!(!b.d.uut.bad_mode.val());
    }
}

#[test]
fn widths_must_match_the_parameters() {
    assert_eq!(row_bits(3), 7);
    assert_eq!(row_bits(1), 8);
    assert_eq!(row_bits(8), 5);
    assert_eq!((1..=8).map(|a| row_cycles(3, a, false)).collect::<Vec<_>>(), [1, 1, 3, 5, 11, 21, 43, 85]);
    for bad in [
        || drop(ThresholdUnit::<128, 32, 11, 2>::new(5, 3, 16, 4)),
        || drop(ThresholdUnit::<128, 32, 11, 2>::new(4, 1, 16, 4)),
        || drop(ThresholdUnit::<128, 32, 11, 2>::new(4, 3, 32, 4)),
        || drop(ThresholdUnit::<128, 32, 11, 2>::new(4, 3, 16, 8)),
        || drop(ThresholdUnit::<128, 32, 11, 2>::new(4, 9, 16, 4)),
    ] {
        assert!(std::panic::catch_unwind(bad).is_err());
    }
}

// ------------------------------------------------------------------------
// The generated Verilog.

fn lint(verilog: &str) {
    let dir = tempfile::tempdir().unwrap();
    verilog_check::lint_and_elaborate(verilog, dir.path(), "top").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn generated_verilog_is_lint_clean_and_elaborates() {
    let mut u = full();
    u.connect_all();
    let v = generate_verilog(&u);
    // The RAMs are plain memory arrays with a registered read (block RAM).
    assert!(v.contains("reg[31:0] mem[8191:0];") && v.contains("reg[511:0] mem[15:0];"), "memories");
    assert!(v.contains("read_data <= mem[read_address];"));
    lint(&v);
    yosys_validate("zynqflow_threshold", &v).expect("yosys_validate");
    let mut u = narrow();
    u.connect_all();
    lint(&generate_verilog(&u));
    let mut u = wide();
    u.connect_all();
    lint(&generate_verilog(&u));
}

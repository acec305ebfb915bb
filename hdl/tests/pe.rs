//! The processing element alone, in rust-hdl's simulator: tiles sequenced by
//! `StepControl::sequence` (Horner order) against the plain sum
//! `Σ ±2^(p+q)·v` of their steps, and free-form control against the PE's
//! arithmetic rule; then the same vectors on its generated Verilog.

mod common;

use common::{to_u32, word, Driver, Value, VectorLog};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_hdl::pe::{Pe, StepControl};
use zynqflow_isa::{ActBits, WeightBits};

/// One cycle of PE inputs.
#[derive(Clone)]
struct Cycle {
    reset: bool,
    a: Vec<u64>,
    w: Vec<u64>,
    ctl: StepControl,
    drain_in: u32,
    drain_in_valid: bool,
}

/// The term of one step, `v` or `−v` (no plane factor).
fn step_term(a: &[u64], w: &[u64], ctl: StepControl) -> i64 {
    let pc: i64 = a.iter().zip(w).map(|(a, w)| i64::from((a & w).count_ones())).sum();
    let pa: i64 = a.iter().map(|a| i64::from(a.count_ones())).sum();
    let v = if ctl.binary { 2 * pc - pa } else { pc };
    if ctl.negate {
        -v
    } else {
        v
    }
}

/// The PE's rule for a valid step: `acc' = (first ? 0 : double ? 2·acc : acc) + term`.
fn horner(acc: i64, a: &[u64], w: &[u64], ctl: StepControl) -> i64 {
    let base = if ctl.first {
        0
    } else if ctl.double {
        2 * acc
    } else {
        acc
    };
    base + step_term(a, w, ctl)
}

fn random_word(rng: &mut ChaCha8Rng, lanes: usize) -> Vec<u64> {
    (0..lanes)
        .map(|_| match rng.gen_range(0..6) {
            0 => u64::MAX,
            1 => 0,
            2 => 1u64 << rng.gen_range(0..64),
            _ => rng.gen(),
        })
        .collect()
}

fn idle_cycle(lanes: usize) -> Cycle {
    Cycle {
        reset: false,
        a: vec![0; lanes],
        w: vec![0; lanes],
        ctl: StepControl::IDLE,
        drain_in: 0,
        drain_in_valid: false,
    }
}

/// Random tiles: mostly `StepControl::sequence` tiles of random widths over
/// 1..=2 pairs, whose result must equal the plain sum `Σ ±2^(p+q)·v` (edge
/// values included: all-ones words, all-ones on the 7+7 level, sign planes,
/// binary weights); some tiles of 1..=12 steps with random `double` flags,
/// checked against the PE's rule ([`horner`]). Random bubbles (with random
/// `double`, which must be ignored), and values entering the drain chain from
/// above whenever they cannot collide with the PE's own result. Returns the
/// cycles and, per cycle, the value expected on `drain_out` after that
/// cycle's edge.
fn scenario(seed: u64, lanes: usize, min_steps: usize) -> (Vec<Cycle>, Vec<Option<u32>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cycles = vec![Cycle { reset: true, ..idle_cycle(lanes) }];
    let mut results: Vec<(usize, u32)> = Vec::new(); // (cycle of the last step, sum)
    let mut valid_steps = 0;
    while valid_steps < min_steps {
        let a_bits = ActBits::new(rng.gen_range(1..=8)).unwrap();
        let w_bits = WeightBits::new(rng.gen_range(1..=8)).unwrap();
        let free = rng.gen_bool(0.25);
        let steps: Vec<(usize, usize, StepControl)> = if free {
            let k = rng.gen_range(1..=12);
            (0..k)
                .map(|s| {
                    let (p, q) = (rng.gen_range(0..a_bits.bits()), rng.gen_range(0..w_bits.bits()));
                    let double = rng.gen_bool(0.4);
                    (p, q, StepControl::for_planes(a_bits, w_bits, p, q, s == 0, s == k - 1, double))
                })
                .collect()
        } else {
            let pairs = rng.gen_range(1..=2);
            StepControl::sequence(a_bits, w_bits, pairs).iter().map(|s| (s.p, s.q, s.ctl)).collect()
        };
        let all_ones = rng.gen_bool(0.1);
        let (mut acc, mut plain) = (0i64, 0i64);
        for (p, q, ctl) in steps {
            while rng.gen_bool(0.1) {
                let (a, w) = (random_word(&mut rng, lanes), random_word(&mut rng, lanes));
                let ctl = StepControl { double: rng.gen(), first: rng.gen(), ..StepControl::IDLE };
                cycles.push(Cycle { reset: false, a, w, ctl, drain_in: 0, drain_in_valid: false });
            }
            let (a, w) = if all_ones {
                (vec![u64::MAX; lanes], vec![u64::MAX; lanes])
            } else {
                (random_word(&mut rng, lanes), random_word(&mut rng, lanes))
            };
            acc = horner(acc, &a, &w, ctl);
            plain += step_term(&a, &w, ctl) << (p + q);
            cycles.push(Cycle { reset: false, a, w, ctl, drain_in: rng.gen(), drain_in_valid: false });
            valid_steps += 1;
        }
        if !free {
            assert_eq!(acc, plain, "Horner order of {a_bits}×{w_bits} bits");
        }
        results.push((cycles.len() - 1, to_u32(acc)));
    }
    cycles.extend((0..4).map(|_| idle_cycle(lanes)));
    // A value from above entering at cycle j sits in `res` after edge j; the
    // PE's own result of a last step at cycle i after edge i + 1.
    let own_res: std::collections::HashSet<usize> = results.iter().map(|(i, _)| i + 1).collect();
    let n = cycles.len();
    let mut expected = vec![None; n];
    for (i, v) in &results {
        expected[i + 2] = Some(*v);
    }
    for j in 1..n - 2 {
        if !own_res.contains(&j) && rng.gen_bool(0.3) {
            cycles[j].drain_in_valid = true;
            cycles[j].drain_in = rng.gen();
            expected[j + 1] = Some(cycles[j].drain_in);
        } else {
            cycles[j].drain_in = rng.gen(); // ignored: not valid
        }
    }
    (cycles, expected)
}

fn pe_log() -> VectorLog {
    VectorLog::new(
        &[("reset", 1), ("w_in", 0), ("a_in", 0), ("pa_in", 9), ("ctl_in", 6), ("drain_in", 32), ("drain_in_valid", 1)],
        &[("drain_out", 32), ("drain_out_valid", 1)],
    )
}

/// Runs the scenario on the rust-hdl PE, asserting every cycle's output;
/// returns the vector log.
fn run<const W: usize>(lanes: usize, cycles: &[Cycle], expected: &[Option<u32>]) -> VectorLog {
    let mut log = pe_log();
    log.inputs[1].1 = W;
    log.inputs[2].1 = W;
    let mut d = Driver::new(Pe::<W>::new(lanes, 32));
    let mut seen = 0;
    for (t, (c, want)) in cycles.iter().zip(expected).enumerate() {
        let pa: u64 = c.a.iter().map(|x| u64::from(x.count_ones())).sum();
        d.uut.reset.next = c.reset;
        d.uut.w_in.next = word::<W>(&c.w);
        d.uut.a_in.next = word::<W>(&c.a);
        d.uut.pa_in.next = pa.into();
        d.uut.ctl_in.next = c.ctl.to_bits();
        d.uut.drain_in.next = u64::from(c.drain_in).into();
        d.uut.drain_in_valid.next = c.drain_in_valid;
        d.tick();
        let out = d.uut.drain_out.val().to_u32();
        let valid = d.uut.drain_out_valid.val();
        assert_eq!(valid, want.is_some(), "cycle {t}: drain_out_valid");
        if let Some(v) = want {
            assert_eq!(out, *v, "cycle {t}: drained value {} vs expected {}", out as i32, *v as i32);
            seen += 1;
        }
        let inputs: Vec<Value> = vec![
            vec![u64::from(c.reset)],
            c.w.clone(),
            c.a.clone(),
            vec![pa],
            vec![c.ctl.to_bits().to_u64()],
            vec![u64::from(c.drain_in)],
            vec![u64::from(c.drain_in_valid)],
        ];
        log.record(inputs, vec![vec![u64::from(out)], vec![u64::from(valid)]]);
    }
    assert_eq!(seen, expected.iter().flatten().count());
    log
}

#[test]
fn pe_matches_the_software_step_on_random_tiles_one_lane() {
    let (cycles, expected) = scenario(1, 1, 1500);
    assert!(cycles.iter().filter(|c| c.ctl.valid).count() >= 1500);
    // The edge cases occurred: all-ones words doubled from the 7+7 level (the
    // first step of an 8×8 tile is its sign-plane step), sign planes, binary,
    // one-step tiles, doubling bubbles.
    let max_tile = |c: &Cycle| c.ctl.first && c.ctl.negate && c.a[0] == u64::MAX && c.w[0] == u64::MAX;
    assert!(cycles.iter().any(max_tile));
    assert!(cycles.iter().any(|c| c.ctl.valid && c.ctl.double));
    assert!(cycles.iter().any(|c| !c.ctl.valid && c.ctl.double));
    assert!(cycles.iter().any(|c| c.ctl.binary && c.a[0] == u64::MAX));
    assert!(cycles.iter().any(|c| c.ctl.first && c.ctl.last));
    run::<64>(1, &cycles, &expected);
}

#[test]
fn pe_matches_the_software_step_on_random_tiles_two_lanes() {
    let (cycles, expected) = scenario(2, 2, 500);
    run::<128>(2, &cycles, &expected);
}

#[test]
fn pe_extreme_steps() {
    // 8-bit codes × 8-bit weights, one pair: every code 255, every weight
    // −128: the sign plane step (level 7+7) comes first, −64·2^14; the sum is
    // 64·255·(−128). Then a binary step with a weight word of zeros: −64.
    let all = u64::MAX;
    let seq = StepControl::sequence(ActBits::new(8).unwrap(), WeightBits::new(8).unwrap(), 1);
    assert_eq!(seq.len(), 64);
    assert!(seq[0].ctl.first && seq[0].ctl.negate && (seq[0].p, seq[0].q) == (7, 7));
    let bin = StepControl { valid: true, first: true, last: true, binary: true, ..StepControl::IDLE };
    assert_eq!(step_term(&[all], &[0], bin), -64);
    let idle = |reset| Cycle { reset, ..idle_cycle(1) };
    let mut cycles = vec![idle(true)];
    // Weight −128: only the sign plane word is all ones.
    let w = |q: usize| vec![if q == 7 { all } else { 0 }];
    cycles.extend(seq.iter().map(|s| Cycle {
        reset: false,
        a: vec![all],
        w: w(s.q),
        ctl: s.ctl,
        drain_in: 0,
        drain_in_valid: false,
    }));
    let l1 = cycles.len() - 1;
    cycles.push(Cycle { reset: false, a: vec![all], w: vec![0], ctl: bin, drain_in: 0, drain_in_valid: false });
    cycles.extend((0..3).map(|_| idle(false)));
    let mut expected = vec![None; cycles.len()];
    expected[l1 + 2] = Some(to_u32(64 * 255 * -128));
    expected[l1 + 3] = Some(to_u32(-64));
    run::<64>(1, &cycles, &expected);
}

#[test]
fn reset_discards_results_in_flight() {
    let step = StepControl { valid: true, first: true, last: true, ..StepControl::IDLE };
    let idle =
        |reset| Cycle { reset, a: vec![1], w: vec![1], ctl: StepControl::IDLE, drain_in: 7, drain_in_valid: false };
    let mut cycles = vec![idle(true)];
    cycles.push(Cycle { reset: false, a: vec![3], w: vec![1], ctl: step, drain_in: 5, drain_in_valid: true });
    cycles.push(idle(true)); // the step is in stage 2, the value from above in `res`
    cycles.extend((0..4).map(|_| idle(false)));
    let expected = vec![None; cycles.len()];
    run::<64>(1, &cycles, &expected);
}

#[test]
fn pe_verilog_agrees_with_rust_hdl_on_the_same_vectors() {
    let (cycles, expected) = scenario(1, 1, 400);
    let log = run::<64>(1, &cycles, &expected);
    let mut pe = Pe::<64>::new(1, 32);
    pe.connect_all();
    let dir = tempfile::tempdir().unwrap();
    log.replay_on_verilog(&generate_verilog(&pe), dir.path());
}

#[test]
fn pe_verilog_is_lint_clean_and_elaborates() {
    let mut pe = Pe::<128>::new(2, 32);
    pe.connect_all();
    let dir = tempfile::tempdir().unwrap();
    zynqflow_hdl::verilog_check::lint_and_elaborate(&generate_verilog(&pe), dir.path(), "top")
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn sequence_orders_levels_descending_and_doubles_once_per_level() {
    for a in 1..=8 {
        for w in 1..=8 {
            for pairs in [1, 3] {
                let (ab, wb) = (ActBits::new(a).unwrap(), WeightBits::new(w).unwrap());
                let seq = StepControl::sequence(ab, wb, pairs);
                assert_eq!(seq.len(), pairs * (a * w) as usize);
                let mut seen = std::collections::HashSet::new();
                for (i, s) in seq.iter().enumerate() {
                    assert!(seen.insert((s.pair, s.p, s.q)), "step {i} repeated");
                    assert!(s.ctl.valid && s.ctl.first == (i == 0) && s.ctl.last == (i == seq.len() - 1));
                    assert_eq!(s.ctl.negate, w > 1 && s.q == w as usize - 1);
                    assert_eq!(s.ctl.binary, w == 1);
                    let level = s.p + s.q;
                    let opens = i > 0 && seq[i - 1].p + seq[i - 1].q != level;
                    assert_eq!(s.ctl.double, opens, "step {i}");
                    if i > 0 {
                        // Descending by exactly one level at a time: no level is empty.
                        let prev = seq[i - 1].p + seq[i - 1].q;
                        assert!(prev == level || prev == level + 1);
                    }
                }
                assert_eq!(seq[0].p + seq[0].q, (a + w - 2) as usize);
                assert_eq!(seq.last().unwrap().p + seq.last().unwrap().q, 0);
            }
        }
    }
}

#[test]
#[should_panic(expected = "lanes 5 outside")]
fn pe_refuses_unsupported_lanes() {
    let _ = Pe::<320>::new(5, 32);
}

#[test]
#[should_panic(expected = "only 32-bit accumulators")]
fn pe_refuses_other_accumulator_widths() {
    let _ = Pe::<64>::new(1, 24);
}

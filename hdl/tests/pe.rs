//! The processing element alone, in rust-hdl's simulator, against the software
//! meaning of each step; then the same vectors on its generated Verilog.

mod common;

use common::{step_term, to_u32, word, Driver, Value, VectorLog};
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

/// Random tiles of 1..=12 steps with random widths and planes (edge values
/// included: all-ones words, the 7+7 shift, sign planes, binary weights), random
/// bubbles, and values entering the drain chain from above whenever they
/// cannot collide with the PE's own result. Returns the cycles and, per cycle,
/// the value expected on `drain_out` after that cycle's edge.
fn scenario(seed: u64, lanes: usize, min_steps: usize) -> (Vec<Cycle>, Vec<Option<u32>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cycles = vec![Cycle {
        reset: true,
        a: vec![0; lanes],
        w: vec![0; lanes],
        ctl: StepControl::IDLE,
        drain_in: 0,
        drain_in_valid: false,
    }];
    let mut results: Vec<(usize, u32)> = Vec::new(); // (cycle of the last step, sum)
    let mut valid_steps = 0;
    while valid_steps < min_steps {
        let a_bits = ActBits::new(rng.gen_range(1..=8)).unwrap();
        let w_bits = WeightBits::new(rng.gen_range(1..=8)).unwrap();
        let k = rng.gen_range(1..=12);
        let mut sum = 0i64;
        for s in 0..k {
            while rng.gen_bool(0.2) {
                let (a, w) = (random_word(&mut rng, lanes), random_word(&mut rng, lanes));
                cycles.push(Cycle { reset: false, a, w, ctl: StepControl::IDLE, drain_in: 0, drain_in_valid: false });
            }
            let (p, q) = if rng.gen_bool(0.2) {
                (a_bits.bits() - 1, w_bits.bits() - 1)
            } else {
                (rng.gen_range(0..a_bits.bits()), rng.gen_range(0..w_bits.bits()))
            };
            let ctl = StepControl::for_planes(a_bits, w_bits, p, q, s == 0, s == k - 1);
            let (a, w) = (random_word(&mut rng, lanes), random_word(&mut rng, lanes));
            sum += step_term(&a, &w, ctl);
            cycles.push(Cycle { reset: false, a, w, ctl, drain_in: rng.gen(), drain_in_valid: false });
            valid_steps += 1;
        }
        results.push((cycles.len() - 1, to_u32(sum)));
    }
    cycles.extend((0..4).map(|_| Cycle {
        reset: false,
        a: vec![0; lanes],
        w: vec![0; lanes],
        ctl: StepControl::IDLE,
        drain_in: 0,
        drain_in_valid: false,
    }));
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
        &[("reset", 1), ("w_in", 0), ("a_in", 0), ("pa_in", 9), ("ctl_in", 9), ("drain_in", 32), ("drain_in_valid", 1)],
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
    let (cycles, expected) = scenario(1, 1, 400);
    assert!(cycles.iter().filter(|c| c.ctl.valid).count() >= 400);
    // The edge cases occurred: all-ones words on a 14-bit shift, sign planes, binary.
    assert!(cycles.iter().any(|c| c.ctl.shift == 14));
    assert!(cycles.iter().any(|c| c.ctl.negate && c.a[0] == u64::MAX && c.w[0] == u64::MAX));
    assert!(cycles.iter().any(|c| c.ctl.binary && c.a[0] == u64::MAX));
    assert!(cycles.iter().any(|c| c.ctl.first && c.ctl.last));
    run::<64>(1, &cycles, &expected);
}

#[test]
fn pe_matches_the_software_step_on_random_tiles_two_lanes() {
    let (cycles, expected) = scenario(2, 2, 150);
    run::<128>(2, &cycles, &expected);
}

#[test]
fn pe_extreme_steps() {
    // All-ones words: popcount 64, shift 14, negated: −2^20; binary with a
    // weight word of zeros: −64 (every weight −1).
    let all = u64::MAX;
    let sign = StepControl { valid: true, first: true, last: false, negate: true, binary: false, shift: 14 };
    let bin = StepControl { valid: true, first: false, last: true, negate: false, binary: true, shift: 0 };
    assert_eq!(step_term(&[all], &[all], sign), -(1 << 20));
    assert_eq!(step_term(&[all], &[0], bin), -64);
    let idle =
        |reset| Cycle { reset, a: vec![0], w: vec![0], ctl: StepControl::IDLE, drain_in: 0, drain_in_valid: false };
    let cycles = vec![
        idle(true),
        Cycle { reset: false, a: vec![all], w: vec![all], ctl: sign, drain_in: 0, drain_in_valid: false },
        Cycle { reset: false, a: vec![all], w: vec![0], ctl: bin, drain_in: 0, drain_in_valid: false },
        idle(false),
        idle(false),
        idle(false),
    ];
    let mut expected = vec![None; cycles.len()];
    expected[4] = Some(to_u32(-(1 << 20) - 64));
    run::<64>(1, &cycles, &expected);
}

#[test]
fn reset_discards_results_in_flight() {
    let step = StepControl { valid: true, first: true, last: true, negate: false, binary: false, shift: 3 };
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
#[should_panic(expected = "lanes 5 outside")]
fn pe_refuses_unsupported_lanes() {
    let _ = Pe::<320>::new(5, 32);
}

#[test]
#[should_panic(expected = "only 32-bit accumulators")]
fn pe_refuses_other_accumulator_widths() {
    let _ = Pe::<64>::new(1, 24);
}

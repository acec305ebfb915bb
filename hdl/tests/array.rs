//! The systolic array end to end: random convolution tiles sequenced exactly as
//! the controller will (`StepControl::sequence`: plane levels `p + q`
//! descending, then (tap, channel word) pairs, then planes), every drained result compared with the integer dot product of the
//! codes and weights, the drain's timing and order checked cycle by cycle, and
//! the generated Verilog linted, elaborated and co-simulated.

mod common;

use common::{to_u32, word, Driver, Value, VectorLog};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zynqflow_driver::quant::QWeights;
use zynqflow_driver::tensor::QTensor;
use zynqflow_hdl::array::SystolicArray;
use zynqflow_hdl::pe::StepControl;
use zynqflow_hdl::verilog_check::lint_and_elaborate;
use zynqflow_isa::{ActBits, ArrayConfig, WeightBits, CHANNELS_PER_WORD};

/// One step on the array's ports.
#[derive(Clone)]
struct Step {
    w: Vec<Vec<u64>>, // per row, per lane
    a: Vec<Vec<u64>>, // per column, per lane
    ctl: StepControl,
}

/// A tile of `rows` output channels × `cols` output pixels of a convolution,
/// as the controller sequences it, and its exact result.
struct Tile {
    steps: Vec<Step>,
    expected: Vec<Vec<i64>>, // [row][col]
    a_bits: usize,
    w_bits: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Values {
    Random,
    /// Every code at its maximum, every weight at its most negative value.
    MaxCodesMinWeights,
    /// Every code at its maximum, every weight at its largest value.
    MaxCodesMaxWeights,
}

/// An array's shape.
#[derive(Clone, Copy)]
struct Shape {
    rows: usize,
    cols: usize,
    lanes: usize,
}

/// A random convolution (kernel ≤ 3×3, padding, 1..=2 channel words per lane)
/// restricted to one output row of `cols` pixels and `rows` output channels,
/// with codes and weights drawn per `values`; `max_steps` bounds `K`.
fn random_tile(rng: &mut ChaCha8Rng, shape: Shape, a: u32, w: u32, values: Values, max_steps: usize) -> Tile {
    let Shape { rows, cols, lanes } = shape;
    let (a_bits, w_bits) = (ActBits::new(a).unwrap(), WeightBits::new(w).unwrap());
    let (kh, kw, cin, groups_per_step) = loop {
        let (kh, kw) = (rng.gen_range(1..=3usize), rng.gen_range(1..=3usize));
        let cin = rng.gen_range(1..=2 * lanes * CHANNELS_PER_WORD);
        let groups = cin.div_ceil(CHANNELS_PER_WORD);
        let words = groups.div_ceil(lanes);
        if kh * kw * words * a_bits.bits() * w_bits.bits() <= max_steps {
            break (kh, kw, cin, words);
        }
    };
    let pad_top = rng.gen_range(0..kh);
    let pad_left = rng.gen_range(0..kw);
    let in_h = kh - pad_top;
    let widest = cols + kw - 1 - pad_left;
    let in_w = rng.gen_range(widest.saturating_sub(kw - 1).max(1)..=widest);
    let max_code = a_bits.max_code() as u8;
    let codes: Vec<u8> = (0..in_h * in_w * cin)
        .map(|_| match values {
            Values::Random => {
                if rng.gen_bool(0.1) {
                    max_code
                } else {
                    rng.gen_range(0..=max_code)
                }
            }
            _ => max_code,
        })
        .collect();
    let weights: Vec<i8> = (0..rows * kh * kw * cin)
        .map(|_| match values {
            Values::MaxCodesMinWeights => w_bits.min_value() as i8,
            Values::MaxCodesMaxWeights => w_bits.max_value() as i8,
            Values::Random if w_bits.is_binary() => {
                if rng.gen_bool(0.5) {
                    1
                } else {
                    -1
                }
            }
            Values::Random => rng.gen_range(w_bits.min_value()..=w_bits.max_value()) as i8,
        })
        .collect();
    let act = QTensor::from_codes(in_h, in_w, cin, a_bits, &codes);
    let wts = QWeights::from_ints(rows, kh, kw, cin, w_bits, &weights);
    let groups = act.layout.groups();

    // The input pixel column `c` reads at tap (ky, kx), if inside the tensor.
    let pixel = |c: usize, ky: usize, kx: usize| -> Option<(usize, usize)> {
        let y = ky.checked_sub(pad_top)?;
        let x = (c + kx).checked_sub(pad_left)?;
        (y < in_h && x < in_w).then_some((y, x))
    };

    let mut expected = vec![vec![0i64; cols]; rows];
    for (r, row) in expected.iter_mut().enumerate() {
        for (c, out) in row.iter_mut().enumerate() {
            for ky in 0..kh {
                for kx in 0..kw {
                    if let Some((y, x)) = pixel(c, ky, kx) {
                        for ci in 0..cin {
                            *out += i64::from(codes[(y * in_w + x) * cin + ci])
                                * i64::from(weights[((r * kh + ky) * kw + kx) * cin + ci]);
                        }
                    }
                }
            }
        }
    }

    // Controller order: `StepControl::sequence` over the (tap, channel word)
    // pairs, numbered taps then words.
    let pairs = kh * kw * groups_per_step;
    let seq = StepControl::sequence(a_bits, w_bits, pairs);
    let mut steps = Vec::with_capacity(seq.len());
    for s in seq {
        let (tap, gw) = (s.pair / groups_per_step, s.pair % groups_per_step);
        let (ky, kx, p, q) = (tap / kw, tap % kw, s.p, s.q);
        let lane_groups = (0..lanes).map(|l| gw * lanes + l);
        let a = (0..cols)
            .map(|c| {
                lane_groups
                    .clone()
                    .map(|g| match pixel(c, ky, kx) {
                        Some((y, x)) if g < groups => act.data[act.layout.word_index(y, x, g, p)],
                        _ => 0,
                    })
                    .collect()
            })
            .collect();
        let w = (0..rows)
            .map(|r| {
                lane_groups
                    .clone()
                    .map(|g| if g < groups { wts.data[wts.layout.word_index(r, ky, kx, g, q)] } else { 0 })
                    .collect()
            })
            .collect();
        steps.push(Step { w, a, ctl: s.ctl });
    }
    Tile { steps, expected, a_bits: a as usize, w_bits: w as usize }
}

/// The tiles of one run: edge tiles first, then random widths and values.
fn tiles(seed: u64, rows: usize, cols: usize, lanes: usize, count: usize) -> Vec<Tile> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let shape = Shape { rows, cols, lanes };
    let mut out = vec![
        random_tile(&mut rng, shape, 8, 8, Values::MaxCodesMinWeights, 128),
        random_tile(&mut rng, shape, 8, 1, Values::MaxCodesMinWeights, 128),
        random_tile(&mut rng, shape, 8, 8, Values::MaxCodesMaxWeights, 128),
        random_tile(&mut rng, shape, 1, 1, Values::Random, 1),
    ];
    while out.len() < count {
        let (a, w) = (rng.gen_range(1..=8), rng.gen_range(1..=8));
        let values = match rng.gen_range(0..8) {
            0 => Values::MaxCodesMinWeights,
            1 => Values::MaxCodesMaxWeights,
            _ => Values::Random,
        };
        out.push(random_tile(&mut rng, shape, a, w, values, 256));
    }
    out
}

/// One cycle on the ports.
struct Cycle {
    reset: bool,
    step: Option<Step>,
}

/// Lays the tiles out in time as the controller must: back to back, with random
/// idle gaps and bubbles, and at least `rows` cycles between `last` steps.
/// Tile `abort`, if any, is cut by a reset after at most `rows` of its steps
/// (while the previous tile drains). Returns the cycles and, per tile, the cycles of its
/// first and last steps (`None`: aborted).
fn schedule(
    rng: &mut ChaCha8Rng,
    tiles: &[Tile],
    rows: usize,
    abort: Option<usize>,
) -> (Vec<Cycle>, Vec<usize>, Vec<Option<usize>>) {
    let mut cycles = vec![Cycle { reset: true, step: None }];
    let mut firsts: Vec<usize> = Vec::new();
    let mut lasts: Vec<Option<usize>> = Vec::new();
    for (t, tile) in tiles.iter().enumerate() {
        if abort == Some(t) {
            firsts.push(cycles.len());
            let cut = (tile.steps.len() - 1).min(rows);
            cycles.extend(tile.steps[..cut].iter().map(|s| Cycle { reset: false, step: Some(s.clone()) }));
            cycles.push(Cycle { reset: true, step: None });
            lasts.push(None);
            continue;
        }
        if rng.gen_bool(0.2) {
            for _ in 0..rng.gen_range(1..6) {
                cycles.push(Cycle { reset: false, step: None });
            }
        }
        for step in &tile.steps {
            while rng.gen_bool(0.03) {
                cycles.push(Cycle { reset: false, step: None });
            }
            if step.ctl.first {
                firsts.push(cycles.len());
            }
            if step.ctl.last {
                while lasts.last().is_some_and(|l| l.is_some_and(|l| cycles.len() - l < rows)) {
                    cycles.push(Cycle { reset: false, step: None });
                }
                lasts.push(Some(cycles.len()));
            }
            cycles.push(Cycle { reset: false, step: Some(step.clone()) });
        }
    }
    (cycles, firsts, lasts)
}

/// Runs `tiles` through a rust-hdl `rows × cols` array and checks every output
/// of every cycle; returns the vector log for a Verilog replay.
fn run<const W: usize>(
    rows: usize,
    cols: usize,
    lanes: usize,
    tiles: &[Tile],
    seed: u64,
    abort: Option<usize>,
) -> VectorLog {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (cycles, firsts, lasts) = schedule(&mut rng, tiles, rows, abort);
    let resets: Vec<usize> = (0..cycles.len()).filter(|&t| cycles[t].reset).collect();
    let array = SystolicArray::<W>::with_shape(rows, cols, lanes, 32);
    let latency = array.drain_latency();
    assert_eq!(array.min_tile_cycles(), rows);
    // Most tiles start while the previous one is still in the array or draining.
    let overlapped = (1..tiles.len()).filter(|&t| lasts[t - 1].is_some_and(|l| firsts[t] < l + latency + rows)).count();
    assert!(2 * overlapped > tiles.len(), "only {overlapped} tiles overlapped the previous drain");
    let total = cycles.len() + latency + rows + 2;
    // Expected output per cycle: (row, tile) of the drained results.
    // A reset sampled at an edge between a tile's last step and a row's output
    // (both included) discards that row.
    let mut expected: Vec<Option<(usize, usize)>> = vec![None; total];
    for (t, l) in lasts.iter().enumerate() {
        let Some(l) = *l else { continue };
        for j in 0..rows {
            let e = l + latency + j;
            assert!(expected[e].is_none(), "test schedule overlaps drains");
            if !resets.iter().any(|&rc| l <= rc && rc <= e) {
                expected[e] = Some((rows - 1 - j, t));
            }
        }
    }
    let expected_results = expected.iter().flatten().count() * cols;

    let mut inputs: Vec<(String, usize)> = vec![("reset".into(), 1)];
    inputs.extend((0..rows).map(|r| (format!("w_in${r}"), W)));
    inputs.extend((0..cols).map(|c| (format!("a_in${c}"), W)));
    inputs.push(("ctl_in".into(), zynqflow_hdl::pe::CTL_BITS));
    let mut outputs: Vec<(String, usize)> = (0..cols).map(|c| (format!("out_data${c}"), 32)).collect();
    outputs.extend((0..cols).map(|c| (format!("out_valid${c}"), 1)));
    let names = |v: &[(String, usize)]| v.iter().map(|(n, w)| (n.clone(), *w)).collect::<Vec<_>>();
    let mut log = VectorLog { inputs: names(&inputs), outputs: names(&outputs), ..Default::default() };

    let mut d = Driver::new(array);
    let mut checked = 0;
    let idle = Step { w: vec![vec![0; lanes]; rows], a: vec![vec![0; lanes]; cols], ctl: StepControl::IDLE };
    for (t, expect) in expected.iter().enumerate() {
        let (reset, step) = match cycles.get(t) {
            Some(Cycle { reset, step: Some(s) }) => (*reset, s.clone()),
            Some(Cycle { reset, step: None }) => (*reset, idle.clone()),
            None => (false, idle.clone()),
        };
        // Bubbles carry garbage words: they must be ignored.
        let garbage = |rng: &mut ChaCha8Rng| (0..lanes).map(|_| rng.gen()).collect::<Vec<u64>>();
        let w: Vec<Vec<u64>> =
            if step.ctl.valid { step.w.clone() } else { (0..rows).map(|_| garbage(&mut rng)).collect() };
        let a: Vec<Vec<u64>> =
            if step.ctl.valid { step.a.clone() } else { (0..cols).map(|_| garbage(&mut rng)).collect() };
        d.uut.reset.next = reset;
        for (port, lanes) in d.uut.w_in.iter_mut().zip(&w) {
            port.next = word::<W>(lanes);
        }
        for (port, lanes) in d.uut.a_in.iter_mut().zip(&a) {
            port.next = word::<W>(lanes);
        }
        d.uut.ctl_in.next = step.ctl.to_bits();
        d.tick();

        let data: Vec<u32> = (0..cols).map(|c| d.uut.out_data[c].val().to_u32()).collect();
        let valid: Vec<bool> = (0..cols).map(|c| d.uut.out_valid[c].val()).collect();
        match *expect {
            None => assert!(valid.iter().all(|v| !v), "cycle {t}: unexpected out_valid"),
            Some((row, tile)) => {
                assert!(valid.iter().all(|v| *v), "cycle {t}: out_valid low, expected row {row} of tile {tile}");
                for (c, (got, want)) in data.iter().zip(&tiles[tile].expected[row]).enumerate() {
                    assert_eq!(
                        *got,
                        to_u32(*want),
                        "cycle {t}: tile {tile} ({}-bit codes × {}-bit weights), row {row}, column {c}: got {} want {want}",
                        tiles[tile].a_bits,
                        tiles[tile].w_bits,
                        *got as i32
                    );
                    checked += 1;
                }
            }
        }
        let mut row_in: Vec<Value> = vec![vec![u64::from(reset)]];
        row_in.extend(w);
        row_in.extend(a);
        row_in.push(vec![step.ctl.to_bits().to_u64()]);
        let mut row_out: Vec<Value> = data.iter().map(|v| vec![u64::from(*v)]).collect();
        row_out.extend(valid.iter().map(|v| vec![u64::from(*v)]));
        log.record(row_in, row_out);
    }
    assert_eq!(checked, expected_results, "every result drained once");
    match abort {
        None => assert_eq!(checked, tiles.len() * rows * cols),
        Some(_) => assert!(checked < (tiles.len() - 1) * rows * cols, "the reset discarded part of a drain"),
    }
    log
}

fn check_run<const W: usize>(rows: usize, cols: usize, lanes: usize, count: usize, seed: u64) -> (VectorLog, usize) {
    let tiles = tiles(seed, rows, cols, lanes, count);
    // Back-to-back tiles occurred: a tile of K ≥ rows steps followed directly
    // by another, so its `first` overlaps the previous drain.
    assert!(tiles.iter().filter(|t| t.steps.len() >= rows).count() > count / 2);
    assert!(tiles.iter().any(|t| t.steps.len() < rows) || rows == 1, "a tile shorter than the array is padded");
    (run::<W>(rows, cols, lanes, &tiles, seed ^ 0x5eed, None), tiles.len())
}

#[test]
fn array_2x2_one_lane_computes_random_tiles() {
    let (_, n) = check_run::<64>(2, 2, 1, 60, 11);
    assert!(n >= 60);
}

#[test]
fn array_3x4_one_lane_computes_random_tiles() {
    let (_, n) = check_run::<64>(3, 4, 1, 50, 12);
    assert!(n >= 50);
}

#[test]
fn array_4x3_one_lane_computes_random_tiles() {
    let (_, n) = check_run::<64>(4, 3, 1, 30, 14);
    assert!(n >= 30);
}

#[test]
fn array_2x2_two_lanes_computes_random_tiles() {
    let (_, n) = check_run::<128>(2, 2, 2, 30, 13);
    assert!(n >= 30);
}

#[test]
fn array_reset_discards_work_in_flight() {
    // Tile 6 is cut by a reset while tile 5 drains: tile 5 loses the rows not
    // yet out, tile 6 is dropped, tiles 7.. are exact.
    let tiles = tiles(15, 3, 4, 1, 12);
    run::<64>(3, 4, 1, &tiles, 16, Some(6));
}

#[test]
fn array_verilog_agrees_with_rust_hdl_2x2() {
    let (log, _) = check_run::<64>(2, 2, 1, 10, 21);
    let dir = tempfile::tempdir().unwrap();
    let config = ArrayConfig { rows: 2, cols: 2, ..ArrayConfig::small() };
    log.replay_on_verilog(&zynqflow_hdl::array_verilog(&config), dir.path());
}

#[test]
fn array_verilog_agrees_with_rust_hdl_3x4() {
    let (log, _) = check_run::<64>(3, 4, 1, 8, 22);
    let config = ArrayConfig { rows: 3, cols: 4, ..ArrayConfig::small() };
    let dir = tempfile::tempdir().unwrap();
    log.replay_on_verilog(&zynqflow_hdl::array_verilog(&config), dir.path());
}

#[test]
fn array_verilog_is_lint_clean_and_elaborates_small() {
    let dir = tempfile::tempdir().unwrap();
    lint_and_elaborate(&zynqflow_hdl::array_verilog(&ArrayConfig::small()), dir.path(), "top")
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn array_verilog_is_lint_clean_and_elaborates_4x4() {
    let config = ArrayConfig { rows: 4, cols: 4, lanes: 1, ..ArrayConfig::small() };
    let dir = tempfile::tempdir().unwrap();
    lint_and_elaborate(&zynqflow_hdl::array_verilog(&config), dir.path(), "top").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[should_panic(expected = "rows 0 outside")]
fn array_refuses_an_empty_shape() {
    let _ = SystolicArray::<64>::with_shape(0, 2, 1, 32);
}

#[test]
#[should_panic(expected = "word width 64 is not 64·lanes")]
fn array_refuses_a_lane_mismatch() {
    let _ = SystolicArray::<64>::new(&ArrayConfig { lanes: 2, ..ArrayConfig::small() });
}

#[test]
fn array_single_row_and_single_column_shapes_compute_random_tiles() {
    check_run::<64>(1, 3, 1, 8, 17);
    check_run::<64>(3, 1, 1, 8, 18);
}

#[test]
fn array_single_row_and_single_column_verilog_is_lint_clean() {
    for (rows, cols) in [(1, 3), (3, 1), (1, 1)] {
        let config = ArrayConfig { rows, cols, ..ArrayConfig::small() };
        let dir = tempfile::tempdir().unwrap();
        lint_and_elaborate(&zynqflow_hdl::array_verilog(&config), dir.path(), "top")
            .unwrap_or_else(|e| panic!("{rows}×{cols}: {e}"));
    }
}

//! Randomized differential testing: seeded random layers (every geometry,
//! bit width and mode, plus some invalid descriptors) on the RTL of the
//! `small` preset in Verilator against the functional model.
//!
//! `cargo test --release -p zynqflow-sim --test rtl_vs_model` runs 50 layers;
//! `make fuzz-rtl` runs `ZYNQFLOW_FUZZ_LAYERS` (default 1000) through the
//! ignored test. `ZYNQFLOW_FUZZ_SEED` moves the seeds.
mod common;

use common::{check_layer, Rtl};
use zynqflow_isa::ArrayConfig;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn run(count: u64) {
    let first = env_u64("ZYNQFLOW_FUZZ_SEED", 1000);
    let mut rtl = Rtl::new(&ArrayConfig::small());
    let t = std::time::Instant::now();
    let (mut cycles, mut ran) = (0, 0);
    for seed in first..first + count {
        let (c, done) = check_layer(&mut rtl, seed);
        cycles += c;
        ran += u64::from(done);
    }
    // The generator keeps about 1 in 10 invalid descriptors: most must run.
    assert!(ran * 4 >= count * 3, "only {ran} of {count} layers ran: the generator draws too many invalid ones");
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "{count} layers from seed {first} ({ran} ran, {} refused): {cycles} cycles in {s:.1} s ({:.0} k cycles/s)",
        count - ran,
        cycles as f64 / s / 1e3
    );
}

#[test]
fn fifty_random_layers_match_the_model() {
    run(env_u64("ZYNQFLOW_TEST_LAYERS", 50));
}

#[test]
#[ignore = "long: `make fuzz-rtl`"]
fn fuzz_rtl() {
    run(env_u64("ZYNQFLOW_FUZZ_LAYERS", 1000));
}

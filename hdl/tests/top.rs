//! The whole accelerator (`small` preset) in rust-hdl's simulator, driven
//! through its AXI4-Lite slave with an AXI4 memory in the test, against the
//! functional model (`zynqflow_driver::model::Device`) on the same memory
//! image: every byte of memory and the status registers must agree. The
//! bench is in `top_bench/` (shared with the co-simulation in
//! `top_verilog.rs`).
mod common;
mod top_bench;

fn check_layer(seed: u64) {
    top_bench::check_layer_with(seed, false);
}
#[test]
fn one_layer_matches_the_model() {
    check_layer(1);
}

#[test]
fn random_layers_match_the_model() {
    for seed in 100..140 {
        check_layer(seed);
    }
}

/// Speed of rust-hdl's simulator on the whole `small` accelerator, for the
/// comparison with Verilator in docs/performance.md: ten random layers (the
/// same seeds as above), cycles of the runs over the wall time of the runs.
/// Not a correctness test (each layer is still checked); run with
/// `cargo test --release -p zynqflow-hdl --test top -- --ignored --nocapture rust_hdl_speed`.
#[test]
#[ignore = "a measurement: see docs/performance.md"]
fn rust_hdl_speed() {
    let start = std::time::Instant::now();
    let mut cycles = 0;
    for seed in 100..110 {
        cycles += top_bench::check_layer_with(seed, false).cycle;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("rust-hdl simulator, small: {cycles} cycles in {secs:.1} s = {:.0} cycles/s", cycles as f64 / secs);
    assert!(cycles > 0);
}

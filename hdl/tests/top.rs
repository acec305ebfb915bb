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

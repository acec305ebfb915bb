//! Builds (or finds) the simulation library of a preset and prints where and how long.
fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "small".into());
    let opt = std::env::args().nth(2);
    let c = zynqflow_isa::ArrayConfig::by_name(&name).expect("preset");
    let t = std::time::Instant::now();
    let b = zynqflow_sim::build(&c, &zynqflow_sim::BuildOptions { cxx_opt: opt, ..Default::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{} built_seconds={:?} total={:.1}s", b.lib.display(), b.build_seconds, t.elapsed().as_secs_f64());
}

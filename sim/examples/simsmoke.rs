//! Opens the simulated accelerator of a preset and prints its ID, capabilities and speed.
use zynqflow_driver::platform::Platform;
fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "small".into());
    let c = zynqflow_isa::ArrayConfig::by_name(&name).expect("preset");
    let opts = zynqflow_sim::BuildOptions { cxx_opt: std::env::args().nth(2), ..Default::default() };
    let mut p = zynqflow_sim::SimPlatform::with_options(&c, &opts, None).unwrap_or_else(|e| panic!("{e}"));
    for r in zynqflow_isa::regs::REGISTERS {
        let v = p.read_reg(r.offset).unwrap();
        if r.offset < 0x20 {
            println!("{:12} {v:#010x}", r.name);
        }
    }
    let t = std::time::Instant::now();
    let n = p.harness().run(1_000_000);
    let s = t.elapsed().as_secs_f64();
    println!("{n} idle cycles in {s:.3} s: {:.2} M cycles/s", n as f64 / s / 1e6);
}

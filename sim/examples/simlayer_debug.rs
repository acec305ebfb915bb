//! Reproducer helper: one raw layer through the runtime on the RTL, printing
//! the descriptors, the buffers and the memory model's statistics.
use zynqflow_driver::compiler::layer::{compile_layer, LayerOutput, LayerSpec};
use zynqflow_driver::cpu::ConvGeom;
use zynqflow_driver::quant::QWeights;
use zynqflow_driver::runtime::Accelerator;
use zynqflow_driver::QTensor;
use zynqflow_isa::{ActBits, ArrayConfig, WeightBits};

fn main() {
    let (h, w, cin, cout) = (7, 9, 70, 5);
    let x: Vec<u8> = (0..h * w * cin).map(|i| ((i * 7 + i / 5) % 4) as u8).collect();
    let a = ActBits::new(2).unwrap();
    let x = QTensor::from_codes(h, w, cin, a, &x);
    let wt: Vec<i8> = (0..cout * 4 * cin).map(|i| ((i * 37 + 11) % 256) as u8 as i8).collect();
    let wq = QWeights::from_ints(cout, 2, 2, cin, WeightBits::new(8).unwrap(), &wt);
    let geom = ConvGeom { kh: 2, kw: 2, stride: 2, pad: 0, upsample: 2, transposed: false };
    let spec = LayerSpec { in_h: h, in_w: w, cin, cout, geom, a_in: a, out: LayerOutput::Raw };
    let c = ArrayConfig::small();
    let p = zynqflow_sim::SimPlatform::new(&c).unwrap();
    let mut acc = Accelerator::open(p).unwrap();
    let image = compile_layer(&spec, &wq, None, acc.capabilities()).unwrap();
    let l = acc.load(&image).unwrap();
    println!(
        "weights {:#x}+{} arena {:#x}+{} commands {:#x}+{}",
        l.weights.bus_addr, l.weights.len, l.arena.bus_addr, l.arena.len, l.commands.bus_addr, l.commands.len
    );
    for d in &l.descriptors {
        println!("{d:?}");
    }
    let r = acc.run_image(&l, &x, std::time::Duration::from_secs(60));
    println!("{:?}", r.as_ref().err());
    let s = acc.platform().mem_stats();
    println!("{s:?} first SLVERR at {:#x}", s.first_slverr.0);
}

//! Probe: the RTL cycles of one synthetic threshold-mode layer, for finding
//! what bounds a layer shape (docs/performance.md, change 9).
//!
//! `cargo run --release -p zynqflow-sim --example layerprobe -- H W CIN COUT A W_BITS K`
//! runs a `K`×`K`, stride 1, same-padded conv of `A`-bit codes on `CFG` (default
//! `pynq-z2`) and prints its descriptors, cycles and memory statistics;
//! `TIMING=read_latency,write_resp_latency,read_interval,write_interval`
//! changes the memory model. LmFlowNetS's `cast` is `2 128 224 224 2 1 1`.
use zynqflow_driver::compiler::layer::{compile_layer, LayerOutput, LayerSpec};
use zynqflow_driver::cpu::ConvGeom;
use zynqflow_driver::quant::{QWeights, Thresholds};
use zynqflow_driver::runtime::Accelerator;
use zynqflow_driver::QTensor;
use zynqflow_isa::{ActBits, ArrayConfig, ThresholdMode, WeightBits};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().expect("numbers")).collect();
    assert_eq!(args.len(), 7, "usage: layerprobe H W CIN COUT A W_BITS K");
    let (h, w, cin, cout, abits, wbits, kk) = (args[0], args[1], args[2], args[3], args[4], args[5], args[6]);
    let x: Vec<u8> = (0..h * w * cin).map(|i| ((i * 7 + i / 5) % (1 << abits)) as u8).collect();
    let a = ActBits::new(abits as u32).unwrap();
    let x = QTensor::from_codes(h, w, cin, a, &x);
    let wt: Vec<i8> = (0..cout * kk * kk * cin)
        .map(|i| {
            if wbits == 1 {
                if (i * 37 + 11) % 3 == 0 {
                    1
                } else {
                    -1
                }
            } else {
                ((i * 37 + 11) % 7) as i8 - 3
            }
        })
        .collect();
    let wq = QWeights::from_ints(cout, kk, kk, cin, WeightBits::new(wbits as u32).unwrap(), &wt);
    let chans: Vec<(ThresholdMode, Vec<i32>)> = (0..cout)
        .map(|c| (ThresholdMode::Ascending, (0..(1i32 << abits) - 1).map(|k| k * 3 - 2 + (c as i32 % 3)).collect()))
        .collect();
    let th = Thresholds::from_channels(a, &chans);
    let geom = ConvGeom { kh: kk, kw: kk, stride: 1, pad: kk / 2, upsample: 1, transposed: false };
    let spec = LayerSpec { in_h: h, in_w: w, cin, cout, geom, a_in: a, out: LayerOutput::Codes(a) };
    let c = ArrayConfig::by_name(&std::env::var("CFG").unwrap_or("pynq-z2".into())).unwrap();
    let p = zynqflow_sim::SimPlatform::new(&c).unwrap();
    let mut acc = Accelerator::open(p).unwrap();
    let image = compile_layer(&spec, &wq, Some(&th), acc.capabilities()).unwrap();
    let l = acc.load(&image).unwrap();
    for d in &l.descriptors {
        println!("{d:?}");
    }
    if let Ok(t) = std::env::var("TIMING") {
        let v: Vec<u64> = t.split(',').map(|s| s.parse().unwrap()).collect();
        acc.platform().set_timing(zynqflow_sim::MemTiming {
            read_latency: v[0],
            write_resp_latency: v[1],
            read_beat_interval: v[2],
            write_beat_interval: v[3],
        });
    }
    let c0 = acc.platform().cycles();
    let r = acc.run_image(&l, &x, std::time::Duration::from_secs(600));
    println!("{:?} cycles {}", r.as_ref().err(), acc.platform().cycles() - c0);
    let s = acc.platform().mem_stats();
    println!("{s:?}");
}

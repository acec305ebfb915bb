//! Throughput of the quantized convolution (`cpu::qconv`) on LmFlowNetS- and
//! FlowNetS-like layers. Plain `std::time`; run with
//! `cargo bench -p zynqflow-driver --bench qconv` (optionally a filter word).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::{Duration, Instant};
use zynqflow_driver::cpu::qconv::qconv;
use zynqflow_driver::cpu::ConvGeom;
use zynqflow_driver::quant::QWeights;
use zynqflow_driver::QTensor;
use zynqflow_isa::{ActBits, WeightBits};

struct Layer {
    name: &'static str,
    h: usize,
    w: usize,
    cin: usize,
    a: u32,
    cout: usize,
    wb: u32,
    geom: ConvGeom,
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let k3 = ConvGeom::square(3, 1, 1);
    let up3 = ConvGeom { upsample: 2, ..k3 };
    let deconv = ConvGeom { transposed: true, ..ConvGeom::square(4, 2, 1) };
    let layers = [
        Layer { name: "3x3_48x64_512to256_A2W1", h: 48, w: 64, cin: 512, a: 2, cout: 256, wb: 1, geom: k3 },
        Layer { name: "3x3_192x256_24to64_A8W8", h: 192, w: 256, cin: 24, a: 8, cout: 64, wb: 8, geom: k3 },
        Layer { name: "3x3_96x128_256to128_A2W1", h: 96, w: 128, cin: 256, a: 2, cout: 128, wb: 1, geom: k3 },
        Layer { name: "3x3_6x8_2048to1024_A2W1", h: 6, w: 8, cin: 2048, a: 2, cout: 1024, wb: 1, geom: k3 },
        Layer { name: "up3x3_48x64_224to64_A2W1", h: 48, w: 64, cin: 224, a: 2, cout: 64, wb: 1, geom: up3 },
        Layer {
            name: "7x7s2_384x512_6to64_A8W8",
            h: 384,
            w: 512,
            cin: 6,
            a: 8,
            cout: 64,
            wb: 8,
            geom: ConvGeom::square(7, 2, 3),
        },
        Layer {
            name: "5x5s2_192x256_64to128_A4W4",
            h: 192,
            w: 256,
            cin: 64,
            a: 4,
            cout: 128,
            wb: 4,
            geom: ConvGeom::square(5, 2, 2),
        },
        Layer { name: "3x3_24x32_512to512_A4W4", h: 24, w: 32, cin: 512, a: 4, cout: 512, wb: 4, geom: k3 },
        Layer { name: "3x3_6x8_1024to1024_A4W4", h: 6, w: 8, cin: 1024, a: 4, cout: 1024, wb: 4, geom: k3 },
        Layer { name: "deconv4x4s2_6x8_1024to512_A4W4", h: 6, w: 8, cin: 1024, a: 4, cout: 512, wb: 4, geom: deconv },
        Layer { name: "deconv4x4s2_48x64_386to64_A4W4", h: 48, w: 64, cin: 386, a: 4, cout: 64, wb: 4, geom: deconv },
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    println!("{:<34} {:>10} {:>10} {:>10}", "layer", "GMAC", "ms", "GMAC/s");
    for l in layers.iter().filter(|l| filter.is_empty() || filter.iter().any(|f| l.name.contains(f.as_str()))) {
        let (a, wb) = (ActBits::new(l.a).unwrap(), WeightBits::new(l.wb).unwrap());
        let codes: Vec<u8> = (0..l.h * l.w * l.cin).map(|_| rng.gen_range(0..=a.max_code()) as u8).collect();
        let input = QTensor::from_codes(l.h, l.w, l.cin, a, &codes);
        let g = l.geom;
        let ints: Vec<i8> = (0..l.cout * g.kh * g.kw * l.cin)
            .map(|_| {
                if wb.is_binary() {
                    [-1, 1][rng.gen_range(0..2)]
                } else {
                    rng.gen_range(wb.min_value()..=wb.max_value()) as i8
                }
            })
            .collect();
        let weights = QWeights::from_ints(l.cout, g.kh, g.kw, l.cin, wb, &ints);
        let (ho, wo) = g.out_shape(l.h, l.w).unwrap();
        // Useful MACs: taps that land on the input (transposed: k²/s² per output).
        let taps = if g.transposed { g.kh * g.kw / (g.stride * g.stride) } else { g.kh * g.kw };
        let macs = (ho * wo * l.cout * taps * l.cin) as f64;
        black_box(qconv(&input, &weights, &g));
        let (mut best, mut total, mut runs) = (Duration::MAX, Duration::ZERO, 0);
        while runs < 3 || total < Duration::from_secs(2) {
            let t = Instant::now();
            black_box(qconv(black_box(&input), &weights, &g));
            let d = t.elapsed();
            best = best.min(d);
            total += d;
            runs += 1;
        }
        println!(
            "{:<34} {:>10.3} {:>10.2} {:>10.1}",
            l.name,
            macs / 1e9,
            best.as_secs_f64() * 1e3,
            macs / best.as_secs_f64() / 1e9
        );
    }
}

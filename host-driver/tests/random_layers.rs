//! Seeded random layers through the whole accelerator path — compile
//! (lowering, weight packing, descriptor encoding) → runtime (upload, start,
//! wait) → functional model → unpack — against the CPU reference kernels,
//! bit for bit.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;
use zynqflow_driver::compiler::layer::{compile_layer, LayerOutput, LayerSpec};
use zynqflow_driver::compiler::CompileError;
use zynqflow_driver::cpu::qconv::{qconv, threshold};
use zynqflow_driver::cpu::ConvGeom;
use zynqflow_driver::model::platform::ModelPlatform;
use zynqflow_driver::quant::{QWeights, Thresholds};
use zynqflow_driver::runtime::{Accelerator, Output};
use zynqflow_driver::QTensor;
use zynqflow_isa::{ActBits, ArrayConfig, ThresholdMode, WeightBits};

/// Values of a random case: random, extreme or zero.
#[derive(Clone, Copy, Debug)]
enum Fill {
    Random,
    MaxCodesMinWeights,
    MaxCodesMaxWeights,
    Zero,
}

fn random_geom(rng: &mut ChaCha8Rng) -> ConvGeom {
    if rng.gen_range(0..5) == 0 {
        let k = rng.gen_range(2..=5);
        return ConvGeom { kh: k, kw: k, stride: 2, pad: rng.gen_range(0..k), upsample: 1, transposed: true };
    }
    let kh = rng.gen_range(1..=7);
    let kw = if rng.gen_bool(0.3) { rng.gen_range(1..=7) } else { kh };
    ConvGeom { kh, kw, stride: rng.gen_range(1..=2), pad: rng.gen_range(0..kh.min(kw)), upsample: rng.gen_range(1..=2), transposed: false }
}

fn thresholds(rng: &mut ChaCha8Rng, cout: usize, bits: ActBits, span: i32) -> Thresholds {
    let n = bits.num_thresholds();
    let chans: Vec<(ThresholdMode, Vec<i32>)> = (0..cout)
        .map(|co| {
            let mut t: Vec<i32> = (0..n).map(|_| rng.gen_range(-span..=span)).collect();
            if co % 11 == 3 {
                t[0] = i32::MIN;
                t[n - 1] = i32::MAX;
            }
            t.sort();
            match rng.gen_range(0..8) {
                0 => (ThresholdMode::Constant(rng.gen_range(0..=bits.max_code()) as u8), t),
                1 | 2 => {
                    t.reverse();
                    (ThresholdMode::Descending, t)
                }
                _ => (ThresholdMode::Ascending, t),
            }
        })
        .collect();
    Thresholds::from_channels(bits, &chans)
}

#[test]
fn five_hundred_random_layers_match_the_cpu_reference_through_the_model() {
    let caps = ArrayConfig::small().capabilities();
    let mut rng = ChaCha8Rng::seed_from_u64(0x2a);
    let (mut run, mut tried, mut transposed, mut raw) = (0, 0, 0, 0);
    let mut widths = std::collections::HashSet::new();
    while run < 500 {
        tried += 1;
        let geom = random_geom(&mut rng);
        let (in_h, in_w) = (rng.gen_range(1..=13), rng.gen_range(1..=13));
        let Some((oh, ow)) = geom.out_shape(in_h, in_w) else { continue };
        let cin = if rng.gen_bool(0.2) { rng.gen_range(100..=200) } else { rng.gen_range(1..=70) };
        let cout = rng.gen_range(1..=72);
        let a_in = ActBits::new(rng.gen_range(1..=8)).unwrap();
        let wb = WeightBits::new(rng.gen_range(1..=8)).unwrap();
        let out = if rng.gen_bool(0.3) { LayerOutput::Raw } else { LayerOutput::Codes(ActBits::new(rng.gen_range(1..=8)).unwrap()) };
        let fill = [Fill::Random, Fill::Random, Fill::Random, Fill::MaxCodesMinWeights, Fill::MaxCodesMaxWeights, Fill::Zero][run % 6];
        let codes: Vec<u8> = (0..in_h * in_w * cin)
            .map(|_| match fill {
                Fill::Random => rng.gen_range(0..=a_in.max_code()) as u8,
                Fill::MaxCodesMinWeights | Fill::MaxCodesMaxWeights => a_in.max_code() as u8,
                Fill::Zero => 0,
            })
            .collect();
        let ints: Vec<i8> = (0..cout * geom.kh * geom.kw * cin)
            .map(|_| {
                let v = match fill {
                    Fill::MaxCodesMinWeights => wb.min_value(),
                    Fill::MaxCodesMaxWeights => wb.max_value(),
                    _ if wb.is_binary() => [-1, 1][rng.gen_range(0..2)],
                    _ => rng.gen_range(wb.min_value()..=wb.max_value()),
                };
                v as i8
            })
            .collect();
        let input = QTensor::from_codes(in_h, in_w, cin, a_in, &codes);
        let w = QWeights::from_ints(cout, geom.kh, geom.kw, cin, wb, &ints);
        let span = (geom.kh * geom.kw * cin) as i32 * a_in.max_code() as i32 * 4;
        let th = match out {
            LayerOutput::Codes(b) => Some(thresholds(&mut rng, cout, b, span)),
            LayerOutput::Raw => None,
        };
        let spec = LayerSpec { in_h, in_w, cin, cout, geom, a_in, out };
        let image = match compile_layer(&spec, &w, th.as_ref(), &caps) {
            Ok(i) => i,
            // A transposed geometry with a phase no kernel tap reaches (e.g.
            // 3x3/2 with pad 2) is refused by the compiler, not mis-run.
            Err(CompileError::Unsupported { reason, .. }) if geom.transposed && reason.contains("no kernel tap") => continue,
            Err(e) => panic!("case {run}: {e}"),
        };
        let mut acc = Accelerator::open(ModelPlatform::new(caps)).unwrap();
        let loaded = acc.load(&image).unwrap();
        let got = acc.run_image(&loaded, &input, Duration::from_secs(30)).unwrap();
        let reference = qconv(&input, &w, &geom);
        assert_eq!((reference.h(), reference.w()), (oh, ow));
        match (got, &th) {
            (Output::Codes(q), Some(t)) => assert_eq!(q, threshold(&reference, t), "case {run}: {spec:?} {fill:?}"),
            (Output::Raw(r), None) => {
                assert_eq!(r, reference, "case {run}: {spec:?} {fill:?}");
                raw += 1;
            }
            (o, _) => panic!("case {run}: unexpected output kind {o:?}"),
        }
        let counters = acc.counters().unwrap();
        assert_eq!(counters.macs, image.macs(), "case {run}: PERF_MACS");
        assert_eq!(counters.commands as usize, image.commands.len());
        transposed += geom.transposed as usize;
        widths.insert((a_in.bits(), wb.bits()));
        run += 1;
    }
    assert!(transposed >= 50 && raw >= 100, "coverage: {transposed} transposed, {raw} raw of {run} ({tried} tried)");
    assert_eq!(widths.len(), 64, "every (activation, weight) width pair ran");
}

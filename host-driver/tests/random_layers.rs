//! Seeded random layers through the whole accelerator path — compile
//! (lowering, weight packing, descriptor encoding) → runtime (upload, start,
//! wait) → functional model → unpack — against the CPU reference kernels,
//! bit for bit. The cases come from `zynqflow_driver::selftest`, which
//! `zynqflow selftest` runs on boards too.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;
use zynqflow_driver::compiler::layer::LayerOutput;
use zynqflow_driver::model::platform::ModelPlatform;
use zynqflow_driver::runtime::{Accelerator, Output};
use zynqflow_driver::selftest::{Fill, RandomLayer};
use zynqflow_isa::ArrayConfig;

#[test]
fn five_hundred_random_layers_match_the_cpu_reference_through_the_model() {
    let caps = ArrayConfig::small().capabilities();
    let mut rng = ChaCha8Rng::seed_from_u64(0x2a);
    let (mut run, mut tried, mut transposed, mut raw) = (0, 0, 0, 0);
    let mut widths = std::collections::HashSet::new();
    while run < 500 {
        tried += 1;
        let Some(case) = RandomLayer::draw(&mut rng, Fill::for_case(run)) else { continue };
        let spec = case.spec;
        let Some(image) = case.compile(&caps).unwrap_or_else(|e| panic!("case {run}: {e}")) else { continue };
        let mut acc = Accelerator::open(ModelPlatform::new(caps)).unwrap();
        let loaded = acc.load(&image).unwrap();
        let got = acc.run_image(&loaded, &case.input, Duration::from_secs(30)).unwrap();
        let reference = case.reference();
        let (oh, ow) = spec.geom.out_shape(spec.in_h, spec.in_w).unwrap();
        match (&got, &reference) {
            (Output::Codes(q), Output::Codes(r)) => {
                assert_eq!((q.h(), q.w()), (oh, ow));
                assert_eq!(q, r, "case {run}: {spec:?} {:?}", case.fill);
            }
            (Output::Raw(g), Output::Raw(r)) => {
                assert_eq!((r.h(), r.w()), (oh, ow));
                assert_eq!(g, r, "case {run}: {spec:?} {:?}", case.fill);
                raw += 1;
            }
            (o, _) => panic!("case {run}: unexpected output kind {o:?}"),
        }
        assert_eq!(matches!(spec.out, LayerOutput::Raw), matches!(got, Output::Raw(_)));
        let counters = acc.counters().unwrap();
        assert_eq!(counters.macs, image.macs(), "case {run}: PERF_MACS");
        assert_eq!(counters.commands as usize, image.commands.len());
        transposed += spec.geom.transposed as usize;
        widths.insert((spec.a_in.bits(), case.weights.layout.bits.bits()));
        run += 1;
    }
    assert!(transposed >= 50 && raw >= 100, "coverage: {transposed} transposed, {raw} raw of {run} ({tried} tried)");
    assert_eq!(widths.len(), 64, "every (activation, weight) width pair ran");
}

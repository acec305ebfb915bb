//! Every compiled kernel variant on whole descriptors, and the model's
//! throughput (an ignored test: run it with
//! `cargo test --release -p zynqflow-driver --lib model::tests_speed -- --ignored --nocapture`,
//! with `RAYON_NUM_THREADS=1` for one core).

use super::exec::execute_with;
use super::kernel::{detect, Isa};
use super::tests_exec::{random_descriptor, reference, setup, Values};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;
use zynqflow_isa::descriptor::{Descriptor, MODE_THRESHOLD, OP_CONV};

#[test]
fn every_isa_level_gives_the_reference_result() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x15A);
    for i in 0..24u32 {
        let d0 = random_descriptor(&mut rng, 1 + i % 8, 1 + (i * 3) % 8, 1 + (i * 5) % 8, i % 3 == 0);
        for isa in [Isa::Portable, Isa::Popcnt, Isa::Avx512].into_iter().filter(|&l| l <= detect()) {
            let mut d = d0;
            let seed = rng.gen();
            let (mut mem, checked) = setup(&mut d, &mut ChaCha8Rng::seed_from_u64(seed), Values::Random, true);
            let want = reference(&mem, &d);
            execute_with(&mut mem, &checked, isa).unwrap();
            assert!(mem == want, "{isa:?}: {d:?}");
        }
    }
}

fn layer(out_h: u32, out_w: u32, cin: u32, cout: u32, a: u32, w: u32) -> Descriptor {
    Descriptor {
        opcode: OP_CONV,
        mode: MODE_THRESHOLD,
        a_in: a,
        w_bits: w,
        a_out: 2,
        in_h: out_h,
        in_w: out_w,
        cin,
        cout,
        out_h,
        out_w,
        kh: 3,
        kw: 3,
        stride: 1,
        upsample: 1,
        pad_top: 1,
        pad_left: 1,
        dst_h: out_h,
        dst_w: out_w,
        dst_c: cout,
        out_stride: 1,
        in_c_total: cin,
        ..Default::default()
    }
}

#[test]
#[ignore = "throughput measurement"]
fn throughput() {
    let threads = rayon::current_num_threads();
    for (name, mut d) in [
        ("A2/W1 3x3 48x64 512->256", layer(48, 64, 512, 256, 2, 1)),
        ("A2/W1 3x3 96x128 128->128", layer(96, 128, 128, 128, 2, 1)),
        ("A4/W4 3x3 48x64 256->256", layer(48, 64, 256, 256, 4, 4)),
        ("A8/W8 3x3 96x128 64->64", layer(96, 128, 64, 64, 8, 8)),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (mut mem, checked) = setup(&mut d, &mut rng, Values::Random, false);
        for isa in [Isa::Portable, Isa::Popcnt, Isa::Avx512].into_iter().filter(|&l| l <= detect()) {
            execute_with(&mut mem, &checked, isa).unwrap();
            let reps = 3;
            let t0 = Instant::now();
            for _ in 0..reps {
                execute_with(&mut mem, &checked, isa).unwrap();
            }
            let s = t0.elapsed().as_secs_f64() / f64::from(reps);
            let macs = checked.macs() as f64;
            let bits = f64::from(d.a_in * d.w_bits);
            eprintln!(
                "{name:28} {isa:9?} {threads} thr: {:6.2} G MAC/s = {:6.1} G binary-MAC/s ({:.1} per thread) in {:.1} ms",
                macs / s / 1e9,
                macs * bits / s / 1e9,
                macs * bits / s / 1e9 / threads as f64,
                s * 1e3
            );
        }
    }
}

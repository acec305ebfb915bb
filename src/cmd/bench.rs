//! `zynqflow bench`: the CPU's quantized path against its float path on the
//! same network, weights and frames, in one run (a ratio, not a timing).

use super::{graph, parse_size, NetName};
use anyhow::Result;
use std::time::Instant;
use zynqflow_driver::cpu::{FloatNet, QuantNet};
use zynqflow_driver::io;
use zynqflow_driver::weights::synth;

/// Arguments of `zynqflow bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Network.
    #[arg(long, value_enum, default_value = "lmflownets")]
    pub net: NetName,
    /// Input size HxW.
    #[arg(long, value_parser = parse_size, default_value = "192x256")]
    pub size: (usize, usize),
    /// Timed runs of each path (alternating; the fastest of each is kept).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

/// Runs the benchmark and prints the figures.
pub fn run(a: BenchArgs) -> Result<()> {
    let g = graph(a.net, a.size)?;
    let w = synth::synthesize(&g, 1);
    let (fa, fb, _) = io::synthetic_pair(1, a.size.0, a.size.1);
    let frames = io::frames::pair_tensor(&fa, &fb);
    let q = QuantNet::new(g.clone(), &w)?;
    let f = FloatNet::new(g.clone(), &w)?;
    let gmac = g.total_macs() as f64 / 1e9;
    let (mut tq, mut tf) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..a.runs.max(1) {
        let t = Instant::now();
        std::hint::black_box(q.run(&frames, &mut |_, _, _| {}));
        tq = tq.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        std::hint::black_box(f.run(&frames, &mut |_, _, _| {}));
        tf = tf.min(t.elapsed().as_secs_f64());
    }
    let threads = rayon::current_num_threads();
    println!("cpu bench: {} at {}x{}, {gmac:.2} GMAC, {threads} threads, best of {} runs", g.name, a.size.0, a.size.1, a.runs.max(1));
    println!("  quantized: {:8.3} s  ({:6.1} GMAC/s)", tq, gmac / tq);
    println!("  float:     {:8.3} s  ({:6.1} GMAC/s)", tf, gmac / tf);
    println!("  quantized_vs_float_speedup: {:.2}", tf / tq);
    Ok(())
}

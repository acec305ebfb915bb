//! The CPU part of `zynqflow bench`: the quantized path against the float
//! path on the same network, weights and frames, in one run (a ratio, not a
//! timing).

use crate::cmd::{graph, NetName};
use anyhow::Result;
use std::time::Instant;
use zynqflow_driver::cpu::{FloatNet, QuantNet};
use zynqflow_driver::io;
use zynqflow_driver::weights::synth;

/// What one CPU comparison measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CpuResult {
    /// Network.
    pub net: String,
    /// Input size `HxW`.
    pub size: String,
    /// Multiply-accumulates of the network, in units of 10^9.
    pub gmac: f64,
    /// Rayon threads.
    pub threads: usize,
    /// Timed runs of each path (the fastest kept).
    pub runs: usize,
    /// Fastest quantized run, seconds.
    pub quantized_s: f64,
    /// Fastest float run, seconds.
    pub float_s: f64,
    /// `float_s / quantized_s`.
    pub quantized_vs_float_speedup: f64,
}

/// Runs both paths `runs` times, alternating, prints and returns the figures.
pub fn run(net: NetName, size: (usize, usize), runs: usize) -> Result<CpuResult> {
    let g = graph(net, size)?;
    let w = synth::synthesize(&g, 1);
    let (fa, fb, _) = io::synthetic_pair(1, size.0, size.1);
    let frames = io::frames::pair_tensor(&fa, &fb);
    let q = QuantNet::new(g.clone(), &w)?;
    let f = FloatNet::new(g.clone(), &w)?;
    let gmac = g.total_macs() as f64 / 1e9;
    let (mut tq, mut tf) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        std::hint::black_box(q.run(&frames, &mut |_, _, _| {}));
        tq = tq.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        std::hint::black_box(f.run(&frames, &mut |_, _, _| {}));
        tf = tf.min(t.elapsed().as_secs_f64());
    }
    let threads = rayon::current_num_threads();
    println!(
        "cpu bench: {} at {}x{}, {gmac:.2} GMAC, {threads} threads, best of {} runs",
        g.name,
        size.0,
        size.1,
        runs.max(1)
    );
    println!("  quantized: {:8.3} s  ({:6.1} GMAC/s)", tq, gmac / tq);
    println!("  float:     {:8.3} s  ({:6.1} GMAC/s)", tf, gmac / tf);
    println!("  quantized_vs_float_speedup: {:.2}", tf / tq);
    Ok(CpuResult {
        net: g.name.to_string(),
        size: format!("{}x{}", size.0, size.1),
        gmac,
        threads,
        runs: runs.max(1),
        quantized_s: tq,
        float_s: tf,
        quantized_vs_float_speedup: tf / tq,
    })
}

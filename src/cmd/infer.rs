//! `zynqflow infer`: optical flow for one frame pair.

use super::{check_output_dir, graph, load_weights, parse_config, parse_size, with_progress, NetName};
use anyhow::{bail, Result};
use std::path::PathBuf;
use zynqflow_driver::compiler::compile;
use zynqflow_driver::cpu::{FloatNet, QuantNet};
use zynqflow_driver::io::{self, Flow};
use zynqflow_driver::model::platform::ModelPlatform;
use zynqflow_driver::runtime::Accelerator;

/// Where the network runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The CPU reference of the quantized network (the golden model).
    Cpu,
    /// The bit-exact functional model of the accelerator, driven through
    /// the same runtime as a board.
    Model,
    /// The accelerator's RTL in Verilator (`--config`), through the same
    /// runtime: cycle counts, performance counters, `--trace` waveforms.
    #[cfg(feature = "sim")]
    Sim,
    /// The accelerator on a board (UIO + u-dma-buf; `--root` for an
    /// emulated one), through the same runtime.
    Board,
}

/// Arguments of `zynqflow infer`.
#[derive(clap::Args, Debug)]
pub struct InferArgs {
    /// Where to run.
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: Backend,
    /// Network.
    #[arg(long, value_enum, default_value = "lmflownets")]
    pub net: NetName,
    /// Network input size HxW (multiples of 64). Frames of another size are
    /// resized to it; without it, frames must already be multiples of 64.
    /// Synthetic frames default to 384x512.
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(usize, usize)>,
    /// Weights file (safetensors, see docs/weights.md).
    #[arg(long, conflicts_with = "synthetic_weights", required_unless_present = "synthetic_weights")]
    pub weights: Option<PathBuf>,
    /// Use deterministic synthetic weights from this seed.
    #[arg(long, value_name = "SEED")]
    pub synthetic_weights: Option<u64>,
    /// The two frames (PNG or PPM, 8-bit RGB, same size).
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "synthetic_frames", required_unless_present = "synthetic_frames")]
    pub frames: Option<Vec<PathBuf>>,
    /// Use a synthetic pair (a texture and its warp by a smooth flow) from this seed.
    #[arg(long, value_name = "SEED")]
    pub synthetic_frames: Option<u64>,
    /// Run the float network instead of the quantized one (CPU only).
    #[arg(long)]
    pub float: bool,
    /// Accelerator configuration (model and sim backends).
    #[arg(long, value_parser = parse_config, default_value = "pynq-z2")]
    pub config: zynqflow_isa::ArrayConfig,
    /// With --backend sim: write an FST waveform of the whole run (large:
    /// use small sizes).
    #[arg(long, value_name = "FILE.fst")]
    pub trace: Option<PathBuf>,
    /// Seconds (wall clock) to wait for the accelerator before giving up;
    /// default 120, or 10800 with --backend sim (the RTL simulation runs
    /// about 10^5 cycles per second: a 128x192 LmFlowNetS frame on `small`
    /// takes minutes).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Output flow (Middlebury .flo).
    #[arg(long)]
    pub out: PathBuf,
    /// Where the board backend finds the accelerator.
    #[command(flatten)]
    pub board: super::board::BoardArgs,
    /// Also write the colour-wheel visualisation as a PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// With --synthetic-frames: also write the pair's true flow as a colour-wheel
    /// PNG, and report the average end-point error of the result against it.
    #[arg(long)]
    pub truth_png: Option<PathBuf>,
}

/// Runs inference and writes the outputs (atomically; none on failure).
pub fn run(a: InferArgs) -> Result<()> {
    check_output_dir(&a.out)?;
    let not_sim = matches!(a.backend, Backend::Cpu | Backend::Model | Backend::Board);
    super::sim::check_trace(a.trace.as_deref(), not_sim)?;
    let secs = a.timeout.unwrap_or(super::sim::default_timeout(not_sim));
    let timeout = std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| anyhow::anyhow!("--timeout {secs} is not a positive number of seconds"))?;
    if let Some((h, w)) = a.size {
        zynqflow_driver::graph::check_size(h, w)?;
    }
    if let Some(p) = &a.png {
        check_output_dir(p)?;
    }
    if let Some(p) = &a.truth_png {
        if a.synthetic_frames.is_none() {
            bail!("--truth-png needs --synthetic-frames (only a synthetic pair has a known flow)");
        }
        check_output_dir(p)?;
    }
    let mut truth = None;
    let (frames, size) = match (&a.frames, a.synthetic_frames) {
        (Some(f), None) => {
            let t = io::load_pair(&f[0], &f[1], a.size)?;
            let size = (t.h, t.w);
            (t, size)
        }
        (None, Some(seed)) => {
            let (h, w) = a.size.unwrap_or((384, 512));
            zynqflow_driver::graph::check_size(h, w)?;
            let (fa, fb, gt) = io::synthetic_pair(seed, h, w);
            truth = Some(gt);
            (io::frames::pair_tensor(&fa, &fb), (h, w))
        }
        _ => bail!("give exactly one of --frames A B and --synthetic-frames SEED"),
    };
    let g = graph(a.net, size)?;
    let w = load_weights(&g, a.weights.as_deref(), a.synthetic_weights)?;
    let start = std::time::Instant::now();
    let flow = match (a.backend, a.float) {
        (Backend::Cpu, false) => {
            let net = QuantNet::new(g, &w)?;
            with_progress("cpu quantized", |p| net.run(&frames, p))
        }
        (Backend::Cpu, true) => {
            let net = FloatNet::new(g, &w)?;
            with_progress("cpu float", |p| net.run(&frames, p))
        }
        (Backend::Model, false) => {
            let caps = a.config.capabilities();
            let program = compile(&QuantNet::new(g, &w)?, &caps)?;
            let mut acc = Accelerator::open(ModelPlatform::new(caps))?;
            let loaded = acc.load(&program.image)?;
            let flow = acc.run(&loaded, &program, &frames, timeout)?;
            let c = acc.counters()?;
            println!(
                "model ({}): {} descriptors, {:.3} GMAC (the functional model has no timing: cycle counts come from --backend sim)",
                a.config.name,
                c.commands,
                c.macs as f64 / 1e9
            );
            flow
        }
        #[cfg(feature = "sim")]
        (Backend::Sim, false) => {
            let caps = a.config.capabilities();
            let program = compile(&QuantNet::new(g, &w)?, &caps)?;
            let platform = super::sim::sim_platform(&a.config, a.trace.as_deref())?;
            let mut acc = Accelerator::open(platform)?;
            let loaded = acc.load(&program.image)?;
            let t0 = std::time::Instant::now();
            let c0 = acc.platform().cycles();
            let flow = acc.run(&loaded, &program, &frames, timeout)?;
            let wall = t0.elapsed().as_secs_f64();
            let c = acc.counters()?;
            let n = acc.platform().cycles() - c0;
            super::sim::report(&a.config, acc.platform(), &c, n, wall);
            flow
        }
        (Backend::Board, false) => {
            let mut acc = Accelerator::open(a.board.open()?)?;
            let program = compile(&QuantNet::new(g, &w)?, acc.capabilities())?;
            let loaded = acc.load(&program.image)?;
            let flow = acc.run(&loaded, &program, &frames, timeout)?;
            let c = acc.counters()?;
            let i = acc.platform().info();
            println!(
                "board ({}): {} descriptors, {:.3} GMAC, {} busy cycles",
                i.device.display(),
                c.commands,
                c.macs as f64 / 1e9,
                c.busy_cycles
            );
            flow
        }
        (_, true) => bail!("--float runs only on the CPU backend (the accelerator is integer)"),
    };
    log::info!("inference took {:.2} s", start.elapsed().as_secs_f64());
    let flow = Flow::from_ftensor(&flow);
    if let Some(gt) = &truth {
        let epe: f64 = (0..flow.h * flow.w)
            .map(|i| {
                let (du, dv) = (flow.data[2 * i] - gt.data[2 * i], flow.data[2 * i + 1] - gt.data[2 * i + 1]);
                f64::from(du * du + dv * dv).sqrt()
            })
            .sum::<f64>()
            / (flow.h * flow.w) as f64;
        let weights =
            if a.synthetic_weights.is_some() { " (synthetic, untrained weights: expect no agreement)" } else { "" };
        println!("average end-point error against the synthetic pair's true flow: {epe:.2} px{weights}");
    }
    io::write_flo(&a.out, &flow)?;
    let mut written = vec![a.out.clone()];
    let pngs = [(a.png.as_ref(), &flow), (a.truth_png.as_ref(), truth.as_ref().unwrap_or(&flow))];
    for (path, f) in pngs {
        if let Some(p) = path {
            if let Err(e) = io::write_flow_png(p, f) {
                for w in &written {
                    let _ = std::fs::remove_file(w);
                }
                return Err(e.into());
            }
            written.push(p.clone());
        }
    }
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    println!("wrote {} ({}x{} flow, HxW as --size)", names.join(", "), flow.h, flow.w);
    Ok(())
}

//! `zynqflow infer`: optical flow for one frame pair.

use super::{check_output_dir, graph, load_weights, parse_config, parse_size, with_progress, NetName};
use anyhow::{bail, Result};
use std::path::PathBuf;
use zynqflow_driver::compiler::compile;
use zynqflow_driver::cpu::{FloatNet, QuantNet};
use zynqflow_driver::model::platform::ModelPlatform;
use zynqflow_driver::runtime::Accelerator;
use zynqflow_driver::io::{self, Flow};

/// Where the network runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The CPU reference of the quantized network (the golden model).
    Cpu,
    /// The bit-exact functional model of the accelerator, driven through
    /// the same runtime as a board.
    Model,
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
    /// Accelerator configuration (model backend).
    #[arg(long, value_parser = parse_config, default_value = "pynq-z2")]
    pub config: zynqflow_isa::ArrayConfig,
    /// Seconds to wait for the accelerator before giving up.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// Output flow (Middlebury .flo).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the colour-wheel visualisation as a PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
}

/// Runs inference and writes the outputs (atomically; none on failure).
pub fn run(a: InferArgs) -> Result<()> {
    check_output_dir(&a.out)?;
    let timeout = std::time::Duration::try_from_secs_f64(a.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| anyhow::anyhow!("--timeout {} is not a positive number of seconds", a.timeout))?;
    if let Some((h, w)) = a.size {
        zynqflow_driver::graph::check_size(h, w)?;
    }
    if let Some(p) = &a.png {
        check_output_dir(p)?;
    }
    let (frames, size) = match (&a.frames, a.synthetic_frames) {
        (Some(f), None) => {
            let t = io::load_pair(&f[0], &f[1], a.size)?;
            let size = (t.h, t.w);
            (t, size)
        }
        (None, Some(seed)) => {
            let (h, w) = a.size.unwrap_or((384, 512));
            zynqflow_driver::graph::check_size(h, w)?;
            let (fa, fb, _) = io::synthetic_pair(seed, h, w);
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
        (Backend::Model, true) => bail!("--float runs only on the CPU backend (the accelerator is integer)"),
    };
    log::info!("inference took {:.2} s", start.elapsed().as_secs_f64());
    let flow = Flow::from_ftensor(&flow);
    io::write_flo(&a.out, &flow)?;
    if let Some(p) = &a.png {
        if let Err(e) = io::write_flow_png(p, &flow) {
            let _ = std::fs::remove_file(&a.out);
            return Err(e.into());
        }
    }
    println!("wrote {} ({}x{} flow){}", a.out.display(), flow.w, flow.h, a.png.as_ref().map(|p| format!(" and {}", p.display())).unwrap_or_default());
    Ok(())
}

//! The RTL part of `zynqflow bench`: cycles of every descriptor of a network
//! on the Verilator simulation of a configuration, with the default
//! HP-port-like memory model (docs/simulation.md).
//!
//! A network named in `--whole-nets` (LmFlowNetS by default: 14.5 M cycles
//! a frame on `pynq-z2`, about five minutes of simulation here) runs every
//! descriptor whole, so its figures are a whole frame's, with nothing
//! extrapolated. FlowNetS (40 M cycles, W4A4) would take about twenty
//! minutes per configuration, so its descriptors are measured on slabs of
//! their output rows: the same descriptor with `out_h = 2` and `out_h = 3`
//! (rows 0..2 and 0..3, every pass over the output channels, every weight
//! and threshold load, the drains), and the layer's cycles taken as
//! `c(3) + (out_h − 3)·(c(3) − c(2))`. Tiles go down strips of `cols` output
//! columns and a tile reuses the input rows of the tile above it, so a
//! strip's first tile gathers every kernel row and the next ones only the
//! new rows: row 2 of a slab stands for every row after the second, where
//! row 1 (the first tile that reuses rows, next to the strip's first)
//! would not. Descriptors of at most three rows run whole, and so do those
//! of more than one run of passes (`zynqflow_hdl::cmdproc::run_plan`):
//! their runs overlap the next run's weight loads, which a few rows cannot
//! hide and the whole layer can, so their cycles are not a line in the
//! rows. Every count is from the RTL; only this line through two measured
//! points is arithmetic, and [`check_extrapolation`] measures its error
//! against whole descriptors at a size where those can run.
//!
//! The timing does not depend on the data (every plane pair is a step,
//! the threshold unit takes a fixed time per row), so the slabs run on
//! the zeroed arena.

use anyhow::{bail, Context, Result};
use std::time::{Duration, Instant};
use zynqflow_driver::compiler::{compile, Program};
use zynqflow_driver::cpu::QuantNet;
use zynqflow_driver::graph::Graph;
use zynqflow_driver::runtime::{Accelerator, Loaded};
use zynqflow_driver::weights::synth;
use zynqflow_isa::{ArrayConfig, Descriptor, MODE_RAW};
use zynqflow_sim::SimPlatform;

/// The output rows of the two slabs a descriptor is measured on when it is
/// not run whole.
const SLAB_ROWS: (u32, u32) = (2, 3);

/// Cycles and traffic of one descriptor.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerCycles {
    /// Layer (with the phase for transposed convs).
    pub layer: String,
    /// `KHxKW/S`, `up2` when the input is upsampled, and `raw` in raw mode.
    pub shape: String,
    /// Input channels.
    pub cin: u32,
    /// Output channels.
    pub cout: u32,
    /// Output rows.
    pub out_h: u32,
    /// Output columns.
    pub out_w: u32,
    /// Activation bits × weight bits.
    pub bit_product: u32,
    /// Multiply-accumulates the descriptor does (`out_h·out_w·cout·kh·kw·cin`,
    /// checked against `PERF_MACS`).
    pub macs: u64,
    /// The network's multiply-accumulates this descriptor stands for: its
    /// layer's MACs (`Graph::macs`) shared among the layer's descriptors in
    /// proportion to `macs`. Smaller than `macs` where the compiler computes
    /// more than the network asks for to save steps (the copies and the
    /// [+, −] channels of a fused sign split); utilization counts only these.
    pub useful_macs: u64,
    /// Cycles, START to interrupt.
    pub cycles: u64,
    /// Cycles the feeder waited for activations (`PERF_STALL`).
    pub stall_cycles: u64,
    /// 64-bit words read from memory (bus beats × words per beat).
    pub read_words: u64,
    /// Bus beats written.
    pub write_beats: u64,
    /// The compute-bound figure for comparison: passes × tiles × steps per tile.
    pub formula_cycles: u64,
    /// Useful bit products over what the array could do in `cycles`.
    pub utilization: f64,
    /// `whole` or `rows 1,2 extrapolated`.
    pub method: String,
}

/// One network at one size on one configuration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NetCycles {
    /// Configuration.
    pub config: String,
    /// Network.
    pub net: String,
    /// Input size `HxW`.
    pub size: String,
    /// PEs (rows × cols).
    pub pes: u32,
    /// Binary MACs per cycle of the whole array (`rows·cols·lanes·64`).
    pub peak_bit_macs_per_cycle: u64,
    /// Every descriptor.
    pub layers: Vec<LayerCycles>,
    /// Cycles of the frame's descriptor list (sum over descriptors).
    pub cycles: u64,
    /// Memory-stall cycles.
    pub stall_cycles: u64,
    /// MACs the descriptors do.
    pub macs: u64,
    /// The network's MACs (Σ `useful_macs`).
    pub useful_macs: u64,
    /// Σ useful MACs × bit product / (peak bit MACs per cycle × cycles).
    pub utilization: f64,
    /// Frames per second at a 100 MHz fabric clock.
    pub fps_at_100mhz: f64,
    /// Frames per second at 150 MHz (the memory model scaled with the clock).
    pub fps_at_150mhz: f64,
    /// The compute-bound formula summed over descriptors.
    pub formula_cycles: u64,
    /// Cycles simulated to measure it.
    pub simulated_cycles: u64,
    /// Wall-clock seconds of those simulations.
    pub simulation_seconds: f64,
}

/// Whole descriptors against their slab extrapolation, at one size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExtrapolationCheck {
    /// Configuration.
    pub config: String,
    /// Network.
    pub net: String,
    /// Input size `HxW`.
    pub size: String,
    /// Σ cycles of the whole descriptors.
    pub whole_cycles: u64,
    /// Σ of the slab extrapolations.
    pub extrapolated_cycles: u64,
    /// `(extrapolated − whole) / whole`, percent.
    pub error_percent: f64,
    /// Largest per-descriptor error, percent.
    pub worst_layer_error_percent: f64,
}

/// An open simulation with a network loaded.
struct Session {
    acc: Accelerator<SimPlatform>,
    loaded: Loaded,
    program: Program,
    config: ArrayConfig,
    sim_cycles: u64,
    sim_seconds: f64,
}

/// What one run of a descriptor variant cost.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    cycles: u64,
    stall: u64,
    macs: u64,
    read_words: u64,
    write_beats: u64,
}

impl Session {
    fn open(config: &ArrayConfig, net: &str, size: (usize, usize)) -> Result<Session> {
        let g = Graph::by_name(net, size.0, size.1)?;
        let w = synth::synthesize(&g, 1);
        let q = QuantNet::new(g, &w)?;
        let platform = crate::cmd::sim::sim_platform(config, None)?;
        let mut acc = Accelerator::open(platform)?;
        let program = compile(&q, acc.capabilities())?;
        let loaded = acc.load(&program.image)?;
        Ok(Session { acc, loaded, program, config: config.clone(), sim_cycles: 0, sim_seconds: 0.0 })
    }

    /// Runs descriptor `i` of the list as `d` alone.
    fn run(&mut self, i: usize, d: Descriptor) -> Result<Run> {
        let before = self.acc.platform().mem_stats();
        let c0 = self.acc.platform().cycles();
        let t = Instant::now();
        self.acc
            .execute_list(&self.loaded, &[(i, d)], Duration::from_secs(6 * 3600))
            .with_context(|| format!("{}: descriptor {i} on the RTL", self.config.name))?;
        self.sim_seconds += t.elapsed().as_secs_f64();
        self.sim_cycles += self.acc.platform().cycles() - c0;
        let after = self.acc.platform().mem_stats();
        let counters = self.acc.counters()?;
        let cycles = self.acc.platform().last_run_cycles().context("the simulation counted no run")?;
        if after.slverr_reads + after.slverr_writes + after.protocol_errors
            != before.slverr_reads + before.slverr_writes + before.protocol_errors
        {
            bail!("{}: descriptor {i}: the memory model saw an error response or a protocol error", self.config.name);
        }
        let words = u64::from(self.config.bus_bytes) / 8;
        Ok(Run {
            cycles,
            stall: counters.stall_cycles,
            macs: counters.macs,
            read_words: (after.read_beats - before.read_beats) * words,
            write_beats: after.write_beats - before.write_beats,
        })
    }

    /// Measures descriptor `i`: whole when `whole`, at most three rows or
    /// several runs, else on the slabs of two and three rows.
    fn measure(&mut self, i: usize, whole: bool) -> Result<LayerCycles> {
        let d = self.loaded.descriptors[i];
        let macs = |d: &Descriptor| {
            u64::from(d.out_h) * u64::from(d.out_w) * u64::from(d.cout) * u64::from(d.kh * d.kw) * u64::from(d.cin)
        };
        // Overlapped runs load the next run's weights while this one
        // computes: one or two rows are load-bound where the whole layer is
        // not, so the cycles are not a line in the rows. Such descriptors
        // (the deep, small layers) run whole.
        let runs = zynqflow_hdl::cmdproc::run_plan(&self.config, &d).runs();
        let (run, method) = if whole || d.out_h <= SLAB_ROWS.1 || runs > 1 {
            (self.run(i, d)?, "whole")
        } else {
            let ra = self.run(i, Descriptor { out_h: SLAB_ROWS.0, ..d })?;
            let rb = self.run(i, Descriptor { out_h: SLAB_ROWS.1, ..d })?;
            if rb.macs != macs(&Descriptor { out_h: SLAB_ROWS.1, ..d }) {
                bail!(
                    "descriptor {i}: PERF_MACS {} for {} rows, expected {}",
                    rb.macs,
                    SLAB_ROWS.1,
                    macs(&Descriptor { out_h: SLAB_ROWS.1, ..d })
                );
            }
            let rows = u64::from(d.out_h - SLAB_ROWS.1);
            let line = |a: u64, b: u64| b + rows * b.saturating_sub(a);
            let run = Run {
                cycles: line(ra.cycles, rb.cycles),
                stall: line(ra.stall, rb.stall),
                macs: macs(&d),
                read_words: line(ra.read_words, rb.read_words),
                write_beats: line(ra.write_beats, rb.write_beats),
            };
            (run, "rows 2,3 extrapolated")
        };
        if run.macs != macs(&d) {
            bail!("descriptor {i}: PERF_MACS {} but the descriptor has {}", run.macs, macs(&d));
        }
        let command = &self.program.image.commands[i];
        let layer_macs: u64 =
            self.program.image.commands.iter().filter(|c| c.node == command.node).map(|c| macs(&c.desc)).sum();
        let useful_macs = (u128::from(self.program.graph.macs(command.node)) * u128::from(macs(&d))
            / u128::from(layer_macs.max(1))) as u64;
        let c = &self.config;
        let steps = u64::from(d.array_steps());
        let tiles = u64::from(d.out_h) * u64::from(d.out_w.div_ceil(u32::from(c.cols)));
        let passes = u64::from(d.cout.div_ceil(u32::from(c.rows)));
        let bit_product = d.a_in * d.w_bits;
        let mut shape = format!("{}x{}/{}", d.kh, d.kw, d.stride);
        if d.upsample > 1 {
            shape = format!("up{} {shape}", d.upsample);
        }
        if d.pack_taps != 0 {
            shape.push_str(" packed");
        }
        if d.pack_planes != 0 {
            shape.push_str(" packed planes");
        }
        if d.mode == MODE_RAW {
            shape.push_str(" raw");
        }
        Ok(LayerCycles {
            layer: self.program.image.commands[i].layer.clone(),
            shape,
            cin: d.unpacked_cin(),
            cout: d.cout,
            out_h: d.out_h,
            out_w: d.out_w,
            bit_product,
            macs: run.macs,
            useful_macs,
            cycles: run.cycles,
            stall_cycles: run.stall,
            read_words: run.read_words,
            write_beats: run.write_beats,
            formula_cycles: passes * tiles * steps,
            utilization: utilization(useful_macs * u64::from(bit_product), c.peak_bit_macs_per_cycle(), run.cycles),
            method: method.to_string(),
        })
    }
}

fn utilization(bit_macs: u64, peak: u64, cycles: u64) -> f64 {
    bit_macs as f64 / (peak as f64 * cycles.max(1) as f64)
}

/// Measures every descriptor of `net` at `size` on `config`, each whole
/// when `whole` (`progress(done, total, layer)` after each).
pub fn measure_net(
    config: &ArrayConfig,
    net: &str,
    size: (usize, usize),
    whole: bool,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<NetCycles> {
    let mut s = Session::open(config, net, size)?;
    let n = s.loaded.descriptors.len();
    let mut layers = Vec::with_capacity(n);
    for i in 0..n {
        progress(i, n, &s.program.image.commands[i].layer);
        let l = s.measure(i, whole)?;
        log::info!("{} {net} {}: {} cycles ({})", config.name, l.layer, l.cycles, l.method);
        layers.push(l);
    }
    progress(n, n, "");
    // The shares add up to the network's MACs (up to one per descriptor of rounding).
    let useful: u64 = layers.iter().map(|l| l.useful_macs).sum();
    let total = s.program.graph.total_macs();
    if useful > total || total - useful > n as u64 {
        bail!("{net}: the descriptors stand for {useful} MACs, the network has {total}");
    }
    let cycles: u64 = layers.iter().map(|l| l.cycles).sum();
    let bit_macs: u64 = layers.iter().map(|l| l.useful_macs * u64::from(l.bit_product)).sum();
    let peak = config.peak_bit_macs_per_cycle();
    Ok(NetCycles {
        config: config.name.to_string(),
        net: net.to_string(),
        size: format!("{}x{}", size.0, size.1),
        pes: u32::from(config.rows) * u32::from(config.cols),
        peak_bit_macs_per_cycle: peak,
        cycles,
        stall_cycles: layers.iter().map(|l| l.stall_cycles).sum(),
        macs: layers.iter().map(|l| l.macs).sum(),
        useful_macs: layers.iter().map(|l| l.useful_macs).sum(),
        utilization: utilization(bit_macs, peak, cycles),
        fps_at_100mhz: 100e6 / cycles.max(1) as f64,
        fps_at_150mhz: 150e6 / cycles.max(1) as f64,
        formula_cycles: layers.iter().map(|l| l.formula_cycles).sum(),
        simulated_cycles: s.sim_cycles,
        simulation_seconds: s.sim_seconds,
        layers,
    })
}

/// Measures every descriptor of `net` at `size` both whole and by slabs.
pub fn check_extrapolation(config: &ArrayConfig, net: &str, size: (usize, usize)) -> Result<ExtrapolationCheck> {
    let mut s = Session::open(config, net, size)?;
    let (mut whole, mut extra, mut worst) = (0u64, 0u64, 0f64);
    for i in 0..s.loaded.descriptors.len() {
        let w = s.measure(i, true)?.cycles;
        // Descriptors of at most three rows run whole either way.
        let e = if s.loaded.descriptors[i].out_h <= SLAB_ROWS.1 { w } else { s.measure(i, false)?.cycles };
        whole += w;
        extra += e;
        worst = worst.max(100.0 * (e as f64 - w as f64).abs() / w.max(1) as f64);
    }
    Ok(ExtrapolationCheck {
        config: config.name.to_string(),
        net: net.to_string(),
        size: format!("{}x{}", size.0, size.1),
        whole_cycles: whole,
        extrapolated_cycles: extra,
        error_percent: 100.0 * (extra as f64 - whole as f64) / whole.max(1) as f64,
        worst_layer_error_percent: worst,
    })
}

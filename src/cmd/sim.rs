//! `zynqflow sim layer`: one convolution from `.npy` arrays, on the CPU
//! reference, on the accelerator's functional model or on its RTL in
//! Verilator (`--backend sim`, with cycle counts and `--trace`), so that users
//! can check the accelerator against their own numpy / PyTorch code.
//!
//! The JSON spec, the array layouts and the semantics are documented in
//! docs/sim-layer.md. Every input is checked before anything runs, so that a
//! bad file is a one-line error naming the file (or the spec field), never a
//! panic in the kernels, and no output file is written.

use super::{check_output_dir, parse_config};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zynqflow_driver::compiler::layer::{compile_layer, LayerOutput, LayerSpec};
use zynqflow_driver::cpu::qconv::{qconv, threshold};
use zynqflow_driver::cpu::ConvGeom;
use zynqflow_driver::io::npy::{read_npy, write_npy, Npy, NpyData};
use zynqflow_driver::model::ModelPlatform;
use zynqflow_driver::platform::Platform;
use zynqflow_driver::quant::{QWeights, Thresholds};
use zynqflow_driver::runtime::{Accelerator, Counters, Output};
use zynqflow_driver::QTensor;
use zynqflow_isa::{ActBits, ArrayConfig, ThresholdMode, WeightBits};

/// `zynqflow sim ...`
#[derive(clap::Subcommand, Debug)]
pub enum SimCommand {
    /// Run one convolution layer on .npy arrays (docs/sim-layer.md).
    Layer(LayerArgs),
}

/// Where `sim layer` runs the layer. Each accelerator backend is one
/// variant and one `Platform` passed to [`on_accelerator`].
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimBackend {
    /// The CPU reference: `qconv`, then `threshold` in codes mode.
    Cpu,
    /// The accelerator's bit-exact functional model, through the compiler
    /// and the runtime, as a board would run it.
    Model,
    /// The accelerator's RTL in Verilator (`--config`), through the same
    /// compiler and runtime: cycle count, counters, `--trace`.
    #[cfg(feature = "sim")]
    Sim,
    /// The accelerator on a board (`--root` for an emulated one), through
    /// the same compiler and runtime.
    Board,
}

/// Arguments of `zynqflow sim layer`.
#[derive(clap::Args, Debug)]
pub struct LayerArgs {
    /// The layer: JSON with kernel, stride, pad, upsample, transposed, a_in, w_bits, a_out.
    #[arg(long, value_name = "JSON")]
    pub spec: PathBuf,
    /// Input activation codes: uint8 [H, W, Cin] or [1, H, W, Cin].
    #[arg(long, value_name = "NPY")]
    pub input: PathBuf,
    /// Weights: int8 [Cout, Kh, Kw, Cin] (±1 for w_bits 1).
    #[arg(long, value_name = "NPY")]
    pub weights: PathBuf,
    /// Thresholds: int32 [Cout, 2^a_out], column 0 the mode (needed iff the spec has a_out).
    #[arg(long, value_name = "NPY")]
    pub thresholds: Option<PathBuf>,
    /// Output: uint8 codes (with a_out) or int32 accumulators, [H', W', Cout].
    #[arg(long, value_name = "NPY")]
    pub out: PathBuf,
    /// Where to run.
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: SimBackend,
    /// Accelerator configuration (model and sim backends).
    #[arg(long, value_parser = parse_config, default_value = "pynq-z2")]
    pub config: ArrayConfig,
    /// With --backend sim: write an FST waveform of the run.
    #[arg(long, value_name = "FILE.fst")]
    pub trace: Option<PathBuf>,
    /// Seconds (wall clock) to wait for the accelerator before giving up;
    /// default 120, or 10800 with --backend sim (the RTL simulation runs
    /// about 10^5 cycles per second: a 128x192 LmFlowNetS frame on `small`
    /// takes minutes).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Where the board backend finds the accelerator.
    #[command(flatten)]
    pub board: super::board::BoardArgs,
}

/// Runs the subcommand.
pub fn run(c: SimCommand) -> Result<()> {
    match c {
        SimCommand::Layer(a) => layer(a),
    }
}

/// The spec as written; every value is checked by [`parse_spec`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecJson {
    kernel: Value,
    #[serde(default)]
    stride: Value,
    #[serde(default)]
    pad: Value,
    #[serde(default)]
    upsample: Value,
    #[serde(default)]
    transposed: Value,
    a_in: Value,
    w_bits: Value,
    #[serde(default)]
    a_out: Value,
}

/// A checked spec.
struct Spec {
    geom: ConvGeom,
    a_in: ActBits,
    w_bits: WeightBits,
    a_out: Option<ActBits>,
}

/// Reads and range-checks the JSON spec; errors name the file and the field.
fn parse_spec(path: &Path) -> Result<Spec> {
    let fail = |m: String| anyhow!("spec '{}': {m}", path.display());
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => fail("no such file".into()),
        _ => fail(format!("cannot read ({e})")),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| fail(format!("not valid JSON ({e})")))?;
    if !v.is_object() {
        return Err(fail("not a JSON object like {\"kernel\": 3, \"a_in\": 2, \"w_bits\": 1}".into()));
    }
    // Typed from the text (not the value) so that a repeated field is refused.
    let j: SpecJson = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let int = |v: &Value, field: &str, lo: u64, hi: u64, default: Option<u64>| -> Result<usize> {
        let n = match (v, default) {
            (Value::Null, Some(d)) => d,
            _ => v
                .as_u64()
                .ok_or_else(|| fail(format!("field '{field}': expected an integer in {lo}..={hi}, found {v}")))?,
        };
        if !(lo..=hi).contains(&n) {
            return Err(fail(format!("field '{field}': {n} is outside {lo}..={hi}")));
        }
        Ok(n as usize)
    };
    let (kh, kw) = match &j.kernel {
        Value::Array(a) if a.len() == 2 => (int(&a[0], "kernel", 1, 7, None)?, int(&a[1], "kernel", 1, 7, None)?),
        Value::Number(_) => (int(&j.kernel, "kernel", 1, 7, None)?, int(&j.kernel, "kernel", 1, 7, None)?),
        k => return Err(fail(format!("field 'kernel': expected an integer in 1..=7 or [kh, kw], found {k}"))),
    };
    let transposed = match &j.transposed {
        Value::Null => false,
        Value::Bool(b) => *b,
        t => return Err(fail(format!("field 'transposed': expected true or false, found {t}"))),
    };
    let pad = int(&j.pad, "pad", 0, kh.min(kw) as u64 - 1, Some(0))
        .map_err(|e| anyhow!("{e} (padding must be smaller than the {kh}x{kw} kernel)"))?;
    let geom = ConvGeom {
        kh,
        kw,
        stride: int(&j.stride, "stride", 1, 2, Some(1))?,
        pad,
        upsample: int(&j.upsample, "upsample", 1, 2, Some(1))?,
        transposed,
    };
    if transposed && geom.upsample != 1 {
        return Err(fail("fields 'transposed' and 'upsample': a transposed convolution cannot also upsample".into()));
    }
    geom.check().map_err(fail)?;
    let bits = |v: &Value, field: &str| int(v, field, 1, 8, None).map(|b| b as u32);
    let a_out = match &j.a_out {
        Value::Null => None,
        v => Some(ActBits::new(bits(v, "a_out")?)?),
    };
    Ok(Spec {
        geom,
        a_in: ActBits::new(bits(&j.a_in, "a_in")?)?,
        w_bits: WeightBits::new(bits(&j.w_bits, "w_bits")?)?,
        a_out,
    })
}

/// `[i, j, ...]`: the multi-index of flat position `flat` in `shape`.
fn index_text(shape: &[usize], mut flat: usize) -> String {
    let mut idx = vec![0; shape.len()];
    for (i, &d) in shape.iter().enumerate().rev() {
        idx[i] = flat % d;
        flat /= d;
    }
    format!("{idx:?}")
}

/// The error for an array `a` of the wrong dtype (`want` is numpy's name).
fn dtype_error(role: &str, path: &Path, a: &Npy, want: &str) -> anyhow::Error {
    anyhow!(
        "{role} '{}': dtype {} (shape {}), expected {want} (use a.astype(np.{want}))",
        path.display(),
        a.data.dtype_name(),
        a.shape_text()
    )
}

/// The input codes, checked against `a_in`; also whether it had a batch axis.
fn load_input(path: &Path, a_in: ActBits) -> Result<(QTensor, bool)> {
    let x = read_npy(path)?;
    let (batched, h, w, c) = match x.shape[..] {
        [h, w, c] => (false, h, w, c),
        [1, h, w, c] => (true, h, w, c),
        _ => bail!("input '{}': shape {} is not [H, W, Cin] or [1, H, W, Cin]", path.display(), x.shape_text()),
    };
    let NpyData::U8(codes) = &x.data else { return Err(dtype_error("input", path, &x, "uint8")) };
    if codes.is_empty() {
        bail!("input '{}': shape {} has a zero dimension", path.display(), x.shape_text());
    }
    if let Some(i) = codes.iter().position(|&v| u32::from(v) > a_in.max_code()) {
        bail!(
            "input '{}': code {} at {} is too large for a_in = {a_in} (codes 0..={})",
            path.display(),
            codes[i],
            index_text(&x.shape, i),
            a_in.max_code()
        );
    }
    Ok((QTensor::from_codes(h, w, c, a_in, codes), batched))
}

/// The weights, checked against the spec and the input's channels.
fn load_weights(path: &Path, s: &Spec, spec_path: &Path, input: (&Path, &QTensor)) -> Result<QWeights> {
    let wa = read_npy(path)?;
    let p = path.display();
    let [cout, kh, kw, cin] = wa.shape[..] else {
        bail!("weights '{p}': shape {} is not [Cout, Kh, Kw, Cin]", wa.shape_text());
    };
    let NpyData::I8(ints) = &wa.data else { return Err(dtype_error("weights", path, &wa, "int8")) };
    if ints.is_empty() {
        bail!("weights '{p}': shape {} has a zero dimension", wa.shape_text());
    }
    if (kh, kw) != (s.geom.kh, s.geom.kw) {
        let (sh, sw) = (s.geom.kh, s.geom.kw);
        bail!(
            "weights '{p}': kernel {kh}x{kw} (shape {}) differs from spec '{}' kernel {sh}x{sw}",
            wa.shape_text(),
            spec_path.display()
        );
    }
    let (xp, x) = input;
    if cin != x.c() {
        bail!(
            "weights '{p}': Cin {cin} (shape {}) differs from input '{}' Cin {}",
            wa.shape_text(),
            xp.display(),
            x.c()
        );
    }
    let wb = s.w_bits;
    if let Some(i) = ints.iter().position(|&v| !wb.contains(i32::from(v))) {
        let (v, at) = (ints[i], index_text(&wa.shape, i));
        if wb.is_binary() {
            bail!("weights '{p}': value {v} at {at} is not -1 or +1 (w_bits = 1 means binary ±1 weights)");
        }
        bail!("weights '{p}': value {v} at {at} is outside {}..={} (w_bits = {wb})", wb.min_value(), wb.max_value());
    }
    // The accumulator must hold the largest possible sum (as the hardware checks).
    let max_w = u64::from(wb.min_value().unsigned_abs());
    let bound = (kh * kw * cin) as u64 * u64::from(s.a_in.max_code()) * max_w;
    if bound > i32::MAX as u64 {
        bail!(
            "spec '{}': a {kh}x{kw} kernel over {cin} channels with a_in = {} and w_bits = {wb} may overflow the 32-bit accumulator (|sum| up to {bound})",
            spec_path.display(),
            s.a_in
        );
    }
    Ok(QWeights::from_ints(cout, kh, kw, cin, wb, ints))
}

/// The threshold table `[Cout, 2^a_out]`: modes decoded, order checked.
fn load_thresholds(path: &Path, cout: usize, a_out: ActBits) -> Result<Thresholds> {
    let t = read_npy(path)?;
    let p = path.display();
    let NpyData::I32(words) = &t.data else { return Err(dtype_error("thresholds", path, &t, "int32")) };
    let n = 1usize << a_out.bits();
    if t.shape != [cout, n] {
        bail!("thresholds '{p}': shape {} is not [Cout, 2^a_out] = [{cout}, {n}]", t.shape_text());
    }
    let mut chans = Vec::with_capacity(cout);
    for (co, row) in words.chunks_exact(n).enumerate() {
        let mode = ThresholdMode::decode(row[0]).map_err(|_| {
            anyhow!("thresholds '{p}': row {co}: mode {} (column 0) is not 0 (ascending), 1 (descending) or 2 + (code << 8) (constant)", row[0])
        })?;
        let th = &row[1..];
        let bad = match mode {
            ThresholdMode::Ascending => th.windows(2).position(|w| w[0] > w[1]).map(|j| (j, "ascending")),
            ThresholdMode::Descending => th.windows(2).position(|w| w[0] < w[1]).map(|j| (j, "descending")),
            ThresholdMode::Constant(c) if u32::from(c) > a_out.max_code() => {
                bail!(
                    "thresholds '{p}': row {co}: constant code {c} is too large for a_out = {a_out} (codes 0..={})",
                    a_out.max_code()
                )
            }
            ThresholdMode::Constant(_) => None,
        };
        if let Some((j, order)) = bad {
            bail!(
                "thresholds '{p}': row {co}: thresholds not {order} (column {} = {}, column {} = {})",
                j + 1,
                th[j],
                j + 2,
                th[j + 1]
            );
        }
        chans.push((mode, th.to_vec()));
    }
    Ok(Thresholds::from_channels(a_out, &chans))
}

/// Compiles, loads and runs one layer on an accelerator backend; returns
/// the output and the performance counters.
fn on_accelerator<P: Platform>(
    platform: P,
    layer: &LayerSpec,
    w: &QWeights,
    t: Option<&Thresholds>,
    x: &QTensor,
    timeout: Duration,
) -> Result<(Output, Counters)> {
    let mut acc = Accelerator::open(platform)?;
    let image = compile_layer(layer, w, t, acc.capabilities())?;
    let loaded = acc.load(&image)?;
    let out = acc.run_image(&loaded, x, timeout)?;
    Ok((out, acc.counters()?))
}

/// `sim layer`: check everything, run, write the output atomically.
fn layer(a: LayerArgs) -> Result<()> {
    check_output_dir(&a.out)?;
    let not_sim = matches!(a.backend, SimBackend::Cpu | SimBackend::Model | SimBackend::Board);
    check_trace(a.trace.as_deref(), not_sim)?;
    let secs = a.timeout.unwrap_or(default_timeout(not_sim));
    let timeout = Duration::try_from_secs_f64(secs).ok().filter(|t| !t.is_zero());
    let timeout = timeout.ok_or_else(|| anyhow!("--timeout {secs} is not a positive number of seconds"))?;
    let s = parse_spec(&a.spec)?;
    let (x, batched) = load_input(&a.input, s.a_in)?;
    let w = load_weights(&a.weights, &s, &a.spec, (&a.input, &x))?;
    let cout = w.layout.cout;
    let t = match (s.a_out, &a.thresholds) {
        (Some(bits), Some(p)) => Some(load_thresholds(p, cout, bits)?),
        (None, None) => None,
        (Some(bits), None) => {
            bail!("spec '{}' has a_out = {bits}: give --thresholds t.npy (int32 [Cout, 2^a_out])", a.spec.display())
        }
        (None, Some(p)) => bail!(
            "--thresholds '{}' given, but spec '{}' has no a_out (raw accumulators)",
            p.display(),
            a.spec.display()
        ),
    };
    let out_kind = s.a_out.map_or(LayerOutput::Raw, LayerOutput::Codes);
    let spec = LayerSpec { in_h: x.h(), in_w: x.w(), cin: x.c(), cout, geom: s.geom, a_in: s.a_in, out: out_kind };
    let g = s.geom;
    let (oh, ow) = g.out_shape(x.h(), x.w()).ok_or_else(|| {
        anyhow!(
            "spec '{}': a {}x{} kernel (stride {}, pad {}, upsample {}{}) leaves no output from the {}x{} input '{}'",
            a.spec.display(),
            g.kh,
            g.kw,
            g.stride,
            g.pad,
            g.upsample,
            if g.transposed { ", transposed" } else { "" },
            x.h(),
            x.w(),
            a.input.display()
        )
    })?;
    let out = match a.backend {
        SimBackend::Cpu => {
            let acc = qconv(&x, &w, &s.geom);
            match &t {
                Some(t) => Output::Codes(threshold(&acc, t)),
                None => Output::Raw(acc),
            }
        }
        SimBackend::Model => {
            let label = format!("model ({})", a.config.name);
            let platform = ModelPlatform::new(a.config.capabilities());
            let (out, c) =
                on_accelerator(platform, &spec, &w, t.as_ref(), &x, timeout).with_context(|| label.clone())?;
            println!("{label}: {} descriptors, {} MACs", c.commands, c.macs);
            out
        }
        SimBackend::Board => {
            let platform = a.board.open().context("board")?;
            let label = format!("board ({})", platform.info().device.display());
            let (out, c) =
                on_accelerator(platform, &spec, &w, t.as_ref(), &x, timeout).with_context(|| label.clone())?;
            println!("{label}: {} descriptors, {} MACs", c.commands, c.macs);
            out
        }
        #[cfg(feature = "sim")]
        SimBackend::Sim => {
            let label = format!("sim ({})", a.config.name);
            let platform = sim_platform(&a.config, a.trace.as_deref()).with_context(|| label.clone())?;
            let mut acc = Accelerator::open(platform).with_context(|| label.clone())?;
            let image = compile_layer(&spec, &w, t.as_ref(), acc.capabilities()).with_context(|| label.clone())?;
            let loaded = acc.load(&image).with_context(|| label.clone())?;
            let (t0, c0) = (std::time::Instant::now(), acc.platform().cycles());
            let out = acc.run_image(&loaded, &x, timeout).with_context(|| label.clone())?;
            let wall = t0.elapsed().as_secs_f64();
            let c = acc.counters()?;
            let n = acc.platform().cycles() - c0;
            report(&a.config, acc.platform(), &c, n, wall);
            out
        }
    };
    let (data, what) = match out {
        Output::Codes(q) => (NpyData::U8(q.to_codes()), format!("uint8 codes (a_out = {})", q.bits())),
        Output::Raw(r) => (NpyData::I32(r.data), "int32 accumulators".to_string()),
    };
    let mut shape = vec![oh, ow, cout];
    if batched {
        shape.insert(0, 1);
    }
    if data.len() != oh * ow * cout {
        bail!("internal error: the backend returned {} values for shape {shape:?}", data.len());
    }
    let y = Npy { shape, data };
    write_npy(&a.out, &y)?;
    println!("wrote {}: {} {what}", a.out.display(), y.shape_text());
    Ok(())
}

/// The default `--timeout` in seconds: 120 on a board or the model, three
/// hours on the RTL simulation.
pub fn default_timeout(not_sim: bool) -> f64 {
    if not_sim {
        120.0
    } else {
        10_800.0
    }
}

/// Refuses `--trace` where there is no waveform to write, and checks its directory.
pub fn check_trace(trace: Option<&Path>, not_sim: bool) -> Result<()> {
    if let Some(p) = trace {
        if not_sim {
            bail!("--trace needs --backend sim (only the RTL simulation has waveforms)");
        }
        check_output_dir(p)?;
    }
    Ok(())
}

/// The Verilator simulation of `config` (built on first use, then cached
/// under `target/zynqflow-sim/`), with a waveform to `trace` if given.
#[cfg(feature = "sim")]
pub fn sim_platform(config: &ArrayConfig, trace: Option<&Path>) -> Result<zynqflow_sim::SimPlatform> {
    let opts = zynqflow_sim::BuildOptions::default();
    let built = zynqflow_sim::build(config, &opts)?;
    if let Some(s) = built.build_seconds {
        eprintln!("sim ({}): verilated and compiled in {s:.0} s, cached in {}", config.name, built.dir.display());
    }
    Ok(zynqflow_sim::SimPlatform::with_options(config, &opts, trace)?)
}

/// Prints the cycle count and the counters of a simulated run: the run's
/// cycles (START to interrupt) on a line of their own as "N cycles".
#[cfg(feature = "sim")]
pub fn report(config: &ArrayConfig, p: &zynqflow_sim::SimPlatform, c: &Counters, sim_cycles: u64, wall: f64) {
    let cycles = p.last_run_cycles().unwrap_or(sim_cycles);
    let m = p.mem_stats();
    let bit_macs = config.peak_bit_macs_per_cycle();
    println!("sim ({}): {cycles} cycles", config.name);
    println!(
        "  counters: busy {} cycles, memory stall {} cycles, {} MACs, {} descriptors; {:.1} MACs/cycle (peak {bit_macs} binary MACs/cycle)",
        c.busy_cycles,
        c.stall_cycles,
        c.macs,
        c.commands,
        c.macs as f64 / cycles.max(1) as f64
    );
    println!(
        "  memory: {} read bursts ({} beats), {} write bursts ({} beats), {} SLVERR, {} protocol errors",
        m.read_bursts,
        m.read_beats,
        m.write_bursts,
        m.write_beats,
        m.slverr_reads + m.slverr_writes,
        m.protocol_errors
    );
    println!(
        "  Verilator: {sim_cycles} cycles in {wall:.2} s wall ({:.0} k cycles/s)",
        sim_cycles as f64 / wall.max(1e-9) / 1e3
    );
}

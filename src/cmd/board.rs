//! The board subcommands and the flags every board-backed command shares:
//! `emulate-board` (the rehearsal stage: a fake sysfs/dev tree played by the
//! functional model), `info` (ID, version, capabilities, counters, memory,
//! coherency) and `selftest` (random layers on the device against the CPU
//! reference). docs/board-bringup.md walks through them.

use super::parse_config;
use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use zynqflow_driver::emulate::{stop_on_signals, Emulator, EmulatorOptions};
use zynqflow_driver::model::ModelPlatform;
use zynqflow_driver::platform::board::{BoardConfig, BoardPlatform, DevmemConfig, DEFAULT_UDMABUF, DEFAULT_UIO_NAME};
use zynqflow_driver::platform::Platform;
use zynqflow_driver::runtime::Accelerator;
use zynqflow_driver::selftest::{Fill, RandomLayer};
use zynqflow_isa::{regs, ArrayConfig, Capabilities};

/// Parses a number: decimal or `0x` hex, with an optional `K`, `M` or `G`
/// (binary) suffix.
pub fn parse_number(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let v = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => digits.parse::<u64>(),
    };
    v.ok()
        .and_then(|v| v.checked_mul(1 << shift))
        .ok_or_else(|| format!("'{s}' is not a number (decimal or 0x hex, optional K/M/G)"))
}

/// Parses `REGS,MEM,SIZE` for `--devmem`.
fn parse_devmem(s: &str) -> Result<DevmemConfig, String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [r, m, z] = parts[..] else {
        return Err(format!("--devmem '{s}' is not REGS,MEM,SIZE (e.g. 0x43c00000,0x18000000,64M)"));
    };
    Ok(DevmemConfig { regs_addr: parse_number(r)?, mem_addr: parse_number(m)?, mem_size: parse_number(z)? })
}

/// Where the board backend finds the accelerator.
#[derive(clap::Args, Debug, Clone)]
pub struct BoardArgs {
    /// Board backend: prefix of every /sys and /dev path (the root of a
    /// `zynqflow emulate-board` to rehearse without a board).
    #[arg(long, default_value = "/")]
    pub root: PathBuf,
    /// Board backend: name of the accelerator's UIO device.
    #[arg(long, default_value = DEFAULT_UIO_NAME)]
    pub uio_name: String,
    /// Board backend: name of the u-dma-buf buffer.
    #[arg(long, default_value = DEFAULT_UDMABUF)]
    pub udmabuf: String,
    /// Board backend, for bring-up: map registers and a reserved-memory
    /// carve-out from /dev/mem instead of UIO and u-dma-buf, and poll for
    /// the end of a run.
    #[arg(long, value_name = "REGS,MEM,SIZE", value_parser = parse_devmem)]
    pub devmem: Option<DevmemConfig>,
}

impl BoardArgs {
    /// The platform's configuration.
    pub fn config(&self) -> BoardConfig {
        BoardConfig {
            root: self.root.clone(),
            uio_name: self.uio_name.clone(),
            udmabuf: self.udmabuf.clone(),
            devmem: self.devmem,
        }
    }

    /// Opens the board.
    pub fn open(&self) -> Result<BoardPlatform> {
        Ok(BoardPlatform::open(&self.config())?)
    }
}

/// Arguments of `zynqflow emulate-board`.
#[derive(clap::Args, Debug)]
pub struct EmulateArgs {
    /// Directory to build the fake /sys and /dev tree in (created if missing).
    #[arg(long)]
    pub root: PathBuf,
    /// Accelerator configuration the emulated device reports.
    #[arg(long, value_parser = parse_config, default_value = "pynq-z2")]
    pub config: ArrayConfig,
    /// UIO device name.
    #[arg(long, default_value = DEFAULT_UIO_NAME)]
    pub uio_name: String,
    /// u-dma-buf name.
    #[arg(long, default_value = DEFAULT_UDMABUF)]
    pub udmabuf: String,
    /// DMA memory size.
    #[arg(long, value_parser = parse_number, default_value = "64M")]
    pub dma_size: u64,
    /// DMA memory bus address.
    #[arg(long, value_parser = parse_number, default_value = "0x18000000")]
    pub dma_addr: u64,
    /// Register window physical address.
    #[arg(long, value_parser = parse_number, default_value = "0x43c00000")]
    pub regs_addr: u64,
    /// Report the u-dma-buf as coherent (`dma_coherent` 1: no syncs).
    #[arg(long)]
    pub coherent: bool,
    /// Emulate a board without UIO and u-dma-buf: only `dev/mem`, for
    /// the driver's `--devmem`.
    #[arg(long)]
    pub devmem: bool,
    /// Fault injection: never raise the interrupt.
    #[arg(long)]
    pub no_irq: bool,
    /// Fault injection: the first N runs hang (busy, no interrupt) until a soft reset.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub hang: u32,
    /// Fault injection: the ID register's value.
    #[arg(long, value_parser = parse_number)]
    pub id: Option<u64>,
    /// Fault injection: the VERSION register's value.
    #[arg(long, value_parser = parse_number)]
    pub version: Option<u64>,
    /// Fault injection: after N runs, the next start makes the device vanish
    /// (the run never ends, the interrupt channel hangs up, the tree is
    /// removed and the emulator exits), as a bitstream reload or a PL reset
    /// does under a running driver.
    #[arg(long, value_name = "N")]
    pub vanish_after: Option<u32>,
    /// Seconds each run stays busy before it ends, as a frame takes on a
    /// board (0: runs end at once); a soft reset meanwhile abandons it.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub run_time: f64,
}

fn u32_arg(name: &str, v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| anyhow::anyhow!("--{name} {v:#x} does not fit a 32-bit register"))
}

/// `zynqflow emulate-board`: builds the tree, plays the device until
/// SIGINT or SIGTERM, removes the tree.
pub fn emulate(a: EmulateArgs) -> Result<()> {
    let mut o = EmulatorOptions::new(a.config.capabilities());
    o.uio_name = a.uio_name;
    o.udmabuf = a.udmabuf;
    o.dma_size = a.dma_size;
    o.dma_phys = a.dma_addr;
    o.regs_phys = a.regs_addr;
    o.coherent = a.coherent;
    o.devmem = a.devmem;
    o.no_irq = a.no_irq;
    o.hang_runs = a.hang;
    o.vanish_after_runs = a.vanish_after;
    o.run_time = Duration::try_from_secs_f64(a.run_time)
        .map_err(|_| anyhow::anyhow!("--run-time {} is not a number of seconds", a.run_time))?;
    if let Some(id) = a.id {
        o.id = u32_arg("id", id)?;
    }
    if let Some(v) = a.version {
        o.version = u32_arg("version", v)?;
    }
    if a.dma_size == 0 || (!a.devmem && a.dma_addr + a.dma_size > 1 << 32) {
        bail!(
            "--dma-addr {:#x} --dma-size {}: the DMA memory must be non-empty and below 4 GiB",
            a.dma_addr,
            a.dma_size
        );
    }
    let stop = stop_on_signals()?;
    let emu = Emulator::create(&a.root, o)
        .with_context(|| format!("emulate-board: cannot build the tree under '{}'", a.root.display()))?;
    println!("emulating a zynqflow board ({}) under {}: {}", a.config.name, a.root.display(), emu.describe());
    println!("log: {}; stop with Ctrl-C (the tree is removed)", emu.log_path().display());
    std::io::stdout().flush()?;
    emu.run(stop)?;
    println!("emulate-board: stopped, tree removed");
    Ok(())
}

/// Where `info` and `selftest` run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceBackend {
    /// The accelerator on a board (or an emulated one, with --root).
    Board,
    /// The functional model (`--config`), for comparison.
    Model,
}

/// Arguments of `zynqflow info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// Which device.
    #[arg(long, value_enum, default_value = "board")]
    pub backend: DeviceBackend,
    /// Accelerator configuration (model backend).
    #[arg(long, value_parser = parse_config, default_value = "pynq-z2")]
    pub config: ArrayConfig,
    /// Where the board backend finds the accelerator.
    #[command(flatten)]
    pub board: BoardArgs,
}

fn describe_caps(c: &Capabilities) -> String {
    let widths =
        |mask: u8| (1..=8).filter(|b| mask & 1 << (b - 1) != 0).map(|b| b.to_string()).collect::<Vec<_>>().join(",");
    format!(
        "{}x{} PEs x {} lanes, {}-bit accumulators; activations {{{}}} bits, weights {{{}}} bits; kernel <= {}, stride <= {}, upsample <= {}; width <= {}, channels <= {}; buffers {} KiB weights, {} KiB activations; bus {} bytes",
        c.rows,
        c.cols,
        c.lanes,
        c.acc_bits,
        widths(c.act_bits_mask),
        widths(c.weight_bits_mask),
        c.max_kernel,
        c.max_stride,
        c.max_upsample,
        c.max_width,
        c.max_channels,
        c.weight_buf_kib,
        c.act_buf_kib,
        c.bus_bytes
    )
}

/// Prints what the registers say, without resetting anything.
fn print_registers<P: Platform>(p: &mut P) -> Result<()> {
    let id = p.read_reg(regs::ID)?;
    let v = p.read_reg(regs::VERSION)?;
    let mut w = [0u32; 4];
    for (i, word) in w.iter_mut().enumerate() {
        *word = p.read_reg(regs::CAP_ARRAY + 4 * i as u32)?;
    }
    let caps = Capabilities::from_words(w);
    let mut pair = |lo: u32| -> Result<u64> { Ok(u64::from(p.read_reg(lo)?) | u64::from(p.read_reg(lo + 4)?) << 32) };
    let (busy, stall, macs) = (pair(regs::PERF_BUSY_LO)?, pair(regs::PERF_STALL_LO)?, pair(regs::PERF_MACS_LO)?);
    let status = p.read_reg(regs::STATUS)?;
    let done = p.read_reg(regs::CMDS_DONE)?;
    let ok = if id == regs::ACCEL_ID { "zynqflow" } else { "NOT a zynqflow accelerator" };
    println!("ID:           {id:#010x} ({ok})");
    println!("version:      {}.{} (this driver: {}.{})", v >> 16, v & 0xffff, regs::VERSION_MAJOR, regs::VERSION_MINOR);
    println!("capabilities: {}", describe_caps(&caps));
    println!("status:       {status:#x}");
    println!("counters:     {busy} busy cycles, {stall} stall cycles, {macs} MACs, {done} descriptors (last run)");
    Ok(())
}

/// `zynqflow info`.
pub fn info(a: InfoArgs) -> Result<()> {
    match a.backend {
        DeviceBackend::Board => {
            let mut p = a.board.open()?;
            let i = p.info();
            println!("device:       {} (register window {} bytes)", i.device.display(), i.window);
            print_registers(&mut p)?;
            println!(
                "DMA memory:   {} at bus {:#x}, {} bytes ({} in use)",
                i.dma_name, i.dma_phys, i.dma_size, i.dma_used
            );
            println!("coherency:    {}", i.coherency);
        }
        DeviceBackend::Model => {
            println!("device:       functional model ({})", a.config.name);
            print_registers(&mut ModelPlatform::new(a.config.capabilities()))?;
            println!("DMA memory:   host memory (model)");
            println!("coherency:    coherent (no caches in the model)");
        }
    }
    Ok(())
}

/// Arguments of `zynqflow selftest`.
#[derive(clap::Args, Debug)]
pub struct SelftestArgs {
    /// Which device.
    #[arg(long, value_enum, default_value = "board")]
    pub backend: DeviceBackend,
    /// Accelerator configuration (model backend).
    #[arg(long, value_parser = parse_config, default_value = "pynq-z2")]
    pub config: ArrayConfig,
    /// Number of random layers.
    #[arg(long, default_value_t = 20)]
    pub layers: usize,
    /// Seed of the random layers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds to wait for each layer.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Where the board backend finds the accelerator.
    #[command(flatten)]
    pub board: BoardArgs,
}

/// Runs one layer on a freshly opened device (so every layer starts with
/// the whole DMA region free); `Ok(None)` when the device cannot run it.
fn run_layer<P: Platform>(p: P, l: &RandomLayer, timeout: Duration) -> Result<Option<(bool, String)>> {
    let mut acc = Accelerator::open(p)?;
    let Ok(Some(image)) = l.compile(acc.capabilities()) else { return Ok(None) };
    let loaded = acc.load(&image)?;
    let got = acc.run_image(&loaded, &l.input, timeout)?;
    let c = acc.counters()?;
    let pass = got == l.reference();
    Ok(Some((pass, format!("{} descriptors, {} MACs", c.commands, c.macs))))
}

/// `zynqflow selftest`: a PASS/FAIL line per layer; fails if any failed.
pub fn selftest(a: SelftestArgs) -> Result<()> {
    let timeout = Duration::try_from_secs_f64(a.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| anyhow::anyhow!("--timeout {} is not a positive number of seconds", a.timeout))?;
    if a.layers == 0 {
        bail!("--layers must be at least 1");
    }
    if a.backend == DeviceBackend::Board {
        // Open once first: a missing or busy device is one error, not N failures.
        drop(a.board.open()?);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let mut failed = 0;
    for n in 0..a.layers {
        let mut tries = 0;
        let (l, result) = loop {
            tries += 1;
            let Some(l) = RandomLayer::draw(&mut rng, Fill::for_case(n)) else { continue };
            let r = match a.backend {
                DeviceBackend::Board => a.board.open().and_then(|p| run_layer(p, &l, timeout)),
                DeviceBackend::Model => run_layer(ModelPlatform::new(a.config.capabilities()), &l, timeout),
            };
            match r {
                Ok(None) if tries < 100 => continue,
                other => break (l, other),
            }
        };
        let line = match result {
            Ok(Some((true, what))) => format!("PASS  {what}"),
            Ok(Some((false, what))) => {
                failed += 1;
                format!("FAIL  output differs from the CPU reference ({what})")
            }
            Ok(None) => {
                failed += 1;
                "FAIL  no layer the device can run in 100 draws".to_string()
            }
            Err(e) => {
                failed += 1;
                format!("FAIL  {e:#}")
            }
        };
        println!("layer {:>3}/{}: {line}  [{}]", n + 1, a.layers, l.describe());
    }
    if failed > 0 {
        bail!("selftest: {failed} of {} layers failed", a.layers);
    }
    println!("selftest: all {} layers match the CPU reference", a.layers);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_devmem_triples() {
        assert_eq!(parse_number("0x43c00000"), Ok(0x43c0_0000));
        assert_eq!(parse_number("64M"), Ok(64 << 20));
        assert_eq!(parse_number("4k"), Ok(4096));
        assert!(parse_number("x").unwrap_err().contains("'x' is not a number"));
        assert_eq!(parse_devmem("0x43c00000,0x18000000,16M").unwrap().mem_size, 16 << 20);
        assert!(parse_devmem("1,2").unwrap_err().contains("REGS,MEM,SIZE"));
    }
}

//! [`BoardPlatform`]: the accelerator on a Zynq board, driven from user
//! space through UIO and u-dma-buf (REFERENCE.md §4, DESIGN.md "Host
//! driver").
//!
//! - **Device**: the UIO device whose `/sys/class/uio/uioN/name` is the
//!   configured name; its map 0 (size from `maps/map0/size`) is the
//!   register window, reached by volatile aligned 32-bit accesses only
//!   ([`mmio::Mmio`]). The device file is held under an exclusive `flock`.
//!   `ID` and `VERSION` are checked against `zynqflow_isa::regs` at open.
//! - **Memory**: one u-dma-buf buffer (`/dev/NAME`, `phys_addr`, `size`),
//!   sub-allocated in 4 KiB-aligned buffers ([`udmabuf::DmaPool`]), synced
//!   through its sysfs attributes unless `dma_coherent` is 1.
//! - **Interrupt**: drain stale events, write 1 to unmask, `poll()` with the
//!   time left to the deadline, read the count; an event with neither
//!   `STATUS.DONE` nor `STATUS.ERROR` set is spurious and waited past.
//! - **`/dev/mem` fallback** ([`DevmemConfig`]): registers and a
//!   reserved-memory carve-out mapped from `/dev/mem` at given physical
//!   addresses (uncached), the interrupt replaced by polling `STATUS`.
//! - **Barrier**: a `CTRL.START` write is preceded by a full fence (and a
//!   `dsb` on ARM), so every DMA and register write before it is visible.
//!
//! Every path is taken under [`BoardConfig::root`] (default `/`), so the
//! same code runs against the fake tree of [`crate::emulate`]. One
//! concession to it: a UIO node cannot be emulated as a file that is both a
//! pollable interrupt channel and mappable, so when `<root>/dev/uioN-map0`
//! exists (it never does on a real system) the window is mapped from it.

pub mod mmio;
pub mod sysfs;
pub mod udmabuf;
pub mod uio;

use crate::platform::{DmaBuffer, Platform, PlatformError, Wait};
use mmio::Mmio;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use sysfs::{read_number, under};
use udmabuf::{Coherency, Direction, DmaPool};
use uio::{IrqEvent, UioIrq};
use zynqflow_isa::regs;

/// Default UIO device name (the device tree node's name).
pub const DEFAULT_UIO_NAME: &str = "zynqflow";
/// Default u-dma-buf name.
pub const DEFAULT_UDMABUF: &str = "udmabuf0";

/// Where to find the accelerator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardConfig {
    /// Prefix of every sysfs and /dev path (`/` on a board).
    pub root: PathBuf,
    /// Name of the UIO device.
    pub uio_name: String,
    /// Name of the u-dma-buf buffer.
    pub udmabuf: String,
    /// Map from `/dev/mem` instead of UIO + u-dma-buf.
    pub devmem: Option<DevmemConfig>,
}

impl Default for BoardConfig {
    fn default() -> Self {
        BoardConfig {
            root: "/".into(),
            uio_name: DEFAULT_UIO_NAME.into(),
            udmabuf: DEFAULT_UDMABUF.into(),
            devmem: None,
        }
    }
}

/// The `/dev/mem` fallback: physical addresses of the register window and
/// of a reserved-memory carve-out (a `reserved-memory` node with `no-map`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevmemConfig {
    /// Physical address of the register window.
    pub regs_addr: u64,
    /// Physical address of the carve-out.
    pub mem_addr: u64,
    /// Size of the carve-out in bytes.
    pub mem_size: u64,
}

/// Errors of the board backend.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// The root every `/sys` and `/dev` path is prefixed with is not a directory.
    #[error("board root '{}' {problem} (the prefix of /sys and /dev: / on a board, or a `zynqflow emulate-board` directory)", root.display())]
    BadRoot {
        /// The root.
        root: PathBuf,
        /// "does not exist" or "is not a directory".
        problem: &'static str,
    },
    /// The device or buffer is not there.
    #[error("no {what} under {}{found}", dir.display())]
    NotFound {
        /// What was looked for.
        what: String,
        /// Where.
        dir: PathBuf,
        /// What was there instead.
        found: String,
    },
    /// The `ID` register does not hold the accelerator's ID.
    #[error("{}: ID register is {found:#010x}, expected {expected:#010x}: not a zynqflow accelerator (is the bitstream loaded?)", path.display())]
    WrongId {
        /// Device file.
        path: PathBuf,
        /// Expected value.
        expected: u32,
        /// Value read.
        found: u32,
    },
    /// The `VERSION` register holds another major version.
    #[error("{}: VERSION register is {found:#010x} (contract {}.{}), expected major {expected_major} ({:#010x}): rebuild the bitstream or the driver", path.display(), found >> 16, found & 0xffff, regs::VERSION_WORD)]
    WrongVersion {
        /// Device file.
        path: PathBuf,
        /// Major this driver implements.
        expected_major: u16,
        /// Value read.
        found: u32,
    },
    /// Another process holds the device.
    #[error("{}: device busy: locked by {holder}", path.display())]
    Busy {
        /// Device file.
        path: PathBuf,
        /// Who holds it, as far as `/proc/locks` tells.
        holder: String,
    },
    /// The DMA region is too small for an allocation.
    #[error("DMA buffer '{name}' too small: {asked} bytes asked, {available} of its {size} bytes free (enlarge it: u-dma-buf size, or the carve-out)")]
    BufferTooSmall {
        /// Region name.
        name: String,
        /// Bytes asked for.
        asked: usize,
        /// Bytes left.
        available: usize,
        /// Region size.
        size: usize,
    },
    /// A region the accelerator cannot reach or a window too small.
    #[error("{}: {what}", path.display())]
    Attr {
        /// File concerned.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// An operating-system error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl From<BoardError> for PlatformError {
    fn from(e: BoardError) -> Self {
        PlatformError::Os(e.to_string())
    }
}

/// How the interrupt is waited for.
enum Irq {
    /// UIO: unmask, poll, read.
    Uio(UioIrq),
    /// `/dev/mem`: poll `STATUS`; the lock on `/dev/mem` is held here.
    Polled(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>),
}

/// What [`BoardPlatform::info`] reports about the device and its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardInfo {
    /// Device file (`/dev/uioN` or `/dev/mem`).
    pub device: PathBuf,
    /// Register window size in bytes.
    pub window: usize,
    /// DMA region name.
    pub dma_name: String,
    /// DMA region bus address.
    pub dma_phys: u64,
    /// DMA region size.
    pub dma_size: usize,
    /// DMA bytes handed out.
    pub dma_used: usize,
    /// Coherency: `sysfs sync`, `coherent` or `uncached`.
    pub coherency: &'static str,
}

/// The accelerator on a board.
pub struct BoardPlatform {
    regs: Mmio,
    irq: Irq,
    dma: DmaPool,
    device: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BoardError + '_ {
    move |source| BoardError::Io { path: path.into(), source }
}

impl BoardPlatform {
    /// Finds, locks and maps the device and the DMA region, and checks
    /// `ID` and `VERSION`.
    pub fn open(cfg: &BoardConfig) -> Result<Self, BoardError> {
        if !cfg.root.is_dir() {
            let problem = if cfg.root.exists() { "is not a directory" } else { "does not exist" };
            return Err(BoardError::BadRoot { root: cfg.root.clone(), problem });
        }
        let (regs, irq, dma, device) = match &cfg.devmem {
            None => Self::open_uio(cfg)?,
            Some(d) => Self::open_devmem(&cfg.root, d)?,
        };
        let id = regs.read(regs::ID);
        if id != regs::ACCEL_ID {
            return Err(BoardError::WrongId { path: device, expected: regs::ACCEL_ID, found: id });
        }
        let version = regs.read(regs::VERSION);
        if (version >> 16) as u16 != regs::VERSION_MAJOR {
            return Err(BoardError::WrongVersion { path: device, expected_major: regs::VERSION_MAJOR, found: version });
        }
        if dma.phys + dma.size as u64 > 1 << 32 {
            let what = format!(
                "DMA region ends at {:#x}, above the accelerator's 32-bit bus addresses",
                dma.phys + dma.size as u64
            );
            return Err(BoardError::Attr { path: PathBuf::from(&dma.name), what });
        }
        Ok(BoardPlatform { regs, irq, dma, device })
    }

    fn open_uio(cfg: &BoardConfig) -> Result<(Mmio, Irq, DmaPool, PathBuf), BoardError> {
        let n = uio::find(&cfg.root, &cfg.uio_name)?;
        let dev = under(&cfg.root, &format!("/dev/uio{n}"));
        let size_path = under(&cfg.root, &format!("/sys/class/uio/uio{n}/maps/map0/size"));
        let size = read_number(&size_path)? as usize;
        if size < regs::WINDOW_BYTES as usize {
            let what =
                format!("register map is {size:#x} bytes, the accelerator's window is {:#x}", regs::WINDOW_BYTES);
            return Err(BoardError::Attr { path: size_path, what });
        }
        let file = uio::open_locked(&dev)?;
        let emulated = under(&cfg.root, &format!("/dev/uio{n}-map0"));
        let regs = if emulated.exists() {
            let f = std::fs::OpenOptions::new().read(true).write(true).open(&emulated).map_err(io_err(&emulated))?;
            Mmio::map(&f, 0, size).map_err(io_err(&emulated))?
        } else {
            Mmio::map(&file, 0, size).map_err(io_err(&dev))?
        };
        let mut irq = UioIrq::new(file, dev.clone());
        irq.drain()?;
        let dma = DmaPool::udmabuf(&cfg.root, &cfg.udmabuf)?;
        Ok((regs, Irq::Uio(irq), dma, dev))
    }

    fn open_devmem(root: &Path, d: &DevmemConfig) -> Result<(Mmio, Irq, DmaPool, PathBuf), BoardError> {
        let dev = under(root, "/dev/mem");
        let lock = uio::open_locked(&dev)?;
        // O_SYNC: uncached mappings, so the carve-out needs no cache syncs.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_SYNC | nix::libc::O_CLOEXEC)
            .open(&dev)
            .map_err(io_err(&dev))?;
        let regs = Mmio::map(&file, d.regs_addr, regs::WINDOW_BYTES as usize).map_err(io_err(&dev))?;
        let size = usize::try_from(d.mem_size)
            .map_err(|_| BoardError::Attr { path: dev.clone(), what: "carve-out too large".into() })?;
        let dma = DmaPool::new(
            format!("{} carve-out at {:#x}", dev.display(), d.mem_addr),
            &file,
            d.mem_addr,
            d.mem_addr,
            size,
            Coherency::Uncached,
        )
        .map_err(io_err(&dev))?;
        Ok((regs, Irq::Polled(lock), dma, dev))
    }

    /// The device file, window and DMA region, for `zynqflow info`.
    pub fn info(&self) -> BoardInfo {
        BoardInfo {
            device: self.device.clone(),
            window: self.regs.len(),
            dma_name: self.dma.name.clone(),
            dma_phys: self.dma.phys,
            dma_size: self.dma.size,
            dma_used: self.dma.used(),
            coherency: match self.dma.coherency {
                Coherency::Sysfs(_) => "cached, synced through u-dma-buf sysfs",
                Coherency::Coherent => "coherent (dma_coherent = 1): no syncs",
                Coherency::Uncached => "uncached (O_SYNC): no syncs",
            },
        }
    }

    /// Whether the run has ended: `STATUS.DONE` or `STATUS.ERROR`, and
    /// `CTRL` reading 0. `CTRL` always reads 0 on the device; the emulator
    /// holds a `START` there until the run's results are in place, so this
    /// also waits out a `STATUS` it has not yet updated.
    fn finished(&self) -> bool {
        self.regs.read(regs::CTRL) == 0 && self.regs.read(regs::STATUS) & (regs::STATUS_DONE | regs::STATUS_ERROR) != 0
    }
}

/// A full barrier: every earlier memory and device write completes before
/// any later one (the `CTRL.START` write).
fn barrier() {
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    // SAFETY: `dsb` only orders memory accesses; it touches no registers or memory.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("dsb sy", options(nostack, preserves_flags));
    }
    // SAFETY: as above.
    #[cfg(target_arch = "arm")]
    unsafe {
        std::arch::asm!("dsb", options(nostack, preserves_flags));
    }
}

impl Platform for BoardPlatform {
    fn read_reg(&mut self, offset: u32) -> Result<u32, PlatformError> {
        if !self.regs.valid(offset) || offset >= regs::WINDOW_BYTES {
            return Err(PlatformError::BadRegister(offset));
        }
        Ok(self.regs.read(offset))
    }

    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), PlatformError> {
        if !self.regs.valid(offset) || offset >= regs::WINDOW_BYTES {
            return Err(PlatformError::BadRegister(offset));
        }
        if offset == regs::CTRL && value & regs::CTRL_START != 0 {
            barrier();
        }
        self.regs.write(offset, value);
        Ok(())
    }

    fn alloc(&mut self, len: usize) -> Result<DmaBuffer, PlatformError> {
        Ok(self.dma.alloc(len)?)
    }

    fn write(&mut self, buf: &DmaBuffer, offset: usize, data: &[u8]) -> Result<(), PlatformError> {
        self.dma.write(buf, offset, data)
    }

    fn read(&mut self, buf: &DmaBuffer, offset: usize, out: &mut [u8]) -> Result<(), PlatformError> {
        self.dma.read(buf, offset, out)
    }

    fn sync_for_device(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        self.dma.sync(buf, offset, len, Direction::ToDevice)
    }

    fn sync_for_cpu(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        self.dma.sync(buf, offset, len, Direction::FromDevice)
    }

    fn wait_irq(&mut self, deadline: Instant) -> Result<Wait, PlatformError> {
        loop {
            match &mut self.irq {
                Irq::Uio(irq) => {
                    irq.drain()?;
                    irq.unmask()?;
                    match irq.wait(deadline)? {
                        IrqEvent::TimedOut => return Ok(Wait::TimedOut),
                        IrqEvent::Fired(_) if self.finished() => return Ok(Wait::Interrupt),
                        IrqEvent::Fired(n) => {
                            log::debug!("board: spurious interrupt (count {n}): STATUS shows no end of run")
                        }
                    }
                }
                Irq::Polled(_) => {
                    if self.finished() {
                        return Ok(Wait::Interrupt);
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(Wait::TimedOut);
                    }
                    std::thread::sleep(left.min(Duration::from_micros(200)));
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        "board"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_that_is_not_a_directory_is_named() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("f");
        std::fs::write(&file, b"").unwrap();
        for (root, problem) in [(d.path().join("none"), "does not exist"), (file, "is not a directory")] {
            let cfg = BoardConfig { root: root.clone(), ..BoardConfig::default() };
            let e = BoardPlatform::open(&cfg).err().expect("no board there");
            assert!(matches!(e, BoardError::BadRoot { .. }), "{e:?}");
            assert!(e.to_string().starts_with(&format!("board root '{}' {problem} (", root.display())), "{e}");
        }
        // An existing root without the device still says what is missing.
        let e = BoardPlatform::open(&BoardConfig { root: d.path().into(), ..BoardConfig::default() }).err().unwrap();
        assert!(e.to_string().contains("no UIO device named"), "{e}");
    }
}

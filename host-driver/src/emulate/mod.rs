//! The emulated board: a fake `/sys` + `/dev` tree under a root directory,
//! and a loop that plays the accelerator in it with the functional model
//! ([`crate::model::Device`]), so that [`crate::platform::board`] runs
//! unchanged against it (`zynqflow emulate-board`, and the board tests).
//!
//! The tree (names from [`EmulatorOptions`]; `uio0`, `udmabuf0` by default):
//!
//! | path | what it is |
//! |---|---|
//! | `sys/class/uio/uio0/name`, `version`, `maps/map0/{name,addr,size,offset}` | UIO attributes |
//! | `dev/uio0` | symlink to a pseudo-terminal in raw mode: the interrupt channel |
//! | `dev/uio0-map0` | the 4 KiB register window, mapped shared by both sides |
//! | `sys/class/u-dma-buf/udmabuf0/{phys_addr,size,sync_mode,dma_coherent}` | u-dma-buf attributes |
//! | `sys/class/u-dma-buf/udmabuf0/{sync_offset,sync_size,sync_direction,sync_for_cpu,sync_for_device}` | FIFOs the emulator reads: every sync is recorded |
//! | `dev/udmabuf0` | the DMA memory (a sparse file), mapped shared |
//! | `emulator.log` | what the emulator saw: syncs, starts, completions, interrupts, resets |
//! | `emulator.ready` | written last, holding the emulator's pid |
//!
//! **Faults** ([`EmulatorOptions`]): wrong `ID` or `VERSION`, no interrupt,
//! runs that hang until a soft reset, and a device that vanishes mid-run
//! (`vanish_after_runs`: at a start, the emulator hangs up the interrupt
//! channel, removes its tree and stops, as when the driver is unbound or the
//! board goes away under a running program). Not a fault: `run_time` keeps
//! each run busy for a wall time, as a frame is on a board.
//!
//! With `devmem` set, there is no UIO or u-dma-buf tree: `dev/mem` is a
//! sparse file standing for physical memory, with the register window at
//! `regs_phys` and the DMA memory at `dma_phys` (the driver's `--devmem`).
//!
//! **Interrupts.** A pty is a character device with exactly UIO's calls:
//! the driver `open()`s it by path, `write()`s a `u32` (1 unmasks, 0 masks),
//! `poll()`s for `POLLIN` and `read()`s a 4-byte count. The emulator holds
//! the master side and models the generic-IRQ handler: the line is level
//! (`IRQ_ENABLE` and `STATUS.DONE|ERROR`), unmasked at start, and masked
//! again on each delivered event.
//!
//! **Registers.** The window is a plain shared file, so the emulator cannot
//! trap accesses: it scans it every millisecond. A change of `STATUS` is a
//! write-1-to-clear; a non-zero `CTRL` is taken (after the other registers)
//! and cleared when the run's results are in place — so `CTRL` reads back
//! non-zero until then, where the device reads 0. A `STATUS` write of
//! exactly the value it holds goes unseen, and two `CTRL` writes within one
//! scan merge into the last (a soft reset followed at once by a start is a
//! start, which clears the state a reset would); `CTRL` is cleared by a
//! compare-and-swap, so a write made while a run is taken is never lost.
//!
//! **Syncs.** The sysfs sync attributes are FIFOs, and an inotify watch on
//! their directory gives the order of the driver's closes; each close is
//! paired with one line of that FIFO, so the log has every value in the
//! order written, interleaved exactly with the register events.

mod memory;
mod tree;

pub use memory::MappedMemory;
pub use tree::Tree;

use crate::model::Device;
use memmap2::{MmapMut, MmapOptions, MmapRaw};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use zynqflow_isa::{regs, Capabilities};

/// What the emulated board looks like, and the faults it injects.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Capabilities the device reports.
    pub caps: Capabilities,
    /// UIO device name (`name` attribute).
    pub uio_name: String,
    /// UIO index N (`uioN`).
    pub uio_index: u32,
    /// u-dma-buf name.
    pub udmabuf: String,
    /// Bus address of the DMA memory.
    pub dma_phys: u64,
    /// Size of the DMA memory in bytes.
    pub dma_size: u64,
    /// `dma_coherent` of the u-dma-buf.
    pub coherent: bool,
    /// Emulate a board with no drivers: `dev/mem` only.
    pub devmem: bool,
    /// Physical address of the register window (`maps/map0/addr`, `dev/mem` offset).
    pub regs_phys: u64,
    /// Fault: the `ID` register value.
    pub id: u32,
    /// Fault: the `VERSION` register value.
    pub version: u32,
    /// Fault: never raise the interrupt (runs still complete).
    pub no_irq: bool,
    /// Fault: this many runs hang (STATUS.BUSY, no interrupt) until a soft reset.
    pub hang_runs: u32,
    /// Fault: after this many runs, the next start makes the device vanish:
    /// the run never ends, the interrupt channel hangs up, the tree is
    /// removed and [`Emulator::run`] returns.
    pub vanish_after_runs: Option<u32>,
    /// A run stays `STATUS.BUSY` this long (wall time) before it computes
    /// and ends, as a whole frame does on a board; a soft reset meanwhile
    /// abandons it. Zero (the default): runs end at the scan that sees the
    /// start.
    pub run_time: Duration,
}

impl EmulatorOptions {
    /// A board with the accelerator of `caps` and a 64 MiB u-dma-buf.
    pub fn new(caps: Capabilities) -> Self {
        EmulatorOptions {
            caps,
            uio_name: crate::platform::board::DEFAULT_UIO_NAME.into(),
            uio_index: 0,
            udmabuf: crate::platform::board::DEFAULT_UDMABUF.into(),
            dma_phys: 0x1800_0000,
            dma_size: 64 << 20,
            coherent: false,
            devmem: false,
            regs_phys: 0x43c0_0000,
            id: regs::ACCEL_ID,
            version: regs::VERSION_WORD,
            no_irq: false,
            hang_runs: 0,
            vanish_after_runs: None,
            run_time: Duration::ZERO,
        }
    }
}

/// The interrupt channel: the pty master, and our own slave fd kept open so
/// the master never sees a hang-up between driver sessions.
struct IrqChannel {
    master: File,
    _slave: std::os::fd::OwnedFd,
    pending: Vec<u8>,
    unmasked: bool,
    count: u32,
}

/// The sync attributes: inotify for the order, FIFOs for the values.
struct SyncWatch {
    inotify: Inotify,
    fifos: HashMap<String, (File, Vec<u8>)>,
    values: HashMap<String, String>,
}

const SYNC_ATTRS: [&str; 5] = ["sync_offset", "sync_size", "sync_direction", "sync_for_cpu", "sync_for_device"];

/// A running emulated board.
pub struct Emulator {
    tree: Tree,
    regs: MmapRaw,
    device: Device<MappedMemory>,
    irq: Option<IrqChannel>,
    syncs: Option<SyncWatch>,
    log: File,
    opts: EmulatorOptions,
    shadow_status: u32,
    hung: bool,
    hangs_left: u32,
    /// A run in progress under [`EmulatorOptions::run_time`]: when it ends.
    ends_at: Option<Instant>,
    /// Starts taken so far.
    starts: u32,
    /// The device vanished (fault injection): nothing is left to play.
    vanished: bool,
}

impl Emulator {
    /// Creates the tree under `root` and the device in reset state.
    pub fn create(root: &Path, opts: EmulatorOptions) -> io::Result<Self> {
        let mut tree = Tree::new(root)?;
        let result = Self::build(&mut tree, &opts);
        match result {
            Ok((regs, mem, irq, syncs)) => {
                let log_path = tree.claim("emulator.log")?;
                let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
                let device = Device::new(opts.caps, mem);
                let mut e = Emulator {
                    tree,
                    regs,
                    device,
                    irq,
                    syncs,
                    log,
                    shadow_status: 0,
                    hung: false,
                    ends_at: None,
                    hangs_left: opts.hang_runs,
                    starts: 0,
                    vanished: false,
                    opts,
                };
                e.publish();
                e.tree.text("emulator.ready", &std::process::id().to_string())?;
                Ok(e)
            }
            Err(err) => {
                tree.remove();
                Err(err)
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn build(
        tree: &mut Tree,
        o: &EmulatorOptions,
    ) -> io::Result<(MmapRaw, MappedMemory, Option<IrqChannel>, Option<SyncWatch>)> {
        if o.dma_phys + o.dma_size > 1 << 32 && !o.devmem {
            log::warn!("emulated u-dma-buf ends above 4 GiB: the driver will refuse it");
        }
        let window = u64::from(regs::WINDOW_BYTES);
        if o.devmem {
            let p = tree.claim("dev/mem")?;
            let f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&p)?;
            f.set_len((o.regs_phys + window).max(o.dma_phys + o.dma_size))?;
            let regs = MmapOptions::new().offset(o.regs_phys).len(window as usize).map_raw(&f)?;
            // SAFETY: a shared mapping of our own file; the driver writes it
            // only through its own mapping (see `MappedMemory`).
            let mem = unsafe { MmapOptions::new().offset(o.dma_phys).len(o.dma_size as usize).map_mut(&f)? };
            return Ok((regs, MappedMemory::new(o.dma_phys, mem), None, None));
        }
        let n = o.uio_index;
        let uio = format!("sys/class/uio/uio{n}");
        tree.text(&format!("{uio}/name"), &o.uio_name)?;
        tree.text(&format!("{uio}/version"), "0.1.1")?;
        tree.text(&format!("{uio}/maps/map0/name"), "regs")?;
        tree.text(&format!("{uio}/maps/map0/addr"), &format!("{:#010x}", o.regs_phys))?;
        tree.text(&format!("{uio}/maps/map0/size"), &format!("{window:#010x}"))?;
        tree.text(&format!("{uio}/maps/map0/offset"), "0x0")?;
        let map_path = tree.claim(&format!("dev/uio{n}-map0"))?;
        let f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&map_path)?;
        f.set_len(window)?;
        let regs = MmapOptions::new().len(window as usize).map_raw(&f)?;

        let pty = nix::pty::openpty(None::<&nix::pty::Winsize>, None::<&nix::sys::termios::Termios>)
            .map_err(io::Error::from)?;
        let mut t = nix::sys::termios::tcgetattr(&pty.slave).map_err(io::Error::from)?;
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t).map_err(io::Error::from)?;
        let slave_name = nix::unistd::ttyname(&pty.slave).map_err(io::Error::from)?;
        let master = File::from(pty.master);
        set_nonblocking(&master)?;
        let link = tree.claim(&format!("dev/uio{n}"))?;
        std::os::unix::fs::symlink(&slave_name, &link)?;
        let irq = IrqChannel { master, _slave: pty.slave, pending: Vec::new(), unmasked: true, count: 0 };

        let dma = format!("sys/class/u-dma-buf/{}", o.udmabuf);
        tree.text(&format!("{dma}/phys_addr"), &format!("{:#018x}", o.dma_phys))?;
        tree.text(&format!("{dma}/size"), &o.dma_size.to_string())?;
        tree.text(&format!("{dma}/sync_mode"), "1")?;
        tree.text(&format!("{dma}/dma_coherent"), if o.coherent { "1" } else { "0" })?;
        let dir = tree.path(&dma);
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).map_err(io::Error::from)?;
        let mut fifos = HashMap::new();
        for a in SYNC_ATTRS {
            let p = tree.claim(&format!("{dma}/{a}"))?;
            nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).map_err(io::Error::from)?;
            // Read-write: we count as a reader, so the driver's non-blocking
            // opens succeed, and we never see end-of-file.
            let f = std::fs::OpenOptions::new().read(true).write(true).open(&p)?;
            set_nonblocking(&f)?;
            fifos.insert(a.to_string(), (f, Vec::new()));
        }
        inotify.add_watch(&dir, AddWatchFlags::IN_CLOSE_WRITE).map_err(io::Error::from)?;
        let syncs = SyncWatch { inotify, fifos, values: HashMap::new() };

        let dev = tree.claim(&format!("dev/{}", o.udmabuf))?;
        let f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&dev)?;
        f.set_len(o.dma_size)?;
        // SAFETY: as for `dev/mem` above.
        let mem = unsafe { MmapMut::map_mut(&f)? };
        Ok((regs, MappedMemory::new(o.dma_phys, mem), Some(irq), Some(syncs)))
    }

    /// The log of what the emulator saw.
    pub fn log_path(&self) -> PathBuf {
        self.tree.path("emulator.log")
    }

    /// The register at `offset` of the shared window.
    fn reg(&self, offset: u32) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset < regs::WINDOW_BYTES);
        // SAFETY: the window is WINDOW_BYTES long, page aligned and live for
        // `self`; `offset` is aligned and inside it. `AtomicU32` has the
        // layout of `u32`, and atomics are the right tool for memory that
        // another process writes concurrently.
        unsafe { &*self.regs.as_ptr().add(offset as usize).cast::<AtomicU32>() }
    }

    fn note(&mut self, line: &str) {
        log::debug!("emulator: {line}");
        let _ = writeln!(self.log, "{line}");
    }

    /// The `STATUS` value to show.
    fn status_value(&self) -> u32 {
        if self.hung || self.ends_at.is_some() {
            regs::STATUS_BUSY
        } else {
            self.device.status()
        }
    }

    /// Writes every register the driver reads from the device's state.
    fn publish(&mut self) {
        let caps = self.opts.caps.to_words();
        let fixed = [(regs::ID, self.opts.id), (regs::VERSION, self.opts.version)];
        let caps_regs = [regs::CAP_ARRAY, regs::CAP_BITS, regs::CAP_LIMITS, regs::CAP_BUFFERS];
        for (r, v) in fixed.into_iter().chain(caps_regs.into_iter().zip(caps)) {
            self.reg(r).store(v, Ordering::Relaxed);
        }
        for r in [regs::ERROR_CODE, regs::ERROR_INDEX, regs::CMDS_DONE] {
            let v = if self.hung && r == regs::CMDS_DONE { 0 } else { self.device.read_reg(r) };
            self.reg(r).store(v, Ordering::Relaxed);
        }
        for lo in [regs::PERF_BUSY_LO, regs::PERF_STALL_LO, regs::PERF_MACS_LO] {
            let l = self.device.read_reg(lo);
            let h = self.device.read_reg(lo + 4);
            self.reg(lo).store(l, Ordering::Relaxed);
            self.reg(lo + 4).store(h, Ordering::Relaxed);
        }
        self.shadow_status = self.status_value();
        self.reg(regs::STATUS).store(self.shadow_status, Ordering::Release);
    }

    /// One scan of the register window.
    fn step_registers(&mut self) {
        let status = self.reg(regs::STATUS).load(Ordering::Acquire);
        if status != self.shadow_status {
            // The driver wrote STATUS: write-1-to-clear.
            self.device.write_reg(regs::STATUS, status);
            let new = self.status_value();
            if self.reg(regs::STATUS).compare_exchange(status, new, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                self.shadow_status = new;
            }
        }
        let ie = self.reg(regs::IRQ_ENABLE).load(Ordering::Acquire);
        self.device.write_reg(regs::IRQ_ENABLE, ie);
        let ctrl = self.reg(regs::CTRL).load(Ordering::Acquire);
        if ctrl == 0 {
            return;
        }
        for r in [regs::CMD_BASE, regs::CMD_COUNT, regs::WIN_BASE, regs::WIN_SIZE] {
            let v = self.reg(r).load(Ordering::Acquire);
            self.device.write_reg(r, v);
        }
        self.drain_syncs();
        if ctrl & regs::CTRL_SOFT_RESET != 0 {
            self.device.write_reg(regs::CTRL, ctrl);
            self.hung = false;
            if self.ends_at.take().is_some() {
                self.note("soft_reset abandons the run in progress");
            } else {
                self.note("soft_reset");
            }
        } else if ctrl & regs::CTRL_START != 0 {
            let (base, count) =
                (self.reg(regs::CMD_BASE).load(Ordering::Relaxed), self.reg(regs::CMD_COUNT).load(Ordering::Relaxed));
            self.note(&format!("start cmd_base={base:#x} cmd_count={count}"));
            self.starts += 1;
            if self.opts.vanish_after_runs.is_some_and(|n| self.starts > n) {
                self.vanish();
                return;
            }
            if self.hangs_left > 0 {
                self.hangs_left -= 1;
                self.hung = true;
                self.note("hang (fault injection): busy until a soft reset");
            } else if !self.opts.run_time.is_zero() {
                self.hung = false;
                self.ends_at = Some(Instant::now() + self.opts.run_time);
            } else {
                self.hung = false;
                self.end_run();
            }
        }
        self.publish();
        // Clear CTRL only if it still holds what we took: a write the
        // driver made meanwhile (a start right after a reset) is kept for
        // the next scan.
        let _ = self.reg(regs::CTRL).compare_exchange(ctrl, 0, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Runs the started list on the model and notes how it ended.
    fn end_run(&mut self) {
        self.device.write_reg(regs::CTRL, regs::CTRL_START);
        let (s, done, macs) = (self.device.status(), self.device.cmds_done(), self.device.perf_macs());
        let err = self.device.last_error().map(|(c, i)| format!(" error={c} index={i}")).unwrap_or_default();
        self.note(&format!("end status={s:#x} cmds_done={done} macs={macs}{err}"));
    }

    /// The device goes away in the middle of a run: the whole tree is
    /// removed, then the sync attributes closed, and last the interrupt
    /// channel hangs up (our pty master and slave closed), so a driver that
    /// sees the hang-up finds everything gone. The register window stays as
    /// it was (`CTRL` still holding the start) in the driver's mapping.
    fn vanish(&mut self) {
        self.note("vanish (fault injection): tree removed, interrupt channel hung up");
        self.tree.remove();
        self.syncs = None;
        self.irq = None;
        self.vanished = true;
    }

    /// Reads the driver's mask/unmask writes.
    fn read_unmasks(&mut self) -> io::Result<()> {
        let Some(irq) = &mut self.irq else { return Ok(()) };
        let mut buf = [0u8; 64];
        loop {
            match irq.master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => irq.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => break,
                // EIO: no slave open at all (cannot happen while we hold one).
                Err(e) => return Err(e),
            }
        }
        while irq.pending.len() >= 4 {
            let v: Vec<u8> = irq.pending.drain(..4).collect();
            irq.unmasked = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]) != 0;
        }
        Ok(())
    }

    /// Delivers an event if the line is up and unmasked, then masks it.
    fn deliver_irq(&mut self) -> io::Result<()> {
        let line = !self.hung && !self.opts.no_irq && self.device.interrupt();
        let Some(irq) = &mut self.irq else { return Ok(()) };
        if line && irq.unmasked {
            irq.count = irq.count.wrapping_add(1);
            irq.unmasked = false;
            irq.master.write_all(&irq.count.to_ne_bytes())?;
            let n = irq.count;
            self.note(&format!("irq count={n}"));
        }
        Ok(())
    }

    /// Records the sync attribute writes closed so far, in order.
    fn drain_syncs(&mut self) {
        let Some(s) = &mut self.syncs else { return };
        let mut lines = Vec::new();
        while let Ok(events) = s.inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for ev in events {
                let Some(name) = ev.name.map(|n| n.to_string_lossy().into_owned()) else { continue };
                let Some((fifo, buf)) = s.fifos.get_mut(&name) else { continue };
                let mut chunk = [0u8; 256];
                while let Ok(n) = fifo.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let end = buf.iter().position(|&b| b == b'\n').map_or(buf.len(), |i| i + 1);
                let value = String::from_utf8_lossy(&buf[..end]).trim().to_string();
                buf.drain(..end);
                if name.starts_with("sync_for_") {
                    let v = |k: &str| s.values.get(k).cloned().unwrap_or_else(|| "?".into());
                    lines.push(format!(
                        "{name} offset={} size={} direction={} value={value}",
                        v("sync_offset"),
                        v("sync_size"),
                        v("sync_direction")
                    ));
                } else {
                    s.values.insert(name, value);
                }
            }
        }
        for l in lines {
            self.note(&l);
        }
    }

    /// One iteration: syncs, unmasks, registers, interrupt; then waits up
    /// to 1 ms for the driver.
    pub fn step(&mut self) -> io::Result<()> {
        self.drain_syncs();
        self.read_unmasks()?;
        self.step_registers();
        if self.ends_at.is_some_and(|t| Instant::now() >= t) {
            self.ends_at = None;
            self.end_run();
            self.publish();
        }
        if self.vanished {
            return Ok(());
        }
        self.deliver_irq()?;
        let mut fds = Vec::new();
        if let Some(irq) = &self.irq {
            fds.push(nix::poll::PollFd::new(irq.master.as_fd(), nix::poll::PollFlags::POLLIN));
        }
        if let Some(s) = &self.syncs {
            fds.push(nix::poll::PollFd::new(s.inotify.as_fd(), nix::poll::PollFlags::POLLIN));
        }
        if fds.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        } else {
            let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(1u8));
        }
        Ok(())
    }

    /// Plays the device until `stop` is set (or the device vanishes, see
    /// [`EmulatorOptions::vanish_after_runs`]), then removes the tree.
    pub fn run(mut self, stop: &AtomicBool) -> io::Result<()> {
        while !stop.load(Ordering::Relaxed) && !self.vanished {
            self.step()?;
        }
        Ok(())
    }

    /// The root's layout, for messages.
    pub fn describe(&self) -> String {
        let o = &self.opts;
        if o.devmem {
            format!(
                "{}: registers at {:#x}, {} MiB of DMA memory at {:#x}",
                self.tree.path("dev/mem").display(),
                o.regs_phys,
                o.dma_size >> 20,
                o.dma_phys
            )
        } else {
            format!(
                "UIO '{}' at {}, u-dma-buf '{}' ({} MiB at {:#x}{})",
                o.uio_name,
                self.tree.path(&format!("dev/uio{}", o.uio_index)).display(),
                o.udmabuf,
                o.dma_size >> 20,
                o.dma_phys,
                if o.coherent { ", coherent" } else { "" }
            )
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.tree.remove();
    }
}

fn set_nonblocking(f: &File) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsRawFd;
    let flags = OFlag::from_bits_truncate(fcntl(f.as_raw_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(f.as_raw_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok(())
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Installs SIGINT and SIGTERM handlers that set the returned flag (for
/// [`Emulator::run`] in `zynqflow emulate-board`, so the tree is removed on
/// Ctrl-C or `kill`).
pub fn stop_on_signals() -> io::Result<&'static AtomicBool> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART, SigSet::empty());
    for s in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe { sigaction(s, &action) }.map_err(io::Error::from)?;
    }
    Ok(&STOP)
}

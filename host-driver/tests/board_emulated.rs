//! The board backend (`platform::board`) against the emulated board
//! (`emulate`), both in this process: the emulator plays the device in a
//! thread over a fake sysfs/dev tree in a temporary directory, and the
//! driver code runs unchanged on it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use zynqflow_driver::emulate::{Emulator, EmulatorOptions};
use zynqflow_driver::platform::board::{BoardConfig, BoardPlatform, DevmemConfig};
use zynqflow_driver::runtime::{Accelerator, RuntimeError};
use zynqflow_driver::selftest::RandomLayer;
use zynqflow_isa::{regs, ArrayConfig};

/// An emulator thread over a temporary root; stopped and joined on drop.
struct Bench {
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    log: std::path::PathBuf,
}

impl Bench {
    fn start(tweak: impl FnOnce(&mut EmulatorOptions)) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = EmulatorOptions::new(ArrayConfig::small().capabilities());
        opts.dma_size = 8 << 20;
        tweak(&mut opts);
        let emu = Emulator::create(dir.path(), opts).unwrap();
        let log = emu.log_path();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || emu.run(&s).unwrap());
        Bench { dir, stop, thread: Some(thread), log }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> BoardConfig {
        BoardConfig { root: self.root().into(), ..BoardConfig::default() }
    }

    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap().lines().map(String::from).collect()
    }

    /// The log once `done` holds for it (the emulator records what it sees
    /// on its next scan, up to a millisecond later), or after 5 s.
    fn log_when(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if done(&log) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The log once it has `count` lines starting with `prefix`.
    fn log_until(&self, prefix: &str, count: usize) -> Vec<String> {
        self.log_when(|log| log.iter().filter(|l| l.starts_with(prefix)).count() >= count)
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A random layer that the `small` configuration runs.
fn layer(seed: u64) -> (RandomLayer, zynqflow_driver::compiler::Image) {
    RandomLayer::first_compiled(seed, &ArrayConfig::small().capabilities())
}

fn open_err(cfg: &BoardConfig) -> String {
    match BoardPlatform::open(cfg) {
        Ok(_) => panic!("opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn board_runs_random_layers_like_the_cpu_reference() {
    let b = Bench::start(|_| {});
    let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
    assert_eq!(*acc.capabilities(), ArrayConfig::small().capabilities());
    for seed in 0..4 {
        let (l, image) = layer(seed);
        let loaded = acc.load(&image).unwrap();
        let got = acc.run_image(&loaded, &l.input, Duration::from_secs(20)).unwrap();
        assert_eq!(got, l.reference(), "seed {seed}: {}", l.describe());
        let c = acc.counters().unwrap();
        assert_eq!((c.macs, c.commands as usize), (image.macs(), image.commands.len()));
    }
    let info = acc.platform().info();
    assert!(info.dma_used > 0 && info.dma_size == 8 << 20 && info.dma_phys == 0x1800_0000, "{info:?}");
}

#[test]
fn board_device_not_found_names_what_is_there() {
    let b = Bench::start(|_| {});
    let cfg = BoardConfig { uio_name: "nope".into(), ..b.config() };
    let e = open_err(&cfg);
    assert!(e.contains("no UIO device named 'nope'") && e.contains("uio0 'zynqflow'"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    let e = open_err(&BoardConfig { root: empty.path().into(), ..BoardConfig::default() });
    assert!(e.contains("no UIO device named 'zynqflow'") && e.contains("no UIO devices there"), "{e}");
    let cfg = BoardConfig { udmabuf: "udmabuf7".into(), ..b.config() };
    let e = open_err(&cfg);
    assert!(e.contains("no u-dma-buf 'udmabuf7'") && e.contains("found: udmabuf0"), "{e}");
}

#[test]
fn board_wrong_id_or_version_names_expected_and_found() {
    let b = Bench::start(|o| o.id = 0xdead_beef);
    let e = open_err(&b.config());
    assert!(e.contains("ID register is 0xdeadbeef, expected 0x5a464c57"), "{e}");
    drop(b);
    let b = Bench::start(|o| o.version = 0x0002_0003);
    let e = open_err(&b.config());
    assert!(e.contains("VERSION register is 0x00020003 (contract 2.3), expected major 1"), "{e}");
    // A newer minor of the same major is accepted.
    drop(b);
    let b = Bench::start(|o| o.version = regs::VERSION_WORD + 7);
    BoardPlatform::open(&b.config()).unwrap();
}

#[test]
fn board_buffer_too_small_names_the_sizes() {
    let b = Bench::start(|o| o.dma_size = 16 << 10);
    let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
    let (_, image) =
        (0..64).map(layer).find(|(_, i)| i.weights.len() + i.arena_bytes > 16 << 10).expect("a large layer");
    let e = acc.load(&image).unwrap_err().to_string();
    assert!(e.contains("DMA buffer 'udmabuf0' too small") && e.contains("of its 16384 bytes free"), "{e}");
}

#[test]
fn board_lost_interrupt_times_out_resets_and_the_next_run_succeeds() {
    let b = Bench::start(|o| o.hang_runs = 1);
    let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
    let (l, image) = layer(1);
    let loaded = acc.load(&image).unwrap();
    let t0 = Instant::now();
    let e = acc.run_image(&loaded, &l.input, Duration::from_millis(300)).unwrap_err();
    let waited = t0.elapsed();
    assert!(matches!(e, RuntimeError::Timeout { done: 0, .. }), "{e}");
    assert!(e.to_string().contains("soft-reset"), "{e}");
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_millis(1500), "{waited:?}");
    // Let the emulator see the reset on its own (a start right after it
    // would merge with it, see `emulate`).
    b.log_when(|log| {
        log.iter().rposition(|l| l.starts_with("soft_reset")) > log.iter().position(|l| l.starts_with("hang"))
    });
    let got = acc.run_image(&loaded, &l.input, Duration::from_secs(20)).unwrap();
    assert_eq!(got, l.reference());
    let log = b.log_until("end status=0x2", 1);
    let pos = |p: &str| log.iter().rposition(|l| l.starts_with(p)).unwrap_or_else(|| panic!("no '{p}' in {log:#?}"));
    assert!(pos("hang") < pos("soft_reset") && pos("soft_reset") < pos("end status=0x2"), "{log:#?}");
}

#[test]
fn board_device_vanishing_mid_run_is_a_clear_error_before_the_deadline() {
    // One run completes, then the device goes away at the next start: the
    // interrupt channel hangs up and the tree disappears.
    let b = Bench::start(|o| o.vanish_after_runs = Some(1));
    let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
    let (l, image) = layer(1);
    let loaded = acc.load(&image).unwrap();
    assert_eq!(acc.run_image(&loaded, &l.input, Duration::from_secs(20)).unwrap(), l.reference());
    let device = b.root().join("dev/uio0");
    // In a thread, so that a wait that never ends fails the test instead of
    // hanging it.
    let deadline = Duration::from_secs(20);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let first = acc.run_image(&loaded, &l.input, deadline).map(|_| ());
        let took = t0.elapsed();
        // The device stays gone: the next attempt fails too, at once.
        let t1 = Instant::now();
        let second = acc.run_image(&loaded, &l.input, deadline).map(|_| ());
        let _ = tx.send((first, took, second, t1.elapsed()));
    });
    let (first, took, second, took2) =
        rx.recv_timeout(deadline + Duration::from_secs(10)).expect("the driver hung after the device vanished");
    let e = first.expect_err("a run on a vanished device succeeded").to_string();
    assert!(
        e.contains(&device.display().to_string())
            && e.contains("device is gone")
            && e.contains("interrupt channel hung up"),
        "{e}"
    );
    // Seen when it happens, not at the deadline.
    assert!(took < Duration::from_secs(2), "{took:?}: {e}");
    // (It stops at the first sync: the u-dma-buf is gone too.)
    let e2 = second.expect_err("a second run on a vanished device succeeded").to_string();
    assert!(e2.contains("u-dma-buf is gone") && e2.contains("udmabuf0"), "{e2}");
    assert!(took2 < Duration::from_secs(2), "{took2:?}: {e2}");
    assert!(device.symlink_metadata().is_err() && !b.root().join("sys").exists(), "the emulator left its tree");
}

#[test]
fn board_no_interrupt_but_done_is_not_an_error() {
    // The interrupt is lost but the run finished: the runtime finds DONE
    // after the deadline and goes on.
    let b = Bench::start(|o| o.no_irq = true);
    let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
    let (l, image) = layer(2);
    let loaded = acc.load(&image).unwrap();
    assert_eq!(acc.run_image(&loaded, &l.input, Duration::from_millis(200)).unwrap(), l.reference());
}

#[test]
fn board_second_opener_is_refused_while_the_first_holds_the_device() {
    let b = Bench::start(|_| {});
    let first = BoardPlatform::open(&b.config()).unwrap();
    let e = open_err(&b.config());
    let me = std::process::id();
    assert!(e.contains("dev/uio0: device busy: locked by process") && e.contains(&me.to_string()), "{e}");
    drop(first);
    BoardPlatform::open(&b.config()).unwrap();
}

#[test]
fn board_syncs_are_issued_in_order() {
    let b = Bench::start(|_| {});
    let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
    let (l, image) = layer(3);
    let loaded = acc.load(&image).unwrap();
    for _ in 0..2 {
        acc.run_image(&loaded, &l.input, Duration::from_secs(20)).unwrap();
    }
    let mut log: Vec<String> =
        b.log_until("sync_for_cpu", 2).into_iter().filter(|l| !l.starts_with("soft_reset")).collect();
    log.dedup_by(|a, b| a.starts_with("irq") && b.starts_with("irq"));
    // (A level interrupt still up when the driver unmasks fires again, as
    // with UIO's generic handler; the driver drains such repeats, and the
    // dedup above drops them.)
    let kinds: Vec<&str> = log.iter().map(|l| l.split(' ').next().unwrap()).collect();
    let expected = [
        "sync_for_device", // zeroed weights buffer, cleaned at allocation
        "sync_for_device", // zeroed activation arena
        "sync_for_device", // zeroed descriptor buffer
        "sync_for_device", // weights
        "sync_for_device", // descriptors
        "sync_for_device", // input
        "start",
        "end",
        "irq",
        "sync_for_cpu", // output
        "sync_for_device",
        "start",
        "end",
        "irq",
        "sync_for_cpu",
    ];
    assert_eq!(kinds, expected, "{log:#?}");
    // Offsets are region offsets, directions the kernel's: 1 to the device, 2 from it.
    let arena_off = loaded.arena.bus_addr - 0x1800_0000;
    let arena = format!("sync_for_device offset={arena_off} size={} direction=1", loaded.arena.len);
    assert!(log[1].starts_with(&arena), "{} vs {arena}", log[1]);
    let weights = format!("sync_for_device offset=0 size={} direction=1", image.weights.len());
    assert!(log[3].starts_with(&weights), "{}", log[3]);
    let (in_off, _) = image.input;
    assert!(log[5].starts_with(&format!("sync_for_device offset={} ", arena_off + in_off as u64)), "{}", log[5]);
    let (out_off, out_layout) = image.output;
    let cpu = format!("sync_for_cpu offset={} size={} direction=2", arena_off + out_off as u64, out_layout.bytes());
    assert!(log[9].starts_with(&cpu), "{} vs {cpu}", log[9]);
}

#[test]
fn board_coherent_buffer_is_never_synced() {
    let b = Bench::start(|o| o.coherent = true);
    let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
    let (l, image) = layer(4);
    let loaded = acc.load(&image).unwrap();
    assert_eq!(acc.run_image(&loaded, &l.input, Duration::from_secs(20)).unwrap(), l.reference());
    let log = b.log();
    assert!(!log.iter().any(|l| l.starts_with("sync")) && log.iter().any(|l| l.starts_with("irq")), "{log:#?}");
}

#[test]
fn board_devmem_fallback_runs_by_polling_status() {
    let b = Bench::start(|o| o.devmem = true);
    let cfg = BoardConfig {
        devmem: Some(DevmemConfig { regs_addr: 0x43c0_0000, mem_addr: 0x1800_0000, mem_size: 8 << 20 }),
        ..b.config()
    };
    let mut acc = Accelerator::open(BoardPlatform::open(&cfg).unwrap()).unwrap();
    for seed in 5..7 {
        let (l, image) = layer(seed);
        let loaded = acc.load(&image).unwrap();
        assert_eq!(acc.run_image(&loaded, &l.input, Duration::from_secs(20)).unwrap(), l.reference());
    }
    assert!(acc.platform().info().coherency.starts_with("uncached"));
}

#[test]
fn board_emulator_removes_its_tree_when_stopped() {
    let b = Bench::start(|_| {});
    let root = b.root().to_path_buf();
    assert!(root.join("dev/uio0").symlink_metadata().is_ok() && root.join("emulator.ready").exists());
    let mut b = b;
    b.stop.store(true, Ordering::Relaxed);
    let _ = b.thread.take().unwrap().join();
    let left: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Starts `loaded`'s list by hand and returns without waiting, as a
/// process killed mid-run leaves the device: busy, with nobody holding it.
fn start_and_abandon(acc: &mut Accelerator<BoardPlatform>, loaded: &zynqflow_driver::runtime::Loaded) {
    let bufs = [&loaded.weights, &loaded.arena, &loaded.commands];
    let start = bufs.iter().map(|b| b.bus_addr).min().unwrap();
    let end = bufs.iter().map(|b| b.bus_addr + b.len as u64).max().unwrap();
    let p = acc.platform();
    use zynqflow_driver::platform::Platform;
    p.write_reg(regs::CMD_BASE, loaded.commands.bus_addr as u32).unwrap();
    p.write_reg(regs::CMD_COUNT, loaded.descriptors.len() as u32).unwrap();
    p.write_reg(regs::WIN_BASE, start as u32).unwrap();
    p.write_reg(regs::WIN_SIZE, (end - start) as u32).unwrap();
    p.write_reg(regs::CTRL, regs::CTRL_START).unwrap();
}

#[test]
fn board_open_lets_a_run_left_by_a_killed_process_finish_before_its_reset() {
    let b = Bench::start(|o| o.run_time = Duration::from_millis(600));
    let (l, image) = layer(2);
    {
        let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
        let loaded = acc.load(&image).unwrap();
        start_and_abandon(&mut acc, &loaded);
        b.log_until("start", 1);
    } // the device is closed (its lock released) while the run goes on
    let t0 = Instant::now();
    let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(4), "open waited {waited:?}");
    let log = b.log_when(|log| log.iter().filter(|l| l.starts_with("soft_reset")).count() >= 2);
    let end = log
        .iter()
        .position(|l| l.starts_with("end status="))
        .unwrap_or_else(|| panic!("the run never ended: {log:#?}"));
    let reset = log.iter().rposition(|l| l.starts_with("soft_reset")).unwrap();
    assert!(end < reset && !log.iter().any(|l| l.contains("abandons")), "{log:#?}");
    let loaded = acc.load(&image).unwrap();
    assert_eq!(acc.run_image(&loaded, &l.input, Duration::from_secs(20)).unwrap(), l.reference());
}

#[test]
fn board_open_resets_a_run_that_never_finishes_after_its_settle_limit() {
    let b = Bench::start(|o| o.hang_runs = 1);
    let (l, image) = layer(3);
    {
        let mut acc = Accelerator::open(BoardPlatform::open(&b.config()).unwrap()).unwrap();
        let loaded = acc.load(&image).unwrap();
        start_and_abandon(&mut acc, &loaded);
        b.log_until("hang", 1);
    }
    let t0 = Instant::now();
    let mut acc =
        Accelerator::open_with_settle(BoardPlatform::open(&b.config()).unwrap(), Duration::from_millis(300)).unwrap();
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(2), "open waited {waited:?}");
    b.log_when(|log| {
        log.iter().rposition(|l| l.starts_with("soft_reset")) > log.iter().position(|l| l.starts_with("hang"))
    });
    let loaded = acc.load(&image).unwrap();
    assert_eq!(acc.run_image(&loaded, &l.input, Duration::from_secs(20)).unwrap(), l.reference());
}

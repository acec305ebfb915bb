//! The board backend end to end, in separate processes: `zynqflow
//! emulate-board` plays the device over a fake tree in a temporary
//! directory while `info`, `selftest` and `infer --backend board` run
//! against it as they would on a board.

mod common;

use common::{zynqflow, zynqflow_ok};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zynqflow_driver::platform::board::{BoardConfig, BoardPlatform};

/// A running `zynqflow emulate-board`; stopped with SIGTERM on drop.
struct Emu {
    child: Option<Child>,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Emu {
    fn start(extra: &[&str]) -> Emu {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let child = Command::new(env!("CARGO_BIN_EXE_zynqflow"))
            .args(["emulate-board", "--root"])
            .arg(&root)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !root.join("emulator.ready").exists() {
            assert!(Instant::now() < deadline, "emulate-board did not get ready");
            std::thread::sleep(Duration::from_millis(10));
        }
        Emu { child: Some(child), root, _dir: dir }
    }

    fn root(&self) -> &str {
        self.root.to_str().unwrap()
    }

    /// SIGTERM, then wait (with a deadline) for a clean exit.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("emulate-board ignored SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn board_info_and_infer_match_the_cpu_byte_for_byte() {
    let emu = Emu::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let info = zynqflow_ok(dir.path(), &["info", "--backend", "board", "--root", emu.root()]);
    let text = String::from_utf8_lossy(&info.stdout);
    for want in [
        "ID:           0x5a464c57 (zynqflow)",
        "version:      1.0",
        "capabilities: 16x8 PEs",
        "DMA memory:   udmabuf0 at bus 0x18000000",
        "coherency:    cached",
    ] {
        assert!(text.contains(want), "no '{want}' in:\n{text}");
    }
    let run = |backend: &str, out: &str| {
        let mut args = vec![
            "infer",
            "--backend",
            backend,
            "--net",
            "lmflownets",
            "--synthetic-weights",
            "17",
            "--synthetic-frames",
            "4",
        ];
        args.extend(["--size", "128x192", "--out", out]);
        if backend == "board" {
            args.extend(["--root", emu.root()]);
        }
        zynqflow_ok(dir.path(), &args);
        std::fs::read(dir.path().join(out)).unwrap()
    };
    let board = run("board", "b.flo");
    let cpu = run("cpu", "c.flo");
    assert!(board == cpu, "board and cpu .flo differ");
}

#[test]
fn board_second_process_is_refused_while_the_first_holds_the_device() {
    let emu = Emu::start(&[]);
    let cfg = BoardConfig { root: emu.root.clone(), ..BoardConfig::default() };
    let held = BoardPlatform::open(&cfg).unwrap();
    let o = zynqflow(Path::new("."), &["info", "--backend", "board", "--root", emu.root()]);
    let e = stderr(&o);
    assert!(!o.status.success() && e.lines().count() == 1, "{e}");
    assert!(e.contains("device busy: locked by process") && e.contains(&std::process::id().to_string()), "{e}");
    drop(held);
    zynqflow_ok(Path::new("."), &["info", "--backend", "board", "--root", emu.root()]);
}

#[test]
fn board_selftest_passes_and_a_hung_run_fails_it_then_recovers() {
    let emu = Emu::start(&[]);
    let o = zynqflow_ok(
        Path::new("."),
        &["selftest", "--backend", "board", "--root", emu.root(), "--layers", "4", "--seed", "5"],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().filter(|l| l.contains(": PASS")).count(), 4, "{text}");
    drop(emu);
    let emu = Emu::start(&["--hang", "1"]);
    let args =
        ["selftest", "--backend", "board", "--root", emu.root(), "--layers", "3", "--seed", "5", "--timeout", "0.3"];
    let o = zynqflow(Path::new("."), &args);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains(": FAIL  board: no interrupt within 300ms") && lines[0].contains("soft-reset"), "{text}");
    assert!(lines[1].contains(": PASS") && lines[2].contains(": PASS"), "{text}");
    // The error is one line. Log lines may come with it: on a loaded machine
    // the emulator (it scans its registers every millisecond) can still be
    // draining when the runtime stops waiting after the soft reset, and the
    // next layer's open then waits for it and says so.
    let e = stderr(&o);
    let errors: Vec<&str> = e.lines().filter(|l| !l.starts_with("[INFO ") && !l.starts_with("[WARN ")).collect();
    assert_eq!(errors, ["error: selftest: 1 of 3 layers failed"], "{e}");
}

#[test]
fn board_bad_devices_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let o = zynqflow(dir.path(), &["info", "--backend", "board", "--root", root]);
    let e = stderr(&o);
    assert!(!o.status.success() && e.lines().count() == 1 && e.contains("no UIO device named 'zynqflow'"), "{e}");
    let emu = Emu::start(&["--id", "0xdead"]);
    let args =
        ["infer", "--backend", "board", "--root", emu.root(), "--synthetic-weights", "1", "--synthetic-frames", "1"];
    let o = zynqflow(dir.path(), &[&args[..], &["--size", "64x64", "--out", "x.flo"]].concat());
    let e = stderr(&o);
    assert!(!o.status.success() && e.contains("ID register is 0x0000dead, expected 0x5a464c57"), "{e}");
    assert!(!e.contains("panicked") && !dir.path().join("x.flo").exists(), "{e}");
    let o = zynqflow(dir.path(), &["info", "--backend", "board", "--root", root, "--devmem", "1,2"]);
    assert!(stderr(&o).contains("is not REGS,MEM,SIZE"), "{}", stderr(&o));
}

#[test]
fn board_emulator_stops_on_sigterm_and_removes_its_tree() {
    let mut emu = Emu::start(&["--coherent"]);
    let o = zynqflow_ok(Path::new("."), &["info", "--backend", "board", "--root", emu.root()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("coherent (dma_coherent = 1)"));
    let status = emu.stop();
    assert!(status.success(), "{status:?}");
    // The emulator made the root, so it removes it too.
    assert!(
        !emu.root.exists(),
        "{:?}",
        std::fs::read_dir(&emu.root).map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
    );
}

#[test]
fn board_emulator_fault_flags_slow_runs_then_a_vanishing_device() {
    let mut emu = Emu::start(&["--vanish-after", "1", "--run-time", "0.3"]);
    let args = ["selftest", "--backend", "board", "--root", emu.root(), "--layers", "1", "--seed", "3"];
    let t0 = Instant::now();
    let o = zynqflow_ok(Path::new("."), &args);
    assert!(t0.elapsed() >= Duration::from_millis(300), "{:?}: --run-time not applied", t0.elapsed());
    assert!(String::from_utf8_lossy(&o.stdout).contains(": PASS"), "{}", String::from_utf8_lossy(&o.stdout));
    // The second run's start makes the device vanish: a clear error long
    // before the 10 s deadline, and the emulator exits by itself.
    let t0 = Instant::now();
    let o = zynqflow(Path::new("."), &args);
    let (out, e) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(!o.status.success() && out.contains(": FAIL") && out.contains("device is gone"), "{out}\n{e}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    let child = emu.child.as_mut().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the emulator did not exit after vanishing");
        std::thread::sleep(Duration::from_millis(10));
    }
    emu.child = None;
    assert!(!emu.root.join("sys").exists(), "the vanished device left its tree");
}

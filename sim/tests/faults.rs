//! Faults of the memory in the Verilator simulation (`small`), through the
//! runtime as a board would see them: `Accelerator<SimPlatform>`.
//!
//! A memory that stops answering mid-run must end the run with a timeout
//! within the deadline; the runtime soft-resets the accelerator, which
//! stays busy draining the bursts left in flight (docs/simulation.md,
//! "Faults"); once the fault is cleared the memory answers them, the drain
//! ends, and the next job on the same simulation is bit-exact against the
//! CPU reference, with no AXI protocol error.

use std::sync::mpsc;
use std::time::{Duration, Instant};
use zynqflow_driver::compiler::Image;
use zynqflow_driver::platform::Platform;
use zynqflow_driver::runtime::{Accelerator, RuntimeError};
use zynqflow_driver::selftest::RandomLayer;
use zynqflow_isa::{regs, ArrayConfig};
use zynqflow_sim::SimPlatform;

/// The first random layer from `seed` that `small` runs.
fn layer(seed: u64) -> (RandomLayer, Image) {
    RandomLayer::first_compiled(seed, &ArrayConfig::small().capabilities())
}

#[test]
fn memory_that_stops_answering_times_out_resets_and_the_next_job_is_exact() {
    let p = SimPlatform::new(&ArrayConfig::small()).unwrap_or_else(|e| panic!("{e}"));
    let mut acc = Accelerator::open(p).unwrap();
    let (l, image) = layer(7);
    let loaded = acc.load(&image).unwrap();
    let long = Duration::from_secs(120);

    // A clean run, to count its read beats; the fault strikes after the
    // descriptor (8 beats) and some of the weights and activations: early,
    // so that it strikes well before the deadline however slow the machine.
    let before = acc.platform().mem_stats().read_beats;
    assert_eq!(acc.run_image(&loaded, &l.input, long).unwrap(), l.reference(), "{}", l.describe());
    let beats = acc.platform().mem_stats().read_beats - before;
    let hang_after = 48;
    assert!(beats >= 4 * hang_after, "{beats} read beats: too short a layer to hang mid-run ({})", l.describe());
    acc.platform().set_hang(Some(hang_after));

    // In a thread, so that a deadline not kept fails the test instead of
    // hanging it.
    let timeout = Duration::from_millis(400);
    let (tx, rx) = mpsc::channel();
    let (l2, loaded2) = (l.clone(), loaded.clone());
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let r = acc.run_image(&loaded2, &l2.input, timeout);
        let _ = tx.send((acc, r, t0.elapsed()));
    });
    let (mut acc, r, took) =
        rx.recv_timeout(timeout + Duration::from_secs(60)).expect("the run did not return within 60 s of its deadline");
    let e = r.expect_err("a run against a silent memory succeeded");
    assert!(matches!(e, RuntimeError::Timeout { backend: "sim", done, total, .. } if (done as usize) < total), "{e}");
    assert!(e.to_string().contains("soft-reset"), "{e}");
    // The deadline is kept: `wait_irq` sizes its slices to end by it (about
    // 10 ms late here, with the register accesses of the reset).
    assert!(took >= timeout && took < timeout + Duration::from_millis(500), "{took:?}");
    let stats = acc.platform().mem_stats();
    assert!(acc.platform().harness().hung(), "the fault never struck: {stats:?}");
    // The soft reset found bursts in flight: the device drains them, so it
    // stays busy while the memory is silent.
    assert!(acc.platform().harness().outstanding() > 0, "{stats:?}");
    assert_ne!(acc.platform().read_reg(regs::STATUS).unwrap() & regs::STATUS_BUSY, 0);

    // The fault goes away; the same simulation runs the job again, exactly.
    acc.platform().set_hang(None);
    acc.platform().harness().run(10_000);
    assert_eq!(acc.platform().read_reg(regs::STATUS).unwrap() & regs::STATUS_BUSY, 0, "the drain did not end");
    assert_eq!(acc.platform().harness().outstanding(), 0);
    assert_eq!(acc.run_image(&loaded, &l.input, long).unwrap(), l.reference(), "after the fault: {}", l.describe());
    // And another job, loaded after the fault.
    let (l3, image3) = layer(8);
    let loaded3 = acc.load(&image3).unwrap();
    assert_eq!(acc.run_image(&loaded3, &l3.input, long).unwrap(), l3.reference(), "{}", l3.describe());
    let c = acc.counters().unwrap();
    assert_eq!((c.macs, c.commands as usize), (image3.macs(), image3.commands.len()));
    let s = acc.platform().mem_stats();
    assert_eq!((s.protocol_errors, s.slverr_reads, s.slverr_writes), (0, 0, 0), "{s:?}");
}

//! A soft reset in the middle of a real layer (`small`, Verilator): the
//! accelerator drains the AXI bursts it has in flight (`hdl/src/axi_drain.rs`)
//! while the memory keeps answering them. The harness must count no AXI
//! protocol error, `STATUS.BUSY` must clear with nothing left outstanding,
//! and the next job must be bit-exact against the functional model.
mod common;

use common::{check_layer, Rtl};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zynqflow_driver::platform::Platform;
use zynqflow_isa::regs::*;
use zynqflow_isa::ArrayConfig;

/// Register reads allowed for the drain to finish (each takes a few cycles).
const DRAIN_READS: usize = 20_000;

#[test]
fn soft_reset_mid_layer_drains_and_the_next_job_is_exact() {
    let mut rtl = Rtl::new(&ArrayConfig::small());
    let (mut resets, mut in_flight) = (0, 0);
    let mut seed = 300;
    while in_flight < 6 {
        assert!(seed < 400, "too few layers long enough to soft-reset mid-run");
        // A layer that runs, once cleanly (its cycles), then again with a
        // soft reset at a random cycle of it.
        let (cycles, ran) = check_layer(&mut rtl, seed);
        seed += 1;
        if !ran || cycles < 200 {
            continue;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let at = rng.gen_range(20..cycles * 9 / 10);
        let (p, buf) = (&mut rtl.p, &rtl.buf);
        let base = buf.bus_addr as u32;
        p.write_reg(STATUS, STATUS_DONE | STATUS_ERROR).unwrap();
        p.write_reg(WIN_BASE, base).unwrap();
        p.write_reg(WIN_SIZE, buf.len as u32).unwrap();
        p.write_reg(CMD_BASE, base).unwrap();
        p.write_reg(CMD_COUNT, 1).unwrap();
        p.write_reg(CTRL, CTRL_START).unwrap();
        p.harness().run(at);
        let outstanding = p.harness().outstanding();
        in_flight += usize::from(outstanding > 0);
        p.write_reg(CTRL, CTRL_SOFT_RESET).unwrap();
        let reads = (0..DRAIN_READS).position(|_| p.read_reg(STATUS).unwrap() & STATUS_BUSY == 0);
        assert!(reads.is_some(), "seed {seed}: still busy {DRAIN_READS} reads after the soft reset at cycle {at}");
        assert_eq!(p.harness().outstanding(), 0, "seed {seed}: not busy with bursts outstanding");
        let s = p.mem_stats();
        assert_eq!(
            s.protocol_errors, 0,
            "seed {seed}: soft reset at cycle {at} of {cycles} ({outstanding} in flight): {s:?}"
        );
        eprintln!("seed {seed}: soft reset at cycle {at} of {cycles}, {outstanding} transactions in flight, idle after {} reads", reads.unwrap());
        resets += 1;
        // The next job, exact (check_layer also asserts no protocol error).
        check_layer(&mut rtl, 10_000 + seed);
    }
    eprintln!("{resets} soft resets, {in_flight} with bursts in flight");
}

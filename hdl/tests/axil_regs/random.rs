//! Random traffic (transactions with random timing, strobes and offsets, and
//! core events) checked step by step against the reference model.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zynqflow_isa::regs::*;

use crate::master::{Bench, Pulse, ReadOp, ReadTiming, WriteOp, WriteTiming};
use crate::model::{assert_matches_model, Model};

// ------------------------------------------------------------------------
// Random traffic against the reference model.

fn random_offset(rng: &mut ChaCha8Rng) -> u32 {
    match rng.gen_range(0..10) {
        0 => rng.gen_range(0..WINDOW_BYTES),
        1 => rng.gen_range(0..WINDOW_BYTES / 4) * 4,
        _ => REGISTERS[rng.gen_range(0..REGISTERS.len())].offset,
    }
}

fn random_strb(rng: &mut ChaCha8Rng) -> u8 {
    if rng.gen_bool(0.5) {
        0xf
    } else {
        rng.gen_range(0..16)
    }
}

fn random_write(rng: &mut ChaCha8Rng, addr: u32) -> WriteOp {
    let data = if addr == CTRL && rng.gen_bool(0.7) { rng.gen_range(0..4) } else { rng.gen() };
    let t = WriteTiming { aw: rng.gen_range(0..4), w: rng.gen_range(0..4), b: rng.gen_range(0..4) };
    WriteOp { addr, data, strb: random_strb(rng), t }
}

fn random_read(rng: &mut ChaCha8Rng, addr: u32) -> ReadOp {
    ReadOp { addr, t: ReadTiming { ar: rng.gen_range(0..4), r: rng.gen_range(0..4) } }
}

/// `ops` random steps (transactions and core events) on `b`, each checked
/// against the model.
pub fn random_traffic(b: &mut Bench, seed: u64, ops: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut m = Model::new(b.caps);
    // The bench has already run: bring the model to its state.
    m.starts = b.starts.len();
    m.soft_resets = b.soft_resets.len();
    for i in 0..ops {
        let what = format!("seed {seed} op {i}");
        match rng.gen_range(0..100) {
            0..=39 => {
                let addr = random_offset(&mut rng);
                let op = random_write(&mut rng, addr);
                let busy = b.core.busy;
                b.transact(Some(op), None);
                m.write(op.addr, op.data, op.strb, busy);
            }
            40..=74 => {
                let addr = random_offset(&mut rng);
                let op = random_read(&mut rng, addr);
                let r = b.transact(None, Some(op)).1.unwrap();
                assert_eq!(r.data, m.read(op.addr, &r.sample), "{what}: read {:#x}", op.addr);
            }
            75..=84 => {
                // A write and a read of different registers in flight together.
                let waddr = [CMD_BASE, CMD_COUNT, WIN_BASE, WIN_SIZE, IRQ_ENABLE][rng.gen_range(0..5)];
                let mut raddr = random_offset(&mut rng);
                while raddr == waddr {
                    raddr = random_offset(&mut rng);
                }
                let (w, r) = (random_write(&mut rng, waddr), random_read(&mut rng, raddr));
                let rd = b.transact(Some(w), Some(r)).1.unwrap();
                assert_eq!(rd.data, m.read(r.addr, &rd.sample), "{what}: read {raddr:#x} beside a write");
                m.write(w.addr, w.data, w.strb, b.core.busy);
            }
            85..=89 => {
                let p = if rng.gen_bool(0.5) {
                    Pulse::Done
                } else {
                    Pulse::Error { code: rng.gen_range(1..=16), index: rng.gen() }
                };
                b.pulse(p);
                m.pulse(p);
            }
            90..=93 => {
                b.core.busy = rng.gen_bool(0.5);
                b.core.cmds_done = rng.gen();
                b.idle(1);
            }
            94..=97 => {
                // Counters near a 2^32 boundary, growing at random rates.
                for k in 0..3 {
                    b.core.perf[k] = (rng.gen_range(0..8u64) << 32) | rng.gen_range(0xffff_ff00..=0xffff_ffffu64);
                    b.core.perf_step[k] = rng.gen_range(0..40);
                }
                b.idle(1);
            }
            _ => b.idle(rng.gen_range(1..6)),
        }
        assert_matches_model(b, &m, &what);
    }
}

#[test]
fn random_traffic_matches_the_reference_model() {
    for seed in 0..6 {
        let mut b = Bench::small();
        random_traffic(&mut b, seed, 400);
    }
}

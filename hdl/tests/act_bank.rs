//! The activation bank written by 16-lane segment: random writes with random
//! segment enables against a software memory, the synchronous read's
//! timing (read first on a write to the same address), and the generated Verilog linted and elaborated.

mod common;

use common::{Clocked, Driver};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_hdl::act_bank::ActBank;

impl<const AB: usize> Clocked for ActBank<AB> {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

/// The segments of `data` that `lanes` enables, over `old`.
fn merge(old: u64, data: u64, lanes: u64) -> u64 {
    (0..4).fold(old, |w, s| {
        let m = 0xffffu64 << (16 * s);
        if lanes >> s & 1 == 1 {
            (w & !m) | (data & m)
        } else {
            w
        }
    })
}

#[test]
fn segment_writes_and_reads_match_a_memory() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut d = Driver::new(ActBank::<5>::default());
    let mut model = [0u64; 32];
    // Start from known words: every segment of every address.
    for a in 0..32u64 {
        let v: u64 = rng.gen();
        d.uut.write_address.next = a.into();
        d.uut.write_data.next = v.into();
        d.uut.write_lanes.next = 15u64.into();
        d.tick();
        model[a as usize] = v;
    }
    for t in 0..2000 {
        // Every other cycle reads the address being written.
        let wa: u64 = rng.gen_range(0..32);
        let ra = if t % 2 == 0 { wa } else { rng.gen_range(0..32) };
        let (data, lanes): (u64, u64) = (rng.gen(), rng.gen_range(0..16));
        d.uut.write_address.next = wa.into();
        d.uut.write_data.next = data.into();
        d.uut.write_lanes.next = lanes.into();
        d.uut.read_address.next = ra.into();
        // After the edge: the word at the sampled address as it was before
        // that edge's write (read first).
        let before = model[ra as usize];
        model[wa as usize] = merge(model[wa as usize], data, lanes);
        d.tick();
        assert_eq!(d.uut.read_data.val().to_u64(), before, "cycle {t}: read {ra}, write {wa} lanes {lanes:04b}");
    }
    // Every word read back, with no write going on.
    d.uut.write_lanes.next = 0u64.into();
    for a in 0..32u64 {
        d.uut.read_address.next = a.into();
        d.tick();
        assert_eq!(d.uut.read_data.val().to_u64(), model[a as usize], "address {a}");
    }
}

#[test]
fn act_bank_verilog_is_lint_clean_and_elaborates() {
    let mut b = ActBank::<10>::default();
    b.connect_all();
    let dir = tempfile::tempdir().unwrap();
    zynqflow_hdl::verilog_check::lint_and_elaborate(&generate_verilog(&b), dir.path(), "top")
        .unwrap_or_else(|e| panic!("{e}"));
}

//! The delay lines of the array's edges: exact latency, and reset clearing
//! only the lines built to clear.

mod common;

use common::Driver;
use rust_hdl::prelude::*;
use zynqflow_hdl::skew::Delay;

/// Feeds 1, 2, 3, … and returns what comes out after each edge; `reset_at`
/// asserts reset for that cycle.
fn outputs(depth: usize, clears: bool, cycles: usize, reset_at: Option<usize>) -> Vec<u64> {
    let mut d = Driver::new(Delay::<Bits<16>>::new(depth, clears));
    assert_eq!(d.uut.depth(), depth);
    (0..cycles)
        .map(|t| {
            d.uut.data_in.next = (t as u64 + 1).into();
            d.uut.reset.next = reset_at == Some(t);
            d.tick();
            d.uut.data_out.val().to_u64()
        })
        .collect()
}

#[test]
fn a_line_delays_by_its_depth() {
    for depth in 1..=5 {
        let out = outputs(depth, false, 12, None);
        for (t, v) in out.iter().enumerate() {
            // After edge t the output holds the value sampled at edge t + 1 − depth.
            let want = if t + 1 >= depth { (t + 2 - depth) as u64 } else { 0 };
            assert_eq!(*v, want, "depth {depth}, cycle {t}");
        }
    }
}

#[test]
fn reset_clears_only_a_clearing_line() {
    // Reset sampled at edge 5 empties all 3 stages: the output is 0 after
    // edges 5, 6, 7, then the values sampled from edge 6 on.
    let cleared = outputs(3, true, 10, Some(5));
    assert_eq!(cleared, vec![0, 0, 1, 2, 3, 0, 0, 0, 7, 8]);
    let kept = outputs(3, false, 10, Some(5));
    assert_eq!(kept, vec![0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
#[should_panic(expected = "at least one register")]
fn a_line_needs_a_register() {
    let _ = Delay::<Bit>::new(0, false);
}

#[test]
fn delay_verilog_is_lint_clean_and_elaborates() {
    for clears in [false, true] {
        let mut d = Delay::<Bits<16>>::new(3, clears);
        d.connect_all();
        let dir = tempfile::tempdir().unwrap();
        zynqflow_hdl::verilog_check::lint_and_elaborate(&generate_verilog(&d), dir.path(), "top")
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

//! The popcount alone: every bit position, all ones, random words and masks
//! (the folded AND), for one and four lanes, in rust-hdl's simulator (the
//! lane chain) and — the compressor tree exists only as generated Verilog —
//! in Icarus Verilog on the same vectors; its Verilog linted.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_hdl::popcount::Popcount;

fn bits<const W: usize>(lanes: &[u64]) -> Bits<W> {
    let mut b = Bits::<W>::default();
    for (l, v) in lanes.iter().enumerate() {
        b.set_bits::<64>(64 * l, (*v).into());
    }
    b
}

fn count<const W: usize>(p: &mut Popcount<W>, lanes: &[u64], mask: &[u64]) -> u32 {
    p.word.next = bits::<W>(lanes);
    p.mask.next = bits::<W>(mask);
    for _ in 0..100 {
        p.update_all();
        if !p.has_changed() {
            return p.count.val().to_u32();
        }
    }
    panic!("popcount did not settle");
}

fn check<const W: usize>(seed: u64) {
    let lanes = W / 64;
    let mut p = Popcount::<W>::default();
    p.connect_all();
    check_all(&p).expect("rust-hdl checks");
    let mut words: Vec<Vec<u64>> = vec![vec![0; lanes], vec![u64::MAX; lanes]];
    for bit in 0..W {
        let mut w = vec![0; lanes];
        w[bit / 64] = 1 << (bit % 64);
        words.push(w);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    words.extend((0..200).map(|_| (0..lanes).map(|_| rng.gen()).collect()));
    let ones = vec![u64::MAX; lanes];
    for w in &words {
        // Unmasked (`mask` all ones, and `mask` = `word` as the array's heads use it).
        let want: u32 = w.iter().map(|x| x.count_ones()).sum();
        assert_eq!(count(&mut p, w, &ones), want, "{w:x?}");
        assert_eq!(count(&mut p, w, w), want, "{w:x?} & itself");
        // The AND: a random mask, and each single bit against all-ones words.
        let m: Vec<u64> = (0..lanes).map(|_| rng.gen()).collect();
        let want: u32 = w.iter().zip(&m).map(|(x, m)| (x & m).count_ones()).sum();
        assert_eq!(count(&mut p, w, &m), want, "{w:x?} & {m:x?}");
        assert_eq!(count(&mut p, &ones, w), w.iter().map(|x| x.count_ones()).sum::<u32>(), "ones & {w:x?}");
    }
}

#[test]
fn popcount_counts_every_bit_of_one_lane() {
    check::<64>(1);
}

#[test]
fn popcount_counts_every_bit_of_four_lanes() {
    check::<256>(2);
}

#[test]
fn popcount_verilog_is_lint_clean_and_elaborates() {
    let mut p = Popcount::<256>::default();
    p.connect_all();
    let dir = tempfile::tempdir().unwrap();
    zynqflow_hdl::verilog_check::lint_and_elaborate(&generate_verilog(&p), dir.path(), "top")
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The generated compressor tree (four lanes and the chain) in Icarus
/// Verilog: every single bit, all-zero and all-one words, every lane full,
/// prefixes of ones, and seeded random words and masks, each against
/// `count_ones`.
#[test]
fn popcount_verilog_counts_like_count_ones_in_icarus() {
    use std::fmt::Write as _;
    zynqflow_hdl::verilog_check::require_tool("iverilog").unwrap_or_else(|e| panic!("{e}"));
    let mut p = Popcount::<256>::default();
    p.connect_all();
    let dir = tempfile::tempdir().unwrap();
    let files =
        zynqflow_hdl::verilog_check::write_modules(&generate_verilog(&p), dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut vectors: Vec<([u64; 4], [u64; 4])> =
        vec![([0; 4], [0; 4]), ([u64::MAX; 4], [u64::MAX; 4]), ([u64::MAX; 4], [0; 4])];
    for bit in 0..256 {
        let mut w = [0u64; 4];
        w[bit / 64] = 1 << (bit % 64);
        vectors.push((w, [u64::MAX; 4]));
        // Ones below `bit` (every count 0..=256 appears).
        let mut prefix = [0u64; 4];
        for b in 0..bit {
            prefix[b / 64] |= 1 << (b % 64);
        }
        vectors.push((prefix, [u64::MAX; 4]));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x9c0);
    for i in 0..2000 {
        let w: [u64; 4] = rng.gen();
        // Dense and sparse words as well as uniform ones.
        let m: [u64; 4] = match i % 3 {
            0 => rng.gen(),
            1 => [u64::MAX; 4],
            _ => std::array::from_fn(|_| rng.gen::<u64>() & rng.gen::<u64>() & rng.gen::<u64>()),
        };
        vectors.push((w, m));
    }
    let hex = |v: &[u64; 4]| v.iter().rev().map(|x| format!("{x:016x}")).collect::<String>();
    let mut text = String::new();
    for (w, m) in &vectors {
        let want: u32 = w.iter().zip(m).map(|(a, b)| (a & b).count_ones()).sum();
        writeln!(text, "{}{}{:03x}", hex(w), hex(m), want).unwrap();
    }
    std::fs::write(dir.path().join("vectors.hex"), text).unwrap();
    let n = vectors.len();
    let tb = dir.path().join("tb.v");
    std::fs::write(
        &tb,
        format!(
            "module tb;\n  reg [523:0] v [0:{last}];\n  reg [255:0] word, mask;\n  wire [8:0] count;\n  integer i, bad;\n\
             top dut(.word(word), .mask(mask), .count(count));\n  initial begin\n    $readmemh(\"vectors.hex\", v);\n    bad = 0;\n\
             for (i = 0; i < {n}; i = i + 1) begin\n      word = v[i][523:268]; mask = v[i][267:12]; #1;\n\
             if (count !== v[i][8:0]) begin bad = bad + 1; if (bad < 5) $display(\"MISMATCH %0d: %0d want %0d\", i, count, v[i][8:0]); end\n\
             end\n    $display(\"checked %0d bad %0d\", {n}, bad);\n    $finish;\n  end\nendmodule\n",
            last = n - 1
        ),
    )
    .unwrap();
    let out = zynqflow_hdl::verilog_check::icarus_run(dir.path(), &files, &tb, "tb").unwrap_or_else(|e| panic!("{e}"));
    assert!(out.contains(&format!("checked {n} bad 0")), "Icarus:\n{out}");
}

//! The popcount tree alone: every bit position, all ones, random words and
//! masks (the folded AND), for one and four lanes; its Verilog linted.

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

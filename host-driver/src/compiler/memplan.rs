//! The activation memory plan: every tensor the accelerator reads or writes
//! gets an offset in one arena, and tensors whose lifetimes do not overlap
//! share memory.
//!
//! A lifetime is the inclusive range of descriptor indices from the first
//! write to the last read (the host's input is written before descriptor 0,
//! the host's output read after the last). Tensors are placed in order of
//! birth at the lowest aligned offset that overlaps no placed tensor whose
//! lifetime intersects theirs (first fit). A descriptor's input is alive
//! while it writes its output, so they never share bytes.

use zynqflow_isa::ADDRESS_ALIGN;

/// One tensor to place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Bytes.
    pub bytes: usize,
    /// First descriptor index that writes it (0 for the host's input).
    pub birth: usize,
    /// Last descriptor index that reads it (the count for the host's output).
    pub death: usize,
}

/// Offsets for every tensor, and the arena size.
pub fn plan(tensors: &[Lifetime]) -> (Vec<usize>, usize) {
    let align = ADDRESS_ALIGN as usize;
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| (tensors[i].birth, std::cmp::Reverse(tensors[i].bytes)));
    let mut offsets = vec![usize::MAX; tensors.len()];
    let mut placed: Vec<usize> = Vec::new();
    let mut total = 0;
    for i in order {
        let t = tensors[i];
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&j| tensors[j].birth <= t.death && t.birth <= tensors[j].death)
            .map(|&j| (offsets[j], offsets[j] + tensors[j].bytes))
            .collect();
        busy.sort();
        let mut off = 0;
        for (s, e) in busy {
            if off + t.bytes <= s {
                break;
            }
            off = off.max(e.div_ceil(align) * align);
        }
        offsets[i] = off;
        total = total.max(off + t.bytes);
        placed.push(i);
    }
    (offsets, total.div_ceil(align) * align)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_tensors_never_share_bytes_and_dead_ones_are_reused() {
        let t = [
            Lifetime { bytes: 100, birth: 0, death: 1 },
            Lifetime { bytes: 64, birth: 1, death: 2 },
            Lifetime { bytes: 100, birth: 2, death: 3 },
            Lifetime { bytes: 10, birth: 0, death: 3 },
        ];
        let (off, total) = plan(&t);
        for i in 0..t.len() {
            assert_eq!(off[i] % 64, 0);
            for j in 0..i {
                let live = t[i].birth <= t[j].death && t[j].birth <= t[i].death;
                let share = off[i] < off[j] + t[j].bytes && off[j] < off[i] + t[i].bytes;
                assert!(!(live && share), "{i} and {j} overlap while both live");
            }
        }
        // Tensor 2 reuses tensor 0's bytes.
        assert_eq!(off[2], off[0]);
        assert!(total < 100 + 64 + 100 + 10 + 3 * 64);
    }
}

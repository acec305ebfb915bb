//! Integer weights packed as bit-planes in the `isa` [`WeightLayout`].

use zynqflow_isa::{WeightBits, WeightLayout, CHANNELS_PER_WORD};

/// Integer weights of one convolution, `Cout × Kh × Kw × Cin`, stored exactly
/// as in DDR. Binary weights hold ±1; `W`-bit weights hold two's complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QWeights {
    /// Shape, bit width and word layout.
    pub layout: WeightLayout,
    /// `layout.words()` words.
    pub data: Vec<u64>,
}

impl QWeights {
    /// Packs integer weights given in `[co][ky][kx][ci]` order. Panics if a
    /// value is not representable in `bits` (callers quantize first).
    pub fn from_ints(cout: usize, kh: usize, kw: usize, cin: usize, bits: WeightBits, ints: &[i8]) -> Self {
        assert_eq!(ints.len(), cout * kh * kw * cin, "QWeights::from_ints length");
        let layout = WeightLayout::new(cout, kh, kw, cin, bits).expect("non-zero shape");
        let mut data = vec![0u64; layout.words()];
        for co in 0..cout {
            for ky in 0..kh {
                for kx in 0..kw {
                    for ci in 0..cin {
                        let v = i32::from(ints[((co * kh + ky) * kw + kx) * cin + ci]);
                        assert!(bits.contains(v), "weight {v} not representable in {bits} bits");
                        let e = bits.encode(v);
                        let (g, i) = (ci / CHANNELS_PER_WORD, ci % CHANNELS_PER_WORD);
                        for q in 0..bits.bits() {
                            data[layout.word_index(co, ky, kx, g, q)] |= u64::from((e >> q) & 1) << i;
                        }
                    }
                }
            }
        }
        QWeights { layout, data }
    }

    /// The integer weight at (co, ky, kx, ci).
    pub fn get(&self, co: usize, ky: usize, kx: usize, ci: usize) -> i32 {
        let l = &self.layout;
        let (g, i) = (ci / CHANNELS_PER_WORD, ci % CHANNELS_PER_WORD);
        let mut e = 0u8;
        for q in 0..l.bits.bits() {
            e |= (((self.data[l.word_index(co, ky, kx, g, q)] >> i) & 1) as u8) << q;
        }
        l.bits.decode(e)
    }

    /// All weights in `[co][ky][kx][ci]` order.
    pub fn to_ints(&self) -> Vec<i8> {
        let l = self.layout;
        let mut out = Vec::with_capacity(l.cout * l.kh * l.kw * l.cin);
        for co in 0..l.cout {
            for ky in 0..l.kh {
                for kx in 0..l.kw {
                    for ci in 0..l.cin {
                        out.push(self.get(co, ky, kx, ci) as i8);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_round_trip_for_every_width() {
        for bits in 1..=8u32 {
            let b = WeightBits::new(bits).unwrap();
            let n = 3 * 2 * 2 * 67;
            let ints: Vec<i8> = (0..n)
                .map(|i| {
                    if b.is_binary() {
                        if i % 3 == 0 {
                            1
                        } else {
                            -1
                        }
                    } else {
                        (b.min_value() + (i * 7) % (b.max_value() - b.min_value() + 1)) as i8
                    }
                })
                .collect();
            let w = QWeights::from_ints(3, 2, 2, 67, b, &ints);
            assert_eq!(w.to_ints(), ints, "bits {bits}");
        }
    }
}

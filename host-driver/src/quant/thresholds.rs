//! Per-channel threshold tables in the `isa` [`ThresholdLayout`].

use zynqflow_isa::{ActBits, ThresholdLayout, ThresholdMode};

/// The thresholds of one threshold-mode layer, stored exactly as in DDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// Channel count and output width.
    pub layout: ThresholdLayout,
    /// `layout.words()` words: per channel the mode word, then the thresholds.
    pub data: Vec<i32>,
}

impl Thresholds {
    /// Builds a table from one (mode, thresholds) pair per output channel.
    /// Panics if a channel does not have `2^A − 1` thresholds or they are not
    /// sorted in the mode's direction.
    pub fn from_channels(out_bits: ActBits, channels: &[(ThresholdMode, Vec<i32>)]) -> Self {
        let layout = ThresholdLayout { cout: channels.len(), out_bits };
        let mut data = Vec::with_capacity(layout.words());
        for (co, (mode, t)) in channels.iter().enumerate() {
            assert_eq!(t.len(), out_bits.num_thresholds(), "channel {co}: threshold count");
            match mode {
                ThresholdMode::Ascending => assert!(t.windows(2).all(|p| p[0] <= p[1]), "channel {co}: not ascending"),
                ThresholdMode::Descending => {
                    assert!(t.windows(2).all(|p| p[0] >= p[1]), "channel {co}: not descending")
                }
                ThresholdMode::Constant(c) => {
                    assert!(u32::from(*c) <= out_bits.max_code(), "channel {co}: constant too big")
                }
            }
            data.push(mode.encode());
            data.extend_from_slice(t);
        }
        Thresholds { layout, data }
    }

    /// Output channels.
    pub fn cout(&self) -> usize {
        self.layout.cout
    }

    /// Output code width.
    pub fn out_bits(&self) -> ActBits {
        self.layout.out_bits
    }

    /// Mode and thresholds of channel `co`.
    pub fn channel(&self, co: usize) -> (ThresholdMode, &[i32]) {
        let i = self.layout.channel_word(co);
        let mode = ThresholdMode::decode(self.data[i]).expect("tables are built valid");
        (mode, &self.data[i + 1..i + self.layout.words_per_channel()])
    }

    /// Output code of channel `co` for accumulator `acc`.
    #[inline]
    pub fn apply(&self, co: usize, acc: i32) -> u8 {
        let (mode, t) = self.channel(co);
        mode.apply(acc, t) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_stores_modes_and_applies_them() {
        let t = Thresholds::from_channels(
            ActBits::B2,
            &[
                (ThresholdMode::Ascending, vec![0, 10, 20]),
                (ThresholdMode::Descending, vec![20, 10, 0]),
                (ThresholdMode::Constant(1), vec![0, 0, 0]),
            ],
        );
        assert_eq!(t.data.len(), 12);
        assert_eq!(t.apply(0, 15), 2);
        assert_eq!(t.apply(1, 15), 1);
        assert_eq!(t.apply(2, 1_000_000), 1);
    }

    #[test]
    #[should_panic(expected = "not ascending")]
    fn unsorted_thresholds_are_refused() {
        Thresholds::from_channels(ActBits::B2, &[(ThresholdMode::Ascending, vec![3, 2, 1])]);
    }
}

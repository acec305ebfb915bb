//! Tensor memory layouts: where every activation code, weight bit, threshold
//! and raw accumulator lives in DDR.
//!
//! All multi-byte words are little-endian (Zynq's ARM cores and AXI are).
//!
//! ## Activations: bit-planes of 64 channels
//! An activation tensor of `H × W × C` codes of `A` bits is stored pixel by
//! pixel in row-major order (NHWC). Within a pixel, the channels are cut into
//! `G = ceil(C / 64)` groups of [`CHANNELS_PER_WORD`] channels; each group is
//! stored as `A` consecutive `u64` words, word `p` holding bit `p` of the codes
//! of the group's 64 channels (channel `g·64 + i` at bit `i`). Channels past
//! `C` in the last group are zero. Word index of (y, x, group, plane):
//! `((y·W + x)·G + group)·A + plane`.
//!
//! Why bit-planes: one AND + one popcount multiplies 64 activation bits by 64
//! weight bits, the same operation on the CPU (`u64::count_ones`) and in a
//! bit-serial processing element; widths from 1 to 8 bits need no repacking;
//! one word is one beat of a 64-bit Zynq-7000 HP port.
//!
//! A tensor can be written at a channel offset inside a wider one
//! (concatenation without copies); the offset must be a multiple of 64 so
//! that a producer owns whole words.
//!
//! ## Weights: bit-planes, output channel major
//! Weights `Cout × Kh × Kw × Cin` of `W` bits: for each output channel, each
//! kernel row, each kernel column, each input group of 64, `W` words, word `q`
//! holding bit `q` of the encoded weights ([`crate::WeightBits::encode`]).
//! Input channels past `Cin` are zero bits: harmless, because the matching
//! activation bits are zero. Index: `(((co·Kh + ky)·Kw + kx)·G + g)·W + q`.
//!
//! ## Thresholds
//! Per output channel `2^A_out` little-endian `i32` words: word 0 is the
//! [`ThresholdMode`], words 1..`2^A_out` the `2^A_out − 1` thresholds.
//!
//! ## Raw accumulators
//! `H × W × C` little-endian `i32`, NHWC, no padding.

use crate::precision::{ActBits, WeightBits};
use std::fmt;

/// Channels packed into one 64-bit word of a bit-plane.
pub const CHANNELS_PER_WORD: usize = 64;

/// A layout request that the contract cannot represent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// A dimension that must be at least 1 was 0.
    ZeroDimension(&'static str),
    /// A concatenation offset that is not a multiple of 64 channels.
    MisalignedChannelOffset(usize),
    /// A threshold mode word that decodes to no mode.
    BadThresholdMode(i32),
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::ZeroDimension(d) => write!(f, "tensor dimension `{d}` is zero"),
            LayoutError::MisalignedChannelOffset(o) => {
                write!(f, "channel offset {o} is not a multiple of {CHANNELS_PER_WORD}")
            }
            LayoutError::BadThresholdMode(w) => write!(f, "threshold mode word {w:#x} is not a valid mode"),
        }
    }
}

impl std::error::Error for LayoutError {}

/// Number of 64-channel groups needed for `channels` channels.
pub fn channel_groups(channels: usize) -> usize {
    channels.div_ceil(CHANNELS_PER_WORD)
}

/// Layout of an `H × W × C` activation tensor of `A`-bit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActLayout {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Channels (the last group is zero-padded to 64).
    pub channels: usize,
    /// Code width, = number of bit-planes.
    pub bits: ActBits,
}

impl ActLayout {
    /// Checked constructor.
    pub fn new(height: usize, width: usize, channels: usize, bits: ActBits) -> Result<Self, LayoutError> {
        for (v, n) in [(height, "height"), (width, "width"), (channels, "channels")] {
            if v == 0 {
                return Err(LayoutError::ZeroDimension(n));
            }
        }
        Ok(ActLayout { height, width, channels, bits })
    }

    /// Channel groups of 64 per pixel.
    pub fn groups(&self) -> usize {
        channel_groups(self.channels)
    }

    /// `u64` words per pixel (`groups × bits`).
    pub fn words_per_pixel(&self) -> usize {
        self.groups() * self.bits.bits()
    }

    /// Total `u64` words.
    pub fn words(&self) -> usize {
        self.height * self.width * self.words_per_pixel()
    }

    /// Total bytes.
    pub fn bytes(&self) -> usize {
        self.words() * 8
    }

    /// Index of the first word of pixel (y, x).
    pub fn pixel_word(&self, y: usize, x: usize) -> usize {
        debug_assert!(y < self.height && x < self.width);
        (y * self.width + x) * self.words_per_pixel()
    }

    /// Index of the word holding bit-plane `plane` of channel group `group` at (y, x).
    pub fn word_index(&self, y: usize, x: usize, group: usize, plane: usize) -> usize {
        debug_assert!(group < self.groups() && plane < self.bits.bits());
        self.pixel_word(y, x) + group * self.bits.bits() + plane
    }

    /// Checks that a tensor of `channels` channels may be written at
    /// `offset` inside this one (concatenation).
    pub fn check_channel_slice(&self, offset: usize, channels: usize) -> Result<(), LayoutError> {
        if !offset.is_multiple_of(CHANNELS_PER_WORD) {
            return Err(LayoutError::MisalignedChannelOffset(offset));
        }
        if channels == 0 {
            return Err(LayoutError::ZeroDimension("channels"));
        }
        assert!(offset + channels <= self.channels, "slice {offset}+{channels} exceeds {} channels", self.channels);
        Ok(())
    }
}

/// Layout of `Cout × Kh × Kw × Cin` weights of `W` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeightLayout {
    /// Output channels.
    pub cout: usize,
    /// Kernel rows.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Input channels.
    pub cin: usize,
    /// Weight width, = number of bit-planes.
    pub bits: WeightBits,
}

impl WeightLayout {
    /// Checked constructor.
    pub fn new(cout: usize, kh: usize, kw: usize, cin: usize, bits: WeightBits) -> Result<Self, LayoutError> {
        for (v, n) in [(cout, "cout"), (kh, "kh"), (kw, "kw"), (cin, "cin")] {
            if v == 0 {
                return Err(LayoutError::ZeroDimension(n));
            }
        }
        Ok(WeightLayout { cout, kh, kw, cin, bits })
    }

    /// Input channel groups of 64.
    pub fn groups(&self) -> usize {
        channel_groups(self.cin)
    }

    /// `u64` words per output channel.
    pub fn words_per_cout(&self) -> usize {
        self.kh * self.kw * self.groups() * self.bits.bits()
    }

    /// Total `u64` words.
    pub fn words(&self) -> usize {
        self.cout * self.words_per_cout()
    }

    /// Total bytes.
    pub fn bytes(&self) -> usize {
        self.words() * 8
    }

    /// Index of the word holding plane `plane` of input group `group` at
    /// kernel tap (ky, kx) of output channel `co`.
    pub fn word_index(&self, co: usize, ky: usize, kx: usize, group: usize, plane: usize) -> usize {
        debug_assert!(co < self.cout && ky < self.kh && kx < self.kw);
        debug_assert!(group < self.groups() && plane < self.bits.bits());
        (((co * self.kh + ky) * self.kw + kx) * self.groups() + group) * self.bits.bits() + plane
    }
}

/// How a threshold-mode layer turns an accumulator into an output code.
///
/// Blueoil folds conv bias, batch-norm and the activation quantizer into
/// per-channel integer thresholds; the sign of the batch-norm scale decides the
/// direction of the comparison, and a zero scale makes the channel constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThresholdMode {
    /// Thresholds non-decreasing; code = number of `t_i` with `acc ≥ t_i`.
    Ascending,
    /// Thresholds non-increasing; code = number of `t_i` with `acc ≤ t_i`.
    Descending,
    /// The channel outputs this code whatever the accumulator.
    Constant(u8),
}

impl ThresholdMode {
    /// Encoding as the first word of a channel's threshold record:
    /// 0 = ascending, 1 = descending, `2 | code << 8` = constant.
    pub fn encode(self) -> i32 {
        match self {
            ThresholdMode::Ascending => 0,
            ThresholdMode::Descending => 1,
            ThresholdMode::Constant(c) => 2 | (i32::from(c) << 8),
        }
    }

    /// Inverse of [`ThresholdMode::encode`].
    pub fn decode(word: i32) -> Result<Self, LayoutError> {
        match word {
            0 => Ok(ThresholdMode::Ascending),
            1 => Ok(ThresholdMode::Descending),
            w if w & 0xff == 2 && (w >> 8) & !0xff == 0 => Ok(ThresholdMode::Constant((w >> 8) as u8)),
            w => Err(LayoutError::BadThresholdMode(w)),
        }
    }

    /// The output code for accumulator `acc`, given this channel's thresholds
    /// (`2^A − 1` of them). This is the definition the CPU reference, the
    /// functional model and the hardware threshold unit all implement.
    /// A constant code is clamped to the largest code the thresholds allow.
    pub fn apply(self, acc: i32, thresholds: &[i32]) -> u32 {
        match self {
            ThresholdMode::Ascending => thresholds.iter().filter(|&&t| acc >= t).count() as u32,
            ThresholdMode::Descending => thresholds.iter().filter(|&&t| acc <= t).count() as u32,
            ThresholdMode::Constant(c) => u32::from(c).min(thresholds.len() as u32),
        }
    }
}

/// Layout of the threshold table of a layer: `cout` records of `2^A_out` `i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThresholdLayout {
    /// Output channels.
    pub cout: usize,
    /// Output code width.
    pub out_bits: ActBits,
}

impl ThresholdLayout {
    /// `i32` words per output channel: the mode word and `2^A − 1` thresholds.
    pub fn words_per_channel(&self) -> usize {
        1 + self.out_bits.num_thresholds()
    }

    /// Total `i32` words.
    pub fn words(&self) -> usize {
        self.cout * self.words_per_channel()
    }

    /// Total bytes.
    pub fn bytes(&self) -> usize {
        self.words() * 4
    }

    /// Index of the mode word of channel `co`; its thresholds follow it.
    pub fn channel_word(&self, co: usize) -> usize {
        debug_assert!(co < self.cout);
        co * self.words_per_channel()
    }
}

/// Layout of raw `i32` accumulators, `H × W × C`, NHWC, unpadded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawLayout {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Channels.
    pub channels: usize,
}

impl RawLayout {
    /// Index of the accumulator of channel `c` at (y, x).
    pub fn index(&self, y: usize, x: usize, c: usize) -> usize {
        (y * self.width + x) * self.channels + c
    }

    /// Total `i32` words.
    pub fn words(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// Total bytes.
    pub fn bytes(&self) -> usize {
        self.words() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_words_tile_the_tensor_exactly_once() {
        let l = ActLayout::new(3, 5, 130, ActBits::new(3).unwrap()).unwrap();
        assert_eq!(l.groups(), 3);
        let mut seen = vec![false; l.words()];
        for y in 0..3 {
            for x in 0..5 {
                for g in 0..3 {
                    for p in 0..3 {
                        let i = l.word_index(y, x, g, p);
                        assert!(!seen[i]);
                        seen[i] = true;
                    }
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(l.bytes(), 3 * 5 * 3 * 3 * 8);
    }

    #[test]
    fn weight_words_tile_the_tensor_exactly_once() {
        let l = WeightLayout::new(4, 3, 2, 65, WeightBits::new(2).unwrap()).unwrap();
        let mut seen = vec![false; l.words()];
        for co in 0..4 {
            for ky in 0..3 {
                for kx in 0..2 {
                    for g in 0..2 {
                        for q in 0..2 {
                            let i = l.word_index(co, ky, kx, g, q);
                            assert!(!seen[i]);
                            seen[i] = true;
                        }
                    }
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn zero_dimensions_and_misaligned_slices_are_refused() {
        assert_eq!(ActLayout::new(0, 1, 1, ActBits::B2), Err(LayoutError::ZeroDimension("height")));
        let l = ActLayout::new(2, 2, 224, ActBits::B2).unwrap();
        assert!(l.check_channel_slice(192, 32).is_ok());
        assert_eq!(l.check_channel_slice(100, 32), Err(LayoutError::MisalignedChannelOffset(100)));
    }

    #[test]
    fn threshold_modes_round_trip_and_apply() {
        for m in [
            ThresholdMode::Ascending,
            ThresholdMode::Descending,
            ThresholdMode::Constant(0),
            ThresholdMode::Constant(255),
        ] {
            assert_eq!(ThresholdMode::decode(m.encode()), Ok(m));
        }
        assert!(ThresholdMode::decode(3).is_err());
        assert!(ThresholdMode::decode(2 | (1 << 16)).is_err());
        let up = [-5, 0, 7];
        assert_eq!(ThresholdMode::Ascending.apply(-6, &up), 0);
        assert_eq!(ThresholdMode::Ascending.apply(-5, &up), 1);
        assert_eq!(ThresholdMode::Ascending.apply(7, &up), 3);
        let down = [7, 0, -5];
        assert_eq!(ThresholdMode::Descending.apply(8, &down), 0);
        assert_eq!(ThresholdMode::Descending.apply(7, &down), 1);
        assert_eq!(ThresholdMode::Descending.apply(-5, &down), 3);
        assert_eq!(ThresholdMode::Constant(2).apply(i32::MIN, &up), 2);
        assert_eq!(ThresholdMode::Constant(9).apply(0, &up), 3);
        let tl = ThresholdLayout { cout: 3, out_bits: ActBits::B2 };
        assert_eq!(tl.words_per_channel(), 4);
        assert_eq!(tl.channel_word(2), 8);
    }
}

//! Host-side tensors: float feature maps, quantized activation codes in the
//! `isa` memory layout, and raw integer accumulators.
//!
//! All are a single image in NHWC order (no batch dimension: a frame pair is
//! one 6-channel image).

use zynqflow_isa::{ActBits, ActLayout, RawLayout, CHANNELS_PER_WORD};

/// A float feature map, `h × w × c`, NHWC.
#[derive(Debug, Clone, PartialEq)]
pub struct FTensor {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// `h·w·c` values, channel fastest.
    pub data: Vec<f32>,
}

impl FTensor {
    /// A tensor of zeros.
    pub fn zeros(h: usize, w: usize, c: usize) -> Self {
        FTensor { h, w, c, data: vec![0.0; h * w * c] }
    }

    /// Wraps existing data; panics if the length does not match.
    pub fn from_vec(h: usize, w: usize, c: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), h * w * c, "FTensor data length");
        FTensor { h, w, c, data }
    }

    /// Index of (y, x, ch) in `data`.
    #[inline]
    pub fn idx(&self, y: usize, x: usize, ch: usize) -> usize {
        (y * self.w + x) * self.c + ch
    }

    /// Value at (y, x, ch).
    #[inline]
    pub fn at(&self, y: usize, x: usize, ch: usize) -> f32 {
        self.data[self.idx(y, x, ch)]
    }

    /// The `c` values of pixel (y, x).
    pub fn pixel(&self, y: usize, x: usize) -> &[f32] {
        let i = self.idx(y, x, 0);
        &self.data[i..i + self.c]
    }
}

/// Quantized activation codes stored exactly as in DDR ([`ActLayout`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QTensor {
    /// Shape, bit width and word layout.
    pub layout: ActLayout,
    /// `layout.words()` words.
    pub data: Vec<u64>,
}

impl QTensor {
    /// All codes zero.
    pub fn zeros(layout: ActLayout) -> Self {
        QTensor { data: vec![0; layout.words()], layout }
    }

    /// Packs `h·w·c` codes given in NHWC order. Panics if a code does not fit
    /// in `bits` or the length is wrong (callers validate user data first).
    pub fn from_codes(h: usize, w: usize, c: usize, bits: ActBits, codes: &[u8]) -> Self {
        assert_eq!(codes.len(), h * w * c, "QTensor::from_codes length");
        let layout = ActLayout::new(h, w, c, bits).expect("non-zero shape");
        let mut t = QTensor::zeros(layout);
        let max = bits.max_code();
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    let code = codes[(y * w + x) * c + ch];
                    assert!(u32::from(code) <= max, "code {code} does not fit in {bits} bits");
                    t.set(y, x, ch, code);
                }
            }
        }
        t
    }

    /// Rows.
    pub fn h(&self) -> usize {
        self.layout.height
    }

    /// Columns.
    pub fn w(&self) -> usize {
        self.layout.width
    }

    /// Channels.
    pub fn c(&self) -> usize {
        self.layout.channels
    }

    /// Code width.
    pub fn bits(&self) -> ActBits {
        self.layout.bits
    }

    /// The code of channel `ch` at (y, x).
    pub fn get(&self, y: usize, x: usize, ch: usize) -> u8 {
        let (g, i) = (ch / CHANNELS_PER_WORD, ch % CHANNELS_PER_WORD);
        let base = self.layout.word_index(y, x, g, 0);
        let mut code = 0u8;
        for p in 0..self.layout.bits.bits() {
            code |= (((self.data[base + p] >> i) & 1) as u8) << p;
        }
        code
    }

    /// Sets the code of channel `ch` at (y, x).
    pub fn set(&mut self, y: usize, x: usize, ch: usize, code: u8) {
        debug_assert!(u32::from(code) <= self.layout.bits.max_code());
        let (g, i) = (ch / CHANNELS_PER_WORD, ch % CHANNELS_PER_WORD);
        let base = self.layout.word_index(y, x, g, 0);
        for p in 0..self.layout.bits.bits() {
            let w = &mut self.data[base + p];
            *w = (*w & !(1u64 << i)) | (u64::from((code >> p) & 1) << i);
        }
    }

    /// All codes in NHWC order.
    pub fn to_codes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.h() * self.w() * self.c());
        for y in 0..self.h() {
            for x in 0..self.w() {
                for ch in 0..self.c() {
                    out.push(self.get(y, x, ch));
                }
            }
        }
        out
    }

    /// The words of pixel (y, x): `groups × bits` words.
    pub fn pixel_words(&self, y: usize, x: usize) -> &[u64] {
        let i = self.layout.pixel_word(y, x);
        &self.data[i..i + self.layout.words_per_pixel()]
    }
}

/// Raw signed accumulators, `h × w × c`, NHWC ([`RawLayout`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTensor {
    /// Shape.
    pub layout: RawLayout,
    /// `h·w·c` accumulators.
    pub data: Vec<i32>,
}

impl RawTensor {
    /// All zero.
    pub fn zeros(h: usize, w: usize, c: usize) -> Self {
        RawTensor { layout: RawLayout { height: h, width: w, channels: c }, data: vec![0; h * w * c] }
    }

    /// Rows.
    pub fn h(&self) -> usize {
        self.layout.height
    }

    /// Columns.
    pub fn w(&self) -> usize {
        self.layout.width
    }

    /// Channels.
    pub fn c(&self) -> usize {
        self.layout.channels
    }

    /// Accumulator of channel `ch` at (y, x).
    pub fn get(&self, y: usize, x: usize, ch: usize) -> i32 {
        self.data[self.layout.index(y, x, ch)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_bit_planes() {
        for bits in 1..=8u32 {
            let b = ActBits::new(bits).unwrap();
            let (h, w, c) = (2, 3, 70);
            let codes: Vec<u8> = (0..h * w * c).map(|i| ((i * 37 + 11) % (1 << bits)) as u8).collect();
            let t = QTensor::from_codes(h, w, c, b, &codes);
            assert_eq!(t.to_codes(), codes);
            // Padding channels 70..128 stay zero in every plane.
            let pw = t.pixel_words(1, 2);
            for p in 0..bits as usize {
                assert_eq!(pw[b.bits() + p] >> 6, 0, "padding bits set");
            }
        }
    }

    #[test]
    fn set_overwrites_every_plane() {
        let mut t = QTensor::zeros(ActLayout::new(1, 1, 3, ActBits::new(3).unwrap()).unwrap());
        t.set(0, 0, 1, 7);
        t.set(0, 0, 1, 2);
        assert_eq!(t.get(0, 0, 1), 2);
        assert_eq!(t.get(0, 0, 0), 0);
    }
}

//! Bit widths of activations and weights, and the arithmetic meaning of a
//! weight bit-plane.
//!
//! Activations are unsigned codes of `A` bits (1..=8); real value = code × step.
//! Weights are either binary (`W = 1`: a set bit means +1, a clear bit −1,
//! Blueoil's convention) or `W`-bit signed two's complement (2..=8).
//!
//! Both are stored as bit-planes (see [`crate::layout`]). A product of an
//! activation plane `p` and a weight plane `q` over a word of 64 channels is one
//! AND and one popcount; [`WeightBits::plane_weight`] gives the factor that
//! popcount is multiplied by. The cost of a layer is therefore proportional to
//! the bit product `A × W`.

use std::fmt;

/// A bit width outside what the contract allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrecisionError {
    /// Activation bits must be 1..=8.
    ActBits(u32),
    /// Weight bits must be 1..=8.
    WeightBits(u32),
}

impl fmt::Display for PrecisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrecisionError::ActBits(b) => write!(f, "activation bit width {b} is outside 1..=8"),
            PrecisionError::WeightBits(b) => write!(f, "weight bit width {b} is outside 1..=8"),
        }
    }
}

impl std::error::Error for PrecisionError {}

/// Width of an unsigned activation code, 1..=8 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActBits(u8);

impl ActBits {
    /// The 8-bit input codes (camera pixels).
    pub const B8: ActBits = ActBits(8);
    /// Blueoil's 2-bit activations.
    pub const B2: ActBits = ActBits(2);
    /// 4-bit activations.
    pub const B4: ActBits = ActBits(4);

    /// Checked constructor.
    pub fn new(bits: u32) -> Result<Self, PrecisionError> {
        if (1..=8).contains(&bits) {
            Ok(ActBits(bits as u8))
        } else {
            Err(PrecisionError::ActBits(bits))
        }
    }

    /// Number of bits (= number of bit-planes in memory).
    pub fn bits(self) -> usize {
        self.0 as usize
    }

    /// Largest code, `2^A − 1`.
    pub fn max_code(self) -> u32 {
        (1u32 << self.0) - 1
    }

    /// Number of thresholds a threshold-mode layer producing this width needs.
    pub fn num_thresholds(self) -> usize {
        self.max_code() as usize
    }
}

impl fmt::Display for ActBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Width of a weight: 1 = binary ±1, 2..=8 = signed two's complement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WeightBits(u8);

impl WeightBits {
    /// Binary weights (bit set = +1, clear = −1).
    pub const BINARY: WeightBits = WeightBits(1);
    /// 4-bit signed weights.
    pub const B4: WeightBits = WeightBits(4);
    /// 8-bit signed weights.
    pub const B8: WeightBits = WeightBits(8);

    /// Checked constructor.
    pub fn new(bits: u32) -> Result<Self, PrecisionError> {
        if (1..=8).contains(&bits) {
            Ok(WeightBits(bits as u8))
        } else {
            Err(PrecisionError::WeightBits(bits))
        }
    }

    /// Number of bits (= number of bit-planes in memory).
    pub fn bits(self) -> usize {
        self.0 as usize
    }

    /// True for 1-bit ±1 weights.
    pub fn is_binary(self) -> bool {
        self.0 == 1
    }

    /// Smallest representable weight value.
    pub fn min_value(self) -> i32 {
        if self.is_binary() {
            -1
        } else {
            -(1i32 << (self.0 - 1))
        }
    }

    /// Largest representable weight value.
    pub fn max_value(self) -> i32 {
        if self.is_binary() {
            1
        } else {
            (1i32 << (self.0 - 1)) - 1
        }
    }

    /// Whether `v` is a representable weight (binary weights are only ±1).
    pub fn contains(self, v: i32) -> bool {
        if self.is_binary() {
            v == 1 || v == -1
        } else {
            (self.min_value()..=self.max_value()).contains(&v)
        }
    }

    /// The bit pattern stored in memory for weight `v` (low `W` bits).
    /// Binary: +1 → 1, −1 → 0. Signed: two's complement.
    pub fn encode(self, v: i32) -> u8 {
        debug_assert!(self.contains(v), "weight {v} not representable in {} bits", self.0);
        if self.is_binary() {
            (v > 0) as u8
        } else {
            (v as u8) & ((1u16 << self.0) - 1) as u8
        }
    }

    /// Inverse of [`WeightBits::encode`].
    pub fn decode(self, bits: u8) -> i32 {
        if self.is_binary() {
            if bits & 1 == 1 {
                1
            } else {
                -1
            }
        } else {
            let shift = 8 - self.0;
            ((bits << shift) as i8 >> shift) as i32
        }
    }

    /// Factor of weight plane `q` in two's complement: `2^q`, except the top
    /// plane of a signed weight, which is worth `−2^(W−1)`. For binary weights
    /// this is 1 and the ±1 mapping is applied separately
    /// (`Σ a·w = 2·Σ a·k − Σ a` with `k` the stored bit).
    pub fn plane_weight(self, q: usize) -> i32 {
        assert!(q < self.bits());
        if !self.is_binary() && q == self.bits() - 1 {
            -(1i32 << q)
        } else {
            1i32 << q
        }
    }
}

impl fmt::Display for WeightBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        assert!(ActBits::new(0).is_err());
        assert!(ActBits::new(9).is_err());
        assert_eq!(ActBits::new(2).unwrap().max_code(), 3);
        assert_eq!(ActBits::new(8).unwrap().num_thresholds(), 255);
        assert!(WeightBits::new(0).is_err());
        assert!(WeightBits::new(9).is_err());
    }

    #[test]
    fn weight_encoding_round_trips_every_value_of_every_width() {
        for bits in 1..=8 {
            let w = WeightBits::new(bits).unwrap();
            for v in w.min_value()..=w.max_value() {
                if !w.contains(v) {
                    continue;
                }
                let e = w.encode(v);
                assert!(u32::from(e) < (1 << bits));
                assert_eq!(w.decode(e), v, "bits {bits} value {v}");
                // Plane weights reconstruct the value from its bits.
                if !w.is_binary() {
                    let sum: i32 = (0..w.bits()).map(|q| ((e >> q) & 1) as i32 * w.plane_weight(q)).sum();
                    assert_eq!(sum, v);
                }
            }
        }
        assert!(!WeightBits::BINARY.contains(0));
        assert_eq!(WeightBits::new(8).unwrap().min_value(), -128);
    }
}

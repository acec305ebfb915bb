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

/// Plane packing of a channel group (`pack_planes` in
/// [`crate::descriptor`]): the plane pairs `(p, q)` the array computes on
/// such a group, in the order it takes them (plane level `s = p + q`
/// descending, then `p` ascending).
///
/// A group of `c ≤ 32` channels leaves `64 − c` lanes of every word empty.
/// Plane packing fills `c` of them with the same channels one plane over:
/// lane `c + l` of activation plane word `p` holds plane `p + 1` of channel
/// `l` ([`packed_upper_code`]: the code shifted right by one), lane `c + l`
/// of weight plane word `q` holds plane `q − 1` of channel `l`'s weight for
/// `1 ≤ q ≤ W − 2` and zero for `q = 0` and the sign plane `q = W − 1`
/// ([`packed_upper_weight`]). A step `(p, q)` then computes the pair
/// `(p, q)` in lanes `0..c` and `(p + 1, q − 1)` in lanes `c..2c`, both
/// worth `2^(p+q)` and of one sign, so the array takes every other `p` of a
/// level: at each level it starts at the smallest `p`, and after a step it
/// skips one `p` unless that step's `q` was the sign plane (whose upper
/// lanes are zero: the pair below it has the opposite sign). Every pair of
/// the `A × W` grid is computed exactly once, in the lower or the upper
/// lanes; 8-bit codes × 8-bit weights take 40 steps instead of 64.
///
/// Binary weights (`W = 1`) and 1-bit codes skip nothing: every level has
/// one pair per group. The function defines the arithmetic for any words
/// (the functional model sums exactly these pairs over all 64 lanes), the
/// lane contents above are what makes it the unpacked product.
pub fn packed_plane_steps(a: ActBits, w: WeightBits) -> Vec<(usize, usize)> {
    let (na, nw) = (a.bits(), w.bits());
    let mut steps = Vec::new();
    for s in (0..na + nw - 1).rev() {
        let (lo, hi) = (s.saturating_sub(nw - 1), s.min(na - 1));
        let mut p = lo;
        while p <= hi {
            let q = s - p;
            steps.push((p, q));
            p += if q == nw - 1 { 1 } else { 2 };
        }
    }
    steps
}

/// The code a plane-packed group holds in upper lane `c + l` for channel
/// `l`'s code `code` ([`packed_plane_steps`]): its planes moved down by one.
pub fn packed_upper_code(code: u32) -> u32 {
    code >> 1
}

/// The weight a plane-packed group holds in upper lane `c + l` for channel
/// `l`'s weight `v` of `w` bits ([`packed_plane_steps`]): planes `0..W−2`
/// of `v` moved up by one, the sign plane and plane 0 clear, so
/// `2·(v mod 2^(W−2))`, a non-negative weight of `w` bits. Binary weights
/// are not packed.
pub fn packed_upper_weight(w: WeightBits, v: i32) -> i32 {
    assert!(!w.is_binary(), "binary weights are not plane-packed");
    let low = i32::from(w.encode(v)) & ((1 << (w.bits() - 2)) - 1);
    2 * low
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

    /// The packed steps cover every plane pair of the grid exactly once,
    /// lower lanes or upper, and a packed group's sum over them is the
    /// plain product, for every width and every code and weight pair.
    #[test]
    fn packed_plane_steps_compute_the_unpacked_product() {
        for ab in 1..=8 {
            for wb in 2..=8 {
                let (a, w) = (ActBits::new(ab).unwrap(), WeightBits::new(wb).unwrap());
                let steps = packed_plane_steps(a, w);
                let mut seen = vec![0; (ab * wb) as usize];
                for &(p, q) in &steps {
                    seen[p * wb as usize + q] += 1;
                    if q != wb as usize - 1 && q >= 1 && p + 1 < ab as usize {
                        seen[(p + 1) * wb as usize + q - 1] += 1;
                    }
                }
                assert!(seen.iter().all(|&n| n == 1), "A{ab} W{wb}: {seen:?}");
                for code in 0..=a.max_code() {
                    for v in w.min_value()..=w.max_value() {
                        let (ce, we) = (code, u32::from(w.encode(v)));
                        let (cu, wu) = (packed_upper_code(code), u32::from(w.encode(packed_upper_weight(w, v))));
                        let bit = |x: u32, i: usize| i64::from((x >> i) & 1);
                        let sum: i64 = steps
                            .iter()
                            .map(|&(p, q)| {
                                ((bit(ce, p) * bit(we, q) + bit(cu, p) * bit(wu, q)) * i64::from(w.plane_weight(q)))
                                    << p
                            })
                            .sum();
                        assert_eq!(sum, i64::from(code) * i64::from(v), "A{ab} W{wb} {code}·{v}");
                    }
                }
            }
        }
        let eight = packed_plane_steps(ActBits::B8, WeightBits::B8);
        assert_eq!(eight.len(), 40);
        assert_eq!(packed_plane_steps(ActBits::B2, WeightBits::BINARY).len(), 2);
    }
}

//! The layer descriptor: one convolution for the command processor, 16
//! little-endian 32-bit words (64 bytes) in the command list.
//!
//! Semantics (what the functional model and the hardware compute):
//!
//! - The input tensor is `in_h × in_w × in_c_total` of `a_in`-bit codes at
//!   `in_addr` ([`crate::layout::ActLayout`]); the convolution reads its
//!   channels `in_ch_off .. in_ch_off + cin` (`in_ch_off` a multiple of 64, so
//!   it reads whole channel groups; channels of the last group at or beyond
//!   `cin` are masked to zero). A layer can so read the first part of a
//!   concatenation it also feeds. The weights are `cout × kh × kw × cin` of
//!   `w_bits` bits at `w_addr` ([`crate::layout::WeightLayout`]).
//! - The input is upsampled by nearest neighbour by `upsample`; output pixel
//!   (oy, ox), for `oy < out_h`, `ox < out_w`, reads upsampled row
//!   `u = oy·stride + ky − pad_top` (and likewise for columns with
//!   `pad_left`); rows outside `0..in_h·upsample` read zero codes. So padding
//!   is `pad_top` above, and whatever `out_h` implies below.
//! - Each output channel accumulates `Σ code · weight` exactly.
//! - `mode` 0 (threshold): channel `co`'s accumulator becomes an `a_out`-bit
//!   code through its record at `thr_addr` ([`crate::layout::ThresholdLayout`]);
//!   the destination is an activation tensor `dst_h × dst_w × dst_c` of
//!   `a_out` bits at `out_addr`. `mode` 1 (raw): the accumulator is written as
//!   an `i32` into a raw tensor `dst_h × dst_w × dst_c` at `out_addr`;
//!   `thr_addr` and `a_out` must be 0.
//! - Output (oy, ox, co) lands at destination pixel
//!   (`oy·out_stride + out_off_y`, `ox·out_stride + out_off_x`), channel
//!   `ch_off + co`. Only those words are written: several descriptors build
//!   one tensor (concatenation by `ch_off`, transposed convolution as
//!   `out_stride`-phase convolutions).
//! - Copies (threshold mode): with `copies_log2 = k`, channel `co`'s code is
//!   also written at channels `ch_off + m·cout + co` for `m < 2^k` — the
//!   input of a later conv that reads the same channels through different
//!   taps (an upsampled conv as phases over copies, compiler `lower`). The
//!   copies cost no array rows or threshold records: `cout << k` must fit one
//!   pass of the array's rows (`Capabilities::rows`).
//! - Packed taps (`pack_taps = 1`): a 2 × 2 kernel over `cin ≤ 16` channels
//!   reads tap `(ky, kx)`'s channels into lanes `16·(2·ky + kx) + c` of one
//!   channel group, so the array takes one step per bit pair where it would
//!   take four (one per tap) on a group that is three quarters empty — the
//!   upsampled flows, 4 sign-split channels in 4 copies. The weights are
//!   laid out as a `cout × 1 × 1 × 64` kernel ([`PACK_LANES`]-lane segments,
//!   lane `16·(2·ky + kx) + c` holding weight `(co, ky, kx, c)`); the sum is
//!   the unpacked convolution's, term for term. The buffer checks
//!   (`BufferTooSmall`) count the taps as if unpacked.
//! - Packed planes (`pack_planes = 1`, a 1 × 1 kernel without packed taps):
//!   the array computes the last channel group only on the plane pairs of
//!   [`crate::precision::packed_plane_steps`], each over all 64 lanes, and
//!   leaves the other pairs of that group out. The host uses it for a layer
//!   whose last group has `c ≤ 32` channels: it appends `c` channels, the
//!   same channels' codes shifted down one plane
//!   ([`crate::precision::packed_upper_code`]) with weights
//!   [`crate::precision::packed_upper_weight`], so `cin` counts those lanes
//!   too (`64·(G − 1) + 2c`) and the sum is the unpacked layer's, term for
//!   term, in 40 steps per group where 8-bit codes × 8-bit weights take 64
//!   — the first layer, whose receptive fields the host packs into 216
//!   channels (24 in the last group).

use std::fmt;

use crate::precision::{packed_plane_steps, ActBits, WeightBits};

/// Words per descriptor.
pub const DESCRIPTOR_WORDS: usize = 16;
/// Bytes per descriptor.
pub const DESCRIPTOR_BYTES: usize = DESCRIPTOR_WORDS * 4;
/// Opcode of a convolution descriptor.
pub const OP_CONV: u32 = 0x01;
/// `mode` value: threshold output.
pub const MODE_THRESHOLD: u32 = 0;
/// `mode` value: raw `i32` output.
pub const MODE_RAW: u32 = 1;
/// Alignment of every tensor address and of the command list.
pub const ADDRESS_ALIGN: u32 = 64;
/// Lanes of one tap's segment in a packed-taps descriptor (`pack_taps`):
/// a channel group's 64 lanes hold a 2 × 2 kernel's four taps.
pub const PACK_LANES: usize = 16;

/// One bit field of the descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Field name (the [`Descriptor`] member).
    pub name: &'static str,
    /// Word index, 0..16.
    pub word: usize,
    /// Lowest bit within the word.
    pub lsb: u32,
    /// Width in bits.
    pub width: u32,
    /// Meaning.
    pub doc: &'static str,
}

impl Field {
    /// Largest value the field holds.
    pub fn max(&self) -> u32 {
        if self.width == 32 {
            u32::MAX
        } else {
            (1 << self.width) - 1
        }
    }

    /// Mask of the field's bits within its word.
    pub fn mask(&self) -> u32 {
        self.max() << self.lsb
    }
}

/// A value that does not fit its descriptor field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOverflow {
    /// Field name.
    pub field: &'static str,
    /// The value.
    pub value: u32,
    /// The largest value it holds.
    pub max: u32,
}

impl fmt::Display for FieldOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "descriptor field `{}` = {} does not fit (max {})", self.field, self.value, self.max)
    }
}

impl std::error::Error for FieldOverflow {}

macro_rules! descriptor {
    ($( $name:ident : $word:expr, $lsb:expr, $width:expr, $doc:expr; )*) => {
        /// One layer descriptor, field by field (raw values; meaning in the
        /// module docs and [`crate::validate`](mod@crate::validate)).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub struct Descriptor {
            $( #[doc = $doc] pub $name: u32, )*
        }

        /// Every field, in word order (the generated docs list this).
        pub const FIELDS: &[Field] = &[
            $( Field { name: stringify!($name), word: $word, lsb: $lsb, width: $width, doc: $doc }, )*
        ];

        impl Descriptor {
            /// Packs the fields into words; fails if a value does not fit.
            pub fn encode(&self) -> Result<[u32; DESCRIPTOR_WORDS], FieldOverflow> {
                let mut w = [0u32; DESCRIPTOR_WORDS];
                let mut i = 0;
                $(
                    let f = &FIELDS[i];
                    if self.$name > f.max() {
                        return Err(FieldOverflow { field: f.name, value: self.$name, max: f.max() });
                    }
                    w[f.word] |= self.$name << f.lsb;
                    i += 1;
                )*
                let _ = i;
                Ok(w)
            }

            /// Unpacks words. Bits that belong to no field are returned as
            /// the second value (non-zero means an invalid descriptor).
            pub fn decode(w: &[u32; DESCRIPTOR_WORDS]) -> (Descriptor, [u32; DESCRIPTOR_WORDS]) {
                let mut d = Descriptor::default();
                let mut rest = *w;
                let mut i = 0;
                $(
                    let f = &FIELDS[i];
                    d.$name = (w[f.word] & f.mask()) >> f.lsb;
                    rest[f.word] &= !f.mask();
                    i += 1;
                )*
                let _ = i;
                (d, rest)
            }
        }
    };
}

descriptor! {
    opcode: 0, 0, 8, "Operation: 0x01 convolution.";
    mode: 0, 8, 1, "0: threshold output (codes); 1: raw i32 output.";
    a_in: 0, 12, 4, "Input activation bits, 1..8.";
    w_bits: 0, 16, 4, "Weight bits: 1 binary (+1/-1), 2..8 two's complement.";
    a_out: 0, 20, 4, "Output activation bits, 1..8 (threshold mode; 0 in raw mode).";
    in_addr: 1, 0, 32, "Bus address of the input tensor.";
    w_addr: 2, 0, 32, "Bus address of the weights.";
    thr_addr: 3, 0, 32, "Bus address of the threshold table (0 in raw mode).";
    out_addr: 4, 0, 32, "Bus address of the destination tensor.";
    in_h: 5, 0, 16, "Input rows.";
    in_w: 5, 16, 16, "Input columns.";
    cin: 6, 0, 16, "Input channels.";
    cout: 6, 16, 16, "Output channels.";
    out_h: 7, 0, 16, "Output rows computed.";
    out_w: 7, 16, 16, "Output columns computed.";
    kh: 8, 0, 4, "Kernel rows, 1..7.";
    kw: 8, 4, 4, "Kernel columns, 1..7.";
    stride: 8, 8, 4, "Convolution stride, 1..2.";
    upsample: 8, 12, 4, "Nearest-neighbour input upsampling, 1..2.";
    pad_top: 8, 16, 4, "Zero rows above the (upsampled) input, < kh.";
    pad_left: 8, 20, 4, "Zero columns left of the (upsampled) input, < kw.";
    dst_h: 9, 0, 16, "Destination tensor rows.";
    dst_w: 9, 16, 16, "Destination tensor columns.";
    dst_c: 10, 0, 16, "Destination tensor channels.";
    ch_off: 10, 16, 16, "First destination channel written (a multiple of 64 in threshold mode).";
    out_stride: 11, 0, 4, "Destination pixel stride, 1..2.";
    out_off_y: 11, 4, 4, "Destination row offset, < out_stride.";
    out_off_x: 11, 8, 4, "Destination column offset, < out_stride.";
    copies_log2: 11, 12, 2, "Threshold mode: the codes are written 2^copies_log2 times, channel ch_off + m*cout + co for every m; cout << copies_log2 <= the array's rows. 0 in raw mode.";
    pack_taps: 11, 14, 1, "1: a 2x2 kernel over at most 16 channels reads its four taps as the four 16-lane segments of one channel group (tap (ky, kx) in lanes 16*(2*ky + kx) ..); its weights are laid out as a 1x1 kernel of 64 channels. kh = kw = 2 and cin <= 16.";
    pack_planes: 11, 15, 1, "1: the last channel group of a 1x1 kernel is computed on the packed plane pairs only (isa::precision::packed_plane_steps): lanes c.. hold lanes 0..c one plane over. kh = kw = 1.";
    in_c_total: 12, 0, 16, "Channels of the input tensor in memory (>= in_ch_off + cin).";
    in_ch_off: 12, 16, 16, "First input channel read (a multiple of 64).";
}

impl Descriptor {
    /// Output channels written per pixel: `cout` times the copies
    /// (`cout << copies_log2`).
    pub fn written_channels(&self) -> u32 {
        self.cout << self.copies_log2.min(31)
    }

    /// Whether a `kh × kw` kernel over `cin` channels may pack its taps
    /// (`pack_taps`): 2 × 2 and at most [`PACK_LANES`] channels.
    pub fn can_pack_taps(kh: u32, kw: u32, cin: u32) -> bool {
        kh == 2 && kw == 2 && cin <= PACK_LANES as u32
    }

    /// `(ky, kx)` steps the array takes per channel group and bit pair:
    /// `kh·kw`, or 1 with packed taps (`pack_taps`).
    pub fn array_taps(&self) -> u32 {
        if self.pack_taps != 0 {
            1
        } else {
            self.kh * self.kw
        }
    }

    /// Array steps per tile and pass: `array_taps × ⌈cin/64⌉ × A × W`, less
    /// the plane pairs a packed last group skips (`pack_planes`).
    pub fn array_steps(&self) -> u32 {
        let (a, w) = (self.a_in, self.w_bits);
        let groups = self.cin.div_ceil(64);
        let full = self.array_taps() * groups * a * w;
        match (ActBits::new(a), WeightBits::new(w)) {
            (Ok(ab), Ok(wb)) if self.pack_planes != 0 && groups > 0 => {
                full - (a * w - packed_plane_steps(ab, wb).len() as u32)
            }
            _ => full,
        }
    }

    /// Input channels of the layer a packed-planes descriptor computes, by
    /// the host's convention (module docs): `cin` less the last group's
    /// repeated half; `cin` itself without packed planes.
    pub fn unpacked_cin(&self) -> u32 {
        if self.pack_planes == 0 {
            return self.cin;
        }
        let tail = match self.cin % 64 {
            0 if self.cin > 0 => 64,
            t => t,
        };
        self.cin - tail / 2
    }

    /// Whether a layer of a `kh × kw` kernel over `cin` channels of `a`-bit
    /// codes and `w`-bit weights gains from packed planes (`pack_planes`):
    /// a 1 × 1 kernel whose last group has at most 32 channels, weights of
    /// 2 bits or more and fewer steps than unpacked.
    pub fn can_pack_planes(kh: u32, kw: u32, cin: u32, a: ActBits, w: WeightBits) -> bool {
        let tail = cin % 64;
        kh == 1
            && kw == 1
            && (1..=32).contains(&tail)
            && !w.is_binary()
            && packed_plane_steps(a, w).len() < a.bits() * w.bits()
    }

    /// Encodes into 64 little-endian bytes.
    pub fn to_bytes(&self) -> Result<[u8; DESCRIPTOR_BYTES], FieldOverflow> {
        let w = self.encode()?;
        let mut b = [0u8; DESCRIPTOR_BYTES];
        for (i, word) in w.iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        Ok(b)
    }

    /// Reads 16 words from 64 little-endian bytes.
    pub fn words_from_bytes(b: &[u8; DESCRIPTOR_BYTES]) -> [u32; DESCRIPTOR_WORDS] {
        let mut w = [0u32; DESCRIPTOR_WORDS];
        for (i, word) in w.iter_mut().enumerate() {
            *word = u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_overlap_and_fit_their_words() {
        let mut used = [0u32; DESCRIPTOR_WORDS];
        for f in FIELDS {
            assert!(f.lsb + f.width <= 32, "{}", f.name);
            assert_eq!(used[f.word] & f.mask(), 0, "{} overlaps", f.name);
            used[f.word] |= f.mask();
        }
    }

    #[test]
    fn encode_decode_round_trip_and_reserved_bits_are_reported() {
        let d = Descriptor {
            opcode: OP_CONV,
            a_in: 2,
            w_bits: 1,
            a_out: 2,
            in_addr: 0x1000_0040,
            w_addr: 0xffff_ffc0,
            in_h: 65535,
            cin: 1056,
            kh: 7,
            pad_left: 6,
            out_off_x: 1,
            copies_log2: 3,
            in_c_total: 1056,
            ..Default::default()
        };
        let w = d.encode().unwrap();
        assert_eq!(Descriptor::decode(&w), (d, [0; DESCRIPTOR_WORDS]));
        let bytes = d.to_bytes().unwrap();
        assert_eq!(Descriptor::words_from_bytes(&bytes), w);
        let mut w2 = w;
        w2[15] = 1;
        w2[8] |= 1 << 31;
        let (d2, rest) = Descriptor::decode(&w2);
        assert_eq!(d2, d);
        assert_eq!(rest[15], 1);
        assert_eq!(rest[8], 1 << 31);
        let bad = Descriptor { kh: 16, ..d };
        assert_eq!(bad.encode(), Err(FieldOverflow { field: "kh", value: 16, max: 15 }));
    }

    /// Fuzz target: any 64 bytes decode without a panic, into fields that
    /// encode back to the same bytes but for the reserved bits, which
    /// `decode` returns; the fields then round-trip exactly.
    #[test]
    fn fuzz_descriptor_bytes_decode_and_encode_back() {
        use proptest::prelude::*;
        let bytes = prop::collection::vec(any::<u8>(), DESCRIPTOR_BYTES)
            .prop_map(|v| <[u8; DESCRIPTOR_BYTES]>::try_from(v).unwrap());
        crate::fuzz::fuzz("descriptor_bytes", bytes, |b| {
            let w = Descriptor::words_from_bytes(&b);
            let (d, rest) = Descriptor::decode(&w);
            let back =
                d.encode().map_err(|e| TestCaseError::fail(format!("a decoded descriptor does not encode: {e}")))?;
            for i in 0..DESCRIPTOR_WORDS {
                prop_assert_eq!(back[i] & rest[i], 0, "word {}: a bit is both field and reserved", i);
                prop_assert_eq!(back[i] | rest[i], w[i], "word {}: a bit was lost", i);
            }
            prop_assert_eq!(Descriptor::decode(&back), (d, [0; DESCRIPTOR_WORDS]));
            let again = d.to_bytes().unwrap();
            prop_assert_eq!(Descriptor::words_from_bytes(&again), back);
            if rest == [0; DESCRIPTOR_WORDS] {
                prop_assert_eq!(again, b);
            }
            Ok(())
        });
    }

    /// Fuzz target: a field set past its width does not encode, and the
    /// error names that field; within its width it round-trips.
    #[test]
    fn fuzz_descriptor_fields_fit_or_are_refused() {
        use proptest::prelude::*;
        let case = (prop::array::uniform16(any::<u32>()), 0..FIELDS.len(), any::<u32>());
        crate::fuzz::fuzz("descriptor_fields", case, |(w, i, v)| {
            let f = &FIELDS[i];
            let (d, _) = Descriptor::decode(&w);
            // Set field i through the words when it fits, else through the struct.
            let mut words = d.encode().unwrap();
            words[f.word] = (words[f.word] & !f.mask()) | ((v & f.max()) << f.lsb);
            let (fits, _) = Descriptor::decode(&words);
            prop_assert_eq!(Descriptor::decode(&fits.encode().unwrap()).0, fits);
            if v > f.max() {
                let mut over = fits;
                set(&mut over, f.name, v);
                prop_assert_eq!(over.encode(), Err(FieldOverflow { field: f.name, value: v, max: f.max() }));
            }
            Ok(())
        });
    }

    /// Sets field `name` of `d` (FIELDS order and struct fields agree: the
    /// macro makes both).
    fn set(d: &mut Descriptor, name: &str, v: u32) {
        let fields: [&mut u32; 33] = [
            &mut d.opcode,
            &mut d.mode,
            &mut d.a_in,
            &mut d.w_bits,
            &mut d.a_out,
            &mut d.in_addr,
            &mut d.w_addr,
            &mut d.thr_addr,
            &mut d.out_addr,
            &mut d.in_h,
            &mut d.in_w,
            &mut d.cin,
            &mut d.cout,
            &mut d.out_h,
            &mut d.out_w,
            &mut d.kh,
            &mut d.kw,
            &mut d.stride,
            &mut d.upsample,
            &mut d.pad_top,
            &mut d.pad_left,
            &mut d.dst_h,
            &mut d.dst_w,
            &mut d.dst_c,
            &mut d.ch_off,
            &mut d.out_stride,
            &mut d.out_off_y,
            &mut d.out_off_x,
            &mut d.copies_log2,
            &mut d.pack_taps,
            &mut d.pack_planes,
            &mut d.in_c_total,
            &mut d.in_ch_off,
        ];
        assert_eq!(FIELDS.len(), fields.len(), "every field is listed");
        let i = FIELDS.iter().position(|f| f.name == name).unwrap();
        *fields.into_iter().nth(i).unwrap() = v;
    }

    #[test]
    fn set_writes_the_field_it_names() {
        for f in FIELDS {
            let mut d = Descriptor::default();
            set(&mut d, f.name, 1);
            let mut want = [0; DESCRIPTOR_WORDS];
            want[f.word] = 1 << f.lsb;
            assert_eq!(d.encode().unwrap(), want, "{}", f.name);
        }
    }
}

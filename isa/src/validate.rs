//! Validation of descriptors against the capabilities and the DMA window:
//! the rules the hardware enforces before it touches memory, and the driver
//! enforces before it submits. An invalid descriptor stops the command list
//! with an [`ErrorCode`] and nothing is written for it.

use crate::config::Capabilities;
use crate::descriptor::{
    Descriptor, ADDRESS_ALIGN, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS, MODE_RAW, MODE_THRESHOLD, OP_CONV,
};
use crate::layout::{ActLayout, RawLayout, ThresholdLayout, WeightLayout, CHANNELS_PER_WORD};
use crate::precision::{ActBits, WeightBits};
use std::fmt;
use std::ops::Range;

macro_rules! error_codes {
    ($( $variant:ident = $code:expr, $doc:expr; )*) => {
        /// Why a run stopped (the `ERROR_CODE` register).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( #[doc = $doc] $variant = $code, )*
        }

        impl ErrorCode {
            /// Every code, in order (the generated docs list this).
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// Register value.
            pub fn code(self) -> u32 {
                self as u32
            }

            /// Decodes a register value.
            pub fn from_code(c: u32) -> Option<ErrorCode> {
                match c {
                    $( $code => Some(ErrorCode::$variant), )*
                    _ => None,
                }
            }

            /// Meaning.
            pub fn doc(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $doc, )*
                }
            }

            /// Name.
            pub fn name(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => stringify!($variant), )*
                }
            }
        }
    };
}

error_codes! {
    BadOpcode = 1, "Unknown opcode, or a mode other than threshold/raw.";
    ReservedBits = 2, "A bit outside every field is set, or a field that must be 0 in this mode is not.";
    BadBits = 3, "An activation or weight width the accelerator does not support.";
    BadKernel = 4, "Kernel side 0 or larger than CAP_BITS allows, or packed taps (pack_taps) on a kernel other than 2x2 or over more than 16 channels, or packed planes (pack_planes) on a kernel other than 1x1 (which packed taps never are).";
    BadStride = 5, "Stride 0 or larger than CAP_BITS allows.";
    BadUpsample = 6, "Upsampling factor 0 or larger than CAP_BITS allows.";
    BadPadding = 7, "pad_top >= kh or pad_left >= kw.";
    BadShape = 8, "A dimension is 0, a width or channel count exceeds CAP_LIMITS, or the input channel slice (in_ch_off, cin) is misaligned or exceeds in_c_total.";
    BadPlacement = 9, "The output does not fit the destination (stride, offsets, rows, columns or channels, copies included), a threshold-mode channel offset is not a multiple of 64, or the copies do not fit the array's rows.";
    Overflow = 10, "The worst-case accumulator (kh*kw*cin*max code*max |weight|) does not fit the accumulator width.";
    Misaligned = 11, "A tensor or command-list address is not 64-byte aligned.";
    OutOfWindow = 12, "A tensor or the command list does not lie entirely inside WIN_BASE..WIN_BASE+WIN_SIZE.";
    Overlap = 13, "The destination tensor overlaps the input, weights or thresholds.";
    BadCount = 14, "CMD_COUNT is 0.";
    BusError = 15, "A read or write got an AXI error response. The functional model writes nothing for the descriptor; the hardware may have written part of its destination (later passes read after earlier ones wrote).";
    BadThresholds = 16, "A threshold record's mode word is not a valid mode (nothing is written for the descriptor).";
    BufferTooSmall = 17, "One output channel's weights (kh*kw*ceil(cin/64)*w_bits words) exceed a weight buffer row, or one output pixel's receptive field (kh*kw*ceil(cin/64)*a_in words) exceeds half an activation buffer column (CAP_BUFFERS).";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code(), self.doc())
    }
}

impl std::error::Error for ErrorCode {}

/// A descriptor that passed validation, with typed fields and the byte
/// ranges of the memory it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedDescriptor {
    /// The raw fields.
    pub desc: Descriptor,
    /// Layout of the whole input tensor (`in_c_total` channels).
    pub input: ActLayout,
    /// Weight layout.
    pub weights: WeightLayout,
    /// Threshold table layout (threshold mode).
    pub thresholds: Option<ThresholdLayout>,
    /// Destination: codes (threshold mode) ...
    pub dst_act: Option<ActLayout>,
    /// ... or raw accumulators (raw mode).
    pub dst_raw: Option<RawLayout>,
    /// Bus address ranges read: input, weights, thresholds (empty in raw mode).
    pub reads: [Range<u64>; 3],
    /// Bus address range of the destination tensor.
    pub write: Range<u64>,
}

impl CheckedDescriptor {
    /// Multiply-accumulates this descriptor performs (the PERF_MACS unit),
    /// saturating at `u64::MAX`: only a layer in a window far beyond the
    /// 32-bit bus can reach it, but `validate` takes any window.
    pub fn macs(&self) -> u64 {
        let d = &self.desc;
        [d.out_h, d.out_w, d.cout, d.kh, d.kw, d.cin].iter().fold(1u64, |m, &v| m.saturating_mul(u64::from(v)))
    }
}

fn range(addr: u32, bytes: u64) -> Range<u64> {
    u64::from(addr)..u64::from(addr) + bytes
}

/// Bytes of an activation tensor, in u64 so that no descriptor can overflow
/// the computation on a 32-bit host.
fn act_bytes(h: u32, w: u32, c: u32, bits: u32) -> u64 {
    u64::from(h) * u64::from(w) * u64::from(c.div_ceil(CHANNELS_PER_WORD as u32)) * u64::from(bits) * 8
}

fn inside(r: &Range<u64>, window: &Range<u64>) -> bool {
    r.start >= window.start && r.end <= window.end
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Checks the command list itself: count and placement.
pub fn validate_list(base: u32, count: u32, window: &Range<u64>) -> Result<(), ErrorCode> {
    if count == 0 {
        return Err(ErrorCode::BadCount);
    }
    if !base.is_multiple_of(ADDRESS_ALIGN) {
        return Err(ErrorCode::Misaligned);
    }
    let list = u64::from(base)..u64::from(base) + u64::from(count) * DESCRIPTOR_BYTES as u64;
    if !inside(&list, window) {
        return Err(ErrorCode::OutOfWindow);
    }
    Ok(())
}

/// Validates a descriptor from its 16 words, in a fixed order (so each bad
/// field gives one specific code): opcode, reserved bits, bit widths, kernel,
/// stride, upsampling, padding, shapes, placement, overflow, alignment,
/// window, overlap.
pub fn validate_words(
    words: &[u32; DESCRIPTOR_WORDS],
    caps: &Capabilities,
    window: &Range<u64>,
) -> Result<CheckedDescriptor, ErrorCode> {
    let (d, rest) = Descriptor::decode(words);
    if d.opcode != OP_CONV || (d.mode != MODE_THRESHOLD && d.mode != MODE_RAW) {
        return Err(ErrorCode::BadOpcode);
    }
    if rest.iter().any(|&w| w != 0) {
        return Err(ErrorCode::ReservedBits);
    }
    validate(&d, caps, window)
}

/// Validates a decoded descriptor (see [`validate_words`] for the order).
pub fn validate(d: &Descriptor, caps: &Capabilities, window: &Range<u64>) -> Result<CheckedDescriptor, ErrorCode> {
    use ErrorCode::*;
    if d.opcode != OP_CONV || d.mode > MODE_RAW {
        return Err(BadOpcode);
    }
    let raw = d.mode == MODE_RAW;
    if raw && (d.a_out != 0 || d.thr_addr != 0 || d.copies_log2 != 0) {
        return Err(ReservedBits);
    }
    if !caps.supports_act_bits(d.a_in)
        || !caps.supports_weight_bits(d.w_bits)
        || (!raw && !caps.supports_act_bits(d.a_out))
    {
        return Err(BadBits);
    }
    let k_ok = |k: u32| (1..=u32::from(caps.max_kernel)).contains(&k);
    if !k_ok(d.kh)
        || !k_ok(d.kw)
        || (d.pack_taps != 0 && !Descriptor::can_pack_taps(d.kh, d.kw, d.cin))
        || (d.pack_planes != 0 && (d.kh != 1 || d.kw != 1))
    {
        return Err(BadKernel);
    }
    if !(1..=u32::from(caps.max_stride)).contains(&d.stride) {
        return Err(BadStride);
    }
    if !(1..=u32::from(caps.max_upsample)).contains(&d.upsample) {
        return Err(BadUpsample);
    }
    if d.pad_top >= d.kh || d.pad_left >= d.kw {
        return Err(BadPadding);
    }
    let dims = [d.in_h, d.in_w, d.cin, d.cout, d.out_h, d.out_w, d.dst_h, d.dst_w, d.dst_c, d.in_c_total];
    let max_w = u32::from(caps.max_width);
    let max_c = u32::from(caps.max_channels);
    if dims.contains(&0)
        || d.in_w > max_w
        || d.out_w > max_w
        || d.dst_w > max_w
        || d.in_c_total > max_c
        || d.dst_c > max_c
        || !d.in_ch_off.is_multiple_of(CHANNELS_PER_WORD as u32)
        || d.in_ch_off + d.cin > d.in_c_total
    {
        return Err(BadShape);
    }
    if !(1..=2).contains(&d.out_stride)
        || d.out_off_y >= d.out_stride
        || d.out_off_x >= d.out_stride
        || (d.out_h - 1) * d.out_stride + d.out_off_y >= d.dst_h
        || (d.out_w - 1) * d.out_stride + d.out_off_x >= d.dst_w
        || d.ch_off + d.written_channels() > d.dst_c
        || (d.copies_log2 != 0 && d.written_channels() > u32::from(caps.rows))
        || (!raw && !d.ch_off.is_multiple_of(CHANNELS_PER_WORD as u32))
    {
        return Err(BadPlacement);
    }
    let a_in = ActBits::new(d.a_in).expect("checked");
    let wb = WeightBits::new(d.w_bits).expect("checked");
    let max_w_abs = u64::from(wb.min_value().unsigned_abs().max(wb.max_value().unsigned_abs()));
    let worst = u64::from(d.kh * d.kw) * u64::from(d.cin) * u64::from(a_in.max_code()) * max_w_abs;
    if caps.acc_bits == 0 || caps.acc_bits > 32 || worst >= 1u64 << (caps.acc_bits - 1).min(63) {
        return Err(Overflow);
    }
    let field_words = u64::from(d.kh * d.kw) * u64::from(d.cin.div_ceil(CHANNELS_PER_WORD as u32));
    if field_words * u64::from(d.w_bits) > caps.weight_words_per_row()
        || field_words * u64::from(d.a_in) > caps.act_words_per_column()
    {
        return Err(BufferTooSmall);
    }
    let addrs =
        if raw { vec![d.in_addr, d.w_addr, d.out_addr] } else { vec![d.in_addr, d.w_addr, d.thr_addr, d.out_addr] };
    if addrs.iter().any(|a| a % ADDRESS_ALIGN != 0) {
        return Err(Misaligned);
    }
    let (h, w, c) = (d.in_h as usize, d.in_w as usize, d.cin as usize);
    let input = ActLayout::new(h, w, d.in_c_total as usize, a_in).expect("non-zero");
    let weights = WeightLayout::new(d.cout as usize, d.kh as usize, d.kw as usize, c, wb).expect("non-zero");
    let (thresholds, dst_act, dst_raw, out_bytes) = if raw {
        let l = RawLayout { height: d.dst_h as usize, width: d.dst_w as usize, channels: d.dst_c as usize };
        (None, None, Some(l), u64::from(d.dst_h) * u64::from(d.dst_w) * u64::from(d.dst_c) * 4)
    } else {
        let a_out = ActBits::new(d.a_out).expect("checked");
        let t = ThresholdLayout { cout: d.cout as usize, out_bits: a_out };
        let l = ActLayout::new(d.dst_h as usize, d.dst_w as usize, d.dst_c as usize, a_out).expect("non-zero");
        (Some(t), Some(l), None, act_bytes(d.dst_h, d.dst_w, d.dst_c, d.a_out))
    };
    let reads = [
        range(d.in_addr, act_bytes(d.in_h, d.in_w, d.in_c_total, d.a_in)),
        range(d.w_addr, u64::from(d.cout) * u64::from(d.array_taps()) * act_bytes(1, 1, d.cin, d.w_bits)),
        thresholds.map_or(0..0, |_| range(d.thr_addr, u64::from(d.cout) * (1u64 << d.a_out) * 4)),
    ];
    let write = range(d.out_addr, out_bytes);
    if !inside(&write, window) || reads.iter().any(|r| !r.is_empty() && !inside(r, window)) {
        return Err(OutOfWindow);
    }
    if reads.iter().any(|r| overlaps(r, &write)) {
        return Err(Overlap);
    }
    Ok(CheckedDescriptor { desc: *d, input, weights, thresholds, dst_act, dst_raw, reads, write })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ArrayConfig;

    /// A valid 3×3 threshold-mode descriptor in a 1 MiB window at 0x1000_0000.
    pub(crate) fn good() -> Descriptor {
        Descriptor {
            opcode: OP_CONV,
            mode: MODE_THRESHOLD,
            a_in: 2,
            w_bits: 1,
            a_out: 2,
            in_addr: 0x1000_0000,
            w_addr: 0x1001_0000,
            thr_addr: 0x1002_0000,
            out_addr: 0x1003_0000,
            in_h: 8,
            in_w: 8,
            cin: 64,
            cout: 64,
            out_h: 8,
            out_w: 8,
            kh: 3,
            kw: 3,
            stride: 1,
            upsample: 1,
            pad_top: 1,
            pad_left: 1,
            dst_h: 8,
            dst_w: 8,
            dst_c: 128,
            ch_off: 64,
            out_stride: 1,
            out_off_y: 0,
            out_off_x: 0,
            copies_log2: 0,
            pack_taps: 0,
            pack_planes: 0,
            in_c_total: 64,
            in_ch_off: 0,
        }
    }

    const WIN: Range<u64> = 0x1000_0000..0x1010_0000;

    fn check(d: Descriptor) -> Result<CheckedDescriptor, ErrorCode> {
        validate(&d, &ArrayConfig::small().capabilities(), &WIN)
    }

    #[test]
    fn a_good_descriptor_passes_with_its_ranges() {
        let c = check(good()).unwrap();
        assert_eq!(c.reads[0], 0x1000_0000..0x1000_0000 + 8 * 8 * 2 * 8);
        assert_eq!(c.write.end - c.write.start, 8 * 8 * 2 * 2 * 8);
        assert_eq!(c.macs(), 64 * 64 * 9 * 64);
        let raw = Descriptor { mode: MODE_RAW, a_out: 0, thr_addr: 0, ch_off: 3, ..good() };
        assert!(check(raw).unwrap().dst_raw.is_some());
        assert_eq!(check(Descriptor { copies_log2: 1, ..raw }).err(), Some(ErrorCode::ReservedBits));
        let copies = check(Descriptor { cout: 4, copies_log2: 1, ..good() }).unwrap();
        assert_eq!(copies.macs(), 4 * 64 * 9 * 64, "copies are not computed twice");
    }

    #[test]
    fn packed_taps_read_one_word_per_weight_plane_and_count_every_tap() {
        let d = Descriptor { pack_taps: 1, kh: 2, kw: 2, cin: 16, w_bits: 8, ..good() };
        let c = check(d).unwrap();
        assert_eq!(d.array_taps(), 1);
        assert_eq!(c.reads[1].end - c.reads[1].start, 64 * 8 * 8, "cout x 8 planes x 8 bytes");
        assert_eq!(c.macs(), 64 * 64 * 4 * 16, "the MACs are the 2x2 kernel's");
        let unpacked = check(Descriptor { pack_taps: 0, ..d }).unwrap();
        assert_eq!(unpacked.reads[1].end - unpacked.reads[1].start, 4 * 64 * 8 * 8);
        assert_eq!(unpacked.macs(), c.macs());
    }

    #[test]
    fn packed_planes_take_fewer_steps_on_the_last_group_only() {
        let d = Descriptor {
            pack_planes: 1,
            kh: 1,
            kw: 1,
            pad_top: 0,
            pad_left: 0,
            cin: 240,
            in_c_total: 256,
            a_in: 8,
            w_bits: 8,
            ..good()
        };
        assert_eq!(check(d).err(), None);
        assert_eq!(d.array_steps(), 3 * 64 + 40);
        assert_eq!(Descriptor { pack_planes: 0, ..d }.array_steps(), 4 * 64);
        assert_eq!(Descriptor { w_bits: 1, ..d }.array_steps(), 4 * 8, "binary weights skip nothing");
        let (a8, w8) = (crate::ActBits::B8, crate::WeightBits::B8);
        assert!(Descriptor::can_pack_planes(1, 1, 216, a8, w8));
        assert!(!Descriptor::can_pack_planes(1, 1, 240, a8, w8), "33 or more channels in the last group");
        assert!(!Descriptor::can_pack_planes(1, 1, 256, a8, w8));
        assert!(!Descriptor::can_pack_planes(3, 3, 216, a8, w8));
        assert!(!Descriptor::can_pack_planes(1, 1, 216, a8, crate::WeightBits::BINARY));
        assert!(!Descriptor::can_pack_planes(1, 1, 216, crate::ActBits::new(1).unwrap(), w8), "nothing to skip");
    }

    #[test]
    fn every_field_out_of_range_gives_its_own_code() {
        use ErrorCode::*;
        let g = good();
        let cases: Vec<(Descriptor, ErrorCode)> = vec![
            (Descriptor { opcode: 2, ..g }, BadOpcode),
            (Descriptor { mode: MODE_RAW, ..g }, ReservedBits), // raw with a_out/thr_addr set
            (Descriptor { a_in: 0, ..g }, BadBits),
            (Descriptor { a_in: 9, ..g }, BadBits),
            (Descriptor { w_bits: 0, ..g }, BadBits),
            (Descriptor { a_out: 12, ..g }, BadBits),
            (Descriptor { kh: 0, ..g }, BadKernel),
            (Descriptor { kw: 8, ..g }, BadKernel),
            (Descriptor { stride: 3, ..g }, BadStride),
            (Descriptor { stride: 0, ..g }, BadStride),
            (Descriptor { upsample: 0, ..g }, BadUpsample),
            (Descriptor { upsample: 4, ..g }, BadUpsample),
            (Descriptor { pad_top: 3, ..g }, BadPadding),
            (Descriptor { pad_left: 5, ..g }, BadPadding),
            (Descriptor { in_h: 0, ..g }, BadShape),
            (Descriptor { cin: 0, ..g }, BadShape),
            (Descriptor { cout: 0, ..g }, BadShape),
            (Descriptor { in_w: 2000, ..g }, BadShape),
            (Descriptor { in_c_total: 0, ..g }, BadShape),
            (Descriptor { in_ch_off: 32, in_c_total: 128, ..g }, BadShape),
            (Descriptor { in_ch_off: 64, in_c_total: 100, ..g }, BadShape),
            (Descriptor { dst_c: 5000, ..g }, BadShape),
            (Descriptor { out_h: 9, ..g }, BadPlacement),
            (Descriptor { out_off_x: 1, ..g }, BadPlacement),
            (Descriptor { out_stride: 3, ..g }, BadPlacement),
            (Descriptor { ch_off: 32, ..g }, BadPlacement),
            (Descriptor { ch_off: 128, ..g }, BadPlacement),
            // Copies past the array's rows (8 on `small`), or past dst_c.
            (Descriptor { copies_log2: 1, ..g }, BadPlacement),
            (Descriptor { cout: 4, copies_log2: 2, ..g }, BadPlacement),
            (Descriptor { cout: 4, copies_log2: 1, dst_c: 71, ..g }, BadPlacement),
            // Packed taps: 2×2 only, at most 16 channels.
            (Descriptor { pack_taps: 1, cin: 16, ..g }, BadKernel),
            (Descriptor { pack_taps: 1, kh: 2, kw: 1, pad_left: 0, cin: 16, ..g }, BadKernel),
            (Descriptor { pack_taps: 1, kh: 2, kw: 2, cin: 17, ..g }, BadKernel),
            // Packed planes: 1×1 only.
            (Descriptor { pack_planes: 1, ..g }, BadKernel),
            (Descriptor { pack_planes: 1, kh: 1, kw: 2, pad_top: 0, pad_left: 0, ..g }, BadKernel),
            (
                Descriptor {
                    a_in: 8,
                    w_bits: 8,
                    kh: 7,
                    kw: 7,
                    pad_top: 3,
                    pad_left: 3,
                    cin: 4000,
                    in_c_total: 4000,
                    dst_c: 4000,
                    ch_off: 0,
                    cout: 64,
                    ..g
                },
                Overflow,
            ),
            // 7×7 × 64 groups × 1 bit = 3,136 weight words > 2,048 per row.
            (
                Descriptor {
                    w_bits: 1,
                    a_in: 1,
                    kh: 7,
                    kw: 7,
                    pad_top: 3,
                    pad_left: 3,
                    cin: 4096,
                    in_c_total: 4096,
                    ..g
                },
                BufferTooSmall,
            ),
            // 5×5 × 16 groups × 8 bits = 3,200 receptive-field words > 2,048 per column half (and 400 weight words fit).
            (Descriptor { a_in: 8, w_bits: 1, kh: 5, kw: 5, cin: 1024, in_c_total: 1024, ..g }, BufferTooSmall),
            (Descriptor { in_addr: 0x1000_0008, ..g }, Misaligned),
            (Descriptor { thr_addr: 0x1002_0020, ..g }, Misaligned),
            (Descriptor { out_addr: 0x100f_ffc0, ..g }, OutOfWindow),
            (Descriptor { w_addr: 0x0fff_ff00, ..g }, OutOfWindow),
            (Descriptor { out_addr: 0x1000_0040, ..g }, Overlap),
        ];
        for (d, want) in cases {
            assert_eq!(check(d).err(), Some(want), "{d:?}");
        }
    }

    #[test]
    fn reserved_bits_and_command_lists_are_checked() {
        let caps = ArrayConfig::small().capabilities();
        let mut w = good().encode().unwrap();
        assert!(validate_words(&w, &caps, &WIN).is_ok());
        w[13] = 4;
        assert_eq!(validate_words(&w, &caps, &WIN).err(), Some(ErrorCode::ReservedBits));
        assert_eq!(validate_list(0x1000_0000, 0, &WIN), Err(ErrorCode::BadCount));
        assert_eq!(validate_list(0x1000_0010, 1, &WIN), Err(ErrorCode::Misaligned));
        assert_eq!(validate_list(0x100f_ffc0, 2, &WIN), Err(ErrorCode::OutOfWindow));
        assert_eq!(validate_list(0x100f_ffc0, 1, &WIN), Ok(()));
        for e in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(e.code()), Some(*e));
        }
        assert_eq!(ErrorCode::from_code(0), None);
    }

    #[test]
    fn the_mac_count_of_a_huge_valid_layer_does_not_overflow() {
        // Limits as large as the CAP registers can say, and a window of the
        // whole u64 range: 65535 x 65535 outputs x 4096 channels of a 7x7
        // kernel over 65472 channels is 5.6e19 MACs, more than a u64 holds.
        let caps = Capabilities::from_words([
            1 | 1 << 8 | 1 << 16 | 32 << 24,
            0xff | 0xff << 8 | 7 << 16 | 2 << 20 | 2 << 24 | 3 << 28,
            0xffff_ffff,
            0xffff_ffff,
        ]);
        let d = Descriptor {
            a_in: 1,
            w_bits: 1,
            a_out: 1,
            kh: 7,
            kw: 7,
            pad_top: 0,
            pad_left: 0,
            in_h: 1,
            in_w: 1,
            cin: 65472,
            in_c_total: 65472,
            cout: 4096,
            out_h: 65535,
            out_w: 65535,
            dst_h: 65535,
            dst_w: 65535,
            dst_c: 4096,
            ch_off: 0,
            in_addr: 0,
            w_addr: 0x1_0000,
            thr_addr: 0x8000_0000,
            out_addr: 0xc000_0000,
            ..good()
        };
        let c = validate(&d, &caps, &(0..u64::MAX)).unwrap();
        assert_eq!(c.macs(), u64::MAX, "saturates");
        assert_eq!(check(good()).unwrap().macs(), 64 * 64 * 9 * 64);
    }

    /// Descriptor words: arbitrary, or [`good`] with a few fields set to
    /// arbitrary or boundary values and maybe a reserved bit flipped (most
    /// arbitrary words fail at the opcode; these reach every later check).
    fn words() -> impl proptest::strategy::Strategy<Value = [u32; DESCRIPTOR_WORDS]> {
        use crate::descriptor::FIELDS;
        use proptest::prelude::*;
        let value = prop_oneof![0u32..4, 0u32..300, any::<u32>(), Just(u32::MAX), (0u32..8).prop_map(|k| 64 << k)];
        let changes = prop::collection::vec((0..FIELDS.len(), value), 0..6);
        let near_good =
            (changes, prop::option::weighted(0.1, (0..DESCRIPTOR_WORDS, 0u32..32))).prop_map(|(changes, flip)| {
                let mut w = good().encode().unwrap();
                for (i, v) in changes {
                    let f = &FIELDS[i];
                    w[f.word] = (w[f.word] & !f.mask()) | ((v & f.max()) << f.lsb);
                }
                if let Some((word, bit)) = flip {
                    w[word] ^= 1 << bit;
                }
                w
            });
        // Every field drawn on its own: small, large or a multiple of 64,
        // addresses 64-byte aligned (reaches huge but valid layers).
        let field =
            prop_oneof![1u32..=3, 1u32..=65535, (1u32..1024).prop_map(|k| 64 * k), any::<u32>().prop_map(|a| a & !63)];
        let fieldwise = (prop::collection::vec(field, FIELDS.len()), 0u32..2).prop_map(|(vals, mode)| {
            let mut w = [0u32; DESCRIPTOR_WORDS];
            for (f, v) in FIELDS.iter().zip(vals) {
                let v = match f.name {
                    "opcode" => OP_CONV,
                    "mode" => mode,
                    _ if f.width <= 4 => v % (f.max() + 1),
                    _ => v & f.max(),
                };
                w[f.word] |= v << f.lsb;
            }
            w
        });
        prop_oneof![1 => prop::array::uniform16(any::<u32>()), 4 => near_good, 2 => fieldwise]
    }

    /// Capabilities of a preset, or decoded from arbitrary register words.
    fn caps() -> impl proptest::strategy::Strategy<Value = Capabilities> {
        use proptest::prelude::*;
        prop_oneof![
            3 => prop::sample::select(ArrayConfig::presets()).prop_map(|c| c.capabilities()),
            1 => prop::array::uniform4(any::<u32>()).prop_map(Capabilities::from_words),
            // Arbitrary limits with a 32-bit accumulator (others refuse everything).
            1 => prop::array::uniform4(any::<u32>()).prop_map(|mut w| {
                w[0] = (w[0] & 0x00ff_ffff) | 32 << 24;
                Capabilities::from_words(w)
            }),
        ]
    }

    /// The test window, a 32-bit one, or any range of u64.
    fn window() -> impl proptest::strategy::Strategy<Value = Range<u64>> {
        use proptest::prelude::*;
        prop_oneof![
            Just(WIN),
            Just(0..u64::MAX),
            (any::<u32>(), any::<u32>()).prop_map(|(a, n)| u64::from(a)..u64::from(a) + u64::from(n)),
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| a.min(b)..a.max(b)),
        ]
    }

    /// Fuzz target: validation never panics; it returns an error code that
    /// round-trips through the register, or a descriptor whose every range
    /// lies in the window, whose destination overlaps no source, and whose
    /// layouts have the sizes of those ranges.
    #[test]
    fn fuzz_validate_returns_a_code_or_a_consistent_descriptor() {
        use proptest::prelude::*;
        crate::fuzz::fuzz("validate", (words(), caps(), window()), |(w, caps, win)| {
            let r = validate_words(&w, &caps, &win);
            let (d, rest) = Descriptor::decode(&w);
            if rest == [0; DESCRIPTOR_WORDS] && d.opcode == OP_CONV && d.mode <= MODE_RAW {
                prop_assert_eq!(&validate(&d, &caps, &win), &r, "validate and validate_words agree");
            }
            match r {
                Err(code) => prop_assert_eq!(ErrorCode::from_code(code.code()), Some(code)),
                Ok(c) => {
                    prop_assert_eq!(c.desc.encode().unwrap(), w, "no reserved bit set");
                    prop_assert!(inside(&c.write, &win), "write {:?} outside {:?}", c.write, win);
                    for r in c.reads.iter().filter(|r| !r.is_empty()) {
                        prop_assert!(inside(r, &win), "read {:?} outside {:?}", r, win);
                        prop_assert!(!overlaps(r, &c.write), "read {:?} overlaps write {:?}", r, c.write);
                    }
                    prop_assert_eq!(c.reads[0].end - c.reads[0].start, c.input.bytes() as u64);
                    prop_assert_eq!(c.reads[1].end - c.reads[1].start, c.weights.bytes() as u64);
                    if let Some(t) = &c.thresholds {
                        prop_assert_eq!(c.reads[2].end - c.reads[2].start, t.bytes() as u64);
                    }
                    let dst_bytes =
                        c.dst_act.as_ref().map(|l| l.bytes()).or(c.dst_raw.as_ref().map(|l| l.bytes())).unwrap();
                    prop_assert_eq!(c.write.end - c.write.start, dst_bytes as u64);
                    prop_assert!(caps.supports_act_bits(d.a_in) && caps.supports_weight_bits(d.w_bits));
                    prop_assert!(c.macs() > 0);
                }
            }
            Ok(())
        });
    }

    /// Fuzz target: command-list checks never panic and accept exactly the
    /// aligned, non-empty lists inside the window.
    #[test]
    fn fuzz_validate_list() {
        use proptest::prelude::*;
        crate::fuzz::fuzz("validate_list", (any::<u32>(), any::<u32>(), window()), |(base, count, win)| {
            let r = validate_list(base, count, &win);
            let list = u64::from(base)..u64::from(base) + u64::from(count) * DESCRIPTOR_BYTES as u64;
            let ok = count > 0 && base % ADDRESS_ALIGN == 0 && inside(&list, &win);
            prop_assert_eq!(r.is_ok(), ok, "{:?}", r);
            Ok(())
        });
    }
}

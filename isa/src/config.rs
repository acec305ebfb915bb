//! The array configuration — one value that drives the hardware generator,
//! the capability registers and the driver's checks — and its named presets.
//!
//! [`ArrayConfig`] holds the generation parameters; [`Capabilities`] is what
//! the hardware reports about itself in the `CAP_*` registers, derived from
//! the configuration by [`ArrayConfig::capabilities`] and decoded by the
//! driver at open.

use crate::layout::CHANNELS_PER_WORD;

/// Generation parameters of one accelerator build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayConfig {
    /// Preset name (`small`, `pynq-z2`, ...).
    pub name: &'static str,
    /// Processing-element rows.
    pub rows: u8,
    /// Processing-element columns.
    pub cols: u8,
    /// 64-channel words each PE consumes per cycle.
    pub lanes: u8,
    /// Accumulator width in bits.
    pub acc_bits: u8,
    /// AXI4 master data width in bytes (8 for Zynq-7000 HP ports, 16 for ZynqMP).
    pub bus_bytes: u16,
    /// Largest tensor width in pixels (line buffers are sized for it).
    pub max_width: u16,
    /// Largest channel count of any tensor.
    pub max_channels: u16,
    /// On-chip weight buffer, KiB.
    pub weight_buf_kib: u16,
    /// On-chip activation buffer, KiB.
    pub act_buf_kib: u16,
    /// Target FPGA part (for estimates and Vivado).
    pub part: &'static str,
}

impl ArrayConfig {
    /// A tiny array for tests and fast simulation: 8 rows (the least the
    /// output writer's byte strobes allow: rows are a multiple of 8 dividing
    /// 64), 2 columns, buffers deep enough for every layer of both networks.
    pub fn small() -> Self {
        ArrayConfig {
            name: "small",
            rows: 8,
            cols: 2,
            lanes: 1,
            acc_bits: 32,
            bus_bytes: 8,
            max_width: 1024,
            max_channels: 4096,
            weight_buf_kib: 128,
            act_buf_kib: 64,
            part: "xc7z020clg400-1",
        }
    }

    /// PYNQ-Z2 (xc7z020, 64-bit HP port): 16 × 8 PEs. Rows rather than
    /// columns: a tile's reads grow with the columns (`kh·((cols − 1)·s +
    /// kw)` slices) while its steps do not. Since a run computes several
    /// passes on each gathered tile the layers are compute-bound, so the
    /// array grew from 16 × 6 to use the part (docs/performance.md, changes 3
    /// to 5). Buffers: 2,048 weight words per row, 1,024 receptive-field
    /// words per column half (FlowNetS needs 1,224 and 612).
    pub fn pynq_z2() -> Self {
        ArrayConfig { name: "pynq-z2", rows: 16, cols: 8, weight_buf_kib: 256, act_buf_kib: 128, ..Self::small() }
    }

    /// Ultra96-V2 (xczu3eg, 128-bit HP port): 16 × 8 PEs (the same reasoning
    /// as `pynq-z2`, with twice the bus).
    pub fn ultra96v2() -> Self {
        ArrayConfig {
            name: "ultra96v2",
            rows: 16,
            cols: 8,
            bus_bytes: 16,
            weight_buf_kib: 256,
            act_buf_kib: 128,
            part: "xczu3eg-sbva484-1-i",
            ..Self::small()
        }
    }

    /// KV260 (xck26, 128-bit HP port). Provisional: 16 × 16 PEs.
    pub fn kv260() -> Self {
        ArrayConfig {
            name: "kv260",
            rows: 16,
            cols: 16,
            bus_bytes: 16,
            weight_buf_kib: 256,
            act_buf_kib: 256,
            part: "xck26-sfvc784-2LV-c",
            ..Self::small()
        }
    }

    /// Every named preset.
    pub fn presets() -> Vec<ArrayConfig> {
        vec![Self::small(), Self::pynq_z2(), Self::ultra96v2(), Self::kv260()]
    }

    /// A preset by name.
    pub fn by_name(name: &str) -> Option<ArrayConfig> {
        Self::presets().into_iter().find(|c| c.name == name)
    }

    /// Binary multiply-accumulates per cycle at full use (1-bit × 1-bit).
    pub fn peak_bit_macs_per_cycle(&self) -> u64 {
        u64::from(self.rows) * u64::from(self.cols) * u64::from(self.lanes) * CHANNELS_PER_WORD as u64
    }

    /// What this build reports in its capability registers.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            rows: self.rows,
            cols: self.cols,
            lanes: self.lanes,
            acc_bits: self.acc_bits,
            act_bits_mask: 0xff,
            weight_bits_mask: 0xff,
            max_kernel: 7,
            max_stride: 2,
            max_upsample: 2,
            bus_bytes: self.bus_bytes,
            max_width: self.max_width,
            max_channels: self.max_channels,
            weight_buf_kib: self.weight_buf_kib,
            act_buf_kib: self.act_buf_kib,
        }
    }
}

/// What an accelerator can do, as reported by its `CAP_*` registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// PE rows.
    pub rows: u8,
    /// PE columns.
    pub cols: u8,
    /// 64-channel words per PE per cycle.
    pub lanes: u8,
    /// Accumulator width.
    pub acc_bits: u8,
    /// Bit i set: activations of i+1 bits supported.
    pub act_bits_mask: u8,
    /// Bit i set: weights of i+1 bits supported (bit 0: binary).
    pub weight_bits_mask: u8,
    /// Largest kernel side.
    pub max_kernel: u8,
    /// Largest stride.
    pub max_stride: u8,
    /// Largest input upsampling factor.
    pub max_upsample: u8,
    /// AXI data width in bytes (a power of two).
    pub bus_bytes: u16,
    /// Largest tensor width.
    pub max_width: u16,
    /// Largest channel count.
    pub max_channels: u16,
    /// On-chip weight buffer, KiB.
    pub weight_buf_kib: u16,
    /// On-chip activation buffer, KiB.
    pub act_buf_kib: u16,
}

impl Capabilities {
    /// The four `CAP_*` register values, in offset order.
    pub fn to_words(&self) -> [u32; 4] {
        [
            u32::from(self.rows)
                | u32::from(self.cols) << 8
                | u32::from(self.lanes) << 16
                | u32::from(self.acc_bits) << 24,
            u32::from(self.act_bits_mask)
                | u32::from(self.weight_bits_mask) << 8
                | u32::from(self.max_kernel & 0xf) << 16
                | u32::from(self.max_stride & 0xf) << 20
                | u32::from(self.max_upsample & 0xf) << 24
                | self.bus_bytes.trailing_zeros() << 28,
            u32::from(self.max_width) | u32::from(self.max_channels) << 16,
            u32::from(self.weight_buf_kib) | u32::from(self.act_buf_kib) << 16,
        ]
    }

    /// Decodes the four `CAP_*` register values.
    pub fn from_words(w: [u32; 4]) -> Self {
        Capabilities {
            rows: w[0] as u8,
            cols: (w[0] >> 8) as u8,
            lanes: (w[0] >> 16) as u8,
            acc_bits: (w[0] >> 24) as u8,
            act_bits_mask: w[1] as u8,
            weight_bits_mask: (w[1] >> 8) as u8,
            max_kernel: ((w[1] >> 16) & 0xf) as u8,
            max_stride: ((w[1] >> 20) & 0xf) as u8,
            max_upsample: ((w[1] >> 24) & 0xf) as u8,
            bus_bytes: 1u16 << (w[1] >> 28),
            max_width: w[2] as u16,
            max_channels: (w[2] >> 16) as u16,
            weight_buf_kib: w[3] as u16,
            act_buf_kib: (w[3] >> 16) as u16,
        }
    }

    /// Whether activations of `bits` bits are supported.
    pub fn supports_act_bits(&self, bits: u32) -> bool {
        (1..=8).contains(&bits) && self.act_bits_mask >> (bits - 1) & 1 == 1
    }

    /// Whether weights of `bits` bits are supported.
    pub fn supports_weight_bits(&self, bits: u32) -> bool {
        (1..=8).contains(&bits) && self.weight_bits_mask >> (bits - 1) & 1 == 1
    }

    /// 64-bit words of weights one array row holds: one output channel's
    /// `kh·kw·⌈cin/64⌉·w_bits` words must fit (`ErrorCode::BufferTooSmall`).
    /// The weight buffer is `weight_buf_kib` split evenly over the rows.
    pub fn weight_words_per_row(&self) -> u64 {
        u64::from(self.weight_buf_kib) * 1024 / 8 / u64::from(self.rows.max(1))
    }

    /// 64-bit words of one output pixel's receptive field one array column
    /// holds: `kh·kw·⌈cin/64⌉·a_in` must fit (`ErrorCode::BufferTooSmall`).
    /// The activation buffer is `act_buf_kib` split over the columns and
    /// halved by double-buffering.
    pub fn act_words_per_column(&self) -> u64 {
        u64::from(self.act_buf_kib) * 1024 / 8 / u64::from(self.cols.max(1)) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_round_trip_through_registers_for_every_preset() {
        for c in ArrayConfig::presets() {
            let caps = c.capabilities();
            assert_eq!(Capabilities::from_words(caps.to_words()), caps, "{}", c.name);
            assert!(caps.supports_act_bits(2) && caps.supports_weight_bits(1));
            assert!(!caps.supports_act_bits(9) && !caps.supports_act_bits(0));
            assert_eq!(ArrayConfig::by_name(c.name), Some(c.clone()));
        }
        assert!(ArrayConfig::by_name("nope").is_none());
        assert_eq!(ArrayConfig::pynq_z2().peak_bit_macs_per_cycle(), 16 * 8 * 64);
        for c in ArrayConfig::presets() {
            let caps = c.capabilities();
            assert!(caps.weight_words_per_row() >= 1224 && caps.act_words_per_column() >= 612, "{}", c.name);
            assert!(
                caps.weight_words_per_row().is_power_of_two() && caps.act_words_per_column().is_power_of_two(),
                "{}",
                c.name
            );
            assert!(c.rows % 8 == 0 && 64 % c.rows == 0, "{}", c.name);
        }
    }
}

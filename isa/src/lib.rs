//! # zynqflow-isa: the hardware/software contract
//!
//! Everything that the accelerator hardware (`hdl`), its simulator (`sim`) and
//! the host software (`host-driver`) must agree on is defined here, once:
//!
//! - [`precision`]: the bit widths a layer may use (activations 1..=8 bits,
//!   weights binary or 2..=8-bit signed) and what a weight bit-plane is worth;
//! - [`layout`]: how activation, weight, threshold and raw tensors are laid out
//!   in DDR, word by word;
//! - [`config`]: the array configuration and its named presets, and the
//!   capabilities the hardware reports;
//! - [`regs`]: the AXI4-Lite register map;
//! - [`descriptor`]: the encoding of one layer descriptor of the command list;
//! - [`validate`](mod@validate): the rules a descriptor must satisfy, and the error codes;
//! - [`doc`]: docs/registers.md, generated from the above.
//!
//! Pure Rust, no I/O, no dependencies: it builds for any target.

pub mod config;
pub mod descriptor;
pub mod doc;
#[cfg(test)]
pub(crate) mod fuzz;
pub mod layout;
pub mod precision;
pub mod regs;
pub mod validate;

pub use config::{ArrayConfig, Capabilities};
pub use descriptor::{
    Descriptor, ADDRESS_ALIGN, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS, MODE_RAW, MODE_THRESHOLD, OP_CONV, PACK_LANES,
};
pub use layout::{ActLayout, LayoutError, RawLayout, ThresholdLayout, ThresholdMode, WeightLayout, CHANNELS_PER_WORD};
pub use precision::{ActBits, PrecisionError, WeightBits};
pub use validate::{validate, validate_list, validate_words, CheckedDescriptor, ErrorCode};

//! # zynqflow-isa: the hardware/software contract
//!
//! Everything that the accelerator hardware (`hdl`), its simulator (`sim`) and
//! the host software (`host-driver`) must agree on is defined here, once:
//!
//! - [`precision`]: the bit widths a layer may use (activations 1..=8 bits,
//!   weights binary or 2..=8-bit signed) and what a weight bit-plane is worth;
//! - [`layout`]: how activation, weight, threshold and raw tensors are laid out
//!   in DDR, word by word.
//!
//! Pure Rust, no I/O, no dependencies: it builds for any target.

pub mod layout;
pub mod precision;

pub use layout::{ActLayout, LayoutError, RawLayout, ThresholdLayout, ThresholdMode, WeightLayout, CHANNELS_PER_WORD};
pub use precision::{ActBits, PrecisionError, WeightBits};

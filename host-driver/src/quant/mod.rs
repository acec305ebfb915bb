//! Quantization: integer weights and threshold tables in the `isa` layouts,
//! and the maths that turns float weights and batch-norm into them.

pub mod fold;
pub mod qweights;
pub mod thresholds;
pub mod weight_quant;

pub use fold::{fold_thresholds, BatchNorm, BN_EPS};
pub use qweights::QWeights;
pub use thresholds::Thresholds;
pub use weight_quant::{quantize_weights, QuantizedWeights};

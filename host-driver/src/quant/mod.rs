//! Quantization: integer weights and threshold tables in the `isa` layouts,
//! and the maths that turns float weights and batch-norm into them.

pub mod qweights;
pub mod thresholds;

pub use qweights::QWeights;
pub use thresholds::Thresholds;

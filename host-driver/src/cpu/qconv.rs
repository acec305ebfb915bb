//! Quantized convolution on bit-planes (being written).

//! The CPU reference: float and quantized convolution kernels, the small
//! tensor operations around them, and the network executors.

pub mod fconv;
pub mod float_net;
pub mod geom;
pub mod ops;
pub mod qconv;
pub mod quant_net;

pub use float_net::FloatNet;
pub use geom::ConvGeom;
pub use quant_net::QuantNet;

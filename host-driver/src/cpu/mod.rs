//! The CPU reference: float and quantized convolution kernels, the small
//! tensor operations around them, and the network executors.

pub mod geom;
pub mod qconv;

pub use geom::ConvGeom;

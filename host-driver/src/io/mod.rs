//! File I/O on the host: input frames, synthetic frame pairs, flow output.
//!
//! - [`frames`]: PNG/PNM frames (recognised by content) and the 6-channel
//!   network input built from a pair, plus PNG/PPM writers;
//! - [`synthetic`]: deterministic textured frame pairs with known flow;
//! - [`flo`]: the [`Flow`] field and Middlebury `.flo` files;
//! - [`flow_png`]: the Middlebury colour-wheel rendering as a PNG;
//! - [`npy`]: NumPy `.npy` arrays (uint8, int8, int32), for `zynqflow sim layer`;
//! - [`atomic`]: write-to-temporary-then-rename, used by every writer;
//! - `portable_math` (private): libm-free `exp`/`sin` so that synthetic data
//!   is bit-identical on the host and the board;
//! - [`error`]: [`IoError`], whose messages name the file and the problem.
//!
//! Conventions: sizes passed as arguments are `(h, w)`; sizes printed in
//! messages are `WIDTHxHEIGHT`; flow is (u, v) = (towards +x, towards +y),
//! from the first frame to the second.

pub mod atomic;
pub mod error;
pub mod flo;
pub mod flow_png;
pub mod frames;
pub mod npy;
mod portable_math;
pub mod synthetic;

pub use atomic::write_atomic;
pub use error::IoError;
pub use flo::{decode_flo, encode_flo, read_flo, write_flo, Flow};
pub use flow_png::{flow_to_rgb, write_flow_png};
pub use frames::{load_frame, load_pair, pair_tensor, save_png, save_ppm};
pub use synthetic::synthetic_pair;

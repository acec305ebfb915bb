//! The bit-exact functional model of the accelerator: the reference the RTL
//! is tested against, and a platform backend the runtime can drive.
//!
//! - [`memory`]: [`BusMemory`], the bus-addressed memory the model's AXI
//!   master sees, and [`SparseMemory`], a set of regions implementing it;
//! - [`exec`]: [`execute`], one validated descriptor
//!   (`zynqflow_isa::CheckedDescriptor`) computed over bus memory;
//! - `kernel`: the popcount micro-kernels behind it (portable, POPCNT and
//!   AVX-512 VPOPCNTDQ variants chosen at run time);
//! - [`device`]: [`Device`], the register map and run semantics of
//!   `zynqflow_isa::regs`;
//! - [`platform`]: [`ModelPlatform`], the model behind
//!   [`crate::platform::Platform`];
//! - [`random_layer`]: seeded random descriptors and memory images, the
//!   cases of the RTL-vs-model tests.
//!
//! The model is an implementation independent of the CPU reference
//! (`crate::cpu::qconv`), written from the `isa` documentation, so that
//! comparing the two finds mistakes in either. It has no timing: a command
//! list runs to completion inside the register write that starts it.

pub mod device;
pub mod exec;
mod kernel;
pub mod memory;
pub mod platform;
pub mod random_layer;

#[cfg(test)]
mod tests_device;
#[cfg(test)]
mod tests_exec;
#[cfg(test)]
mod tests_speed;

pub use device::Device;
pub use exec::execute;
pub use memory::{BusMemory, RegionError, SparseMemory};
pub use platform::ModelPlatform;

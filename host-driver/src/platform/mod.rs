//! The platform traits: the few things the runtime needs from whatever runs
//! the accelerator — 32-bit register access, DMA memory, and waiting for the
//! interrupt with a deadline. Everything else (programs, buffers, descriptor
//! lists, checks) is written once in [`crate::runtime`] above this trait.
//!
//! Backends: [`mock::MockPlatform`] (records every call, for unit tests),
//! the functional model ([`crate::model::ModelPlatform`]), the board
//! ([`board::BoardPlatform`]: UIO + u-dma-buf, or `/dev/mem`) and the
//! Verilator simulation (in the `zynqflow-sim` crate).
//!
//! DMA memory is reached through the platform by copy (`write`/`read`)
//! rather than by handing out slices: on a board the CPU view is an mmap of
//! device memory, where references are unsound to form and caches must be
//! synced explicitly; copies keep both rules in one place.

pub mod board;
pub mod mock;

use std::time::Instant;

/// A DMA buffer owned by the runtime: a handle, its bus address and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmaBuffer {
    /// Backend-specific identifier.
    pub id: usize,
    /// Address the accelerator uses to reach byte 0.
    pub bus_addr: u64,
    /// Size in bytes.
    pub len: usize,
}

impl DmaBuffer {
    /// Bus address range covered.
    pub fn bus_range(&self) -> std::ops::Range<u64> {
        self.bus_addr..self.bus_addr + self.len as u64
    }

    /// Checks that `offset..offset+len` lies inside the buffer.
    pub fn check_span(&self, offset: usize, len: usize) -> Result<(), PlatformError> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(PlatformError::OutOfBounds { offset, len, size: self.len });
        }
        Ok(())
    }
}

/// Outcome of waiting for the interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The interrupt fired.
    Interrupt,
    /// The deadline passed first.
    TimedOut,
}

/// Errors of a platform backend.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// An access outside a buffer.
    #[error("access of {len} bytes at offset {offset} is outside a buffer of {size} bytes")]
    OutOfBounds {
        /// Offset asked for.
        offset: usize,
        /// Length asked for.
        len: usize,
        /// Buffer size.
        size: usize,
    },
    /// A register offset outside the window or not 4-byte aligned.
    #[error("register offset {0:#x} is not an aligned offset inside the register window")]
    BadRegister(u32),
    /// Not enough DMA memory.
    #[error("cannot allocate {asked} bytes of DMA memory ({available} available)")]
    NoMemory {
        /// Bytes asked for.
        asked: usize,
        /// Bytes left.
        available: usize,
    },
    /// A handle that does not belong to this platform.
    #[error("unknown DMA buffer {0}")]
    UnknownBuffer(usize),
    /// Anything from the operating system.
    #[error("{0}")]
    Os(String),
}

/// What the runtime needs from a backend.
pub trait Platform {
    /// Reads the 32-bit register at byte `offset` (an `isa::regs` constant).
    fn read_reg(&mut self, offset: u32) -> Result<u32, PlatformError>;
    /// Writes the 32-bit register at byte `offset`.
    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), PlatformError>;
    /// Allocates `len` bytes of DMA memory, aligned to at least 4 KiB, zeroed.
    fn alloc(&mut self, len: usize) -> Result<DmaBuffer, PlatformError>;
    /// Copies `data` into the buffer at `offset` (the CPU's view).
    fn write(&mut self, buf: &DmaBuffer, offset: usize, data: &[u8]) -> Result<(), PlatformError>;
    /// Copies from the buffer at `offset` into `out` (the CPU's view).
    fn read(&mut self, buf: &DmaBuffer, offset: usize, out: &mut [u8]) -> Result<(), PlatformError>;
    /// Makes the CPU's writes to the span visible to the device.
    fn sync_for_device(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError>;
    /// Makes the device's writes to the span visible to the CPU.
    fn sync_for_cpu(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError>;
    /// Waits until the interrupt fires or `deadline` passes. The runtime
    /// clears the status (and so the interrupt) before calling it again.
    fn wait_irq(&mut self, deadline: Instant) -> Result<Wait, PlatformError>;
    /// Name for messages (`model`, `sim`, `board`, `mock`).
    fn name(&self) -> &'static str;
}

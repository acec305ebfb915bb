//! [`Mmio`]: a register window mapped from a device file (`/dev/uioN` or
//! `/dev/mem`), reached only by volatile, aligned 32-bit accesses through a
//! raw pointer — never a reference (REFERENCE.md §4).

use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;

/// A mapped register window.
pub struct Mmio {
    map: MmapRaw,
    len: usize,
}

impl Mmio {
    /// Maps `len` bytes of `file` at `offset` (memmap2 handles an offset
    /// that is not page aligned).
    pub fn map(file: &File, offset: u64, len: usize) -> std::io::Result<Self> {
        let map = MmapOptions::new().offset(offset).len(len).map_raw(file)?;
        Ok(Mmio { map, len })
    }

    /// Size of the window in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the window is empty (never, once mapped).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `offset` is an aligned 32-bit register inside the window.
    pub fn valid(&self, offset: u32) -> bool {
        offset.is_multiple_of(4) && (offset as usize) + 4 <= self.len
    }

    /// Reads the register at `offset` (checked with [`Mmio::valid`] first).
    pub fn read(&self, offset: u32) -> u32 {
        assert!(self.valid(offset), "register offset {offset:#x} outside the window");
        // SAFETY: the mapping is live for `self`'s lifetime, `offset` is
        // 4-byte aligned and `offset + 4 <= len` (checked above); the page is
        // aligned so the address is too. A volatile read through a raw
        // pointer forms no reference to the device memory.
        unsafe { std::ptr::read_volatile(self.map.as_ptr().add(offset as usize).cast::<u32>()) }
    }

    /// Writes the register at `offset` (checked with [`Mmio::valid`] first).
    pub fn write(&self, offset: u32, value: u32) {
        assert!(self.valid(offset), "register offset {offset:#x} outside the window");
        // SAFETY: as in `read`; the mapping is writable (`map_raw` of a file
        // opened read-write).
        unsafe { std::ptr::write_volatile(self.map.as_mut_ptr().add(offset as usize).cast::<u32>(), value) }
    }
}

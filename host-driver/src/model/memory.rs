//! The memory the functional model's AXI master sees, addressed by bus
//! address.
//!
//! [`BusMemory`] is what [`super::exec::execute`] and [`super::Device`] need:
//! a byte view of an address range, or nothing when the range is not backed
//! (the model then reports `ErrorCode::BusError`, as the hardware does on an
//! AXI error response). [`SparseMemory`] implements it with a set of
//! non-overlapping regions, each a base bus address and its bytes; the
//! [`super::ModelPlatform`] makes one region per DMA buffer, with unbacked
//! gaps between them so that a stray access is caught.

use std::collections::BTreeMap;
use std::ops::Range;

/// Byte-addressed memory behind the accelerator's AXI master.
///
/// A range is *backed* when one contiguous byte slice holds all of it; an
/// access to a range that is not backed is a bus error.
pub trait BusMemory {
    /// The `len` bytes at bus address `addr`, or `None` if they are not all
    /// backed.
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]>;

    /// The `len` bytes at bus address `addr`, writable, or `None` if they are
    /// not all backed.
    fn slice_mut(&mut self, addr: u64, len: usize) -> Option<&mut [u8]>;

    /// Copies `data` to bus address `addr`; returns `false` (writing nothing)
    /// if the range is not backed.
    fn write(&mut self, addr: u64, data: &[u8]) -> bool {
        match self.slice_mut(addr, data.len()) {
            Some(s) => {
                s.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

/// Why a region could not be added to a [`SparseMemory`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionError {
    /// The new region overlaps the existing region with this base.
    Overlaps(u64),
    /// The region would extend past the end of the 64-bit address space.
    AddressOverflow,
}

impl std::fmt::Display for RegionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegionError::Overlaps(b) => write!(f, "memory region overlaps the region at {b:#x}"),
            RegionError::AddressOverflow => write!(f, "memory region extends past the address space"),
        }
    }
}

impl std::error::Error for RegionError {}

/// Memory made of non-overlapping regions (base bus address + bytes).
///
/// An access is backed only if it lies inside a single region, even when two
/// regions happen to be adjacent. Regions are numbered in the order they
/// were added.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SparseMemory {
    /// Regions in insertion order: base and bytes.
    regions: Vec<(u64, Vec<u8>)>,
    /// Base address → region index, for lookups.
    by_base: BTreeMap<u64, usize>,
}

impl SparseMemory {
    /// Empty memory: every access is a bus error.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a region holding `bytes` at bus address `base`; returns its index.
    /// Fails if it would overlap an existing region.
    pub fn add_region(&mut self, base: u64, bytes: Vec<u8>) -> Result<usize, RegionError> {
        let end = base.checked_add(bytes.len() as u64).ok_or(RegionError::AddressOverflow)?;
        let new = base..end;
        if let Some(r) = self.regions.iter().find(|(b, v)| overlaps(&new, &(*b..*b + v.len() as u64))) {
            return Err(RegionError::Overlaps(r.0));
        }
        // Two empty regions at one base would collide in the index; an empty
        // region backs nothing anyway, so only non-empty ones are indexed.
        if !bytes.is_empty() {
            self.by_base.insert(base, self.regions.len());
        }
        self.regions.push((base, bytes));
        Ok(self.regions.len() - 1)
    }

    /// Adds a zeroed region of `len` bytes at `base` (see [`Self::add_region`]).
    pub fn add_zeroed(&mut self, base: u64, len: usize) -> Result<usize, RegionError> {
        self.add_region(base, vec![0; len])
    }

    /// Number of regions.
    pub fn region_count(&self) -> usize {
        self.regions.len()
    }

    /// Base address and bytes of region `index`.
    pub fn region(&self, index: usize) -> Option<(u64, &[u8])> {
        self.regions.get(index).map(|(b, v)| (*b, v.as_slice()))
    }

    /// Base address and writable bytes of region `index`.
    pub fn region_mut(&mut self, index: usize) -> Option<(u64, &mut [u8])> {
        self.regions.get_mut(index).map(|(b, v)| (*b, v.as_mut_slice()))
    }

    /// Index of the region holding the whole of `addr..addr+len`, if any.
    fn locate(&self, addr: u64, len: usize) -> Option<(usize, usize)> {
        let (&base, &idx) = self.by_base.range(..=addr).next_back()?;
        let off = usize::try_from(addr - base).ok()?;
        let end = off.checked_add(len)?;
        (end <= self.regions[idx].1.len()).then_some((idx, off))
    }
}

impl std::fmt::Debug for SparseMemory {
    /// Regions as `base..end` (not their bytes, which may be megabytes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.regions.iter().map(|(b, v)| *b..*b + v.len() as u64)).finish()
    }
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

impl BusMemory for SparseMemory {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let (idx, off) = self.locate(addr, len)?;
        Some(&self.regions[idx].1[off..off + len])
    }

    fn slice_mut(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        let (idx, off) = self.locate(addr, len)?;
        Some(&mut self.regions[idx].1[off..off + len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_must_lie_inside_one_region() {
        let mut m = SparseMemory::new();
        assert_eq!(m.add_zeroed(0x1000, 0x100), Ok(0));
        assert_eq!(m.add_zeroed(0x1100, 0x100), Ok(1), "adjacent is allowed");
        assert_eq!(m.add_zeroed(0x10ff, 2), Err(RegionError::Overlaps(0x1000)));
        assert_eq!(m.add_zeroed(u64::MAX, 2), Err(RegionError::AddressOverflow));
        assert!(m.write(0x10fc, &[1, 2, 3, 4]));
        assert_eq!(m.read(0x10fc, 4), Some(&[1u8, 2, 3, 4][..]));
        assert!(m.read(0x10fd, 4).is_none(), "spans two regions");
        assert!(!m.write(0x11fe, &[9, 9, 9]), "runs past the end");
        assert!(m.read(0xfff, 1).is_none());
        assert!(m.read(0x1201, 0).is_none(), "empty access outside every region");
        assert_eq!(m.read(0x1200 - 1, 1), Some(&[0u8][..]));
        assert_eq!(m.region(0).unwrap().1[0xfc..], [1, 2, 3, 4]);
        assert_eq!(m.region_count(), 2);
    }
}

//! [`MappedMemory`]: the emulated board's DMA memory — the file both the
//! emulator and the driver map shared — as the functional model's
//! [`BusMemory`], at the bus address the tree advertises.

use crate::model::BusMemory;
use memmap2::MmapMut;

/// A shared mapping seen at bus address `base`.
pub struct MappedMemory {
    base: u64,
    map: MmapMut,
}

impl MappedMemory {
    /// `map` at bus address `base`.
    pub fn new(base: u64, map: MmapMut) -> Self {
        MappedMemory { base, map }
    }

    fn range(&self, addr: u64, len: usize) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        let end = start.checked_add(len)?;
        (end <= self.map.len()).then_some(start..end)
    }
}

// The driver does not touch its buffers while a run is in progress (it is
// waiting for the interrupt), so the model's slices of the shared mapping
// see no concurrent writes.
impl BusMemory for MappedMemory {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let r = self.range(addr, len)?;
        Some(&self.map[r])
    }

    fn slice_mut(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        let r = self.range(addr, len)?;
        Some(&mut self.map[r])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_mapped_range_is_backed() {
        let mut m = MappedMemory::new(0x1000_0000, MmapMut::map_anon(8192).unwrap());
        assert!(m.write(0x1000_0000, &[1, 2, 3]));
        assert_eq!(m.read(0x1000_0001, 2).unwrap(), &[2, 3]);
        assert!(m.read(0x0fff_ffff, 1).is_none());
        assert!(m.read(0x1000_1fff, 2).is_none());
        assert!(m.read(0x1000_1fff, 1).is_some());
    }
}

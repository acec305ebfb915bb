//! [`DmaPool`]: one contiguous DMA region — a u-dma-buf buffer, or a
//! reserved-memory carve-out of `/dev/mem` — mapped once and handed out as
//! 4 KiB-aligned [`DmaBuffer`]s (bus address = region base + offset).
//!
//! Cache maintenance for a u-dma-buf region goes through its sysfs
//! interface, which works on every architecture: write `sync_offset`,
//! `sync_size` and `sync_direction`, then `1` to `sync_for_device` (clean)
//! or `sync_for_cpu` (invalidate). It is skipped when the buffer's
//! `dma_coherent` is 1. A new buffer is zeroed and cleaned at once, so no
//! dirty line of it can later overwrite what the device writes. A
//! `/dev/mem` carve-out is mapped uncached (`O_SYNC`), needs no syncs, and
//! is copied with aligned accesses only (it is device memory on ARM).

use super::sysfs::{read_attr, read_number, under, write_attr};
use super::BoardError;
use crate::platform::{DmaBuffer, PlatformError};
use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Alignment of every buffer handed out.
pub const ALIGN: usize = 4096;

/// `sync_direction` values (the kernel's `enum dma_data_direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `DMA_TO_DEVICE` (1): the device reads what the CPU wrote.
    ToDevice = 1,
    /// `DMA_FROM_DEVICE` (2): the CPU reads what the device wrote.
    FromDevice = 2,
}

/// How the CPU's view is kept coherent with the device's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coherency {
    /// Cached mapping, synced through the u-dma-buf's sysfs directory.
    Sysfs(PathBuf),
    /// `dma_coherent` is 1: the interconnect keeps caches coherent.
    Coherent,
    /// Uncached mapping (`O_SYNC` on `/dev/mem`).
    Uncached,
}

/// A mapped DMA region and its sub-allocator.
pub struct DmaPool {
    /// Name for messages (`udmabuf0`, or `/dev/mem carve-out`).
    pub name: String,
    map: MmapRaw,
    /// Bus (physical) address of byte 0.
    pub phys: u64,
    /// Size in bytes.
    pub size: usize,
    /// How syncs are done.
    pub coherency: Coherency,
    /// Handed-out buffers: offset and length, indexed by `DmaBuffer::id`.
    buffers: Vec<(usize, usize)>,
    next: usize,
}

impl DmaPool {
    /// Opens u-dma-buf `name`: `<root>/dev/NAME` and
    /// `<root>/sys/class/u-dma-buf/NAME/{phys_addr,size,dma_coherent}`.
    pub fn udmabuf(root: &Path, name: &str) -> Result<Self, BoardError> {
        let sys = under(root, "/sys/class/u-dma-buf").join(name);
        if !sys.is_dir() {
            let dir = under(root, "/sys/class/u-dma-buf");
            let names: Vec<String> = std::fs::read_dir(&dir)
                .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let found = if names.is_empty() {
                " (none there: is the u-dma-buf module loaded?)".to_string()
            } else {
                format!(" (found: {})", names.join(", "))
            };
            return Err(BoardError::NotFound { what: format!("u-dma-buf '{name}'"), dir, found });
        }
        let phys = read_number(&sys.join("phys_addr"))?;
        let size = read_number(&sys.join("size"))? as usize;
        let coherent = read_attr(&sys.join("dma_coherent")).map(|v| v == "1").unwrap_or(false);
        let dev = under(root, "/dev").join(name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_CLOEXEC)
            .open(&dev)
            .map_err(|source| BoardError::Io { path: dev.clone(), source })?;
        let coherency = if coherent { Coherency::Coherent } else { Coherency::Sysfs(sys) };
        Self::new(name.to_string(), &file, 0, phys, size, coherency)
            .map_err(|source| BoardError::Io { path: dev, source })
    }

    /// Maps `size` bytes of `file` at `offset` as a region at bus address `phys`.
    pub fn new(
        name: String,
        file: &File,
        offset: u64,
        phys: u64,
        size: usize,
        coherency: Coherency,
    ) -> std::io::Result<Self> {
        let map = MmapOptions::new().offset(offset).len(size).map_raw(file)?;
        Ok(DmaPool { name, map, phys, size, coherency, buffers: Vec::new(), next: 0 })
    }

    /// Bytes handed out so far (with alignment padding).
    pub fn used(&self) -> usize {
        self.next
    }

    /// Hands out `len` zeroed bytes at the next 4 KiB boundary.
    pub fn alloc(&mut self, len: usize) -> Result<DmaBuffer, BoardError> {
        let rounded = len.max(1).div_ceil(ALIGN) * ALIGN;
        let available = self.size - self.next;
        if rounded > available {
            return Err(BoardError::BufferTooSmall { name: self.name.clone(), asked: len, available, size: self.size });
        }
        let offset = self.next;
        self.copy_in(offset, None, len);
        self.next += rounded;
        self.buffers.push((offset, len));
        let buf = DmaBuffer { id: self.buffers.len() - 1, bus_addr: self.phys + offset as u64, len };
        // Clean the zeros out of the cache now: a dirty line evicted later
        // would overwrite what the device writes there.
        self.sync(&buf, 0, len, Direction::ToDevice)
            .map_err(|e| BoardError::Attr { path: PathBuf::from(&self.name), what: e.to_string() })?;
        Ok(buf)
    }

    /// Copies `data` (or zeros, `len` of them) to region offset `at`.
    /// Uncached `/dev/mem` mappings are device memory on ARM, where an
    /// unaligned access faults: there the copy is bytes up to an 8-byte
    /// boundary, then aligned 64-bit words, then bytes, all volatile.
    fn copy_in(&mut self, at: usize, data: Option<&[u8]>, len: usize) {
        debug_assert!(at + len <= self.size && data.is_none_or(|d| d.len() == len));
        let base = self.map.as_mut_ptr();
        if self.coherency != Coherency::Uncached {
            // SAFETY: `at..at+len` lies inside the live mapping (callers
            // check); raw copies form no reference to memory the device
            // also reaches.
            unsafe {
                match data {
                    Some(d) => std::ptr::copy_nonoverlapping(d.as_ptr(), base.add(at), len),
                    None => std::ptr::write_bytes(base.add(at), 0, len),
                }
            }
            return;
        }
        let byte = |i: usize| data.map_or(0, |d| d[i]);
        let mut i = 0;
        while i < len {
            let addr = at + i;
            // SAFETY: `addr` and, for words, `addr..addr+8` lie inside the
            // mapping (`i + 8 <= len`); word accesses are 8-byte aligned
            // (the mapping is page aligned and `addr % 8 == 0`).
            unsafe {
                if addr.is_multiple_of(8) && i + 8 <= len {
                    let w = u64::from_le_bytes(std::array::from_fn(|k| byte(i + k)));
                    std::ptr::write_volatile(base.add(addr).cast::<u64>(), w);
                    i += 8;
                } else {
                    std::ptr::write_volatile(base.add(addr), byte(i));
                    i += 1;
                }
            }
        }
    }

    /// Copies `out.len()` bytes from region offset `at` (see [`Self::copy_in`]).
    fn copy_out(&self, at: usize, out: &mut [u8]) {
        let base = self.map.as_ptr();
        if self.coherency != Coherency::Uncached {
            // SAFETY: as in `copy_in`.
            unsafe { std::ptr::copy_nonoverlapping(base.add(at), out.as_mut_ptr(), out.len()) };
            return;
        }
        let mut i = 0;
        while i < out.len() {
            let addr = at + i;
            // SAFETY: as in `copy_in`.
            unsafe {
                if addr.is_multiple_of(8) && i + 8 <= out.len() {
                    let w = std::ptr::read_volatile(base.add(addr).cast::<u64>());
                    out[i..i + 8].copy_from_slice(&w.to_le_bytes());
                    i += 8;
                } else {
                    out[i] = std::ptr::read_volatile(base.add(addr));
                    i += 1;
                }
            }
        }
    }

    /// The region offset of `buf`'s byte `offset`, after checking that the
    /// buffer is one of ours and the span lies inside it.
    fn span(&self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<usize, PlatformError> {
        match self.buffers.get(buf.id) {
            Some(&(o, l)) if self.phys + o as u64 == buf.bus_addr && l == buf.len => {
                buf.check_span(offset, len)?;
                Ok(o + offset)
            }
            _ => Err(PlatformError::UnknownBuffer(buf.id)),
        }
    }

    /// Copies `data` into the buffer (the CPU's view).
    pub fn write(&mut self, buf: &DmaBuffer, offset: usize, data: &[u8]) -> Result<(), PlatformError> {
        let at = self.span(buf, offset, data.len())?;
        self.copy_in(at, Some(data), data.len());
        Ok(())
    }

    /// Copies from the buffer into `out` (the CPU's view).
    pub fn read(&mut self, buf: &DmaBuffer, offset: usize, out: &mut [u8]) -> Result<(), PlatformError> {
        let at = self.span(buf, offset, out.len())?;
        self.copy_out(at, out);
        Ok(())
    }

    /// Syncs a span of `buf` for the device (`ToDevice`) or the CPU
    /// (`FromDevice`).
    pub fn sync(&mut self, buf: &DmaBuffer, offset: usize, len: usize, dir: Direction) -> Result<(), PlatformError> {
        let at = self.span(buf, offset, len)?;
        let Coherency::Sysfs(sys) = &self.coherency else { return Ok(()) };
        if len == 0 {
            return Ok(());
        }
        let trigger = match dir {
            Direction::ToDevice => "sync_for_device",
            Direction::FromDevice => "sync_for_cpu",
        };
        let write =
            |attr: &str, v: String| write_attr(&sys.join(attr), &v).map_err(|e| PlatformError::from(gone_or(sys, e)));
        write("sync_offset", at.to_string())?;
        write("sync_size", len.to_string())?;
        write("sync_direction", (dir as u32).to_string())?;
        write(trigger, "1".into())
    }
}

/// `e`, from a sync attribute under `sys`, or the news that the u-dma-buf
/// itself is gone when its sysfs directory no longer exists (the module
/// unloaded, the device removed, the emulator stopped).
fn gone_or(sys: &Path, e: BoardError) -> BoardError {
    if sys.exists() {
        return e;
    }
    let what = format!("the u-dma-buf is gone: its sysfs directory no longer exists (module unloaded, device removed, or the emulator stopped): {e}");
    BoardError::Attr { path: sys.to_path_buf(), what }
}

//! [`ModelPlatform`]: the functional model behind the [`Platform`] trait, so
//! the runtime drives it exactly as it will drive the simulation and the
//! board.
//!
//! DMA buffers are regions of a [`SparseMemory`] at increasing bus addresses
//! from `0x1000_0000`, 4 KiB aligned, with at least one unbacked page between
//! two buffers, so a descriptor that strays outside its buffers gets a bus
//! error instead of silently reading a neighbour. Bus addresses stay below
//! 4 GiB (descriptor addresses are 32 bits). Syncs only bounds-check: the
//! model has no caches. Register accesses go to the [`Device`], which runs a
//! whole command list synchronously inside the `CTRL.START` write, so
//! [`Platform::wait_irq`] either finds the interrupt already up or never
//! will, and then sleeps until the deadline.

use super::device::Device;
use super::memory::SparseMemory;
use crate::platform::{DmaBuffer, Platform, PlatformError, Wait};
use std::time::Instant;
use zynqflow_isa::{regs, Capabilities};

/// Bus address of the first DMA buffer.
pub const FIRST_BUS_ADDR: u64 = 0x1000_0000;
/// Page size: buffer alignment and the size of the gap between buffers.
pub const PAGE: u64 = 4096;
/// End of the bus address space buffers may use (32-bit descriptor addresses).
pub const BUS_LIMIT: u64 = 1 << 32;

/// The functional model as a platform backend.
#[derive(Debug, Clone)]
pub struct ModelPlatform {
    device: Device<SparseMemory>,
    next_bus: u64,
}

impl ModelPlatform {
    /// A model reporting `caps`, with no buffers yet.
    pub fn new(caps: Capabilities) -> Self {
        ModelPlatform { device: Device::new(caps, SparseMemory::new()), next_bus: FIRST_BUS_ADDR }
    }

    /// The device: counters, status and memory, for tests and the CLI.
    pub fn device(&self) -> &Device<SparseMemory> {
        &self.device
    }

    /// The device, writable (e.g. to corrupt memory in a test).
    pub fn device_mut(&mut self) -> &mut Device<SparseMemory> {
        &mut self.device
    }

    /// The bytes of `buf`, after checking that it belongs to this platform.
    fn bytes(&mut self, buf: &DmaBuffer) -> Result<&mut [u8], PlatformError> {
        match self.device.memory_mut().region_mut(buf.id) {
            Some((base, bytes)) if base == buf.bus_addr && bytes.len() == buf.len => Ok(bytes),
            _ => Err(PlatformError::UnknownBuffer(buf.id)),
        }
    }

    fn check_reg(offset: u32) -> Result<(), PlatformError> {
        if !offset.is_multiple_of(4) || offset >= regs::WINDOW_BYTES {
            return Err(PlatformError::BadRegister(offset));
        }
        Ok(())
    }

    /// Bounds-checks a sync of `buf`.
    fn check_sync(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        self.bytes(buf)?;
        buf.check_span(offset, len)
    }
}

impl Platform for ModelPlatform {
    fn read_reg(&mut self, offset: u32) -> Result<u32, PlatformError> {
        Self::check_reg(offset)?;
        Ok(self.device.read_reg(offset))
    }

    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), PlatformError> {
        Self::check_reg(offset)?;
        self.device.write_reg(offset, value);
        Ok(())
    }

    fn alloc(&mut self, len: usize) -> Result<DmaBuffer, PlatformError> {
        let available = usize::try_from(BUS_LIMIT - self.next_bus).unwrap_or(usize::MAX);
        let pages = (len as u64).div_ceil(PAGE).max(1);
        let end = self.next_bus + pages * PAGE;
        if end > BUS_LIMIT {
            return Err(PlatformError::NoMemory { asked: len, available });
        }
        let bus_addr = self.next_bus;
        let id = self
            .device
            .memory_mut()
            .add_zeroed(bus_addr, len)
            .map_err(|e| PlatformError::Os(format!("model memory: {e}")))?;
        self.next_bus = end + PAGE;
        Ok(DmaBuffer { id, bus_addr, len })
    }

    fn write(&mut self, buf: &DmaBuffer, offset: usize, data: &[u8]) -> Result<(), PlatformError> {
        buf.check_span(offset, data.len())?;
        self.bytes(buf)?[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn read(&mut self, buf: &DmaBuffer, offset: usize, out: &mut [u8]) -> Result<(), PlatformError> {
        buf.check_span(offset, out.len())?;
        out.copy_from_slice(&self.bytes(buf)?[offset..offset + out.len()]);
        Ok(())
    }

    fn sync_for_device(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        self.check_sync(buf, offset, len)
    }

    fn sync_for_cpu(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        self.check_sync(buf, offset, len)
    }

    fn wait_irq(&mut self, deadline: Instant) -> Result<Wait, PlatformError> {
        if self.device.interrupt() {
            return Ok(Wait::Interrupt);
        }
        // The model is synchronous: an interrupt that is not up now never
        // comes, so wait out the deadline as a real device would.
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        Ok(Wait::TimedOut)
    }

    fn name(&self) -> &'static str {
        "model"
    }
}

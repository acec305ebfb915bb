//! A recording platform for unit tests: plain memory, registers that answer
//! from a table, and a log of every call in order, so tests can assert what
//! the runtime did (which registers, which syncs, in which order). An
//! optional responder plays the device when `CTRL` is written.

use super::{DmaBuffer, Platform, PlatformError, Wait};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;
use zynqflow_isa::regs;

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `read_reg(offset)` and the value returned.
    ReadReg(u32, u32),
    /// `write_reg(offset, value)`.
    WriteReg(u32, u32),
    /// `alloc(len)` and the bus address given.
    Alloc(usize, u64),
    /// `write(buffer id, offset, len)`.
    Write(usize, usize, usize),
    /// `read(buffer id, offset, len)`.
    Read(usize, usize, usize),
    /// `sync_for_device(buffer id, offset, len)`.
    SyncForDevice(usize, usize, usize),
    /// `sync_for_cpu(buffer id, offset, len)`.
    SyncForCpu(usize, usize, usize),
    /// `wait_irq` and its outcome.
    WaitIrq(Wait),
}

/// Called on every register write with the platform's registers and memory;
/// returns whether the interrupt is now pending.
pub type Responder = Box<dyn FnMut(u32, u32, &mut HashMap<u32, u32>, &mut MockMemory) -> bool>;

/// The mock's DMA memory: buffers by id, at consecutive bus addresses.
#[derive(Debug, Default)]
pub struct MockMemory {
    /// Buffers: bus address and bytes.
    pub buffers: Vec<(u64, Vec<u8>)>,
}

impl MockMemory {
    /// The bytes at bus address `addr`, if some buffer holds `len` of them.
    pub fn at_bus(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        self.buffers.iter_mut().find_map(|(base, bytes)| {
            let off = addr.checked_sub(*base)? as usize;
            (off + len <= bytes.len()).then(move || &mut bytes[off..off + len])
        })
    }
}

/// The recording mock.
pub struct MockPlatform {
    /// Register values returned by reads (writes update them).
    pub regs: HashMap<u32, u32>,
    /// Every call, in order.
    pub calls: Vec<Call>,
    /// DMA memory.
    pub memory: MockMemory,
    /// Bus address of the next allocation.
    pub next_bus: u64,
    /// Free bytes (rounded up to whole 4 KiB pages) left before each of the
    /// next allocations, taken in order; once empty, buffers follow each
    /// other. Lets tests place buffers anywhere.
    pub gaps: VecDeque<u64>,
    /// Plays the device on register writes.
    pub responder: Option<Responder>,
    irq_pending: bool,
}

impl MockPlatform {
    /// A mock whose ID/VERSION/CAP registers describe `caps`.
    pub fn new(caps: &zynqflow_isa::Capabilities) -> Self {
        let mut r = HashMap::new();
        r.insert(regs::ID, regs::ACCEL_ID);
        r.insert(regs::VERSION, regs::VERSION_WORD);
        for (i, w) in caps.to_words().iter().enumerate() {
            r.insert(regs::CAP_ARRAY + 4 * i as u32, *w);
        }
        MockPlatform {
            regs: r,
            calls: vec![],
            memory: MockMemory::default(),
            next_bus: 0x1000_0000,
            gaps: VecDeque::new(),
            responder: None,
            irq_pending: false,
        }
    }

    fn buffer(&mut self, buf: &DmaBuffer) -> Result<&mut Vec<u8>, PlatformError> {
        self.memory.buffers.get_mut(buf.id).map(|(_, b)| b).ok_or(PlatformError::UnknownBuffer(buf.id))
    }
}

impl Platform for MockPlatform {
    fn read_reg(&mut self, offset: u32) -> Result<u32, PlatformError> {
        if !offset.is_multiple_of(4) || offset >= regs::WINDOW_BYTES {
            return Err(PlatformError::BadRegister(offset));
        }
        let v = self.regs.get(&offset).copied().unwrap_or(0);
        self.calls.push(Call::ReadReg(offset, v));
        Ok(v)
    }

    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), PlatformError> {
        if !offset.is_multiple_of(4) || offset >= regs::WINDOW_BYTES {
            return Err(PlatformError::BadRegister(offset));
        }
        self.calls.push(Call::WriteReg(offset, value));
        self.regs.insert(offset, value);
        if let Some(r) = self.responder.as_mut() {
            if r(offset, value, &mut self.regs, &mut self.memory) {
                self.irq_pending = true;
            }
        }
        Ok(())
    }

    fn alloc(&mut self, len: usize) -> Result<DmaBuffer, PlatformError> {
        self.next_bus += self.gaps.pop_front().unwrap_or(0).div_ceil(4096) * 4096;
        let bus = self.next_bus;
        self.next_bus += (len as u64).div_ceil(4096).max(1) * 4096;
        self.memory.buffers.push((bus, vec![0; len]));
        self.calls.push(Call::Alloc(len, bus));
        Ok(DmaBuffer { id: self.memory.buffers.len() - 1, bus_addr: bus, len })
    }

    fn write(&mut self, buf: &DmaBuffer, offset: usize, data: &[u8]) -> Result<(), PlatformError> {
        buf.check_span(offset, data.len())?;
        self.buffer(buf)?[offset..offset + data.len()].copy_from_slice(data);
        self.calls.push(Call::Write(buf.id, offset, data.len()));
        Ok(())
    }

    fn read(&mut self, buf: &DmaBuffer, offset: usize, out: &mut [u8]) -> Result<(), PlatformError> {
        buf.check_span(offset, out.len())?;
        out.copy_from_slice(&self.buffer(buf)?[offset..offset + out.len()]);
        self.calls.push(Call::Read(buf.id, offset, out.len()));
        Ok(())
    }

    fn sync_for_device(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        buf.check_span(offset, len)?;
        self.calls.push(Call::SyncForDevice(buf.id, offset, len));
        Ok(())
    }

    fn sync_for_cpu(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        buf.check_span(offset, len)?;
        self.calls.push(Call::SyncForCpu(buf.id, offset, len));
        Ok(())
    }

    fn wait_irq(&mut self, deadline: Instant) -> Result<Wait, PlatformError> {
        let outcome = if self.irq_pending {
            self.irq_pending = false;
            Wait::Interrupt
        } else {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            Wait::TimedOut
        };
        self.calls.push(Call::WaitIrq(outcome));
        Ok(outcome)
    }

    fn name(&self) -> &'static str {
        "mock"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn records_calls_and_bounds_checks_buffers() {
        let mut m = MockPlatform::new(&zynqflow_isa::ArrayConfig::small().capabilities());
        assert_eq!(m.read_reg(regs::ID).unwrap(), regs::ACCEL_ID);
        let b = m.alloc(100).unwrap();
        assert_eq!(b.bus_addr % 4096, 0);
        m.write(&b, 96, &[1, 2, 3, 4]).unwrap();
        assert!(matches!(m.write(&b, 97, &[0; 4]), Err(PlatformError::OutOfBounds { .. })));
        assert!(matches!(m.read_reg(0x2), Err(PlatformError::BadRegister(2))));
        let mut out = [0u8; 4];
        m.read(&b, 96, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 4]);
        assert_eq!(m.memory.at_bus(b.bus_addr + 96, 4).unwrap(), &[1, 2, 3, 4]);
        assert_eq!(m.wait_irq(Instant::now() + Duration::from_millis(1)).unwrap(), Wait::TimedOut);
        assert_eq!(m.calls.len(), 5, "refused calls are not recorded");
        assert_eq!(m.calls[2], Call::Write(0, 96, 4));
    }
}

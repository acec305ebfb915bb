//! [`SimPlatform`]: the Verilator simulation behind host-driver's
//! [`Platform`] trait, so `Accelerator<SimPlatform>` is the very runtime that
//! drives the functional model and the board.
//!
//! DMA buffers are host allocations (4 KiB aligned, zeroed) registered with
//! the harness' AXI4 memory at bus addresses from `0x1000_0000`, with one
//! unmapped page between two buffers (as [`ModelPlatform`] does), so a stray
//! access gets SLVERR instead of a neighbour's bytes. Syncs only check
//! bounds: the simulated memory is coherent. [`Platform::wait_irq`] runs the
//! clock in slices until the interrupt or the wall-clock deadline; a slice
//! is sized from the simulation speed measured so far to end by the
//! deadline, so a timeout is late by milliseconds, not by a slice.
//!
//! A `CTRL.SOFT_RESET` write needs nothing special: the accelerator drains
//! the AXI bursts it has in flight (`hdl/src/axi_drain.rs`, `STATUS.BUSY`
//! meanwhile) and the memory answers them (docs/simulation.md, "Faults").
//!
//! [`ModelPlatform`]: zynqflow_driver::model::ModelPlatform

use crate::harness::{Harness, MemStats, MemTiming};
use crate::verilate::BuildOptions;
use crate::SimError;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::path::Path;
use std::time::Instant;
use zynqflow_driver::platform::{DmaBuffer, Platform, PlatformError, Wait};
use zynqflow_isa::{regs, ArrayConfig};

/// Bus address of the first DMA buffer.
pub const FIRST_BUS_ADDR: u64 = 0x1000_0000;
/// Page size: buffer alignment and the gap between buffers.
pub const PAGE: u64 = 4096;
/// End of the bus address space (descriptor addresses are 32-bit).
pub const BUS_LIMIT: u64 = 1 << 32;
/// Most cycles run between two looks at the wall clock in `wait_irq`.
pub const SLICE_CYCLES: u64 = 100_000;
/// Fewest cycles run between two looks at the wall clock in `wait_irq`.
pub const MIN_SLICE_CYCLES: u64 = 1_000;

/// One DMA buffer's host memory.
struct HostBuf {
    ptr: *mut u8,
    layout: Layout,
    len: usize,
    bus: u64,
}

/// The simulated accelerator as a platform backend.
pub struct SimPlatform {
    // Declared before `bufs`: dropped first, while the memory it points to lives.
    harness: Harness,
    bufs: Vec<HostBuf>,
    next_bus: u64,
    config: ArrayConfig,
    run_start: Option<u64>,
    last_run_cycles: Option<u64>,
}

// SAFETY: the buffers are owned by the platform and reached only through it.
unsafe impl Send for SimPlatform {}

impl SimPlatform {
    /// The accelerator of `config` in Verilator (built or taken from the
    /// cache), with default memory timing and no waveform.
    pub fn new(config: &ArrayConfig) -> Result<Self, SimError> {
        Self::with_options(config, &BuildOptions::default(), None)
    }

    /// As [`SimPlatform::new`], with build options and an optional FST
    /// waveform file (written for the whole life of the platform).
    pub fn with_options(config: &ArrayConfig, opts: &BuildOptions, trace: Option<&Path>) -> Result<Self, SimError> {
        let harness = Harness::new(config, opts, trace)?;
        Ok(SimPlatform {
            harness,
            bufs: Vec::new(),
            next_bus: FIRST_BUS_ADDR,
            config: config.clone(),
            run_start: None,
            last_run_cycles: None,
        })
    }

    /// The configuration simulated.
    pub fn config(&self) -> &ArrayConfig {
        &self.config
    }

    /// Sets the memory model's timing.
    pub fn set_timing(&mut self, t: MemTiming) {
        self.harness.set_timing(t);
    }

    /// Fault injection: the memory stops answering after `Some(n)` more
    /// read beats, until `set_hang(None)` ([`Harness::set_hang`]).
    pub fn set_hang(&mut self, after_read_beats: Option<u64>) {
        self.harness.set_hang(after_read_beats);
    }

    /// Clock cycles since the simulation began.
    pub fn cycles(&self) -> u64 {
        self.harness.cycles()
    }

    /// Cycles from the last `CTRL.START` write to its interrupt (or to the
    /// last look at it, if it has not come yet).
    pub fn last_run_cycles(&self) -> Option<u64> {
        self.last_run_cycles
    }

    /// The memory model's statistics.
    pub fn mem_stats(&self) -> MemStats {
        self.harness.mem_stats()
    }

    /// The harness, for direct use (tests, benchmarks).
    pub fn harness(&mut self) -> &mut Harness {
        &mut self.harness
    }

    fn host(&self, buf: &DmaBuffer) -> Result<&HostBuf, PlatformError> {
        match self.bufs.get(buf.id) {
            Some(h) if h.bus == buf.bus_addr && h.len == buf.len => Ok(h),
            _ => Err(PlatformError::UnknownBuffer(buf.id)),
        }
    }

    fn check_reg(offset: u32) -> Result<(), PlatformError> {
        if !offset.is_multiple_of(4) || offset >= regs::WINDOW_BYTES {
            return Err(PlatformError::BadRegister(offset));
        }
        Ok(())
    }
}

fn os(e: SimError) -> PlatformError {
    PlatformError::Os(e.to_string())
}

impl Platform for SimPlatform {
    fn read_reg(&mut self, offset: u32) -> Result<u32, PlatformError> {
        Self::check_reg(offset)?;
        self.harness.read_reg(offset).map_err(os)
    }

    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), PlatformError> {
        Self::check_reg(offset)?;
        self.harness.write_reg(offset, value).map_err(os)?;
        if offset == regs::CTRL && value & regs::CTRL_SOFT_RESET != 0 {
            self.run_start = None;
        } else if offset == regs::CTRL && value & regs::CTRL_START != 0 {
            self.run_start = Some(self.harness.cycles());
            self.last_run_cycles = None;
        }
        Ok(())
    }

    fn alloc(&mut self, len: usize) -> Result<DmaBuffer, PlatformError> {
        let available = usize::try_from(BUS_LIMIT - self.next_bus).unwrap_or(usize::MAX);
        let pages = (len as u64).div_ceil(PAGE).max(1);
        let end = self.next_bus + pages * PAGE;
        if end > BUS_LIMIT {
            return Err(PlatformError::NoMemory { asked: len, available });
        }
        let size = (pages * PAGE) as usize;
        let layout = Layout::from_size_align(size, PAGE as usize).map_err(|e| PlatformError::Os(e.to_string()))?;
        // SAFETY: `layout` has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(PlatformError::NoMemory { asked: len, available });
        }
        let bus = self.next_bus;
        // SAFETY: `ptr[..len]` lives in `self.bufs` until the platform is
        // dropped, after the harness (field order); Rust only reaches it
        // through short-lived slices in `write`/`read`, never during a
        // harness call.
        unsafe { self.harness.add_memory(bus, ptr, len) };
        self.bufs.push(HostBuf { ptr, layout, len, bus });
        self.next_bus = end + PAGE;
        Ok(DmaBuffer { id: self.bufs.len() - 1, bus_addr: bus, len })
    }

    fn write(&mut self, buf: &DmaBuffer, offset: usize, data: &[u8]) -> Result<(), PlatformError> {
        buf.check_span(offset, data.len())?;
        let h = self.host(buf)?;
        // SAFETY: in bounds (checked), owned, no harness call is running.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), h.ptr.add(offset), data.len()) };
        Ok(())
    }

    fn read(&mut self, buf: &DmaBuffer, offset: usize, out: &mut [u8]) -> Result<(), PlatformError> {
        buf.check_span(offset, out.len())?;
        let h = self.host(buf)?;
        // SAFETY: as in `write`.
        unsafe { std::ptr::copy_nonoverlapping(h.ptr.add(offset), out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    fn sync_for_device(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        self.host(buf)?;
        buf.check_span(offset, len)
    }

    fn sync_for_cpu(&mut self, buf: &DmaBuffer, offset: usize, len: usize) -> Result<(), PlatformError> {
        self.host(buf)?;
        buf.check_span(offset, len)
    }

    fn wait_irq(&mut self, deadline: Instant) -> Result<Wait, PlatformError> {
        // Cycles per second, measured on the slices run so far.
        let mut rate: Option<f64> = None;
        loop {
            if let Some(s) = self.run_start {
                self.last_run_cycles = Some(self.harness.cycles() - s);
            }
            if self.harness.interrupt() {
                self.run_start = None;
                return Ok(Wait::Interrupt);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Wait::TimedOut);
            }
            let left = (deadline - now).as_secs_f64();
            let slice = rate.map_or(MIN_SLICE_CYCLES, |r| ((r * left) as u64).clamp(MIN_SLICE_CYCLES, SLICE_CYCLES));
            let ran = self.harness.run(slice);
            let secs = now.elapsed().as_secs_f64();
            if ran > 0 && secs > 0.0 {
                rate = Some(ran as f64 / secs);
            }
        }
    }

    fn name(&self) -> &'static str {
        "sim"
    }
}

impl Drop for SimPlatform {
    fn drop(&mut self) {
        // The harness must not touch the buffers after this point.
        self.harness.clear_memory();
        for b in self.bufs.drain(..) {
            // SAFETY: allocated in `alloc` with this layout, freed once.
            unsafe { dealloc(b.ptr, b.layout) };
        }
    }
}

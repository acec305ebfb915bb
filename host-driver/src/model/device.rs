//! The register-level accelerator of the functional model.
//!
//! [`Device`] implements the register map and run semantics of
//! `zynqflow_isa::regs` over a [`BusMemory`]: identification and capability
//! registers, `CTRL` (write-only, self-clearing `START` and `SOFT_RESET`),
//! `STATUS` (`BUSY` read-only, `DONE`/`ERROR` write-1-to-clear),
//! `IRQ_ENABLE`, `ERROR_CODE`/`ERROR_INDEX`, the command-list and window
//! registers, `CMDS_DONE`, and the 64-bit `PERF_*` counters (reading LO
//! latches HI).
//!
//! A run (`CTRL.START`) clears the counters and the status, checks the
//! command list (`zynqflow_isa::validate_list`; a failure reports index 0),
//! then for each descriptor reads its 64 bytes, validates them
//! (`zynqflow_isa::validate_words` against the capabilities and the window),
//! and either stops with `STATUS.ERROR` — writing nothing for that
//! descriptor — or executes it ([`super::exec::execute`]) and counts it.
//!
//! Timing: the model has none. The whole list runs synchronously inside the
//! register write that sets `START`, so `STATUS.BUSY` is never observed set,
//! and `PERF_BUSY`/`PERF_STALL` stay 0; only `PERF_MACS` counts (the useful
//! multiply-accumulates of the executed descriptors).
//!
//! Choices where the register docs are silent: a `CTRL` write with both bits
//! set is a soft reset (`START` is ignored); a soft reset clears `STATUS`
//! only, so `ERROR_CODE`, `ERROR_INDEX`, `CMDS_DONE` and the counters keep
//! describing the last run; clearing `STATUS.ERROR` likewise leaves
//! `ERROR_CODE` as it was. Unknown or unaligned offsets read 0 and ignore
//! writes.

use super::exec::execute;
use super::memory::{BusMemory, SparseMemory};
use std::ops::Range;
use zynqflow_isa::descriptor::{Descriptor, DESCRIPTOR_BYTES};
use zynqflow_isa::regs::*;
use zynqflow_isa::{validate_list, validate_words, Capabilities, ErrorCode};

/// The accelerator: registers plus the memory its AXI master reaches.
#[derive(Debug, Clone)]
pub struct Device<M: BusMemory = SparseMemory> {
    caps: Capabilities,
    mem: M,
    done: bool,
    error: bool,
    irq_enable: u32,
    error_code: u32,
    error_index: u32,
    cmd_base: u32,
    cmd_count: u32,
    win_base: u32,
    win_size: u32,
    cmds_done: u32,
    perf_macs: u64,
    /// High words latched by reading BUSY, STALL and MACS low words (a
    /// latch changes only when its LO word is read).
    latched: [u32; 3],
}

impl<M: BusMemory> Device<M> {
    /// A device in reset state reporting `caps`, attached to `mem`.
    pub fn new(caps: Capabilities, mem: M) -> Self {
        Device {
            caps,
            mem,
            done: false,
            error: false,
            irq_enable: 0,
            error_code: 0,
            error_index: 0,
            cmd_base: 0,
            cmd_count: 0,
            win_base: 0,
            win_size: 0,
            cmds_done: 0,
            perf_macs: 0,
            latched: [0; 3],
        }
    }

    /// The capabilities reported in `CAP_*`.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The memory behind the AXI master.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The memory behind the AXI master, writable (the CPU's view).
    pub fn memory_mut(&mut self) -> &mut M {
        &mut self.mem
    }

    /// The interrupt line: `IRQ_ENABLE` and (`STATUS.DONE` or `STATUS.ERROR`).
    pub fn interrupt(&self) -> bool {
        self.irq_enable & IRQ_ENABLE_BIT != 0 && (self.done || self.error)
    }

    /// Useful multiply-accumulates of the last run (`PERF_MACS`), read
    /// without the LO/HI latch.
    pub fn perf_macs(&self) -> u64 {
        self.perf_macs
    }

    /// Descriptors completed in the last run (`CMDS_DONE`).
    pub fn cmds_done(&self) -> u32 {
        self.cmds_done
    }

    /// The `STATUS` value (`BUSY` is always clear in the model).
    pub fn status(&self) -> u32 {
        (if self.done { STATUS_DONE } else { 0 }) | (if self.error { STATUS_ERROR } else { 0 })
    }

    /// The error of the last run, if it stopped with one: code and index.
    pub fn last_error(&self) -> Option<(ErrorCode, u32)> {
        ErrorCode::from_code(self.error_code).map(|c| (c, self.error_index))
    }

    /// Reads the 32-bit register at byte `offset`. Reading a `PERF_*_LO`
    /// latches its `HI` word.
    pub fn read_reg(&mut self, offset: u32) -> u32 {
        let caps = self.caps.to_words();
        match offset {
            ID => ACCEL_ID,
            VERSION => VERSION_WORD,
            CAP_ARRAY => caps[0],
            CAP_BITS => caps[1],
            CAP_LIMITS => caps[2],
            CAP_BUFFERS => caps[3],
            STATUS => self.status(),
            IRQ_ENABLE => self.irq_enable,
            ERROR_CODE => self.error_code,
            ERROR_INDEX => self.error_index,
            CMD_BASE => self.cmd_base,
            CMD_COUNT => self.cmd_count,
            WIN_BASE => self.win_base,
            WIN_SIZE => self.win_size,
            CMDS_DONE => self.cmds_done,
            PERF_BUSY_LO | PERF_STALL_LO | PERF_MACS_LO => {
                let k = ((offset - PERF_BUSY_LO) / 8) as usize;
                let v = self.counters()[k];
                self.latched[k] = (v >> 32) as u32;
                v as u32
            }
            PERF_BUSY_HI | PERF_STALL_HI | PERF_MACS_HI => self.latched[((offset - PERF_BUSY_HI) / 8) as usize],
            _ => 0, // CTRL is write-only; unknown offsets read 0.
        }
    }

    /// Busy, stall and MAC counters (the first two are always 0).
    fn counters(&self) -> [u64; 3] {
        [0, 0, self.perf_macs]
    }

    /// Writes the 32-bit register at byte `offset`. Writing `CTRL.START`
    /// runs the whole command list before returning.
    pub fn write_reg(&mut self, offset: u32, value: u32) {
        match offset {
            CTRL if value & CTRL_SOFT_RESET != 0 => self.soft_reset(),
            CTRL if value & CTRL_START != 0 => self.start(),
            STATUS => {
                self.done &= value & STATUS_DONE == 0;
                self.error &= value & STATUS_ERROR == 0;
            }
            IRQ_ENABLE => self.irq_enable = value & IRQ_ENABLE_BIT,
            CMD_BASE => self.cmd_base = value,
            CMD_COUNT => self.cmd_count = value,
            WIN_BASE => self.win_base = value,
            WIN_SIZE => self.win_size = value,
            _ => {} // read-only or unknown
        }
    }

    /// `CTRL.SOFT_RESET`: abandon (nothing to abandon: runs are synchronous),
    /// clear `STATUS`, stay idle.
    fn soft_reset(&mut self) {
        self.done = false;
        self.error = false;
    }

    /// The DMA window, `WIN_BASE..WIN_BASE+WIN_SIZE`.
    fn window(&self) -> Range<u64> {
        u64::from(self.win_base)..u64::from(self.win_base) + u64::from(self.win_size)
    }

    /// `CTRL.START`: runs the command list to completion or first error.
    fn start(&mut self) {
        self.done = false;
        self.error = false;
        self.error_code = 0;
        self.error_index = 0;
        self.cmds_done = 0;
        self.perf_macs = 0;
        match self.run_list() {
            Ok(()) => self.done = true,
            Err((code, index)) => {
                self.error = true;
                self.error_code = code.code();
                self.error_index = index;
            }
        }
    }

    fn run_list(&mut self) -> Result<(), (ErrorCode, u32)> {
        let window = self.window();
        validate_list(self.cmd_base, self.cmd_count, &window).map_err(|e| (e, 0))?;
        for i in 0..self.cmd_count {
            let addr = u64::from(self.cmd_base) + u64::from(i) * DESCRIPTOR_BYTES as u64;
            let bytes: &[u8; DESCRIPTOR_BYTES] = self
                .mem
                .read(addr, DESCRIPTOR_BYTES)
                .and_then(|b| b.try_into().ok())
                .ok_or((ErrorCode::BusError, i))?;
            let words = Descriptor::words_from_bytes(bytes);
            let checked = validate_words(&words, &self.caps, &window).map_err(|e| (e, i))?;
            let macs = execute(&mut self.mem, &checked).map_err(|e| (e, i))?;
            self.perf_macs = self.perf_macs.wrapping_add(macs);
            self.cmds_done += 1;
        }
        Ok(())
    }
}

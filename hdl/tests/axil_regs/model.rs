//! The reference model of the register semantics (transaction level) that the
//! random traffic is checked against, and the contract's reset values.

use zynqflow_isa::regs::*;
use zynqflow_isa::Capabilities;

use crate::master::{Bench, Pulse, Sample};

// ------------------------------------------------------------------------
// The contract.

pub fn strb_mask(strb: u8) -> u32 {
    (0..4).filter(|i| strb >> i & 1 == 1).map(|i| 0xffu32 << (8 * i)).sum()
}

/// Value of a register right after reset, by the contract.
pub fn reset_value(caps: &Capabilities, off: u32) -> u32 {
    let cap = caps.to_words();
    match off {
        ID => ACCEL_ID,
        VERSION => VERSION_WORD,
        CAP_ARRAY => cap[0],
        CAP_BITS => cap[1],
        CAP_LIMITS => cap[2],
        CAP_BUFFERS => cap[3],
        _ => 0,
    }
}

pub const RW_WORDS: [u32; 4] = [CMD_BASE, CMD_COUNT, WIN_BASE, WIN_SIZE];

// ------------------------------------------------------------------------
// A reference model of the register semantics (transaction level).

#[derive(Debug, Clone)]
pub struct Model {
    caps: Capabilities,
    done: bool,
    error: bool,
    irq: bool,
    code: u32,
    index: u32,
    rw: [u32; 4],
    hi: [u32; 3],
    pub starts: usize,
    pub soft_resets: usize,
}

impl Model {
    pub fn new(caps: Capabilities) -> Model {
        Model {
            caps,
            done: false,
            error: false,
            irq: false,
            code: 0,
            index: 0,
            rw: [0; 4],
            hi: [0; 3],
            starts: 0,
            soft_resets: 0,
        }
    }

    pub fn write(&mut self, off: u32, data: u32, strb: u8, busy: bool) {
        let mask = strb_mask(strb);
        let bits = data & mask;
        match off {
            CTRL => {
                if bits & CTRL_SOFT_RESET != 0 {
                    self.done = false;
                    self.error = false;
                    self.soft_resets += 1;
                } else if bits & CTRL_START != 0 && !busy {
                    self.done = false;
                    self.error = false;
                    self.code = 0;
                    self.index = 0;
                    self.starts += 1;
                }
            }
            STATUS => {
                self.done &= bits & STATUS_DONE == 0;
                self.error &= bits & STATUS_ERROR == 0;
            }
            IRQ_ENABLE => {
                if mask & IRQ_ENABLE_BIT != 0 {
                    self.irq = bits & IRQ_ENABLE_BIT != 0;
                }
            }
            _ => {
                if let Some(k) = RW_WORDS.iter().position(|&o| o == off) {
                    self.rw[k] = (self.rw[k] & !mask) | bits;
                }
            }
        }
    }

    pub fn read(&mut self, off: u32, s: &Sample) -> u32 {
        let perf = |k: usize| (off - PERF_BUSY_LO) as usize / 8 == k;
        match off {
            STATUS => {
                (if s.busy { STATUS_BUSY } else { 0 })
                    | (if self.done { STATUS_DONE } else { 0 })
                    | (if self.error { STATUS_ERROR } else { 0 })
            }
            IRQ_ENABLE => {
                if self.irq {
                    IRQ_ENABLE_BIT
                } else {
                    0
                }
            }
            ERROR_CODE => self.code,
            ERROR_INDEX => self.index,
            CMDS_DONE => s.cmds_done,
            PERF_BUSY_LO | PERF_STALL_LO | PERF_MACS_LO => {
                let k = (0..3).find(|&k| perf(k)).unwrap();
                self.hi[k] = (s.perf[k] >> 32) as u32;
                s.perf[k] as u32
            }
            PERF_BUSY_HI | PERF_STALL_HI | PERF_MACS_HI => self.hi[((off - PERF_BUSY_HI) / 8) as usize],
            _ => match RW_WORDS.iter().position(|&o| o == off) {
                Some(k) => self.rw[k],
                None => reset_value(&self.caps, off),
            },
        }
    }

    pub fn pulse(&mut self, p: Pulse) {
        match p {
            Pulse::Done => self.done = true,
            Pulse::Error { code, index } => {
                self.error = true;
                self.code = code;
                self.index = index;
            }
        }
    }

    fn interrupt(&self) -> bool {
        self.irq && (self.done || self.error)
    }
}

pub fn assert_matches_model(b: &Bench, m: &Model, what: &str) {
    assert_eq!(b.outputs_to_core(), m.rw, "{what}: CMD_BASE, CMD_COUNT, WIN_BASE, WIN_SIZE outputs");
    assert_eq!(b.uut.interrupt.val(), m.interrupt(), "{what}: interrupt");
    assert_eq!(b.starts.len(), m.starts, "{what}: start pulses");
    assert_eq!(b.soft_resets.len(), m.soft_resets, "{what}: soft_reset pulses");
}

//! The AXI4-Lite register map of the accelerator.
//!
//! All registers are 32 bits wide, at 4-byte aligned offsets from the base of
//! the register window; accesses are 32-bit only. 64-bit counters are two
//! registers, low word first; reading the low word latches the high word, so
//! read LO then HI.
//!
//! A run: write `CMD_BASE`, `CMD_COUNT`, `WIN_BASE`, `WIN_SIZE`, optionally
//! `IRQ_ENABLE`, then `CTRL.START`. The accelerator sets `STATUS.BUSY`, clears
//! the performance counters and executes the descriptors one after the other.
//! At the end it sets `STATUS.DONE` (all descriptors executed) or
//! `STATUS.ERROR` (with `ERROR_CODE` and `ERROR_INDEX`: the first invalid
//! descriptor, which wrote nothing), and raises `interrupt` while
//! `IRQ_ENABLE` is set and `DONE` or `ERROR` is. Writing 1 to `DONE`/`ERROR`
//! clears them (and the interrupt); `ERROR_CODE` and `ERROR_INDEX` keep their
//! values until the next `START`. `CTRL.SOFT_RESET` abandons a run, clears
//! `STATUS` and returns to idle; the other registers keep their values. A
//! write with both `START` and `SOFT_RESET` set resets and does not start.

/// How software may access a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    Ro,
    /// Read and write.
    Rw,
    /// Write only (reads return 0); the bits act once and clear themselves.
    Wo,
    /// Read; writing 1 to a bit clears it.
    Rw1c,
}

impl Access {
    /// Short name for docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Ro => "RO",
            Access::Rw => "RW",
            Access::Wo => "WO",
            Access::Rw1c => "RW1C",
        }
    }
}

/// One register: name, offset, access and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    /// Name, as used in code and docs.
    pub name: &'static str,
    /// Byte offset from the register window's base.
    pub offset: u32,
    /// Software access.
    pub access: Access,
    /// Meaning and bit fields.
    pub doc: &'static str,
}

macro_rules! registers {
    ($( $konst:ident = $off:expr, $acc:ident, $doc:expr; )*) => {
        $(
            #[doc = $doc]
            pub const $konst: u32 = $off;
        )*
        /// Every register, in offset order (the generated docs list this).
        pub const REGISTERS: &[Register] = &[
            $( Register { name: stringify!($konst), offset: $off, access: Access::$acc, doc: $doc }, )*
        ];
    };
}

registers! {
    ID = 0x000, Ro, "Identification: always `ACCEL_ID` (0x5A464C57, \"ZFLW\").";
    VERSION = 0x004, Ro, "Contract version: major in bits 31:16, minor in 15:0 (`VERSION_WORD`).";
    CAP_ARRAY = 0x008, Ro, "Array shape: rows 7:0, columns 15:8, 64-channel words per PE per cycle 23:16, accumulator bits 31:24.";
    CAP_BITS = 0x00C, Ro, "Bit 7:0 activation widths supported (bit i: i+1 bits); 15:8 weight widths (bit 0: binary); 19:16 largest kernel; 23:20 largest stride; 27:24 largest input upsampling; 31:28 log2 of the AXI data width in bytes.";
    CAP_LIMITS = 0x010, Ro, "Largest tensor width in pixels 15:0; largest channel count 31:16.";
    CAP_BUFFERS = 0x014, Ro, "On-chip weight buffer in KiB 15:0; on-chip activation buffer in KiB 31:16.";
    CTRL = 0x020, Wo, "Bit 0 START: run the command list. Bit 1 SOFT_RESET: abandon any run, clear STATUS, return to idle; `STATUS.BUSY` stays 1 while the AXI bursts in flight are drained (START is ignored until it clears).";
    STATUS = 0x024, Rw1c, "Bit 0 BUSY (read only); bit 1 DONE and bit 2 ERROR (write 1 to clear).";
    IRQ_ENABLE = 0x028, Rw, "Bit 0: drive `interrupt` while STATUS.DONE or STATUS.ERROR is set.";
    ERROR_CODE = 0x02C, Ro, "Why the last run stopped with STATUS.ERROR (`ErrorCode`), 0 otherwise.";
    ERROR_INDEX = 0x030, Ro, "Index in the command list of the descriptor that failed.";
    CMD_BASE = 0x034, Rw, "Bus address of the command list (64-byte aligned).";
    CMD_COUNT = 0x038, Rw, "Number of descriptors in the command list.";
    WIN_BASE = 0x03C, Rw, "Bus address of the DMA window: every address a descriptor uses must lie in it.";
    WIN_SIZE = 0x040, Rw, "Size of the DMA window in bytes.";
    CMDS_DONE = 0x044, Ro, "Descriptors completed in the current or last run.";
    PERF_BUSY_LO = 0x048, Ro, "Cycles spent busy in the last run, bits 31:0.";
    PERF_BUSY_HI = 0x04C, Ro, "Cycles spent busy, bits 63:32.";
    PERF_STALL_LO = 0x050, Ro, "Busy cycles in which the array waited for memory, bits 31:0.";
    PERF_STALL_HI = 0x054, Ro, "Memory-stall cycles, bits 63:32.";
    PERF_MACS_LO = 0x058, Ro, "Useful multiply-accumulates (out pixels x Cout x Kh x Kw x Cin per descriptor), bits 31:0.";
    PERF_MACS_HI = 0x05C, Ro, "Useful multiply-accumulates, bits 63:32.";
}

/// Size of the register window in bytes (one 4 KiB page).
pub const WINDOW_BYTES: u32 = 0x1000;

/// Value of the `ID` register.
pub const ACCEL_ID: u32 = 0x5A46_4C57;
/// Major version of this contract: a driver refuses another major.
pub const VERSION_MAJOR: u16 = 1;
/// Minor version: additions that older drivers may ignore.
pub const VERSION_MINOR: u16 = 0;
/// Value of the `VERSION` register.
pub const VERSION_WORD: u32 = ((VERSION_MAJOR as u32) << 16) | VERSION_MINOR as u32;

/// `CTRL` bit: start the command list.
pub const CTRL_START: u32 = 1 << 0;
/// `CTRL` bit: soft reset.
pub const CTRL_SOFT_RESET: u32 = 1 << 1;
/// `STATUS` bit: a run is in progress.
pub const STATUS_BUSY: u32 = 1 << 0;
/// `STATUS` bit: the last run completed every descriptor.
pub const STATUS_DONE: u32 = 1 << 1;
/// `STATUS` bit: the last run stopped at an invalid descriptor.
pub const STATUS_ERROR: u32 = 1 << 2;
/// `IRQ_ENABLE` bit.
pub const IRQ_ENABLE_BIT: u32 = 1 << 0;

/// Looks a register up by offset.
pub fn by_offset(offset: u32) -> Option<&'static Register> {
    REGISTERS.iter().find(|r| r.offset == offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_unique_aligned_sorted_and_inside_the_window() {
        for pair in REGISTERS.windows(2) {
            assert!(pair[0].offset < pair[1].offset, "{} / {}", pair[0].name, pair[1].name);
        }
        for r in REGISTERS {
            assert_eq!(r.offset % 4, 0, "{}", r.name);
            assert!(r.offset < WINDOW_BYTES);
        }
        assert_eq!(by_offset(STATUS).unwrap().name, "STATUS");
        assert!(by_offset(0x001).is_none());
    }
}

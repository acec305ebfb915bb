//! [`Harness`]: the loaded C++ harness (`csrc/shim.cpp`) — one Verilator
//! model of the accelerator with its AXI4-Lite master, AXI4 memory, clock,
//! reset and optional waveform — behind safe Rust calls.

use crate::verilate::{build, BuildOptions, Built};
use crate::SimError;
use libloading::{Library, Symbol};
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use zynqflow_isa::ArrayConfig;

/// The shim ABI this crate speaks (`zf_abi_version`).
const ABI_VERSION: u32 = 4;

/// Cycles an AXI4-Lite access may take before it counts as unanswered.
pub const LITE_LIMIT: u64 = 1000;

/// Timing of the memory model, in clock cycles. Defaults resemble a
/// Zynq-7000 HP port (docs/simulation.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemTiming {
    /// From the AR handshake to the first read beat (default 40).
    pub read_latency: u64,
    /// From the last W beat to the write response (default 8).
    pub write_resp_latency: u64,
    /// Cycles per read beat at best (default 1: one beat per cycle).
    pub read_beat_interval: u64,
    /// Cycles per write beat at best (default 1).
    pub write_beat_interval: u64,
}

impl Default for MemTiming {
    fn default() -> Self {
        MemTiming { read_latency: 40, write_resp_latency: 8, read_beat_interval: 1, write_beat_interval: 1 }
    }
}

/// What the memory model saw, since the harness was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemStats {
    /// Read bursts accepted.
    pub read_bursts: u64,
    /// Read beats delivered.
    pub read_beats: u64,
    /// Write bursts accepted.
    pub write_bursts: u64,
    /// Write beats accepted.
    pub write_beats: u64,
    /// Read bursts answered SLVERR (outside every buffer).
    pub slverr_reads: u64,
    /// Write bursts answered SLVERR.
    pub slverr_writes: u64,
    /// Bursts that broke the accelerator's AXI promises (length, 4 KiB, size, WLAST).
    pub protocol_errors: u64,
    /// Most read bursts outstanding at once.
    pub max_outstanding_reads: u64,
    /// Most write bursts awaiting data at once.
    pub max_outstanding_writes: u64,
    /// Cycles (in check mode) where a DUT output depended combinationally
    /// on an input: must be 0 for the fast mode to be exact.
    pub comb_output_changes: u64,
    /// The first burst answered SLVERR: bus address (bit 63 set for a
    /// write) and beats; 0 if none.
    pub first_slverr: (u64, u64),
}

type NewFn = unsafe extern "C" fn(*const c_char) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type TimingFn = unsafe extern "C" fn(*mut c_void, u64, u64, u64, u64);
type AddMemFn = unsafe extern "C" fn(*mut c_void, u64, *mut u8, u64);
type HFn = unsafe extern "C" fn(*mut c_void);
type ResetFn = unsafe extern "C" fn(*mut c_void, u32);
type WriteFn = unsafe extern "C" fn(*mut c_void, u32, u32, u64) -> u32;
type ReadFn = unsafe extern "C" fn(*mut c_void, u32, *mut u32, u64) -> u32;
type RunFn = unsafe extern "C" fn(*mut c_void, u64) -> u64;
type U32Fn = unsafe extern "C" fn(*mut c_void) -> u32;
type U64Fn = unsafe extern "C" fn(*mut c_void) -> u64;
type StatsFn = unsafe extern "C" fn(*mut c_void, *mut u64, u32) -> u32;
type ConstFn = unsafe extern "C" fn() -> u32;
type ModeFn = unsafe extern "C" fn(*mut c_void, u32, u32);
type HangFn = unsafe extern "C" fn(*mut c_void, u64, u32);

/// The entry points of one loaded library.
struct Api {
    new: NewFn,
    free: FreeFn,
    timing: TimingFn,
    add_mem: AddMemFn,
    clear_mem: HFn,
    reset: ResetFn,
    write: WriteFn,
    read: ReadFn,
    run: RunFn,
    irq: U32Fn,
    cycles: U64Fn,
    stats: StatsFn,
    outstanding: U64Fn,
    flush: HFn,
    mode: ModeFn,
    hang: HangFn,
    hung: U32Fn,
    data_bits: u32,
    // Keeps the code above mapped.
    _lib: Library,
}

impl Api {
    fn load(path: &Path) -> Result<Api, SimError> {
        let err = |e: libloading::Error| SimError::Load(format!("{}: {e}", path.display()));
        // SAFETY: the library is one this crate built from csrc/shim.cpp;
        // its initializers are Verilator's and the shim's, which have no
        // side effects beyond their own statics.
        let lib = unsafe { Library::new(path) }.map_err(err)?;
        // SAFETY: each symbol is looked up with the signature shim.cpp
        // declares for it (checked by the ABI version below).
        unsafe {
            fn get<T: Copy>(lib: &Library, name: &[u8]) -> Result<T, libloading::Error> {
                // SAFETY: see the caller.
                let s: Symbol<T> = unsafe { lib.get(name) }?;
                Ok(*s)
            }
            let abi: ConstFn = get(&lib, b"zf_abi_version\0").map_err(err)?;
            if abi() != ABI_VERSION {
                return Err(SimError::Load(format!("{}: shim ABI {} (expected {ABI_VERSION})", path.display(), abi())));
            }
            let bits: ConstFn = get(&lib, b"zf_data_bits\0").map_err(err)?;
            Ok(Api {
                new: get(&lib, b"zf_new\0").map_err(err)?,
                free: get(&lib, b"zf_free\0").map_err(err)?,
                timing: get(&lib, b"zf_set_timing\0").map_err(err)?,
                add_mem: get(&lib, b"zf_add_memory\0").map_err(err)?,
                clear_mem: get(&lib, b"zf_clear_memory\0").map_err(err)?,
                reset: get(&lib, b"zf_reset\0").map_err(err)?,
                write: get(&lib, b"zf_reg_write\0").map_err(err)?,
                read: get(&lib, b"zf_reg_read\0").map_err(err)?,
                run: get(&lib, b"zf_run\0").map_err(err)?,
                irq: get(&lib, b"zf_interrupt\0").map_err(err)?,
                cycles: get(&lib, b"zf_cycles\0").map_err(err)?,
                stats: get(&lib, b"zf_stats\0").map_err(err)?,
                outstanding: get(&lib, b"zf_outstanding\0").map_err(err)?,
                flush: get(&lib, b"zf_flush_trace\0").map_err(err)?,
                mode: get(&lib, b"zf_set_mode\0").map_err(err)?,
                hang: get(&lib, b"zf_set_hang\0").map_err(err)?,
                hung: get(&lib, b"zf_hung\0").map_err(err)?,
                data_bits: bits(),
                _lib: lib,
            })
        }
    }
}

/// Libraries loaded in this process, by path (each is loaded once).
fn loaded(path: &Path) -> Result<Arc<Api>, SimError> {
    static LIBS: OnceLock<Mutex<HashMap<PathBuf, Arc<Api>>>> = OnceLock::new();
    let mut libs = LIBS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(a) = libs.get(path) {
        return Ok(a.clone());
    }
    let a = Arc::new(Api::load(path)?);
    libs.insert(path.to_path_buf(), a.clone());
    Ok(a)
}

/// One simulated accelerator. Host memory registered with
/// [`Harness::add_memory`] is read and written by the simulated AXI4 slave
/// during [`Harness::run`] and the register calls.
pub struct Harness {
    api: Arc<Api>,
    h: *mut c_void,
    built: Built,
}

// SAFETY: the C++ object is used by one thread at a time (`&mut self`), and
// Verilator models with their own context may move between threads.
unsafe impl Send for Harness {}

impl Harness {
    /// Builds (or finds cached) the library of `config`, loads it, creates
    /// the model with a waveform to `trace` if given, and resets it.
    pub fn new(config: &ArrayConfig, opts: &BuildOptions, trace: Option<&Path>) -> Result<Harness, SimError> {
        let built = build(config, opts)?;
        let api = loaded(&built.lib)?;
        if api.data_bits != u32::from(config.bus_bytes) * 8 {
            return Err(SimError::Load(format!(
                "{}: built for a {}-bit bus, `{}` has {}",
                built.lib.display(),
                api.data_bits,
                config.name,
                config.bus_bytes * 8
            )));
        }
        let trace = match trace {
            Some(p) => Some(
                CString::new(p.to_string_lossy().as_bytes())
                    .map_err(|_| SimError::Load(format!("trace path {} holds a NUL", p.display())))?,
            ),
            None => None,
        };
        // SAFETY: a valid (or null) C string; the shim copies it.
        let h = unsafe { (api.new)(trace.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())) };
        if h.is_null() {
            return Err(SimError::Load("zf_new returned null".into()));
        }
        let mut s = Harness { api, h, built };
        s.reset(4);
        Ok(s)
    }

    /// The library in use.
    pub fn built(&self) -> &Built {
        &self.built
    }

    /// Holds reset for `cycles` cycles.
    pub fn reset(&mut self, cycles: u32) {
        // SAFETY: `h` is live until drop.
        unsafe { (self.api.reset)(self.h, cycles) }
    }

    /// Sets the memory timing; every value must be ≥ 1.
    pub fn set_timing(&mut self, t: MemTiming) {
        let m = |v: u64| v.max(1);
        // SAFETY: `h` is live.
        unsafe {
            (self.api.timing)(
                self.h,
                m(t.read_latency),
                m(t.write_resp_latency),
                m(t.read_beat_interval),
                m(t.write_beat_interval),
            )
        }
    }

    /// Registers `len` bytes at `ptr` as bus addresses `base..base+len`.
    ///
    /// # Safety
    /// `ptr[..len]`, rounded up to a whole bus beat, must stay valid (and
    /// readable), and not be accessed through a Rust
    /// reference while a harness call runs, until [`Harness::clear_memory`]
    /// or the drop of the harness.
    pub unsafe fn add_memory(&mut self, base: u64, ptr: *mut u8, len: usize) {
        // SAFETY: the caller's promise.
        unsafe { (self.api.add_mem)(self.h, base, ptr, len as u64) }
    }

    /// Forgets all registered memory.
    pub fn clear_memory(&mut self) {
        // SAFETY: `h` is live.
        unsafe { (self.api.clear_mem)(self.h) }
    }

    /// Writes a register through the AXI4-Lite master.
    pub fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), SimError> {
        // SAFETY: `h` is live.
        let r = unsafe { (self.api.write)(self.h, offset, value, LITE_LIMIT) };
        lite(r, "write", offset)
    }

    /// Reads a register through the AXI4-Lite master.
    pub fn read_reg(&mut self, offset: u32) -> Result<u32, SimError> {
        let mut v = 0u32;
        // SAFETY: `h` is live; `v` is a valid out pointer.
        let r = unsafe { (self.api.read)(self.h, offset, &mut v, LITE_LIMIT) };
        lite(r, "read", offset)?;
        Ok(v)
    }

    /// Runs until the interrupt is up or `max_cycles` have passed; returns
    /// the cycles run.
    pub fn run(&mut self, max_cycles: u64) -> u64 {
        // SAFETY: `h` is live.
        unsafe { (self.api.run)(self.h, max_cycles) }
    }

    /// The interrupt line.
    pub fn interrupt(&self) -> bool {
        // SAFETY: `h` is live.
        unsafe { (self.api.irq)(self.h) != 0 }
    }

    /// Clock cycles since creation.
    pub fn cycles(&self) -> u64 {
        // SAFETY: `h` is live.
        unsafe { (self.api.cycles)(self.h) }
    }

    /// Memory transactions still in flight.
    pub fn outstanding(&self) -> u64 {
        // SAFETY: `h` is live.
        unsafe { (self.api.outstanding)(self.h) }
    }

    /// The memory model's statistics.
    pub fn mem_stats(&self) -> MemStats {
        let mut v = [0u64; 12];
        // SAFETY: `h` is live; `v` holds 12 values.
        unsafe { (self.api.stats)(self.h, v.as_mut_ptr(), v.len() as u32) };
        MemStats {
            read_bursts: v[0],
            read_beats: v[1],
            write_bursts: v[2],
            write_beats: v[3],
            slverr_reads: v[4],
            slverr_writes: v[5],
            protocol_errors: v[6],
            max_outstanding_reads: v[7],
            max_outstanding_writes: v[8],
            comb_output_changes: v[9],
            first_slverr: (v[10], v[11]),
        }
    }

    /// Fault injection: with `Some(n)`, the memory stops answering once `n`
    /// more read beats have been delivered (0: at once) — no read beat, no
    /// write ready, no write response; addresses are still accepted — until
    /// `set_hang(None)`, which lets it answer what it accepted meanwhile.
    pub fn set_hang(&mut self, after_read_beats: Option<u64>) {
        // SAFETY: `h` is live.
        unsafe { (self.api.hang)(self.h, after_read_beats.unwrap_or(0), u32::from(after_read_beats.is_some())) }
    }

    /// Whether the fault of [`Harness::set_hang`] has struck (the memory is
    /// silent now).
    pub fn hung(&self) -> bool {
        // SAFETY: `h` is live.
        unsafe { (self.api.hung)(self.h) != 0 }
    }

    /// Evaluation mode: `fast` = one evaluation per cycle (the default;
    /// tracing and reset always use two); `check` (with `fast` off) counts
    /// cycles where an output depended combinationally on an input
    /// ([`MemStats::comb_output_changes`]).
    pub fn set_mode(&mut self, fast: bool, check: bool) {
        // SAFETY: `h` is live.
        unsafe { (self.api.mode)(self.h, u32::from(fast), u32::from(check)) }
    }

    /// Flushes the waveform (it is closed on drop).
    pub fn flush_trace(&mut self) {
        // SAFETY: `h` is live.
        unsafe { (self.api.flush)(self.h) }
    }
}

fn lite(r: u32, what: &str, offset: u32) -> Result<(), SimError> {
    match r {
        0 => Ok(()),
        0x100 => Err(SimError::Bus(format!(
            "register {what} at {offset:#x}: no AXI4-Lite response within {LITE_LIMIT} cycles"
        ))),
        resp => Err(SimError::Bus(format!("register {what} at {offset:#x}: AXI4-Lite response {resp:#x}"))),
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // SAFETY: `h` came from `new` and is freed once.
        unsafe { (self.api.free)(self.h) }
    }
}

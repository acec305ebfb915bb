//! The runtime: one [`Accelerator`] drives every backend through the
//! [`Platform`] trait — open and check the device, upload a program once, run
//! frames.
//!
//! Safety rules it keeps (DESIGN.md, "Host driver"):
//! - every bus address it writes into a descriptor or register lies inside a
//!   buffer it allocated: [`Accelerator::load`] checks each descriptor's
//!   ranges against the buffer that must hold them, not just the window;
//! - every wait has a deadline; on a timeout the device is soft-reset and
//!   the error says so, and the next run starts clean;
//! - a status error names the failing layer and the error code.

use crate::compiler::{Image, OutLayout, Program};
use crate::cpu::ops;
use crate::cpu::quant_net::finish_flow;
use crate::graph::Op;
use crate::platform::{DmaBuffer, Platform, PlatformError, Wait};
use crate::{FTensor, QTensor, RawTensor};
use std::ops::Range;
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};
use zynqflow_isa::{regs, validate, Capabilities, Descriptor, ErrorCode, DESCRIPTOR_BYTES};

/// Errors of the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The backend failed.
    #[error("{backend}: {source}")]
    Platform {
        /// Backend name.
        backend: &'static str,
        /// Cause.
        source: PlatformError,
    },
    /// The ID register does not hold the accelerator's ID.
    #[error("{backend}: no zynqflow accelerator: ID register is {found:#010x}, expected {expected:#010x}")]
    WrongId {
        /// Backend name.
        backend: &'static str,
        /// Expected value.
        expected: u32,
        /// Value read.
        found: u32,
    },
    /// Another major version of the contract.
    #[error("{backend}: accelerator implements contract version {found_major}.{found_minor}, this driver needs {expected}.x")]
    WrongVersion {
        /// Backend name.
        backend: &'static str,
        /// Major this driver implements.
        expected: u16,
        /// Major found.
        found_major: u16,
        /// Minor found.
        found_minor: u16,
    },
    /// The program needs something the device cannot do.
    #[error("layer '{layer}': the accelerator cannot run it: {code}")]
    Unsupported {
        /// Layer.
        layer: String,
        /// Failing check.
        code: ErrorCode,
    },
    /// A linked address would fall outside the buffer that must hold it.
    #[error("layer '{layer}': {what} {range:x?} lies outside its DMA buffer {buffer:x?}")]
    AddressOutsideBuffer {
        /// Layer.
        layer: String,
        /// Which tensor.
        what: &'static str,
        /// Bus range.
        range: Range<u64>,
        /// The buffer's bus range.
        buffer: Range<u64>,
    },
    /// The device reported an error status.
    #[error("accelerator stopped at descriptor {index} ('{layer}'): {code}")]
    Device {
        /// Descriptor index.
        index: u32,
        /// Layer name.
        layer: String,
        /// Error code.
        code: String,
    },
    /// No interrupt before the deadline.
    #[error("{backend}: no interrupt within {timeout:?} ({done} of {total} descriptors done); the accelerator was soft-reset")]
    Timeout {
        /// Backend name.
        backend: &'static str,
        /// Deadline used.
        timeout: Duration,
        /// Descriptors completed.
        done: u32,
        /// Descriptors submitted.
        total: usize,
    },
    /// A buffer above the 32-bit bus address space the descriptors can reach.
    #[error("{backend}: DMA buffers end at bus address {end:#x}, above the accelerator's 32-bit reach")]
    AddressTooHigh {
        /// Backend name.
        backend: &'static str,
        /// End of the highest buffer.
        end: u64,
    },
    /// Input frames of the wrong shape.
    #[error("frames are {found:?} (h, w, c), the program expects {expected:?}")]
    BadInput {
        /// Expected.
        expected: (usize, usize, usize),
        /// Found.
        found: (usize, usize, usize),
    },
}

/// The performance counters of the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Busy cycles.
    pub busy_cycles: u64,
    /// Cycles stalled on memory.
    pub stall_cycles: u64,
    /// Useful multiply-accumulates.
    pub macs: u64,
    /// Descriptors completed.
    pub commands: u32,
}

/// What a run of an image returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Activation codes.
    Codes(QTensor),
    /// Raw accumulators.
    Raw(RawTensor),
}

/// An image resident on the device: its buffers and linked descriptors.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The image.
    pub image: Image,
    /// Weights and thresholds.
    pub weights: DmaBuffer,
    /// Activations (input, intermediates, output).
    pub arena: DmaBuffer,
    /// The descriptor list.
    pub commands: DmaBuffer,
    /// Descriptors as written.
    pub descriptors: Vec<Descriptor>,
}

/// An open accelerator on some backend.
pub struct Accelerator<P: Platform> {
    platform: P,
    caps: Capabilities,
}

/// How long [`Accelerator::open`] lets a run it finds in progress finish
/// before it soft-resets the device anyway. A whole LmFlowNetS frame at
/// 384×512 takes about 0.4 s on `pynq-z2` at 100 MHz (docs/performance.md).
pub const OPEN_SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Polls `STATUS.BUSY`, sleeping `pause` between reads, until it is clear
/// (`Some(time waited)`) or `limit` has passed (`None`). The one wait on
/// an idle device outside a run; `open` and the timeout path use it.
fn wait_while_busy<P: Platform>(p: &mut P, limit: Duration, pause: Duration) -> Result<Option<Duration>, RuntimeError> {
    let b = p.name();
    let t0 = Instant::now();
    while pe(b, p.read_reg(regs::STATUS))? & regs::STATUS_BUSY != 0 {
        if t0.elapsed() >= limit {
            return Ok(None);
        }
        std::thread::sleep(pause);
    }
    Ok(Some(t0.elapsed()))
}

/// Waits, up to `timeout`, for a run left by an earlier process (one killed
/// mid-run: its lock is gone, its list still runs) to finish, polling
/// `STATUS.BUSY`: the soft reset stops a run mid-layer (its AXI bursts in
/// flight are drained, not abandoned, `hdl/src/axi_drain.rs`), so `open`
/// resets an idle device when it can. A device still busy at the deadline is reset all the same (it is
/// hung: nothing else will free it), with a warning.
fn settle_before_reset<P: Platform>(platform: &mut P, timeout: Duration) -> Result<(), RuntimeError> {
    let b = platform.name();
    if pe(b, platform.read_reg(regs::STATUS))? & regs::STATUS_BUSY == 0 {
        return Ok(());
    }
    log::info!("{b}: the device is busy with an earlier run; letting it finish before the reset (up to {timeout:?})");
    match wait_while_busy(platform, timeout, Duration::from_millis(1))? {
        Some(took) => log::info!("{b}: the earlier run finished after {took:?}"),
        None => log::warn!("{b}: the device is still busy after {timeout:?}: soft-resetting a run in progress"),
    }
    Ok(())
}

/// How long the runtime, having soft-reset a run that missed its deadline,
/// waits for the drain of the AXI bursts in flight (`STATUS.BUSY` clear)
/// before it reports the timeout. A drain takes microseconds on a board; a
/// device still busy after this is stuck on its memory, and the next start
/// (or open) waits for it with its own deadline. Short, so the timeout error
/// still comes close to the deadline.
pub const RESET_DRAIN_LIMIT: Duration = Duration::from_millis(50);

/// Soft-resets the device after a missed deadline and waits, up to
/// [`RESET_DRAIN_LIMIT`], for its drain to end, so that the device is idle
/// when the caller sees the error (a process opening it next finds no run
/// in progress).
fn reset_after_timeout<P: Platform>(p: &mut P) -> Result<(), RuntimeError> {
    let b = p.name();
    pe(b, p.write_reg(regs::CTRL, regs::CTRL_SOFT_RESET))?;
    if wait_while_busy(p, RESET_DRAIN_LIMIT, Duration::from_micros(100))?.is_none() {
        log::warn!("{b}: still draining {RESET_DRAIN_LIMIT:?} after the soft reset (its memory does not answer)");
    }
    Ok(())
}

fn pe<T>(backend: &'static str, r: Result<T, PlatformError>) -> Result<T, RuntimeError> {
    r.map_err(|source| RuntimeError::Platform { backend, source })
}

impl<P: Platform> Accelerator<P> {
    /// Opens the device: checks ID and version, reads the capabilities,
    /// lets a run left by an earlier process finish (up to
    /// [`OPEN_SETTLE_TIMEOUT`]), then soft-resets it.
    pub fn open(platform: P) -> Result<Self, RuntimeError> {
        Self::open_with_settle(platform, OPEN_SETTLE_TIMEOUT)
    }

    /// [`Accelerator::open`] with another limit on how long a run found in
    /// progress may take to finish before the soft reset.
    pub fn open_with_settle(mut platform: P, settle: Duration) -> Result<Self, RuntimeError> {
        let b = platform.name();
        let id = pe(b, platform.read_reg(regs::ID))?;
        if id != regs::ACCEL_ID {
            return Err(RuntimeError::WrongId { backend: b, expected: regs::ACCEL_ID, found: id });
        }
        let v = pe(b, platform.read_reg(regs::VERSION))?;
        if (v >> 16) as u16 != regs::VERSION_MAJOR {
            return Err(RuntimeError::WrongVersion {
                backend: b,
                expected: regs::VERSION_MAJOR,
                found_major: (v >> 16) as u16,
                found_minor: v as u16,
            });
        }
        let mut w = [0u32; 4];
        for (i, word) in w.iter_mut().enumerate() {
            *word = pe(b, platform.read_reg(regs::CAP_ARRAY + 4 * i as u32))?;
        }
        let caps = Capabilities::from_words(w);
        settle_before_reset(&mut platform, settle)?;
        pe(b, platform.write_reg(regs::CTRL, regs::CTRL_SOFT_RESET))?;
        Ok(Accelerator { platform, caps })
    }

    /// The capabilities the device reported.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The backend.
    pub fn platform(&mut self) -> &mut P {
        &mut self.platform
    }

    /// Allocates the buffers, uploads the weights and the descriptor list.
    /// Every descriptor is validated against the device's capabilities, and
    /// each of its ranges is checked to lie inside the buffer that owns it.
    pub fn load(&mut self, program: &Image) -> Result<Loaded, RuntimeError> {
        let b = self.platform.name();
        let weights = pe(b, self.platform.alloc(program.weights.len().max(64)))?;
        let arena = pe(b, self.platform.alloc(program.arena_bytes.max(64)))?;
        let commands = pe(b, self.platform.alloc(program.commands.len() * DESCRIPTOR_BYTES))?;
        let window = window_of(&[&weights, &arena, &commands]);
        if window.end > 1 << 32 {
            return Err(RuntimeError::AddressTooHigh { backend: b, end: window.end });
        }
        let descriptors = program.link(arena.bus_addr, weights.bus_addr).map_err(|(layer, addr)| {
            RuntimeError::AddressOutsideBuffer {
                layer,
                what: "an address",
                range: addr..addr + 1,
                buffer: window.clone(),
            }
        })?;
        let mut list = Vec::with_capacity(descriptors.len() * DESCRIPTOR_BYTES);
        for (c, d) in program.commands.iter().zip(&descriptors) {
            self.check_owned(&c.layer, d, &window, &arena, &weights)?;
            list.extend_from_slice(&d.to_bytes().expect("validated fields fit"));
        }
        pe(b, self.platform.write(&weights, 0, &program.weights))?;
        pe(b, self.platform.sync_for_device(&weights, 0, program.weights.len()))?;
        pe(b, self.platform.write(&commands, 0, &list))?;
        pe(b, self.platform.sync_for_device(&commands, 0, list.len()))?;
        Ok(Loaded { image: program.clone(), weights, arena, commands, descriptors })
    }

    /// Validates `d` against the capabilities and checks that each range it
    /// reads or writes lies inside the buffer that must hold it.
    fn check_owned(
        &self,
        layer: &str,
        d: &Descriptor,
        window: &Range<u64>,
        arena: &DmaBuffer,
        weights: &DmaBuffer,
    ) -> Result<(), RuntimeError> {
        let checked = validate(d, &self.caps, window)
            .map_err(|code| RuntimeError::Unsupported { layer: layer.to_string(), code })?;
        let owned = [("input", arena), ("weights", weights), ("thresholds", weights)];
        for (r, (what, buf)) in checked.reads.iter().zip(owned) {
            check_inside(layer, what, r, buf)?;
        }
        check_inside(layer, "output", &checked.write, arena)
    }

    /// Runs another list of linked descriptors over a loaded image's buffers
    /// — a sub-list, or variants of its descriptors (the benchmark runs
    /// slabs of a layer's output rows) — with the same checks as
    /// [`Accelerator::load`]: every descriptor validated, every range inside
    /// the buffer that owns it. Each entry is (index of the loaded command it
    /// stands for — errors name that layer —, descriptor). The list must not
    /// be longer than the loaded one; the loaded list is written back
    /// afterwards, so `l` stays runnable.
    pub fn execute_list(
        &mut self,
        l: &Loaded,
        list: &[(usize, Descriptor)],
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let b = self.platform.name();
        assert!(
            !list.is_empty() && list.len() <= l.descriptors.len(),
            "execute_list: 1..={} descriptors",
            l.descriptors.len()
        );
        let window = window_of(&[&l.weights, &l.arena, &l.commands]);
        let mut bytes = Vec::with_capacity(list.len() * DESCRIPTOR_BYTES);
        for (i, d) in list {
            let layer = l.image.commands.get(*i).map_or("?", |c| c.layer.as_str());
            self.check_owned(layer, d, &window, &l.arena, &l.weights)?;
            bytes.extend_from_slice(&d.to_bytes().expect("validated fields fit"));
        }
        pe(b, self.platform.write(&l.commands, 0, &bytes))?;
        pe(b, self.platform.sync_for_device(&l.commands, 0, bytes.len()))?;
        let run = self.start_and_wait(l, list.len(), &|k| list.get(k).map(|(i, _)| *i), timeout);
        let original: Vec<u8> =
            l.descriptors.iter().flat_map(|d| d.to_bytes().expect("loaded descriptors fit")).collect();
        pe(b, self.platform.write(&l.commands, 0, &original))?;
        pe(b, self.platform.sync_for_device(&l.commands, 0, original.len()))?;
        run
    }

    /// Runs a loaded image on one input tensor and reads its output back.
    pub fn run_image(&mut self, l: &Loaded, input: &QTensor, timeout: Duration) -> Result<Output, RuntimeError> {
        let (off, layout) = l.image.input;
        if input.layout != layout {
            return Err(RuntimeError::BadInput {
                expected: (layout.height, layout.width, layout.channels),
                found: (input.h(), input.w(), input.c()),
            });
        }
        let b = self.platform.name();
        let bytes: Vec<u8> = input.data.iter().flat_map(|w| w.to_le_bytes()).collect();
        pe(b, self.platform.write(&l.arena, off, &bytes))?;
        pe(b, self.platform.sync_for_device(&l.arena, off, bytes.len()))?;
        self.execute(l, timeout)?;
        let (o_off, o_layout) = l.image.output;
        let mut raw = vec![0u8; o_layout.bytes()];
        pe(b, self.platform.sync_for_cpu(&l.arena, o_off, raw.len()))?;
        pe(b, self.platform.read(&l.arena, o_off, &mut raw))?;
        Ok(match o_layout {
            OutLayout::Raw(r) => Output::Raw(RawTensor {
                layout: r,
                data: raw.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            }),
            OutLayout::Codes(a) => Output::Codes(QTensor {
                layout: a,
                data: raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect(),
            }),
        })
    }

    /// Runs a network program (loaded from `program.image`) on one frame
    /// pair (pixel codes 0..=255 at the program's input size) and returns the
    /// flow, finished on the host.
    pub fn run(
        &mut self,
        l: &Loaded,
        program: &Program,
        frames: &FTensor,
        timeout: Duration,
    ) -> Result<FTensor, RuntimeError> {
        let layout = l.image.source_layout();
        let found = (frames.h, frames.w, frames.c);
        if found != (layout.height, layout.width, layout.channels) {
            return Err(RuntimeError::BadInput { expected: (layout.height, layout.width, layout.channels), found });
        }
        let input = l.image.pack_input(crate::cpu::quant_net::input_codes(frames));
        let Output::Raw(acc) = self.run_image(l, &input, timeout)? else {
            unreachable!("network programs end in a raw flow prediction")
        };
        let acc = l.image.finish_output(acc);
        let mut flow = finish_flow(&acc, &program.flow_scale, &program.flow_bias);
        for &id in &program.epilogue {
            flow = match &program.graph.nodes[id].op {
                Op::Upsample { factor, .. } => ops::upsample_f(&flow, *factor),
                Op::Scale { factor, .. } => ops::scale_f(&flow, *factor),
                other => unreachable!("the compiler only leaves upsample and scale to the host, not {other:?}"),
            };
        }
        Ok(flow)
    }

    /// Starts the loaded descriptor list and waits for it with a deadline.
    pub fn execute(&mut self, l: &Loaded, timeout: Duration) -> Result<(), RuntimeError> {
        self.start_and_wait(l, l.descriptors.len(), &Some, timeout)
    }

    /// Starts the first `count` descriptors of `l`'s list buffer and waits
    /// for them; `command_of(k)` is the loaded command list entry `k` stands
    /// for (error messages name its layer).
    fn start_and_wait(
        &mut self,
        l: &Loaded,
        count: usize,
        command_of: &dyn Fn(usize) -> Option<usize>,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        let b = self.platform.name();
        let p = &mut self.platform;
        let window = window_of(&[&l.weights, &l.arena, &l.commands]);
        pe(b, p.write_reg(regs::STATUS, regs::STATUS_DONE | regs::STATUS_ERROR))?;
        pe(b, p.write_reg(regs::CMD_BASE, bus32(l.commands.bus_addr)))?;
        pe(b, p.write_reg(regs::CMD_COUNT, count as u32))?;
        pe(b, p.write_reg(regs::WIN_BASE, bus32(window.start)))?;
        pe(b, p.write_reg(regs::WIN_SIZE, (window.end - window.start) as u32))?;
        pe(b, p.write_reg(regs::IRQ_ENABLE, regs::IRQ_ENABLE_BIT))?;
        // Everything written to DMA memory and registers must be visible
        // before the device starts.
        fence(Ordering::SeqCst);
        // A soft reset leaves the device busy until it has drained the AXI
        // bursts it had in flight; START is ignored while busy.
        let deadline = Instant::now() + timeout;
        while pe(b, p.read_reg(regs::STATUS))? & regs::STATUS_BUSY != 0 {
            if Instant::now() >= deadline {
                reset_after_timeout(p)?;
                return Err(RuntimeError::Timeout { backend: b, timeout, done: 0, total: count });
            }
            std::hint::spin_loop();
        }
        pe(b, p.write_reg(regs::CTRL, regs::CTRL_START))?;
        let outcome = pe(b, p.wait_irq(deadline))?;
        let status = pe(b, p.read_reg(regs::STATUS))?;
        if outcome == Wait::TimedOut && status & (regs::STATUS_DONE | regs::STATUS_ERROR) == 0 {
            let done = pe(b, p.read_reg(regs::CMDS_DONE))?;
            reset_after_timeout(p)?;
            return Err(RuntimeError::Timeout { backend: b, timeout, done, total: count });
        }
        pe(b, p.write_reg(regs::STATUS, regs::STATUS_DONE | regs::STATUS_ERROR))?;
        if status & regs::STATUS_ERROR != 0 {
            let code = pe(b, p.read_reg(regs::ERROR_CODE))?;
            let index = pe(b, p.read_reg(regs::ERROR_INDEX))?;
            let layer = command_of(index as usize)
                .and_then(|i| l.image.commands.get(i))
                .map_or("?".to_string(), |c| c.layer.clone());
            let code = ErrorCode::from_code(code).map_or(format!("unknown error code {code}"), |c| c.to_string());
            return Err(RuntimeError::Device { index, layer, code });
        }
        Ok(())
    }

    /// Reads the performance counters of the last run.
    pub fn counters(&mut self) -> Result<Counters, RuntimeError> {
        let b = self.platform.name();
        let p = &mut self.platform;
        let mut pair = |lo: u32| -> Result<u64, RuntimeError> {
            let l = pe(b, p.read_reg(lo))?;
            let h = pe(b, p.read_reg(lo + 4))?;
            Ok(u64::from(h) << 32 | u64::from(l))
        };
        let busy_cycles = pair(regs::PERF_BUSY_LO)?;
        let stall_cycles = pair(regs::PERF_STALL_LO)?;
        let macs = pair(regs::PERF_MACS_LO)?;
        let commands = pe(b, self.platform.read_reg(regs::CMDS_DONE))?;
        Ok(Counters { busy_cycles, stall_cycles, macs, commands })
    }
}

/// The smallest bus range covering all the buffers.
fn window_of(bufs: &[&DmaBuffer]) -> Range<u64> {
    let start = bufs.iter().map(|b| b.bus_addr).min().expect("buffers");
    let end = bufs.iter().map(|b| b.bus_addr + b.len as u64).max().expect("buffers");
    start..end
}

fn check_inside(layer: &str, what: &'static str, r: &Range<u64>, buf: &DmaBuffer) -> Result<(), RuntimeError> {
    let b = buf.bus_range();
    if r.is_empty() || (r.start >= b.start && r.end <= b.end) {
        Ok(())
    } else {
        Err(RuntimeError::AddressOutsideBuffer { layer: layer.to_string(), what, range: r.clone(), buffer: b })
    }
}

/// A bus address below 4 GiB (checked by [`Accelerator::load`]).
fn bus32(a: u64) -> u32 {
    u32::try_from(a).expect("load() refuses buffers above 4 GiB")
}

#[cfg(test)]
mod tests;

//! Seeded random layers run on the RTL (Verilator, through [`SimPlatform`])
//! and on the functional model (`zynqflow_driver::model::Device`) over the
//! same memory image: every byte of the image and the status registers must
//! agree.

#![allow(dead_code)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};
use zynqflow_driver::model::random_layer::{self, Profile};
use zynqflow_driver::model::{BusMemory, Device, SparseMemory};
use zynqflow_driver::platform::{DmaBuffer, Platform, Wait};
use zynqflow_isa::descriptor::Descriptor;
use zynqflow_isa::regs::*;
use zynqflow_isa::{ArrayConfig, Capabilities};
use zynqflow_sim::SimPlatform;

/// A page-aligned bus address to size images at.
const FIRST_BASE: u64 = 0x1000_0000;

/// A random layer for the Verilator RTL at bus address `base`: its memory
/// image (descriptor at offset 0) and descriptor
/// (`zynqflow_driver::model::random_layer`, profile `VERILATOR`: every
/// width, several runs of passes, about one layer in ten deliberately
/// invalid to check the error path too).
pub fn layer(rng: &mut ChaCha8Rng, base: u64, caps: &Capabilities) -> (Vec<u8>, Descriptor) {
    random_layer::layer(rng, base, caps, &Profile::VERILATOR)
}

/// Registers after a run: STATUS, ERROR_CODE, ERROR_INDEX, CMDS_DONE, MACs.
pub type Regs = [u64; 5];

/// The model's run of `mem` at `base`.
pub fn model(caps: &Capabilities, mem: &[u8], base: u64) -> (Vec<u8>, Regs) {
    let mut m = SparseMemory::new();
    m.add_region(base, mem.to_vec()).unwrap();
    let mut dev = Device::new(*caps, m);
    dev.write_reg(WIN_BASE, base as u32);
    dev.write_reg(WIN_SIZE, mem.len() as u32);
    dev.write_reg(CMD_BASE, base as u32);
    dev.write_reg(CMD_COUNT, 1);
    dev.write_reg(CTRL, CTRL_START);
    let regs = [
        u64::from(dev.read_reg(STATUS)),
        u64::from(dev.read_reg(ERROR_CODE)),
        u64::from(dev.read_reg(ERROR_INDEX)),
        u64::from(dev.read_reg(CMDS_DONE)),
        dev.perf_macs(),
    ];
    (dev.memory().read(base, mem.len()).unwrap().to_vec(), regs)
}

/// The RTL; each layer gets a DMA buffer of exactly its image's length, so
/// that any access past the image (even inside its last page) is answered
/// SLVERR and shows up as a difference from the model.
pub struct Rtl {
    pub p: SimPlatform,
    pub buf: DmaBuffer,
    pub caps: Capabilities,
}

impl Rtl {
    pub fn new(config: &ArrayConfig) -> Rtl {
        // ZYNQFLOW_SIM_VERILOG=FILE: run the tests on that Verilog instead
        // (a planted bug must make them fail).
        let verilog = std::env::var_os("ZYNQFLOW_SIM_VERILOG")
            .map(|p| std::fs::read_to_string(p).expect("ZYNQFLOW_SIM_VERILOG file"));
        let opts = zynqflow_sim::BuildOptions { verilog, ..Default::default() };
        let mut p = SimPlatform::with_options(config, &opts, None).unwrap_or_else(|e| panic!("{e}"));
        // ZYNQFLOW_SIM_CHECK=1: two evaluations per cycle, counting any
        // output that depends combinationally on an input (must stay 0).
        if std::env::var_os("ZYNQFLOW_SIM_CHECK").is_some() {
            p.harness().set_mode(false, true);
        }
        let buf = p.alloc(64).unwrap();
        Rtl { p, buf, caps: config.capabilities() }
    }

    /// Runs `mem` (placed at the arena's start); returns the image after the
    /// run, the registers and the cycles.
    pub fn run(&mut self, mem: &[u8]) -> (Vec<u8>, Regs, u64) {
        let (p, base) = (&mut self.p, self.buf.bus_addr as u32);
        p.write(&self.buf, 0, mem).unwrap();
        p.write_reg(STATUS, STATUS_DONE | STATUS_ERROR).unwrap();
        p.write_reg(WIN_BASE, base).unwrap();
        p.write_reg(WIN_SIZE, mem.len() as u32).unwrap();
        p.write_reg(CMD_BASE, base).unwrap();
        p.write_reg(CMD_COUNT, 1).unwrap();
        p.write_reg(IRQ_ENABLE, IRQ_ENABLE_BIT).unwrap();
        p.write_reg(CTRL, CTRL_START).unwrap();
        let w = p.wait_irq(Instant::now() + Duration::from_secs(120)).unwrap();
        assert_eq!(w, Wait::Interrupt, "no interrupt within 120 s");
        let cycles = p.last_run_cycles().unwrap();
        let mut r = |o| u64::from(p.read_reg(o).unwrap());
        let macs = r(PERF_MACS_LO) | r(PERF_MACS_HI) << 32;
        let regs = [r(STATUS), r(ERROR_CODE), r(ERROR_INDEX), r(CMDS_DONE), macs];
        p.write_reg(STATUS, STATUS_DONE | STATUS_ERROR).unwrap();
        let mut out = vec![0u8; mem.len()];
        p.read(&self.buf, 0, &mut out).unwrap();
        (out, regs, cycles)
    }
}

/// Runs layer `seed` on both; panics with a description on any difference.
/// Returns the RTL's cycles and whether the descriptor ran (not refused).
pub fn check_layer(rtl: &mut Rtl, seed: u64) -> (u64, bool) {
    // The image's length does not depend on its (page-aligned) base: draw it
    // once to size the buffer, then again at the buffer's address.
    let (probe, _) = layer(&mut ChaCha8Rng::seed_from_u64(seed), FIRST_BASE, &rtl.caps);
    rtl.buf = rtl.p.alloc(probe.len()).unwrap();
    let base = rtl.buf.bus_addr;
    let (mem, d) = layer(&mut ChaCha8Rng::seed_from_u64(seed), base, &rtl.caps);
    assert_eq!(mem.len(), probe.len());
    let (want, regs) = model(&rtl.caps, &mem, base);
    let (got, rtl_regs, cycles) = rtl.run(&mem);
    assert_eq!(rtl_regs, regs, "seed {seed}: registers (STATUS, CODE, INDEX, DONE, MACS) RTL vs model for {d:?}");
    if let Some(i) = (0..want.len()).find(|&i| want[i] != got[i]) {
        panic!(
            "seed {seed}: memory differs first at {:#x} (model {:#04x}, RTL {:#04x}) for {d:?}",
            base + i as u64,
            want[i],
            got[i]
        );
    }
    let s = rtl.p.mem_stats();
    assert_eq!(s.protocol_errors, 0, "seed {seed}: AXI rule broken ({s:?})");
    assert_eq!(s.comb_output_changes, 0, "seed {seed}: an output depends combinationally on an input ({s:?})");
    assert_eq!(s.slverr_reads + s.slverr_writes, 0, "seed {seed}: access outside the arena ({s:?})");
    (cycles, rtl_regs[0] & u64::from(STATUS_DONE) != 0)
}

//! The bench shared by `top.rs` and `top_verilog.rs`: the whole accelerator
//! (`small` preset) in rust-hdl's simulator with an AXI4 memory and an
//! AXI4-Lite master, random layers, and the functional model's run of the
//! same image. When recording, every cycle's top-level port values are kept
//! for the co-simulation replay on the generated Verilog.
#![allow(dead_code)] // each test binary uses part of this module

use std::collections::VecDeque;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_driver::model::random_layer::{self, Profile};
use zynqflow_driver::model::{BusMemory, Device, SparseMemory};
use zynqflow_hdl::top::Accelerator;
use zynqflow_isa::descriptor::Descriptor;
use zynqflow_isa::regs::*;
use zynqflow_isa::ArrayConfig;

use crate::common::{Clocked, Driver};

pub type Small = Accelerator<64, 8, 12, 11, 64, 16, 3, 10, 4, 8, 4>;

impl Clocked for Small {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.ap_clk
    }
}

/// Base of the test memory.
pub const BASE: u64 = 0x1000_0000;

/// The DUT with an AXI4 memory (fixed read latency, always ready) and an
/// AXI4-Lite master.
pub struct Bench {
    /// Per-cycle port values (inputs before the edge, outputs after it), when recording.
    pub log: Option<Vec<(Vec<u64>, Vec<u64>)>>,
    pub d: Driver<Small>,
    pub mem: Vec<u8>,
    reads: VecDeque<(u64, u32, u64)>,
    rbeat: u32,
    writes: VecDeque<(u64, u32)>,
    wbeat: u32,
    b_pending: u32,
    pub cycle: u64,
    latency: u64,
}

/// DUT outputs sampled before an edge.
#[derive(Default)]
struct Seen {
    awready: bool,
    wready: bool,
    bvalid: bool,
    arready: bool,
    rvalid: bool,
    rdata: u32,
}

impl Bench {
    pub fn new(mem: Vec<u8>, latency: u64) -> Self {
        Self::with_log(mem, latency, false)
    }

    /// A bench that records every cycle's port values when `record`.
    pub fn with_log(mem: Vec<u8>, latency: u64, record: bool) -> Self {
        let mut uut = Small::new(&ArrayConfig::small());
        uut.ap_rst_n.next = false;
        let d = Driver::new(uut);
        let log = record.then(Vec::new);
        let mut b = Bench {
            log,
            d,
            mem,
            reads: VecDeque::new(),
            rbeat: 0,
            writes: VecDeque::new(),
            wbeat: 0,
            b_pending: 0,
            cycle: 0,
            latency,
        };
        for _ in 0..3 {
            b.tick();
        }
        b.d.uut.ap_rst_n.next = true;
        b
    }

    /// One clock edge, recorded when logging.
    fn tick(&mut self) {
        if let Some(log) = &mut self.log {
            self.d.settle();
            let ins = ports::input_values(&self.d.uut);
            self.d.tick();
            let outs = ports::output_values(&self.d.uut);
            log.push((ins, outs));
        } else {
            self.d.tick();
        }
    }

    fn word(&self, addr: u64) -> u64 {
        let off = addr.checked_sub(BASE).expect("read below memory") as usize;
        u64::from_le_bytes(self.mem[off..off + 8].try_into().expect("read past memory"))
    }

    /// One clock cycle: memory answers, DUT settles, edge, memory updates.
    fn step(&mut self) -> Seen {
        let u = &mut self.d.uut;
        u.m_axi_gmem_arready.next = true;
        u.m_axi_gmem_awready.next = true;
        u.m_axi_gmem_wready.next = true;
        let rvalid = self.reads.front().is_some_and(|r| self.cycle >= r.2);
        let (raddr, rlen) = self.reads.front().map_or((BASE, 1), |r| (r.0, r.1));
        let rword = if rvalid { self.word(raddr + 8 * u64::from(self.rbeat)) } else { 0 };
        let u = &mut self.d.uut;
        u.m_axi_gmem_rvalid.next = rvalid;
        u.m_axi_gmem_rdata.next = rword.into();
        u.m_axi_gmem_rlast.next = rvalid && self.rbeat + 1 == rlen;
        u.m_axi_gmem_rresp.next = 0u64.into();
        u.m_axi_gmem_bvalid.next = self.b_pending > 0;
        u.m_axi_gmem_bresp.next = 0u64.into();
        self.d.settle();
        let u = &self.d.uut;
        let ar = u
            .m_axi_gmem_arvalid
            .val()
            .then(|| (u.m_axi_gmem_araddr.val().index() as u64, u.m_axi_gmem_arlen.val().index() as u32 + 1));
        let rtake = rvalid && u.m_axi_gmem_rready.val();
        let aw = u
            .m_axi_gmem_awvalid
            .val()
            .then(|| (u.m_axi_gmem_awaddr.val().index() as u64, u.m_axi_gmem_awlen.val().index() as u32 + 1));
        let w = u.m_axi_gmem_wvalid.val().then(|| {
            (u.m_axi_gmem_wdata.val().to_u64(), u.m_axi_gmem_wstrb.val().index() as u8, u.m_axi_gmem_wlast.val())
        });
        let btake = self.b_pending > 0 && u.m_axi_gmem_bready.val();
        let seen = Seen {
            awready: u.s_axi_control_awready.val(),
            wready: u.s_axi_control_wready.val(),
            bvalid: u.s_axi_control_bvalid.val(),
            arready: u.s_axi_control_arready.val(),
            rvalid: u.s_axi_control_rvalid.val(),
            rdata: u.s_axi_control_rdata.val().index() as u32,
        };
        if let Some((a, len)) = ar {
            assert!(len <= 16 && (a & 4095) + 8 * u64::from(len) <= 4096, "read burst {a:#x}+{len} breaks the rules");
        }
        self.tick();
        self.cycle += 1;
        if let Some((a, len)) = ar {
            self.reads.push_back((a, len, self.cycle + self.latency));
        }
        if rtake {
            self.rbeat += 1;
            if self.rbeat == rlen {
                self.reads.pop_front();
                self.rbeat = 0;
            }
        }
        if let Some((a, len)) = aw {
            assert!(len <= 16 && (a & 4095) + 8 * u64::from(len) <= 4096, "write burst {a:#x}+{len} breaks the rules");
            self.writes.push_back((a, len));
        }
        if let Some((data, strb, last)) = w {
            let (a, len) = *self.writes.front().expect("write data before its address (this memory wants AW first)");
            let addr = a + 8 * u64::from(self.wbeat);
            let off = (addr - BASE) as usize;
            for (i, byte) in data.to_le_bytes().iter().enumerate() {
                if strb >> i & 1 == 1 {
                    self.mem[off + i] = *byte;
                }
            }
            self.wbeat += 1;
            assert_eq!(last, self.wbeat == len, "wlast on beat {} of {len}", self.wbeat);
            if last {
                self.writes.pop_front();
                self.wbeat = 0;
                self.b_pending += 1;
            }
        }
        if btake {
            self.b_pending -= 1;
        }
        seen
    }

    fn write_reg(&mut self, offset: u32, value: u32) {
        let u = &mut self.d.uut;
        u.s_axi_control_awaddr.next = u64::from(offset).into();
        u.s_axi_control_awvalid.next = true;
        u.s_axi_control_wdata.next = u64::from(value).into();
        u.s_axi_control_wstrb.next = 0xfu64.into();
        u.s_axi_control_wvalid.next = true;
        u.s_axi_control_bready.next = true;
        let (mut aw, mut w) = (false, false);
        for _ in 0..50 {
            let s = self.step();
            aw |= s.awready;
            w |= s.wready;
            if aw {
                self.d.uut.s_axi_control_awvalid.next = false;
            }
            if w {
                self.d.uut.s_axi_control_wvalid.next = false;
            }
            if s.bvalid {
                self.d.uut.s_axi_control_bready.next = false;
                return;
            }
        }
        panic!("register write {offset:#x} never answered");
    }

    fn read_reg(&mut self, offset: u32) -> u32 {
        let u = &mut self.d.uut;
        u.s_axi_control_araddr.next = u64::from(offset).into();
        u.s_axi_control_arvalid.next = true;
        u.s_axi_control_rready.next = true;
        for _ in 0..50 {
            let s = self.step();
            if s.arready {
                self.d.uut.s_axi_control_arvalid.next = false;
            }
            if s.rvalid {
                self.d.uut.s_axi_control_rready.next = false;
                return s.rdata;
            }
        }
        panic!("register read {offset:#x} never answered");
    }

    /// Clears STATUS.DONE/ERROR (write 1 to clear) and waits until the
    /// interrupt line has fallen, so that the next `run` waits for its own.
    pub fn clear_status(&mut self) {
        self.write_reg(STATUS, STATUS_DONE | STATUS_ERROR);
        for _ in 0..8 {
            self.step();
        }
        assert!(!self.d.uut.interrupt.val(), "interrupt still high after clearing STATUS");
    }

    /// Runs the list; returns (STATUS, ERROR_CODE, ERROR_INDEX, CMDS_DONE, MACs, cycles).
    pub fn run(&mut self, cmd: u32, count: u32, win: (u32, u32), limit: u64) -> [u64; 6] {
        self.write_reg(WIN_BASE, win.0);
        self.write_reg(WIN_SIZE, win.1);
        self.write_reg(CMD_BASE, cmd);
        self.write_reg(CMD_COUNT, count);
        self.write_reg(IRQ_ENABLE, IRQ_ENABLE_BIT);
        self.write_reg(CTRL, CTRL_START);
        let t0 = self.cycle;
        while !self.d.uut.interrupt.val() {
            self.step();
            assert!(self.cycle - t0 < limit, "no interrupt after {limit} cycles");
        }
        let cycles = self.cycle - t0;
        let macs = u64::from(self.read_reg(PERF_MACS_LO)) | u64::from(self.read_reg(PERF_MACS_HI)) << 32;
        [
            u64::from(self.read_reg(STATUS)),
            u64::from(self.read_reg(ERROR_CODE)),
            u64::from(self.read_reg(ERROR_INDEX)),
            u64::from(self.read_reg(CMDS_DONE)),
            macs,
            cycles,
        ]
    }
}

/// A random small layer with its operands in a random memory image at
/// [`BASE`] (`zynqflow_driver::model::random_layer`, profile `RUST_HDL`:
/// narrow codes, small images, always valid).
pub fn layer(rng: &mut ChaCha8Rng) -> (Vec<u8>, Descriptor) {
    random_layer::layer(rng, BASE, &ArrayConfig::small().capabilities(), &Profile::RUST_HDL)
}

/// The model's run of the same image.
pub fn model(mem: &[u8], count: u32, win: (u32, u32)) -> (Vec<u8>, [u64; 5]) {
    let mut m = SparseMemory::new();
    m.add_region(BASE, mem.to_vec()).unwrap();
    let mut dev = Device::new(ArrayConfig::small().capabilities(), m);
    dev.write_reg(WIN_BASE, win.0);
    dev.write_reg(WIN_SIZE, win.1);
    dev.write_reg(CMD_BASE, BASE as u32);
    dev.write_reg(CMD_COUNT, count);
    dev.write_reg(CTRL, CTRL_START);
    let regs = [
        u64::from(dev.read_reg(STATUS)),
        u64::from(dev.read_reg(ERROR_CODE)),
        u64::from(dev.read_reg(ERROR_INDEX)),
        u64::from(dev.read_reg(CMDS_DONE)),
        dev.perf_macs(),
    ];
    let out = dev.memory().read(BASE, mem.len()).unwrap().to_vec();
    (out, regs)
}

/// Runs one random layer (`seed`) on the bench and checks it against the
/// model; returns the bench (with its log when `record`).
pub fn check_layer_with(seed: u64, record: bool) -> Bench {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mem, d) = layer(&mut rng);
    let win = (BASE as u32, mem.len() as u32);
    let (want, regs) = model(&mem, 1, win);
    let mut b = Bench::with_log(mem, 8, record);
    let got = b.run(BASE as u32, 1, win, 2_000_000);
    assert_eq!(&got[..5], &regs[..], "seed {seed}: registers (STATUS, CODE, INDEX, DONE, MACS) for {d:?}");
    if let Some(i) = (0..want.len()).find(|&i| want[i] != b.mem[i]) {
        panic!(
            "seed {seed}: memory differs first at {:#x} (model {:#04x}, RTL {:#04x}) for {d:?}",
            BASE + i as u64,
            want[i],
            b.mem[i]
        );
    }
    eprintln!(
        "seed {seed}: {} cycles, {} MACs, code {}, A{} W{}{}{}",
        got[5],
        got[4],
        got[1],
        d.a_in,
        d.w_bits,
        if d.pack_taps != 0 { ", packed taps" } else { "" },
        if d.pack_planes != 0 { ", packed planes" } else { "" }
    );
    b
}

/// A port value as a number, and its width.
pub trait PortValue {
    fn as_u64(&self) -> u64;
    fn width(&self) -> usize;
}

impl PortValue for bool {
    fn as_u64(&self) -> u64 {
        u64::from(*self)
    }
    fn width(&self) -> usize {
        1
    }
}

impl<const N: usize> PortValue for Bits<N> {
    fn as_u64(&self) -> u64 {
        assert!(N <= 64, "port of {N} bits");
        self.to_u64()
    }
    fn width(&self) -> usize {
        N
    }
}

/// The top's ports (Verilog names = field names), clock excluded.
pub mod ports {
    use super::{PortValue, Small};

    macro_rules! port_list {
        ($names:ident, $values:ident, $widths:ident: $($p:ident),* $(,)?) => {
            pub const $names: &[&str] = &[$(stringify!($p)),*];
            pub fn $values(u: &Small) -> Vec<u64> {
                vec![$(u.$p.val().as_u64()),*]
            }
            pub fn $widths(u: &Small) -> Vec<usize> {
                vec![$(u.$p.val().width()),*]
            }
        };
    }

    port_list!(INPUTS, input_values, input_widths:
        ap_rst_n, s_axi_control_awaddr, s_axi_control_awvalid, s_axi_control_wdata, s_axi_control_wstrb,
        s_axi_control_wvalid, s_axi_control_bready, s_axi_control_araddr, s_axi_control_arvalid,
        s_axi_control_rready, m_axi_gmem_arready, m_axi_gmem_rdata, m_axi_gmem_rresp, m_axi_gmem_rlast,
        m_axi_gmem_rvalid, m_axi_gmem_awready, m_axi_gmem_wready, m_axi_gmem_bresp, m_axi_gmem_bvalid);
    port_list!(OUTPUTS, output_values, output_widths:
        interrupt, s_axi_control_awready, s_axi_control_wready, s_axi_control_bresp, s_axi_control_bvalid,
        s_axi_control_arready, s_axi_control_rdata, s_axi_control_rresp, s_axi_control_rvalid,
        m_axi_gmem_araddr, m_axi_gmem_arlen, m_axi_gmem_arsize, m_axi_gmem_arburst, m_axi_gmem_arvalid,
        m_axi_gmem_rready, m_axi_gmem_awaddr, m_axi_gmem_awlen, m_axi_gmem_awsize, m_axi_gmem_awburst,
        m_axi_gmem_awvalid, m_axi_gmem_wdata, m_axi_gmem_wstrb, m_axi_gmem_wlast, m_axi_gmem_wvalid,
        m_axi_gmem_bready);
}

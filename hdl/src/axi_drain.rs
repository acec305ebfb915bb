//! `AxiDrain`: drain-then-reset between the AXI4 engines ([`crate::axi_master`])
//! and the AXI4 master port.
//!
//! A soft reset restarts the engines at once, but AXI does not let a master
//! walk away from its transactions: W beats are owed for every accepted AW,
//! R beats and B responses are still to come, and an AR/AW/W shown valid
//! without ready must stay valid, with the same payload, until its
//! handshake. `AxiDrain` sits on the port and finishes that on the engines'
//! behalf.
//!
//! # Ports
//! - `clock`, `reset` (synchronous, active high: the hard reset, which drops
//!   everything; the whole PL is reset with it).
//! - `soft_reset`: a pulse; the engines are reset at the same edge. `AxiDrain`
//!   enters DRAIN at that edge (also when nothing is outstanding: DRAIN then
//!   lasts one cycle).
//! - `draining` (output, a register): DRAIN. The top ORs it into
//!   `STATUS.BUSY`.
//! - The engine side `e_*` (the reader's AR and R, the writer's AW, W and B,
//!   as [`crate::axi_master`] names them) and the port side `m_*` (the same
//!   channels towards the slave).
//!
//! # Behaviour
//! Always, at the port: counts the read bursts outstanding (AR handshakes
//! minus R handshakes with `rlast`) and the write bursts awaiting B (AW
//! handshakes minus B handshakes); queues the `awlen` of each AW-accepted
//! burst until its last W beat (16 entries: an engine has at most 16 bursts
//! outstanding) and counts the W beats of the current burst; registers a copy
//! of what AR, AW and W present and whether it was left valid without ready.
//!
//! Outside DRAIN the two sides are wired together (no added latency). In
//! DRAIN: an AR/AW/W left valid without ready stays presented (the copy) until
//! its handshake; no new AR/AW is issued; the owed W beats are sent with
//! `wstrb = 0` and the right `wlast` (after the held beat, if any, which keeps
//! its strobes); `rready` and `bready` are high; the engines see
//! `arready`/`awready`/`wready`/`rvalid`/`bvalid` low. DRAIN ends when nothing
//! is outstanding or held.
//!
//! Every port output depends on registers and on the engines' outputs only
//! (the multiplexer selects by the `draining` register): no path from a port
//! input to a port output is added.
use rust_hdl::prelude::*;

use crate::fifo::{RegFifo, Unused};

/// The drain stage; `D`/`S` the AXI data/strobe bits. See the module docs.
#[derive(LogicBlock)]
pub struct AxiDrain<const D: usize, const S: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Hard reset (synchronous, active high): drops all state.
    pub reset: Signal<In, Bit>,
    /// Soft reset pulse: enter DRAIN at this edge.
    pub soft_reset: Signal<In, Bit>,
    /// DRAIN is active (register).
    pub draining: Signal<Out, Bit>,
    /// Engine AR address.
    pub e_araddr: Signal<In, Bits<32>>,
    /// Engine AR length − 1.
    pub e_arlen: Signal<In, Bits<8>>,
    /// Engine AR size.
    pub e_arsize: Signal<In, Bits<3>>,
    /// Engine AR burst type.
    pub e_arburst: Signal<In, Bits<2>>,
    /// Engine AR valid.
    pub e_arvalid: Signal<In, Bit>,
    /// AR ready to the engine.
    pub e_arready: Signal<Out, Bit>,
    /// R data to the engine.
    pub e_rdata: Signal<Out, Bits<D>>,
    /// R response to the engine.
    pub e_rresp: Signal<Out, Bits<2>>,
    /// R last to the engine.
    pub e_rlast: Signal<Out, Bit>,
    /// R valid to the engine.
    pub e_rvalid: Signal<Out, Bit>,
    /// Engine R ready.
    pub e_rready: Signal<In, Bit>,
    /// Engine AW address.
    pub e_awaddr: Signal<In, Bits<32>>,
    /// Engine AW length − 1.
    pub e_awlen: Signal<In, Bits<8>>,
    /// Engine AW size.
    pub e_awsize: Signal<In, Bits<3>>,
    /// Engine AW burst type.
    pub e_awburst: Signal<In, Bits<2>>,
    /// Engine AW valid.
    pub e_awvalid: Signal<In, Bit>,
    /// AW ready to the engine.
    pub e_awready: Signal<Out, Bit>,
    /// Engine W data.
    pub e_wdata: Signal<In, Bits<D>>,
    /// Engine W strobes.
    pub e_wstrb: Signal<In, Bits<S>>,
    /// Engine W last.
    pub e_wlast: Signal<In, Bit>,
    /// Engine W valid.
    pub e_wvalid: Signal<In, Bit>,
    /// W ready to the engine.
    pub e_wready: Signal<Out, Bit>,
    /// B response to the engine.
    pub e_bresp: Signal<Out, Bits<2>>,
    /// B valid to the engine.
    pub e_bvalid: Signal<Out, Bit>,
    /// Engine B ready.
    pub e_bready: Signal<In, Bit>,
    /// Port AR address.
    pub m_araddr: Signal<Out, Bits<32>>,
    /// Port AR length − 1.
    pub m_arlen: Signal<Out, Bits<8>>,
    /// Port AR size.
    pub m_arsize: Signal<Out, Bits<3>>,
    /// Port AR burst type.
    pub m_arburst: Signal<Out, Bits<2>>,
    /// Port AR valid.
    pub m_arvalid: Signal<Out, Bit>,
    /// Port AR ready.
    pub m_arready: Signal<In, Bit>,
    /// Port R data.
    pub m_rdata: Signal<In, Bits<D>>,
    /// Port R response.
    pub m_rresp: Signal<In, Bits<2>>,
    /// Port R last.
    pub m_rlast: Signal<In, Bit>,
    /// Port R valid.
    pub m_rvalid: Signal<In, Bit>,
    /// Port R ready.
    pub m_rready: Signal<Out, Bit>,
    /// Port AW address.
    pub m_awaddr: Signal<Out, Bits<32>>,
    /// Port AW length − 1.
    pub m_awlen: Signal<Out, Bits<8>>,
    /// Port AW size.
    pub m_awsize: Signal<Out, Bits<3>>,
    /// Port AW burst type.
    pub m_awburst: Signal<Out, Bits<2>>,
    /// Port AW valid.
    pub m_awvalid: Signal<Out, Bit>,
    /// Port AW ready.
    pub m_awready: Signal<In, Bit>,
    /// Port W data.
    pub m_wdata: Signal<Out, Bits<D>>,
    /// Port W strobes.
    pub m_wstrb: Signal<Out, Bits<S>>,
    /// Port W last.
    pub m_wlast: Signal<Out, Bit>,
    /// Port W valid.
    pub m_wvalid: Signal<Out, Bit>,
    /// Port W ready.
    pub m_wready: Signal<In, Bit>,
    /// Port B response.
    pub m_bresp: Signal<In, Bits<2>>,
    /// Port B valid.
    pub m_bvalid: Signal<In, Bit>,
    /// Port B ready.
    pub m_bready: Signal<Out, Bit>,
    drain: DFF<Bit>,
    rd_out: DFF<Bits<6>>,
    wb_out: DFF<Bits<6>>,
    wbeat: DFF<Bits<8>>,
    wq: RegFifo<8, 4>,
    /// The queue's `full`: never reached, an engine has at most 16 bursts outstanding.
    u_wq_full: Unused<Bit>,
    ar_hold: DFF<Bit>,
    ar_addr: DFF<Bits<32>>,
    ar_len: DFF<Bits<8>>,
    ar_size: DFF<Bits<3>>,
    ar_burst: DFF<Bits<2>>,
    aw_hold: DFF<Bit>,
    aw_addr: DFF<Bits<32>>,
    aw_len: DFF<Bits<8>>,
    aw_size: DFF<Bits<3>>,
    aw_burst: DFF<Bits<2>>,
    w_data: DFF<Bits<D>>,
    w_strb: DFF<Bits<S>>,
    ar_hs: Signal<Local, Bit>,
    r_end: Signal<Local, Bit>,
    aw_hs: Signal<Local, Bit>,
    w_hs: Signal<Local, Bit>,
    w_end: Signal<Local, Bit>,
    b_hs: Signal<Local, Bit>,
    d_wlast: Signal<Local, Bit>,
    idle: Signal<Local, Bit>,
    one6: Constant<Bits<6>>,
    zero6: Constant<Bits<6>>,
    one8: Constant<Bits<8>>,
    zero8: Constant<Bits<8>>,
    zero_s: Constant<Bits<S>>,
}

impl<const D: usize, const S: usize> AxiDrain<D, S> {
    /// A drain stage (`S = D/8`, asserted).
    pub fn new() -> Self {
        assert_eq!(S * 8, D, "AxiDrain: S must be D/8");
        AxiDrain {
            clock: Default::default(),
            reset: Default::default(),
            soft_reset: Default::default(),
            draining: Default::default(),
            e_araddr: Default::default(),
            e_arlen: Default::default(),
            e_arsize: Default::default(),
            e_arburst: Default::default(),
            e_arvalid: Default::default(),
            e_arready: Default::default(),
            e_rdata: Default::default(),
            e_rresp: Default::default(),
            e_rlast: Default::default(),
            e_rvalid: Default::default(),
            e_rready: Default::default(),
            e_awaddr: Default::default(),
            e_awlen: Default::default(),
            e_awsize: Default::default(),
            e_awburst: Default::default(),
            e_awvalid: Default::default(),
            e_awready: Default::default(),
            e_wdata: Default::default(),
            e_wstrb: Default::default(),
            e_wlast: Default::default(),
            e_wvalid: Default::default(),
            e_wready: Default::default(),
            e_bresp: Default::default(),
            e_bvalid: Default::default(),
            e_bready: Default::default(),
            m_araddr: Default::default(),
            m_arlen: Default::default(),
            m_arsize: Default::default(),
            m_arburst: Default::default(),
            m_arvalid: Default::default(),
            m_arready: Default::default(),
            m_rdata: Default::default(),
            m_rresp: Default::default(),
            m_rlast: Default::default(),
            m_rvalid: Default::default(),
            m_rready: Default::default(),
            m_awaddr: Default::default(),
            m_awlen: Default::default(),
            m_awsize: Default::default(),
            m_awburst: Default::default(),
            m_awvalid: Default::default(),
            m_awready: Default::default(),
            m_wdata: Default::default(),
            m_wstrb: Default::default(),
            m_wlast: Default::default(),
            m_wvalid: Default::default(),
            m_wready: Default::default(),
            m_bresp: Default::default(),
            m_bvalid: Default::default(),
            m_bready: Default::default(),
            drain: Default::default(),
            rd_out: Default::default(),
            wb_out: Default::default(),
            wbeat: Default::default(),
            wq: RegFifo::new(),
            u_wq_full: Default::default(),
            ar_hold: Default::default(),
            ar_addr: Default::default(),
            ar_len: Default::default(),
            ar_size: Default::default(),
            ar_burst: Default::default(),
            aw_hold: Default::default(),
            aw_addr: Default::default(),
            aw_len: Default::default(),
            aw_size: Default::default(),
            aw_burst: Default::default(),
            w_data: Default::default(),
            w_strb: Default::default(),
            ar_hs: Default::default(),
            r_end: Default::default(),
            aw_hs: Default::default(),
            w_hs: Default::default(),
            w_end: Default::default(),
            b_hs: Default::default(),
            d_wlast: Default::default(),
            idle: Default::default(),
            one6: Constant::new(1u64.into()),
            zero6: Constant::new(0u64.into()),
            one8: Constant::new(1u64.into()),
            zero8: Constant::new(0u64.into()),
            zero_s: Constant::new(0u64.into()),
        }
    }
}

impl<const D: usize, const S: usize> Default for AxiDrain<D, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const D: usize, const S: usize> Logic for AxiDrain<D, S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, drain, rd_out, wb_out, wbeat, ar_hold, ar_addr, ar_len, ar_size, ar_burst, aw_hold, aw_addr,
            aw_len, aw_size, aw_burst, w_data, w_strb
        );
        self.wq.clock.next = self.clock.val();
        self.wq.reset.next = self.reset.val();
        self.u_wq_full.i.next = self.wq.full.val();
        self.draining.next = self.drain.q.val();

        // Engine outputs / drain outputs at the port.
        self.m_araddr.next = self.e_araddr.val();
        self.m_arlen.next = self.e_arlen.val();
        self.m_arsize.next = self.e_arsize.val();
        self.m_arburst.next = self.e_arburst.val();
        self.m_arvalid.next = self.e_arvalid.val();
        self.m_rready.next = self.e_rready.val();
        self.m_awaddr.next = self.e_awaddr.val();
        self.m_awlen.next = self.e_awlen.val();
        self.m_awsize.next = self.e_awsize.val();
        self.m_awburst.next = self.e_awburst.val();
        self.m_awvalid.next = self.e_awvalid.val();
        self.m_wdata.next = self.e_wdata.val();
        self.m_wstrb.next = self.e_wstrb.val();
        self.m_wlast.next = self.e_wlast.val();
        self.m_wvalid.next = self.e_wvalid.val();
        self.m_bready.next = self.e_bready.val();
        self.e_arready.next = self.m_arready.val();
        self.e_rdata.next = self.m_rdata.val();
        self.e_rresp.next = self.m_rresp.val();
        self.e_rlast.next = self.m_rlast.val();
        self.e_rvalid.next = self.m_rvalid.val();
        self.e_awready.next = self.m_awready.val();
        self.e_wready.next = self.m_wready.val();
        self.e_bresp.next = self.m_bresp.val();
        self.e_bvalid.next = self.m_bvalid.val();
        self.d_wlast.next = self.wbeat.q.val() == self.wq.head.val();
        if self.drain.q.val() {
            self.m_araddr.next = self.ar_addr.q.val();
            self.m_arlen.next = self.ar_len.q.val();
            self.m_arsize.next = self.ar_size.q.val();
            self.m_arburst.next = self.ar_burst.q.val();
            self.m_arvalid.next = self.ar_hold.q.val();
            self.m_rready.next = true;
            self.m_awaddr.next = self.aw_addr.q.val();
            self.m_awlen.next = self.aw_len.q.val();
            self.m_awsize.next = self.aw_size.q.val();
            self.m_awburst.next = self.aw_burst.q.val();
            self.m_awvalid.next = self.aw_hold.q.val();
            self.m_wdata.next = self.w_data.q.val();
            self.m_wstrb.next = self.w_strb.q.val();
            self.m_wlast.next = self.d_wlast.val();
            self.m_wvalid.next = !self.wq.empty.val();
            self.m_bready.next = true;
            self.e_arready.next = false;
            self.e_rvalid.next = false;
            self.e_awready.next = false;
            self.e_wready.next = false;
            self.e_bvalid.next = false;
        }

        // Handshakes at the port.
        self.ar_hs.next = self.m_arvalid.val() & self.m_arready.val();
        self.r_end.next = self.m_rvalid.val() & self.m_rready.val() & self.m_rlast.val();
        self.aw_hs.next = self.m_awvalid.val() & self.m_awready.val();
        self.w_hs.next = self.m_wvalid.val() & self.m_wready.val();
        self.w_end.next = self.w_hs.val() & self.m_wlast.val();
        self.b_hs.next = self.m_bvalid.val() & self.m_bready.val();

        // Counts.
        if self.ar_hs.val() & !self.r_end.val() {
            self.rd_out.d.next = self.rd_out.q.val() + self.one6.val();
        }
        if !self.ar_hs.val() & self.r_end.val() & (self.rd_out.q.val() != self.zero6.val()) {
            self.rd_out.d.next = self.rd_out.q.val() - self.one6.val();
        }
        if self.aw_hs.val() & !self.b_hs.val() {
            self.wb_out.d.next = self.wb_out.q.val() + self.one6.val();
        }
        if !self.aw_hs.val() & self.b_hs.val() & (self.wb_out.q.val() != self.zero6.val()) {
            self.wb_out.d.next = self.wb_out.q.val() - self.one6.val();
        }
        self.wq.push.next = self.aw_hs.val();
        self.wq.din.next = self.m_awlen.val();
        self.wq.pop.next = self.w_end.val();
        if self.w_hs.val() {
            self.wbeat.d.next = self.wbeat.q.val() + self.one8.val();
        }
        if self.w_end.val() {
            self.wbeat.d.next = self.zero8.val();
        }

        // Copies of what is presented, and whether it was left waiting.
        self.ar_hold.d.next = self.m_arvalid.val() & !self.m_arready.val();
        self.aw_hold.d.next = self.m_awvalid.val() & !self.m_awready.val();
        if !self.drain.q.val() {
            self.ar_addr.d.next = self.e_araddr.val();
            self.ar_len.d.next = self.e_arlen.val();
            self.ar_size.d.next = self.e_arsize.val();
            self.ar_burst.d.next = self.e_arburst.val();
            self.aw_addr.d.next = self.e_awaddr.val();
            self.aw_len.d.next = self.e_awlen.val();
            self.aw_size.d.next = self.e_awsize.val();
            self.aw_burst.d.next = self.e_awburst.val();
            self.w_data.d.next = self.e_wdata.val();
            // The strobes survive only for a beat left waiting; the owed
            // beats after it are unstrobed.
            self.w_strb.d.next = self.zero_s.val();
            if self.e_wvalid.val() & !self.m_wready.val() {
                self.w_strb.d.next = self.e_wstrb.val();
            }
        }
        if self.drain.q.val() & self.w_hs.val() {
            self.w_strb.d.next = self.zero_s.val();
        }

        // DRAIN: from a soft reset until nothing is outstanding or held.
        self.idle.next = (self.rd_out.q.val() == self.zero6.val())
            & (self.wb_out.q.val() == self.zero6.val())
            & self.wq.empty.val()
            & !self.ar_hold.q.val()
            & !self.aw_hold.q.val();
        if self.drain.q.val() & self.idle.val() {
            self.drain.d.next = false;
        }
        if self.soft_reset.val() {
            self.drain.d.next = true;
        }
        if self.reset.val() {
            self.drain.d.next = false;
            self.rd_out.d.next = self.zero6.val();
            self.wb_out.d.next = self.zero6.val();
            self.wbeat.d.next = self.zero8.val();
            self.ar_hold.d.next = false;
            self.aw_hold.d.next = false;
            self.w_strb.d.next = self.zero_s.val();
        }
    }
}

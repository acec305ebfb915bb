//! `AxilRegs`: the accelerator's AXI4-Lite slave and register file.
//!
//! The host's only view of the accelerator: it implements the register map and
//! the run/reset semantics of [`zynqflow_isa::regs`] (every offset comes from
//! the `regs` constants, every capability word from
//! [`Capabilities::to_words`], so the map has one source of truth), and turns
//! register accesses into the few wires the command processor ("the core")
//! needs.
//!
//! # Ports
//!
//! - `clock`, `reset`: one clock; `reset` is synchronous and active high (the
//!   top converts `ap_rst_n`). Every flop of the block is cleared by it, and
//!   while it is high the block drives every `*ready` and `*valid` low.
//! - AXI4-Lite slave, 32-bit data, 12-bit address (the 4 KiB window
//!   [`regs::WINDOW_BYTES`]): `awaddr awvalid awready`, `wdata wstrb wvalid
//!   wready`, `bresp bvalid bready`, `araddr arvalid arready`, `rdata rresp
//!   rvalid rready`. The top prefixes them `s_axi_control_` so that Vivado
//!   infers the interface. No `awprot`/`arprot`: they would be ignored.
//! - To the core: `start` and `soft_reset` (one-cycle pulses from `CTRL`),
//!   `cmd_base`, `cmd_count`, `win_base`, `win_size` (the RW registers' current
//!   values), and `interrupt` (to IRQ_F2P / pl_ps_irq).
//! - From the core: `busy` (level, `STATUS.BUSY`), `done_pulse`,
//!   `error_pulse` with `error_code`/`error_index` (32 bits each, sampled in
//!   the `error_pulse` cycle), `cmds_done`, and the 64-bit counters
//!   `perf_busy`, `perf_stall`, `perf_macs` (the core clears them when it
//!   starts a run).
//!
//! # Handshakes and timing
//!
//! Cycle `t` below is the cycle in which a channel's `valid` and `ready` are
//! both high (the handshake completes at the rising edge that ends it).
//!
//! - **Write**: the AW and W channels are buffered independently (one address
//!   and one data word), so they may arrive in either order or together;
//!   `awready`/`wready` are high while that buffer is empty and no response is
//!   pending (they come from flops only: no combinational path from any input
//!   but `reset`). When the later of the two handshakes is at `t`, the register
//!   is written at the end of `t + 1` and `bvalid` (OKAY) is high from `t + 2`
//!   until `bready`: **write latency 2 cycles**; the new value, a `start` or
//!   `soft_reset` pulse and a STATUS clear are visible from `t + 2` as well. An
//!   eager master completes a write every 3 cycles.
//! - **Read**: `arready` is high while no read response is pending. The
//!   address is decoded in the handshake cycle `t` (registers and core inputs
//!   as they are in `t`), and `rvalid`/`rdata` (OKAY) are held from `t + 1`
//!   until `rready`: **read latency 1 cycle**; an eager master reads every 2
//!   cycles.
//! - One outstanding transaction per direction; reads and writes are
//!   independent. Responses are always OKAY: unknown offsets (including
//!   unaligned ones, as in the functional model) read 0 and ignore writes.
//! - `wstrb` is honoured per byte for every register; a `CTRL`, `STATUS` or
//!   `IRQ_ENABLE` bit acts only if its byte lane is strobed.
//!
//! # Register semantics (from `zynqflow_isa::regs`)
//!
//! - `ID`, `VERSION`, `CAP_ARRAY`..`CAP_BUFFERS`: constants in the generated
//!   Verilog (`localparam`s), from `ACCEL_ID`, `VERSION_WORD` and the
//!   `Capabilities` given to [`AxilRegs::new`].
//! - `CTRL` (WO, reads 0): `CTRL_START` pulses `start` for one cycle and clears
//!   `DONE`, `ERROR`, `ERROR_CODE`, `ERROR_INDEX`; it is ignored while `busy`
//!   is high (the register docs are silent there; the model never is busy).
//!   `CTRL_SOFT_RESET` pulses `soft_reset` and clears `DONE`/`ERROR` only;
//!   with both bits set it is a soft reset and nothing starts.
//! - `STATUS`: `BUSY` is the `busy` input; `DONE`/`ERROR` are set by
//!   `done_pulse`/`error_pulse` and cleared by writing 1 (W1C), by a start and
//!   by a soft reset. In one cycle, priority is: `reset` > soft reset > pulse
//!   from the core > start > W1C (a completion is never lost to a software
//!   clear; a soft reset drops a pulse of the same cycle, code included).
//! - `ERROR_CODE`/`ERROR_INDEX`: latched on `error_pulse`; kept through W1C
//!   and soft reset until the next start, which zeroes them.
//! - `IRQ_ENABLE` (RW, bit `IRQ_ENABLE_BIT` only, other bits read 0);
//!   `interrupt` is the flop of `IRQ_ENABLE && (DONE || ERROR)`, so it follows
//!   `STATUS` one cycle later: a `done_pulse` in cycle `p` is readable in
//!   `STATUS` from `p + 1` and raises `interrupt` in `p + 2`.
//! - `CMD_BASE`, `CMD_COUNT`, `WIN_BASE`, `WIN_SIZE`: RW, all 32 bits.
//! - `CMDS_DONE`: the `cmds_done` input.
//! - `PERF_*_LO`/`HI`: reading LO returns bits 31:0 of the counter input and
//!   latches bits 63:32 into a shadow register, which the HI read returns, so
//!   LO then HI gives one consistent 64-bit value of a running counter.
//!
//! Tests: `hdl/tests/axil_regs/` (an AXI4-Lite master in the rust-hdl
//! simulation, a reference model under random traffic, Verilator lint, Yosys,
//! and co-simulation of the generated Verilog with Icarus).

use rust_hdl::prelude::*;
use zynqflow_isa::{regs, Capabilities};

/// Width of `awaddr`/`araddr`: the register window is `2^ADDR_BITS` bytes.
pub const ADDR_BITS: usize = 12;

/// The AXI4-Lite register block. See the module docs for ports and timing.
#[derive(LogicBlock)]
pub struct AxilRegs {
    /// The one clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub reset: Signal<In, Bit>,

    // AXI4-Lite slave: the top prefixes each of these `s_axi_control_`.
    /// Write address (byte offset in the register window).
    pub awaddr: Signal<In, Bits<ADDR_BITS>>,
    /// Write address valid.
    pub awvalid: Signal<In, Bit>,
    /// Write address ready.
    pub awready: Signal<Out, Bit>,
    /// Write data.
    pub wdata: Signal<In, Bits<32>>,
    /// Write byte strobes.
    pub wstrb: Signal<In, Bits<4>>,
    /// Write data valid.
    pub wvalid: Signal<In, Bit>,
    /// Write data ready.
    pub wready: Signal<Out, Bit>,
    /// Write response (always OKAY).
    pub bresp: Signal<Out, Bits<2>>,
    /// Write response valid.
    pub bvalid: Signal<Out, Bit>,
    /// Write response ready.
    pub bready: Signal<In, Bit>,
    /// Read address (byte offset in the register window).
    pub araddr: Signal<In, Bits<ADDR_BITS>>,
    /// Read address valid.
    pub arvalid: Signal<In, Bit>,
    /// Read address ready.
    pub arready: Signal<Out, Bit>,
    /// Read data.
    pub rdata: Signal<Out, Bits<32>>,
    /// Read response (always OKAY).
    pub rresp: Signal<Out, Bits<2>>,
    /// Read data valid.
    pub rvalid: Signal<Out, Bit>,
    /// Read data ready.
    pub rready: Signal<In, Bit>,

    // To the core.
    /// One-cycle pulse: `CTRL.START` written while not busy.
    pub start: Signal<Out, Bit>,
    /// One-cycle pulse: `CTRL.SOFT_RESET` written.
    pub soft_reset: Signal<Out, Bit>,
    /// Interrupt line: `IRQ_ENABLE && (DONE || ERROR)`, registered.
    pub interrupt: Signal<Out, Bit>,
    /// `CMD_BASE`.
    pub cmd_base: Signal<Out, Bits<32>>,
    /// `CMD_COUNT`.
    pub cmd_count: Signal<Out, Bits<32>>,
    /// `WIN_BASE`.
    pub win_base: Signal<Out, Bits<32>>,
    /// `WIN_SIZE`.
    pub win_size: Signal<Out, Bits<32>>,

    // From the core.
    /// A run is in progress (`STATUS.BUSY`).
    pub busy: Signal<In, Bit>,
    /// One-cycle pulse: the run completed every descriptor (sets `DONE`).
    pub done_pulse: Signal<In, Bit>,
    /// One-cycle pulse: the run stopped at an error (sets `ERROR`, latches
    /// `error_code` and `error_index`).
    pub error_pulse: Signal<In, Bit>,
    /// Error code (`ErrorCode::code`, the whole `ERROR_CODE` word: 32 bits
    /// so that no width conversion is needed; synthesis trims the constant
    /// upper bits), valid with `error_pulse`.
    pub error_code: Signal<In, Bits<32>>,
    /// Index of the failing descriptor, valid with `error_pulse`.
    pub error_index: Signal<In, Bits<32>>,
    /// Descriptors completed (`CMDS_DONE`).
    pub cmds_done: Signal<In, Bits<32>>,
    /// Busy cycles of the current or last run.
    pub perf_busy: Signal<In, Bits<64>>,
    /// Memory-stall cycles of the current or last run.
    pub perf_stall: Signal<In, Bits<64>>,
    /// Useful multiply-accumulates of the current or last run.
    pub perf_macs: Signal<In, Bits<64>>,

    // Write channel: the held address, the held data with its byte mask, the
    // pending response.
    aw_held: DFF<Bit>,
    aw_addr: DFF<Bits<ADDR_BITS>>,
    w_held: DFF<Bit>,
    w_data: DFF<Bits<32>>,
    w_strb: DFF<Bits<4>>,
    b_pending: DFF<Bit>,
    // Read channel: the pending response.
    r_pending: DFF<Bit>,
    r_data: DFF<Bits<32>>,

    // Register state.
    start_out: DFF<Bit>,
    soft_reset_out: DFF<Bit>,
    interrupt_out: DFF<Bit>,
    status_done: DFF<Bit>,
    status_error: DFF<Bit>,
    irq_enable: DFF<Bit>,
    error_code_reg: DFF<Bits<32>>,
    error_index_reg: DFF<Bits<32>>,
    cmd_base_reg: DFF<Bits<32>>,
    cmd_count_reg: DFF<Bits<32>>,
    win_base_reg: DFF<Bits<32>>,
    win_size_reg: DFF<Bits<32>>,
    perf_busy_hi: DFF<Bits<32>>,
    perf_stall_hi: DFF<Bits<32>>,
    perf_macs_hi: DFF<Bits<32>>,

    // Combinational.
    aw_take: Signal<Local, Bit>,
    w_take: Signal<Local, Bit>,
    ar_take: Signal<Local, Bit>,
    write_now: Signal<Local, Bit>,
    strb_mask0: Signal<Local, Bits<32>>,
    strb_mask1: Signal<Local, Bits<32>>,
    strb_mask2: Signal<Local, Bits<32>>,
    strb_mask3: Signal<Local, Bits<32>>,
    wr_mask: Signal<Local, Bits<32>>,
    wr_bits: Signal<Local, Bits<32>>,
    wr_keep: Signal<Local, Bits<32>>,
    start_cmd: Signal<Local, Bit>,
    soft_reset_cmd: Signal<Local, Bit>,
    status_busy_word: Signal<Local, Bits<32>>,
    status_done_word: Signal<Local, Bits<32>>,
    status_error_word: Signal<Local, Bits<32>>,
    irq_enable_word: Signal<Local, Bits<32>>,
    read_value: Signal<Local, Bits<32>>,

    // Constants (localparams in the Verilog), all from `zynqflow_isa`.
    zero_addr: Constant<Bits<ADDR_BITS>>,
    zero_strb: Constant<Bits<4>>,
    resp_okay: Constant<Bits<2>>,
    byte_lane0: Constant<Bits<32>>,
    byte_lane1: Constant<Bits<32>>,
    byte_lane2: Constant<Bits<32>>,
    byte_lane3: Constant<Bits<32>>,
    id_word: Constant<Bits<32>>,
    version_word: Constant<Bits<32>>,
    cap_array_word: Constant<Bits<32>>,
    cap_bits_word: Constant<Bits<32>>,
    cap_limits_word: Constant<Bits<32>>,
    cap_buffers_word: Constant<Bits<32>>,
    ctrl_start_bit: Constant<Bits<32>>,
    ctrl_soft_reset_bit: Constant<Bits<32>>,
    status_busy_bit: Constant<Bits<32>>,
    status_done_bit: Constant<Bits<32>>,
    status_error_bit: Constant<Bits<32>>,
    irq_enable_bit: Constant<Bits<32>>,
    off_id: Constant<Bits<ADDR_BITS>>,
    off_version: Constant<Bits<ADDR_BITS>>,
    off_cap_array: Constant<Bits<ADDR_BITS>>,
    off_cap_bits: Constant<Bits<ADDR_BITS>>,
    off_cap_limits: Constant<Bits<ADDR_BITS>>,
    off_cap_buffers: Constant<Bits<ADDR_BITS>>,
    off_ctrl: Constant<Bits<ADDR_BITS>>,
    off_status: Constant<Bits<ADDR_BITS>>,
    off_irq_enable: Constant<Bits<ADDR_BITS>>,
    off_error_code: Constant<Bits<ADDR_BITS>>,
    off_error_index: Constant<Bits<ADDR_BITS>>,
    off_cmd_base: Constant<Bits<ADDR_BITS>>,
    off_cmd_count: Constant<Bits<ADDR_BITS>>,
    off_win_base: Constant<Bits<ADDR_BITS>>,
    off_win_size: Constant<Bits<ADDR_BITS>>,
    off_cmds_done: Constant<Bits<ADDR_BITS>>,
    off_perf_busy_lo: Constant<Bits<ADDR_BITS>>,
    off_perf_busy_hi: Constant<Bits<ADDR_BITS>>,
    off_perf_stall_lo: Constant<Bits<ADDR_BITS>>,
    off_perf_stall_hi: Constant<Bits<ADDR_BITS>>,
    off_perf_macs_lo: Constant<Bits<ADDR_BITS>>,
    off_perf_macs_hi: Constant<Bits<ADDR_BITS>>,
}

/// A register offset as an address constant.
fn offset(off: u32) -> Constant<Bits<ADDR_BITS>> {
    assert!(off < regs::WINDOW_BYTES && off.is_multiple_of(4), "register offset {off:#x}");
    Constant::new(u64::from(off).into())
}

/// A 32-bit word constant.
fn word(w: u32) -> Constant<Bits<32>> {
    Constant::new(u64::from(w).into())
}

impl AxilRegs {
    /// A register block reporting `caps` in its `CAP_*` registers.
    pub fn new(caps: &Capabilities) -> Self {
        assert_eq!(1u32 << ADDR_BITS, regs::WINDOW_BYTES, "address width must cover the register window");
        for r in regs::REGISTERS {
            assert!(r.offset < regs::WINDOW_BYTES, "{} outside the window", r.name);
        }
        for (name, bit) in [
            ("CTRL_START", regs::CTRL_START),
            ("CTRL_SOFT_RESET", regs::CTRL_SOFT_RESET),
            ("STATUS_BUSY", regs::STATUS_BUSY),
            ("STATUS_DONE", regs::STATUS_DONE),
            ("STATUS_ERROR", regs::STATUS_ERROR),
            ("IRQ_ENABLE_BIT", regs::IRQ_ENABLE_BIT),
        ] {
            assert_eq!(bit.count_ones(), 1, "{name} must be a single bit");
        }
        let cap = caps.to_words();
        Self {
            clock: Default::default(),
            reset: Default::default(),
            awaddr: Default::default(),
            awvalid: Default::default(),
            awready: Default::default(),
            wdata: Default::default(),
            wstrb: Default::default(),
            wvalid: Default::default(),
            wready: Default::default(),
            bresp: Default::default(),
            bvalid: Default::default(),
            bready: Default::default(),
            araddr: Default::default(),
            arvalid: Default::default(),
            arready: Default::default(),
            rdata: Default::default(),
            rresp: Default::default(),
            rvalid: Default::default(),
            rready: Default::default(),
            start: Default::default(),
            soft_reset: Default::default(),
            interrupt: Default::default(),
            cmd_base: Default::default(),
            cmd_count: Default::default(),
            win_base: Default::default(),
            win_size: Default::default(),
            busy: Default::default(),
            done_pulse: Default::default(),
            error_pulse: Default::default(),
            error_code: Default::default(),
            error_index: Default::default(),
            cmds_done: Default::default(),
            perf_busy: Default::default(),
            perf_stall: Default::default(),
            perf_macs: Default::default(),
            aw_held: Default::default(),
            aw_addr: Default::default(),
            w_held: Default::default(),
            w_data: Default::default(),
            w_strb: Default::default(),
            b_pending: Default::default(),
            r_pending: Default::default(),
            r_data: Default::default(),
            start_out: Default::default(),
            soft_reset_out: Default::default(),
            interrupt_out: Default::default(),
            status_done: Default::default(),
            status_error: Default::default(),
            irq_enable: Default::default(),
            error_code_reg: Default::default(),
            error_index_reg: Default::default(),
            cmd_base_reg: Default::default(),
            cmd_count_reg: Default::default(),
            win_base_reg: Default::default(),
            win_size_reg: Default::default(),
            perf_busy_hi: Default::default(),
            perf_stall_hi: Default::default(),
            perf_macs_hi: Default::default(),
            aw_take: Default::default(),
            w_take: Default::default(),
            ar_take: Default::default(),
            write_now: Default::default(),
            strb_mask0: Default::default(),
            strb_mask1: Default::default(),
            strb_mask2: Default::default(),
            strb_mask3: Default::default(),
            wr_mask: Default::default(),
            wr_bits: Default::default(),
            wr_keep: Default::default(),
            start_cmd: Default::default(),
            soft_reset_cmd: Default::default(),
            status_busy_word: Default::default(),
            status_done_word: Default::default(),
            status_error_word: Default::default(),
            irq_enable_word: Default::default(),
            read_value: Default::default(),
            zero_addr: Constant::new(0u64.into()),
            zero_strb: Constant::new(0u64.into()),
            resp_okay: Constant::new(0u64.into()),
            byte_lane0: word(0x0000_00ff),
            byte_lane1: word(0x0000_ff00),
            byte_lane2: word(0x00ff_0000),
            byte_lane3: word(0xff00_0000),
            id_word: word(regs::ACCEL_ID),
            version_word: word(regs::VERSION_WORD),
            cap_array_word: word(cap[0]),
            cap_bits_word: word(cap[1]),
            cap_limits_word: word(cap[2]),
            cap_buffers_word: word(cap[3]),
            ctrl_start_bit: word(regs::CTRL_START),
            ctrl_soft_reset_bit: word(regs::CTRL_SOFT_RESET),
            status_busy_bit: word(regs::STATUS_BUSY),
            status_done_bit: word(regs::STATUS_DONE),
            status_error_bit: word(regs::STATUS_ERROR),
            irq_enable_bit: word(regs::IRQ_ENABLE_BIT),
            off_id: offset(regs::ID),
            off_version: offset(regs::VERSION),
            off_cap_array: offset(regs::CAP_ARRAY),
            off_cap_bits: offset(regs::CAP_BITS),
            off_cap_limits: offset(regs::CAP_LIMITS),
            off_cap_buffers: offset(regs::CAP_BUFFERS),
            off_ctrl: offset(regs::CTRL),
            off_status: offset(regs::STATUS),
            off_irq_enable: offset(regs::IRQ_ENABLE),
            off_error_code: offset(regs::ERROR_CODE),
            off_error_index: offset(regs::ERROR_INDEX),
            off_cmd_base: offset(regs::CMD_BASE),
            off_cmd_count: offset(regs::CMD_COUNT),
            off_win_base: offset(regs::WIN_BASE),
            off_win_size: offset(regs::WIN_SIZE),
            off_cmds_done: offset(regs::CMDS_DONE),
            off_perf_busy_lo: offset(regs::PERF_BUSY_LO),
            off_perf_busy_hi: offset(regs::PERF_BUSY_HI),
            off_perf_stall_lo: offset(regs::PERF_STALL_LO),
            off_perf_stall_hi: offset(regs::PERF_STALL_HI),
            off_perf_macs_lo: offset(regs::PERF_MACS_LO),
            off_perf_macs_hi: offset(regs::PERF_MACS_HI),
        }
    }
}

// Every binary expression below is parenthesized: rust-hdl writes operators
// without parentheses, and Verilog binds `==` tighter than `&` where Rust does
// the opposite.
impl Logic for AxilRegs {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            aw_held,
            aw_addr,
            w_held,
            w_data,
            w_strb,
            b_pending,
            r_pending,
            r_data,
            start_out,
            soft_reset_out,
            interrupt_out,
            status_done,
            status_error,
            irq_enable,
            error_code_reg,
            error_index_reg,
            cmd_base_reg,
            cmd_count_reg,
            win_base_reg,
            win_size_reg,
            perf_busy_hi,
            perf_stall_hi,
            perf_macs_hi
        );

        // ---- AXI outputs: flops only (and `reset`, to stay quiet in reset).
        self.awready.next = !self.aw_held.q.val() & !self.b_pending.q.val() & !self.reset.val();
        self.wready.next = !self.w_held.q.val() & !self.b_pending.q.val() & !self.reset.val();
        self.bvalid.next = self.b_pending.q.val() & !self.reset.val();
        self.bresp.next = self.resp_okay.val();
        self.arready.next = !self.r_pending.q.val() & !self.reset.val();
        self.rvalid.next = self.r_pending.q.val() & !self.reset.val();
        self.rdata.next = self.r_data.q.val();
        self.rresp.next = self.resp_okay.val();

        // ---- Core outputs.
        self.start.next = self.start_out.q.val();
        self.soft_reset.next = self.soft_reset_out.q.val();
        self.interrupt.next = self.interrupt_out.q.val();
        self.cmd_base.next = self.cmd_base_reg.q.val();
        self.cmd_count.next = self.cmd_count_reg.q.val();
        self.win_base.next = self.win_base_reg.q.val();
        self.win_size.next = self.win_size_reg.q.val();

        // ---- Write channel: hold AW and W independently, write when both held.
        self.aw_take.next = self.awvalid.val() & !self.aw_held.q.val() & !self.b_pending.q.val() & !self.reset.val();
        self.w_take.next = self.wvalid.val() & !self.w_held.q.val() & !self.b_pending.q.val() & !self.reset.val();
        if self.aw_take.val() {
            self.aw_held.d.next = true;
            self.aw_addr.d.next = self.awaddr.val();
        }
        if self.w_take.val() {
            self.w_held.d.next = true;
            self.w_data.d.next = self.wdata.val();
            self.w_strb.d.next = self.wstrb.val();
        }
        // Both buffers full implies no response pending (neither is accepted
        // while one is).
        self.write_now.next = self.aw_held.q.val() & self.w_held.q.val();
        if self.write_now.val() {
            self.aw_held.d.next = false;
            self.w_held.d.next = false;
            self.b_pending.d.next = true;
        }
        if self.b_pending.q.val() & self.bready.val() {
            self.b_pending.d.next = false;
        }
        // The held data's byte mask, from its strobes.
        self.strb_mask0.next = 0.into();
        self.strb_mask1.next = 0.into();
        self.strb_mask2.next = 0.into();
        self.strb_mask3.next = 0.into();
        if self.w_strb.q.val().get_bit(0) {
            self.strb_mask0.next = self.byte_lane0.val();
        }
        if self.w_strb.q.val().get_bit(1) {
            self.strb_mask1.next = self.byte_lane1.val();
        }
        if self.w_strb.q.val().get_bit(2) {
            self.strb_mask2.next = self.byte_lane2.val();
        }
        if self.w_strb.q.val().get_bit(3) {
            self.strb_mask3.next = self.byte_lane3.val();
        }
        self.wr_mask.next =
            (self.strb_mask0.val() | self.strb_mask1.val()) | (self.strb_mask2.val() | self.strb_mask3.val());
        self.wr_bits.next = self.w_data.q.val() & self.wr_mask.val();
        self.wr_keep.next = !self.wr_mask.val();

        // ---- CTRL: self-clearing pulses; soft reset wins over start.
        self.soft_reset_cmd.next = false;
        self.start_cmd.next = false;
        if self.write_now.val() & (self.aw_addr.q.val() == self.off_ctrl.val()) {
            self.soft_reset_cmd.next = (self.wr_bits.val() & self.ctrl_soft_reset_bit.val()).any();
            self.start_cmd.next = (self.wr_bits.val() & self.ctrl_start_bit.val()).any()
                & !(self.wr_bits.val() & self.ctrl_soft_reset_bit.val()).any()
                & !self.busy.val();
        }
        self.start_out.d.next = self.start_cmd.val();
        self.soft_reset_out.d.next = self.soft_reset_cmd.val();

        // ---- RW registers: byte-masked merge.
        if self.write_now.val() & (self.aw_addr.q.val() == self.off_cmd_base.val()) {
            self.cmd_base_reg.d.next = (self.cmd_base_reg.q.val() & self.wr_keep.val()) | self.wr_bits.val();
        }
        if self.write_now.val() & (self.aw_addr.q.val() == self.off_cmd_count.val()) {
            self.cmd_count_reg.d.next = (self.cmd_count_reg.q.val() & self.wr_keep.val()) | self.wr_bits.val();
        }
        if self.write_now.val() & (self.aw_addr.q.val() == self.off_win_base.val()) {
            self.win_base_reg.d.next = (self.win_base_reg.q.val() & self.wr_keep.val()) | self.wr_bits.val();
        }
        if self.write_now.val() & (self.aw_addr.q.val() == self.off_win_size.val()) {
            self.win_size_reg.d.next = (self.win_size_reg.q.val() & self.wr_keep.val()) | self.wr_bits.val();
        }
        if self.write_now.val()
            & (self.aw_addr.q.val() == self.off_irq_enable.val())
            & (self.wr_mask.val() & self.irq_enable_bit.val()).any()
        {
            self.irq_enable.d.next = (self.wr_bits.val() & self.irq_enable_bit.val()).any();
        }

        // ---- STATUS and the error registers, lowest priority first (the
        // last assignment wins): W1C, start, core pulses, soft reset.
        if self.write_now.val()
            & (self.aw_addr.q.val() == self.off_status.val())
            & (self.wr_bits.val() & self.status_done_bit.val()).any()
        {
            self.status_done.d.next = false;
        }
        if self.write_now.val()
            & (self.aw_addr.q.val() == self.off_status.val())
            & (self.wr_bits.val() & self.status_error_bit.val()).any()
        {
            self.status_error.d.next = false;
        }
        if self.start_cmd.val() {
            self.status_done.d.next = false;
            self.status_error.d.next = false;
            self.error_code_reg.d.next = 0.into();
            self.error_index_reg.d.next = 0.into();
        }
        if self.done_pulse.val() & !self.soft_reset_cmd.val() {
            self.status_done.d.next = true;
        }
        if self.error_pulse.val() & !self.soft_reset_cmd.val() {
            self.status_error.d.next = true;
            self.error_code_reg.d.next = self.error_code.val();
            self.error_index_reg.d.next = self.error_index.val();
        }
        if self.soft_reset_cmd.val() {
            self.status_done.d.next = false;
            self.status_error.d.next = false;
        }
        self.interrupt_out.d.next = self.irq_enable.q.val() & (self.status_done.q.val() | self.status_error.q.val());

        // ---- Read channel: decode in the handshake cycle, hold until rready.
        self.ar_take.next = self.arvalid.val() & !self.r_pending.q.val() & !self.reset.val();
        self.status_busy_word.next = 0.into();
        self.status_done_word.next = 0.into();
        self.status_error_word.next = 0.into();
        self.irq_enable_word.next = 0.into();
        if self.busy.val() {
            self.status_busy_word.next = self.status_busy_bit.val();
        }
        if self.status_done.q.val() {
            self.status_done_word.next = self.status_done_bit.val();
        }
        if self.status_error.q.val() {
            self.status_error_word.next = self.status_error_bit.val();
        }
        if self.irq_enable.q.val() {
            self.irq_enable_word.next = self.irq_enable_bit.val();
        }
        self.read_value.next = 0.into();
        if self.araddr.val() == self.off_id.val() {
            self.read_value.next = self.id_word.val();
        } else if self.araddr.val() == self.off_version.val() {
            self.read_value.next = self.version_word.val();
        } else if self.araddr.val() == self.off_cap_array.val() {
            self.read_value.next = self.cap_array_word.val();
        } else if self.araddr.val() == self.off_cap_bits.val() {
            self.read_value.next = self.cap_bits_word.val();
        } else if self.araddr.val() == self.off_cap_limits.val() {
            self.read_value.next = self.cap_limits_word.val();
        } else if self.araddr.val() == self.off_cap_buffers.val() {
            self.read_value.next = self.cap_buffers_word.val();
        } else if self.araddr.val() == self.off_status.val() {
            self.read_value.next =
                (self.status_busy_word.val() | self.status_done_word.val()) | self.status_error_word.val();
        } else if self.araddr.val() == self.off_irq_enable.val() {
            self.read_value.next = self.irq_enable_word.val();
        } else if self.araddr.val() == self.off_error_code.val() {
            self.read_value.next = self.error_code_reg.q.val();
        } else if self.araddr.val() == self.off_error_index.val() {
            self.read_value.next = self.error_index_reg.q.val();
        } else if self.araddr.val() == self.off_cmd_base.val() {
            self.read_value.next = self.cmd_base_reg.q.val();
        } else if self.araddr.val() == self.off_cmd_count.val() {
            self.read_value.next = self.cmd_count_reg.q.val();
        } else if self.araddr.val() == self.off_win_base.val() {
            self.read_value.next = self.win_base_reg.q.val();
        } else if self.araddr.val() == self.off_win_size.val() {
            self.read_value.next = self.win_size_reg.q.val();
        } else if self.araddr.val() == self.off_cmds_done.val() {
            self.read_value.next = self.cmds_done.val();
        } else if self.araddr.val() == self.off_perf_busy_lo.val() {
            self.read_value.next = self.perf_busy.val().get_bits::<32>(0);
        } else if self.araddr.val() == self.off_perf_busy_hi.val() {
            self.read_value.next = self.perf_busy_hi.q.val();
        } else if self.araddr.val() == self.off_perf_stall_lo.val() {
            self.read_value.next = self.perf_stall.val().get_bits::<32>(0);
        } else if self.araddr.val() == self.off_perf_stall_hi.val() {
            self.read_value.next = self.perf_stall_hi.q.val();
        } else if self.araddr.val() == self.off_perf_macs_lo.val() {
            self.read_value.next = self.perf_macs.val().get_bits::<32>(0);
        } else if self.araddr.val() == self.off_perf_macs_hi.val() {
            self.read_value.next = self.perf_macs_hi.q.val();
        }
        if self.ar_take.val() {
            self.r_pending.d.next = true;
            self.r_data.d.next = self.read_value.val();
            if self.araddr.val() == self.off_perf_busy_lo.val() {
                self.perf_busy_hi.d.next = self.perf_busy.val().get_bits::<32>(32);
            }
            if self.araddr.val() == self.off_perf_stall_lo.val() {
                self.perf_stall_hi.d.next = self.perf_stall.val().get_bits::<32>(32);
            }
            if self.araddr.val() == self.off_perf_macs_lo.val() {
                self.perf_macs_hi.d.next = self.perf_macs.val().get_bits::<32>(32);
            }
        }
        if self.r_pending.q.val() & self.rready.val() {
            self.r_pending.d.next = false;
        }

        // ---- Synchronous reset: every flop.
        if self.reset.val() {
            self.aw_held.d.next = false;
            self.aw_addr.d.next = self.zero_addr.val();
            self.w_held.d.next = false;
            self.w_data.d.next = 0.into();
            self.w_strb.d.next = self.zero_strb.val();
            self.b_pending.d.next = false;
            self.r_pending.d.next = false;
            self.r_data.d.next = 0.into();
            self.start_out.d.next = false;
            self.soft_reset_out.d.next = false;
            self.interrupt_out.d.next = false;
            self.status_done.d.next = false;
            self.status_error.d.next = false;
            self.irq_enable.d.next = false;
            self.error_code_reg.d.next = 0.into();
            self.error_index_reg.d.next = 0.into();
            self.cmd_base_reg.d.next = 0.into();
            self.cmd_count_reg.d.next = 0.into();
            self.win_base_reg.d.next = 0.into();
            self.win_size_reg.d.next = 0.into();
            self.perf_busy_hi.d.next = 0.into();
            self.perf_stall_hi.d.next = 0.into();
            self.perf_macs_hi.d.next = 0.into();
        }
    }
}

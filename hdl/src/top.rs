//! `Accelerator`: the whole accelerator behind Vivado-friendly ports — the
//! AXI4-Lite register slave (`s_axi_control_*`), one AXI4 master to DDR
//! (`m_axi_gmem_*`), `interrupt`, `ap_clk` and the active-low `ap_rst_n`.
//!
//! Inside: [`AxilRegs`] ↔ [`CmdProc`] (with [`DescCheck`] and
//! [`ListCheck`]); the shared [`AxiReader`] feeds the command processor
//! (descriptors, weights, thresholds) and the [`Gatherer`] (activations);
//! `cols` activation banks (two halves each) and `rows` weight banks — block
//! RAMs with a registered read — feed the [`SystolicArray`] under the
//! [`Feeder`]'s step sequence; the array drains into the [`ThresholdUnit`]
//! (the row's record is its row index: a pass holds `rows` records), then the
//! [`OutWriter`] and the [`AxiWriter`]. Both engines reach `m_axi_gmem_*`
//! through [`AxiDrain`], which finishes their bursts in flight after a soft
//! reset (`STATUS.BUSY` meanwhile).
//!
//! Generation parameters come from one `isa::ArrayConfig` (see
//! [`crate::accelerator_verilog`]): rows, cols, bus width, bank depths.
//! `lanes` must be 1 (wider PEs are not wired through the buffers yet).
use rust_hdl::prelude::*;
use zynqflow_isa::ArrayConfig;

use crate::act_bank::ActBank;
use crate::array::SystolicArray;
use crate::axi_drain::AxiDrain;
use crate::axi_master::{AxiReader, AxiWriter};
use crate::axil_regs::{AxilRegs, ADDR_BITS};
use crate::cmdproc::CmdProc;
use crate::desc_check::{DescCheck, ListCheck, Widen};
use crate::feeder::Feeder;
use crate::fifo::{konst as k, Narrow, Unused};
use crate::gather::Gatherer;
use crate::out_writer::OutWriter;
use crate::pe::ACC_BITS;
use crate::threshold::ThresholdUnit;

/// Comparators per column in the threshold unit: 2-bit codes in one cycle.
pub const THRESHOLD_COMPARATORS: usize = 3;

/// The accelerator; see the module docs. Type parameters: `D`/`S` AXI data
/// and strobe bits, `AB`/`WB` activation/weight bank address bits,
/// `ACC_BUS = 32·cols`, `CODE_BUS = 8·cols`, `CH = log2(rows)`, `ROW_ADDR`
/// and `FIFO_ADDR` the threshold unit's, `ROWS = rows` (the output writer's
/// staging registers are exactly that wide: a hierarchical synthesis cannot
/// trim unused bits across rust-hdl's one-module-per-instance boundaries),
/// `RAW_A` the output writer's raw-row RAM address width
/// ([`crate::out_writer::raw_addr_bits`]`(rows)`).
#[derive(LogicBlock)]
pub struct Accelerator<
    const D: usize,
    const S: usize,
    const AB: usize,
    const WB: usize,
    const ACC_BUS: usize,
    const CODE_BUS: usize,
    const CH: usize,
    const ROW_ADDR: usize,
    const FIFO_ADDR: usize,
    const ROWS: usize,
    const RAW_A: usize,
> {
    /// Clock.
    pub ap_clk: Signal<In, Clock>,
    /// Reset, active low, synchronous.
    pub ap_rst_n: Signal<In, Bit>,
    /// Interrupt to the PS (IRQ_F2P / pl_ps_irq0), active high, level.
    pub interrupt: Signal<Out, Bit>,
    /// AXI4-Lite write address.
    pub s_axi_control_awaddr: Signal<In, Bits<ADDR_BITS>>,
    /// AXI4-Lite write address valid.
    pub s_axi_control_awvalid: Signal<In, Bit>,
    /// AXI4-Lite write address ready.
    pub s_axi_control_awready: Signal<Out, Bit>,
    /// AXI4-Lite write data.
    pub s_axi_control_wdata: Signal<In, Bits<32>>,
    /// AXI4-Lite write strobes.
    pub s_axi_control_wstrb: Signal<In, Bits<4>>,
    /// AXI4-Lite write data valid.
    pub s_axi_control_wvalid: Signal<In, Bit>,
    /// AXI4-Lite write data ready.
    pub s_axi_control_wready: Signal<Out, Bit>,
    /// AXI4-Lite write response.
    pub s_axi_control_bresp: Signal<Out, Bits<2>>,
    /// AXI4-Lite write response valid.
    pub s_axi_control_bvalid: Signal<Out, Bit>,
    /// AXI4-Lite write response ready.
    pub s_axi_control_bready: Signal<In, Bit>,
    /// AXI4-Lite read address.
    pub s_axi_control_araddr: Signal<In, Bits<ADDR_BITS>>,
    /// AXI4-Lite read address valid.
    pub s_axi_control_arvalid: Signal<In, Bit>,
    /// AXI4-Lite read address ready.
    pub s_axi_control_arready: Signal<Out, Bit>,
    /// AXI4-Lite read data.
    pub s_axi_control_rdata: Signal<Out, Bits<32>>,
    /// AXI4-Lite read response.
    pub s_axi_control_rresp: Signal<Out, Bits<2>>,
    /// AXI4-Lite read data valid.
    pub s_axi_control_rvalid: Signal<Out, Bit>,
    /// AXI4-Lite read data ready.
    pub s_axi_control_rready: Signal<In, Bit>,
    /// AXI4 read address.
    pub m_axi_gmem_araddr: Signal<Out, Bits<32>>,
    /// AXI4 read burst length − 1.
    pub m_axi_gmem_arlen: Signal<Out, Bits<8>>,
    /// AXI4 read beat size.
    pub m_axi_gmem_arsize: Signal<Out, Bits<3>>,
    /// AXI4 read burst type (INCR).
    pub m_axi_gmem_arburst: Signal<Out, Bits<2>>,
    /// AXI4 read address valid.
    pub m_axi_gmem_arvalid: Signal<Out, Bit>,
    /// AXI4 read address ready.
    pub m_axi_gmem_arready: Signal<In, Bit>,
    /// AXI4 read data.
    pub m_axi_gmem_rdata: Signal<In, Bits<D>>,
    /// AXI4 read response.
    pub m_axi_gmem_rresp: Signal<In, Bits<2>>,
    /// AXI4 read last beat.
    pub m_axi_gmem_rlast: Signal<In, Bit>,
    /// AXI4 read data valid.
    pub m_axi_gmem_rvalid: Signal<In, Bit>,
    /// AXI4 read data ready.
    pub m_axi_gmem_rready: Signal<Out, Bit>,
    /// AXI4 write address.
    pub m_axi_gmem_awaddr: Signal<Out, Bits<32>>,
    /// AXI4 write burst length − 1.
    pub m_axi_gmem_awlen: Signal<Out, Bits<8>>,
    /// AXI4 write beat size.
    pub m_axi_gmem_awsize: Signal<Out, Bits<3>>,
    /// AXI4 write burst type (INCR).
    pub m_axi_gmem_awburst: Signal<Out, Bits<2>>,
    /// AXI4 write address valid.
    pub m_axi_gmem_awvalid: Signal<Out, Bit>,
    /// AXI4 write address ready.
    pub m_axi_gmem_awready: Signal<In, Bit>,
    /// AXI4 write data.
    pub m_axi_gmem_wdata: Signal<Out, Bits<D>>,
    /// AXI4 write strobes.
    pub m_axi_gmem_wstrb: Signal<Out, Bits<S>>,
    /// AXI4 write last beat.
    pub m_axi_gmem_wlast: Signal<Out, Bit>,
    /// AXI4 write data valid.
    pub m_axi_gmem_wvalid: Signal<Out, Bit>,
    /// AXI4 write data ready.
    pub m_axi_gmem_wready: Signal<In, Bit>,
    /// AXI4 write response.
    pub m_axi_gmem_bresp: Signal<In, Bits<2>>,
    /// AXI4 write response valid.
    pub m_axi_gmem_bvalid: Signal<In, Bit>,
    /// AXI4 write response ready.
    pub m_axi_gmem_bready: Signal<Out, Bit>,
    regs: AxilRegs,
    cp: CmdProc,
    check: DescCheck,
    list: ListCheck,
    reader: AxiReader<D>,
    writer: AxiWriter<D, S>,
    drain: AxiDrain<D, S>,
    gather: Gatherer<AB>,
    feeder: Feeder<AB, WB>,
    array: SystolicArray<64>,
    thr: ThresholdUnit<ACC_BUS, CODE_BUS, ROW_ADDR, FIFO_ADDR>,
    outw: OutWriter<CODE_BUS, ACC_BUS, ROWS, RAW_A>,
    abanks: Vec<ActBank<AB>>,
    wbanks: Vec<RAM<Bits<64>, WB>>,
    rst: Signal<Local, Bit>,
    eng_rst: Signal<Local, Bit>,
    drain_ch: DFF<Bits<CH>>,
    /// First record of the draining tile's pass: `pass · rows`.
    drain_base: DFF<Bits<ROW_ADDR>>,
    /// The draining tile's pass in the run.
    drain_rep: DFF<Bits<16>>,
    w_drain_ch: Widen<CH, ROW_ADDR>,
    /// The run's passes, registered: read in the drain logic, a direct use
    /// of the command processor's output there makes Verilator see a loop
    /// through this block (UNOPTFLAT).
    reps_q: DFF<Bits<16>>,
    /// The run's channels, registered (as `reps_q`): drained rows of records
    /// past them are skipped by the threshold unit.
    nch_q: DFF<Bits<16>>,
    w_rec16: Widen<ROW_ADDR, 16>,
    acc_bus: Signal<Local, Bits<ACC_BUS>>,
    widen: Vec<Widen<ACC_BITS, ACC_BUS>>,
    /// The weight bank address (the command processor counts 16-bit words).
    n_wb_addr: Narrow<16, WB>,
    /// The running run's weight half (`CmdProc::w_off`).
    n_w_off: Narrow<16, WB>,
    /// The running run's record half (`CmdProc::rec_off`).
    n_rec_off: Narrow<16, ROW_ADDR>,
    /// The threshold record channel (the command processor counts 16 bits).
    n_thr_ch: Narrow<16, ROW_ADDR>,
    // Outputs the top deliberately leaves unread (`Unused` sinks):
    /// The reader's `busy`: the command processor waits for data words, not for it.
    u_reader_busy: Unused<Bit>,
    /// Every column's `out_valid` equals column 0's (array docs), which is used.
    u_out_valid: Vec<Unused<Bit>>,
    /// The threshold unit's `out_channel`: the writer places rows by order.
    u_thr_channel: Unused<Bits<ROW_ADDR>>,
    /// The threshold unit's `ready`: the feeder's tile spacing (`row_cycles`)
    /// keeps rows apart, so the array never offers a row it would refuse.
    u_thr_ready: Unused<Bit>,
    /// The threshold unit's sticky `overflow`: impossible by the same spacing;
    /// no status register reports it.
    u_thr_overflow: Unused<Bit>,
    /// The threshold unit's sticky `bad_mode`: the command processor's scan
    /// refuses bad mode words before they are loaded.
    u_thr_bad_mode: Unused<Bit>,
    /// The writer's `tile_ready`: the feeder keeps at most `out_writer::SLOTS`
    /// tiles in flight itself (`tile_done`), which is the writer's capacity.
    u_tile_ready: Unused<Bit>,
    row_idx: Vec<Constant<Bits<8>>>,
    zero_acc: Constant<Bits<ACC_BUS>>,
    hi_shift: Constant<Bits<16>>,
    one_ch: Constant<Bits<CH>>,
    last_ch: Constant<Bits<CH>>,
    zero_ch: Constant<Bits<CH>>,
    rows_ra: Constant<Bits<ROW_ADDR>>,
    zero_ra: Constant<Bits<ROW_ADDR>>,
    one16: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
}

impl<
        const D: usize,
        const S: usize,
        const AB: usize,
        const WB: usize,
        const ACC_BUS: usize,
        const CODE_BUS: usize,
        const CH: usize,
        const ROW_ADDR: usize,
        const FIFO_ADDR: usize,
        const ROWS: usize,
        const RAW_A: usize,
    > Accelerator<D, S, AB, WB, ACC_BUS, CODE_BUS, CH, ROW_ADDR, FIFO_ADDR, ROWS, RAW_A>
{
    /// The accelerator of `config`; the type parameters must match it
    /// (asserted).
    pub fn new(config: &ArrayConfig) -> Self {
        let (rows, cols) = (usize::from(config.rows), usize::from(config.cols));
        let caps = config.capabilities();
        assert_eq!(config.lanes, 1, "{}: lanes > 1 is not wired through the buffers yet", config.name);
        assert_eq!(D, usize::from(config.bus_bytes) * 8, "{}: bus width", config.name);
        assert_eq!(1usize << WB, caps.weight_words_per_row() as usize, "{}: weight bank depth", config.name);
        assert_eq!(1usize << AB, 2 * caps.act_words_per_column() as usize, "{}: activation bank depth", config.name);
        assert_eq!(1usize << CH, rows, "{}: drain row counter", config.name);
        // The threshold RAM holds 8-bit records of one pass (`rows` channels).
        let thr = ThresholdUnit::new(cols, THRESHOLD_COMPARATORS, rows, 1 << FIFO_ADDR);
        let thr_records: [usize; 16] = std::array::from_fn(|a| thr.records_for(a));
        for (a, &n) in thr_records.iter().enumerate() {
            assert_eq!(n, crate::cmdproc::threshold_records(rows, a), "{}: records of {a}-bit codes", config.name);
        }
        Accelerator {
            ap_clk: Default::default(),
            ap_rst_n: Default::default(),
            interrupt: Default::default(),
            s_axi_control_awaddr: Default::default(),
            s_axi_control_awvalid: Default::default(),
            s_axi_control_awready: Default::default(),
            s_axi_control_wdata: Default::default(),
            s_axi_control_wstrb: Default::default(),
            s_axi_control_wvalid: Default::default(),
            s_axi_control_wready: Default::default(),
            s_axi_control_bresp: Default::default(),
            s_axi_control_bvalid: Default::default(),
            s_axi_control_bready: Default::default(),
            s_axi_control_araddr: Default::default(),
            s_axi_control_arvalid: Default::default(),
            s_axi_control_arready: Default::default(),
            s_axi_control_rdata: Default::default(),
            s_axi_control_rresp: Default::default(),
            s_axi_control_rvalid: Default::default(),
            s_axi_control_rready: Default::default(),
            m_axi_gmem_araddr: Default::default(),
            m_axi_gmem_arlen: Default::default(),
            m_axi_gmem_arsize: Default::default(),
            m_axi_gmem_arburst: Default::default(),
            m_axi_gmem_arvalid: Default::default(),
            m_axi_gmem_arready: Default::default(),
            m_axi_gmem_rdata: Default::default(),
            m_axi_gmem_rresp: Default::default(),
            m_axi_gmem_rlast: Default::default(),
            m_axi_gmem_rvalid: Default::default(),
            m_axi_gmem_rready: Default::default(),
            m_axi_gmem_awaddr: Default::default(),
            m_axi_gmem_awlen: Default::default(),
            m_axi_gmem_awsize: Default::default(),
            m_axi_gmem_awburst: Default::default(),
            m_axi_gmem_awvalid: Default::default(),
            m_axi_gmem_awready: Default::default(),
            m_axi_gmem_wdata: Default::default(),
            m_axi_gmem_wstrb: Default::default(),
            m_axi_gmem_wlast: Default::default(),
            m_axi_gmem_wvalid: Default::default(),
            m_axi_gmem_wready: Default::default(),
            m_axi_gmem_bresp: Default::default(),
            m_axi_gmem_bvalid: Default::default(),
            m_axi_gmem_bready: Default::default(),
            regs: AxilRegs::new(&caps),
            cp: CmdProc::new(rows, cols, caps.weight_words_per_row() as usize, thr_records),
            check: DescCheck::new(config),
            list: ListCheck::new(),
            reader: AxiReader::new(),
            writer: AxiWriter::new(),
            drain: AxiDrain::new(),
            gather: Gatherer::new(cols),
            feeder: Feeder::new(cols),
            array: SystolicArray::new(config),
            thr,
            outw: OutWriter::new(rows, cols),
            abanks: (0..cols).map(|_| Default::default()).collect(),
            wbanks: (0..rows).map(|_| Default::default()).collect(),
            rst: Default::default(),
            eng_rst: Default::default(),
            drain_ch: Default::default(),
            drain_base: Default::default(),
            drain_rep: Default::default(),
            w_drain_ch: Default::default(),
            reps_q: Default::default(),
            nch_q: Default::default(),
            w_rec16: Default::default(),
            acc_bus: Default::default(),
            widen: (0..cols).map(|_| Default::default()).collect(),
            n_wb_addr: Default::default(),
            n_w_off: Default::default(),
            n_rec_off: Default::default(),
            n_thr_ch: Default::default(),
            u_reader_busy: Default::default(),
            u_out_valid: (0..cols).map(|_| Default::default()).collect(),
            u_thr_channel: Default::default(),
            u_thr_ready: Default::default(),
            u_thr_overflow: Default::default(),
            u_thr_bad_mode: Default::default(),
            u_tile_ready: Default::default(),
            row_idx: (0..rows as u64).map(k).collect(),
            zero_acc: k(0),
            hi_shift: k(ACC_BUS as u64 - 32),
            one_ch: k(1),
            last_ch: k(rows as u64 - 1),
            zero_ch: k(0),
            rows_ra: k(rows as u64),
            zero_ra: k(0),
            one16: k(1),
            zero16: k(0),
        }
    }
}

impl<
        const D: usize,
        const S: usize,
        const AB: usize,
        const WB: usize,
        const ACC_BUS: usize,
        const CODE_BUS: usize,
        const CH: usize,
        const ROW_ADDR: usize,
        const FIFO_ADDR: usize,
        const ROWS: usize,
        const RAW_A: usize,
    > Logic for Accelerator<D, S, AB, WB, ACC_BUS, CODE_BUS, CH, ROW_ADDR, FIFO_ADDR, ROWS, RAW_A>
{
    #[hdl_gen]
    fn update(&mut self) {
        self.rst.next = !self.ap_rst_n.val();
        // The engines restart on reset, soft reset and at each run's start.
        self.eng_rst.next = self.rst.val() | self.regs.soft_reset.val() | self.cp.clear.val();
        self.drain_ch.clock.next = self.ap_clk.val();
        self.drain_ch.d.next = self.drain_ch.q.val();
        self.drain_base.clock.next = self.ap_clk.val();
        self.drain_base.d.next = self.drain_base.q.val();
        self.drain_rep.clock.next = self.ap_clk.val();
        self.drain_rep.d.next = self.drain_rep.q.val();
        self.reps_q.clock.next = self.ap_clk.val();
        self.reps_q.d.next = self.cp.reps.val();
        self.nch_q.clock.next = self.ap_clk.val();
        self.nch_q.d.next = self.cp.run_channels.val();

        // Clocks and resets.
        self.regs.clock.next = self.ap_clk.val();
        self.regs.reset.next = self.rst.val();
        self.cp.clock.next = self.ap_clk.val();
        self.cp.reset.next = self.rst.val() | self.regs.soft_reset.val();
        self.check.clock.next = self.ap_clk.val();
        self.check.reset.next = self.eng_rst.val();
        self.reader.clock.next = self.ap_clk.val();
        self.reader.reset.next = self.eng_rst.val();
        self.writer.clock.next = self.ap_clk.val();
        self.writer.reset.next = self.eng_rst.val();
        self.gather.clock.next = self.ap_clk.val();
        self.gather.reset.next = self.eng_rst.val();
        self.feeder.clock.next = self.ap_clk.val();
        self.feeder.reset.next = self.eng_rst.val();
        self.array.clock.next = self.ap_clk.val();
        self.array.reset.next = self.eng_rst.val();
        self.thr.clock.next = self.ap_clk.val();
        self.thr.reset.next = self.eng_rst.val();
        self.outw.clock.next = self.ap_clk.val();
        self.outw.reset.next = self.eng_rst.val();
        self.drain.clock.next = self.ap_clk.val();
        self.drain.reset.next = self.rst.val();
        self.drain.soft_reset.next = self.regs.soft_reset.val();

        // AXI4-Lite slave.
        self.regs.awaddr.next = self.s_axi_control_awaddr.val();
        self.regs.awvalid.next = self.s_axi_control_awvalid.val();
        self.s_axi_control_awready.next = self.regs.awready.val();
        self.regs.wdata.next = self.s_axi_control_wdata.val();
        self.regs.wstrb.next = self.s_axi_control_wstrb.val();
        self.regs.wvalid.next = self.s_axi_control_wvalid.val();
        self.s_axi_control_wready.next = self.regs.wready.val();
        self.s_axi_control_bresp.next = self.regs.bresp.val();
        self.s_axi_control_bvalid.next = self.regs.bvalid.val();
        self.regs.bready.next = self.s_axi_control_bready.val();
        self.regs.araddr.next = self.s_axi_control_araddr.val();
        self.regs.arvalid.next = self.s_axi_control_arvalid.val();
        self.s_axi_control_arready.next = self.regs.arready.val();
        self.s_axi_control_rdata.next = self.regs.rdata.val();
        self.s_axi_control_rresp.next = self.regs.rresp.val();
        self.s_axi_control_rvalid.next = self.regs.rvalid.val();
        self.regs.rready.next = self.s_axi_control_rready.val();
        self.interrupt.next = self.regs.interrupt.val();

        // Registers ↔ command processor.
        self.cp.start.next = self.regs.start.val();
        self.cp.cmd_base.next = self.regs.cmd_base.val();
        self.cp.cmd_count.next = self.regs.cmd_count.val();
        self.list.cmd_base.next = self.regs.cmd_base.val();
        self.list.cmd_count.next = self.regs.cmd_count.val();
        self.list.win_base.next = self.regs.win_base.val();
        self.list.win_size.next = self.regs.win_size.val();
        self.cp.list_code.next = self.list.code.val();
        self.regs.busy.next = self.cp.busy.val() | self.drain.draining.val();
        self.regs.done_pulse.next = self.cp.done_pulse.val();
        self.regs.error_pulse.next = self.cp.error_pulse.val();
        self.regs.error_code.next = self.cp.error_code.val();
        self.regs.error_index.next = self.cp.error_index.val();
        self.regs.cmds_done.next = self.cp.cmds_done.val();
        self.regs.perf_busy.next = self.cp.perf_busy.val();
        self.regs.perf_stall.next = self.cp.perf_stall.val();
        self.regs.perf_macs.next = self.cp.perf_macs.val();

        // Descriptor check.
        self.check.start.next = self.cp.check_start.val();
        self.check.words.next = self.cp.words.val();
        self.check.win_base.next = self.regs.win_base.val();
        self.check.win_size.next = self.regs.win_size.val();
        self.cp.check_done.next = self.check.done.val();
        self.cp.check_code.next = self.check.code.val();

        // The reader, shared through the command processor.
        self.reader.req_valid.next = self.cp.rreq_valid.val();
        self.reader.req_addr.next = self.cp.rreq_addr.val();
        self.reader.req_words.next = self.cp.rreq_words.val();
        self.cp.rreq_ready.next = self.reader.req_ready.val();
        self.cp.rd_word.next = self.reader.out_word.val();
        self.cp.rd_valid.next = self.reader.out_valid.val();
        self.reader.out_ready.next = self.cp.rd_ready.val();
        self.cp.rd_error.next = self.reader.error.val();
        self.cp.wr_error.next = self.writer.error.val();
        self.cp.wr_busy.next = self.writer.busy.val();
        self.drain.e_araddr.next = self.reader.araddr.val();
        self.m_axi_gmem_araddr.next = self.drain.m_araddr.val();
        self.drain.e_arlen.next = self.reader.arlen.val();
        self.m_axi_gmem_arlen.next = self.drain.m_arlen.val();
        self.drain.e_arsize.next = self.reader.arsize.val();
        self.m_axi_gmem_arsize.next = self.drain.m_arsize.val();
        self.drain.e_arburst.next = self.reader.arburst.val();
        self.m_axi_gmem_arburst.next = self.drain.m_arburst.val();
        self.drain.e_arvalid.next = self.reader.arvalid.val();
        self.m_axi_gmem_arvalid.next = self.drain.m_arvalid.val();
        self.drain.m_arready.next = self.m_axi_gmem_arready.val();
        self.reader.arready.next = self.drain.e_arready.val();
        self.drain.m_rdata.next = self.m_axi_gmem_rdata.val();
        self.reader.rdata.next = self.drain.e_rdata.val();
        self.drain.m_rresp.next = self.m_axi_gmem_rresp.val();
        self.reader.rresp.next = self.drain.e_rresp.val();
        self.drain.m_rlast.next = self.m_axi_gmem_rlast.val();
        self.reader.rlast.next = self.drain.e_rlast.val();
        self.drain.m_rvalid.next = self.m_axi_gmem_rvalid.val();
        self.reader.rvalid.next = self.drain.e_rvalid.val();
        self.drain.e_rready.next = self.reader.rready.val();
        self.m_axi_gmem_rready.next = self.drain.m_rready.val();

        // Gatherer.
        self.gather.start.next = self.cp.run_start.val();
        self.gather.in_base.next = self.cp.in_base.val();
        self.gather.row_bytes.next = self.cp.row_bytes.val();
        self.gather.pix_bytes.next = self.cp.pix_bytes.val();
        self.gather.slice_words.next = self.cp.slice_words.val();
        self.gather.a_bits.next = self.cp.a_bits16.val();
        self.gather.mask.next = self.cp.mask.val();
        self.gather.kh.next = self.cp.kh.val();
        self.gather.kw.next = self.cp.kw.val();
        self.gather.pack.next = self.cp.pack_taps.val();
        self.gather.stride_two.next = self.cp.stride_two.val();
        self.gather.up_two.next = self.cp.up_two.val();
        self.gather.pad_top.next = self.cp.pad_top.val();
        self.gather.pad_left.next = self.cp.pad_left.val();
        self.gather.up_h.next = self.cp.up_h.val();
        self.gather.up_w.next = self.cp.up_w.val();
        self.gather.out_h.next = self.cp.out_h.val();
        self.gather.out_w.next = self.cp.out_w.val();
        self.cp.g_rreq_valid.next = self.gather.rreq_valid.val();
        self.cp.g_rreq_addr.next = self.gather.rreq_addr.val();
        self.cp.g_rreq_words.next = self.gather.rreq_words.val();
        self.gather.rreq_ready.next = self.cp.g_rreq_ready.val();
        self.gather.rd_word.next = self.reader.out_word.val();
        self.gather.rd_valid.next = self.cp.g_rd_valid.val();
        self.cp.g_rd_ready.next = self.gather.rd_ready.val();
        self.cp.g_busy.next = self.gather.busy.val();
        self.gather.free_half.next = self.feeder.free_half.val();

        // Activation banks: written by the gatherer, read by the feeder.
        for c in 0..self.abanks.len() {
            self.abanks[c].clock.next = self.ap_clk.val();
            self.abanks[c].write_address.next = self.gather.bank_addr[c].val();
            self.abanks[c].write_data.next = self.gather.bank_data.val();
            self.abanks[c].write_lanes.next = self.gather.bank_we[c].val();
            self.abanks[c].read_address.next = self.feeder.a_addr.val();
            self.array.a_in[c].next = self.abanks[c].read_data.val();
        }
        // Weight banks: written by the command processor, read by the feeder.
        self.n_wb_addr.i.next = self.cp.wb_addr.val();
        self.n_w_off.i.next = self.cp.w_off.val();
        for r in 0..self.wbanks.len() {
            self.wbanks[r].read_clock.next = self.ap_clk.val();
            self.wbanks[r].write_clock.next = self.ap_clk.val();
            self.wbanks[r].write_address.next = self.n_wb_addr.o.val();
            self.wbanks[r].write_data.next = self.reader.out_word.val();
            self.wbanks[r].write_enable.next = self.cp.wb_we.val() & (self.cp.wb_row.val() == self.row_idx[r].val());
            self.wbanks[r].read_address.next = self.feeder.w_addr.val() + self.n_w_off.o.val();
            self.array.w_in[r].next = self.wbanks[r].read_data.val();
        }

        // Feeder.
        self.feeder.start.next = self.cp.run_start.val();
        self.feeder.pairs.next = self.cp.pairs.val();
        self.feeder.a_bits.next = self.cp.a_bits.val();
        self.feeder.pack_planes.next = self.cp.pack_planes.val();
        self.feeder.w_bits.next = self.cp.w_bits.val();
        self.feeder.spacing.next = self.cp.spacing.val();
        self.feeder.repeats.next = self.cp.reps.val();
        self.feeder.w_stride.next = self.cp.w_stride.val();
        self.cp.f_rep.next = self.feeder.rep.val();
        self.feeder.dst_base.next = self.cp.dst_base.val();
        self.feeder.dst_pix_bytes.next = self.cp.dst_pix_bytes.val();
        self.feeder.dst_w.next = self.cp.dst_w.val();
        self.feeder.out_w.next = self.cp.out_w.val();
        self.feeder.os_two.next = self.cp.os_two.val();
        self.feeder.off_y.next = self.cp.off_y.val();
        self.feeder.off_x.next = self.cp.off_x.val();
        self.feeder.full.next = self.gather.full.val();
        self.feeder.info_oy0.next = self.gather.info_oy0.val();
        self.feeder.info_oy1.next = self.gather.info_oy1.val();
        self.feeder.info_ox0.next = self.gather.info_ox0.val();
        self.feeder.info_ox1.next = self.gather.info_ox1.val();
        self.feeder.info_last0.next = self.gather.info_last0.val();
        self.feeder.info_last1.next = self.gather.info_last1.val();
        self.feeder.info_toff0.next = self.gather.info_toff0.val();
        self.feeder.info_toff1.next = self.gather.info_toff1.val();
        self.feeder.tile_done.next = self.outw.tile_done.val();
        self.cp.f_busy.next = self.feeder.busy.val();
        self.cp.f_stall.next = self.feeder.stall.val();
        self.cp.f_tile.next = self.feeder.tile_valid.val();
        self.cp.f_tile_cols.next = self.feeder.tile_cols.val();
        self.array.ctl_in.next = self.feeder.ctl.val();

        // Drain → threshold unit: rows arrive bottom row first.
        self.acc_bus.next = self.zero_acc.val();
        for c in 0..self.abanks.len() {
            self.widen[c].i.next = self.array.out_data[c].val();
            self.acc_bus.next = (self.acc_bus.val() >> 32) | (self.widen[c].o.val() << self.hi_shift.val());
        }
        self.thr.mode_raw.next = self.cp.mode_raw.val();
        self.thr.a_out.next = self.cp.a_out.val();
        self.thr.row_valid.next = self.array.out_valid[0].val();
        // Record = pass · rows + row: tiles drain in the feeder's order,
        // passes 0 .. reps − 1 of each gathered tile.
        self.w_drain_ch.i.next = self.drain_ch.q.val();
        self.n_rec_off.i.next = self.cp.rec_off.val();
        self.thr.row_channel.next = self.n_rec_off.o.val() + (self.drain_base.q.val() | self.w_drain_ch.o.val());
        self.w_rec16.i.next = self.drain_base.q.val() | self.w_drain_ch.o.val();
        self.thr.row_skip.next = self.w_rec16.o.val() >= self.nch_q.q.val();
        self.thr.row_acc.next = self.acc_bus.val();
        if self.array.out_valid[0].val() {
            self.drain_ch.d.next = self.drain_ch.q.val() - self.one_ch.val();
            if self.drain_ch.q.val() == self.zero_ch.val() {
                if (self.drain_rep.q.val() + self.one16.val()) < self.reps_q.q.val() {
                    self.drain_rep.d.next = self.drain_rep.q.val() + self.one16.val();
                    self.drain_base.d.next = self.drain_base.q.val() + self.rows_ra.val();
                } else {
                    self.drain_rep.d.next = self.zero16.val();
                    self.drain_base.d.next = self.zero_ra.val();
                }
            }
        }
        if self.eng_rst.val() | self.cp.run_start.val() {
            self.drain_ch.d.next = self.last_ch.val();
            self.drain_rep.d.next = self.zero16.val();
            self.drain_base.d.next = self.zero_ra.val();
        }
        self.thr.wr_en.next = self.cp.thr_we.val();
        self.n_thr_ch.i.next = self.cp.thr_channel.val();
        self.thr.wr_channel.next = self.n_thr_ch.o.val();
        self.thr.wr_word.next = self.cp.thr_word.val();
        self.thr.wr_data.next = self.cp.thr_data.val();
        self.cp.row_cycles.next = self.thr.row_cycles.val();
        self.cp.thr_busy.next = self.thr.busy.val();
        self.u_thr_channel.i.next = self.thr.out_channel.val();
        self.u_thr_ready.i.next = self.thr.ready.val();
        self.u_thr_overflow.i.next = self.thr.overflow.val();
        self.u_thr_bad_mode.i.next = self.thr.bad_mode.val();
        self.u_tile_ready.i.next = self.outw.tile_ready.val();
        self.u_reader_busy.i.next = self.reader.busy.val();
        for c in 0..self.u_out_valid.len() {
            self.u_out_valid[c].i.next = self.array.out_valid[c].val();
        }

        // Output writer.
        self.outw.mode_raw.next = self.cp.mode_raw.val();
        self.outw.a_out.next = self.cp.a_out.val();
        self.outw.copies_log2.next = self.cp.copies_log2.val();
        self.outw.col_step.next = self.cp.col_step.val();
        self.outw.tile_valid.next = self.feeder.tile_valid.val();
        self.outw.tile_addr.next = self.feeder.tile_addr.val();
        self.outw.tile_cols.next = self.feeder.tile_cols.val();
        self.outw.tile_rows.next = self.cp.tile_rows.val();
        self.outw.tile_byte_lo.next = self.cp.byte_lo.val();
        self.outw.tile_fill.next = self.cp.fill.val();
        self.outw.row_valid.next = self.thr.out_valid.val();
        self.outw.row_codes.next = self.thr.out_codes.val();
        self.outw.row_raw.next = self.thr.out_raw.val();
        self.cp.w_idle.next = self.outw.idle.val();
        self.writer.req_valid.next = self.outw.wreq_valid.val();
        self.writer.req_addr.next = self.outw.wreq_addr.val();
        self.writer.req_words.next = self.outw.wreq_words.val();
        self.outw.wreq_ready.next = self.writer.req_ready.val();
        self.writer.in_word.next = self.outw.wdata_word.val();
        self.writer.in_strb.next = self.outw.wdata_strb.val();
        self.writer.in_valid.next = self.outw.wdata_valid.val();
        self.outw.wdata_ready.next = self.writer.in_ready.val();
        self.drain.e_awaddr.next = self.writer.awaddr.val();
        self.m_axi_gmem_awaddr.next = self.drain.m_awaddr.val();
        self.drain.e_awlen.next = self.writer.awlen.val();
        self.m_axi_gmem_awlen.next = self.drain.m_awlen.val();
        self.drain.e_awsize.next = self.writer.awsize.val();
        self.m_axi_gmem_awsize.next = self.drain.m_awsize.val();
        self.drain.e_awburst.next = self.writer.awburst.val();
        self.m_axi_gmem_awburst.next = self.drain.m_awburst.val();
        self.drain.e_awvalid.next = self.writer.awvalid.val();
        self.m_axi_gmem_awvalid.next = self.drain.m_awvalid.val();
        self.drain.m_awready.next = self.m_axi_gmem_awready.val();
        self.writer.awready.next = self.drain.e_awready.val();
        self.drain.e_wdata.next = self.writer.wdata.val();
        self.m_axi_gmem_wdata.next = self.drain.m_wdata.val();
        self.drain.e_wstrb.next = self.writer.wstrb.val();
        self.m_axi_gmem_wstrb.next = self.drain.m_wstrb.val();
        self.drain.e_wlast.next = self.writer.wlast.val();
        self.m_axi_gmem_wlast.next = self.drain.m_wlast.val();
        self.drain.e_wvalid.next = self.writer.wvalid.val();
        self.m_axi_gmem_wvalid.next = self.drain.m_wvalid.val();
        self.drain.m_wready.next = self.m_axi_gmem_wready.val();
        self.writer.wready.next = self.drain.e_wready.val();
        self.drain.m_bresp.next = self.m_axi_gmem_bresp.val();
        self.writer.bresp.next = self.drain.e_bresp.val();
        self.drain.m_bvalid.next = self.m_axi_gmem_bvalid.val();
        self.writer.bvalid.next = self.drain.e_bvalid.val();
        self.drain.e_bready.next = self.writer.bready.val();
        self.m_axi_gmem_bready.next = self.drain.m_bready.val();
    }
}

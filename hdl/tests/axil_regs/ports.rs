//! The block's ports as the generated Verilog names them: the input and
//! output lists (in trace order), their values read off the simulated block,
//! and the indices of the outputs the checks look at.

use zynqflow_hdl::axil_regs::AxilRegs;

// ------------------------------------------------------------------------
// Ports, as the generated Verilog names them (order = trace order).

/// Inputs driven by the testbench (all but `clock`), with widths.
pub const INPUTS: &[(&str, usize)] = &[
    ("reset", 1),
    ("awaddr", 12),
    ("awvalid", 1),
    ("wdata", 32),
    ("wstrb", 4),
    ("wvalid", 1),
    ("bready", 1),
    ("araddr", 12),
    ("arvalid", 1),
    ("rready", 1),
    ("busy", 1),
    ("done_pulse", 1),
    ("error_pulse", 1),
    ("error_code", 32),
    ("error_index", 32),
    ("cmds_done", 32),
    ("perf_busy", 64),
    ("perf_stall", 64),
    ("perf_macs", 64),
];

/// Outputs, with widths.
pub const OUTPUTS: &[(&str, usize)] = &[
    ("awready", 1),
    ("wready", 1),
    ("bresp", 2),
    ("bvalid", 1),
    ("arready", 1),
    ("rdata", 32),
    ("rresp", 2),
    ("rvalid", 1),
    ("start", 1),
    ("soft_reset", 1),
    ("interrupt", 1),
    ("cmd_base", 32),
    ("cmd_count", 32),
    ("win_base", 32),
    ("win_size", 32),
];

pub fn input_values(u: &AxilRegs) -> Vec<u64> {
    vec![
        u.reset.val() as u64,
        u.awaddr.val().to_u64(),
        u.awvalid.val() as u64,
        u.wdata.val().to_u64(),
        u.wstrb.val().to_u64(),
        u.wvalid.val() as u64,
        u.bready.val() as u64,
        u.araddr.val().to_u64(),
        u.arvalid.val() as u64,
        u.rready.val() as u64,
        u.busy.val() as u64,
        u.done_pulse.val() as u64,
        u.error_pulse.val() as u64,
        u.error_code.val().to_u64(),
        u.error_index.val().to_u64(),
        u.cmds_done.val().to_u64(),
        u.perf_busy.val().to_u64(),
        u.perf_stall.val().to_u64(),
        u.perf_macs.val().to_u64(),
    ]
}

pub fn output_values(u: &AxilRegs) -> Vec<u64> {
    vec![
        u.awready.val() as u64,
        u.wready.val() as u64,
        u.bresp.val().to_u64(),
        u.bvalid.val() as u64,
        u.arready.val() as u64,
        u.rdata.val().to_u64(),
        u.rresp.val().to_u64(),
        u.rvalid.val() as u64,
        u.start.val() as u64,
        u.soft_reset.val() as u64,
        u.interrupt.val() as u64,
        u.cmd_base.val().to_u64(),
        u.cmd_count.val().to_u64(),
        u.win_base.val().to_u64(),
        u.win_size.val().to_u64(),
    ]
}

pub const IDX_BVALID: usize = 3;
pub const IDX_RDATA: usize = 5;
pub const IDX_RVALID: usize = 7;
pub const IDX_START: usize = 8;
pub const IDX_INTERRUPT: usize = 10;

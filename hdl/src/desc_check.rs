//! `DescCheck`: the descriptor validator in hardware — returns exactly the
//! [`zynqflow_isa::validate_words`] verdict for a descriptor and a DMA window;
//! and `ListCheck`: the command-list check, exactly
//! [`zynqflow_isa::validate_list`].
//!
//! Role: the command processor must refuse an invalid descriptor before it
//! touches memory, with the same [`zynqflow_isa::ErrorCode`] the driver
//! computes (the checks and their order are the `isa` crate's; the first
//! failing check gives the code). The capability limits (`act_bits_mask`,
//! `weight_bits_mask`, `max_kernel`, `max_stride`, `max_upsample`,
//! `max_width`, `max_channels`, `acc_bits`, `weight_words_per_row`,
//! `act_words_per_column`) are constants taken from
//! [`zynqflow_isa::ArrayConfig::capabilities`] when the block is built; the
//! field positions come from [`crate::desc_fields::DescFields`], which is
//! generated from `isa::descriptor::FIELDS`.
//!
//! # `DescCheck` ports
//! - `clock`, `reset` (synchronous, active high: stops a check in progress,
//!   clears `done`).
//! - `start` (one-cycle pulse): begin checking `words` against the window.
//!   A `start` while a check runs restarts it.
//! - `words` (512 bits, word `i` in bits `32i..32i+32`), `win_base`,
//!   `win_size` (32 bits each): must stay stable from `start` until `done`.
//!   The window is `win_base .. win_base + win_size`, computed in 50 bits, so
//!   it never wraps at 2^32.
//! - `done`: high for exactly one cycle, [`LATENCY`] rising edges after the
//!   edge that sampled `start`.
//! - `code` (5 bits): the verdict, valid while `done` (and held until the next
//!   one): 0 = valid, else `ErrorCode::code()` (1..=14 or 17; 15 and 16 are
//!   run-time errors that validation never gives).
//!
//! # How
//! The checks up to `BadPlacement` (9) are combinational on the fields
//! (16/17-bit comparisons, no products). The rest need products of up to
//! four factors (tensor byte sizes reach 2^50); one shared shift-and-add
//! multiplier (50-bit multiplicand, one multiplier bit per cycle) computes
//! them in a fixed schedule of 12 products ([`SCHEDULE`]): `kh·kw`,
//! `cin·kh·kw` (overflow), the weight-row and activation-column words (buffer
//! check), and the input, weight and output tensor sizes. Each product takes
//! its multiplier's width in cycles (4, 8, 14 or 16) plus a load and a
//! write-back cycle. Then the byte ranges, window and overlap tests are 50-bit
//! compares, and a priority encoder in `isa`'s order registers the code.
//! Products of fields that an earlier check rejects may be truncated or
//! meaningless; the priority encoder never looks at them.
//!
//! # Timing
//! [`LATENCY`] = 141 edges from `start` to `done`, whatever the descriptor.
//!
//! # Depth
//! The verdict is pipelined ([`VERDICT_STAGES`]), so that no path chains an
//! adder, a comparison and the priority encoder: stage 1 registers the byte
//! ranges' ends (50-bit adds) and the overflow check's `(p << a_in) − p`
//! (stage 1) and its shift by `w_bits − 1` (stage 2, from stage 1's
//! register: the product `p` is ready a hundred cycles before the end); stage
//! 2 registers each check's flag (comparisons, ORs); the priority encoder
//! reads the flags and registers the code. The last product (the output
//! size) is written back one cycle before stage 1 samples it. Before this,
//! the checker was the accelerator's deepest path (14 LUT levels on
//! `pynq-z2`, docs/resources.md).
//!
//! # Size
//! pynq-z2 constants, yosys 0.23 `read_verilog <one file per module>;
//! synth_xilinx -family xc7 -flatten -top top; stat` (the ignored test
//! `desc_check_size` in `hdl/tests/desc_check.rs` prints it): 1,846 LUTs,
//! 1,104 FFs, 205 CARRY4, 0 DSP48 (before the verdict pipeline: 1,739 and
//! 757). The flip-flops are mostly the twelve 50-bit product registers (600)
//! and the pipeline's seven 50-bit registers (350); storing each at its true
//! width (8 to 48 bits) would save about 400 of them.
//!
//! # `ListCheck`
//! Combinational, no clock: `cmd_base`, `cmd_count`, `win_base`, `win_size`
//! (32 bits) → `code` (5 bits): `BadCount` (14) if `cmd_count` is 0, else
//! `Misaligned` (11) if `cmd_base` is not 64-byte aligned, else `OutOfWindow`
//! (12) unless `cmd_base .. cmd_base + 64·cmd_count` (40-bit arithmetic) lies
//! inside the window, else 0.
use crate::desc_fields::DescFields;
use rust_hdl::prelude::*;
use zynqflow_isa::{ArrayConfig, ErrorCode};

/// Zero-extends an `A`-bit value to `B` bits (`B ≥ A`; equal widths pass it through).
///
/// rust-hdl's `bit_cast` widening prints `x & B'hff..` in Verilog, which
/// Verilator's `-Wall` flags (`WIDTHEXPAND`); this block prints the
/// concatenation `{zeros, x}` instead.
#[derive(LogicBlock, Default)]
pub struct Widen<const A: usize, const B: usize> {
    /// The value.
    pub i: Signal<In, Bits<A>>,
    /// The value, zero-extended.
    pub o: Signal<Out, Bits<B>>,
}

impl<const A: usize, const B: usize> Logic for Widen<A, B> {
    fn update(&mut self) {
        self.o.next = bit_cast::<B, A>(self.i.val());
    }

    fn connect(&mut self) {
        self.o.connect();
    }

    fn hdl(&self) -> Verilog {
        assert!(B >= A, "Widen<{A}, {B}> does not widen");
        if B == A {
            // Generic users (e.g. `OutWriter` with 64 rows) may ask for no widening.
            return Verilog::Custom("always @(*) o = i;\n".into());
        }
        Verilog::Custom(format!("always @(*) o = {{{}'d0, i}};\n", B - A))
    }
}

/// Width of the product datapath: every tensor byte size fits (at most
/// `65535³·4 < 2^50` for a raw destination).
pub const WIDE: usize = 50;

/// The product schedule: (multiplicand, multiplier, multiplier bits) for each
/// of the 12 products, in order. The multiplier bits bound the multiplier
/// whenever all earlier checks pass (e.g. `kh·kw ≤ 225 < 2^8`).
pub const SCHEDULE: [(&str, &str, usize); 12] = [
    ("kw", "kh", 4),
    ("cin", "kh*kw", 8),
    ("ceil(cin/64)", "kh*kw", 8),
    ("kh*kw*ceil(cin/64)", "w_bits", 4),
    ("kh*kw*ceil(cin/64)", "a_in", 4),
    ("weight words per channel (w_bits with packed taps)", "cout", 16),
    ("in_w", "in_h", 16),
    ("ceil(in_c_total/64)", "a_in", 4),
    ("in_h*in_w", "ceil(in_c_total/64)*a_in", 14),
    ("dst_w", "dst_h", 16),
    ("dst_c (raw) or ceil(dst_c/64)", "1 (raw) or a_out", 4),
    ("dst_h*dst_w", "dst_c or ceil(dst_c/64)*a_out", 16),
];

/// Edge (value of the step counter) at which product `k` is loaded.
pub fn load_step(k: usize) -> usize {
    SCHEDULE[..k].iter().map(|(_, _, n)| n + 2).sum()
}

/// Register stages between the last product and the verdict: the byte-range
/// ends (and the overflow check's two shifts) are registered, then the
/// per-check flags, then the code (see the module docs, "Depth").
pub const VERDICT_STAGES: usize = 2;

/// Step at which the final code is registered.
pub fn final_step() -> usize {
    load_step(SCHEDULE.len()) + VERDICT_STAGES
}

/// Rising edges from the edge that samples `start` to the edge after which
/// `done` is high.
pub const LATENCY: usize = 141;

/// The descriptor validator; see the module documentation.
#[derive(LogicBlock)]
pub struct DescCheck {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Start a check (one-cycle pulse).
    pub start: Signal<In, Bit>,
    /// The descriptor, word `i` in bits `32i..32i+32`.
    pub words: Signal<In, Bits<512>>,
    /// DMA window base address.
    pub win_base: Signal<In, Bits<32>>,
    /// DMA window size in bytes.
    pub win_size: Signal<In, Bits<32>>,
    /// The verdict is on `code` (one cycle).
    pub done: Signal<Out, Bit>,
    /// 0 = valid, else the `ErrorCode`.
    pub code: Signal<Out, Bits<5>>,

    /// The field decoder.
    pub fields: DescFields,
    x_kw: Widen<4, WIDE>,
    x_kh: Widen<4, WIDE>,
    x_w_bits: Widen<4, WIDE>,
    x_a_in: Widen<4, WIDE>,
    x_a_out: Widen<4, WIDE>,
    x_cin: Widen<16, WIDE>,
    x_gcin: Widen<16, WIDE>,
    x_cout: Widen<16, WIDE>,
    x_in_w: Widen<16, WIDE>,
    x_in_h: Widen<16, WIDE>,
    x_gin: Widen<16, WIDE>,
    x_dst_w: Widen<16, WIDE>,
    x_dst_h: Widen<16, WIDE>,
    x_dst_c: Widen<16, WIDE>,
    // `dst_c − ch_off` (when `ch_off ≤ dst_c`), widened.
    x_room: Widen<16, WIDE>,
    x_gdst: Widen<16, WIDE>,
    x_in_addr: Widen<32, WIDE>,
    x_w_addr: Widen<32, WIDE>,
    x_thr_addr: Widen<32, WIDE>,
    x_out_addr: Widen<32, WIDE>,
    x_win_base: Widen<32, WIDE>,
    x_win_size: Widen<32, WIDE>,

    // Control.
    busy: DFF<Bit>,
    step: DFF<Bits<8>>,
    done_q: DFF<Bit>,
    code_q: DFF<Bits<5>>,
    // Multiplier.
    ma: DFF<Bits<WIDE>>,
    mb: DFF<Bits<WIDE>>,
    macc: DFF<Bits<WIDE>>,
    // Products (see SCHEDULE).
    r_khkw: DFF<Bits<WIDE>>,
    r_p: DFF<Bits<WIDE>>,
    r_fw: DFF<Bits<WIDE>>,
    r_fww: DFF<Bits<WIDE>>,
    r_fwa: DFF<Bits<WIDE>>,
    r_wsz: DFF<Bits<WIDE>>,
    r_hwi: DFF<Bits<WIDE>>,
    r_gia: DFF<Bits<WIDE>>,
    r_insz: DFF<Bits<WIDE>>,
    r_hwo: DFF<Bits<WIDE>>,
    r_gda: DFF<Bits<WIDE>>,
    r_osz: DFF<Bits<WIDE>>,

    // Wires.
    raw: Signal<Local, Bit>,
    gcin: Signal<Local, Bits<16>>,
    gin: Signal<Local, Bits<16>>,
    gdst: Signal<Local, Bits<16>>,
    ain_ok: Signal<Local, Bit>,
    aout_ok: Signal<Local, Bit>,
    wb_ok: Signal<Local, Bit>,
    m_h: Signal<Local, Bits<16>>,
    m_w: Signal<Local, Bits<16>>,
    last_h: Signal<Local, Bits<16>>,
    last_w: Signal<Local, Bits<16>>,
    row_bad: Signal<Local, Bit>,
    col_bad: Signal<Local, Bit>,
    e1: Signal<Local, Bit>,
    e2: Signal<Local, Bit>,
    e3: Signal<Local, Bit>,
    e4: Signal<Local, Bit>,
    e5: Signal<Local, Bit>,
    e6: Signal<Local, Bit>,
    e7: Signal<Local, Bit>,
    e8: Signal<Local, Bit>,
    e9: Signal<Local, Bit>,
    e10: Signal<Local, Bit>,
    e11: Signal<Local, Bit>,
    e12: Signal<Local, Bit>,
    e13: Signal<Local, Bit>,
    e17: Signal<Local, Bit>,
    q1: Signal<Local, Bits<WIDE>>,
    // Channels written per pixel: `cout << copies_log2`.
    coutc: Signal<Local, Bits<WIDE>>,
    wsh: Signal<Local, Bits<4>>,
    worst: Signal<Local, Bits<WIDE>>,
    in_e: Signal<Local, Bits<WIDE>>,
    w_e: Signal<Local, Bits<WIDE>>,
    thr_e: Signal<Local, Bits<WIDE>>,
    out_e: Signal<Local, Bits<WIDE>>,
    win_e: Signal<Local, Bits<WIDE>>,
    in_ok: Signal<Local, Bit>,
    w_ok: Signal<Local, Bit>,
    thr_ok: Signal<Local, Bit>,
    out_ok: Signal<Local, Bit>,
    code_l: Signal<Local, Bits<5>>,
    // Verdict pipeline (see "Depth"): stage 1.
    q1_r: DFF<Bits<WIDE>>,
    worst_r: DFF<Bits<WIDE>>,
    win_e_r: DFF<Bits<WIDE>>,
    in_e_r: DFF<Bits<WIDE>>,
    w_e_r: DFF<Bits<WIDE>>,
    thr_e_r: DFF<Bits<WIDE>>,
    out_e_r: DFF<Bits<WIDE>>,
    // Stage 2: one flag per check.
    f1: DFF<Bit>,
    f2: DFF<Bit>,
    f3: DFF<Bit>,
    f4: DFF<Bit>,
    f5: DFF<Bit>,
    f6: DFF<Bit>,
    f7: DFF<Bit>,
    f8: DFF<Bit>,
    f9: DFF<Bit>,
    f10: DFF<Bit>,
    f11: DFF<Bit>,
    f12: DFF<Bit>,
    f13: DFF<Bit>,
    f17: DFF<Bit>,

    // Constants.
    op_conv: Constant<Bits<8>>,
    nib: Vec<Constant<Bits<4>>>,
    act_tab: Vec<Constant<Bit>>,
    wgt_tab: Vec<Constant<Bit>>,
    max_k: Constant<Bits<4>>,
    max_s: Constant<Bits<4>>,
    max_u: Constant<Bits<4>>,
    max_w: Constant<Bits<16>>,
    max_c: Constant<Bits<16>>,
    rows_w: Constant<Bits<WIDE>>,
    zero2: Constant<Bits<2>>,
    zero4: Constant<Bits<4>>,
    one4: Constant<Bits<4>>,
    two4: Constant<Bits<4>>,
    zero6: Constant<Bits<6>>,
    zero16: Constant<Bits<16>>,
    one16: Constant<Bits<16>>,
    /// `isa::PACK_LANES`: the most channels a packed-taps kernel reads.
    pack_lanes: Constant<Bits<16>>,
    zero32: Constant<Bits<32>>,
    zero_w: Constant<Bits<WIDE>>,
    one_w: Constant<Bits<WIDE>>,
    acc_bad: Constant<Bit>,
    acc_lim: Constant<Bits<WIDE>>,
    wwpr: Constant<Bits<WIDE>>,
    awpc: Constant<Bits<WIDE>>,
    c_ok: Constant<Bits<5>>,
    c_1: Constant<Bits<5>>,
    c_2: Constant<Bits<5>>,
    c_3: Constant<Bits<5>>,
    c_4: Constant<Bits<5>>,
    c_5: Constant<Bits<5>>,
    c_6: Constant<Bits<5>>,
    c_7: Constant<Bits<5>>,
    c_8: Constant<Bits<5>>,
    c_9: Constant<Bits<5>>,
    c_10: Constant<Bits<5>>,
    c_11: Constant<Bits<5>>,
    c_12: Constant<Bits<5>>,
    c_13: Constant<Bits<5>>,
    c_17: Constant<Bits<5>>,
    load_t: Vec<Constant<Bits<8>>>,
    write_t: Vec<Constant<Bits<8>>>,
    final_t: Constant<Bits<8>>,
    zero8: Constant<Bits<8>>,
    one8: Constant<Bits<8>>,
}

fn c<const N: usize>(v: u64) -> Constant<Bits<N>> {
    Constant::new(v.into())
}

impl DescCheck {
    /// A validator for the capabilities of `config`.
    pub fn new(config: &ArrayConfig) -> Self {
        let caps = config.capabilities();
        assert_eq!(final_step() + 1, LATENCY, "LATENCY does not match the schedule");
        assert!(final_step() < 256, "schedule does not fit the step counter");
        let clamp = |v: u64| v.min((1u64 << WIDE) - 1);
        let acc_bad = caps.acc_bits == 0 || caps.acc_bits > 32;
        let acc_lim = if acc_bad { 0 } else { 1u64 << (caps.acc_bits - 1) };
        DescCheck {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            words: Default::default(),
            win_base: Default::default(),
            win_size: Default::default(),
            done: Default::default(),
            code: Default::default(),
            fields: DescFields::new(),
            x_kw: Default::default(),
            x_kh: Default::default(),
            x_w_bits: Default::default(),
            x_a_in: Default::default(),
            x_a_out: Default::default(),
            x_cin: Default::default(),
            x_gcin: Default::default(),
            x_cout: Default::default(),
            x_in_w: Default::default(),
            x_in_h: Default::default(),
            x_gin: Default::default(),
            x_dst_w: Default::default(),
            x_dst_h: Default::default(),
            x_dst_c: Default::default(),
            x_room: Default::default(),
            coutc: Default::default(),
            x_gdst: Default::default(),
            x_in_addr: Default::default(),
            x_w_addr: Default::default(),
            x_thr_addr: Default::default(),
            x_out_addr: Default::default(),
            x_win_base: Default::default(),
            x_win_size: Default::default(),
            busy: Default::default(),
            step: Default::default(),
            done_q: Default::default(),
            code_q: Default::default(),
            ma: Default::default(),
            mb: Default::default(),
            macc: Default::default(),
            r_khkw: Default::default(),
            r_p: Default::default(),
            r_fw: Default::default(),
            r_fww: Default::default(),
            r_fwa: Default::default(),
            r_wsz: Default::default(),
            r_hwi: Default::default(),
            r_gia: Default::default(),
            r_insz: Default::default(),
            r_hwo: Default::default(),
            r_gda: Default::default(),
            r_osz: Default::default(),
            raw: Default::default(),
            gcin: Default::default(),
            gin: Default::default(),
            gdst: Default::default(),
            ain_ok: Default::default(),
            aout_ok: Default::default(),
            wb_ok: Default::default(),
            m_h: Default::default(),
            m_w: Default::default(),
            last_h: Default::default(),
            last_w: Default::default(),
            row_bad: Default::default(),
            col_bad: Default::default(),
            e1: Default::default(),
            e2: Default::default(),
            e3: Default::default(),
            e4: Default::default(),
            e5: Default::default(),
            e6: Default::default(),
            e7: Default::default(),
            e8: Default::default(),
            e9: Default::default(),
            e10: Default::default(),
            e11: Default::default(),
            e12: Default::default(),
            e13: Default::default(),
            e17: Default::default(),
            q1: Default::default(),
            wsh: Default::default(),
            worst: Default::default(),
            in_e: Default::default(),
            w_e: Default::default(),
            thr_e: Default::default(),
            out_e: Default::default(),
            win_e: Default::default(),
            in_ok: Default::default(),
            w_ok: Default::default(),
            thr_ok: Default::default(),
            out_ok: Default::default(),
            code_l: Default::default(),
            q1_r: Default::default(),
            worst_r: Default::default(),
            win_e_r: Default::default(),
            in_e_r: Default::default(),
            w_e_r: Default::default(),
            thr_e_r: Default::default(),
            out_e_r: Default::default(),
            f1: Default::default(),
            f2: Default::default(),
            f3: Default::default(),
            f4: Default::default(),
            f5: Default::default(),
            f6: Default::default(),
            f7: Default::default(),
            f8: Default::default(),
            f9: Default::default(),
            f10: Default::default(),
            f11: Default::default(),
            f12: Default::default(),
            f13: Default::default(),
            f17: Default::default(),
            op_conv: c(u64::from(zynqflow_isa::descriptor::OP_CONV)),
            nib: (0..16).map(c).collect(),
            act_tab: (0..16).map(|v| Constant::new(caps.supports_act_bits(v))).collect(),
            wgt_tab: (0..16).map(|v| Constant::new(caps.supports_weight_bits(v))).collect(),
            max_k: c(u64::from(caps.max_kernel.min(15))),
            max_s: c(u64::from(caps.max_stride.min(15))),
            max_u: c(u64::from(caps.max_upsample.min(15))),
            max_w: c(u64::from(caps.max_width)),
            max_c: c(u64::from(caps.max_channels)),
            rows_w: c(u64::from(caps.rows)),
            zero2: c(0),
            zero4: c(0),
            one4: c(1),
            two4: c(2),
            zero6: c(0),
            zero16: c(0),
            one16: c(1),
            pack_lanes: c(zynqflow_isa::PACK_LANES as u64),
            zero32: c(0),
            zero_w: c(0),
            one_w: c(1),
            acc_bad: Constant::new(acc_bad),
            acc_lim: c(acc_lim),
            wwpr: c(clamp(caps.weight_words_per_row())),
            awpc: c(clamp(caps.act_words_per_column())),
            c_ok: c(0),
            c_1: c(u64::from(ErrorCode::BadOpcode.code())),
            c_2: c(u64::from(ErrorCode::ReservedBits.code())),
            c_3: c(u64::from(ErrorCode::BadBits.code())),
            c_4: c(u64::from(ErrorCode::BadKernel.code())),
            c_5: c(u64::from(ErrorCode::BadStride.code())),
            c_6: c(u64::from(ErrorCode::BadUpsample.code())),
            c_7: c(u64::from(ErrorCode::BadPadding.code())),
            c_8: c(u64::from(ErrorCode::BadShape.code())),
            c_9: c(u64::from(ErrorCode::BadPlacement.code())),
            c_10: c(u64::from(ErrorCode::Overflow.code())),
            c_11: c(u64::from(ErrorCode::Misaligned.code())),
            c_12: c(u64::from(ErrorCode::OutOfWindow.code())),
            c_13: c(u64::from(ErrorCode::Overlap.code())),
            c_17: c(u64::from(ErrorCode::BufferTooSmall.code())),
            load_t: (0..SCHEDULE.len()).map(|k| load_step(k) as u64).map(c).collect(),
            write_t: (0..SCHEDULE.len()).map(|k| (load_step(k) + SCHEDULE[k].2 + 1) as u64).map(c).collect(),
            final_t: c(final_step() as u64),
            zero8: c(0),
            one8: c(1),
        }
    }
}

impl Logic for DescCheck {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, busy, step, done_q, code_q, ma, mb, macc, r_khkw, r_p, r_fw, r_fww, r_fwa, r_wsz, r_hwi,
            r_gia, r_insz, r_hwo, r_gda, r_osz, q1_r, worst_r, win_e_r, in_e_r, w_e_r, thr_e_r, out_e_r, f1, f2, f3,
            f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f17
        );
        self.fields.words.next = self.words.val();
        self.raw.next = self.fields.mode.val();

        // Channel groups: ceil(c / 64) without overflow at c near 65535.
        self.gcin.next = self.fields.cin.val() >> 6;
        if self.fields.cin.val().get_bits::<6>(0) != self.zero6.val() {
            self.gcin.next = (self.fields.cin.val() >> 6) + self.one16.val();
        }
        self.gin.next = self.fields.in_c_total.val() >> 6;
        if self.fields.in_c_total.val().get_bits::<6>(0) != self.zero6.val() {
            self.gin.next = (self.fields.in_c_total.val() >> 6) + self.one16.val();
        }
        self.gdst.next = self.fields.dst_c.val() >> 6;
        if self.fields.dst_c.val().get_bits::<6>(0) != self.zero6.val() {
            self.gdst.next = (self.fields.dst_c.val() >> 6) + self.one16.val();
        }

        // Zero-extended operands.
        self.x_kw.i.next = self.fields.kw.val();
        self.x_kh.i.next = self.fields.kh.val();
        self.x_w_bits.i.next = self.fields.w_bits.val();
        self.x_a_in.i.next = self.fields.a_in.val();
        self.x_a_out.i.next = self.fields.a_out.val();
        self.x_cin.i.next = self.fields.cin.val();
        self.x_gcin.i.next = self.gcin.val();
        self.x_cout.i.next = self.fields.cout.val();
        self.x_in_w.i.next = self.fields.in_w.val();
        self.x_in_h.i.next = self.fields.in_h.val();
        self.x_gin.i.next = self.gin.val();
        self.x_dst_w.i.next = self.fields.dst_w.val();
        self.x_dst_h.i.next = self.fields.dst_h.val();
        self.x_dst_c.i.next = self.fields.dst_c.val();
        self.x_room.i.next = self.fields.dst_c.val() - self.fields.ch_off.val();
        self.coutc.next = self.x_cout.o.val() << self.fields.copies_log2.val();
        self.x_gdst.i.next = self.gdst.val();
        self.x_in_addr.i.next = self.fields.in_addr.val();
        self.x_w_addr.i.next = self.fields.w_addr.val();
        self.x_thr_addr.i.next = self.fields.thr_addr.val();
        self.x_out_addr.i.next = self.fields.out_addr.val();
        self.x_win_base.i.next = self.win_base.val();
        self.x_win_size.i.next = self.win_size.val();

        // 1 BadOpcode (`mode` is one bit: threshold or raw).
        self.e1.next = self.fields.opcode.val() != self.op_conv.val();
        // 2 ReservedBits.
        self.e2.next = self.fields.reserved.val()
            | (self.raw.val()
                & ((self.fields.a_out.val() != self.zero4.val())
                    | (self.fields.thr_addr.val() != self.zero32.val())
                    | (self.fields.copies_log2.val() != self.zero2.val())));
        // 3 BadBits: capability tables over all 16 values of a 4-bit field.
        self.ain_ok.next = false;
        self.aout_ok.next = false;
        self.wb_ok.next = false;
        for v in 0..16 {
            if self.fields.a_in.val() == self.nib[v].val() {
                self.ain_ok.next = self.act_tab[v].val();
            }
            if self.fields.a_out.val() == self.nib[v].val() {
                self.aout_ok.next = self.act_tab[v].val();
            }
            if self.fields.w_bits.val() == self.nib[v].val() {
                self.wb_ok.next = self.wgt_tab[v].val();
            }
        }
        self.e3.next = !self.ain_ok.val() | !self.wb_ok.val() | (!self.raw.val() & !self.aout_ok.val());
        // 4 BadKernel, 5 BadStride, 6 BadUpsample, 7 BadPadding.
        self.e4.next = (self.fields.kh.val() == self.zero4.val())
            | (self.fields.kh.val() > self.max_k.val())
            | (self.fields.kw.val() == self.zero4.val())
            | (self.fields.kw.val() > self.max_k.val())
            | (self.fields.pack_taps.val()
                & ((self.fields.kh.val() != self.two4.val())
                    | (self.fields.kw.val() != self.two4.val())
                    | (self.fields.cin.val() > self.pack_lanes.val())))
            | (self.fields.pack_planes.val()
                & ((self.fields.kh.val() != self.one4.val()) | (self.fields.kw.val() != self.one4.val())));
        self.e5.next = (self.fields.stride.val() == self.zero4.val()) | (self.fields.stride.val() > self.max_s.val());
        self.e6.next =
            (self.fields.upsample.val() == self.zero4.val()) | (self.fields.upsample.val() > self.max_u.val());
        self.e7.next =
            (self.fields.pad_top.val() >= self.fields.kh.val()) | (self.fields.pad_left.val() >= self.fields.kw.val());
        // 8 BadShape; `in_ch_off + cin > in_c_total` without a 17th bit.
        self.e8.next = (self.fields.in_h.val() == self.zero16.val())
            | (self.fields.in_w.val() == self.zero16.val())
            | (self.fields.cin.val() == self.zero16.val())
            | (self.fields.cout.val() == self.zero16.val())
            | (self.fields.out_h.val() == self.zero16.val())
            | (self.fields.out_w.val() == self.zero16.val())
            | (self.fields.dst_h.val() == self.zero16.val())
            | (self.fields.dst_w.val() == self.zero16.val())
            | (self.fields.dst_c.val() == self.zero16.val())
            | (self.fields.in_c_total.val() == self.zero16.val())
            | (self.fields.in_w.val() > self.max_w.val())
            | (self.fields.out_w.val() > self.max_w.val())
            | (self.fields.dst_w.val() > self.max_w.val())
            | (self.fields.in_c_total.val() > self.max_c.val())
            | (self.fields.dst_c.val() > self.max_c.val())
            | (self.fields.in_ch_off.val().get_bits::<6>(0) != self.zero6.val())
            | (self.fields.in_ch_off.val() > self.fields.in_c_total.val())
            | (self.fields.cin.val() > (self.fields.in_c_total.val() - self.fields.in_ch_off.val()));
        // 9 BadPlacement. Last output row: (out_h − 1)·out_stride + out_off_y
        // (out_stride 1 or 2, out_off_y < out_stride when this matters).
        self.m_h.next = self.fields.out_h.val() - self.one16.val();
        self.m_w.next = self.fields.out_w.val() - self.one16.val();
        self.last_h.next = self.m_h.val() << 1;
        if self.fields.out_off_y.val().get_bit(0) {
            self.last_h.next = (self.m_h.val() << 1) | self.one16.val();
        }
        self.last_w.next = self.m_w.val() << 1;
        if self.fields.out_off_x.val().get_bit(0) {
            self.last_w.next = (self.m_w.val() << 1) | self.one16.val();
        }
        self.row_bad.next = self.m_h.val() >= self.fields.dst_h.val();
        self.col_bad.next = self.m_w.val() >= self.fields.dst_w.val();
        if self.fields.out_stride.val() == self.two4.val() {
            self.row_bad.next = self.m_h.val().get_bit(15) | (self.last_h.val() >= self.fields.dst_h.val());
            self.col_bad.next = self.m_w.val().get_bit(15) | (self.last_w.val() >= self.fields.dst_w.val());
        }
        self.e9.next = (self.fields.out_stride.val() == self.zero4.val())
            | (self.fields.out_stride.val() > self.two4.val())
            | (self.fields.out_off_y.val() >= self.fields.out_stride.val())
            | (self.fields.out_off_x.val() >= self.fields.out_stride.val())
            | self.row_bad.val()
            | self.col_bad.val()
            | (self.fields.ch_off.val() > self.fields.dst_c.val())
            | (self.coutc.val() > self.x_room.o.val())
            | ((self.fields.copies_log2.val() != self.zero2.val()) & (self.coutc.val() > self.rows_w.val()))
            | (!self.raw.val() & (self.fields.ch_off.val().get_bits::<6>(0) != self.zero6.val()));

        // Shift-and-add multiplier: one multiplier bit per cycle.
        self.ma.d.next = self.ma.q.val() << 1;
        self.mb.d.next = self.mb.q.val() >> 1;
        if self.mb.q.val().get_bit(0) {
            self.macc.d.next = self.macc.q.val() + self.ma.q.val();
        }
        // Loads (SCHEDULE order).
        if self.step.q.val() == self.load_t[0].val() {
            self.ma.d.next = self.x_kw.o.val();
            self.mb.d.next = self.x_kh.o.val();
        }
        if self.step.q.val() == self.load_t[1].val() {
            self.ma.d.next = self.x_cin.o.val();
            self.mb.d.next = self.r_khkw.q.val();
        }
        if self.step.q.val() == self.load_t[2].val() {
            self.ma.d.next = self.x_gcin.o.val();
            self.mb.d.next = self.r_khkw.q.val();
        }
        if self.step.q.val() == self.load_t[3].val() {
            self.ma.d.next = self.r_fw.q.val();
            self.mb.d.next = self.x_w_bits.o.val();
        }
        if self.step.q.val() == self.load_t[4].val() {
            self.ma.d.next = self.r_fw.q.val();
            self.mb.d.next = self.x_a_in.o.val();
        }
        if self.step.q.val() == self.load_t[5].val() {
            // Packed taps (a valid 2×2 kernel of one group): w_bits words
            // per channel; the buffer check keeps kh·kw·groups·w_bits.
            self.ma.d.next = self.r_fww.q.val();
            if self.fields.pack_taps.val() {
                self.ma.d.next = self.x_w_bits.o.val();
            }
            self.mb.d.next = self.x_cout.o.val();
        }
        if self.step.q.val() == self.load_t[6].val() {
            self.ma.d.next = self.x_in_w.o.val();
            self.mb.d.next = self.x_in_h.o.val();
        }
        if self.step.q.val() == self.load_t[7].val() {
            self.ma.d.next = self.x_gin.o.val();
            self.mb.d.next = self.x_a_in.o.val();
        }
        if self.step.q.val() == self.load_t[8].val() {
            self.ma.d.next = self.r_hwi.q.val();
            self.mb.d.next = self.r_gia.q.val();
        }
        if self.step.q.val() == self.load_t[9].val() {
            self.ma.d.next = self.x_dst_w.o.val();
            self.mb.d.next = self.x_dst_h.o.val();
        }
        if self.step.q.val() == self.load_t[10].val() {
            self.ma.d.next = self.x_gdst.o.val();
            self.mb.d.next = self.x_a_out.o.val();
            if self.raw.val() {
                self.ma.d.next = self.x_dst_c.o.val();
                self.mb.d.next = self.one_w.val();
            }
        }
        if self.step.q.val() == self.load_t[11].val() {
            self.ma.d.next = self.r_hwo.q.val();
            self.mb.d.next = self.r_gda.q.val();
        }
        for k in 0..12 {
            if self.step.q.val() == self.load_t[k].val() {
                self.macc.d.next = self.zero_w.val();
            }
        }
        // Write-backs.
        if self.step.q.val() == self.write_t[0].val() {
            self.r_khkw.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[1].val() {
            self.r_p.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[2].val() {
            self.r_fw.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[3].val() {
            self.r_fww.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[4].val() {
            self.r_fwa.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[5].val() {
            self.r_wsz.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[6].val() {
            self.r_hwi.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[7].val() {
            self.r_gia.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[8].val() {
            self.r_insz.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[9].val() {
            self.r_hwo.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[10].val() {
            self.r_gda.d.next = self.macc.q.val();
        }
        if self.step.q.val() == self.write_t[11].val() {
            self.r_osz.d.next = self.macc.q.val();
        }

        // 10 Overflow: kh·kw·cin · (2^a_in − 1) · 2^(w_bits − 1) (the largest
        // |weight| is 1 for binary, 2^(w−1) otherwise: both 2^(w_bits − 1)).
        // Stage 1 registers q1, stage 2 the shifted worst case (r_p is
        // written back long before the end).
        self.q1.next = (self.r_p.q.val() << self.fields.a_in.val()) - self.r_p.q.val();
        self.q1_r.d.next = self.q1.val();
        self.wsh.next = self.fields.w_bits.val() - self.one4.val();
        self.worst.next = self.q1_r.q.val() << self.wsh.val();
        self.worst_r.d.next = self.worst.val();
        self.e10.next = self.acc_bad.val() | (self.worst_r.q.val() >= self.acc_lim.val());
        // 17 BufferTooSmall.
        self.e17.next = (self.r_fww.q.val() > self.wwpr.val()) | (self.r_fwa.q.val() > self.awpc.val());
        // 11 Misaligned (thr_addr is 0 in raw mode, or check 2 failed).
        self.e11.next = (self.fields.in_addr.val().get_bits::<6>(0) != self.zero6.val())
            | (self.fields.w_addr.val().get_bits::<6>(0) != self.zero6.val())
            | (self.fields.thr_addr.val().get_bits::<6>(0) != self.zero6.val())
            | (self.fields.out_addr.val().get_bits::<6>(0) != self.zero6.val());
        // Byte ranges: input h·w·ceil(c/64)·a_in·8, weights cout·(words per
        // channel)·8, thresholds cout·2^a_out·4, destination h·w·c·4 (raw) or
        // h·w·ceil(c/64)·a_out·8.
        self.win_e.next = self.x_win_base.o.val() + self.x_win_size.o.val();
        self.in_e.next = self.x_in_addr.o.val() + (self.r_insz.q.val() << 3);
        self.w_e.next = self.x_w_addr.o.val() + (self.r_wsz.q.val() << 3);
        self.thr_e.next = self.x_thr_addr.o.val() + ((self.x_cout.o.val() << self.fields.a_out.val()) << 2);
        self.out_e.next = self.x_out_addr.o.val() + (self.r_osz.q.val() << 3);
        if self.raw.val() {
            self.out_e.next = self.x_out_addr.o.val() + (self.r_osz.q.val() << 2);
        }
        // Stage 1: the ends, registered.
        self.win_e_r.d.next = self.win_e.val();
        self.in_e_r.d.next = self.in_e.val();
        self.w_e_r.d.next = self.w_e.val();
        self.thr_e_r.d.next = self.thr_e.val();
        self.out_e_r.d.next = self.out_e.val();
        self.in_ok.next =
            (self.x_in_addr.o.val() >= self.x_win_base.o.val()) & (self.in_e_r.q.val() <= self.win_e_r.q.val());
        self.w_ok.next =
            (self.x_w_addr.o.val() >= self.x_win_base.o.val()) & (self.w_e_r.q.val() <= self.win_e_r.q.val());
        self.thr_ok.next =
            (self.x_thr_addr.o.val() >= self.x_win_base.o.val()) & (self.thr_e_r.q.val() <= self.win_e_r.q.val());
        self.out_ok.next =
            (self.x_out_addr.o.val() >= self.x_win_base.o.val()) & (self.out_e_r.q.val() <= self.win_e_r.q.val());
        // 12 OutOfWindow (the threshold range is empty in raw mode).
        self.e12.next =
            !self.out_ok.val() | !self.in_ok.val() | !self.w_ok.val() | (!self.raw.val() & !self.thr_ok.val());
        // 13 Overlap: a read range intersects the destination.
        self.e13.next = ((self.x_in_addr.o.val() < self.out_e_r.q.val())
            & (self.x_out_addr.o.val() < self.in_e_r.q.val()))
            | ((self.x_w_addr.o.val() < self.out_e_r.q.val()) & (self.x_out_addr.o.val() < self.w_e_r.q.val()))
            | (!self.raw.val()
                & (self.x_thr_addr.o.val() < self.out_e_r.q.val())
                & (self.x_out_addr.o.val() < self.thr_e_r.q.val()));

        // Stage 2: the flags, registered.
        self.f1.d.next = self.e1.val();
        self.f2.d.next = self.e2.val();
        self.f3.d.next = self.e3.val();
        self.f4.d.next = self.e4.val();
        self.f5.d.next = self.e5.val();
        self.f6.d.next = self.e6.val();
        self.f7.d.next = self.e7.val();
        self.f8.d.next = self.e8.val();
        self.f9.d.next = self.e9.val();
        self.f10.d.next = self.e10.val();
        self.f11.d.next = self.e11.val();
        self.f12.d.next = self.e12.val();
        self.f13.d.next = self.e13.val();
        self.f17.d.next = self.e17.val();

        // The first failing check in `isa` order wins.
        self.code_l.next = self.c_ok.val();
        if self.f13.q.val() {
            self.code_l.next = self.c_13.val();
        }
        if self.f12.q.val() {
            self.code_l.next = self.c_12.val();
        }
        if self.f11.q.val() {
            self.code_l.next = self.c_11.val();
        }
        if self.f17.q.val() {
            self.code_l.next = self.c_17.val();
        }
        if self.f10.q.val() {
            self.code_l.next = self.c_10.val();
        }
        if self.f9.q.val() {
            self.code_l.next = self.c_9.val();
        }
        if self.f8.q.val() {
            self.code_l.next = self.c_8.val();
        }
        if self.f7.q.val() {
            self.code_l.next = self.c_7.val();
        }
        if self.f6.q.val() {
            self.code_l.next = self.c_6.val();
        }
        if self.f5.q.val() {
            self.code_l.next = self.c_5.val();
        }
        if self.f4.q.val() {
            self.code_l.next = self.c_4.val();
        }
        if self.f3.q.val() {
            self.code_l.next = self.c_3.val();
        }
        if self.f2.q.val() {
            self.code_l.next = self.c_2.val();
        }
        if self.f1.q.val() {
            self.code_l.next = self.c_1.val();
        }

        // Control: `step` counts the cycles of a check.
        if self.busy.q.val() {
            self.step.d.next = self.step.q.val() + self.one8.val();
        }
        self.done_q.d.next = false;
        if self.busy.q.val() & (self.step.q.val() == self.final_t.val()) {
            self.busy.d.next = false;
            self.done_q.d.next = true;
            self.code_q.d.next = self.code_l.val();
        }
        if self.start.val() {
            self.busy.d.next = true;
            self.step.d.next = self.zero8.val();
        }

        self.done.next = self.done_q.q.val();
        self.code.next = self.code_q.q.val();
        if self.reset.val() {
            self.busy.d.next = false;
            self.done_q.d.next = false;
            self.step.d.next = self.zero8.val();
            self.code_q.d.next = self.c_ok.val();
        }
    }
}

/// The command-list check; see the module documentation.
#[derive(LogicBlock)]
pub struct ListCheck {
    /// Command list address.
    pub cmd_base: Signal<In, Bits<32>>,
    /// Descriptors in the list.
    pub cmd_count: Signal<In, Bits<32>>,
    /// DMA window base address.
    pub win_base: Signal<In, Bits<32>>,
    /// DMA window size in bytes.
    pub win_size: Signal<In, Bits<32>>,
    /// 0 = valid, else the `ErrorCode`.
    pub code: Signal<Out, Bits<5>>,
    x_base: Widen<32, 40>,
    x_count: Widen<32, 40>,
    x_win_base: Widen<32, 40>,
    x_win_size: Widen<32, 40>,
    list_e: Signal<Local, Bits<40>>,
    win_e: Signal<Local, Bits<40>>,
    zero6: Constant<Bits<6>>,
    zero32: Constant<Bits<32>>,
    ok: Constant<Bits<5>>,
    bad_count: Constant<Bits<5>>,
    misaligned: Constant<Bits<5>>,
    out_of_window: Constant<Bits<5>>,
}

impl ListCheck {
    /// A list checker (codes from `isa::ErrorCode`).
    pub fn new() -> Self {
        use zynqflow_isa::ErrorCode;
        ListCheck {
            cmd_base: Default::default(),
            cmd_count: Default::default(),
            win_base: Default::default(),
            win_size: Default::default(),
            code: Default::default(),
            x_base: Default::default(),
            x_count: Default::default(),
            x_win_base: Default::default(),
            x_win_size: Default::default(),
            list_e: Default::default(),
            win_e: Default::default(),
            zero6: c(0),
            zero32: c(0),
            ok: c(0),
            bad_count: c(u64::from(ErrorCode::BadCount.code())),
            misaligned: c(u64::from(ErrorCode::Misaligned.code())),
            out_of_window: c(u64::from(ErrorCode::OutOfWindow.code())),
        }
    }
}

impl Default for ListCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl Logic for ListCheck {
    #[hdl_gen]
    fn update(&mut self) {
        self.x_base.i.next = self.cmd_base.val();
        self.x_count.i.next = self.cmd_count.val();
        self.x_win_base.i.next = self.win_base.val();
        self.x_win_size.i.next = self.win_size.val();
        // 64 bytes per descriptor.
        self.list_e.next = self.x_base.o.val() + (self.x_count.o.val() << 6);
        self.win_e.next = self.x_win_base.o.val() + self.x_win_size.o.val();
        self.code.next = self.ok.val();
        if (self.x_base.o.val() < self.x_win_base.o.val()) | (self.list_e.val() > self.win_e.val()) {
            self.code.next = self.out_of_window.val();
        }
        if self.cmd_base.val().get_bits::<6>(0) != self.zero6.val() {
            self.code.next = self.misaligned.val();
        }
        if self.cmd_count.val() == self.zero32.val() {
            self.code.next = self.bad_count.val();
        }
    }
}

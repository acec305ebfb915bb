//! The AXI4 master DMA engines: [`AxiReader`] (DDR → accelerator) and
//! [`AxiWriter`] (accelerator → DDR), towards a Zynq HP port.
//!
//! Role: the command processor moves weights, activations and results as
//! requests of `req_words` 64-bit words at a byte address (`isa` layouts,
//! little-endian words). These engines turn each request into AXI bursts that
//! an AXI3 port accepts (the HP ports are AXI3 behind their AXI4 face): INCR
//! (`*burst = 01`), at most 16 beats, never crossing a 4 KiB boundary, full
//! width beats (`*size = log2(D/8)`), one ID, in order. Words stream in
//! request order on a valid/ready port. Short requests (2 to 32 words) back
//! to back are the normal case and DDR latency is about 40 cycles, so both
//! engines take new requests while earlier ones are in flight and keep up to
//! [`MAX_OUTSTANDING`] = 16 bursts outstanding.
//!
//! `D` (the AXI data width) is 64 or 128 (`new` asserts it). With `D = 128` a
//! beat carries the 16-byte aligned pair of words: a request starting at an
//! address with bit 3 set begins in the high half of its first beat, and one
//! ending in a low half leaves the high half of its last beat unused; the
//! reader drops such unrequested words, the writer sends them with zero
//! strobes. The writer is `AxiWriter<D, S>` with `S = D/8` (the strobe
//! width: stable Rust cannot compute `D/8` in a type), used as
//! [`AxiWriter64`] / [`AxiWriter128`].
//!
//! # Ports
//! Both: `clock`; `reset` (synchronous, active high: drops the request being
//! split, the address register, the descriptor queue, the outstanding count,
//! the data registers and `error`; bursts outstanding at the slave are
//! abandoned: the top puts [`crate::axi_drain::AxiDrain`] on the port to
//! finish them after a soft reset); the request `req_valid`, `req_ready`,
//! `req_addr` (32-bit byte address, multiple of 8), `req_words` (24 bits,
//! ≥ 1; a request of 0 words is accepted and does nothing); `busy`; `error`.
//! - [`AxiReader`]: `out_word` (64), `out_valid`, `out_ready`: the requested
//!   words in request order, one per edge at most; AR `araddr`, `arlen`,
//!   `arsize`, `arburst`, `arvalid`, `arready`; R `rdata` (D), `rresp`,
//!   `rlast`, `rvalid`, `rready`. `busy`: an accepted request has words not
//!   yet delivered. `error` (sticky): a beat came back with `rresp != 0` (its
//!   data is still delivered).
//! - [`AxiWriter`]: `in_word` (64), `in_strb` (8), `in_valid`, `in_ready`:
//!   the words of the requests in order (they may be offered before their
//!   request is accepted; they are taken once their burst's AW handshake is
//!   done; a word with `in_strb = 0` is still a beat); AW `awaddr`, `awlen`,
//!   `awsize`, `awburst`, `awvalid`, `awready`; W `wdata` (D), `wstrb` (S),
//!   `wlast`, `wvalid`, `wready`; B `bresp`, `bvalid`, `bready` (always
//!   high). `busy`: an accepted request still waits for a B response.
//!   `error` (sticky): a B response had `bresp != 0`.
//!
//! # Structure (both engines)
//! - [`BurstSplitter`] (a sub-module): holds one request and issues its
//!   bursts into the address register, one burst per cycle at most. It takes
//!   the next request in the cycle it issues the last burst of the current
//!   one, so short requests are accepted one per cycle while AR/AW flows.
//! - A count of outstanding bursts (from entering the address register to the
//!   last R beat, or to the B response), at most 16; the splitter waits when
//!   it is full.
//! - A 16-entry queue of burst descriptors pushed at each address handshake
//!   (data never runs ahead of its address handshake): for the reader the
//!   half words to drop, for the writer the burst length and the half words
//!   to leave unstrobed.
//!
//! # Timing
//! - `req_ready` is high while the splitter is idle or issues the last burst
//!   of its request at this edge: it depends combinationally on
//!   `arready`/`awready` (never on `req_valid`). A request accepted at edge
//!   `t` has its first burst on AR/AW after edge `t + 1`.
//! - Reader: `out_valid`/`out_word` come from a one-beat register (never
//!   combinational from `out_ready`); `rready` is high when that register is
//!   empty or is being emptied at this edge (combinational from
//!   `out_ready`). The first word of a beat is on `out_word` after the R
//!   handshake's edge. Streaming: one beat per cycle (D = 64), one word per
//!   cycle (D = 128: the output port is the limit). Measured with an
//!   always-ready memory of latency 40 (data 40 cycles after the AR
//!   handshake) and 200 requests of 4 words back to back: 844 cycles from
//!   the first request to the last word (800 words + 40 + 4), both widths.
//!   Full rate needs `16 · beats per burst ≥ latency`.
//! - Writer: `in_ready` is high when the next word's burst has had its AW
//!   handshake and the W register is empty or being emptied (combinational
//!   from `wready`); a word (D = 64) or a completed pair (D = 128) is on W
//!   after its `in` handshake's edge. Measured with an always-ready slave
//!   answering B 40 cycles after each burst's last beat, 200 requests of 4
//!   words: 845 cycles to the last B, both widths.
//!
//! # Size (yosys 0.23 `read_verilog <one file per module>; synth_xilinx -family xc7 -flatten -top top; stat`)
//! LUTs (SRL included) / flip-flops, as `sizes_for_d64` in `hdl/tests/axi_master.rs` prints
//! them (the count moves by a few LUTs with the file order):
//! - `AxiReader<64>`: 110 LUT, 165 FF (the descriptor queue is constant 0
//!   for D = 64 and disappears); `AxiReader<128>`: about 245 LUT, 273 FF.
//! - `AxiWriter<64, 8>`: about 230 LUT, 250 FF; `AxiWriter<128, 16>`: about
//!   420 LUT, 430 FF.
use rust_hdl::prelude::*;

/// Bursts in flight per engine, from the address register to completion.
pub const MAX_OUTSTANDING: usize = 16;

fn many<T: Default>(n: usize) -> Vec<T> {
    (0..n).map(|_| T::default()).collect()
}

fn constants<const N: usize>(values: impl IntoIterator<Item = u64>) -> Vec<Constant<Bits<N>>> {
    values.into_iter().map(|v| Constant::new(v.into())).collect()
}

/// Constants with bit `i` set, `i` in `0..n`: zero extension bit by bit
/// (rust-hdl's `bit_cast` widening makes Verilator width warnings).
fn bit_constants<const N: usize>(n: usize) -> Vec<Constant<Bits<N>>> {
    (0..n).map(|i| Constant::new(Bits::<N>::default().replace_bit(i, true))).collect()
}

/// `log2(D/8)`: the `ax_size` of a full-width beat; panics unless D is 64 or 128.
pub fn beat_shift(d: usize) -> usize {
    match d {
        64 => 3,
        128 => 4,
        _ => panic!("AXI data width {d} is not 64 or 128"),
    }
}

/// Splits requests into AXI3 bursts and owns the address channel register.
///
/// Ports: `clock`, `reset`; the request (`req_*`, as in [`AxiReader`]);
/// `credit` (a new burst may enter the address register at this edge);
/// the address channel `ax_addr`, `ax_len`, `ax_valid`, `ax_ready`, with
/// `ax_drop_lo` (the first beat's low half is not requested, D = 128) and
/// `ax_drop_hi` (the last beat's high half is not requested) alongside;
/// `loaded` (a burst enters the address register at this edge) and `active`
/// (a request still has bursts to issue).
#[derive(LogicBlock)]
pub struct BurstSplitter {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: drops the current request and the address register.
    pub reset: Signal<In, Bit>,
    /// A request is offered.
    pub req_valid: Signal<In, Bit>,
    /// The request is taken at this edge (when `req_valid`).
    pub req_ready: Signal<Out, Bit>,
    /// Byte address of the first word (multiple of 8).
    pub req_addr: Signal<In, Bits<32>>,
    /// Number of 64-bit words; 0 is accepted and ignored.
    pub req_words: Signal<In, Bits<24>>,
    /// The outstanding-burst limit allows one more burst.
    pub credit: Signal<In, Bit>,
    /// Burst start address (beat aligned).
    pub ax_addr: Signal<Out, Bits<32>>,
    /// Beats − 1.
    pub ax_len: Signal<Out, Bits<8>>,
    /// The address register holds a burst.
    pub ax_valid: Signal<Out, Bit>,
    /// The slave takes it at this edge.
    pub ax_ready: Signal<In, Bit>,
    /// The burst's first beat carries an unrequested low word.
    pub ax_drop_lo: Signal<Out, Bit>,
    /// The burst's last beat carries an unrequested high word.
    pub ax_drop_hi: Signal<Out, Bit>,
    /// A burst enters the address register at this edge.
    pub loaded: Signal<Out, Bit>,
    /// A request still has bursts to issue.
    pub active: Signal<Out, Bit>,

    g_active: DFF<Bit>,
    g_addr: DFF<Bits<32>>,
    g_left: DFF<Bits<24>>,
    g_first: DFF<Bit>,
    g_lo: DFF<Bit>,
    g_hi: DFF<Bit>,
    a_valid: DFF<Bit>,
    a_addr: DFF<Bits<32>>,
    a_len: DFF<Bits<8>>,
    a_lo: DFF<Bit>,
    a_hi: DFF<Bit>,

    nib: Signal<Local, Bits<4>>,
    page_end: Signal<Local, Bit>,
    lim: Signal<Local, Bits<24>>,
    lim_len: Signal<Local, Bits<8>>,
    lim_bytes: Signal<Local, Bits<32>>,
    last: Signal<Local, Bit>,
    load: Signal<Local, Bit>,
    take: Signal<Local, Bit>,
    half_words: Signal<Local, Bits<24>>,
    odd_start: Signal<Local, Bit>,

    wide: Constant<Bit>,
    beat_mask: Constant<Bits<32>>,
    page_mask: Constant<Bits<32>>,
    nib_c: Vec<Constant<Bits<4>>>,
    lim_tab: Vec<Constant<Bits<24>>>,
    len_tab: Vec<Constant<Bits<8>>>,
    bytes_tab: Vec<Constant<Bits<32>>>,
    full_lim: Constant<Bits<24>>,
    full_len: Constant<Bits<8>>,
    full_bytes: Constant<Bits<32>>,
    zero24: Constant<Bits<24>>,
    one24: Constant<Bits<24>>,
    one8: Constant<Bits<8>>,
    _shift: usize,
}

impl BurstSplitter {
    /// A splitter for `d`-bit beats (64 or 128).
    pub fn new(d: usize) -> Self {
        let s = beat_shift(d);
        // Bits 11..s+4 of a beat address all ones: fewer than 16 beats to the 4 KiB boundary.
        let page_mask = (0xfffu64 >> (s + 4)) << (s + 4);
        BurstSplitter {
            clock: Default::default(),
            reset: Default::default(),
            req_valid: Default::default(),
            req_ready: Default::default(),
            req_addr: Default::default(),
            req_words: Default::default(),
            credit: Default::default(),
            ax_addr: Default::default(),
            ax_len: Default::default(),
            ax_valid: Default::default(),
            ax_ready: Default::default(),
            ax_drop_lo: Default::default(),
            ax_drop_hi: Default::default(),
            loaded: Default::default(),
            active: Default::default(),
            g_active: Default::default(),
            g_addr: Default::default(),
            g_left: Default::default(),
            g_first: Default::default(),
            g_lo: Default::default(),
            g_hi: Default::default(),
            a_valid: Default::default(),
            a_addr: Default::default(),
            a_len: Default::default(),
            a_lo: Default::default(),
            a_hi: Default::default(),
            nib: Default::default(),
            page_end: Default::default(),
            lim: Default::default(),
            lim_len: Default::default(),
            lim_bytes: Default::default(),
            last: Default::default(),
            load: Default::default(),
            take: Default::default(),
            half_words: Default::default(),
            odd_start: Default::default(),
            wide: Constant::new(d == 128),
            beat_mask: Constant::new((0xffff_ffffu64 >> s << s).into()),
            page_mask: Constant::new(page_mask.into()),
            nib_c: constants(0..16u64),
            lim_tab: constants((0..16).map(|k| 16 - k)),
            len_tab: constants((0..16).map(|k| 15 - k)),
            bytes_tab: constants((0..16).map(|k| (16 - k) << s)),
            full_lim: Constant::new(16u64.into()),
            full_len: Constant::new(15u64.into()),
            full_bytes: Constant::new((16u64 << s).into()),
            zero24: Constant::new(0u64.into()),
            one24: Constant::new(1u64.into()),
            one8: Constant::new(1u64.into()),
            _shift: s,
        }
    }
}

impl Logic for BurstSplitter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, g_active, g_addr, g_left, g_first, g_lo, g_hi, a_valid, a_addr, a_len, a_lo, a_hi);

        // Beats to the 4 KiB boundary, if fewer than 16: 16 − (beat index mod 16).
        self.page_end.next = (self.g_addr.q.val() & self.page_mask.val()) == self.page_mask.val();
        self.nib.next = self.nib_c[0].val();
        for s in self._shift..(self._shift + 1) {
            self.nib.next = self.g_addr.q.val().get_bits::<4>(s);
        }
        self.lim.next = self.full_lim.val();
        self.lim_len.next = self.full_len.val();
        self.lim_bytes.next = self.full_bytes.val();
        if self.page_end.val() {
            for k in 0..16 {
                if self.nib.val() == self.nib_c[k].val() {
                    self.lim.next = self.lim_tab[k].val();
                    self.lim_len.next = self.len_tab[k].val();
                    self.lim_bytes.next = self.bytes_tab[k].val();
                }
            }
        }
        self.last.next = self.g_left.q.val() <= self.lim.val();
        self.load.next = self.g_active.q.val() & (!self.a_valid.q.val() | self.ax_ready.val()) & self.credit.val();
        self.take.next = (!self.g_active.q.val() | (self.load.val() & self.last.val())) & !self.reset.val();

        // The address register: held until the handshake.
        if self.ax_ready.val() {
            self.a_valid.d.next = false;
        }
        if self.load.val() {
            self.a_valid.d.next = true;
            self.a_addr.d.next = self.g_addr.q.val();
            self.a_lo.d.next = self.g_first.q.val() & self.g_lo.q.val();
            self.a_hi.d.next = self.last.val() & self.g_hi.q.val();
            if self.last.val() {
                self.a_len.d.next = self.g_left.q.val().get_bits::<8>(0) - self.one8.val();
                self.g_active.d.next = false;
            } else {
                self.a_len.d.next = self.lim_len.val();
                self.g_addr.d.next = self.g_addr.q.val() + self.lim_bytes.val();
                self.g_left.d.next = self.g_left.q.val() - self.lim.val();
                self.g_first.d.next = false;
            }
        }

        // A new request: beats = words (D = 64), or the aligned pairs it
        // touches, words/2 + (words odd | starts in a high half) (D = 128).
        self.odd_start.next = self.wide.val() & self.req_addr.val().get_bit(3);
        self.half_words.next = self.req_words.val() >> 1;
        if self.take.val() & self.req_valid.val() {
            self.g_active.d.next = self.req_words.val() != self.zero24.val();
            self.g_addr.d.next = self.req_addr.val() & self.beat_mask.val();
            self.g_first.d.next = true;
            self.g_lo.d.next = self.odd_start.val();
            self.g_hi.d.next = self.wide.val() & (self.odd_start.val() ^ self.req_words.val().get_bit(0));
            self.g_left.d.next = self.req_words.val();
            if self.wide.val() {
                self.g_left.d.next = self.half_words.val();
                if self.odd_start.val() | self.req_words.val().get_bit(0) {
                    self.g_left.d.next = self.half_words.val() + self.one24.val();
                }
            }
        }

        if self.reset.val() {
            self.g_active.d.next = false;
            self.a_valid.d.next = false;
        }

        self.req_ready.next = self.take.val();
        self.ax_addr.next = self.a_addr.q.val();
        self.ax_len.next = self.a_len.q.val();
        self.ax_valid.next = self.a_valid.q.val();
        self.ax_drop_lo.next = self.a_lo.q.val();
        self.ax_drop_hi.next = self.a_hi.q.val();
        self.loaded.next = self.load.val() & !self.reset.val();
        self.active.next = self.g_active.q.val();
    }
}

/// The AXI4 read master: requests of 64-bit words in, the words out in
/// request order. See the module documentation for timing.
#[derive(LogicBlock)]
pub struct AxiReader<const D: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (active high): drops all in-flight state and `error`.
    /// Only while the AXI side is idle (no burst outstanding at the slave).
    pub reset: Signal<In, Bit>,
    /// A request is offered.
    pub req_valid: Signal<In, Bit>,
    /// The request is accepted at this edge (when `req_valid`).
    pub req_ready: Signal<Out, Bit>,
    /// Byte address of the first word, a multiple of 8.
    pub req_addr: Signal<In, Bits<32>>,
    /// Number of 64-bit words (≥ 1; 0 is ignored).
    pub req_words: Signal<In, Bits<24>>,
    /// The next word, valid while `out_valid`.
    pub out_word: Signal<Out, Bits<64>>,
    /// A word is offered (registered: never depends on `out_ready`).
    pub out_valid: Signal<Out, Bit>,
    /// The consumer takes the word at this edge.
    pub out_ready: Signal<In, Bit>,
    /// Some accepted request has words not yet delivered.
    pub busy: Signal<Out, Bit>,
    /// Sticky until reset: some beat came back with `rresp != 0`.
    pub error: Signal<Out, Bit>,
    /// AR address (beat aligned).
    pub araddr: Signal<Out, Bits<32>>,
    /// AR burst length − 1 (≤ 15).
    pub arlen: Signal<Out, Bits<8>>,
    /// AR beat size, log2(D/8).
    pub arsize: Signal<Out, Bits<3>>,
    /// AR burst type: INCR.
    pub arburst: Signal<Out, Bits<2>>,
    /// AR valid.
    pub arvalid: Signal<Out, Bit>,
    /// AR ready.
    pub arready: Signal<In, Bit>,
    /// R data.
    pub rdata: Signal<In, Bits<D>>,
    /// R response (0 = OKAY).
    pub rresp: Signal<In, Bits<2>>,
    /// R last beat of the burst.
    pub rlast: Signal<In, Bit>,
    /// R valid.
    pub rvalid: Signal<In, Bit>,
    /// R ready.
    pub rready: Signal<Out, Bit>,

    split: BurstSplitter,
    flags: Vec<DFF<Bits<2>>>,
    f_wr: DFF<Bits<5>>,
    f_rd: DFF<Bits<5>>,
    count: DFF<Bits<5>>,
    r_mid: DFF<Bit>,
    b_valid: DFF<Bit>,
    b_data: DFF<Bits<D>>,
    b_mask: DFF<Bits<2>>,
    err: DFF<Bit>,

    head: Signal<Local, Bits<2>>,
    push_flags: Signal<Local, Bits<2>>,
    new_mask: Signal<Local, Bits<2>>,
    single: Signal<Local, Bit>,
    rready_l: Signal<Local, Bit>,
    r_take: Signal<Local, Bit>,
    r_done: Signal<Local, Bit>,
    out_take: Signal<Local, Bit>,
    lanes: Vec<Signal<Local, Bits<64>>>,

    idx: Vec<Constant<Bits<4>>>,
    one5: Constant<Bits<5>>,
    zero5: Constant<Bits<5>>,
    max5: Constant<Bits<5>>,
    zero2: Constant<Bits<2>>,
    m1: Constant<Bits<2>>,
    m2: Constant<Bits<2>>,
    m3: Constant<Bits<2>>,
    full_mask: Constant<Bits<2>>,
    size_c: Constant<Bits<3>>,
    incr_c: Constant<Bits<2>>,
}

impl<const D: usize> AxiReader<D> {
    /// A reader with a `D`-bit data bus (64 or 128).
    pub fn new() -> Self {
        let s = beat_shift(D);
        AxiReader {
            clock: Default::default(),
            reset: Default::default(),
            req_valid: Default::default(),
            req_ready: Default::default(),
            req_addr: Default::default(),
            req_words: Default::default(),
            out_word: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            busy: Default::default(),
            error: Default::default(),
            araddr: Default::default(),
            arlen: Default::default(),
            arsize: Default::default(),
            arburst: Default::default(),
            arvalid: Default::default(),
            arready: Default::default(),
            rdata: Default::default(),
            rresp: Default::default(),
            rlast: Default::default(),
            rvalid: Default::default(),
            rready: Default::default(),
            split: BurstSplitter::new(D),
            flags: many(MAX_OUTSTANDING),
            f_wr: Default::default(),
            f_rd: Default::default(),
            count: Default::default(),
            r_mid: Default::default(),
            b_valid: Default::default(),
            b_data: Default::default(),
            b_mask: Default::default(),
            err: Default::default(),
            head: Default::default(),
            push_flags: Default::default(),
            new_mask: Default::default(),
            single: Default::default(),
            rready_l: Default::default(),
            r_take: Default::default(),
            r_done: Default::default(),
            out_take: Default::default(),
            lanes: many(D / 64),
            idx: constants(0..MAX_OUTSTANDING as u64),
            one5: Constant::new(1u64.into()),
            zero5: Constant::new(0u64.into()),
            max5: Constant::new((MAX_OUTSTANDING as u64).into()),
            zero2: Constant::new(0u64.into()),
            m1: Constant::new(1u64.into()),
            m2: Constant::new(2u64.into()),
            m3: Constant::new(3u64.into()),
            full_mask: Constant::new((if D == 128 { 3u64 } else { 1 }).into()),
            size_c: Constant::new((s as u64).into()),
            incr_c: Constant::new(1u64.into()),
        }
    }
}

impl<const D: usize> Default for AxiReader<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const D: usize> Logic for AxiReader<D> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, f_wr, f_rd, count, r_mid, b_valid, b_data, b_mask, err);
        for i in 0..self.flags.len() {
            self.flags[i].clock.next = self.clock.val();
            self.flags[i].d.next = self.flags[i].q.val();
        }
        self.split.clock.next = self.clock.val();
        self.split.reset.next = self.reset.val();
        self.split.req_valid.next = self.req_valid.val();
        self.split.req_addr.next = self.req_addr.val();
        self.split.req_words.next = self.req_words.val();
        self.split.ax_ready.next = self.arready.val();
        self.split.credit.next = self.count.q.val() < self.max5.val();
        self.req_ready.next = self.split.req_ready.val();
        self.araddr.next = self.split.ax_addr.val();
        self.arlen.next = self.split.ax_len.val();
        self.arvalid.next = self.split.ax_valid.val();
        self.arsize.next = self.size_c.val();
        self.arburst.next = self.incr_c.val();

        // Burst descriptors (half words to drop), pushed at the AR handshake.
        self.push_flags.next = self.zero2.val();
        if self.split.ax_drop_lo.val() {
            self.push_flags.next = self.push_flags.val() | self.m1.val();
        }
        if self.split.ax_drop_hi.val() {
            self.push_flags.next = self.push_flags.val() | self.m2.val();
        }
        if self.split.ax_valid.val() & self.arready.val() {
            for i in 0..self.flags.len() {
                if self.f_wr.q.val().get_bits::<4>(0) == self.idx[i].val() {
                    self.flags[i].d.next = self.push_flags.val();
                }
            }
            self.f_wr.d.next = self.f_wr.q.val() + self.one5.val();
        }
        self.head.next = self.flags[0].q.val();
        for i in 0..self.flags.len() {
            if self.f_rd.q.val().get_bits::<4>(0) == self.idx[i].val() {
                self.head.next = self.flags[i].q.val();
            }
        }

        // The beat register: one beat, its requested halves in `b_mask`.
        for i in 0..self.lanes.len() {
            self.lanes[i].next = self.b_data.q.val().get_bits::<64>(64 * i);
        }
        self.out_word.next = self.lanes[0].val();
        for i in 1..self.lanes.len() {
            if !self.b_mask.q.val().get_bit(0) {
                self.out_word.next = self.lanes[i].val();
            }
        }
        self.single.next = self.b_mask.q.val() != self.m3.val();
        self.out_take.next = self.b_valid.q.val() & self.out_ready.val();
        self.rready_l.next = !self.b_valid.q.val() | (self.out_ready.val() & self.single.val());
        self.r_take.next = self.rvalid.val() & self.rready_l.val();
        self.r_done.next = self.r_take.val() & self.rlast.val();
        self.new_mask.next = self.full_mask.val();
        if !self.r_mid.q.val() & self.head.val().get_bit(0) {
            self.new_mask.next = self.new_mask.val() & self.m2.val();
        }
        if self.rlast.val() & self.head.val().get_bit(1) {
            self.new_mask.next = self.new_mask.val() & self.m1.val();
        }
        if self.out_take.val() {
            if self.single.val() {
                self.b_valid.d.next = false;
            } else {
                self.b_mask.d.next = self.m2.val();
            }
        }
        if self.r_take.val() {
            self.b_valid.d.next = true;
            self.b_data.d.next = self.rdata.val();
            self.b_mask.d.next = self.new_mask.val();
            self.r_mid.d.next = !self.rlast.val();
            if self.rresp.val() != self.zero2.val() {
                self.err.d.next = true;
            }
        }
        if self.r_done.val() {
            self.f_rd.d.next = self.f_rd.q.val() + self.one5.val();
        }
        if self.split.loaded.val() & !self.r_done.val() {
            self.count.d.next = self.count.q.val() + self.one5.val();
        }
        if !self.split.loaded.val() & self.r_done.val() {
            self.count.d.next = self.count.q.val() - self.one5.val();
        }

        if self.reset.val() {
            self.f_wr.d.next = self.zero5.val();
            self.f_rd.d.next = self.zero5.val();
            self.count.d.next = self.zero5.val();
            self.r_mid.d.next = false;
            self.b_valid.d.next = false;
            self.err.d.next = false;
        }

        self.out_valid.next = self.b_valid.q.val();
        self.rready.next = self.rready_l.val();
        self.error.next = self.err.q.val();
        self.busy.next = self.split.active.val() | (self.count.q.val() != self.zero5.val()) | self.b_valid.q.val();
    }
}

/// The AXI4 write master: requests and their 64-bit words in, AXI write
/// bursts out. `S` is the strobe width `D/8` (a second parameter because
/// stable Rust cannot compute it from `D`); use [`AxiWriter64`] or
/// [`AxiWriter128`].
#[derive(LogicBlock)]
pub struct AxiWriter<const D: usize, const S: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (active high): drops all in-flight state and `error`.
    /// Only while the AXI side is idle.
    pub reset: Signal<In, Bit>,
    /// A request is offered.
    pub req_valid: Signal<In, Bit>,
    /// The request is accepted at this edge (when `req_valid`).
    pub req_ready: Signal<Out, Bit>,
    /// Byte address of the first word, a multiple of 8.
    pub req_addr: Signal<In, Bits<32>>,
    /// Number of 64-bit words (≥ 1; 0 is ignored).
    pub req_words: Signal<In, Bits<24>>,
    /// The next word of the requests, in order.
    pub in_word: Signal<In, Bits<64>>,
    /// Its byte enables (0 still writes a beat, with no byte enabled).
    pub in_strb: Signal<In, Bits<8>>,
    /// A word is offered.
    pub in_valid: Signal<In, Bit>,
    /// The word is taken at this edge (when `in_valid`).
    pub in_ready: Signal<Out, Bit>,
    /// Some accepted request is not fully acknowledged (a `B` response is due).
    pub busy: Signal<Out, Bit>,
    /// Sticky until reset: some `B` response had `bresp != 0`.
    pub error: Signal<Out, Bit>,
    /// AW address (beat aligned).
    pub awaddr: Signal<Out, Bits<32>>,
    /// AW burst length − 1 (≤ 15).
    pub awlen: Signal<Out, Bits<8>>,
    /// AW beat size, log2(D/8).
    pub awsize: Signal<Out, Bits<3>>,
    /// AW burst type: INCR.
    pub awburst: Signal<Out, Bits<2>>,
    /// AW valid.
    pub awvalid: Signal<Out, Bit>,
    /// AW ready.
    pub awready: Signal<In, Bit>,
    /// W data.
    pub wdata: Signal<Out, Bits<D>>,
    /// W byte strobes.
    pub wstrb: Signal<Out, Bits<S>>,
    /// W last beat of the burst.
    pub wlast: Signal<Out, Bit>,
    /// W valid.
    pub wvalid: Signal<Out, Bit>,
    /// W ready.
    pub wready: Signal<In, Bit>,
    /// B response (0 = OKAY).
    pub bresp: Signal<In, Bits<2>>,
    /// B valid.
    pub bvalid: Signal<In, Bit>,
    /// B ready (always high).
    pub bready: Signal<Out, Bit>,

    split: BurstSplitter,
    f_len: Vec<DFF<Bits<4>>>,
    f_flags: Vec<DFF<Bits<2>>>,
    f_wr: DFF<Bits<5>>,
    f_rd: DFF<Bits<5>>,
    count: DFF<Bits<5>>,
    w_beat: DFF<Bits<4>>,
    w_lane: DFF<Bit>,
    asm_data: DFF<Bits<D>>,
    asm_strb: DFF<Bits<S>>,
    wv: DFF<Bit>,
    wd: DFF<Bits<D>>,
    ws: DFF<Bits<S>>,
    wl: DFF<Bit>,
    err: DFF<Bit>,

    push_flags: Signal<Local, Bits<2>>,
    h_len: Signal<Local, Bits<4>>,
    h_flags: Signal<Local, Bits<2>>,
    avail: Signal<Local, Bit>,
    first: Signal<Local, Bit>,
    last_beat: Signal<Local, Bit>,
    eff_lane: Signal<Local, Bit>,
    complete: Signal<Local, Bit>,
    in_ready_l: Signal<Local, Bit>,
    take: Signal<Local, Bit>,
    b_take: Signal<Local, Bit>,
    in_wide: Signal<Local, Bits<D>>,
    strb_wide: Signal<Local, Bits<S>>,
    low_data: Signal<Local, Bits<D>>,
    low_strb: Signal<Local, Bits<S>>,

    idx: Vec<Constant<Bits<4>>>,
    bit_d: Vec<Constant<Bits<D>>>,
    bit_s: Vec<Constant<Bits<S>>>,
    zero_d: Constant<Bits<D>>,
    zero_s: Constant<Bits<S>>,
    lane_shift: Constant<Bits<8>>,
    strb_shift: Constant<Bits<8>>,
    wide: Constant<Bit>,
    one5: Constant<Bits<5>>,
    zero5: Constant<Bits<5>>,
    max5: Constant<Bits<5>>,
    zero4: Constant<Bits<4>>,
    one4: Constant<Bits<4>>,
    zero2: Constant<Bits<2>>,
    m1: Constant<Bits<2>>,
    m2: Constant<Bits<2>>,
    size_c: Constant<Bits<3>>,
    incr_c: Constant<Bits<2>>,
}

/// The writer with a 64-bit data bus.
pub type AxiWriter64 = AxiWriter<64, 8>;
/// The writer with a 128-bit data bus.
pub type AxiWriter128 = AxiWriter<128, 16>;

impl<const D: usize, const S: usize> AxiWriter<D, S> {
    /// A writer with a `D`-bit data bus (64 or 128) and `S = D/8` strobes.
    pub fn new() -> Self {
        let s = beat_shift(D);
        assert_eq!(S * 8, D, "strobe width {S} is not D/8 for D = {D}");
        AxiWriter {
            clock: Default::default(),
            reset: Default::default(),
            req_valid: Default::default(),
            req_ready: Default::default(),
            req_addr: Default::default(),
            req_words: Default::default(),
            in_word: Default::default(),
            in_strb: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            busy: Default::default(),
            error: Default::default(),
            awaddr: Default::default(),
            awlen: Default::default(),
            awsize: Default::default(),
            awburst: Default::default(),
            awvalid: Default::default(),
            awready: Default::default(),
            wdata: Default::default(),
            wstrb: Default::default(),
            wlast: Default::default(),
            wvalid: Default::default(),
            wready: Default::default(),
            bresp: Default::default(),
            bvalid: Default::default(),
            bready: Default::default(),
            split: BurstSplitter::new(D),
            f_len: many(MAX_OUTSTANDING),
            f_flags: many(MAX_OUTSTANDING),
            f_wr: Default::default(),
            f_rd: Default::default(),
            count: Default::default(),
            w_beat: Default::default(),
            w_lane: Default::default(),
            asm_data: Default::default(),
            asm_strb: Default::default(),
            wv: Default::default(),
            wd: Default::default(),
            ws: Default::default(),
            wl: Default::default(),
            err: Default::default(),
            push_flags: Default::default(),
            h_len: Default::default(),
            h_flags: Default::default(),
            avail: Default::default(),
            first: Default::default(),
            last_beat: Default::default(),
            eff_lane: Default::default(),
            complete: Default::default(),
            in_ready_l: Default::default(),
            take: Default::default(),
            b_take: Default::default(),
            in_wide: Default::default(),
            strb_wide: Default::default(),
            low_data: Default::default(),
            low_strb: Default::default(),
            idx: constants(0..MAX_OUTSTANDING as u64),
            bit_d: bit_constants(64),
            bit_s: bit_constants(8),
            zero_d: Constant::new(Bits::<D>::default()),
            zero_s: Constant::new(Bits::<S>::default()),
            lane_shift: Constant::new((if D == 128 { 64u64 } else { 0 }).into()),
            strb_shift: Constant::new((if D == 128 { 8u64 } else { 0 }).into()),
            wide: Constant::new(D == 128),
            one5: Constant::new(1u64.into()),
            zero5: Constant::new(0u64.into()),
            max5: Constant::new((MAX_OUTSTANDING as u64).into()),
            zero4: Constant::new(0u64.into()),
            one4: Constant::new(1u64.into()),
            zero2: Constant::new(0u64.into()),
            m1: Constant::new(1u64.into()),
            m2: Constant::new(2u64.into()),
            size_c: Constant::new((s as u64).into()),
            incr_c: Constant::new(1u64.into()),
        }
    }
}

impl<const D: usize, const S: usize> Default for AxiWriter<D, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const D: usize, const S: usize> Logic for AxiWriter<D, S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, f_wr, f_rd, count, w_beat, w_lane, asm_data, asm_strb, wv, wd, ws, wl, err);
        for i in 0..self.f_len.len() {
            self.f_len[i].clock.next = self.clock.val();
            self.f_len[i].d.next = self.f_len[i].q.val();
            self.f_flags[i].clock.next = self.clock.val();
            self.f_flags[i].d.next = self.f_flags[i].q.val();
        }
        self.split.clock.next = self.clock.val();
        self.split.reset.next = self.reset.val();
        self.split.req_valid.next = self.req_valid.val();
        self.split.req_addr.next = self.req_addr.val();
        self.split.req_words.next = self.req_words.val();
        self.split.ax_ready.next = self.awready.val();
        self.split.credit.next = self.count.q.val() < self.max5.val();
        self.req_ready.next = self.split.req_ready.val();
        self.awaddr.next = self.split.ax_addr.val();
        self.awlen.next = self.split.ax_len.val();
        self.awvalid.next = self.split.ax_valid.val();
        self.awsize.next = self.size_c.val();
        self.awburst.next = self.incr_c.val();

        // Burst descriptors, pushed at the AW handshake: W never runs ahead of AW.
        self.push_flags.next = self.zero2.val();
        if self.split.ax_drop_lo.val() {
            self.push_flags.next = self.push_flags.val() | self.m1.val();
        }
        if self.split.ax_drop_hi.val() {
            self.push_flags.next = self.push_flags.val() | self.m2.val();
        }
        if self.split.ax_valid.val() & self.awready.val() {
            for i in 0..self.f_len.len() {
                if self.f_wr.q.val().get_bits::<4>(0) == self.idx[i].val() {
                    self.f_len[i].d.next = self.split.ax_len.val().get_bits::<4>(0);
                    self.f_flags[i].d.next = self.push_flags.val();
                }
            }
            self.f_wr.d.next = self.f_wr.q.val() + self.one5.val();
        }
        self.h_len.next = self.f_len[0].q.val();
        self.h_flags.next = self.f_flags[0].q.val();
        for i in 0..self.f_len.len() {
            if self.f_rd.q.val().get_bits::<4>(0) == self.idx[i].val() {
                self.h_len.next = self.f_len[i].q.val();
                self.h_flags.next = self.f_flags[i].q.val();
            }
        }
        self.avail.next = self.f_wr.q.val() != self.f_rd.q.val();

        // Words to beats. The word's lane: 1 after a stored low word, or at
        // the start of a burst that begins in a high half (D = 128 only).
        self.in_wide.next = self.zero_d.val();
        for i in 0..64 {
            if self.in_word.val().get_bit(i) {
                self.in_wide.next = self.in_wide.val() | self.bit_d[i].val();
            }
        }
        self.strb_wide.next = self.zero_s.val();
        for i in 0..8 {
            if self.in_strb.val().get_bit(i) {
                self.strb_wide.next = self.strb_wide.val() | self.bit_s[i].val();
            }
        }
        self.first.next = self.w_beat.q.val() == self.zero4.val();
        self.last_beat.next = self.w_beat.q.val() == self.h_len.val();
        self.eff_lane.next =
            self.wide.val() & (self.w_lane.q.val() | (self.first.val() & self.h_flags.val().get_bit(0)));
        self.complete.next =
            !self.wide.val() | self.eff_lane.val() | (self.last_beat.val() & self.h_flags.val().get_bit(1));
        self.in_ready_l.next = self.avail.val() & (!self.wv.q.val() | self.wready.val());
        self.take.next = self.in_valid.val() & self.in_ready_l.val();
        self.low_data.next = self.zero_d.val();
        self.low_strb.next = self.zero_s.val();
        if self.w_lane.q.val() {
            self.low_data.next = self.asm_data.q.val();
            self.low_strb.next = self.asm_strb.q.val();
        }

        if self.wready.val() {
            self.wv.d.next = false;
        }
        if self.take.val() {
            if self.complete.val() {
                self.wv.d.next = true;
                self.wl.d.next = self.last_beat.val();
                self.wd.d.next = self.in_wide.val();
                self.ws.d.next = self.strb_wide.val();
                if self.eff_lane.val() {
                    self.wd.d.next = (self.in_wide.val() << self.lane_shift.val()) | self.low_data.val();
                    self.ws.d.next = (self.strb_wide.val() << self.strb_shift.val()) | self.low_strb.val();
                }
                self.w_lane.d.next = false;
                if self.last_beat.val() {
                    self.w_beat.d.next = self.zero4.val();
                    self.f_rd.d.next = self.f_rd.q.val() + self.one5.val();
                } else {
                    self.w_beat.d.next = self.w_beat.q.val() + self.one4.val();
                }
            } else {
                self.asm_data.d.next = self.in_wide.val();
                self.asm_strb.d.next = self.strb_wide.val();
                self.w_lane.d.next = true;
            }
        }

        // Responses: always accepted; each ends one outstanding burst.
        self.b_take.next = self.bvalid.val();
        if self.b_take.val() & (self.bresp.val() != self.zero2.val()) {
            self.err.d.next = true;
        }
        if self.split.loaded.val() & !self.b_take.val() {
            self.count.d.next = self.count.q.val() + self.one5.val();
        }
        if !self.split.loaded.val() & self.b_take.val() {
            self.count.d.next = self.count.q.val() - self.one5.val();
        }

        if self.reset.val() {
            self.f_wr.d.next = self.zero5.val();
            self.f_rd.d.next = self.zero5.val();
            self.count.d.next = self.zero5.val();
            self.w_beat.d.next = self.zero4.val();
            self.w_lane.d.next = false;
            self.wv.d.next = false;
            self.err.d.next = false;
        }

        self.in_ready.next = self.in_ready_l.val() & !self.reset.val();
        self.wvalid.next = self.wv.q.val();
        self.wdata.next = self.wd.q.val();
        self.wstrb.next = self.ws.q.val();
        self.wlast.next = self.wl.q.val();
        self.bready.next = true;
        self.error.next = self.err.q.val();
        self.busy.next = self.split.active.val() | (self.count.q.val() != self.zero5.val());
    }
}

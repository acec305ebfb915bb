//! `Gatherer`: fills the activation buffer with the receptive fields of one
//! tile at a time, double-buffered, from DDR through the AXI reader, reusing
//! the input rows the tile above gathered.
//!
//! Role: a tile is `cols` consecutive output pixels `(oy, ox0 + c)` of one
//! output row (for all the array's rows = output channels). Column `c`'s
//! bank receives, for every tap `(ky, kx)`, the channel slice (`G·A`
//! consecutive words: `ceil(cin/64)` groups × `a_in` planes,
//! `isa::layout::ActLayout`) of the input pixel that tap sees. Every bank has
//! the same layout, so the feeder reads all columns at one address.
//!
//! **Row slots**: kernel rows are written one after another through the
//! whole bank, in slots of `kw·G·A` words, wrapping with the bank's address
//! bits. Tap `(ky, kx)` of a tile is at
//! `(toff + ky·kw·G·A + kx·G·A + g·A + p) mod 2^AB`, `toff` the tile's
//! **ring offset** (its row 0's slot; `info_toff0/1`). Tiles go down **strips** of `cols` output columns (`ox0` outer,
//! `oy` inner), so the tile below reads input rows `s` further down (`s` the
//! stride, in upsampled coordinates): its kernel rows `0 .. kh − s` are this
//! tile's rows `s .. kh`, already in the ring, and the gatherer reads and
//! writes only its last `s` rows, into the slots after this tile's. A
//! strip's first tile, and every tile with packed taps (each kernel row has
//! its own bank segment there), gathers all `kh` rows. Why: each input row
//! used to be read and written once per kernel row that sees it — three
//! times at 3×3/1 and 6×6/2 — and the layers whose gathers outweigh their
//! compute (the flow predictions, conv5, conv6) were bound by those words,
//! one per cycle into the banks (docs/performance.md, change 13).
//!
//! Reuse along the row: neighbouring columns see overlapping pixels (column
//! `c` at tap `kx` reads position `u = c·s + kx` of the tile's span), so the
//! gatherer reads each position of the span **once** — `((v − 1)·s + kw)`
//! reads per kernel row for `v` valid columns instead of `kw·v` — and writes
//! the words into every column that uses them, all banks in the same cycle,
//! each at its own address. Positions outside the (upsampled, padded) input
//! are zero words without a read; the last group's words are ANDed with
//! `mask` (channels at or past `cin` read as zero, as the contract
//! requires). Columns past `out_w` (in a strip's last tile) get whatever
//! their positions give: their results are never written.
//!
//! Two processes: the *issuer* walks tiles → kernel rows → span positions,
//! sends one read request per position inside the input and pushes an item
//! record (position base, position, zero?, tile end?) into a queue; the
//! *writer* pops records and writes the words (read data or zeros) into the
//! banks of the columns that use the position. So many reads are in flight
//! at once and the DDR latency is paid once per stream, not per item.
//!
//! Packed taps (`pack`, `isa` `pack_taps`: a 2 × 2 kernel over at most 16
//! channels): every tap's slice goes to tap 0's address (`toff + g·A + p`),
//! into bank segment `2·ky + kx` (`bank_we[c]` has one bit per 16-lane
//! segment, `crate::act_bank`), and the word's lanes 0..16 (masked) are
//! repeated in all four segments; so the feeder reads one tap of 64 lanes.
//! A 2 × 2 kernel writes all four segments of every column it fills.
//!
//! Halves: the two tiles in the buffer (the one the feeder reads and the one
//! being gathered) are its two *halves*, each free, filling or full. The
//! issuer starts tile `t` on half `t mod 2` only when it is free; the writer
//! marks it full after the tile's last word; the feeder frees it
//! (`free_half`) after reading it. A tile's new rows never overwrite the tile
//! the feeder reads: they are at most `kh` slots after its `kh`, and `2·kh`
//! slots fit the bank (`kh·kw·G·A` words fit half of it, the descriptor
//! check's `BufferTooSmall` rule); the tile two back, whose slots they may
//! reuse, is freed first.
//!
//! # Ports
//! - `clock`, `reset`; `start` (pulse): begin a pass over every tile with the
//!   settings below (stable until the pass ends). `busy`: a pass is running.
//! - Settings: `in_base` (address of pixel (0, 0)'s first slice word),
//!   `row_bytes`, `pix_bytes`, `slice_words` (`G·A`), `a_bits`, `mask`, `kh`,
//!   `kw`, `stride_two`, `up_two`, `pad_top`, `pad_left`, `up_h`/`up_w` (input
//!   size after upsampling), `out_h`, `out_w`.
//! - Reader: `rreq_*` (request), `rd_word`/`rd_valid`/`rd_ready` (data).
//! - Banks: per column `bank_we[c]` (4 segment enables), `bank_addr[c]`;
//!   `bank_data` for all.
//! - Halves: `full` (bit h), per half the tile's `info_oy`, `info_ox`,
//!   `info_last` and ring offset `info_toff` (valid while `full`; the ring
//!   offset a cycle before), `free_half` (bit h, pulse).
use rust_hdl::prelude::*;

use crate::desc_check::Widen;
use crate::fifo::{konst as k, Narrow, RegFifo};

/// Bits of an item record: position base (16), position (8), a zero bit
/// (so that bits 16..25 read as the position in 9 bits), zero, tile end,
/// the kernel row's low bit (packed taps).
const ITEM_BITS: usize = 28;

/// The gatherer; `AB` = activation bank address bits (a half is `2^(AB−1)` words).
#[derive(LogicBlock)]
pub struct Gatherer<const AB: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Begin a pass.
    pub start: Signal<In, Bit>,
    /// A pass is running (issuing or writing).
    pub busy: Signal<Out, Bit>,
    /// Address of the first slice word of input pixel (0, 0).
    pub in_base: Signal<In, Bits<32>>,
    /// Bytes per input row.
    pub row_bytes: Signal<In, Bits<32>>,
    /// Bytes per input pixel (all `in_c_total` channels).
    pub pix_bytes: Signal<In, Bits<16>>,
    /// Words per pixel slice, `G·A`.
    pub slice_words: Signal<In, Bits<16>>,
    /// `a_in`: the last `a_bits` words of a slice are the last group's planes.
    pub a_bits: Signal<In, Bits<16>>,
    /// Channel mask of the last group.
    pub mask: Signal<In, Bits<64>>,
    /// Kernel rows.
    pub kh: Signal<In, Bits<4>>,
    /// Kernel columns.
    pub kw: Signal<In, Bits<4>>,
    /// Stride 2 (else 1).
    pub stride_two: Signal<In, Bit>,
    /// Upsampling ×2 (else ×1).
    pub up_two: Signal<In, Bit>,
    /// Packed taps: a 2×2 kernel's four taps in the four segments of tap 0.
    pub pack: Signal<In, Bit>,
    /// Zero rows above.
    pub pad_top: Signal<In, Bits<4>>,
    /// Zero columns left.
    pub pad_left: Signal<In, Bits<4>>,
    /// Input rows after upsampling.
    pub up_h: Signal<In, Bits<20>>,
    /// Input columns after upsampling.
    pub up_w: Signal<In, Bits<20>>,
    /// Output rows.
    pub out_h: Signal<In, Bits<16>>,
    /// Output columns.
    pub out_w: Signal<In, Bits<16>>,
    /// Read request valid.
    pub rreq_valid: Signal<Out, Bit>,
    /// Read request accepted.
    pub rreq_ready: Signal<In, Bit>,
    /// Read request address.
    pub rreq_addr: Signal<Out, Bits<32>>,
    /// Read request length in words.
    pub rreq_words: Signal<Out, Bits<24>>,
    /// Read data.
    pub rd_word: Signal<In, Bits<64>>,
    /// Read data valid.
    pub rd_valid: Signal<In, Bit>,
    /// Read data taken.
    pub rd_ready: Signal<Out, Bit>,
    /// Write column c's bank at this edge, by 16-lane segment.
    pub bank_we: Vec<Signal<Out, Bits<4>>>,
    /// Column c's bank address.
    pub bank_addr: Vec<Signal<Out, Bits<AB>>>,
    /// The word written (to every enabled bank).
    pub bank_data: Signal<Out, Bits<64>>,
    /// Half h holds a complete tile (bit h).
    pub full: Signal<Out, Bits<2>>,
    /// Output row of the tile in half 0.
    pub info_oy0: Signal<Out, Bits<16>>,
    /// Output row of the tile in half 1.
    pub info_oy1: Signal<Out, Bits<16>>,
    /// First output column of the tile in half 0.
    pub info_ox0: Signal<Out, Bits<16>>,
    /// First output column of the tile in half 1.
    pub info_ox1: Signal<Out, Bits<16>>,
    /// The tile in half 0 is the pass's last.
    pub info_last0: Signal<Out, Bit>,
    /// The tile in half 1 is the pass's last.
    pub info_last1: Signal<Out, Bit>,
    /// Ring offset of the tile in half 0: the bank address of its kernel row 0.
    pub info_toff0: Signal<Out, Bits<16>>,
    /// Ring offset of the tile in half 1.
    pub info_toff1: Signal<Out, Bits<16>>,
    /// The feeder is done with half h (bit h, pulse).
    pub free_half: Signal<In, Bits<2>>,
    // Issuer.
    issuing: DFF<Bit>,
    i_half: DFF<Bit>,
    i_started: DFF<Bit>,
    oy: DFF<Bits<16>>,
    ox0: DFF<Bits<16>>,
    ky: DFF<Bits<4>>,
    /// Position in the tile's span (input columns after upsampling).
    u: DFF<Bits<8>>,
    /// `(ky·kw + u)·slice_words`: the position's bank offset for a column whose tap is `u`.
    pos_base: DFF<Bits<16>>,
    /// Bank address of the current kernel row's slot (`kw·slice_words`
    /// words, modulo the bank).
    ws: DFF<Bits<16>>,
    /// `ws` `kh` slots back (from the pass's second tile on): after a
    /// tile's last row, the tile's row-0 slot.
    wr: DFF<Bits<16>>,
    /// The pass's first tile is being issued (`wr` waits at 0).
    first: DFF<Bit>,
    /// Bank address of the current tile's first written slot (packed taps).
    t0: DFF<Bits<16>>,
    toff_h0: DFF<Bits<16>>,
    toff_h1: DFF<Bits<16>>,
    /// Per column: `c·s·slice_words`, subtracted from a position's base.
    col_off: Vec<DFF<Bits<16>>>,
    /// Per column: `c·s·slice_words` before registering (mod 2^16).
    n_col_off: Vec<Narrow<32, 16>>,
    /// Per column: `c`, its first position at stride 1.
    cs1: Vec<Constant<Bits<9>>>,
    /// Per column: `2c`, its first position at stride 2.
    cs2: Vec<Constant<Bits<9>>>,
    /// Per column: `c`.
    ccol: Vec<Constant<Bits<16>>>,
    /// Per column: `c` is odd (its tap column at stride 1 flips `u`'s low bit).
    codd: Vec<Constant<Bit>>,
    // Half state: filling / full, and each half's tile.
    filling: DFF<Bits<2>>,
    full_r: DFF<Bits<2>>,
    oy_h0: DFF<Bits<16>>,
    oy_h1: DFF<Bits<16>>,
    ox_h0: DFF<Bits<16>>,
    ox_h1: DFF<Bits<16>>,
    last_h0: DFF<Bit>,
    last_h1: DFF<Bit>,
    // Writer.
    w_half: DFF<Bit>,
    w_idx: DFF<Bits<16>>,
    items: RegFifo<ITEM_BITS, 4>,
    // Zero-extensions and truncations (lint-clean `bit_cast`s).
    w_oy20: Widen<16, 20>,
    w_ky20: Widen<4, 20>,
    w_pt20: Widen<4, 20>,
    w_ox20: Widen<16, 20>,
    w_u20: Widen<8, 20>,
    w_u16: Widen<8, 16>,
    w_kw9: Widen<4, 9>,
    w_kw16: Widen<4, 16>,
    n_kwsw: Narrow<32, 16>,
    /// A row slot's words, `kw·slice_words`, registered (settings are
    /// stable from `start`; the first row ends a cycle later at the earliest).
    rs: DFF<Bits<16>>,
    w_pl20: Widen<4, 20>,
    w_sw24: Widen<16, 24>,
    w_tb_item: Widen<16, ITEM_BITS>,
    w_u_item: Widen<8, ITEM_BITS>,
    n_bank: Vec<Narrow<16, AB>>,
    lanes16: Signal<Local, Bits<64>>,
    h_ky: Signal<Local, Bit>,
    kx1: Signal<Local, Bit>,
    seg: Signal<Local, Bits<4>>,
    col_we: Signal<Local, Bit>,
    data: Signal<Local, Bits<64>>,
    dy: Signal<Local, Bits<20>>,
    dx: Signal<Local, Bits<20>>,
    rm_lo: Signal<Local, Bits<32>>,
    rm_hi: Signal<Local, Bits<32>>,
    csw: Signal<Local, Bits<16>>,
    vcols: Signal<Local, Bits<16>>,
    span: Signal<Local, Bits<16>>,
    rem_w: Signal<Local, Bits<16>>,
    // Combinational.
    uyb: Signal<Local, Bits<20>>,
    uxb: Signal<Local, Bits<20>>,
    iy: Signal<Local, Bits<16>>,
    ix: Signal<Local, Bits<16>>,
    x_off: Signal<Local, Bits<32>>,
    in_bounds: Signal<Local, Bit>,
    last_u: Signal<Local, Bit>,
    last_ky: Signal<Local, Bit>,
    tile_end: Signal<Local, Bit>,
    last_tile: Signal<Local, Bit>,
    last_oy: Signal<Local, Bit>,
    ws_next: Signal<Local, Bits<16>>,
    wr_next: Signal<Local, Bits<16>>,
    ky_first: Signal<Local, Bits<4>>,
    row_step: Signal<Local, Bits<4>>,
    next_ox: Signal<Local, Bits<16>>,
    can_go: Signal<Local, Bit>,
    item: Signal<Local, Bits<ITEM_BITS>>,
    half_free: Signal<Local, Bit>,
    h_item: Signal<Local, Bits<ITEM_BITS>>,
    h_zero: Signal<Local, Bit>,
    h_end: Signal<Local, Bit>,
    h_u: Signal<Local, Bits<9>>,
    h_base: Signal<Local, Bits<16>>,
    w_take: Signal<Local, Bit>,
    w_last: Signal<Local, Bit>,
    set_full: Signal<Local, Bits<2>>,
    set_fill: Signal<Local, Bits<2>>,
    zero_flag: Constant<Bits<ITEM_BITS>>,
    ky_flag: Constant<Bits<ITEM_BITS>>,
    ones4: Constant<Bits<4>>,
    /// Lanes 0..16.
    low16: Constant<Bits<64>>,
    seg00: Constant<Bits<4>>,
    seg01: Constant<Bits<4>>,
    seg10: Constant<Bits<4>>,
    seg11: Constant<Bits<4>>,
    end_flag: Constant<Bits<ITEM_BITS>>,
    ncols: Constant<Bits<16>>,
    eight: Constant<Bits<20>>,
    one4: Constant<Bits<4>>,
    one8: Constant<Bits<8>>,
    one16: Constant<Bits<16>>,
    zero4: Constant<Bits<4>>,
    zero8: Constant<Bits<8>>,
    zero16: Constant<Bits<16>>,
    zero64: Constant<Bits<64>>,
    b01: Constant<Bits<2>>,
    b10: Constant<Bits<2>>,
    b00: Constant<Bits<2>>,
}

impl<const AB: usize> Gatherer<AB> {
    /// A gatherer for an array of `cols` columns (1..=64).
    pub fn new(cols: usize) -> Self {
        assert!((1..=64).contains(&cols), "cols {cols} outside 1..=64");
        assert!((2..=16).contains(&AB), "bank address bits {AB} outside 2..=16");

        Gatherer {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            busy: Default::default(),
            in_base: Default::default(),
            row_bytes: Default::default(),
            pix_bytes: Default::default(),
            slice_words: Default::default(),
            a_bits: Default::default(),
            mask: Default::default(),
            kh: Default::default(),
            kw: Default::default(),
            stride_two: Default::default(),
            up_two: Default::default(),
            pack: Default::default(),
            pad_top: Default::default(),
            pad_left: Default::default(),
            up_h: Default::default(),
            up_w: Default::default(),
            out_h: Default::default(),
            out_w: Default::default(),
            rreq_valid: Default::default(),
            rreq_ready: Default::default(),
            rreq_addr: Default::default(),
            rreq_words: Default::default(),
            rd_word: Default::default(),
            rd_valid: Default::default(),
            rd_ready: Default::default(),
            bank_we: (0..cols).map(|_| Default::default()).collect(),
            bank_addr: (0..cols).map(|_| Default::default()).collect(),
            bank_data: Default::default(),
            full: Default::default(),
            info_oy0: Default::default(),
            info_oy1: Default::default(),
            info_ox0: Default::default(),
            info_ox1: Default::default(),
            info_last0: Default::default(),
            info_last1: Default::default(),
            info_toff0: Default::default(),
            info_toff1: Default::default(),
            free_half: Default::default(),
            issuing: Default::default(),
            i_half: Default::default(),
            i_started: Default::default(),
            oy: Default::default(),
            ox0: Default::default(),
            ky: Default::default(),
            u: Default::default(),
            pos_base: Default::default(),
            ws: Default::default(),
            wr: Default::default(),
            first: Default::default(),
            t0: Default::default(),
            toff_h0: Default::default(),
            toff_h1: Default::default(),
            col_off: (0..cols).map(|_| Default::default()).collect(),
            cs1: (0..cols).map(|c| k(c as u64)).collect(),
            cs2: (0..cols).map(|c| k(2 * c as u64)).collect(),
            ccol: (0..cols).map(|c| k(c as u64)).collect(),
            codd: (0..cols).map(|c| Constant::new(c % 2 == 1)).collect(),
            filling: Default::default(),
            full_r: Default::default(),
            oy_h0: Default::default(),
            oy_h1: Default::default(),
            ox_h0: Default::default(),
            ox_h1: Default::default(),
            last_h0: Default::default(),
            last_h1: Default::default(),
            w_half: Default::default(),
            w_idx: Default::default(),
            items: RegFifo::new(),
            w_oy20: Default::default(),
            w_ky20: Default::default(),
            w_pt20: Default::default(),
            w_ox20: Default::default(),
            w_u20: Default::default(),
            w_u16: Default::default(),
            w_kw9: Default::default(),
            w_kw16: Default::default(),
            n_kwsw: Default::default(),
            rs: Default::default(),
            w_pl20: Default::default(),
            w_sw24: Default::default(),
            w_tb_item: Default::default(),
            w_u_item: Default::default(),
            n_bank: (0..cols).map(|_| Default::default()).collect(),
            lanes16: Default::default(),
            h_ky: Default::default(),
            kx1: Default::default(),
            seg: Default::default(),
            col_we: Default::default(),
            data: Default::default(),
            n_col_off: (0..cols).map(|_| Default::default()).collect(),
            dy: Default::default(),
            dx: Default::default(),
            rm_lo: Default::default(),
            rm_hi: Default::default(),
            csw: Default::default(),
            vcols: Default::default(),
            span: Default::default(),
            rem_w: Default::default(),
            uyb: Default::default(),
            uxb: Default::default(),
            iy: Default::default(),
            ix: Default::default(),
            x_off: Default::default(),
            in_bounds: Default::default(),
            last_u: Default::default(),
            last_ky: Default::default(),
            tile_end: Default::default(),
            last_tile: Default::default(),
            last_oy: Default::default(),
            ws_next: Default::default(),
            wr_next: Default::default(),
            ky_first: Default::default(),
            row_step: Default::default(),
            next_ox: Default::default(),
            can_go: Default::default(),
            item: Default::default(),
            half_free: Default::default(),
            h_item: Default::default(),
            h_zero: Default::default(),
            h_end: Default::default(),
            h_u: Default::default(),
            h_base: Default::default(),
            w_take: Default::default(),
            w_last: Default::default(),
            set_full: Default::default(),
            set_fill: Default::default(),
            zero_flag: k(1 << 25),
            ky_flag: k(1 << 27),
            ones4: k(15),
            low16: k(0xffff),
            seg00: k(1),
            seg01: k(2),
            seg10: k(4),
            seg11: k(8),
            end_flag: k(1 << 26),
            ncols: k(cols as u64),
            eight: k(8),
            one4: k(1),
            one8: k(1),
            one16: k(1),
            zero4: k(0),
            zero8: k(0),
            zero16: k(0),
            zero64: k(0),
            b01: k(1),
            b10: k(2),
            b00: k(0),
        }
    }
}

impl<const AB: usize> Logic for Gatherer<AB> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, issuing, i_half, i_started, oy, ox0, ky, u, pos_base, rs, ws, wr, first, t0, filling, full_r,
            oy_h0, oy_h1, ox_h0, ox_h1, last_h0, last_h1, toff_h0, toff_h1, w_half, w_idx
        );
        self.items.clock.next = self.clock.val();
        self.items.reset.next = self.reset.val();

        // ---- Per-column constants of the pass: c·s·slice_words (registered;
        // the settings are stable long before the first word returns).
        self.csw.next = self.slice_words.val();
        if self.stride_two.val() {
            self.csw.next = self.slice_words.val() << 1;
        }
        for c in 0..self.col_off.len() {
            self.col_off[c].clock.next = self.clock.val();
            self.n_col_off[c].i.next = self.ccol[c].val() * self.csw.val();
            self.col_off[c].d.next = self.n_col_off[c].o.val();
        }

        // ---- Issuer: the item (tile, ky, u) under the counters.
        // The tile's span: (v − 1)·s + kw positions for v valid columns.
        self.rem_w.next = self.out_w.val() - self.ox0.q.val();
        self.vcols.next = self.ncols.val();
        if self.rem_w.val() < self.ncols.val() {
            self.vcols.next = self.rem_w.val();
        }
        self.w_kw16.i.next = self.kw.val();
        self.w_kw9.i.next = self.kw.val();
        self.span.next = (self.vcols.val() - self.one16.val()) + self.w_kw16.o.val();
        if self.stride_two.val() {
            self.span.next = ((self.vcols.val() - self.one16.val()) << 1) + self.w_kw16.o.val();
        }
        self.n_kwsw.i.next = self.w_kw16.o.val() * self.slice_words.val();
        self.rs.d.next = self.n_kwsw.o.val();
        // Biased coordinates (+8) keep the padding subtraction unsigned.
        self.w_oy20.i.next = self.oy.q.val();
        self.w_ky20.i.next = self.ky.q.val();
        self.w_pt20.i.next = self.pad_top.val();
        self.w_ox20.i.next = self.ox0.q.val();
        self.w_u20.i.next = self.u.q.val();
        self.w_u16.i.next = self.u.q.val();
        self.w_pl20.i.next = self.pad_left.val();
        self.uyb.next = self.w_oy20.o.val() + self.w_ky20.o.val() + self.eight.val() - self.w_pt20.o.val();
        if self.stride_two.val() {
            self.uyb.next = (self.w_oy20.o.val() << 1) + self.w_ky20.o.val() + self.eight.val() - self.w_pt20.o.val();
        }
        self.uxb.next = self.w_ox20.o.val() + self.w_u20.o.val() + self.eight.val() - self.w_pl20.o.val();
        if self.stride_two.val() {
            self.uxb.next = (self.w_ox20.o.val() << 1) + self.w_u20.o.val() + self.eight.val() - self.w_pl20.o.val();
        }
        // Unbiased (upsampled) coordinates; when `uyb >= 8` (checked first),
        // `uyb < up_h + 8` is `dy < up_h`, so all of `dy` is used.
        self.dy.next = self.uyb.val() - self.eight.val();
        self.dx.next = self.uxb.val() - self.eight.val();
        self.in_bounds.next = (self.uyb.val() >= self.eight.val())
            & (self.dy.val() < self.up_h.val())
            & (self.uxb.val() >= self.eight.val())
            & (self.dx.val() < self.up_w.val());
        // In bounds, dy < up_h < 2^17: the pixel row fits 16 bits.
        self.iy.next = self.dy.val().get_bits::<16>(0);
        self.ix.next = self.dx.val().get_bits::<16>(0);
        if self.up_two.val() {
            self.iy.next = self.dy.val().get_bits::<16>(1);
            self.ix.next = self.dx.val().get_bits::<16>(1);
        }
        // row_bytes · iy (32×16, mod 2^32) inline: a multiplier block here
        // made a false combinational loop through this always block (UNOPTFLAT).
        self.rm_lo.next = self.row_bytes.val().get_bits::<16>(0) * self.iy.val();
        self.rm_hi.next = self.row_bytes.val().get_bits::<16>(16) * self.iy.val();
        self.x_off.next = self.ix.val() * self.pix_bytes.val();
        self.rreq_addr.next = self.in_base.val() + (self.rm_lo.val() + (self.rm_hi.val() << 16)) + self.x_off.val();
        self.w_sw24.i.next = self.slice_words.val();
        self.rreq_words.next = self.w_sw24.o.val();

        self.last_u.next = (self.w_u16.o.val() + self.one16.val()) == self.span.val();
        self.last_ky.next = (self.ky.q.val() + self.one4.val()) == self.kh.val();
        self.tile_end.next = self.last_u.val() & self.last_ky.val();
        self.next_ox.next = self.ox0.q.val() + self.ncols.val();
        self.last_oy.next = (self.oy.q.val() + self.one16.val()) == self.out_h.val();
        self.last_tile.next = (self.next_ox.val() >= self.out_w.val()) & self.last_oy.val();

        // ---- Row slots: the next kernel row's slot, and the same `kh`
        // slots back, which is a tile's row-0 slot (its ring offset) once
        // its last row is written. Modulo the bank: the narrowing of the
        // bank addresses to AB bits is the wrap.
        self.ws_next.next = self.ws.q.val() + self.rs.q.val();
        self.wr_next.next = self.wr.q.val() + self.rs.q.val();
        // The next tile's first kernel row: below this tile in the same
        // strip, its rows `0 .. kh − s` are this tile's rows `s .. kh`, still
        // in the ring; packed taps keep each row in its own bank segment, so
        // they gather every row.
        self.row_step.next = self.one4.val();
        if self.stride_two.val() {
            self.row_step.next = self.one4.val() + self.one4.val();
        }
        self.ky_first.next = self.zero4.val();
        if !self.last_oy.val() & !self.pack.val() & (self.row_step.val() < self.kh.val()) {
            self.ky_first.next = self.kh.val() - self.row_step.val();
        }

        self.w_tb_item.i.next = self.pos_base.q.val();
        if self.pack.val() {
            self.w_tb_item.i.next = self.t0.q.val();
        }
        self.w_u_item.i.next = self.u.q.val();
        self.item.next = self.w_tb_item.o.val() | (self.w_u_item.o.val() << 16);
        if !self.in_bounds.val() {
            self.item.next = self.item.val() | self.zero_flag.val();
        }
        if self.tile_end.val() {
            self.item.next = self.item.val() | self.end_flag.val();
        }
        if self.ky.q.val().get_bit(0) {
            self.item.next = self.item.val() | self.ky_flag.val();
        }

        // A tile may start on its half only when that half is free.
        self.half_free.next = !self.filling.q.val().get_bit(0) & !self.full_r.q.val().get_bit(0);
        if self.i_half.q.val() {
            self.half_free.next = !self.filling.q.val().get_bit(1) & !self.full_r.q.val().get_bit(1);
        }
        self.can_go.next =
            self.issuing.q.val() & !self.items.full.val() & (self.i_started.q.val() | self.half_free.val());
        self.rreq_valid.next = self.can_go.val() & self.in_bounds.val();
        self.items.din.next = self.item.val();
        self.items.push.next = self.can_go.val() & (!self.in_bounds.val() | self.rreq_ready.val());
        self.set_fill.next = self.b00.val();
        if self.items.push.val() & !self.i_started.q.val() {
            // The tile's first item claims the half.
            if self.i_half.q.val() {
                self.set_fill.next = self.b10.val();
                self.oy_h1.d.next = self.oy.q.val();
                self.ox_h1.d.next = self.ox0.q.val();
                self.last_h1.d.next = self.last_tile.val();
            } else {
                self.set_fill.next = self.b01.val();
                self.oy_h0.d.next = self.oy.q.val();
                self.ox_h0.d.next = self.ox0.q.val();
                self.last_h0.d.next = self.last_tile.val();
            }
        }
        if self.items.push.val() {
            self.i_started.d.next = true;
            self.u.d.next = self.u.q.val() + self.one8.val();
            self.pos_base.d.next = self.pos_base.q.val() + self.slice_words.val();
            if self.last_u.val() {
                // Next kernel row: its first position, in the next slot.
                self.u.d.next = self.zero8.val();
                self.ky.d.next = self.ky.q.val() + self.one4.val();
                self.ws.d.next = self.ws_next.val();
                if !self.first.q.val() {
                    self.wr.d.next = self.wr_next.val();
                }
                self.pos_base.d.next = self.ws_next.val();
                if self.last_ky.val() {
                    // Tile end: next tile on the other half, the next output
                    // row of the strip (a strip is `cols` output columns).
                    self.ky.d.next = self.ky_first.val();
                    self.t0.d.next = self.ws_next.val();
                    // The pass's first tile wrote its kh slots from 0.
                    self.first.d.next = false;
                    if self.i_half.q.val() {
                        self.toff_h1.d.next = self.wr_next.val();
                    } else {
                        self.toff_h0.d.next = self.wr_next.val();
                    }
                    if self.first.q.val() {
                        self.toff_h0.d.next = self.zero16.val();
                    }
                    self.i_started.d.next = false;
                    self.i_half.d.next = !self.i_half.q.val();
                    self.oy.d.next = self.oy.q.val() + self.one16.val();
                    if self.last_oy.val() {
                        self.oy.d.next = self.zero16.val();
                        self.ox0.d.next = self.next_ox.val();
                    }
                    if self.last_tile.val() {
                        self.issuing.d.next = false;
                    }
                }
            }
        }

        // ---- Writer: words of the head item into the banks of the columns
        // whose taps see its position (0 <= u − c·s < kw).
        self.h_item.next = self.items.head.val();
        self.h_zero.next = self.h_item.val().get_bit(25);
        self.h_end.next = self.h_item.val().get_bit(26);
        self.h_u.next = self.h_item.val().get_bits::<9>(16);
        self.h_base.next = self.h_item.val().get_bits::<16>(0) + self.w_idx.q.val();
        self.rd_ready.next = !self.items.empty.val() & !self.h_zero.val();
        self.w_take.next = !self.items.empty.val() & (self.h_zero.val() | self.rd_valid.val());
        self.w_last.next = (self.w_idx.q.val() + self.one16.val()) == self.slice_words.val();
        self.h_ky.next = self.h_item.val().get_bit(27);
        for c in 0..self.bank_we.len() {
            // In 9 bits, u − c·s wraps to at least 257 when u < c·s: one
            // comparison checks both ends.
            if self.stride_two.val() {
                self.col_we.next = self.w_take.val() & ((self.h_u.val() - self.cs2[c].val()) < self.w_kw9.o.val());
            } else {
                self.col_we.next = self.w_take.val() & ((self.h_u.val() - self.cs1[c].val()) < self.w_kw9.o.val());
            }
            // Packed taps: the column's tap column kx = u − c·s is 0 or 1,
            // its low bit u's, flipped for odd c at stride 1.
            self.kx1.next = self.h_u.val().get_bit(0) ^ (self.codd[c].val() & !self.stride_two.val());
            self.seg.next = self.ones4.val();
            if self.pack.val() {
                if self.h_ky.val() {
                    self.seg.next = self.seg10.val();
                    if self.kx1.val() {
                        self.seg.next = self.seg11.val();
                    }
                } else {
                    self.seg.next = self.seg00.val();
                    if self.kx1.val() {
                        self.seg.next = self.seg01.val();
                    }
                }
            }
            self.bank_we[c].next = self.zero4.val();
            if self.col_we.val() {
                self.bank_we[c].next = self.seg.val();
            }
            self.n_bank[c].i.next = self.h_base.val() - self.col_off[c].q.val();
            if self.pack.val() {
                self.n_bank[c].i.next = self.h_base.val();
            }
            self.bank_addr[c].next = self.n_bank[c].o.val();
        }
        self.data.next = self.rd_word.val();
        if (self.w_idx.q.val() + self.a_bits.val()) >= self.slice_words.val() {
            self.data.next = self.rd_word.val() & self.mask.val();
        }
        if self.h_zero.val() {
            self.data.next = self.zero64.val();
        }
        // Packed taps: lanes 0..16 in every segment (the mask keeps them).
        // (Masked in 64 bits: a `Widen` block here made a false
        // combinational loop through this always block, UNOPTFLAT.)
        self.lanes16.next = self.data.val() & self.low16.val();
        self.bank_data.next = self.data.val();
        if self.pack.val() {
            self.bank_data.next = self.lanes16.val()
                | (self.lanes16.val() << 16)
                | (self.lanes16.val() << 32)
                | (self.lanes16.val() << 48);
        }
        self.items.pop.next = self.w_take.val() & self.w_last.val();
        self.set_full.next = self.b00.val();
        if self.w_take.val() {
            self.w_idx.d.next = self.w_idx.q.val() + self.one16.val();
            if self.w_last.val() {
                self.w_idx.d.next = self.zero16.val();
                if self.h_end.val() {
                    self.w_half.d.next = !self.w_half.q.val();
                    if self.w_half.q.val() {
                        self.set_full.next = self.b10.val();
                    } else {
                        self.set_full.next = self.b01.val();
                    }
                }
            }
        }
        // Half states: filling from the first item to the last word; full
        // until released.
        self.filling.d.next = (self.filling.q.val() | self.set_fill.val()) & !self.set_full.val();
        self.full_r.d.next = (self.full_r.q.val() | self.set_full.val()) & !self.free_half.val();

        self.full.next = self.full_r.q.val();
        self.info_oy0.next = self.oy_h0.q.val();
        self.info_oy1.next = self.oy_h1.q.val();
        self.info_ox0.next = self.ox_h0.q.val();
        self.info_ox1.next = self.ox_h1.q.val();
        self.info_last0.next = self.last_h0.q.val();
        self.info_last1.next = self.last_h1.q.val();
        self.info_toff0.next = self.toff_h0.q.val();
        self.info_toff1.next = self.toff_h1.q.val();
        self.busy.next = self.issuing.q.val() | !self.items.empty.val();

        if self.start.val() {
            self.issuing.d.next = true;
            self.i_half.d.next = false;
            self.i_started.d.next = false;
            self.oy.d.next = self.zero16.val();
            self.ox0.d.next = self.zero16.val();
            self.ky.d.next = self.zero4.val();
            self.u.d.next = self.zero8.val();
            self.pos_base.d.next = self.zero16.val();
            self.ws.d.next = self.zero16.val();
            self.t0.d.next = self.zero16.val();
            self.wr.d.next = self.zero16.val();
            self.first.d.next = true;
            self.w_half.d.next = false;
            self.w_idx.d.next = self.zero16.val();
            self.filling.d.next = self.b00.val();
            self.full_r.d.next = self.b00.val();
        }
        if self.reset.val() {
            self.issuing.d.next = false;
            self.i_started.d.next = false;
            self.w_idx.d.next = self.zero16.val();
            self.filling.d.next = self.b00.val();
            self.full_r.d.next = self.b00.val();
        }
    }
}

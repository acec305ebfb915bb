//! `Feeder`: drives the systolic array with the step sequence of each tile,
//! reading the activation and weight banks, and hands finished tiles to the
//! output writer.
//!
//! Role: for the tile in activation half `h` (filled by
//! [`crate::gather::Gatherer`]) and the weights of the pass's output
//! channels (one bank per array row, `pair·W + q` = word `q` of
//! (tap, group) pair `pair`, as `isa::layout::WeightLayout` stores one output
//! channel), it issues the steps of [`crate::pe::StepControl::sequence`]:
//! plane level `s = A + W − 2` down to 0, then pairs, then `p` ascending,
//! `q = s − p` — one step per cycle, at bank addresses
//! `(toff + pair·A + p) mod 2^AB` (activations, all columns: `toff` is the
//! tile's ring offset, the bank address of its kernel row 0, from the
//! gatherer) and `pair·W + q` (weights, all rows).
//! The block RAMs answer one cycle later, so the control word is registered
//! once to meet its data at the array's ports.
//!
//! **Packed planes** (`pack_planes`, `isa` descriptor field of the same
//! name): on the tile's last pair, a step whose `q` is not the sign plane
//! advances `p` by two instead of one, the steps of
//! `isa::precision::packed_plane_steps` (its upper lanes hold the pair
//! `(p + 1, q − 1)`); every other pair takes every `p`.
//!
//! Bubbles (the step control's `valid` low) are inserted when: the next tile's
//! half is not full yet (a memory stall, `stall` high);
//! [`crate::out_writer::SLOTS`] = 4 tiles already wait for the output writer
//! (`tile_done` not yet seen for them: the writer's staging slots); or the
//! step is a tile's last and fewer than `spacing` cycles passed since the
//! previous last step (the array's drain and the threshold unit's row rate,
//! see [`crate::array`] and [`crate::threshold`]).
//!
//! **Repeats**: a run may cover several passes of `rows` output channels
//! (`repeats`, set by the command processor when the weights and threshold
//! records of that many passes fit on chip). Each gathered tile is then
//! computed `repeats` times, once per pass, before its half is freed:
//! repeat `g` reads the weight banks from `g·w_stride` (pass `g`'s channels
//! are stored there, `w_stride` = words per channel), and `rep` tells the
//! command processor which pass the current tile belongs to (it derives the
//! tile's channels and destination from it). So the input is read once for
//! all the passes of a run instead of once per pass.
//!
//! At a tile's last step the feeder offers the writer the tile (`tile_valid`,
//! `tile_addr` = destination address of its column 0, `tile_cols` = valid
//! columns) and, after the last repeat, frees the half (`free_half`).
use rust_hdl::prelude::*;

use crate::desc_check::Widen;
use crate::fifo::{konst as k, Mul32x16, Narrow};
use crate::pe::{StepControl, CTL_BITS};

/// The feeder; `AB`/`WB` = activation/weight bank address bits.
#[derive(LogicBlock)]
pub struct Feeder<const AB: usize, const WB: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub reset: Signal<In, Bit>,
    /// Begin a pass (the gatherer starts in the same cycle).
    pub start: Signal<In, Bit>,
    /// The pass has tiles left to issue.
    pub busy: Signal<Out, Bit>,
    /// (tap, group) pairs per tile: `kh·kw·⌈cin/64⌉` (`⌈cin/64⌉` with packed taps).
    pub pairs: Signal<In, Bits<16>>,
    /// Activation bits `A`.
    pub a_bits: Signal<In, Bits<4>>,
    /// Weight bits `W` (1 = binary).
    pub w_bits: Signal<In, Bits<4>>,
    /// Packed planes: the tile's last pair takes the steps of
    /// `isa::precision::packed_plane_steps` only.
    pub pack_planes: Signal<In, Bit>,
    /// Least cycles between two tiles' last steps.
    pub spacing: Signal<In, Bits<16>>,
    /// Passes computed on each gathered tile (0 and 1: one).
    pub repeats: Signal<In, Bits<16>>,
    /// Weight words per output channel: pass `g` starts at `g·w_stride`.
    pub w_stride: Signal<In, Bits<16>>,
    /// The pass of the tile being computed (0-based, a register).
    pub rep: Signal<Out, Bits<16>>,
    /// Destination address of output pixel (0, 0) for this pass's channels.
    pub dst_base: Signal<In, Bits<32>>,
    /// Bytes per destination pixel.
    pub dst_pix_bytes: Signal<In, Bits<16>>,
    /// Destination columns.
    pub dst_w: Signal<In, Bits<16>>,
    /// Output columns computed.
    pub out_w: Signal<In, Bits<16>>,
    /// Output pixel stride 2 (else 1).
    pub os_two: Signal<In, Bit>,
    /// Destination row offset.
    pub off_y: Signal<In, Bits<4>>,
    /// Destination column offset.
    pub off_x: Signal<In, Bits<4>>,
    /// The gatherer's full halves.
    pub full: Signal<In, Bits<2>>,
    /// Output row of the tile in half 0.
    pub info_oy0: Signal<In, Bits<16>>,
    /// Output row of the tile in half 1.
    pub info_oy1: Signal<In, Bits<16>>,
    /// First column of the tile in half 0.
    pub info_ox0: Signal<In, Bits<16>>,
    /// First column of the tile in half 1.
    pub info_ox1: Signal<In, Bits<16>>,
    /// The tile in half 0 is the pass's last.
    pub info_last0: Signal<In, Bit>,
    /// The tile in half 1 is the pass's last.
    pub info_last1: Signal<In, Bit>,
    /// Ring offset of the tile in half 0 (bank address of its kernel row 0).
    pub info_toff0: Signal<In, Bits<16>>,
    /// Ring offset of the tile in half 1.
    pub info_toff1: Signal<In, Bits<16>>,
    /// Half h read completely (bit h, pulse).
    pub free_half: Signal<Out, Bits<2>>,
    /// Activation bank read address (every column).
    pub a_addr: Signal<Out, Bits<AB>>,
    /// Weight bank read address (every row).
    pub w_addr: Signal<Out, Bits<WB>>,
    /// The array's step control (registered: meets the bank data).
    pub ctl: Signal<Out, Bits<CTL_BITS>>,
    /// A tile for the output writer.
    pub tile_valid: Signal<Out, Bit>,
    /// Its column 0's destination address.
    pub tile_addr: Signal<Out, Bits<32>>,
    /// Its valid columns.
    pub tile_cols: Signal<Out, Bits<8>>,
    /// The writer finished a tile (pulse).
    pub tile_done: Signal<In, Bit>,
    /// Waiting for the gatherer (a memory stall).
    pub stall: Signal<Out, Bit>,
    active: DFF<Bit>,
    half: DFF<Bit>,
    in_tile: DFF<Bit>,
    level: DFF<Bits<5>>,
    pair: DFF<Bits<16>>,
    pair_a: DFF<Bits<16>>,
    pair_w: DFF<Bits<16>>,
    p: DFF<Bits<4>>,
    opens: DFF<Bit>,
    since: DFF<Bits<16>>,
    inflight: DFF<Bits<3>>,
    ctl_r: DFF<Bits<CTL_BITS>>,
    rep_r: DFF<Bits<16>>,
    w_base: DFF<Bits<16>>,
    more: Signal<Local, Bit>,
    h_full: Signal<Local, Bit>,
    h_oy: Signal<Local, Bits<16>>,
    h_ox: Signal<Local, Bits<16>>,
    h_last: Signal<Local, Bit>,
    h_toff: Signal<Local, Bits<16>>,
    top_level: Signal<Local, Bits<5>>,
    p_hi: Signal<Local, Bits<4>>,
    p_lo: Signal<Local, Bits<4>>,
    m_lo: Signal<Local, Bits<4>>,
    m_lo_next: Signal<Local, Bits<4>>,
    p_lo_next: Signal<Local, Bits<4>>,
    q: Signal<Local, Bits<4>>,
    sign_q: Signal<Local, Bit>,
    skip: Signal<Local, Bit>,
    p_next: Signal<Local, Bits<4>>,
    last_pair: Signal<Local, Bit>,
    is_last: Signal<Local, Bit>,
    can_start: Signal<Local, Bit>,
    issue: Signal<Local, Bit>,
    tile_end: Signal<Local, Bit>,
    next_level: Signal<Local, Bits<5>>,
    step: Signal<Local, Bits<CTL_BITS>>,
    dy: Signal<Local, Bits<16>>,
    dx: Signal<Local, Bits<16>>,
    pix: Signal<Local, Bits<32>>,
    left: Signal<Local, Bits<16>>,
    pix_mul: Mul32x16,
    // Zero-extensions and truncations (lint-clean `bit_cast`s).
    w_a5: Widen<4, 5>,
    w_w5: Widen<4, 5>,
    w_a16: Widen<4, 16>,
    w_w16: Widen<4, 16>,
    w_p16: Widen<4, 16>,
    w_q16: Widen<4, 16>,
    w_offy16: Widen<4, 16>,
    w_offx16: Widen<4, 16>,
    w_dx32: Widen<16, 32>,
    n_a: Narrow<16, AB>,
    n_w: Narrow<16, WB>,
    ncols16: Constant<Bits<16>>,
    ncols8: Constant<Bits<8>>,
    one4: Constant<Bits<4>>,
    two4: Constant<Bits<4>>,
    one5: Constant<Bits<5>>,
    one16: Constant<Bits<16>>,
    max_inflight: Constant<Bits<3>>,
    one3: Constant<Bits<3>>,
    zero3: Constant<Bits<3>>,
    zero2: Constant<Bits<2>>,
    zero4: Constant<Bits<4>>,
    zero5: Constant<Bits<5>>,
    zero16: Constant<Bits<16>>,
    max16: Constant<Bits<16>>,
    b01: Constant<Bits<2>>,
    b10: Constant<Bits<2>>,
    idle: Constant<Bits<CTL_BITS>>,
    f_valid: Constant<Bits<CTL_BITS>>,
    f_first: Constant<Bits<CTL_BITS>>,
    f_last: Constant<Bits<CTL_BITS>>,
    f_negate: Constant<Bits<CTL_BITS>>,
    f_binary: Constant<Bits<CTL_BITS>>,
    f_double: Constant<Bits<CTL_BITS>>,
}

impl<const AB: usize, const WB: usize> Feeder<AB, WB> {
    /// A feeder for an array of `cols` columns.
    pub fn new(cols: usize) -> Self {
        assert!((1..=64).contains(&cols), "cols {cols} outside 1..=64");
        let bit = |f: fn(&mut StepControl)| {
            let mut c = StepControl::IDLE;
            f(&mut c);
            Constant::new(c.to_bits())
        };
        Feeder {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            busy: Default::default(),
            pairs: Default::default(),
            a_bits: Default::default(),
            w_bits: Default::default(),
            pack_planes: Default::default(),
            spacing: Default::default(),
            repeats: Default::default(),
            w_stride: Default::default(),
            rep: Default::default(),
            dst_base: Default::default(),
            dst_pix_bytes: Default::default(),
            dst_w: Default::default(),
            out_w: Default::default(),
            os_two: Default::default(),
            off_y: Default::default(),
            off_x: Default::default(),
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
            a_addr: Default::default(),
            w_addr: Default::default(),
            ctl: Default::default(),
            tile_valid: Default::default(),
            tile_addr: Default::default(),
            tile_cols: Default::default(),
            tile_done: Default::default(),
            stall: Default::default(),
            active: Default::default(),
            half: Default::default(),
            in_tile: Default::default(),
            level: Default::default(),
            pair: Default::default(),
            pair_a: Default::default(),
            pair_w: Default::default(),
            p: Default::default(),
            opens: Default::default(),
            since: Default::default(),
            inflight: Default::default(),
            ctl_r: Default::default(),
            rep_r: Default::default(),
            w_base: Default::default(),
            more: Default::default(),
            h_full: Default::default(),
            h_oy: Default::default(),
            h_ox: Default::default(),
            h_last: Default::default(),
            h_toff: Default::default(),
            top_level: Default::default(),
            p_hi: Default::default(),
            p_lo: Default::default(),
            m_lo: Default::default(),
            m_lo_next: Default::default(),
            p_lo_next: Default::default(),
            q: Default::default(),
            sign_q: Default::default(),
            skip: Default::default(),
            p_next: Default::default(),
            last_pair: Default::default(),
            is_last: Default::default(),
            can_start: Default::default(),
            issue: Default::default(),
            tile_end: Default::default(),
            next_level: Default::default(),
            step: Default::default(),
            dy: Default::default(),
            dx: Default::default(),
            pix: Default::default(),
            left: Default::default(),
            pix_mul: Default::default(),
            w_a5: Default::default(),
            w_w5: Default::default(),
            w_a16: Default::default(),
            w_w16: Default::default(),
            w_p16: Default::default(),
            w_q16: Default::default(),
            w_offy16: Default::default(),
            w_offx16: Default::default(),
            w_dx32: Default::default(),
            n_a: Default::default(),
            n_w: Default::default(),
            ncols16: k(cols as u64),
            ncols8: k(cols as u64),
            one4: k(1),
            two4: k(2),
            one5: k(1),
            one16: k(1),
            max_inflight: k(crate::out_writer::SLOTS as u64),
            one3: k(1),
            zero3: k(0),
            zero2: k(0),
            zero4: k(0),
            zero5: k(0),
            zero16: k(0),
            max16: k(0xffff),
            b01: k(1),
            b10: k(2),
            idle: Constant::new(StepControl::IDLE.to_bits()),
            f_valid: bit(|c| c.valid = true),
            f_first: bit(|c| c.first = true),
            f_last: bit(|c| c.last = true),
            f_negate: bit(|c| c.negate = true),
            f_binary: bit(|c| c.binary = true),
            f_double: bit(|c| c.double = true),
        }
    }
}

impl<const AB: usize, const WB: usize> Logic for Feeder<AB, WB> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, active, half, in_tile, level, pair, pair_a, pair_w, p, opens, since, inflight, ctl_r, rep_r,
            w_base
        );
        // The current half's tile.
        self.h_full.next = self.full.val().get_bit(0);
        self.h_oy.next = self.info_oy0.val();
        self.h_ox.next = self.info_ox0.val();
        self.h_last.next = self.info_last0.val();
        self.h_toff.next = self.info_toff0.val();
        if self.half.q.val() {
            self.h_toff.next = self.info_toff1.val();
            self.h_full.next = self.full.val().get_bit(1);
            self.h_oy.next = self.info_oy1.val();
            self.h_ox.next = self.info_ox1.val();
            self.h_last.next = self.info_last1.val();
        }
        // Plane-level bounds: p from max(0, s − (W − 1)) to min(s, A − 1).
        self.w_a5.i.next = self.a_bits.val();
        self.w_w5.i.next = self.w_bits.val();
        self.w_a16.i.next = self.a_bits.val();
        self.w_w16.i.next = self.w_bits.val();
        self.top_level.next = self.w_a5.o.val() + self.w_w5.o.val() - self.one5.val() - self.one5.val();
        self.p_hi.next = self.a_bits.val() - self.one4.val();
        if self.level.q.val() < self.w_a5.o.val() {
            self.p_hi.next = self.level.q.val().get_bits::<4>(0);
        }
        self.next_level.next = self.level.q.val() - self.one5.val();
        // Only the low 4 bits are used (when level >= w_bits): mod-16 arithmetic.
        self.m_lo.next = self.level.q.val().get_bits::<4>(0) - self.w_bits.val() + self.one4.val();
        self.m_lo_next.next = self.next_level.val().get_bits::<4>(0) - self.w_bits.val() + self.one4.val();
        self.p_lo.next = self.zero4.val();
        if self.level.q.val() >= self.w_w5.o.val() {
            self.p_lo.next = self.m_lo.val();
        }
        self.p_lo_next.next = self.zero4.val();
        if self.next_level.val() >= self.w_w5.o.val() {
            self.p_lo_next.next = self.m_lo_next.val();
        }
        self.q.next = self.level.q.val().get_bits::<4>(0) - self.p.q.val();
        self.last_pair.next = (self.pair.q.val() + self.one16.val()) == self.pairs.val();
        self.is_last.next = (self.level.q.val() == self.zero5.val()) & self.last_pair.val();
        // The sign plane (every plane of binary weights).
        self.sign_q.next = (self.q.val() + self.one4.val()) == self.w_bits.val();
        // Packed planes: on the last pair, a step whose q is not the sign
        // plane also computes (p + 1, q − 1) in its upper lanes.
        self.skip.next = self.pack_planes.val() & self.last_pair.val() & !self.sign_q.val();
        self.p_next.next = self.p.q.val() + self.one4.val();
        if self.skip.val() {
            self.p_next.next = self.p.q.val() + self.two4.val();
        }
        self.can_start.next = self.h_full.val() & (self.inflight.q.val() != self.max_inflight.val());
        self.issue.next = self.active.q.val()
            & (self.in_tile.q.val() | self.can_start.val())
            & (!self.is_last.val() | (self.since.q.val() >= self.spacing.val()));
        self.stall.next = self.active.q.val() & !self.in_tile.q.val() & !self.h_full.val();
        self.tile_end.next = self.issue.val() & self.is_last.val();

        // Bank addresses of this step.
        self.w_p16.i.next = self.p.q.val();
        self.w_q16.i.next = self.q.val();
        // The pair's words from the tile's row-0 slot, modulo the bank
        // (the narrowing to AB bits is the wrap).
        self.n_a.i.next = self.pair_a.q.val() + self.h_toff.val() + self.w_p16.o.val();
        self.n_w.i.next = self.pair_w.q.val() + self.w_q16.o.val();
        self.a_addr.next = self.n_a.o.val();
        self.w_addr.next = self.n_w.o.val();

        // The step's control word.
        self.step.next = self.f_valid.val();
        if !self.in_tile.q.val() {
            self.step.next = self.step.val() | self.f_first.val();
        }
        if self.is_last.val() {
            self.step.next = self.step.val() | self.f_last.val();
        }
        if self.w_bits.val() == self.one4.val() {
            self.step.next = self.step.val() | self.f_binary.val();
        } else if self.sign_q.val() {
            self.step.next = self.step.val() | self.f_negate.val();
        }
        if self.opens.q.val() & self.in_tile.q.val() {
            self.step.next = self.step.val() | self.f_double.val();
        }
        self.ctl_r.d.next = self.idle.val();
        if self.issue.val() {
            self.ctl_r.d.next = self.step.val();
        }
        self.ctl.next = self.ctl_r.q.val();

        // Advance.
        if self.since.q.val() != self.max16.val() {
            self.since.d.next = self.since.q.val() + self.one16.val();
        }
        if self.issue.val() {
            self.in_tile.d.next = true;
            self.opens.d.next = false;
            self.p.d.next = self.p_next.val();
            if self.p_next.val() > self.p_hi.val() {
                // This pair's planes of the level are done.
                self.pair.d.next = self.pair.q.val() + self.one16.val();
                self.pair_a.d.next = self.pair_a.q.val() + self.w_a16.o.val();
                self.pair_w.d.next = self.pair_w.q.val() + self.w_w16.o.val();
                self.p.d.next = self.p_lo.val();
                if self.last_pair.val() {
                    self.pair.d.next = self.zero16.val();
                    self.pair_a.d.next = self.zero16.val();
                    self.pair_w.d.next = self.w_base.q.val();
                    self.level.d.next = self.next_level.val();
                    self.p.d.next = self.p_lo_next.val();
                    self.opens.d.next = true;
                }
            }
        }
        // Tile end: offer the tile to the writer; then the next repeat on the
        // same half, or free the half after the last repeat.
        self.free_half.next = self.zero2.val();
        self.tile_valid.next = self.tile_end.val();
        self.more.next = (self.rep_r.q.val() + self.one16.val()) < self.repeats.val();
        self.rep.next = self.rep_r.q.val();
        if self.tile_end.val() {
            self.in_tile.d.next = false;
            self.since.d.next = self.one16.val();
            self.level.d.next = self.top_level.val();
            self.p.d.next = self.a_bits.val() - self.one4.val();
            self.opens.d.next = false;
            if self.more.val() {
                self.rep_r.d.next = self.rep_r.q.val() + self.one16.val();
                self.w_base.d.next = self.w_base.q.val() + self.w_stride.val();
                self.pair_w.d.next = self.w_base.q.val() + self.w_stride.val();
            } else {
                self.rep_r.d.next = self.zero16.val();
                self.w_base.d.next = self.zero16.val();
                self.pair_w.d.next = self.zero16.val();
                self.half.d.next = !self.half.q.val();
                if self.half.q.val() {
                    self.free_half.next = self.b10.val();
                } else {
                    self.free_half.next = self.b01.val();
                }
                if self.h_last.val() {
                    self.active.d.next = false;
                }
            }
        }
        if self.tile_end.val() & !self.tile_done.val() {
            self.inflight.d.next = self.inflight.q.val() + self.one3.val();
        }
        if !self.tile_end.val() & self.tile_done.val() {
            self.inflight.d.next = self.inflight.q.val() - self.one3.val();
        }
        // The tile's destination: pixel (oy·os + off_y, ox0·os + off_x).
        self.w_offy16.i.next = self.off_y.val();
        self.w_offx16.i.next = self.off_x.val();
        self.dy.next = self.h_oy.val() + self.w_offy16.o.val();
        self.dx.next = self.h_ox.val() + self.w_offx16.o.val();
        if self.os_two.val() {
            self.dy.next = (self.h_oy.val() << 1) + self.w_offy16.o.val();
            self.dx.next = (self.h_ox.val() << 1) + self.w_offx16.o.val();
        }
        self.w_dx32.i.next = self.dx.val();
        self.pix.next = self.dy.val() * self.dst_w.val() + self.w_dx32.o.val();
        self.pix_mul.a.next = self.pix.val();
        self.pix_mul.b.next = self.dst_pix_bytes.val();
        self.tile_addr.next = self.dst_base.val() + self.pix_mul.p.val();
        self.left.next = self.out_w.val() - self.h_ox.val();
        self.tile_cols.next = self.ncols8.val();
        if self.left.val() < self.ncols16.val() {
            self.tile_cols.next = self.left.val().get_bits::<8>(0);
        }
        self.busy.next = self.active.q.val();

        if self.start.val() {
            self.active.d.next = true;
            self.half.d.next = false;
            self.in_tile.d.next = false;
            self.level.d.next = self.top_level.val();
            self.p.d.next = self.a_bits.val() - self.one4.val();
            self.pair.d.next = self.zero16.val();
            self.pair_a.d.next = self.zero16.val();
            self.pair_w.d.next = self.zero16.val();
            self.opens.d.next = false;
            self.since.d.next = self.max16.val();
            self.inflight.d.next = self.zero3.val();
            self.rep_r.d.next = self.zero16.val();
            self.w_base.d.next = self.zero16.val();
        }
        if self.reset.val() {
            self.active.d.next = false;
            self.in_tile.d.next = false;
            self.inflight.d.next = self.zero3.val();
            self.ctl_r.d.next = self.idle.val();
            self.rep_r.d.next = self.zero16.val();
            self.w_base.d.next = self.zero16.val();
        }
    }
}

//! `ActBank`: one column's activation bank — a 64-bit-wide block RAM whose
//! four 16-lane segments are written separately.
//!
//! Role: the gatherer writes whole words (every segment enabled) for an
//! ordinary descriptor, and, for a packed-taps descriptor (`isa`
//! `pack_taps`: a 2 × 2 kernel over at most 16 channels), the word of tap
//! `(ky, kx)` into segment `2·ky + kx` of one address, so that the feeder
//! reads the four taps as one channel group. Block RAM has byte write
//! enables, so four 16-bit memories of the same depth cost the same RAMB
//! primitives as one 64-bit memory (a 1 K × 16 RAMB18 each where the
//! 64-bit memory takes two 512 × 72 RAMB36, for instance).
//!
//! # Ports
//! - `clock`.
//! - Write: `write_address`, `write_data` (64 bits), `write_lanes` (bit `s`:
//!   write lanes `16·s .. 16·s + 16` of `write_data`; 0: no write).
//! - Read: `read_address`; after an edge, `read_data` is the word at the
//!   address sampled on that edge as it was before that edge's write (a
//!   synchronous, read-first read, as `rust_hdl`'s `RAM`).
use rust_hdl::prelude::*;

use crate::desc_check::Widen;

/// One activation bank of `2^AB` 64-bit words, written by 16-lane segment.
#[derive(LogicBlock, Default)]
pub struct ActBank<const AB: usize> {
    /// Clock (reads and writes).
    pub clock: Signal<In, Clock>,
    /// Word written.
    pub write_address: Signal<In, Bits<AB>>,
    /// Data written (segment `s` from lanes `16·s ..`).
    pub write_data: Signal<In, Bits<64>>,
    /// Segment write enables.
    pub write_lanes: Signal<In, Bits<4>>,
    /// Word read.
    pub read_address: Signal<In, Bits<AB>>,
    /// The word at the last edge's `read_address` (read first).
    pub read_data: Signal<Out, Bits<64>>,
    seg0: RAM<Bits<16>, AB>,
    seg1: RAM<Bits<16>, AB>,
    seg2: RAM<Bits<16>, AB>,
    seg3: RAM<Bits<16>, AB>,
    w0: Widen<16, 64>,
    w1: Widen<16, 64>,
    w2: Widen<16, 64>,
    w3: Widen<16, 64>,
}

impl<const AB: usize> Logic for ActBank<AB> {
    #[hdl_gen]
    fn update(&mut self) {
        self.seg0.read_clock.next = self.clock.val();
        self.seg0.write_clock.next = self.clock.val();
        self.seg0.read_address.next = self.read_address.val();
        self.seg0.write_address.next = self.write_address.val();
        self.seg0.write_data.next = self.write_data.val().get_bits::<16>(0);
        self.seg0.write_enable.next = self.write_lanes.val().get_bit(0);
        self.seg1.read_clock.next = self.clock.val();
        self.seg1.write_clock.next = self.clock.val();
        self.seg1.read_address.next = self.read_address.val();
        self.seg1.write_address.next = self.write_address.val();
        self.seg1.write_data.next = self.write_data.val().get_bits::<16>(16);
        self.seg1.write_enable.next = self.write_lanes.val().get_bit(1);
        self.seg2.read_clock.next = self.clock.val();
        self.seg2.write_clock.next = self.clock.val();
        self.seg2.read_address.next = self.read_address.val();
        self.seg2.write_address.next = self.write_address.val();
        self.seg2.write_data.next = self.write_data.val().get_bits::<16>(32);
        self.seg2.write_enable.next = self.write_lanes.val().get_bit(2);
        self.seg3.read_clock.next = self.clock.val();
        self.seg3.write_clock.next = self.clock.val();
        self.seg3.read_address.next = self.read_address.val();
        self.seg3.write_address.next = self.write_address.val();
        self.seg3.write_data.next = self.write_data.val().get_bits::<16>(48);
        self.seg3.write_enable.next = self.write_lanes.val().get_bit(3);
        self.w0.i.next = self.seg0.read_data.val();
        self.w1.i.next = self.seg1.read_data.val();
        self.w2.i.next = self.seg2.read_data.val();
        self.w3.i.next = self.seg3.read_data.val();
        self.read_data.next =
            self.w0.o.val() | (self.w1.o.val() << 16) | (self.w2.o.val() << 32) | (self.w3.o.val() << 48);
    }
}

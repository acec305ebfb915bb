//! `DescFields`: the layer-descriptor field decoder — splits the 16 words of a
//! descriptor into its fields, exactly as [`zynqflow_isa::Descriptor::decode`].
//!
//! Role: the command processor holds a fetched descriptor as one 512-bit bus;
//! this block names its fields for the validator ([`crate::desc_check`]) and
//! the sequencer. The field positions are never copied by hand: the Verilog is
//! generated from [`zynqflow_isa::descriptor::FIELDS`] (one
//! `name = words[32·word + lsb +: width];` per field) and the rust-hdl
//! simulation calls `Descriptor::decode`, so both follow the `isa` crate.
//!
//! # Ports
//! - `words` (512 bits): descriptor word `i` in bits `32i..32i+32` (the
//!   little-endian command-list bytes in order).
//! - One output per field of `FIELDS`, named like the field, as wide as the
//!   field (1, 4, 8, 16 or 32 bits). The struct is written by hand (rust-hdl
//!   needs the widths as types); a test checks it against `FIELDS` name by name
//!   and width by width, and [`DescFields::new`] asserts it.
//! - `reserved`: some bit outside every field is set (`Descriptor::decode`'s
//!   second value is non-zero).
//!
//! # Timing and size
//! Combinational, no clock or reset: wires and one OR over the reserved bits
//! (the 512-bit bus masked by the complement of the field bits; that OR tree
//! is the only logic). Not synthesized on its own; it is part of the
//! `DescCheck` figure.
//!
//! The hand-written `hdl` emits `always @(*)` assignments rather than
//! `assign`: rust-hdl declares every output of a `Verilog::Custom` module as
//! `output reg`.
use rust_hdl::prelude::*;
use std::fmt::Write as _;
use zynqflow_isa::descriptor::{Descriptor, DESCRIPTOR_WORDS, FIELDS};

/// The descriptor field decoder; see the module documentation.
#[derive(LogicBlock, Default)]
pub struct DescFields {
    /// The 16 descriptor words, word `i` in bits `32i..32i+32`.
    pub words: Signal<In, Bits<512>>,
    /// Operation (0x01 convolution).
    pub opcode: Signal<Out, Bits<8>>,
    /// 0 threshold output, 1 raw output.
    pub mode: Signal<Out, Bit>,
    /// Input activation bits.
    pub a_in: Signal<Out, Bits<4>>,
    /// Weight bits.
    pub w_bits: Signal<Out, Bits<4>>,
    /// Output activation bits.
    pub a_out: Signal<Out, Bits<4>>,
    /// Input tensor address.
    pub in_addr: Signal<Out, Bits<32>>,
    /// Weight address.
    pub w_addr: Signal<Out, Bits<32>>,
    /// Threshold table address.
    pub thr_addr: Signal<Out, Bits<32>>,
    /// Destination tensor address.
    pub out_addr: Signal<Out, Bits<32>>,
    /// Input rows.
    pub in_h: Signal<Out, Bits<16>>,
    /// Input columns.
    pub in_w: Signal<Out, Bits<16>>,
    /// Input channels.
    pub cin: Signal<Out, Bits<16>>,
    /// Output channels.
    pub cout: Signal<Out, Bits<16>>,
    /// Output rows.
    pub out_h: Signal<Out, Bits<16>>,
    /// Output columns.
    pub out_w: Signal<Out, Bits<16>>,
    /// Kernel rows.
    pub kh: Signal<Out, Bits<4>>,
    /// Kernel columns.
    pub kw: Signal<Out, Bits<4>>,
    /// Convolution stride.
    pub stride: Signal<Out, Bits<4>>,
    /// Input upsampling factor.
    pub upsample: Signal<Out, Bits<4>>,
    /// Zero rows above.
    pub pad_top: Signal<Out, Bits<4>>,
    /// Zero columns left.
    pub pad_left: Signal<Out, Bits<4>>,
    /// Destination rows.
    pub dst_h: Signal<Out, Bits<16>>,
    /// Destination columns.
    pub dst_w: Signal<Out, Bits<16>>,
    /// Destination channels.
    pub dst_c: Signal<Out, Bits<16>>,
    /// First destination channel.
    pub ch_off: Signal<Out, Bits<16>>,
    /// Destination pixel stride.
    pub out_stride: Signal<Out, Bits<4>>,
    /// Destination row offset.
    pub out_off_y: Signal<Out, Bits<4>>,
    /// Destination column offset.
    pub out_off_x: Signal<Out, Bits<4>>,
    /// log2 of the copies of the output codes.
    pub copies_log2: Signal<Out, Bits<2>>,
    /// Packed taps: a 2×2 kernel's taps in the 16-lane segments of one group.
    pub pack_taps: Signal<Out, Bit>,
    /// Packed planes: the last group of a 1×1 kernel on the packed plane pairs.
    pub pack_planes: Signal<Out, Bit>,
    /// Channels of the input tensor.
    pub in_c_total: Signal<Out, Bits<16>>,
    /// First input channel read.
    pub in_ch_off: Signal<Out, Bits<16>>,
    /// A bit outside every field is set.
    pub reserved: Signal<Out, Bit>,
}

/// The descriptor's bits that belong to some field, as 16 words.
pub fn field_mask() -> [u32; DESCRIPTOR_WORDS] {
    let mut m = [0u32; DESCRIPTOR_WORDS];
    for f in FIELDS {
        m[f.word] |= f.mask();
    }
    m
}

impl DescFields {
    /// A decoder; asserts that the struct's outputs are the fields of
    /// `FIELDS` with their widths (plus `reserved`).
    pub fn new() -> Self {
        let d = DescFields::default();
        let ports = d.output_widths();
        let mut want: Vec<(String, usize)> = FIELDS.iter().map(|f| (f.name.to_string(), f.width as usize)).collect();
        want.push(("reserved".into(), 1));
        assert_eq!(ports, want, "DescFields outputs do not match isa::descriptor::FIELDS");
        d
    }

    /// The outputs as (name, width), in declaration order.
    pub fn output_widths(&self) -> Vec<(String, usize)> {
        self.output_values().into_iter().map(|(n, w, _)| (n, w)).collect()
    }

    /// The outputs as (name, width, current value), in declaration order.
    pub fn output_values(&self) -> Vec<(String, usize, u64)> {
        struct P(Vec<(String, usize, u64)>, usize);
        impl Probe for P {
            fn visit_start_scope(&mut self, _name: &str, _node: &dyn Block) {
                self.1 += 1;
            }
            fn visit_end_scope(&mut self, _name: &str, _node: &dyn Block) {
                self.1 -= 1;
            }
            fn visit_atom(&mut self, name: &str, signal: &dyn Atom) {
                if self.1 == 1 && signal.kind() == AtomKind::OutputParameter {
                    self.0.push((name.to_string(), signal.bits(), literal_value(&signal.verilog().to_string())));
                }
            }
        }
        let mut p = P(Vec::new(), 0);
        self.accept("top", &mut p);
        p.0
    }
}

/// Value of a Verilog literal as rust-hdl prints it (`8'h1f`, `1'b1`).
fn literal_value(s: &str) -> u64 {
    let (_, rest) = s.split_once('\'').unwrap_or(("", s));
    let (radix, digits) = rest.split_at(1);
    let radix = if radix == "b" { 2 } else { 16 };
    u64::from_str_radix(digits, radix).unwrap_or_else(|_| panic!("literal {s}"))
}

/// Words `0..16` of a 512-bit bus.
pub fn words_of(bus: Bits<512>) -> [u32; DESCRIPTOR_WORDS] {
    let mut w = [0u32; DESCRIPTOR_WORDS];
    for (i, word) in w.iter_mut().enumerate() {
        *word = bus.get_bits::<32>(32 * i).to_u64() as u32;
    }
    w
}

/// The 512-bit bus of 16 words.
pub fn bus_of(words: &[u32; DESCRIPTOR_WORDS]) -> Bits<512> {
    let mut b = Bits::<512>::default();
    for (i, w) in words.iter().enumerate() {
        b.set_bits::<32>(32 * i, u64::from(*w).into());
    }
    b
}

impl Logic for DescFields {
    fn update(&mut self) {
        let (d, rest) = Descriptor::decode(&words_of(self.words.val()));
        self.opcode.next = u64::from(d.opcode).into();
        self.mode.next = d.mode != 0;
        self.a_in.next = u64::from(d.a_in).into();
        self.w_bits.next = u64::from(d.w_bits).into();
        self.a_out.next = u64::from(d.a_out).into();
        self.in_addr.next = u64::from(d.in_addr).into();
        self.w_addr.next = u64::from(d.w_addr).into();
        self.thr_addr.next = u64::from(d.thr_addr).into();
        self.out_addr.next = u64::from(d.out_addr).into();
        self.in_h.next = u64::from(d.in_h).into();
        self.in_w.next = u64::from(d.in_w).into();
        self.cin.next = u64::from(d.cin).into();
        self.cout.next = u64::from(d.cout).into();
        self.out_h.next = u64::from(d.out_h).into();
        self.out_w.next = u64::from(d.out_w).into();
        self.kh.next = u64::from(d.kh).into();
        self.kw.next = u64::from(d.kw).into();
        self.stride.next = u64::from(d.stride).into();
        self.upsample.next = u64::from(d.upsample).into();
        self.pad_top.next = u64::from(d.pad_top).into();
        self.pad_left.next = u64::from(d.pad_left).into();
        self.dst_h.next = u64::from(d.dst_h).into();
        self.dst_w.next = u64::from(d.dst_w).into();
        self.dst_c.next = u64::from(d.dst_c).into();
        self.ch_off.next = u64::from(d.ch_off).into();
        self.out_stride.next = u64::from(d.out_stride).into();
        self.out_off_y.next = u64::from(d.out_off_y).into();
        self.out_off_x.next = u64::from(d.out_off_x).into();
        self.copies_log2.next = u64::from(d.copies_log2).into();
        self.pack_taps.next = d.pack_taps != 0;
        self.pack_planes.next = d.pack_planes != 0;
        self.in_c_total.next = u64::from(d.in_c_total).into();
        self.in_ch_off.next = u64::from(d.in_ch_off).into();
        self.reserved.next = rest.iter().any(|&w| w != 0);
    }

    fn connect(&mut self) {
        self.opcode.connect();
        self.mode.connect();
        self.a_in.connect();
        self.w_bits.connect();
        self.a_out.connect();
        self.in_addr.connect();
        self.w_addr.connect();
        self.thr_addr.connect();
        self.out_addr.connect();
        self.in_h.connect();
        self.in_w.connect();
        self.cin.connect();
        self.cout.connect();
        self.out_h.connect();
        self.out_w.connect();
        self.kh.connect();
        self.kw.connect();
        self.stride.connect();
        self.upsample.connect();
        self.pad_top.connect();
        self.pad_left.connect();
        self.dst_h.connect();
        self.dst_w.connect();
        self.dst_c.connect();
        self.ch_off.connect();
        self.out_stride.connect();
        self.out_off_y.connect();
        self.out_off_x.connect();
        self.copies_log2.connect();
        self.pack_taps.connect();
        self.pack_planes.connect();
        self.in_c_total.connect();
        self.in_ch_off.connect();
        self.reserved.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut v = String::from("always @(*) begin\n");
        for f in FIELDS {
            writeln!(v, "    {} = words[{} +: {}];", f.name, f.word * 32 + f.lsb as usize, f.width).unwrap();
        }
        // Reserved bits: every bit outside the fields, ORed.
        let mask = field_mask();
        let mut hex = String::new();
        for w in mask.iter().rev() {
            write!(hex, "{:08x}", !w).unwrap();
        }
        writeln!(v, "    reserved = |(words & 512'h{hex});").unwrap();
        v.push_str("end\n");
        Verilog::Custom(v)
    }
}

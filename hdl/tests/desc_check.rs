//! The descriptor field decoder, the descriptor validator and the command-list
//! check against the `isa` crate (`Descriptor::decode`, `validate_words`,
//! `validate_list`), with seeded random and edge-case descriptors, and their
//! generated Verilog: Verilator lint, yosys elaboration, Icarus Verilog replay
//! of a recorded run, and the yosys size.
//!
//! The tests can fail: planting `<=` for `<` in the overlap test (touching
//! ranges overlap) fails `desc_check_matches_validate_words_small`, and `>`
//! for `>=` in the overflow bound fails `desc_check_follows_the_capabilities`
//! (the exact bound is only reachable with a 16-bit accumulator).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;
use std::process::Command;

use common::{Clocked, Driver, Value, VectorLog};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use zynqflow_hdl::desc_check::{DescCheck, ListCheck, LATENCY};
use zynqflow_hdl::desc_fields::{bus_of, field_mask, DescFields};
use zynqflow_hdl::verilog_check;
use zynqflow_isa::descriptor::{Descriptor, DESCRIPTOR_WORDS, FIELDS, MODE_RAW, MODE_THRESHOLD, OP_CONV};
use zynqflow_isa::{validate_list, validate_words, ArrayConfig, Capabilities, ErrorCode};

impl Clocked for DescCheck {
    fn clock_signal(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

type Words = [u32; DESCRIPTOR_WORDS];

/// Settles a combinational block after its inputs changed.
fn settle<T: Block>(uut: &mut T) {
    for _ in 0..100 {
        uut.update_all();
        if !uut.has_changed() {
            return;
        }
    }
    panic!("rust-hdl simulation did not converge");
}

fn isa_code(r: Result<impl Sized, ErrorCode>) -> u32 {
    r.err().map_or(0, |e| e.code())
}

fn bits_value<const N: usize>(b: Bits<N>) -> Value {
    let mut v = vec![0u64; N.div_ceil(64)];
    for i in 0..N {
        if b.get_bit(i) {
            v[i / 64] |= 1 << (i % 64);
        }
    }
    v
}

// ---------------------------------------------------------------- DescFields

#[test]
fn desc_fields_outputs_are_the_isa_fields() {
    let d = DescFields::new();
    let outs = d.output_widths();
    assert_eq!(outs.len(), FIELDS.len() + 1);
    for (f, (name, width)) in FIELDS.iter().zip(&outs) {
        assert_eq!((f.name, f.width as usize), (name.as_str(), *width), "output vs FIELDS");
    }
    assert_eq!(outs.last().unwrap(), &("reserved".to_string(), 1));
    // The generated Verilog declares the same ports.
    let mut top = DescFields::new();
    top.connect_all();
    let v = generate_verilog(&top);
    for f in FIELDS {
        let decl = if f.width == 1 {
            format!("output reg  {};", f.name)
        } else {
            format!("output reg  [{}:0] {};", f.width - 1, f.name)
        };
        assert!(v.contains(&decl), "missing `{decl}` in\n{}", &v[..v.len().min(3000)]);
    }
}

/// Random words: fully random, valid-looking with random reserved bits, or
/// single fields at their extremes.
fn random_words(rng: &mut ChaCha8Rng, i: usize) -> Words {
    let mut w: Words = std::array::from_fn(|_| rng.gen());
    let mask = field_mask();
    match i % 4 {
        0 => {}
        1 => {
            for (k, word) in w.iter_mut().enumerate() {
                *word &= mask[k];
            }
        }
        2 => {
            for (k, word) in w.iter_mut().enumerate() {
                *word &= mask[k];
            }
            let bit = rng.gen_range(0..512);
            w[bit / 32] |= 1 << (bit % 32);
        }
        _ => {
            w = [0; DESCRIPTOR_WORDS];
            const EARLY: [&str; 13] = [
                "opcode",
                "a_in",
                "w_bits",
                "a_out",
                "kh",
                "kw",
                "stride",
                "upsample",
                "pad_top",
                "pad_left",
                "out_stride",
                "out_off_y",
                "out_off_x",
            ];
            let f = if rng.gen_bool(0.5) {
                let name = EARLY[rng.gen_range(0..EARLY.len())];
                FIELDS.iter().find(|f| f.name == name).unwrap()
            } else {
                &FIELDS[rng.gen_range(0..FIELDS.len())]
            };
            w[f.word] = if rng.gen() { f.mask() } else { 1 << f.lsb };
        }
    }
    w
}

#[test]
fn desc_fields_decode_like_isa() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xde5c_f1e1);
    let mut uut = DescFields::new();
    uut.connect_all();
    check_all(&uut).expect("rust-hdl checks");
    let mut reserved_seen = [0usize; 2];
    for i in 0..3000 {
        let w = random_words(&mut rng, i);
        uut.words.next = bus_of(&w);
        settle(&mut uut);
        let (d, rest) = Descriptor::decode(&w);
        let want = d.encode().expect("decoded fields fit");
        let got = uut.output_values();
        let mut re = [0u32; DESCRIPTOR_WORDS];
        for (f, (name, _, value)) in FIELDS.iter().zip(&got) {
            assert_eq!(f.name, name);
            let expect = (want[f.word] & f.mask()) >> f.lsb;
            assert_eq!(*value, u64::from(expect), "field {} of {w:08x?}", f.name);
            re[f.word] |= (*value as u32) << f.lsb;
        }
        assert_eq!(re, want);
        let reserved = got.last().unwrap().2 == 1;
        assert_eq!(reserved, rest.iter().any(|&r| r != 0), "reserved of {w:08x?}");
        reserved_seen[usize::from(reserved)] += 1;
    }
    assert!(reserved_seen[0] > 500 && reserved_seen[1] > 500, "{reserved_seen:?}");
}

/// Combinational replay: applies input rows and compares outputs in Icarus.
fn comb_replay(
    verilog: &str,
    dir: &Path,
    inputs: &[(&str, usize)],
    outputs: &[(&str, usize)],
    rows: &[(Vec<Value>, Vec<Value>)],
) {
    let hex = |v: &Value, w: usize| {
        let mut s = String::new();
        for lane in v.iter().rev() {
            write!(s, "{lane:016x}").unwrap();
        }
        s[s.len() - w.div_ceil(4)..].to_string()
    };
    let files = verilog_check::write_modules(verilog, dir).expect("write Verilog");
    let n = rows.len();
    let mut tb = String::from("`timescale 1ns/1ps\nmodule tb;\n  integer i;\n  integer f;\n");
    for (k, (_, w)) in inputs.iter().enumerate() {
        writeln!(tb, "  reg [{}:0] in{k};\n  reg [{}:0] mem{k} [0:{}];", w - 1, w - 1, n - 1).unwrap();
        let text: String = rows.iter().map(|r| hex(&r.0[k], *w) + "\n").collect();
        std::fs::write(dir.join(format!("in{k}.hex")), text).unwrap();
    }
    for (k, (_, w)) in outputs.iter().enumerate() {
        writeln!(tb, "  wire [{}:0] out{k};", w - 1).unwrap();
    }
    let mut pins: Vec<String> = inputs.iter().enumerate().map(|(k, (n, _))| format!(".{n}(in{k})")).collect();
    pins.extend(outputs.iter().enumerate().map(|(k, (n, _))| format!(".{n}(out{k})")));
    writeln!(tb, "  top dut({});\n  initial begin", pins.join(", ")).unwrap();
    for k in 0..inputs.len() {
        writeln!(tb, "    $readmemh(\"in{k}.hex\", mem{k});").unwrap();
    }
    let fmt = vec!["%h"; outputs.len()].join(" ");
    let args: Vec<String> = (0..outputs.len()).map(|k| format!("out{k}")).collect();
    writeln!(tb, "    f = $fopen(\"out.txt\", \"w\");\n    for (i = 0; i < {n}; i = i + 1) begin").unwrap();
    for k in 0..inputs.len() {
        writeln!(tb, "      in{k} = mem{k}[i];").unwrap();
    }
    writeln!(
        tb,
        "      #1 $fdisplay(f, \"{fmt}\", {});\n    end\n    $fclose(f);\n    $finish;\n  end\nendmodule",
        args.join(", ")
    )
    .unwrap();
    let tbp = dir.join("tb.v");
    std::fs::write(&tbp, tb).unwrap();
    verilog_check::icarus_run(dir, &files, &tbp, "tb").unwrap_or_else(|e| panic!("{e}"));
    let got = std::fs::read_to_string(dir.join("out.txt")).unwrap();
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got.len(), n);
    for (i, (g, r)) in got.iter().zip(rows).enumerate() {
        let want: Vec<String> = r.1.iter().zip(outputs).map(|(v, (_, w))| hex(v, *w)).collect();
        assert_eq!(*g, want.join(" "), "row {i}: Verilog vs rust-hdl");
    }
}

#[test]
fn desc_fields_verilog_is_lint_clean_and_matches() {
    let mut top = DescFields::new();
    top.connect_all();
    let v = generate_verilog(&top);
    let dir = tempfile::tempdir().unwrap();
    verilog_check::lint_and_elaborate(&v, dir.path(), "top").unwrap_or_else(|e| panic!("{e}"));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let outs: Vec<(String, usize)> = top.output_widths();
    let mut rows = Vec::new();
    for i in 0..400 {
        let w = random_words(&mut rng, i);
        top.words.next = bus_of(&w);
        settle(&mut top);
        let o: Vec<Value> = top.output_values().iter().map(|(_, _, v)| vec![*v]).collect();
        rows.push((vec![bits_value(bus_of(&w))], o));
    }
    let out_names: Vec<(&str, usize)> = outs.iter().map(|(n, w)| (n.as_str(), *w)).collect();
    let dir = tempfile::tempdir().unwrap();
    comb_replay(&v, dir.path(), &[("words", 512)], &out_names, &rows);
}

// ---------------------------------------------------------------- ListCheck

fn list_window(rng: &mut ChaCha8Rng) -> (u32, u32) {
    match rng.gen_range(0..4) {
        0 => (rng.gen(), rng.gen()),
        1 => (u32::MAX - rng.gen_range(0..1u32 << 12), rng.gen()),
        2 => (rng.gen_range(0..64) * 64, u32::MAX - rng.gen_range(0..4096)),
        _ => (0x1000_0000, 0x10_0000),
    }
}

#[test]
fn list_check_matches_isa() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x1157);
    let mut uut = ListCheck::new();
    uut.connect_all();
    check_all(&uut).expect("rust-hdl checks");
    let mut hist = BTreeMap::new();
    let mut rows = Vec::new();
    for i in 0..3000 {
        let (wb, ws) = list_window(&mut rng);
        let wend = u64::from(wb) + u64::from(ws);
        let count: u32 = match rng.gen_range(0..6) {
            0 => 0,
            1 => rng.gen(),
            2 => u32::MAX - rng.gen_range(0..3),
            _ => rng.gen_range(1..100),
        };
        let base: u32 = match rng.gen_range(0..6) {
            0 => rng.gen(),
            1 => wb.wrapping_sub(64 * rng.gen_range(0..2)) & !63,
            // The list ends at, or one descriptor past, the window's end.
            2 | 3 => {
                let bytes = u64::from(count) * 64 + 64 * rng.gen_range(0..2);
                (wend.saturating_sub(bytes).min(u64::from(u32::MAX)) as u32) & !63
            }
            4 => wb.wrapping_add(rng.gen_range(0..128)),
            _ => wb.wrapping_add(64 * rng.gen_range(0..1000)),
        };
        uut.cmd_base.next = u64::from(base).into();
        uut.cmd_count.next = u64::from(count).into();
        uut.win_base.next = u64::from(wb).into();
        uut.win_size.next = u64::from(ws).into();
        settle(&mut uut);
        let want = isa_code(validate_list(base, count, &(u64::from(wb)..wend)));
        let got = uut.code.val().to_u64() as u32;
        assert_eq!(got, want, "case {i}: base {base:#x} count {count} window {wb:#x}+{ws:#x}");
        *hist.entry(want).or_insert(0) += 1;
        if i < 1000 {
            rows.push((
                vec![vec![u64::from(base)], vec![u64::from(count)], vec![u64::from(wb)], vec![u64::from(ws)]],
                vec![vec![u64::from(got)]],
            ));
        }
    }
    println!("ListCheck codes: {hist:?}");
    for code in [0, 11, 12, 14] {
        assert!(hist.get(&code).copied().unwrap_or(0) >= 100, "code {code}: {hist:?}");
    }
    let v = generate_verilog(&uut);
    let dir = tempfile::tempdir().unwrap();
    verilog_check::lint_and_elaborate(&v, dir.path(), "top").unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    comb_replay(
        &v,
        dir.path(),
        &[("cmd_base", 32), ("cmd_count", 32), ("win_base", 32), ("win_size", 32)],
        &[("code", 5)],
        &rows,
    );
}

// ---------------------------------------------------------------- DescCheck

/// Bytes of the four tensors of a (shape-valid) descriptor: input, weights,
/// thresholds (0 in raw mode), destination — as `isa` computes them.
fn sizes(d: &Descriptor) -> [u64; 4] {
    let g = |c: u32| u64::from(c.div_ceil(64));
    let raw = d.mode == MODE_RAW;
    [
        u64::from(d.in_h) * u64::from(d.in_w) * g(d.in_c_total) * u64::from(d.a_in) * 8,
        u64::from(d.cout) * u64::from(d.array_taps()) * g(d.cin) * u64::from(d.w_bits) * 8,
        if raw { 0 } else { u64::from(d.cout) * (1u64 << d.a_out) * 4 },
        if raw {
            u64::from(d.dst_h) * u64::from(d.dst_w) * u64::from(d.dst_c) * 4
        } else {
            u64::from(d.dst_h) * u64::from(d.dst_w) * g(d.dst_c) * u64::from(d.a_out) * 8
        },
    ]
}

/// A random descriptor that passes checks 1..=9 (shape profile `p`).
fn random_shape(rng: &mut ChaCha8Rng, caps: &Capabilities, p: u32) -> Descriptor {
    let raw = rng.gen_bool(0.35);
    // Packed taps: mostly a valid 2×2 kernel over at most 16 channels, else
    // whatever the draws give (BadKernel).
    let pack_taps = u32::from(rng.gen_bool(0.15));
    let pack_ok = pack_taps == 1 && rng.gen_bool(0.8);
    // Packed planes: mostly on a 1×1 kernel, else BadKernel.
    let pack_planes = u32::from(rng.gen_bool(0.1));
    let (kh, kw) = if pack_ok {
        (2, 2)
    } else if pack_planes == 1 && rng.gen_bool(0.8) {
        (1, 1)
    } else {
        (rng.gen_range(1..=7), rng.gen_range(1..=7))
    };
    let big = p == 1;
    let dim = |rng: &mut ChaCha8Rng, max: u32| {
        if big {
            rng.gen_range(1..=max)
        } else {
            rng.gen_range(1..=max.min(20))
        }
    };
    let in_h = dim(rng, 65535);
    let in_w = dim(rng, u32::from(caps.max_width));
    let in_ch_off = 64 * if big { rng.gen_range(0..=8) } else { rng.gen_range(0..=1) };
    let cin = if pack_ok {
        rng.gen_range(1..=zynqflow_isa::PACK_LANES as u32)
    } else if big {
        rng.gen_range(1..=u32::from(caps.max_channels) - in_ch_off)
    } else {
        rng.gen_range(1..=150)
    };
    let in_c_total = (in_ch_off + cin + rng.gen_range(0..=70)).min(u32::from(caps.max_channels));
    let out_stride = rng.gen_range(1..=2);
    let (out_off_y, out_off_x) = (rng.gen_range(0..out_stride), rng.gen_range(0..out_stride));
    let out_h = dim(rng, 65535 / out_stride);
    let out_w = dim(rng, u32::from(caps.max_width) / out_stride);
    let dst_h = ((out_h - 1) * out_stride + out_off_y + 1 + rng.gen_range(0..=2)).min(65535);
    let dst_w = ((out_w - 1) * out_stride + out_off_x + 1 + rng.gen_range(0..=2)).min(u32::from(caps.max_width));
    // Copies (threshold mode) need `cout << copies_log2` within the rows.
    let copies_log2 = if !raw && rng.gen_bool(0.3) { rng.gen_range(1..=3) } else { 0 };
    let cout = if copies_log2 > 0 {
        rng.gen_range(1..=(u32::from(caps.rows) >> copies_log2).max(1))
    } else if big {
        rng.gen_range(1..=2000)
    } else {
        rng.gen_range(1..=130)
    };
    let ch_off = if raw { rng.gen_range(0..=40) } else { 64 * rng.gen_range(0..=2) };
    let dst_c = (ch_off + (cout << copies_log2) + rng.gen_range(0..=70)).min(u32::from(caps.max_channels));
    let a_in = rng.gen_range(1..=8);
    Descriptor {
        opcode: OP_CONV,
        mode: if raw { MODE_RAW } else { MODE_THRESHOLD },
        a_in,
        w_bits: rng.gen_range(1..=8),
        a_out: if raw { 0 } else { rng.gen_range(1..=8) },
        in_addr: 0,
        w_addr: 0,
        thr_addr: 0,
        out_addr: 0,
        in_h,
        in_w,
        cin,
        cout,
        out_h,
        out_w,
        kh,
        kw,
        stride: rng.gen_range(1..=2),
        upsample: rng.gen_range(1..=2),
        pad_top: rng.gen_range(0..kh),
        pad_left: rng.gen_range(0..kw),
        dst_h,
        dst_w,
        dst_c,
        ch_off,
        out_stride,
        out_off_y,
        out_off_x,
        copies_log2,
        pack_taps,
        pack_planes,
        in_c_total,
        in_ch_off,
    }
}

/// Places the tensors one after the other (random order, 0..2 spare
/// 64-byte blocks between them) inside a window; a window end beyond 2^32
/// is drawn often. Returns the window, or `None` if they do not fit 32 bits.
fn place(rng: &mut ChaCha8Rng, d: &mut Descriptor) -> Option<(u32, u32)> {
    let s = sizes(d);
    let raw = d.mode == MODE_RAW;
    let mut order = vec![0usize, 1, 3];
    if !raw {
        order.push(2);
    }
    for i in (1..order.len()).rev() {
        order.swap(i, rng.gen_range(0..=i));
    }
    let total: u64 = order.iter().map(|&k| s[k].div_ceil(64) * 64 + 128).sum::<u64>() + 256;
    if total >= 1 << 32 {
        return None;
    }
    let room = (1u64 << 32) - total;
    let start = match rng.gen_range(0..3) {
        0 => room - 64 * rng.gen_range(0..4).min(room / 64),
        1 => 64 * rng.gen_range(0..=room / 64),
        _ => 64 * rng.gen_range(0..=(room / 64).min(1 << 16)),
    };
    let mut addr = start + 64 * rng.gen_range(0..2);
    let win_base = start;
    for &k in &order {
        let a = addr + 64 * rng.gen_range(0..3);
        match k {
            0 => d.in_addr = a as u32,
            1 => d.w_addr = a as u32,
            2 => d.thr_addr = a as u32,
            _ => d.out_addr = a as u32,
        }
        addr = (a + s[k]).div_ceil(64) * 64;
    }
    let end = addr + 64 * rng.gen_range(0..2);
    let mut size = end - win_base;
    if rng.gen_bool(0.3) {
        // Window past 2^32: the sum must not wrap.
        size = rng.gen_range(size..=u64::from(u32::MAX));
    }
    Some((win_base as u32, size as u32))
}

/// Edge values of a field: 0, 1, its max, and the capability limit ±1.
fn edges(name: &str, caps: &Capabilities, max: u32) -> Vec<u32> {
    let mut v = vec![0, 1, 2, max, max.saturating_sub(1)];
    let lim = match name {
        "kh" | "kw" => Some(u32::from(caps.max_kernel)),
        "stride" => Some(u32::from(caps.max_stride)),
        "upsample" => Some(u32::from(caps.max_upsample)),
        "a_in" | "w_bits" | "a_out" => Some(8),
        "in_w" | "out_w" | "dst_w" => Some(u32::from(caps.max_width)),
        "in_c_total" | "dst_c" | "cin" | "cout" => Some(u32::from(caps.max_channels)),
        "out_stride" | "out_off_x" | "out_off_y" => Some(2),
        "in_ch_off" | "ch_off" => Some(64),
        "opcode" => Some(OP_CONV),
        _ => None,
    };
    if let Some(l) = lim {
        v.extend([l, l + 1, l.saturating_sub(1)]);
    }
    v.retain(|&x| x <= max);
    v
}

fn set_field(w: &mut Words, name: &str, value: u32) {
    let f = FIELDS.iter().find(|f| f.name == name).expect("field");
    w[f.word] = (w[f.word] & !f.mask()) | ((value << f.lsb) & f.mask());
}

fn get_field(w: &Words, name: &str) -> u32 {
    let f = FIELDS.iter().find(|f| f.name == name).expect("field");
    (w[f.word] & f.mask()) >> f.lsb
}

/// One test case: words and window (base, size).
#[derive(Clone)]
struct Case {
    words: Words,
    win: (u32, u32),
}

/// Descriptors that reach the Overflow and BufferTooSmall checks.
fn deep_shape(rng: &mut ChaCha8Rng, caps: &Capabilities) -> Descriptor {
    let mut d = random_shape(rng, caps, 0);
    d.kh = rng.gen_range(1..=7);
    d.kw = rng.gen_range(1..=7);
    d.pad_top = rng.gen_range(0..d.kh);
    d.pad_left = rng.gen_range(0..d.kw);
    d.cin = rng.gen_range(1..=u32::from(caps.max_channels));
    d.in_ch_off = 0;
    d.in_c_total = d.cin;
    d.a_in = rng.gen_range(1..=8);
    d.w_bits = rng.gen_range(1..=8);
    match rng.gen_range(0..3) {
        0 => {
            // Buffer limits without overflow.
            d.a_in = 1;
            d.w_bits = rng.gen_range(1..=2);
        }
        1 => {
            // `cin` at the overflow boundary: worst = 2^(acc_bits-1) + {<0, 0, >0}.
            for _ in 0..50 {
                d.a_in = rng.gen_range(6..=8);
                d.w_bits = rng.gen_range(6..=8);
                d.kh = rng.gen_range(3..=7);
                d.kw = rng.gen_range(3..=7);
                d.pad_top = rng.gen_range(0..d.kh);
                d.pad_left = rng.gen_range(0..d.kw);
                let per = u64::from(d.kh * d.kw) * ((1u64 << d.a_in) - 1) * (1u64 << (d.w_bits - 1));
                let lim = 1u64 << (caps.acc_bits.clamp(1, 32) - 1);
                let t = lim.div_ceil(per) as i64 + rng.gen_range(-1..=1);
                if (1..=i64::from(caps.max_channels)).contains(&t) {
                    d.cin = t as u32;
                    d.in_c_total = d.cin;
                    break;
                }
            }
        }
        _ => {}
    }
    d
}

fn make_case(rng: &mut ChaCha8Rng, caps: &Capabilities, i: usize) -> Case {
    let kind = i % 10;
    if kind == 0 {
        // Fully random words, or with only the field bits.
        let mut words: Words = std::array::from_fn(|_| rng.gen());
        if rng.gen_bool(0.5) {
            let m = field_mask();
            for k in 0..DESCRIPTOR_WORDS {
                words[k] &= m[k];
            }
            set_field(&mut words, "opcode", OP_CONV);
        }
        return Case { words, win: (rng.gen(), rng.gen()) };
    }
    let mut d = match kind {
        1 | 2 => random_shape(rng, caps, 1),
        3 => deep_shape(rng, caps),
        _ => random_shape(rng, caps, 0),
    };
    let win = match place(rng, &mut d) {
        Some(w) => w,
        None => {
            // Too big for 32 bits: random addresses (aligned) and window.
            for a in [&mut d.in_addr, &mut d.w_addr, &mut d.thr_addr, &mut d.out_addr] {
                *a = rng.gen::<u32>() & !63;
            }
            if d.mode == MODE_RAW {
                d.thr_addr = 0;
            }
            (rng.gen::<u32>() & !63, rng.gen())
        }
    };
    let mut words = d.encode().expect("fields fit");
    let mut win = win;
    match kind {
        4..=6 => {
            // One field to an edge value.
            const EARLY: [&str; 13] = [
                "opcode",
                "a_in",
                "w_bits",
                "a_out",
                "kh",
                "kw",
                "stride",
                "upsample",
                "pad_top",
                "pad_left",
                "out_stride",
                "out_off_y",
                "out_off_x",
            ];
            let f = if rng.gen_bool(0.5) {
                let name = EARLY[rng.gen_range(0..EARLY.len())];
                FIELDS.iter().find(|f| f.name == name).unwrap()
            } else {
                &FIELDS[rng.gen_range(0..FIELDS.len())]
            };
            let e = edges(f.name, caps, f.max());
            let v = if f.width == 32 {
                let a = get_field(&words, f.name);
                match rng.gen_range(0..5) {
                    0 => a.wrapping_add(8),
                    1 => a.wrapping_add(32),
                    2 => a.wrapping_sub(64),
                    3 => a.wrapping_add(64),
                    _ => rng.gen(),
                }
            } else {
                e[rng.gen_range(0..e.len())]
            };
            set_field(&mut words, f.name, v);
        }
        7 => {
            // Overlap and touching ranges: the destination right after, right
            // before, or one block into a read range.
            let d2 = Descriptor::decode(&words).0;
            let s = sizes(&d2);
            let reads = [(d2.in_addr, s[0]), (d2.w_addr, s[1]), (d2.thr_addr, s[2])];
            let (ra, rs) = reads[rng.gen_range(0..if d2.mode == MODE_RAW { 2 } else { 3 })];
            let out = match rng.gen_range(0..4) {
                0 => u64::from(ra) + rs.div_ceil(64) * 64,
                1 => u64::from(ra).wrapping_sub(s[3].div_ceil(64) * 64),
                2 => u64::from(ra) + rs.div_ceil(64) * 64 - 64,
                _ => u64::from(ra).wrapping_sub(s[3].div_ceil(64) * 64) + 64,
            };
            set_field(&mut words, "out_addr", out as u32);
            if rng.gen_bool(0.5) {
                win = (0, u32::MAX);
            }
        }
        8 => {
            // Window edges: shrink or shift by one block.
            let (b, s) = win;
            win = match rng.gen_range(0..4) {
                0 => (b.wrapping_add(64), s.wrapping_sub(64)),
                1 => (b, s.wrapping_sub(64)),
                2 => (b.wrapping_sub(64), s),
                _ => (b, s.wrapping_sub(1)),
            };
        }
        9 => {
            // Mode flips and mode-dependent fields.
            match rng.gen_range(0..4) {
                0 => {
                    let m = get_field(&words, "mode");
                    set_field(&mut words, "mode", 1 - m)
                }
                1 => set_field(&mut words, "a_out", rng.gen_range(0..16)),
                2 => set_field(&mut words, "thr_addr", if rng.gen() { 64 } else { 0 }),
                _ => {
                    let bit = rng.gen_range(0..512);
                    words[bit / 32] |= 1 << (bit % 32);
                }
            }
        }
        _ => {}
    }
    Case { words, win }
}

/// Runs cases on a `DescCheck`, asserting `done`'s timing and the code
/// against `isa`; returns the code histogram. Logs `logged` cases.
fn run_cases(config: &ArrayConfig, cases: &[Case], logged: usize) -> (BTreeMap<u32, usize>, Option<VectorLog>) {
    let caps = config.capabilities();
    let mut d = Driver::new(DescCheck::new(config));
    let mut log = (logged > 0).then(|| {
        VectorLog::new(
            &[("reset", 1), ("start", 1), ("words", 512), ("win_base", 32), ("win_size", 32)],
            &[("done", 1), ("code", 5)],
        )
    });
    let mut hist = BTreeMap::new();
    let cycle = |d: &mut Driver<DescCheck>, log: &mut Option<VectorLog>, reset: bool, start: bool, case: &Case| {
        let u = &mut d.uut;
        u.reset.next = reset;
        u.start.next = start;
        u.words.next = bus_of(&case.words);
        u.win_base.next = u64::from(case.win.0).into();
        u.win_size.next = u64::from(case.win.1).into();
        d.tick();
        let (done, code) = (d.uut.done.val(), d.uut.code.val().to_u64());
        if let Some(l) = log.as_mut() {
            l.record(
                vec![
                    vec![u64::from(reset)],
                    vec![u64::from(start)],
                    bits_value(bus_of(&case.words)),
                    vec![u64::from(case.win.0)],
                    vec![u64::from(case.win.1)],
                ],
                vec![vec![u64::from(done)], vec![code]],
            );
        }
        (done, code)
    };
    cycle(&mut d, &mut log, true, false, &cases[0]);
    for (i, case) in cases.iter().enumerate() {
        let logging = i < logged;
        let mut lg = if logging { log.take() } else { None };
        let window: Range<u64> = u64::from(case.win.0)..u64::from(case.win.0) + u64::from(case.win.1);
        let want = isa_code(validate_words(&case.words, &caps, &window));
        cycle(&mut d, &mut lg, false, true, case);
        for k in 1..LATENCY {
            let (done, _) = cycle(&mut d, &mut lg, false, false, case);
            assert!(!done, "case {i}: done early at edge {k}");
        }
        let (done, code) = cycle(&mut d, &mut lg, false, false, case);
        assert!(done, "case {i}: no done after {LATENCY} edges");
        assert_eq!(
            code as u32,
            want,
            "case {i} ({}): words {:08x?} window {:#x}+{:#x}\n{:?}",
            config.name,
            case.words,
            case.win.0,
            case.win.1,
            Descriptor::decode(&case.words).0
        );
        let (done, _) = cycle(&mut d, &mut lg, false, false, case);
        assert!(!done, "case {i}: done longer than one cycle");
        if logging {
            log = lg;
        }
        *hist.entry(want).or_insert(0) += 1;
    }
    (hist, log)
}

/// The codes validation gives (all but the list's BadCount and the
/// run-time BusError / BadThresholds).
fn validation_codes() -> Vec<u32> {
    ErrorCode::ALL
        .iter()
        .filter(|e| !matches!(e, ErrorCode::BadCount | ErrorCode::BusError | ErrorCode::BadThresholds))
        .map(|e| e.code())
        .chain([0])
        .collect()
}

#[test]
fn desc_check_matches_validate_words_small() {
    let config = ArrayConfig::small();
    let caps = config.capabilities();
    let mut rng = ChaCha8Rng::seed_from_u64(0xc4ec_0001);
    let cases: Vec<Case> = (0..N_CASES).map(|i| make_case(&mut rng, &caps, i)).collect();
    let (hist, log) = run_cases(&config, &cases, 220);
    println!("DescCheck ({}) codes over {} cases: {hist:?}", config.name, cases.len());
    for code in validation_codes() {
        assert!(hist.get(&code).copied().unwrap_or(0) >= MIN_PER_CODE, "code {code} rare: {hist:?}");
    }
    // The recorded run replays on the generated Verilog.
    let mut top = DescCheck::new(&config);
    top.connect_all();
    let v = generate_verilog(&top);
    let dir = tempfile::tempdir().unwrap();
    log.expect("log").replay_on_verilog(&v, dir.path());
}

/// Cases per configuration (each takes LATENCY + 2 cycles of rust-hdl).
const N_CASES: usize = 5000;
/// Least occurrences of each validation code.
const MIN_PER_CODE: usize = 20;

#[test]
fn desc_check_matches_validate_words_pynq_z2() {
    let config = ArrayConfig::pynq_z2();
    let caps = config.capabilities();
    let mut rng = ChaCha8Rng::seed_from_u64(0xc4ec_0002);
    let cases: Vec<Case> = (0..N_CASES / 12).map(|i| make_case(&mut rng, &caps, i)).collect();
    let (hist, _) = run_cases(&config, &cases, 0);
    println!("DescCheck ({}) codes over {} cases: {hist:?}", config.name, cases.len());
}

#[test]
fn desc_check_verilog_is_lint_clean() {
    for config in [ArrayConfig::small(), ArrayConfig::pynq_z2()] {
        let mut top = DescCheck::new(&config);
        top.connect_all();
        let v = generate_verilog(&top);
        let dir = tempfile::tempdir().unwrap();
        verilog_check::lint_and_elaborate(&v, dir.path(), "top").unwrap_or_else(|e| panic!("{}: {e}", config.name));
    }
}

/// `(cell type, count)` of the last yosys `stat` block.
fn cell_counts(stat: &str) -> Vec<(String, usize)> {
    let start = stat.rfind("Number of cells:").expect("yosys stat printed no cell count");
    stat[start..]
        .lines()
        .skip(1)
        .map_while(|line| {
            let mut it = line.split_whitespace();
            let (name, count) = (it.next()?, it.next()?);
            Some((name.to_string(), count.parse().ok()?))
        })
        .collect()
}

/// yosys size of DescCheck (pynq-z2): `read_verilog <modules>; synth_xilinx
/// -family xc7 -flatten -top top; stat`. Ignored by default (slow); run with
/// `--ignored --nocapture` to print the figures.
#[test]
#[ignore]
fn desc_check_size() {
    verilog_check::require_tool("yosys").unwrap_or_else(|e| panic!("{e}"));
    let mut top = DescCheck::new(&ArrayConfig::pynq_z2());
    top.connect_all();
    let dir = tempfile::tempdir().unwrap();
    let files = verilog_check::write_modules(&generate_verilog(&top), dir.path()).unwrap();
    let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let script = format!(
        "read_verilog {}; synth_xilinx -family xc7 -flatten -top top; tee -q -o stat.txt stat",
        names.join(" ")
    );
    let out = Command::new("yosys").args(["-q", "-p", &script]).current_dir(dir.path()).output().expect("yosys");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stat = std::fs::read_to_string(dir.path().join("stat.txt")).unwrap();
    let cells = cell_counts(&stat);
    let count = |p: &str| cells.iter().filter(|(n, _)| n.starts_with(p)).map(|(_, c)| c).sum::<usize>();
    println!(
        "DescCheck: {} LUTs, {} FFs, {} DSP48, {} CARRY4; {cells:?}",
        count("LUT"),
        count("FD"),
        count("DSP"),
        count("CARRY")
    );
}

/// Other capabilities: a 16-bit accumulator (where the overflow bound is
/// reached exactly), small buffers and width limit, and invalid accumulator
/// widths (0 and 40: every descriptor that reaches the check overflows).
#[test]
fn desc_check_follows_the_capabilities() {
    let base = ArrayConfig::small();
    let configs = [
        ArrayConfig { acc_bits: 16, max_width: 300, weight_buf_kib: 4, act_buf_kib: 4, ..base.clone() },
        ArrayConfig { acc_bits: 0, ..base.clone() },
        ArrayConfig { acc_bits: 40, ..base.clone() },
    ];
    for (n, config) in configs.iter().enumerate() {
        let caps = config.capabilities();
        let mut rng = ChaCha8Rng::seed_from_u64(0xca95 + n as u64);
        let mut cases: Vec<Case> = (0..150).map(|i| make_case(&mut rng, &caps, i)).collect();
        // worst = 2·2·cin·1·2 = 2^15 at cin = 4096 (the 16-bit bound), 1 below at 4095.
        for cin in [4095, 4096] {
            let mut d = random_shape(&mut rng, &caps, 0);
            (d.a_in, d.w_bits, d.kh, d.kw, d.pad_top, d.pad_left) = (1, 2, 2, 2, 1, 1);
            (d.cin, d.in_c_total, d.in_ch_off) = (cin, cin, 0);
            let win = place(&mut rng, &mut d).expect("fits");
            cases.push(Case { words: d.encode().unwrap(), win });
        }
        let (hist, _) = run_cases(config, &cases, 0);
        println!("DescCheck (acc_bits {}) codes: {hist:?}", config.acc_bits);
        assert!(hist.get(&10).copied().unwrap_or(0) >= 1, "{hist:?}");
    }
}

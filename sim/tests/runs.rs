//! Runs of passes on the RTL (`small`, 8 rows): a descriptor of many
//! output channels gathers its input once per run of passes, not once per
//! pass of `rows` channels (docs/architecture.md, "Dataflow"); when it needs
//! several runs they alternate between halves of the weight banks and each
//! loads while the previous one computes; a tile reuses the input rows the
//! tile above it gathered; and it still writes exactly what the functional
//! model writes.
mod common;

use common::{model, Rtl};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zynqflow_driver::model::random_layer::image;
use zynqflow_driver::platform::Platform;
use zynqflow_hdl::cmdproc::run_plan;
use zynqflow_isa::descriptor::{Descriptor, MODE_THRESHOLD, OP_CONV};
use zynqflow_isa::ArrayConfig;

/// A 3×3/1 conv, padding 1, over an 8×8 image of `cin` 2-bit channels,
/// binary weights, 2-bit outputs: `cout` channels, each `9·⌈cin/64⌉` weight
/// words and a 2-word threshold record (four 32-bit words).
fn conv(cin: u32, cout: u32) -> Descriptor {
    Descriptor {
        opcode: OP_CONV,
        mode: MODE_THRESHOLD,
        a_in: 2,
        w_bits: 1,
        a_out: 2,
        in_h: 8,
        in_w: 8,
        cin,
        cout,
        out_h: 8,
        out_w: 8,
        kh: 3,
        kw: 3,
        stride: 1,
        upsample: 1,
        pad_top: 1,
        pad_left: 1,
        dst_h: 8,
        dst_w: 8,
        dst_c: cout.div_ceil(64) * 64,
        out_stride: 1,
        in_c_total: cin.div_ceil(64) * 64,
        ..Default::default()
    }
}

/// Runs `conv(cin, cout)` on the RTL and the model; returns the bus words the
/// RTL read and its cycles.
fn run(rtl: &mut Rtl, cin: u32, cout: u32) -> (u64, u64) {
    run_desc(rtl, conv(cin, cout))
}

/// Runs `desc` on the RTL and the model (its addresses replaced by a random
/// image's); returns the bus words the RTL read and its cycles.
fn run_desc(rtl: &mut Rtl, desc: Descriptor) -> (u64, u64) {
    let cout = desc.cout;
    let probe = image(&mut ChaCha8Rng::seed_from_u64(u64::from(cout)), 0x1000_0000, &mut desc.clone());
    rtl.buf = rtl.p.alloc(probe.len()).unwrap();
    let base = rtl.buf.bus_addr;
    let mut d = desc;
    let mem = image(&mut ChaCha8Rng::seed_from_u64(u64::from(cout)), base, &mut d);
    let (want, regs) = model(&rtl.caps, &mem, base);
    assert_eq!(regs[1], 0, "cout {cout}: the model refused {d:?}");
    let before = rtl.p.mem_stats().read_beats;
    let (got, rtl_regs, cycles) = rtl.run(&mem);
    let read = rtl.p.mem_stats().read_beats - before;
    assert_eq!(rtl_regs, regs, "cout {cout}: registers (STATUS, CODE, INDEX, DONE, MACS) RTL vs model");
    if let Some(i) = (0..want.len()).find(|&i| want[i] != got[i]) {
        panic!(
            "cout {cout}: memory differs first at {:#x} (model {:#04x}, RTL {:#04x})",
            base + i as u64,
            want[i],
            got[i]
        );
    }
    (read, cycles)
}

#[test]
fn sixteen_passes_gather_the_input_once() {
    let mut rtl = Rtl::new(&ArrayConfig::small());
    let (rows, cout) = (u64::from(ArrayConfig::small().rows), 128u32);
    assert_eq!(run_plan(&ArrayConfig::small(), &conv(64, cout)).runs(), 1);
    let (read_one, cycles_one) = run(&mut rtl, 64, rows as u32);
    let (read_all, cycles_all) = run(&mut rtl, 64, cout);
    // Per extra channel: its 9 weight words, its record read by the
    // threshold scan (2 words) and loaded (2 words). The gathered input is
    // the same words for 1 pass and for 16 in one run (2,048 weight words per
    // bank hold 16 × 9): one pass per gather would read it 16 times.
    let per_channel = 9 + 2 + 2;
    assert_eq!(
        read_all - read_one,
        (u64::from(cout) - rows) * per_channel,
        "words read: {read_one} for {rows} channels, {read_all} for {cout}"
    );
    // The array computes 16 times as much; the gather is not repeated.
    assert!(cycles_all < 17 * cycles_one, "cycles: {cycles_one} for one pass, {cycles_all} for 16");
    eprintln!("{rows} channels: {read_one} words, {cycles_one} cycles; {cout} channels: {read_all} words, {cycles_all} cycles");
}

#[test]
fn runs_overlap_their_weight_loads_with_the_previous_run() {
    let config = ArrayConfig::small();
    let mut rtl = Rtl::new(&config);
    let rows = u64::from(config.rows);
    // 1,024 channels: 16 groups, 144 weight words per output channel; the
    // 2,048-word banks hold 14 passes, a half 7. 30 passes need more than
    // one run, so the runs are overlapped: 5 runs of 7, 7, 7, 7 and 2.
    let (cin, cout) = (1024u32, 240u32);
    let plan = run_plan(&config, &conv(cin, cout));
    assert!(plan.overlapped, "{plan:?}");
    assert_eq!((plan.passes, plan.per_run, plan.runs()), (30, 7, 5));
    let wpc = 144u64;
    // One pass: the descriptor (8 words), its channels' weights, records
    // (scanned, then loaded: 2 + 2 words each) and one gather of the input.
    let (read_one, _) = run(&mut rtl, cin, rows as u32);
    let gather = read_one - 8 - rows * (wpc + 4);
    let (read_all, cycles) = run(&mut rtl, cin, cout);
    assert_eq!(
        read_all,
        8 + u64::from(cout) * (wpc + 4) + u64::from(plan.runs()) * gather,
        "words read: the input is gathered once per run ({gather} words), every weight and record read once"
    );
    // Without overlap the weight loads add to the compute: every tile of
    // every pass takes its steps, and no step runs while the weights of its
    // run are read (one 64-bit word per cycle). Overlapped, only the first
    // run's load adds.
    let tiles = 8 * 8u64.div_ceil(u64::from(config.cols));
    let steps = 9 * 16 * 2;
    let compute = u64::from(plan.passes) * tiles * steps;
    let loads = u64::from(cout) * wpc;
    assert!(
        cycles < compute + loads,
        "{cycles} cycles: not below {compute} of compute + {loads} of weight loads, so the loads did not overlap"
    );
    eprintln!("{cout} channels over {cin}: {cycles} cycles ({compute} of compute, {loads} weight words), {read_all} words read");
}

/// The words a gather of `d` reads when every input row is read once per
/// strip of `cols` output columns: per strip, the input positions its span
/// covers inside the image, times the input rows its tiles cover.
fn gather_once_per_strip(d: &Descriptor, cols: u32) -> u64 {
    let slice = u64::from(d.cin.div_ceil(64) * d.a_in);
    let s = d.stride as i64;
    let rows = (0..d.in_h as i64)
        .filter(|&iy| (0..d.out_h as i64).any(|oy| (0..d.kh as i64).any(|ky| oy * s + ky - d.pad_top as i64 == iy)))
        .count() as u64;
    (0..d.out_w)
        .step_by(cols as usize)
        .map(|ox0| {
            let v = (d.out_w - ox0).min(cols) as i64;
            let first = ox0 as i64 * s - d.pad_left as i64;
            let span = (v - 1) * s + d.kw as i64;
            (first..first + span).filter(|&ix| (0..d.in_w as i64).contains(&ix)).count() as u64
        })
        .sum::<u64>()
        * rows
        * slice
}

#[test]
fn tiles_reuse_the_rows_of_the_tile_above() {
    let config = ArrayConfig::small();
    let mut rtl = Rtl::new(&config);
    // 3×3 at stride 1 (a new tile shares two rows with the one above) and at
    // stride 2 (one row), 2-bit channels over two groups, 8 output channels:
    // the descriptor (8 words), 18 weight words and a 4-word record per
    // channel, and the input read once per strip of `cols` columns. Read
    // once per kernel row, it would be about three times as many words.
    for stride in [1u32, 2] {
        let mut d = conv(100, u32::from(config.rows));
        d.stride = stride;
        d.out_h = 8 / stride;
        d.out_w = 8 / stride;
        d.dst_h = d.out_h;
        d.dst_w = d.out_w;
        let gather = gather_once_per_strip(&d, u32::from(config.cols));
        let (read, cycles) = run_desc(&mut rtl, d);
        assert_eq!(
            read,
            8 + u64::from(d.cout) * (18 + 4) + gather,
            "stride {stride}: words read, the input gathered once per strip ({gather} words)"
        );
        eprintln!("stride {stride}: {read} words read ({gather} gathered), {cycles} cycles");
    }
}

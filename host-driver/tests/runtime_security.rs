//! Security properties of the runtime, on the recording mock
//! (`platform::mock`), for arbitrary layers placed anywhere:
//!
//! - every bus address the runtime programs lies inside a buffer it owns:
//!   each descriptor it writes (input and output in the activation arena,
//!   weights and thresholds in the weights buffer), the list registers
//!   (`CMD_BASE`, `CMD_COUNT`: inside the list buffer) and the window
//!   (`WIN_BASE`, `WIN_SIZE`: exactly the span of the image's buffers,
//!   touching no one else's), through `load`, `run_image` and `execute_list`;
//! - a descriptor with an address moved outside the buffer that owns it —
//!   past its end, below its start, into another of the runtime's buffers,
//!   anywhere — is refused by `load` or `execute_list` before anything is
//!   written to the device's memory or registers.
//!
//! The layers are `selftest`'s random ones (every geometry, transposed
//! ones compiled to several descriptors, raw and threshold outputs),
//! relocated inside their buffers by arbitrary offsets; the buffers are
//! placed at arbitrary page addresses up to and past 4 GiB, with other
//! buffers around them. Moved addresses land just past or below their
//! buffer, in another of the image's buffers, or anywhere; about a third of
//! them stay inside the window, so that only the ownership check refuses
//! them. 256 cases per property, about a second (`PROPTEST_CASES` to
//! change), from a fixed seed (`PROPTEST_RNG_SEED` to change).

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;
use zynqflow_driver::compiler::Image;
use zynqflow_driver::platform::mock::{Call, MockPlatform};
use zynqflow_driver::platform::{DmaBuffer, Platform};
use zynqflow_driver::runtime::{Accelerator, Loaded, RuntimeError};
use zynqflow_driver::selftest::RandomLayer;
use zynqflow_isa::{
    regs, validate, ArrayConfig, Capabilities, Descriptor, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS, MODE_THRESHOLD,
};

const PAGE: u64 = 4096;
const ALIGN: u32 = 64;

fn config() -> ProptestConfig {
    let mut c = ProptestConfig { failure_persistence: None, ..ProptestConfig::default() };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = RngSeed::Fixed(0x5ec_0417);
    }
    c
}

fn caps() -> Capabilities {
    ArrayConfig::small().capabilities()
}

/// Where the image and its neighbours go.
#[derive(Debug, Clone)]
struct Placement {
    /// Page of the first allocation (a buffer that is not the image's).
    first_page: u64,
    /// Free bytes before each allocation: the neighbour, the weights, the
    /// arena, the list, the neighbour after.
    gaps: [u64; 5],
    /// 64-byte steps every arena offset of the image moves by.
    arena_shift: u32,
    /// Bytes added at the end of the arena.
    arena_tail: u32,
    /// 64-byte steps every weights offset moves by.
    weights_shift: u32,
}

fn placement() -> impl Strategy<Value = Placement> {
    // Pages well inside 4 GiB, or near its end (the image may not fit).
    let first = prop_oneof![3 => 1u64..0xf_0000, 1 => 0xf_fe00u64..0x10_0000];
    let gap = prop_oneof![2 => Just(0u64), 1 => 0u64..3 * PAGE, 1 => 0u64..64 << 20];
    (first, [gap.clone(), gap.clone(), gap.clone(), gap.clone(), gap], 0u32..64, 0u32..5000, 0u32..64).prop_map(
        |(first_page, gaps, arena_shift, arena_tail, weights_shift)| Placement {
            first_page,
            gaps,
            arena_shift,
            arena_tail,
            weights_shift,
        },
    )
}

/// The first layer the `small` configuration runs from `seed`.
fn layer(seed: u64) -> Image {
    RandomLayer::first_compiled(seed, &caps()).1
}

/// `image` with every arena offset moved by `p.arena_shift` steps and every
/// weights offset by `p.weights_shift` (zero bytes in front): the same
/// program elsewhere in its buffers.
fn relocate(mut image: Image, p: &Placement) -> Image {
    let (a, w) = (p.arena_shift * ALIGN, p.weights_shift * ALIGN);
    for c in &mut image.commands {
        c.desc.in_addr += a;
        c.desc.out_addr += a;
        c.desc.w_addr += w;
        if c.desc.mode == MODE_THRESHOLD {
            c.desc.thr_addr += w;
        }
    }
    image.input.0 += a as usize;
    image.output.0 += a as usize;
    image.arena_bytes += (a + p.arena_tail) as usize;
    let mut weights = vec![0u8; w as usize];
    weights.extend_from_slice(&image.weights);
    image.weights = weights;
    image
}

/// What the device sees at a start: the list and window registers, and the
/// descriptors at `CMD_BASE` (`None` if no buffer holds them).
#[derive(Debug, Clone)]
struct Start {
    cmd_base: u64,
    cmd_count: u64,
    window: Range<u64>,
    list: Option<Vec<Descriptor>>,
}

type Starts = Rc<RefCell<Vec<Start>>>;

/// A mock whose device records what it sees at each start and finishes the
/// run at once, with the allocations placed as `p` says and a neighbour
/// buffer allocated first.
fn platform(p: &Placement) -> (MockPlatform, DmaBuffer, Starts) {
    let mut m = MockPlatform::new(&caps());
    let starts = Starts::default();
    let seen = starts.clone();
    m.responder = Some(Box::new(move |off, val, r, mem| {
        if off == regs::CTRL && val & regs::CTRL_START != 0 {
            let reg = |o| u64::from(r.get(&o).copied().unwrap_or(0));
            let (cmd_base, cmd_count) = (reg(regs::CMD_BASE), reg(regs::CMD_COUNT));
            let list = mem.at_bus(cmd_base, cmd_count as usize * DESCRIPTOR_BYTES).map(|b| decode_list(b));
            let window = reg(regs::WIN_BASE)..reg(regs::WIN_BASE) + reg(regs::WIN_SIZE);
            seen.borrow_mut().push(Start { cmd_base, cmd_count, window, list });
            r.insert(regs::STATUS, regs::STATUS_DONE);
            return true;
        }
        if off == regs::STATUS {
            let s = r.get(&regs::STATUS).copied().unwrap_or(0);
            r.insert(regs::STATUS, s & !val);
        }
        false
    }));
    m.next_bus = p.first_page * PAGE;
    m.gaps = p.gaps.iter().copied().collect();
    let neighbour = m.alloc(100).unwrap();
    (m, neighbour, starts)
}

/// Descriptors from their bytes, as the device decodes them.
fn decode_list(bytes: &[u8]) -> Vec<Descriptor> {
    bytes
        .chunks_exact(DESCRIPTOR_BYTES)
        .map(|b| {
            let w: [u32; DESCRIPTOR_WORDS] =
                std::array::from_fn(|i| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap()));
            Descriptor::decode(&w).0
        })
        .collect()
}

/// The descriptor's ranges: input, weights, thresholds, output, with the
/// buffer of `l` that must hold each.
fn ranges<'a>(d: &Descriptor, l: &'a Loaded) -> Result<[(Range<u64>, &'a DmaBuffer); 4], TestCaseError> {
    let c = validate(d, &caps(), &(0..1 << 32))
        .map_err(|e| TestCaseError::fail(format!("invalid descriptor {d:?}: {e}")))?;
    let [i, w, t] = c.reads;
    Ok([(i, &l.arena), (w, &l.weights), (t, &l.weights), (c.write, &l.arena)])
}

fn inside(r: &Range<u64>, b: &DmaBuffer) -> bool {
    r.is_empty() || (r.start >= b.bus_addr && r.end <= b.bus_addr + b.len as u64)
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Checks what the device saw at a start of `count` descriptors: the list
/// inside the list buffer, every range of every descriptor inside the buffer
/// that owns it, the window exactly the span of the image's buffers and
/// clear of `others`.
fn check_start(s: &Start, l: &Loaded, others: &[&DmaBuffer], count: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.cmd_count, count as u64);
    let list = s.cmd_base..s.cmd_base + s.cmd_count * DESCRIPTOR_BYTES as u64;
    prop_assert!(inside(&list, &l.commands), "list {list:x?} outside {:x?}", l.commands.bus_range());
    let Some(descriptors) = &s.list else { return Err(TestCaseError::fail("no memory holds the list")) };
    for (k, d) in descriptors.iter().enumerate() {
        for (r, owner) in ranges(d, l)? {
            prop_assert!(inside(&r, owner), "descriptor {k}: {r:x?} outside its buffer {:x?}", owner.bus_range());
        }
    }
    let mine = [&l.weights, &l.arena, &l.commands];
    let start = mine.iter().map(|b| b.bus_addr).min().unwrap();
    let end = mine.iter().map(|b| b.bus_addr + b.len as u64).max().unwrap();
    prop_assert_eq!(s.window.clone(), start..end, "the window is the span of the image's buffers");
    for o in others {
        prop_assert!(
            !overlaps(&s.window, &o.bus_range()),
            "window {:x?} covers another buffer {:x?}",
            s.window,
            o.bus_range()
        );
    }
    Ok(())
}

/// What a load at this placement must do: `Some(loaded)` when every buffer
/// ends below 4 GiB, else a refusal with nothing written.
fn load(acc: &mut Accelerator<MockPlatform>, image: &Image) -> Result<Option<Loaded>, TestCaseError> {
    let from = acc.platform().calls.len();
    match acc.load(image) {
        Ok(l) => {
            prop_assert!(l.commands.bus_addr + l.commands.len as u64 <= 1 << 32);
            Ok(Some(l))
        }
        Err(RuntimeError::AddressTooHigh { end, .. }) => {
            prop_assert!(end > 1 << 32);
            let calls = &acc.platform().calls[from..];
            prop_assert!(calls.iter().all(|c| matches!(c, Call::Alloc(..))), "written before refusing: {calls:?}");
            Ok(None)
        }
        Err(e) => Err(TestCaseError::fail(format!("load refused a valid image: {e}"))),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_address_the_runtime_programs_lies_in_a_buffer_it_owns(seed in any::<u64>(), p in placement(), sub in any::<prop::sample::Index>()) {
        let image = relocate(layer(seed), &p);
        let (m, before, starts) = platform(&p);
        let mut acc = Accelerator::open(m).unwrap();
        let Some(l) = load(&mut acc, &image)? else { return Ok(()) };
        let after = acc.platform().alloc(100).unwrap();
        let others = [&before, &after];
        let input = zynqflow_driver::QTensor::zeros(image.input.1);
        acc.run_image(&l, &input, Duration::from_secs(1)).unwrap();
        // A sub-list (the last k descriptors) through execute_list.
        let k = sub.index(l.descriptors.len()) + 1;
        let list: Vec<(usize, Descriptor)> = l.descriptors.iter().copied().enumerate().skip(l.descriptors.len() - k).collect();
        acc.execute_list(&l, &list, Duration::from_secs(1)).unwrap();
        let starts = starts.borrow();
        prop_assert_eq!(starts.len(), 2);
        check_start(&starts[0], &l, &others, l.descriptors.len())?;
        prop_assert_eq!(starts[0].list.as_ref(), Some(&l.descriptors));
        check_start(&starts[1], &l, &others, k)?;
        // Afterwards the loaded list is back in place.
        let back = acc.platform().memory.at_bus(l.commands.bus_addr, l.commands.len).map(|b| decode_list(b));
        prop_assert_eq!(back.as_ref(), Some(&l.descriptors));
    }

    #[test]
    fn a_descriptor_moved_outside_its_buffer_is_refused_before_anything_is_written(
        seed in any::<u64>(),
        p in placement(),
        which in any::<prop::sample::Index>(),
        field in 0usize..4,
        how in 0usize..4,
        steps in prop_oneof![3 => 1u64..4, 2 => 1u64..256, 1 => 1u64..1 << 20],
    ) {
        let image = relocate(layer(seed), &p);
        let (m, _, _) = platform(&p);
        let mut acc = Accelerator::open(m).unwrap();
        let Some(l) = load(&mut acc, &image)? else { return Ok(()) };
        let i = which.index(l.descriptors.len());
        let mut d = l.descriptors[i];
        let rs = ranges(&d, &l)?;
        // Raw descriptors read no thresholds: move their weights instead.
        let field = if rs[field].0.is_empty() { 1 } else { field };
        let (r, owner) = rs[field].clone();
        let len = r.end - r.start;
        let (o_start, o_end) = (owner.bus_addr, owner.bus_addr + owner.len as u64);
        let step = steps * u64::from(ALIGN);
        let others: Vec<&DmaBuffer> = [&l.weights, &l.arena, &l.commands].into_iter().filter(|b| b.id != owner.id).collect();
        let to = match how {
            // Past the end of its buffer.
            0 => (o_end - len).div_ceil(u64::from(ALIGN)) * u64::from(ALIGN) + step,
            // Below its start.
            1 => o_start.saturating_sub(step),
            // Into another of the runtime's buffers, ending inside the
            // window if it can (only the ownership check refuses it then).
            2 => {
                let b = others[(steps % 2) as usize];
                let end = [&l.weights, &l.arena, &l.commands].iter().map(|b| b.bus_addr + b.len as u64).max().unwrap();
                let to = (b.bus_addr + step % b.len as u64).min(end.saturating_sub(len)).max(b.bus_addr);
                to / u64::from(ALIGN) * u64::from(ALIGN)
            }
            // Anywhere.
            _ => (steps.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) / u64::from(ALIGN) * u64::from(ALIGN),
        };
        let to = u32::try_from(to).unwrap_or(u32::MAX / ALIGN * ALIGN);
        prop_assume!(!inside(&(u64::from(to)..u64::from(to) + len), owner));
        match field {
            0 => d.in_addr = to,
            1 => d.w_addr = to,
            2 => d.thr_addr = to,
            _ => d.out_addr = to,
        }

        // execute_list: refused, nothing written, nothing started.
        let from = acc.platform().calls.len();
        let e = acc.execute_list(&l, &[(i, d)], Duration::from_secs(1));
        prop_assert!(matches!(e, Err(RuntimeError::AddressOutsideBuffer { .. } | RuntimeError::Unsupported { .. })), "execute_list: {e:?}");
        prop_assert!(acc.platform().calls.len() == from, "calls after a refusal: {:?}", &acc.platform().calls[from..]);

        // load: the same move in the image (offsets from the buffer's
        // start; a move below it wraps past 4 GiB) is refused too.
        let mut bad = image.clone();
        let base = owner.bus_addr;
        let off = u64::from(to).wrapping_sub(base) as u32;
        let c = &mut bad.commands[i].desc;
        match field {
            0 => c.in_addr = off,
            1 => c.w_addr = off,
            2 => c.thr_addr = off,
            _ => c.out_addr = off,
        }
        let (m, _, _) = platform(&p);
        let mut fresh = Accelerator::open(m).unwrap();
        let from = fresh.platform().calls.len();
        let e = fresh.load(&bad);
        prop_assert!(
            matches!(e, Err(RuntimeError::AddressOutsideBuffer { .. } | RuntimeError::Unsupported { .. })),
            "load: {:?}", e.map(|_| ())
        );
        let calls = &fresh.platform().calls[from..];
        prop_assert!(calls.iter().all(|c| matches!(c, Call::Alloc(..))), "written before refusing: {calls:?}");
    }
}

//! Runtime tests on the recording mock: the protocol (what is written,
//! synced and started, in which order), the checks at open and load, and
//! recovery from timeouts and device errors.

use super::*;
use crate::compiler::compile;
use crate::cpu::QuantNet;
use crate::graph::Graph;
use crate::platform::mock::{Call, MockPlatform};
use std::sync::OnceLock;
use zynqflow_isa::ArrayConfig;

fn program() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| {
        let g = Graph::by_name("lmflownets", 64, 64).unwrap();
        let w = crate::weights::synth::synthesize(&g, 5);
        compile(&QuantNet::new(g, &w).unwrap(), &ArrayConfig::small().capabilities()).unwrap()
    })
}

fn frames() -> FTensor {
    FTensor::from_vec(64, 64, 6, (0..64 * 64 * 6).map(|i| (i % 256) as f32).collect())
}

/// A mock whose device finishes every run at once (or never, or with an error).
fn mock(behaviour: &'static str) -> MockPlatform {
    let mut m = MockPlatform::new(&ArrayConfig::small().capabilities());
    m.responder = Some(Box::new(move |off, val, regs_, _mem| {
        if off == regs::CTRL && val & regs::CTRL_START != 0 {
            match behaviour {
                "done" => {
                    regs_.insert(regs::STATUS, regs::STATUS_DONE);
                    return true;
                }
                "error" => {
                    regs_.insert(regs::STATUS, regs::STATUS_ERROR);
                    regs_.insert(regs::ERROR_CODE, ErrorCode::OutOfWindow.code());
                    regs_.insert(regs::ERROR_INDEX, 3);
                    return true;
                }
                _ => {}
            }
        }
        if off == regs::STATUS {
            let s = regs_.get(&regs::STATUS).copied().unwrap_or(0);
            regs_.insert(regs::STATUS, s & !val);
        }
        false
    }));
    m
}

#[test]
fn open_refuses_a_wrong_id_or_version_naming_both_values() {
    let mut m = mock("done");
    m.regs.insert(regs::ID, 0xdead_beef);
    let e = Accelerator::open(m).err().unwrap().to_string();
    assert!(e.contains("0xdeadbeef") && e.contains("0x5a464c57"), "{e}");
    let mut m = mock("done");
    m.regs.insert(regs::VERSION, 7 << 16);
    let e = Accelerator::open(m).err().unwrap().to_string();
    assert!(e.contains("7.0") && e.contains("needs 1.x"), "{e}");
}

#[test]
fn a_frame_is_written_synced_started_waited_synced_and_read_in_that_order() {
    let mut acc = Accelerator::open(mock("done")).unwrap();
    let loaded = acc.load(&program().image).unwrap();
    let start = acc.platform().calls.len();
    let flow = acc.run(&loaded, program(), &frames(), Duration::from_secs(1)).unwrap();
    assert_eq!((flow.h, flow.w, flow.c), (64, 64, 2));
    let calls = &acc.platform().calls[start..];
    let pos = |pred: &dyn Fn(&Call) -> bool| calls.iter().position(pred).expect("call present");
    let arena = loaded.arena.id;
    let write_in = pos(&|c| matches!(c, Call::Write(id, _, _) if *id == arena));
    let sync_in = pos(&|c| matches!(c, Call::SyncForDevice(id, _, _) if *id == arena));
    let start_w = pos(&|c| *c == Call::WriteReg(regs::CTRL, regs::CTRL_START));
    let wait = pos(&|c| matches!(c, Call::WaitIrq(Wait::Interrupt)));
    let sync_out = pos(&|c| matches!(c, Call::SyncForCpu(id, _, _) if *id == arena));
    let read_out = pos(&|c| matches!(c, Call::Read(id, _, _) if *id == arena));
    assert!(
        write_in < sync_in && sync_in < start_w && start_w < wait && wait < sync_out && sync_out < read_out,
        "{calls:?}"
    );
    // The list registers are programmed before the start, with owned addresses.
    let cmd_base = calls.iter().find_map(|c| match c {
        Call::WriteReg(o, v) if *o == regs::CMD_BASE => Some(*v),
        _ => None,
    });
    assert_eq!(cmd_base, Some(loaded.commands.bus_addr as u32));
    // The sync of the output covers exactly the raw output tensor.
    let (o_off, o_layout) = program().image.output;
    assert!(calls.contains(&Call::SyncForCpu(arena, o_off, o_layout.bytes())));
}

#[test]
fn a_timeout_soft_resets_and_the_next_run_succeeds() {
    let mut acc = Accelerator::open(mock("never")).unwrap();
    let loaded = acc.load(&program().image).unwrap();
    let t0 = Instant::now();
    let e = acc.run(&loaded, program(), &frames(), Duration::from_millis(50)).unwrap_err();
    let took = t0.elapsed();
    assert!(matches!(e, RuntimeError::Timeout { .. }), "{e}");
    assert!(took >= Duration::from_millis(50) && took < Duration::from_secs(2), "{took:?}");
    assert_eq!(
        acc.platform().calls.iter().rev().find(|c| matches!(c, Call::WriteReg(..))),
        Some(&Call::WriteReg(regs::CTRL, regs::CTRL_SOFT_RESET))
    );
    // The device recovers: the same accelerator runs the next frame.
    let m = acc.platform();
    let fresh = mock("done");
    m.responder = fresh.responder;
    assert!(acc.run(&loaded, program(), &frames(), Duration::from_secs(1)).is_ok());
}

#[test]
fn a_device_error_names_the_descriptor_and_layer() {
    let mut acc = Accelerator::open(mock("error")).unwrap();
    let loaded = acc.load(&program().image).unwrap();
    let e = acc.run(&loaded, program(), &frames(), Duration::from_secs(1)).unwrap_err().to_string();
    let layer = &program().image.commands[3].layer;
    assert!(e.contains("descriptor 3") && e.contains(layer.as_str()) && e.contains("OutOfWindow"), "{e}");
}

/// A change made to a compiled program before it is loaded.
type ProgramEdit = Box<dyn Fn(&mut Program)>;

/// A change made to one descriptor.
type DescriptorEdit = fn(&mut Descriptor);

#[test]
fn load_refuses_every_address_outside_the_buffer_that_owns_it() {
    let base = program();
    let last = base.image.commands.len() - 1;
    let tampered: Vec<(&str, ProgramEdit)> = vec![
        (
            "output past the arena",
            Box::new(|p: &mut Program| p.image.commands[1].desc.out_addr = p.image.arena_bytes as u32),
        ),
        (
            "input past the arena",
            Box::new(|p: &mut Program| p.image.commands[2].desc.in_addr = p.image.arena_bytes as u32 - 64),
        ),
        (
            "weights past their region",
            Box::new(|p: &mut Program| p.image.commands[0].desc.w_addr = p.image.weights.len() as u32),
        ),
        (
            "thresholds past their region",
            Box::new(move |p: &mut Program| {
                p.image.commands[last - 1].desc.thr_addr = p.image.weights.len() as u32 - 64
            }),
        ),
        ("address near 4 GiB", Box::new(|p: &mut Program| p.image.commands[0].desc.in_addr = 0xefff_0000)),
    ];
    for (what, f) in tampered {
        let mut p = base.clone();
        f(&mut p);
        let mut acc = Accelerator::open(mock("done")).unwrap();
        let e = acc.load(&p.image).expect_err(what);
        assert!(
            matches!(e, RuntimeError::AddressOutsideBuffer { .. } | RuntimeError::Unsupported { .. }),
            "{what}: {e}"
        );
        // Nothing reached the device: no command list written, no start.
        let calls = &acc.platform().calls;
        assert!(!calls.iter().any(|c| matches!(c, Call::Write(id, _, _) if *id == 2)), "{what}: command list written");
        assert!(!calls.contains(&Call::WriteReg(regs::CTRL, regs::CTRL_START)), "{what}");
    }
}

#[test]
fn ownership_check_compares_with_the_buffer_not_the_window() {
    let buf = DmaBuffer { id: 0, bus_addr: 0x1000, len: 0x100 };
    assert!(check_inside("l", "input", &(0x1000..0x1100), &buf).is_ok());
    assert!(check_inside("l", "input", &(0x10c0..0x1101), &buf).is_err());
    assert!(check_inside("l", "input", &(0xfc0..0x1000), &buf).is_err());
    assert!(check_inside("l", "thresholds", &(0..0), &buf).is_ok(), "raw mode reads no thresholds");
}

#[test]
fn frames_of_the_wrong_size_are_refused_before_anything_is_written() {
    let mut acc = Accelerator::open(mock("done")).unwrap();
    let loaded = acc.load(&program().image).unwrap();
    let n = acc.platform().calls.len();
    let bad = FTensor::zeros(32, 64, 6);
    assert!(matches!(acc.run(&loaded, program(), &bad, Duration::from_secs(1)), Err(RuntimeError::BadInput { .. })));
    assert_eq!(acc.platform().calls.len(), n);
}

#[test]
fn every_out_of_range_field_is_refused_at_load_with_its_code() {
    use zynqflow_isa::ErrorCode::*;
    let tamper: Vec<(ErrorCode, DescriptorEdit)> = vec![
        (BadOpcode, |d| d.opcode = 3),
        (ReservedBits, |d| d.a_out = 0),
        (BadBits, |d| d.w_bits = 9),
        (BadKernel, |d| d.kh = 8),
        // Packed taps on a kernel other than 2x2.
        (BadKernel, |d| d.pack_taps = 1),
        (BadStride, |d| d.stride = 3),
        (BadUpsample, |d| d.upsample = 3),
        (BadPadding, |d| d.pad_left = d.kw),
        (BadShape, |d| d.cin = 0),
        (BadPlacement, |d| d.out_off_y = 1),
        (Overflow, |d| {
            d.a_in = 8;
            d.w_bits = 8;
            d.kh = 7;
            d.kw = 7;
            d.pad_top = 0;
            d.pad_left = 0;
            d.cin = 4000;
            d.in_c_total = 4000;
        }),
        (Misaligned, |d| d.out_addr += 8),
    ];
    for (code, f) in tamper {
        let mut p = program().clone();
        // Descriptor 1 is a threshold-mode conv; for ReservedBits make it raw
        // with thresholds still set.
        if code == ReservedBits {
            p.image.commands[1].desc.mode = zynqflow_isa::MODE_RAW;
            p.image.commands[1].desc.a_out = 2;
        } else {
            f(&mut p.image.commands[1].desc);
        }
        let mut acc = Accelerator::open(mock("done")).unwrap();
        match acc.load(&p.image) {
            Err(RuntimeError::Unsupported { code: got, layer }) => {
                assert_eq!(got, code, "{layer}");
                assert_eq!(layer, p.image.commands[1].layer);
            }
            other => panic!("{code:?}: expected a refusal, got {other:?}"),
        }
        assert!(
            !acc.platform().calls.iter().any(|c| matches!(c, Call::Write(id, _, _) if *id == 2)),
            "{code:?}: list written"
        );
    }
}

#[test]
fn a_list_run_in_two_halves_with_execute_list_equals_the_whole_run() {
    use crate::model::ModelPlatform;
    let caps = ArrayConfig::small().capabilities();
    let p = program();
    let input = p.image.pack_input(crate::cpu::quant_net::input_codes(&frames()));
    let t = Duration::from_secs(60);
    let mut whole = Accelerator::open(ModelPlatform::new(caps)).unwrap();
    let lw = whole.load(&p.image).unwrap();
    let expect = whole.run_image(&lw, &input, t).unwrap();
    let mut split = Accelerator::open(ModelPlatform::new(caps)).unwrap();
    let ls = split.load(&p.image).unwrap();
    let bytes: Vec<u8> = input.data.iter().flat_map(|w| w.to_le_bytes()).collect();
    split.platform().write(&ls.arena, p.image.input.0, &bytes).unwrap();
    let k = ls.descriptors.len() / 2;
    let all: Vec<(usize, Descriptor)> = ls.descriptors.iter().copied().enumerate().collect();
    split.execute_list(&ls, &all[..k], t).unwrap();
    assert_eq!(split.counters().unwrap().commands as usize, k);
    split.execute_list(&ls, &all[k..], t).unwrap();
    let (o_off, o_layout) = p.image.output;
    let mut raw = vec![0u8; o_layout.bytes()];
    split.platform().read(&ls.arena, o_off, &mut raw).unwrap();
    let Output::Raw(e) = expect else { panic!("raw output") };
    let got: Vec<i32> = raw.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(got, e.data);
    // The loaded list was written back: the whole image still runs.
    assert_eq!(split.run_image(&ls, &input, t).unwrap(), Output::Raw(e));
}

#[test]
fn execute_list_refuses_a_descriptor_outside_its_buffers_before_starting() {
    let mut acc = Accelerator::open(mock("done")).unwrap();
    let l = acc.load(&program().image).unwrap();
    let mut d = l.descriptors[1];
    d.out_addr = (l.arena.bus_addr + l.arena.len as u64) as u32;
    let e = acc.execute_list(&l, &[(1, d)], Duration::from_secs(1)).expect_err("outside the arena");
    assert!(matches!(e, RuntimeError::AddressOutsideBuffer { .. } | RuntimeError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains(&program().image.commands[1].layer), "{e}");
    assert!(!acc.platform().calls.contains(&Call::WriteReg(regs::CTRL, regs::CTRL_START)));
}

//! The compiler: a quantized network ([`QuantNet`]) and the accelerator's
//! capabilities become a [`Program`] — packed weights and thresholds, an
//! activation memory plan, and the descriptor list — that runs the whole
//! network with one start and one interrupt per frame.
//!
//! What goes where:
//! - every convolution runs on the array ([`lower`]: space-to-depth is fused
//!   into the following conv; transposed convs become phase convs);
//! - a flow prediction that only feeds a sign split runs on the array in
//!   threshold mode with 8-bit outputs, the split done by its thresholds
//!   ([`split`]), so no flow goes back to the host mid-network;
//! - concatenations cost nothing: producers write at channel offsets of one
//!   tensor, and a consumer of a member reads it in place (`in_ch_off`);
//! - the host packs the input, and finishes the last (raw) flow prediction
//!   and the float steps after it (upsampling, scaling); when it pays, that
//!   prediction runs as a 1 × 1 convolution per kernel tap whose parts the
//!   host adds up ([`tap_split`]).
//!
//! Descriptor addresses in a [`Program`] are offsets: `in_addr`/`out_addr`
//! into the activation arena, `w_addr`/`thr_addr` into the weights region.
//! [`Program::link`] turns them into bus addresses.

pub mod im2col;
pub mod layer;
pub mod lower;
pub mod memplan;
pub mod plan_table;
pub mod split;
pub mod tap_split;

use crate::cpu::quant_net::{QuantNet, QuantOut};
use crate::graph::{ConvOutput, Graph, NodeId, Op, ValueKind};
use crate::quant::{QWeights, Thresholds};
use crate::tensor::{QTensor, RawTensor};
use memplan::Lifetime;
use std::ops::Range;
use zynqflow_isa::{
    validate, ActBits, ActLayout, Capabilities, Descriptor, ErrorCode, RawLayout, ADDRESS_ALIGN, MODE_RAW,
    MODE_THRESHOLD,
};

/// Why a network cannot be compiled for an accelerator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// The graph needs something the accelerator or the compiler cannot do.
    #[error("layer '{layer}': {reason}")]
    Unsupported {
        /// Layer.
        layer: String,
        /// Why.
        reason: String,
    },
    /// A descriptor fails the capability checks.
    #[error("layer '{layer}': the accelerator refuses its descriptor: {code}")]
    Refused {
        /// Layer.
        layer: String,
        /// The check that fails.
        code: ErrorCode,
    },
}

/// One descriptor and the graph layer it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Layer name (with the phase for transposed convs).
    pub layer: String,
    /// Graph node.
    pub node: NodeId,
    /// The descriptor, addresses as region offsets.
    pub desc: Descriptor,
}

/// Where a graph node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The host packs it into the arena (the frame pair).
    HostInput,
    /// Descriptors `range` of the list compute it.
    Accelerator(Range<usize>),
    /// Folded into another node's descriptors (space-to-depth, sign split).
    FusedInto(NodeId),
    /// A concatenation built in place by its producers.
    InPlace,
    /// Computed by the host after the list.
    Host,
}

/// The layout of a program's output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutLayout {
    /// Activation codes.
    Codes(ActLayout),
    /// Raw `i32` accumulators.
    Raw(RawLayout),
}

impl OutLayout {
    /// Bytes.
    pub fn bytes(&self) -> usize {
        match self {
            OutLayout::Codes(a) => a.bytes(),
            OutLayout::Raw(r) => r.bytes(),
        }
    }
}

/// What the accelerator executes: the descriptor list, the weights region
/// and the activation arena with the host's input and output in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The descriptor list, in execution order.
    pub commands: Vec<Command>,
    /// Weights and thresholds, uploaded once.
    pub weights: Vec<u8>,
    /// Bytes of activation memory.
    pub arena_bytes: usize,
    /// Arena offset and layout of the tensor the host writes.
    pub input: (usize, ActLayout),
    /// How the host packs the network's input into that tensor: `None`
    /// writes it as it is; `Some` packs the first layer's receptive fields
    /// into channels ([`im2col`]), the first layer then being a 1 × 1 conv.
    pub input_im2col: Option<im2col::Im2col>,
    /// Arena offset and layout of the tensor the host reads back.
    pub output: (usize, OutLayout),
    /// How the host turns that tensor into the last layer's accumulators:
    /// `None` takes it as it is; `Some` adds up the per-tap parts of a layer
    /// run split into taps ([`tap_split`]).
    pub output_taps: Option<tap_split::TapSplit>,
}

impl Image {
    /// Layout of the tensor the host starts from (the network's input, or a
    /// layer's): what [`Image::pack_input`] takes.
    pub fn source_layout(&self) -> ActLayout {
        self.input_im2col.map_or(self.input.1, |p| p.src)
    }

    /// The bytes' worth of codes the host writes for `t`, of
    /// [`Image::source_layout`]: `t` itself, or its im2col packing.
    pub fn pack_input(&self, t: QTensor) -> QTensor {
        match &self.input_im2col {
            Some(p) => p.pack(&t),
            None => t,
        }
    }

    /// The last layer's accumulators from the raw tensor the accelerator
    /// wrote (of `output`'s layout): the tensor itself, or its tap parts
    /// added up. The inverse step of [`Image::pack_input`] at the other end.
    pub fn finish_output(&self, raw: RawTensor) -> RawTensor {
        match &self.output_taps {
            Some(s) => s.fold(&raw),
            None => raw,
        }
    }

    /// The descriptors with bus addresses, for an arena at `arena_base` and
    /// the weights at `weights_base`. Fails, naming the layer and the address,
    /// if an address does not fit the accelerator's 32-bit bus addresses.
    pub fn link(&self, arena_base: u64, weights_base: u64) -> Result<Vec<Descriptor>, (String, u64)> {
        self.commands
            .iter()
            .map(|c| {
                let rel = |base: u64, off: u32| {
                    let a = base + u64::from(off);
                    u32::try_from(a).map_err(|_| (c.layer.clone(), a))
                };
                let mut d = c.desc;
                d.in_addr = rel(arena_base, d.in_addr)?;
                d.out_addr = rel(arena_base, d.out_addr)?;
                d.w_addr = rel(weights_base, d.w_addr)?;
                if d.mode == MODE_THRESHOLD {
                    d.thr_addr = rel(weights_base, d.thr_addr)?;
                }
                Ok(d)
            })
            .collect()
    }

    /// Multiply-accumulates of the descriptor list.
    pub fn macs(&self) -> u64 {
        let d = |c: &Command| {
            let d = &c.desc;
            u64::from(d.out_h) * u64::from(d.out_w) * u64::from(d.cout) * u64::from(d.kh * d.kw) * u64::from(d.cin)
        };
        self.commands.iter().map(d).sum()
    }

    /// Validates every descriptor against `caps`, with the arena and the
    /// weights at two disjoint stand-in bases.
    pub fn check(&self, caps: &Capabilities) -> Result<(), CompileError> {
        let (arena, wts) = (0x1000_0000u64, 0x8000_0000u64);
        let window = arena..wts + self.weights.len() as u64;
        let linked = self
            .link(arena, wts)
            .map_err(|(layer, _)| CompileError::Refused { layer, code: ErrorCode::OutOfWindow })?;
        for (c, d) in self.commands.iter().zip(linked) {
            validate(&d, caps, &window).map_err(|code| CompileError::Refused { layer: c.layer.clone(), code })?;
        }
        Ok(())
    }
}

/// A compiled network: the accelerator's image and what the host does
/// around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The graph.
    pub graph: Graph,
    /// What the accelerator runs; its output is the raw flow prediction.
    pub image: Image,
    /// The raw flow prediction's node.
    pub output_node: NodeId,
    /// Real value of one accumulator unit per flow channel.
    pub flow_scale: Vec<f64>,
    /// Bias per flow channel.
    pub flow_bias: Vec<f32>,
    /// Host float steps after the output, in order.
    pub epilogue: Vec<NodeId>,
    /// Where each graph node runs.
    pub placement: Vec<Placement>,
    /// Per graph node: arena offset of the tensor holding its value and the
    /// channel offset of the value in it, if it lives in the arena.
    pub tensors: Vec<Option<(usize, usize)>>,
}

/// A tensor of the arena.
struct Tensor {
    layout: Result<ActLayout, RawLayout>,
    life: Option<(usize, usize)>,
}

impl Tensor {
    fn bytes(&self) -> usize {
        match &self.layout {
            Ok(a) => a.bytes(),
            Err(r) => r.bytes(),
        }
    }

    fn touch(&mut self, i: usize) {
        self.life = Some(self.life.map_or((i, i), |(b, d)| (b.min(i), d.max(i))));
    }
}

fn unsupported(g: &Graph, id: NodeId, reason: impl Into<String>) -> CompileError {
    CompileError::Unsupported { layer: g.nodes[id].name.clone(), reason: reason.into() }
}

/// Compiles `net` for an accelerator with capabilities `caps`.
pub fn compile(net: &QuantNet, caps: &Capabilities) -> Result<Program, CompileError> {
    let g = &net.graph;
    let n = g.nodes.len();
    let mut consumers: Vec<Vec<NodeId>> = vec![vec![]; n];
    for (i, node) in g.nodes.iter().enumerate() {
        for s in node.op.inputs() {
            consumers[s].push(i);
        }
    }
    let mut placement = vec![Placement::Host; n];
    // Flow predictions whose only consumer is a sign split run fused with it.
    let mut split_of: Vec<Option<NodeId>> = vec![None; n];
    let mut output: Option<NodeId> = None;
    for (_, node, c) in g.convs() {
        let id = g.find(&node.name).expect("own node");
        if c.output != ConvOutput::Flow {
            continue;
        }
        match consumers[id].as_slice() {
            [s] if matches!(g.nodes[*s].op, Op::SignSplit { .. }) => {
                split_of[id] = Some(*s);
                placement[*s] = Placement::FusedInto(id);
            }
            _ if output.is_none() => output = Some(id),
            _ => return Err(unsupported(g, id, "a second raw flow prediction would need the host mid-list")),
        }
    }
    let output = output.ok_or_else(|| unsupported(g, g.output, "no raw flow prediction feeds the output"))?;
    // A fused split read only by an upsampled conv with multi-bit weights is
    // written in copies, so that conv runs as phase convs of fewer taps
    // ([`lower::upsampled_phases`]), while the copies fit one channel group.
    let mut copies_of = vec![1usize; n];
    for (s, p) in placement.iter().enumerate() {
        let Placement::FusedInto(_) = p else { continue };
        let [u] = consumers[s].as_slice() else { continue };
        let Op::Conv(cu) = &g.nodes[*u].op else { continue };
        let multi_bit = net.layers[*u].as_ref().is_some_and(|l| l.weights.weights.layout.bits.bits() >= 2);
        let geom = &cu.geom;
        if multi_bit && geom.upsample > 1 && geom.stride == 1 && !geom.transposed {
            if let Some(k) = lower::upsample_copies(geom).filter(|&k| k > 1 && k * g.nodes[s].shape.c <= 64) {
                copies_of[s] = k;
            }
        }
    }
    let mut epilogue = Vec::new();
    let mut cur = output;
    while cur != g.output {
        match consumers[cur].as_slice() {
            [next] if matches!(g.nodes[*next].op, Op::Upsample { .. } | Op::Scale { .. }) => {
                epilogue.push(*next);
                cur = *next;
            }
            _ => return Err(unsupported(g, cur, "only upsampling and scaling may follow the raw flow prediction")),
        }
    }

    // Tensors and where each node's value lives: (tensor, channel offset).
    let mut tensors: Vec<Tensor> = Vec::new();
    let mut loc: Vec<Option<(usize, usize)>> = vec![None; n];
    let act_layout = |id: NodeId| -> ActLayout {
        let node = &g.nodes[id];
        let ValueKind::Codes { bits, .. } = node.kind else { unreachable!("codes") };
        ActLayout::new(node.shape.h, node.shape.w, node.shape.c, bits).expect("non-zero")
    };
    for (id, node) in g.nodes.iter().enumerate() {
        match &node.op {
            Op::Input => {
                tensors.push(Tensor { layout: Ok(act_layout(id)), life: Some((0, 0)) });
                loc[id] = Some((tensors.len() - 1, 0));
                placement[id] = Placement::HostInput;
            }
            Op::Concat(members) => {
                tensors.push(Tensor { layout: Ok(act_layout(id)), life: None });
                let t = tensors.len() - 1;
                loc[id] = Some((t, 0));
                placement[id] = Placement::InPlace;
                let mut off = 0;
                for &m in members {
                    if loc[m].is_some() || !matches!(g.nodes[m].op, Op::Conv(_) | Op::SignSplit { .. }) {
                        return Err(unsupported(g, m, "a concatenation member must be computed straight into it"));
                    }
                    loc[m] = Some((t, off));
                    off += g.nodes[m].shape.c;
                }
            }
            _ => {}
        }
    }
    // Everything else that holds codes gets its own tensor (members of a
    // concatenation were given theirs above; later nodes never come first).
    for (id, node) in g.nodes.iter().enumerate() {
        let owned = match &node.op {
            Op::Conv(c) => c.output != ConvOutput::Flow,
            Op::SignSplit { .. } => true,
            _ => false,
        };
        if owned && loc[id].is_none() {
            let a = act_layout(id);
            let a = ActLayout::new(a.height, a.width, a.channels * copies_of[id], a.bits).expect("non-zero");
            tensors.push(Tensor { layout: Ok(a), life: None });
            loc[id] = Some((tensors.len() - 1, 0));
        }
    }
    let out_shape = g.nodes[output].shape;
    tensors.push(Tensor {
        layout: Err(RawLayout { height: out_shape.h, width: out_shape.w, channels: out_shape.c }),
        life: None,
    });
    let out_tensor = tensors.len() - 1;
    loc[output] = Some((out_tensor, 0));

    // Descriptors.
    let mut weights: Vec<u8> = Vec::new();
    let mut commands: Vec<Command> = Vec::new();
    let mut desc_tensors: Vec<(usize, usize)> = Vec::new(); // (input tensor, output tensor) per command
    let mut input_im2col: Option<im2col::Im2col> = None;
    let mut output_taps: Option<tap_split::TapSplit> = None;
    for (id, node) in g.nodes.iter().enumerate() {
        let Op::Conv(c) = &node.op else {
            if let Op::SpaceToDepth { .. } = node.op {
                if !consumers[id].iter().all(|&u| matches!(g.nodes[u].op, Op::Conv(_))) {
                    return Err(unsupported(g, id, "space-to-depth must feed convolutions"));
                }
                placement[id] = Placement::FusedInto(consumers[id][0]);
            }
            continue;
        };
        let layer = net.layers[id].as_ref().expect("prepared conv");
        let (src, s2d) = match g.nodes[c.src].op {
            Op::SpaceToDepth { src } => (src, true),
            _ => (c.src, false),
        };
        let (t_in, in_off) = loc[src].ok_or_else(|| unsupported(g, id, "input has no tensor"))?;
        let cin = g.nodes[src].shape.c;
        let out_node = split_of[id].unwrap_or(id);
        let (t_out, ch_off) = loc[out_node].expect("every output has a tensor");
        let ValueKind::Codes { bits: a_in, .. } = g.nodes[src].kind else { unreachable!() };
        let qw = &layer.weights.weights;
        let wl = qw.layout;
        // The weights and output stage actually run.
        let mut copies_log2 = 0;
        let (run_w, mode, thresholds): (QWeights, u32, Option<Thresholds>) = match (&layer.out, split_of[id]) {
            (QuantOut::Thresholds(t), _) => (qw.clone(), MODE_THRESHOLD, Some(t.clone())),
            (QuantOut::Flow { scale, bias }, Some(s)) => {
                let Op::SignSplit { bits, step, .. } = g.nodes[s].op else { unreachable!() };
                // [+, −] for every channel, in as many copies as the split's
                // reader needs: written by the descriptor's copies when they fit
                // one pass of the array's rows (computed and thresholded once),
                // else computed as channels of their own.
                let ints = qw.to_ints();
                let copies = copies_of[s];
                let mut n_out = 2 * copies;
                if copies.is_power_of_two() && copies <= 8 && n_out * wl.cout <= usize::from(caps.rows) {
                    copies_log2 = copies.trailing_zeros();
                    n_out = 2;
                }
                let repeated: Vec<i8> = (0..n_out).flat_map(|_| ints.iter().copied()).collect();
                let w2 = QWeights::from_ints(n_out * wl.cout, wl.kh, wl.kw, wl.cin, wl.bits, &repeated);
                let bound = worst_case(&wl, a_in);
                let chans: Vec<_> = (0..n_out * wl.cout)
                    .map(|k| {
                        let (co, negative) = (k % wl.cout, (k / wl.cout) % 2 == 1);
                        split::split_channel(scale[co], bias[co], bits, step, negative, -bound, bound)
                    })
                    .collect();
                (w2, MODE_THRESHOLD, Some(Thresholds::from_channels(bits, &chans)))
            }
            (QuantOut::Flow { .. }, None) => (qw.clone(), MODE_RAW, None),
        };
        let (oh, ow) = (node.shape.h, node.shape.w);
        let copies = copies_of[src];
        let mut phases = if copies > 1 {
            lower::upsampled_phases(&c.geom, &run_w, copies, oh, ow)
        } else {
            lower::lower(&c.geom, s2d, &run_w, cin, oh, ow)
        }
        .map_err(|r| unsupported(g, id, r))?;
        // The network's input read by this conv alone: the host packs its
        // receptive fields into channels and the conv becomes 1 × 1.
        let mut cin = cin * copies;
        let mut pack_planes = false;
        let sole_reader = match consumers[src].as_slice() {
            [only] if *only == id => true,
            [only] => s2d && consumers[*only].as_slice() == [id],
            _ => false,
        };
        if g.nodes[src].op == Op::Input && sole_reader && phases.len() == 1 && in_off == 0 {
            let p = &phases[0];
            let packing = im2col::Im2col {
                src: tensors[t_in].layout.expect("inputs are codes"),
                kh: p.kh,
                kw: p.kw,
                stride: p.stride,
                pad_top: p.pad_top,
                pad_left: p.pad_left,
                out_h: p.out_h,
                out_w: p.out_w,
                planes: false,
            };
            if p.upsample == 1 && p.out_stride == 1 && packing.src.channels == cin && packing.pays_off() {
                let packing = packing.with_planes(run_w.layout.bits);
                tensors[t_in].layout = Ok(packing.layout());
                input_im2col = Some(packing);
                cin = packing.channels();
                pack_planes = packing.planes;
                let ints = packing.pack_weights(&phases[0].ints, run_w.layout.cout, run_w.layout.bits);
                phases[0] =
                    lower::PhaseConv { kh: 1, kw: 1, stride: 1, pad_top: 0, pad_left: 0, ints, ..phases[0].clone() };
            }
        }
        // The last raw layer, if splitting it into taps saves passes: a 1 x 1
        // conv per (tap, channel) over every input pixel, summed by the host.
        let mut cout = run_w.layout.cout;
        if id == output && mode == MODE_RAW && phases.len() == 1 {
            let p = &phases[0];
            let src_layout = tensors[t_in].layout.expect("inputs are codes");
            let split = tap_split::TapSplit {
                kh: p.kh,
                kw: p.kw,
                pad_top: p.pad_top,
                pad_left: p.pad_left,
                cout,
                in_h: src_layout.height,
                in_w: src_layout.width,
                out_h: p.out_h,
                out_w: p.out_w,
            };
            if p.stride == 1 && p.upsample == 1 && p.out_stride == 1 && split.pays_off(usize::from(caps.rows)) {
                let ints = split.weights(&p.ints, cin);
                phases[0] = lower::PhaseConv {
                    kh: 1,
                    kw: 1,
                    pad_top: 0,
                    pad_left: 0,
                    out_h: split.in_h,
                    out_w: split.in_w,
                    ints,
                    ..phases[0].clone()
                };
                tensors[out_tensor].layout = Err(split.device_layout());
                cout = split.channels();
                output_taps = Some(split);
            }
        }
        let thr_off = thresholds.as_ref().map(|t| push_aligned(&mut weights, &i32_bytes(&t.data)));
        let first = commands.len();
        let a_out = match mode {
            MODE_RAW => 0,
            _ => thresholds.as_ref().map_or(0, |t| t.out_bits().bits() as u32),
        };
        let dst = &tensors[t_out].layout;
        let (dst_h, dst_w, dst_c) = match dst {
            Ok(a) => (a.height, a.width, a.channels),
            Err(r) => (r.height, r.width, r.channels),
        };
        let frame = lower::LayerFrame {
            mode,
            a_out,
            thr_addr: thr_off.unwrap_or(0) as u32,
            in_addr: 0,
            out_addr: 0,
            input: tensors[t_in].layout.expect("inputs are codes"),
            in_ch_off: in_off,
            cin,
            cout,
            dst: (dst_h, dst_w, dst_c),
            ch_off,
            copies_log2,
            pack_planes,
        };
        for (p, desc) in phases.iter().zip(lower::emit(&phases, &frame, wl.bits, &mut weights)) {
            let name = if phases.len() > 1 {
                format!("{}[{},{}]", node.name, p.out_off_y, p.out_off_x)
            } else {
                node.name.clone()
            };
            commands.push(Command { layer: name, node: id, desc });
            desc_tensors.push((t_in, t_out));
        }
        placement[id] = Placement::Accelerator(first..commands.len());
    }
    let nd = commands.len();
    for (i, &(ti, to)) in desc_tensors.iter().enumerate() {
        tensors[ti].touch(i);
        tensors[to].touch(i);
    }
    tensors[out_tensor].touch(nd);
    let lifetimes: Vec<Lifetime> = tensors
        .iter()
        .map(|t| {
            let (birth, death) = t.life.unwrap_or((0, 0));
            Lifetime { bytes: t.bytes(), birth, death }
        })
        .collect();
    let (offsets, arena_bytes) = memplan::plan(&lifetimes);
    for (c, &(ti, to)) in commands.iter_mut().zip(&desc_tensors) {
        c.desc.in_addr = offsets[ti] as u32;
        c.desc.out_addr = offsets[to] as u32;
    }
    let node_tensors = loc.iter().map(|l| l.map(|(t, off)| (offsets[t], off))).collect();
    let QuantOut::Flow { scale, bias } = &net.layers[output].as_ref().expect("conv").out else { unreachable!() };
    let Err(out_layout) = tensors[out_tensor].layout else { unreachable!("raw") };
    let image = Image {
        commands,
        weights,
        arena_bytes,
        input: (offsets[0], tensors[0].layout.expect("codes")),
        input_im2col,
        output: (offsets[out_tensor], OutLayout::Raw(out_layout)),
        output_taps,
    };
    image.check(caps)?;
    Ok(Program {
        graph: g.clone(),
        image,
        output_node: output,
        flow_scale: scale.clone(),
        flow_bias: bias.clone(),
        epilogue,
        placement,
        tensors: node_tensors,
    })
}

/// The largest |accumulator| a layer can reach.
fn worst_case(w: &zynqflow_isa::WeightLayout, a_in: ActBits) -> i64 {
    let wmax = i64::from(w.bits.min_value().abs().max(w.bits.max_value()));
    (w.kh * w.kw * w.cin) as i64 * i64::from(a_in.max_code()) * wmax
}

pub(crate) fn push_aligned(buf: &mut Vec<u8>, bytes: &[u8]) -> usize {
    let off = buf.len().div_ceil(ADDRESS_ALIGN as usize) * ADDRESS_ALIGN as usize;
    buf.resize(off, 0);
    buf.extend_from_slice(bytes);
    off
}

fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|w| w.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::synth::synthesize;
    use zynqflow_isa::ArrayConfig;

    #[test]
    fn both_networks_compile_with_every_conv_on_the_array() {
        for (net, config) in [
            ("lmflownets", ArrayConfig::small()),
            ("lmflownets", ArrayConfig::pynq_z2()),
            ("flownets", ArrayConfig::small()),
        ] {
            let g = Graph::by_name(net, 128, 192).unwrap();
            let w = synthesize(&g, 1);
            let q = QuantNet::new(g.clone(), &w).unwrap();
            let p = compile(&q, &config.capabilities()).unwrap();
            // Every MAC of the graph runs on the array, some more than once:
            // fused flow predictions compute their channels once per sign and,
            // where the copies do not fit one pass of the array's rows (8 on
            // `small`, 16 on `pynq-z2`), per copy their reader needs (4 for
            // LmFlowNetS's nearest x2 + 3x3 read as 2x2 phases, whose 4 taps
            // over 4 copies of 4 channels are 64 MACs per output where the
            // graph counts 9 taps x 4 channels); where they fit, the
            // descriptor writes the copies (`copies_log2`).
            let copies = if net == "lmflownets" { 4 } else { 1 };
            let written = if config.rows >= 16 { copies } else { 1 };
            let net = format!("{net} on {}", config.name);
            let split_src =
                |i: NodeId| g.nodes.iter().position(|n| matches!(n.op, Op::SignSplit { src, .. } if src == i));
            let mut extra = 0u64;
            for (id, node) in g.nodes.iter().enumerate() {
                let Op::Conv(c) = &node.op else { continue };
                let desc: u64 = p
                    .image
                    .commands
                    .iter()
                    .filter(|c| c.node == id)
                    .map(|c| {
                        let d = &c.desc;
                        u64::from(d.out_h * d.out_w * d.cout) * u64::from(d.kh * d.kw * d.unpacked_cin())
                    })
                    .sum();
                let graph = g.macs(id);
                if split_src(id).is_some() {
                    assert_eq!(desc * written, graph * 2 * copies, "{net} {}", node.name);
                    for c in p.image.commands.iter().filter(|c| c.node == id) {
                        assert_eq!(1 << c.desc.copies_log2, written, "{net} {}", node.name);
                    }
                } else if matches!(g.nodes[c.src].op, Op::SignSplit { .. }) && copies > 1 {
                    assert_eq!(desc * 9, graph * 16, "{net} {}", node.name);
                } else {
                    assert_eq!(desc, graph, "{net} {}", node.name);
                }
                extra += desc - graph;
            }
            assert!(extra > 0, "{net}: the fused predictions compute more than the graph");
            // Every 2x2 conv over at most 16 channels packs its taps (the
            // upsampled flows: LmFlowNetS's 2x2 phases over 4 copies of 4
            // channels, FlowNetS's transposed 4x4/2 phases over 4 channels).
            let mut packed = 0;
            for c in &p.image.commands {
                let d = &c.desc;
                let packable = Descriptor::can_pack_taps(d.kh, d.kw, d.cin);
                assert_eq!(d.pack_taps == 1, packable, "{net} {}", c.layer);
                packed += usize::from(packable);
            }
            assert_eq!(packed, 16, "{net}: 4 phases of 4 upsampled flows");
            // The descriptors' MACs (PERF_MACS) count packed planes' lanes too.
            let unpacked: u64 = p
                .image
                .commands
                .iter()
                .map(|c| {
                    let d = &c.desc;
                    u64::from(d.out_h * d.out_w * d.cout) * u64::from(d.kh * d.kw * d.unpacked_cin())
                })
                .sum();
            assert_eq!(unpacked, g.total_macs() + extra, "{net}");
            assert!(p.image.macs() >= unpacked, "{net}");
            for (id, node) in g.nodes.iter().enumerate() {
                if let Op::Conv(_) = node.op {
                    assert!(matches!(p.placement[id], Placement::Accelerator(_)), "{net} {}", node.name);
                }
            }
            // The input's receptive fields are packed by the host: the
            // first conv is 1x1 over kh*kw*6 channels (6x6/2 and 7x7/2).
            let packing = p.image.input_im2col.expect("the first layer is packed");
            let first = &p.image.commands[0].desc;
            let k = if net.starts_with("lmflownets") { 6 } else { 7 };
            assert_eq!((packing.kh, packing.kw, packing.stride, packing.src.channels), (k, k, 2, 6), "{net}");
            assert_eq!(
                (first.kh, first.kw, first.stride, first.unpacked_cin()),
                (1, 1, 1, (k * k * 6) as u32),
                "{net}"
            );
            // LmFlowNetS's 216 channels leave 24 in the last group, 8-bit
            // codes and weights: packed planes (FlowNetS's 294 leave 38).
            assert_eq!(first.pack_planes == 1, k == 6, "{net}");
            assert_eq!(first.cin as usize, packing.channels(), "{net}");
            assert_eq!(p.image.input.1, packing.layout());
            let host: Vec<&str> = g
                .nodes
                .iter()
                .zip(&p.placement)
                .filter(|(_, pl)| **pl == Placement::Host)
                .map(|(n, _)| n.name.as_str())
                .collect();
            assert_eq!(host, ["flow_upsample", "flow"], "{net}");
            let table = plan_table::render(&p);
            if net.starts_with("lmflownets") {
                assert!(table.contains("into conv2"), "{table}");
            } else {
                assert!(table.contains("4 phases of 2x2/1"), "{table}");
            }
        }
    }

    #[test]
    fn no_layer_of_either_network_can_overflow_the_accumulator() {
        // Compiling validates each descriptor's worst case against 32-bit
        // accumulators; here the worst case is also computed and bounded.
        let mut widest = 0u32;
        for net in ["lmflownets", "flownets"] {
            let g = Graph::by_name(net, 384, 512).unwrap();
            let w = synthesize(&g, 1);
            let p = compile(&QuantNet::new(g, &w).unwrap(), &ArrayConfig::pynq_z2().capabilities()).unwrap();
            for c in &p.image.commands {
                let d = &c.desc;
                let wb = zynqflow_isa::WeightBits::new(d.w_bits).unwrap();
                let wmax = u64::from(wb.min_value().unsigned_abs().max(wb.max_value().unsigned_abs()));
                let worst = u64::from(d.kh * d.kw * d.cin) * ((1u64 << d.a_in) - 1) * wmax;
                widest = widest.max(64 - worst.leading_zeros() + 1);
            }
        }
        // FlowNetS predict_flow5: 3*3*1026 * 15 * 128 < 2^25, plus the sign bit.
        assert_eq!(widest, 26);
    }
}

//! Network graphs as data: nodes in topological order, each with its inferred
//! shape and the kind of value it holds (quantized codes or float).
//!
//! A graph is built by [`GraphBuilder`], which infers and checks every shape
//! as nodes are added; [`Graph::validate`] re-checks a finished graph. The two
//! networks of the project live in [`lmflownets`] and [`flownets`]; the
//! per-layer table printed by `zynqflow net` is [`table`].

pub mod flownets;
pub mod lmflownets;
pub mod table;

use crate::cpu::ConvGeom;
use std::fmt;
use zynqflow_isa::{ActBits, WeightBits};

/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// Real value of one step of the `A`-bit activation quantizer: codes
/// `0..2^A−1` cover `[0, ACT_MAX]` (Blueoil's `linear_mid_tread_half`, max 2.0).
pub const ACT_MAX: f32 = 2.0;

/// Flow predictions are made in units of `1/FLOW_DIV` pixels (FlowNetS's
/// `div_flow`); the host multiplies the final prediction by it.
pub const FLOW_DIV: f32 = 20.0;

/// Step of a hidden activation of `bits` bits.
pub fn act_step(bits: ActBits) -> f32 {
    ACT_MAX / bits.max_code() as f32
}

/// Height, width and channels of a node's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.h, self.w, self.c)
    }
}

/// What a node's value is in the quantized network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueKind {
    /// Unsigned codes of `bits` bits; real value = code × `step`.
    Codes {
        /// Code width.
        bits: ActBits,
        /// Real value of one code step.
        step: f32,
    },
    /// Float values computed on the host.
    Float,
}

/// What a convolution's output is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConvOutput {
    /// Batch-norm, then the activation quantizer to `bits`-bit codes
    /// (threshold mode on the accelerator). Float path: clip to `[0, ACT_MAX]`.
    Activation {
        /// Output code width.
        bits: ActBits,
    },
    /// A flow prediction: accumulators plus bias, in float (raw mode on the
    /// accelerator; the host scales and adds the bias).
    Flow,
}

/// A convolution layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// Input node.
    pub src: NodeId,
    /// Kernel, stride, padding, upsampling, transposition.
    pub geom: ConvGeom,
    /// Output channels.
    pub cout: usize,
    /// Weight width in the quantized network.
    pub weight_bits: WeightBits,
    /// Output kind.
    pub output: ConvOutput,
}

/// One operation of the graph.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The frame pair: 6 channels (RGB of frame 1, RGB of frame 2) of 8-bit
    /// pixel codes; real value = code / 255.
    Input,
    /// Space-to-depth by 2: output channel `(dy·2 + dx)·C + c` at (y, x) is
    /// input channel `c` at (2y + dy, 2x + dx).
    SpaceToDepth {
        /// Input node.
        src: NodeId,
    },
    /// A convolution.
    Conv(Conv),
    /// Channel concatenation, in order.
    Concat(Vec<NodeId>),
    /// Host step: a float flow `f` becomes `[relu(f), relu(−f)]` (2C channels)
    /// quantized to `bits`-bit codes of `step`, so that a signed value feeds an
    /// unsigned-activation convolution exactly; a kernel `K` trained on `f`
    /// maps to `[K, −K]` on the split.
    SignSplit {
        /// Input node (float).
        src: NodeId,
        /// Code width.
        bits: ActBits,
        /// Real value of one code.
        step: f32,
    },
    /// Host step: nearest-neighbour upsampling of a float tensor.
    Upsample {
        /// Input node (float).
        src: NodeId,
        /// Factor (2 or 4).
        factor: usize,
    },
    /// Host step: multiply a float tensor by a constant.
    Scale {
        /// Input node (float).
        src: NodeId,
        /// Factor.
        factor: f32,
    },
}

impl Op {
    /// The nodes this operation reads.
    pub fn inputs(&self) -> Vec<NodeId> {
        match self {
            Op::Input => vec![],
            Op::SpaceToDepth { src } | Op::SignSplit { src, .. } | Op::Upsample { src, .. } | Op::Scale { src, .. } => {
                vec![*src]
            }
            Op::Conv(c) => vec![c.src],
            Op::Concat(v) => v.clone(),
        }
    }
}

/// One node: a named operation with its inferred output.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Layer name (also the weight-name prefix for convolutions).
    pub name: String,
    /// Operation.
    pub op: Op,
    /// Output shape.
    pub shape: Shape,
    /// Output kind in the quantized network.
    pub kind: ValueKind,
}

/// A whole network at one resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Network name (`lmflownets`, `flownets`).
    pub name: String,
    /// Nodes in topological order; node 0 is the input.
    pub nodes: Vec<Node>,
    /// The node holding the final flow (2 channels, full resolution, pixels).
    pub output: NodeId,
}

/// A graph that cannot be built as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// Input size not usable.
    #[error("size {h}x{w} is not a positive multiple of 64 in both dimensions")]
    BadSize {
        /// Rows asked for.
        h: usize,
        /// Columns asked for.
        w: usize,
    },
    /// Input size beyond [`MAX_SIDE`] in a dimension.
    #[error("size {h}x{w} is too large (at most {MAX_SIDE} in each dimension)")]
    TooLarge {
        /// Rows asked for.
        h: usize,
        /// Columns asked for.
        w: usize,
    },
    /// Network name not known.
    #[error("unknown network '{0}' (known: lmflownets, flownets)")]
    UnknownNet(String),
    /// A shape or kind mismatch while building or validating.
    #[error("layer '{layer}': {problem}")]
    Shape {
        /// Layer name.
        layer: String,
        /// What is wrong.
        problem: String,
    },
}

impl Graph {
    /// Builds a network by name at `h × w`.
    pub fn by_name(name: &str, h: usize, w: usize) -> Result<Graph, GraphError> {
        match name {
            "lmflownets" => lmflownets::build(h, w),
            "flownets" => flownets::build(h, w),
            other => Err(GraphError::UnknownNet(other.to_string())),
        }
    }

    /// Input (h, w).
    pub fn input_size(&self) -> (usize, usize) {
        (self.nodes[0].shape.h, self.nodes[0].shape.w)
    }

    /// Multiply-accumulates of a node (0 for anything but a convolution).
    /// A transposed convolution counts only the products it really forms:
    /// `out pixels × (k/stride)² × Cin × Cout`.
    pub fn macs(&self, id: NodeId) -> u64 {
        let n = &self.nodes[id];
        match &n.op {
            Op::Conv(c) => {
                let cin = self.nodes[c.src].shape.c as u64;
                let taps = if c.geom.transposed {
                    (c.geom.kh / c.geom.stride * (c.geom.kw / c.geom.stride)) as u64
                } else {
                    (c.geom.kh * c.geom.kw) as u64
                };
                n.shape.h as u64 * n.shape.w as u64 * taps * cin * c.cout as u64
            }
            _ => 0,
        }
    }

    /// Total multiply-accumulates of the network.
    pub fn total_macs(&self) -> u64 {
        (0..self.nodes.len()).map(|i| self.macs(i)).sum()
    }

    /// Number of weights and biases of the float network.
    pub fn parameters(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| match &n.op {
                Op::Conv(c) => {
                    let cin = self.nodes[c.src].shape.c as u64;
                    let w = (c.geom.kh * c.geom.kw) as u64 * cin * c.cout as u64;
                    let extra = match c.output {
                        ConvOutput::Activation { .. } => 4 * c.cout as u64, // batch-norm
                        ConvOutput::Flow => c.cout as u64,                  // bias
                    };
                    w + extra
                }
                _ => 0,
            })
            .sum()
    }

    /// Index of the node called `name`.
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The convolution layers, in order.
    pub fn convs(&self) -> impl Iterator<Item = (NodeId, &Node, &Conv)> {
        self.nodes.iter().enumerate().filter_map(|(i, n)| match &n.op {
            Op::Conv(c) => Some((i, n, c)),
            _ => None,
        })
    }

    /// Re-derives every node's shape and kind from its inputs and checks that
    /// they match what is stored, that inputs come before their users, and that
    /// the output is a 2-channel float at the input resolution.
    pub fn validate(&self) -> Result<(), GraphError> {
        let mut b = GraphBuilder { name: self.name.clone(), nodes: vec![] };
        for (i, n) in self.nodes.iter().enumerate() {
            if i == 0 {
                if n.op != Op::Input {
                    return Err(shape_err(&n.name, "node 0 must be the input".into()));
                }
                b.nodes.push(n.clone());
                continue;
            }
            if let Some(&bad) = n.op.inputs().iter().find(|&&s| s >= i) {
                return Err(shape_err(&n.name, format!("reads node {bad}, which does not come before it")));
            }
            let (shape, kind) = b.infer(&n.name, &n.op)?;
            if shape != n.shape || kind != n.kind {
                return Err(shape_err(&n.name, format!("stored {} {:?}, inferred {shape} {kind:?}", n.shape, n.kind)));
            }
            b.nodes.push(n.clone());
        }
        let out = &self.nodes[self.output];
        let (h, w) = self.input_size();
        if out.shape != (Shape { h, w, c: 2 }) || out.kind != ValueKind::Float {
            return Err(shape_err(&out.name, format!("output is {} {:?}, not {h}x{w}x2 float", out.shape, out.kind)));
        }
        Ok(())
    }
}

fn shape_err(layer: &str, problem: String) -> GraphError {
    GraphError::Shape { layer: layer.to_string(), problem }
}

/// Largest input side, rows or columns, a graph is built for: 8192 (a 4K
/// frame is 3840 wide) keeps every shape, MAC count and buffer size far from
/// overflow, and refuses a mistyped `--size` before it allocates terabytes.
pub const MAX_SIDE: usize = 8192;

/// Checks a requested input size: positive multiples of 64 (six stride-2
/// stages), at most [`MAX_SIDE`].
pub fn check_size(h: usize, w: usize) -> Result<(), GraphError> {
    if h == 0 || w == 0 || !h.is_multiple_of(64) || !w.is_multiple_of(64) {
        return Err(GraphError::BadSize { h, w });
    }
    if h > MAX_SIDE || w > MAX_SIDE {
        return Err(GraphError::TooLarge { h, w });
    }
    Ok(())
}

/// Builds a graph node by node, inferring and checking shapes.
#[derive(Debug)]
pub struct GraphBuilder {
    name: String,
    nodes: Vec<Node>,
}

impl GraphBuilder {
    /// Starts a graph whose input is an `h × w` frame pair.
    pub fn new(name: &str, h: usize, w: usize) -> Result<Self, GraphError> {
        check_size(h, w)?;
        let input = Node {
            name: "input".into(),
            op: Op::Input,
            shape: Shape { h, w, c: 6 },
            kind: ValueKind::Codes { bits: ActBits::B8, step: 1.0 / 255.0 },
        };
        Ok(GraphBuilder { name: name.to_string(), nodes: vec![input] })
    }

    /// Adds a node; its shape and kind are inferred and checked.
    pub fn add(&mut self, name: &str, op: Op) -> Result<NodeId, GraphError> {
        let (shape, kind) = self.infer(name, &op)?;
        self.nodes.push(Node { name: name.to_string(), op, shape, kind });
        Ok(self.nodes.len() - 1)
    }

    /// Adds a convolution.
    pub fn conv(
        &mut self,
        name: &str,
        src: NodeId,
        geom: ConvGeom,
        cout: usize,
        weight_bits: WeightBits,
        output: ConvOutput,
    ) -> Result<NodeId, GraphError> {
        self.add(name, Op::Conv(Conv { src, geom, cout, weight_bits, output }))
    }

    /// Shape of a node already added.
    pub fn shape(&self, id: NodeId) -> Shape {
        self.nodes[id].shape
    }

    /// Finishes a network whose last prediction `flow` is at a quarter of the
    /// input resolution in `1/FLOW_DIV` pixel units: the host upsamples it
    /// (nearest ×4) and scales it to pixels.
    pub fn finish_with_quarter_flow(mut self, flow: NodeId) -> Result<Graph, GraphError> {
        let up = self.add("flow_upsample", Op::Upsample { src: flow, factor: 4 })?;
        let out = self.add("flow", Op::Scale { src: up, factor: FLOW_DIV })?;
        self.finish(out)
    }

    /// Finishes the graph with `output` as the flow node and validates it.
    pub fn finish(self, output: NodeId) -> Result<Graph, GraphError> {
        let g = Graph { name: self.name, nodes: self.nodes, output };
        g.validate()?;
        Ok(g)
    }

    fn infer(&self, name: &str, op: &Op) -> Result<(Shape, ValueKind), GraphError> {
        let err = |p: String| Err(shape_err(name, p));
        let node = |id: NodeId| -> Result<&Node, GraphError> {
            self.nodes.get(id).ok_or_else(|| shape_err(name, format!("input node {id} does not exist")))
        };
        match op {
            Op::Input => err("only node 0 may be the input".into()),
            Op::SpaceToDepth { src } => {
                let s = node(*src)?;
                if s.shape.h % 2 != 0 || s.shape.w % 2 != 0 {
                    return err(format!("space-to-depth of odd size {}", s.shape));
                }
                Ok((Shape { h: s.shape.h / 2, w: s.shape.w / 2, c: s.shape.c * 4 }, s.kind))
            }
            Op::Conv(c) => {
                let s = node(c.src)?;
                if !matches!(s.kind, ValueKind::Codes { .. }) {
                    return err("a convolution needs quantized codes as input".into());
                }
                c.geom.check().map_err(|p| shape_err(name, p))?;
                let Some((h, w)) = c.geom.out_shape(s.shape.h, s.shape.w) else {
                    return err(format!("geometry {:?} leaves no output from {}", c.geom, s.shape));
                };
                if c.cout == 0 {
                    return err("zero output channels".into());
                }
                let kind = match c.output {
                    ConvOutput::Activation { bits } => ValueKind::Codes { bits, step: act_step(bits) },
                    ConvOutput::Flow => ValueKind::Float,
                };
                Ok((Shape { h, w, c: c.cout }, kind))
            }
            Op::Concat(srcs) => {
                let Some(&first) = srcs.first() else { return err("empty concatenation".into()) };
                let f = node(first)?;
                let mut c = 0;
                for &s in srcs {
                    let n = node(s)?;
                    if (n.shape.h, n.shape.w) != (f.shape.h, f.shape.w) {
                        return err(format!("'{}' is {} but '{}' is {}", n.name, n.shape, f.name, f.shape));
                    }
                    if n.kind != f.kind {
                        return err(format!("'{}' holds {:?} but '{}' holds {:?}", n.name, n.kind, f.name, f.kind));
                    }
                    if c % zynqflow_isa::CHANNELS_PER_WORD != 0 {
                        return err(format!("'{}' would start at channel {c}, not a multiple of 64", n.name));
                    }
                    c += n.shape.c;
                }
                Ok((Shape { c, ..f.shape }, f.kind))
            }
            Op::SignSplit { src, bits, step } => {
                let s = node(*src)?;
                if s.kind != ValueKind::Float {
                    return err("sign split needs a float input".into());
                }
                Ok((Shape { c: 2 * s.shape.c, ..s.shape }, ValueKind::Codes { bits: *bits, step: *step }))
            }
            Op::Upsample { src, factor } => {
                let s = node(*src)?;
                if s.kind != ValueKind::Float || *factor == 0 {
                    return err("upsampling needs a float input and a positive factor".into());
                }
                Ok((Shape { h: s.shape.h * factor, w: s.shape.w * factor, c: s.shape.c }, ValueKind::Float))
            }
            Op::Scale { src, .. } => {
                let s = node(*src)?;
                if s.kind != ValueKind::Float {
                    return err("scaling needs a float input".into());
                }
                Ok((s.shape, ValueKind::Float))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_positive_multiples_of_64_up_to_the_maximum() {
        assert!(check_size(64, 64).is_ok() && check_size(MAX_SIDE, MAX_SIDE).is_ok());
        for (h, w) in [(0, 64), (64, 100), (100, 64)] {
            assert!(matches!(check_size(h, w), Err(GraphError::BadSize { .. })), "{h}x{w}");
        }
        // Far beyond: refused before any shape or MAC count is computed
        // (6400000000x6400000000 used to overflow the MAC count in `net`).
        for (h, w) in [(MAX_SIDE + 64, 64), (64, 6_400_000_000), (6_400_000_000, 6_400_000_000)] {
            let e = Graph::by_name("lmflownets", h, w).unwrap_err();
            assert!(matches!(e, GraphError::TooLarge { .. }), "{h}x{w}: {e:?}");
            assert_eq!(e.to_string(), format!("size {h}x{w} is too large (at most 8192 in each dimension)"));
        }
        let g = Graph::by_name("flownets", MAX_SIDE, MAX_SIDE).unwrap();
        assert!(g.total_macs() > 0);
    }
}

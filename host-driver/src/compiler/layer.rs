//! Compiling one convolution on its own: the path of `zynqflow sim layer`
//! and of the randomized tests that compare single layers across backends.
//! The layer's input sits at the start of the arena and its output after it.

use super::lower::{emit, lower, LayerFrame};
use super::{push_aligned, Command, CompileError, Image, OutLayout};
use crate::cpu::ConvGeom;
use crate::quant::{QWeights, Thresholds};
use zynqflow_isa::{ActBits, ActLayout, Capabilities, RawLayout, MODE_RAW, MODE_THRESHOLD};

/// What a single layer outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerOutput {
    /// Codes of this width, through thresholds.
    Codes(ActBits),
    /// Raw `i32` accumulators.
    Raw,
}

/// One convolution: input shape, geometry, widths, output kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    /// Input rows.
    pub in_h: usize,
    /// Input columns.
    pub in_w: usize,
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Geometry.
    pub geom: ConvGeom,
    /// Input code width.
    pub a_in: ActBits,
    /// Output kind.
    pub out: LayerOutput,
}

impl LayerSpec {
    /// Output (h, w), or an error if the geometry leaves none.
    pub fn out_shape(&self) -> Result<(usize, usize), String> {
        self.geom.check()?;
        self.geom
            .out_shape(self.in_h, self.in_w)
            .ok_or_else(|| format!("geometry {:?} leaves no output from {}x{}", self.geom, self.in_h, self.in_w))
    }
}

/// Compiles one layer with its integer weights (and thresholds in codes mode).
pub fn compile_layer(
    spec: &LayerSpec,
    w: &QWeights,
    thresholds: Option<&Thresholds>,
    caps: &Capabilities,
) -> Result<Image, CompileError> {
    let err = |reason: String| CompileError::Unsupported { layer: "layer".into(), reason };
    let (oh, ow) = spec.out_shape().map_err(err)?;
    let wl = w.layout;
    if (wl.cout, wl.cin, wl.kh, wl.kw) != (spec.cout, spec.cin, spec.geom.kh, spec.geom.kw) {
        return Err(err(format!(
            "weights are {}x{}x{}x{}, the spec needs {}x{}x{}x{}",
            wl.cout, wl.kh, wl.kw, wl.cin, spec.cout, spec.geom.kh, spec.geom.kw, spec.cin
        )));
    }
    let input = ActLayout::new(spec.in_h, spec.in_w, spec.cin, spec.a_in).map_err(|e| err(e.to_string()))?;
    let (mode, a_out, out) = match (spec.out, thresholds) {
        (LayerOutput::Codes(bits), Some(t)) if t.cout() == spec.cout && t.out_bits() == bits => (
            MODE_THRESHOLD,
            bits.bits() as u32,
            OutLayout::Codes(ActLayout::new(oh, ow, spec.cout, bits).expect("non-zero")),
        ),
        (LayerOutput::Codes(_), _) => {
            return Err(err("codes output needs a threshold table of matching channels and width".into()))
        }
        (LayerOutput::Raw, _) => {
            (MODE_RAW, 0, OutLayout::Raw(RawLayout { height: oh, width: ow, channels: spec.cout }))
        }
    };
    let mut weights = Vec::new();
    let thr_off = match (mode, thresholds) {
        (MODE_THRESHOLD, Some(t)) => {
            push_aligned(&mut weights, &t.data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())
        }
        _ => 0,
    };
    let out_off = input.bytes().div_ceil(64) * 64;
    let frame = LayerFrame {
        mode,
        a_out,
        thr_addr: thr_off as u32,
        in_addr: 0,
        out_addr: out_off as u32,
        input,
        in_ch_off: 0,
        cin: spec.cin,
        cout: spec.cout,
        dst: (oh, ow, spec.cout),
        ch_off: 0,
        copies_log2: 0,
        pack_planes: false,
    };
    let phases = lower(&spec.geom, false, w, spec.cin, oh, ow).map_err(err)?;
    let commands = phases
        .iter()
        .zip(emit(&phases, &frame, wl.bits, &mut weights))
        .map(|(p, desc)| Command { layer: format!("layer[{},{}]", p.out_off_y, p.out_off_x), node: 0, desc })
        .collect();
    let image = Image {
        commands,
        weights,
        arena_bytes: out_off + out.bytes(),
        input: (0, input),
        input_im2col: None,
        output_taps: None,
        output: (out_off, out),
    };
    image.check(caps)?;
    Ok(image)
}

//! Seeded random convolution layers and their CPU reference results: the
//! cases of the model-vs-CPU conformance test (`tests/random_layers.rs`) and
//! of `zynqflow selftest` on a board.
//!
//! A case draws a geometry (a fifth of them transposed), a small input,
//! channel counts, activation and weight widths and an output kind; every
//! sixth case in a run uses extreme values (largest codes with the most
//! negative or the most positive weights) or zeros, where overflow or sign
//! mistakes show.

use crate::compiler::layer::{compile_layer, LayerOutput, LayerSpec};
use crate::compiler::{CompileError, Image};
use crate::cpu::qconv::{qconv, threshold};
use crate::cpu::ConvGeom;
use crate::quant::{QWeights, Thresholds};
use crate::runtime::Output;
use crate::QTensor;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use zynqflow_isa::{ActBits, Capabilities, ThresholdMode, WeightBits};

/// Values of a random case: random, extreme or zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// Uniform random codes and weights.
    Random,
    /// Largest codes, most negative weights.
    MaxCodesMinWeights,
    /// Largest codes, most positive weights.
    MaxCodesMaxWeights,
    /// All-zero input.
    Zero,
}

impl Fill {
    /// The fill of the `n`th case of a run (three random, then the extremes).
    pub fn for_case(n: usize) -> Fill {
        [Fill::Random, Fill::Random, Fill::Random, Fill::MaxCodesMinWeights, Fill::MaxCodesMaxWeights, Fill::Zero]
            [n % 6]
    }
}

/// One random layer with its data.
#[derive(Debug, Clone)]
pub struct RandomLayer {
    /// Shape, geometry and widths.
    pub spec: LayerSpec,
    /// How the values were drawn.
    pub fill: Fill,
    /// Input codes.
    pub input: QTensor,
    /// Weights.
    pub weights: QWeights,
    /// Thresholds, when the output is codes.
    pub thresholds: Option<Thresholds>,
}

fn random_geom(rng: &mut ChaCha8Rng) -> ConvGeom {
    if rng.gen_range(0..5) == 0 {
        let k = rng.gen_range(2..=5);
        return ConvGeom { kh: k, kw: k, stride: 2, pad: rng.gen_range(0..k), upsample: 1, transposed: true };
    }
    let kh = rng.gen_range(1..=7);
    let kw = if rng.gen_bool(0.3) { rng.gen_range(1..=7) } else { kh };
    ConvGeom {
        kh,
        kw,
        stride: rng.gen_range(1..=2),
        pad: rng.gen_range(0..kh.min(kw)),
        upsample: rng.gen_range(1..=2),
        transposed: false,
    }
}

fn random_thresholds(rng: &mut ChaCha8Rng, cout: usize, bits: ActBits, span: i32) -> Thresholds {
    let n = bits.num_thresholds();
    let chans: Vec<(ThresholdMode, Vec<i32>)> = (0..cout)
        .map(|co| {
            let mut t: Vec<i32> = (0..n).map(|_| rng.gen_range(-span..=span)).collect();
            if co % 11 == 3 {
                t[0] = i32::MIN;
                t[n - 1] = i32::MAX;
            }
            t.sort();
            match rng.gen_range(0..8) {
                0 => (ThresholdMode::Constant(rng.gen_range(0..=bits.max_code()) as u8), t),
                1 | 2 => {
                    t.reverse();
                    (ThresholdMode::Descending, t)
                }
                _ => (ThresholdMode::Ascending, t),
            }
        })
        .collect();
    Thresholds::from_channels(bits, &chans)
}

impl RandomLayer {
    /// The first layer drawn from `seed` (values [`Fill::Random`]) that
    /// compiles for `caps`, with its image: the tests' one-liner for "some
    /// random layer this device runs".
    pub fn first_compiled(seed: u64, caps: &Capabilities) -> (RandomLayer, Image) {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        loop {
            if let Some(l) = RandomLayer::draw(&mut rng, Fill::Random) {
                if let Some(image) = l.compile(caps).expect("the compiler accepts selftest's layers") {
                    return (l, image);
                }
            }
        }
    }

    /// Draws a layer with values as `fill` says; `None` when the drawn
    /// geometry leaves no output for the drawn input size (draw again).
    pub fn draw(rng: &mut ChaCha8Rng, fill: Fill) -> Option<RandomLayer> {
        let geom = random_geom(rng);
        let (in_h, in_w) = (rng.gen_range(1..=13), rng.gen_range(1..=13));
        geom.out_shape(in_h, in_w)?;
        let cin = if rng.gen_bool(0.2) { rng.gen_range(100..=200) } else { rng.gen_range(1..=70) };
        let cout = rng.gen_range(1..=72);
        let a_in = ActBits::new(rng.gen_range(1..=8)).expect("1..=8 bits");
        let wb = WeightBits::new(rng.gen_range(1..=8)).expect("1..=8 bits");
        let out = if rng.gen_bool(0.3) {
            LayerOutput::Raw
        } else {
            LayerOutput::Codes(ActBits::new(rng.gen_range(1..=8)).expect("1..=8 bits"))
        };
        let codes: Vec<u8> = (0..in_h * in_w * cin)
            .map(|_| match fill {
                Fill::Random => rng.gen_range(0..=a_in.max_code()) as u8,
                Fill::MaxCodesMinWeights | Fill::MaxCodesMaxWeights => a_in.max_code() as u8,
                Fill::Zero => 0,
            })
            .collect();
        let ints: Vec<i8> = (0..cout * geom.kh * geom.kw * cin)
            .map(|_| {
                let v = match fill {
                    Fill::MaxCodesMinWeights => wb.min_value(),
                    Fill::MaxCodesMaxWeights => wb.max_value(),
                    _ if wb.is_binary() => [-1, 1][rng.gen_range(0..2)],
                    _ => rng.gen_range(wb.min_value()..=wb.max_value()),
                };
                v as i8
            })
            .collect();
        let input = QTensor::from_codes(in_h, in_w, cin, a_in, &codes);
        let weights = QWeights::from_ints(cout, geom.kh, geom.kw, cin, wb, &ints);
        let span = (geom.kh * geom.kw * cin) as i32 * a_in.max_code() as i32 * 4;
        let thresholds = match out {
            LayerOutput::Codes(b) => Some(random_thresholds(rng, cout, b, span)),
            LayerOutput::Raw => None,
        };
        let spec = LayerSpec { in_h, in_w, cin, cout, geom, a_in, out };
        Some(RandomLayer { spec, fill, input, weights, thresholds })
    }

    /// Compiles the layer for `caps`; `Ok(None)` when the compiler refuses
    /// it as it should (a transposed geometry with a phase no kernel tap
    /// reaches, e.g. 3x3/2 with pad 2): draw again.
    pub fn compile(&self, caps: &Capabilities) -> Result<Option<Image>, CompileError> {
        match compile_layer(&self.spec, &self.weights, self.thresholds.as_ref(), caps) {
            Ok(i) => Ok(Some(i)),
            Err(CompileError::Unsupported { reason, .. })
                if self.spec.geom.transposed && reason.contains("no kernel tap") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The CPU reference result, in the kind the accelerator returns.
    pub fn reference(&self) -> Output {
        let acc = qconv(&self.input, &self.weights, &self.spec.geom);
        match &self.thresholds {
            Some(t) => Output::Codes(threshold(&acc, t)),
            None => Output::Raw(acc),
        }
    }

    /// One line describing the case.
    pub fn describe(&self) -> String {
        let s = &self.spec;
        let g = s.geom;
        let out = match s.out {
            LayerOutput::Codes(b) => format!("a_out {}", b.bits()),
            LayerOutput::Raw => "raw".into(),
        };
        format!(
            "{}x{}x{} -> {} ch, {}x{}/{} pad {} up {}{}, a_in {}, w {} bits, {out}, {:?}",
            s.in_h,
            s.in_w,
            s.cin,
            s.cout,
            g.kh,
            g.kw,
            g.stride,
            g.pad,
            g.upsample,
            if g.transposed { " transposed" } else { "" },
            s.a_in.bits(),
            self.weights.layout.bits.bits(),
            self.fill
        )
    }
}

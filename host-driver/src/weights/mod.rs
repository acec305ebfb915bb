//! Network weights: the float parameters of every convolution, read from and
//! written to safetensors files ([`file`]), or synthesized deterministically
//! ([`synth`]). The tensor names, shapes and dtypes are documented in
//! docs/weights.md.

pub mod file;
pub mod synth;

use crate::graph::{ConvOutput, Graph};
use crate::quant::BatchNorm;
use std::collections::BTreeMap;

/// Float parameters of one convolution.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    /// Kernel, `[co][ky][kx][ci]` (the project's internal order).
    pub weight: Vec<f32>,
    /// Bias per output channel: flow predictions only.
    pub bias: Option<Vec<f32>>,
    /// Batch-norm: every layer with an activation output.
    pub bn: Option<BatchNorm>,
}

/// The parameters of a whole network, by layer name.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightSet {
    /// Network the weights belong to.
    pub net: String,
    /// Per convolution layer.
    pub layers: BTreeMap<String, LayerWeights>,
}

/// Weights that do not fit the network, or a file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// File could not be read or written.
    #[error("weights '{path}': {err}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        err: std::io::Error,
    },
    /// Not a safetensors file.
    #[error("weights '{path}': not a safetensors file ({detail})")]
    Format {
        /// File.
        path: String,
        /// Parser message.
        detail: String,
    },
    /// A safetensors file whose metadata says it is not a zynqflow weights
    /// file of this version.
    #[error("weights '{path}': {detail}")]
    Metadata {
        /// File.
        path: String,
        /// Which key holds what.
        detail: String,
    },
    /// File made for another network.
    #[error("weights '{path}': made for network '{found}', not '{expected}'")]
    WrongNet {
        /// File.
        path: String,
        /// Network asked for.
        expected: String,
        /// Network in the file.
        found: String,
    },
    /// A tensor the network needs is absent.
    #[error("weights '{path}': missing tensor '{name}'")]
    Missing {
        /// File.
        path: String,
        /// Tensor name.
        name: String,
    },
    /// A tensor with the wrong shape or dtype.
    #[error("weights '{path}': tensor '{name}' is {found}, expected {expected}")]
    Mismatch {
        /// File.
        path: String,
        /// Tensor name.
        name: String,
        /// What the network needs.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// A tensor holding NaN or infinity, or a negative variance.
    #[error("weights '{path}': tensor '{name}' holds {what} at index {index}")]
    BadValue {
        /// File.
        path: String,
        /// Tensor name.
        name: String,
        /// NaN, infinity, negative variance.
        what: &'static str,
        /// Flat index of the first bad value.
        index: usize,
    },
}

/// What a convolution layer's parameters must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    /// Output channels.
    pub cout: usize,
    /// Kernel rows.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Input channels.
    pub cin: usize,
    /// Transposed convolution (PyTorch stores those `[Cin, Cout, Kh, Kw]`).
    pub transposed: bool,
    /// Has a bias.
    pub bias: bool,
    /// Has batch-norm.
    pub bn: bool,
}

impl LayerSpec {
    /// Number of kernel weights.
    pub fn weight_len(&self) -> usize {
        self.cout * self.kh * self.kw * self.cin
    }
}

/// The parameter spec of every convolution of `g`, by layer name, in order.
pub fn layer_specs(g: &Graph) -> Vec<(String, LayerSpec)> {
    g.convs()
        .map(|(_, n, c)| {
            let spec = LayerSpec {
                cout: c.cout,
                kh: c.geom.kh,
                kw: c.geom.kw,
                cin: g.nodes[c.src].shape.c,
                transposed: c.geom.transposed,
                bias: c.output == ConvOutput::Flow,
                bn: matches!(c.output, ConvOutput::Activation { .. }),
            };
            (n.name.clone(), spec)
        })
        .collect()
}

impl WeightSet {
    /// Checks that every layer of `g` is present with the right sizes and
    /// finite values; `origin` names the source in errors.
    pub fn check(&self, g: &Graph, origin: &str) -> Result<(), WeightsError> {
        let path = origin.to_string();
        if self.net != g.name {
            return Err(WeightsError::WrongNet { path, expected: g.name.clone(), found: self.net.clone() });
        }
        for (name, spec) in layer_specs(g) {
            let Some(l) = self.layers.get(&name) else {
                return Err(WeightsError::Missing { path, name: format!("{name}.weight") });
            };
            let len = |n: &str, v: usize, want: usize| {
                if v == want {
                    Ok(())
                } else {
                    Err(WeightsError::Mismatch {
                        path: path.clone(),
                        name: format!("{name}.{n}"),
                        expected: format!("{want} values"),
                        found: format!("{v} values"),
                    })
                }
            };
            len("weight", l.weight.len(), spec.weight_len())?;
            check_finite(&path, &format!("{name}.weight"), &l.weight)?;
            match (&l.bias, spec.bias) {
                (Some(b), true) => {
                    len("bias", b.len(), spec.cout)?;
                    check_finite(&path, &format!("{name}.bias"), b)?;
                }
                (None, false) => {}
                (None, true) => return Err(WeightsError::Missing { path, name: format!("{name}.bias") }),
                (Some(_), false) => {
                    return Err(WeightsError::Mismatch {
                        path,
                        name: format!("{name}.bias"),
                        expected: "no bias (batch-norm layer)".into(),
                        found: "a bias".into(),
                    })
                }
            }
            match (&l.bn, spec.bn) {
                (Some(bn), true) => {
                    for (n, v) in [
                        ("weight", &bn.gamma),
                        ("bias", &bn.beta),
                        ("running_mean", &bn.mean),
                        ("running_var", &bn.var),
                    ] {
                        len(&format!("bn.{n}"), v.len(), spec.cout)?;
                        check_finite(&path, &format!("{name}.bn.{n}"), v)?;
                    }
                    if let Some(i) = bn.var.iter().position(|&v| v < 0.0) {
                        return Err(WeightsError::BadValue {
                            path,
                            name: format!("{name}.bn.running_var"),
                            what: "a negative variance",
                            index: i,
                        });
                    }
                }
                (None, false) => {}
                (None, true) => return Err(WeightsError::Missing { path, name: format!("{name}.bn.weight") }),
                (Some(_), false) => {
                    return Err(WeightsError::Mismatch {
                        path,
                        name: format!("{name}.bn"),
                        expected: "no batch-norm (flow prediction)".into(),
                        found: "batch-norm".into(),
                    })
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn check_finite(path: &str, name: &str, v: &[f32]) -> Result<(), WeightsError> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(WeightsError::BadValue {
            path: path.to_string(),
            name: name.to_string(),
            what: if v[i].is_nan() { "NaN" } else { "infinity" },
            index: i,
        }),
    }
}

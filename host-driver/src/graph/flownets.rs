//! The original FlowNetS (Dosovitskiy et al. 2015; REFERENCE.md §3), quantized.
//!
//! 7×7 and 5×5 stride-2 convolutions in the encoder, 4×4 stride-2 transposed
//! convolutions in the decoder, flow predicted at five scales. Quantized with
//! 4-bit activations and 4-bit weights in the hidden layers (wider than
//! LmFlowNetS, to exercise other bit widths end to end); conv1, the flow
//! predictions and the flow upsampling use 8-bit weights.

use super::{ConvOutput, Graph, GraphBuilder, GraphError, Op};
use crate::cpu::ConvGeom;
use zynqflow_isa::{ActBits, WeightBits};

/// Hidden activation width.
const A: ActBits = ActBits::B4;
/// Hidden weight width.
const W: WeightBits = WeightBits::B4;
/// Step of the 8-bit sign-split flow codes: ±8 in `1/FLOW_DIV` units.
const FLOW_CODE_STEP: f32 = super::lmflownets::FLOW_CODE_STEP;

/// Builds FlowNetS for an `h × w` frame pair (multiples of 64).
pub fn build(h: usize, w: usize) -> Result<Graph, GraphError> {
    let mut b = GraphBuilder::new("flownets", h, w)?;
    let act = ConvOutput::Activation { bits: A };
    let k3 = ConvGeom::square(3, 1, 1);
    let k3s2 = ConvGeom::square(3, 2, 1);
    let deconv = ConvGeom { transposed: true, ..ConvGeom::square(4, 2, 1) };

    let conv1 = b.conv("conv1", 0, ConvGeom::square(7, 2, 3), 64, WeightBits::B8, act)?;
    let conv2 = b.conv("conv2", conv1, ConvGeom::square(5, 2, 2), 128, W, act)?;
    let conv3 = b.conv("conv3", conv2, ConvGeom::square(5, 2, 2), 256, W, act)?;
    let conv3_1 = b.conv("conv3_1", conv3, k3, 256, W, act)?;
    let conv4 = b.conv("conv4", conv3_1, k3s2, 512, W, act)?;
    let conv4_1 = b.conv("conv4_1", conv4, k3, 512, W, act)?;
    let conv5 = b.conv("conv5", conv4_1, k3s2, 512, W, act)?;
    let conv5_1 = b.conv("conv5_1", conv5, k3, 512, W, act)?;
    let conv6 = b.conv("conv6", conv5_1, k3s2, 1024, W, act)?;
    let conv6_1 = b.conv("conv6_1", conv6, k3, 1024, W, act)?;

    let skips = [conv2, conv3_1, conv4_1, conv5_1];
    let mut feat = conv6_1;
    let mut flow = b.conv("predict_flow6", feat, k3, 2, WeightBits::B8, ConvOutput::Flow)?;
    for (level, cout) in [(5, 512), (4, 256), (3, 128), (2, 64)] {
        let d = b.conv(&format!("deconv{level}"), feat, deconv, cout, W, act)?;
        let split = b.add(
            &format!("flow{}_split", level + 1),
            Op::SignSplit { src: flow, bits: ActBits::B8, step: FLOW_CODE_STEP },
        )?;
        let up = b.conv(&format!("upsampled_flow{}_to_{level}", level + 1), split, deconv, 2, WeightBits::B8, act)?;
        feat = b.add(&format!("concat{level}"), Op::Concat(vec![skips[level - 2], d, up]))?;
        flow = b.conv(&format!("predict_flow{level}"), feat, k3, 2, WeightBits::B8, ConvOutput::Flow)?;
    }
    b.finish_with_quarter_flow(flow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_totals_match_the_reference_table() {
        let g = build(384, 512).unwrap();
        let shape = |n: &str| g.nodes[g.find(n).unwrap()].shape;
        assert_eq!((shape("conv1").h, shape("conv1").w), (192, 256));
        assert_eq!((shape("conv6_1").h, shape("conv6_1").w, shape("conv6_1").c), (6, 8, 1024));
        assert_eq!(shape("concat5").c, 1026);
        assert_eq!(shape("concat4").c, 770);
        assert_eq!(shape("concat3").c, 386);
        assert_eq!(shape("concat2").c, 194);
        assert_eq!((shape("deconv2").h, shape("deconv2").w), (96, 128));
        let total = g.total_macs() as f64 / 1e9;
        assert!((total - 15.8).abs() < 0.1, "total {total} GMAC");
        let params = g.parameters() as f64 / 1e6;
        assert!((params - 38.7).abs() < 1.0, "{params} M parameters");
    }
}

//! The yosys estimate on real generated designs: two systolic arrays, the
//! second twice the first, synthesized with the same flow as `zynqflow
//! synth-estimate` (`zynqflow_hdl::synth_estimate::estimate`). The estimate
//! must grow with the array (about ×2 in LUTs and flip-flops) while the LUT
//! depth of the worst path stays that of one PE column.
//!
//! The arrays stand in for the accelerator because `accelerator_verilog`
//! only generates the named presets (rust-hdl needs every width at compile
//! time, one type instantiation per preset), and the smallest two presets
//! (`small`, 8×2, and `pynq-z2`, 16×8) take 2.5 and tens of minutes here.
//! The `small` preset itself runs through the CLI in
//! `tests/cli_synth_estimate.rs`.

use zynqflow_hdl::synth_estimate::{estimate, Estimate};
use zynqflow_hdl::verilog_check::require_tool;
use zynqflow_isa::ArrayConfig;

fn array_estimate(rows: u8, cols: u8) -> Estimate {
    let config = ArrayConfig { rows, cols, lanes: 1, ..ArrayConfig::small() };
    let dir = tempfile::tempdir().unwrap();
    let name = format!("array {rows}x{cols}");
    estimate(&zynqflow_hdl::array_verilog(&config), "top", &name, config.part, dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn estimate_grows_with_the_array() {
    require_tool("yosys").unwrap_or_else(|e| panic!("{e}"));
    let a = array_estimate(2, 2);
    let b = array_estimate(2, 4);
    print!("{}{}", a.render(), b.render());
    let (la, lb) = (a.counts.lut() as f64, b.counts.lut() as f64);
    let (fa, fb) = (a.counts.ff as f64, b.counts.ff as f64);
    assert!(la > 500.0 && fa > 200.0, "a 2x2 array is hundreds of LUTs and flip-flops: {a:?}");
    assert!((1.6..=2.4).contains(&(lb / la)), "LUTs {la} -> {lb}: not about twice");
    assert!((1.6..=2.4).contains(&(fb / fa)), "flip-flops {fa} -> {fb}: not about twice");
    assert!(
        a.logic_levels >= 2 && a.logic_levels <= b.logic_levels + 2 && b.logic_levels <= a.logic_levels + 2,
        "depth is a PE's, not the array's: {} vs {}",
        a.logic_levels,
        b.logic_levels
    );
    assert!(b.lut_percent() > a.lut_percent());
    assert_eq!(a.to_json()["lut_capacity"], 53_200);
}

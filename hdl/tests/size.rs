//! Size regression: the 4×4 one-lane array synthesized by yosys for a Xilinx
//! 7-series part must stay under a LUT bound, so that a change that brings
//! back the barrel shifter (or a similar blow-up) fails here.
//!
//! Measured with yosys 0.23 (`read_verilog <one file per module>;
//! synth_xilinx -family xc7 -flatten -top top; stat`; flattened because the
//! hierarchical run takes ~85 s here, the flat one ~30 s): 3,747 LUTs (408 of
//! them shift-register LUTs of the skew lines; the count varies slightly with
//! the order of the files) and 3,530 flip-flops with the compressor-tree
//! popcount; 5,410–5,442 LUTs with the balanced adder tree of pairs it
//! replaced, 8,066 LUTs and 3,584 flip-flops with the first PE's variable
//! shifter. The bound, 4,300, leaves about 15% for other yosys versions and
//! small changes, and fails if either earlier design comes back. A missing
//! yosys fails the test with the package to install.

use std::process::Command;

use zynqflow_hdl::verilog_check::{require_tool, write_modules};
use zynqflow_isa::ArrayConfig;

/// LUT bound of the 4×4 one-lane array (see the module docs).
const MAX_LUTS_4X4: usize = 4_300;

/// `(cell type, count)` of the last `stat` block (the whole design).
fn cell_counts(stat: &str) -> Vec<(String, usize)> {
    let start = stat.rfind("Number of cells:").expect("yosys stat printed no cell count");
    stat[start..]
        .lines()
        .skip(1)
        .map_while(|line| {
            let mut it = line.split_whitespace();
            let (name, count) = (it.next()?, it.next()?);
            Some((name.to_string(), count.parse().ok()?))
        })
        .collect()
}

#[test]
fn array_4x4_fits_its_lut_budget() {
    require_tool("yosys").unwrap_or_else(|e| panic!("{e}"));
    let config = ArrayConfig { rows: 4, cols: 4, lanes: 1, ..ArrayConfig::small() };
    let dir = tempfile::tempdir().unwrap();
    let files = write_modules(&zynqflow_hdl::array_verilog(&config), dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let script = format!(
        "read_verilog {}; synth_xilinx -family xc7 -flatten -top top; tee -q -o stat.txt stat",
        names.join(" ")
    );
    let out = Command::new("yosys").args(["-q", "-p", &script]).current_dir(dir.path()).output().expect("run yosys");
    assert!(out.status.success(), "yosys failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let stat = std::fs::read_to_string(dir.path().join("stat.txt")).expect("yosys stat output");
    let cells = cell_counts(&stat);
    let count = |prefix: &str| cells.iter().filter(|(n, _)| n.starts_with(prefix)).map(|(_, c)| c).sum::<usize>();
    // Shift-register LUTs (the skew lines) occupy LUTs too.
    let (luts, ffs) = (count("LUT") + count("SRL"), count("FD"));
    println!("4×4 array: {luts} LUTs (SRLs included), {ffs} flip-flops; cells {cells:?}");
    assert!(ffs > 0 && luts > 0, "no cells counted in:\n{stat}");
    assert!(luts <= MAX_LUTS_4X4, "4×4 array uses {luts} LUTs, over the bound {MAX_LUTS_4X4}");
}

#[test]
fn cell_counts_read_the_last_stat_block() {
    let stat = "Number of cells: 3\n  LUT2 1\n  FDRE 2\n\nNumber of cells: 9\n  CARRY4 1\n  LUT6 5\n  FDRE 3\n\n";
    assert_eq!(cell_counts(stat), vec![("CARRY4".into(), 1), ("LUT6".into(), 5), ("FDRE".into(), 3)]);
}

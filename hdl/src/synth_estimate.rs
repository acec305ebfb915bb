//! The open-source, pre-Vivado resource estimate: yosys `synth_xilinx` on
//! generated Verilog, its cell counts read into LUT / FF / CARRY / BRAM36 /
//! DSP figures against the target part's capacity, and the depth of the
//! longest combinational path in LUTs.
//!
//! The flow (one yosys run, script written to the work directory):
//!
//! ```text
//! read_verilog <files>
//! hierarchy -check -top TOP
//! synth_xilinx -family xc7|xcup -top TOP -flatten -noiopad
//! tee -q -o stat.txt stat
//! tee -q -o ltp.txt ltp -noff <every cell but FD*, RAMB*, DSP48*, SRL*, URAM*>
//! write_json netlist.json
//! ```
//!
//! Choices, and why:
//! - `-flatten`: Vivado's default synthesis (`-flatten_hierarchy rebuilt`)
//!   optimizes across module boundaries, and so does a flat yosys run; it is
//!   also several times faster than a hierarchical one on rust-hdl's
//!   one-module-per-instance output (the `small` preset: about 2.5 min).
//! - `-noiopad`: the accelerator sits inside a block design, so its ports get
//!   no I/O buffers in Vivado either.
//! - **LUT** counts every LUT site, as Vivado's "Slice LUTs" does: logic LUTs
//!   (`LUT1`..`LUT6`, and yosys' `INV`, a LUT1 in Vivado) plus LUTs used as
//!   memory (`SRL16E`/`SRLC32E` one each, LUT-RAM cells by the LUTs they
//!   occupy); the split is kept in [`Counts::lut_logic`] and
//!   [`Counts::lut_memory`]. **BRAM36** counts a `RAMB18` as half.
//! - **Depth**: `ltp -noff` only skips yosys' internal flip-flop types, not
//!   the Xilinx `FD*` primitives `synth_xilinx` leaves, so on its own it walks
//!   through registers (thousands of "levels" on the accelerator). The
//!   sequential primitives are therefore deselected, and yosys' figure is kept
//!   as [`Estimate::ltp_length`] (it counts every cell, carry-chain steps
//!   included). [`Estimate::logic_levels`] is the number of LUTs on the
//!   worst register-to-register path, computed here from the netlist with
//!   `CARRY4`/`CARRY8` and `MUXF7`/`MUXF8` as zero-LUT steps (they are the
//!   slice's fast dedicated logic); [`Estimate::cell_levels`] counts every
//!   combinational cell on the worst path, as Vivado's "logic levels" do.
//!
//! The figures are an estimate: Vivado maps differently (it absorbs
//! inverters, packs LUT pairs, retimes), typically a little smaller.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::verilog_check::{require_tool, write_modules, CheckError};

/// Xilinx device family, as `synth_xilinx -family` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// 7-series (Zynq-7000).
    Xc7,
    /// UltraScale+ (Zynq UltraScale+ MPSoC, Kria).
    Xcup,
}

impl Family {
    /// The `synth_xilinx -family` argument.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Xc7 => "xc7",
            Family::Xcup => "xcup",
        }
    }
}

/// A target device and its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Device name prefix (`xc7z020`, ...).
    pub device: &'static str,
    /// Family for `synth_xilinx`.
    pub family: Family,
    /// CLB LUTs.
    pub lut: u64,
    /// CLB flip-flops.
    pub ff: u64,
    /// 36 Kb block RAMs.
    pub bram36: u64,
    /// DSP slices.
    pub dsp: u64,
}

/// The devices of the supported boards (capacities from the Xilinx/AMD data
/// sheets: DS190 for the Zynq-7000, DS891 for the Zynq UltraScale+ MPSoC,
/// DS987 for the K26 SOM; the K26 also has 64 UltraRAMs, not counted here).
pub const PARTS: [Part; 3] = [
    Part { device: "xc7z020", family: Family::Xc7, lut: 53_200, ff: 106_400, bram36: 140, dsp: 220 },
    Part { device: "xczu3eg", family: Family::Xcup, lut: 70_560, ff: 141_120, bram36: 216, dsp: 360 },
    Part { device: "xck26", family: Family::Xcup, lut: 117_120, ff: 234_240, bram36: 144, dsp: 1_248 },
];

/// The device of a full part name (`xc7z020clg400-1` → `xc7z020`).
pub fn part_for(part_name: &str) -> Option<Part> {
    let lower = part_name.to_ascii_lowercase();
    PARTS.iter().copied().find(|p| lower.starts_with(p.device))
}

/// `(cell type, count)` of the last `stat` block (the top, or the whole
/// flattened design).
pub fn parse_stat(stat: &str) -> Result<Vec<(String, u64)>, CheckError> {
    let start =
        stat.rfind("Number of cells:").ok_or_else(|| CheckError("yosys `stat` printed no cell count".into()))?;
    Ok(stat[start..]
        .lines()
        .skip(1)
        .map_while(|line| {
            let mut it = line.split_whitespace();
            let (name, count) = (it.next()?, it.next()?);
            if it.next().is_some() {
                return None;
            }
            Some((name.to_string(), count.parse().ok()?))
        })
        .collect())
}

/// The `length=N` of yosys' `ltp` report (the largest if several modules).
pub fn parse_ltp(text: &str) -> Option<u64> {
    text.lines()
        .filter_map(|l| {
            let rest = l.split("(length=").nth(1)?;
            rest.split(')').next()?.trim().parse().ok()
        })
        .max()
}

/// LUT sites a LUT-RAM or shift-register cell occupies (0 for other cells).
fn lut_memory_sites(cell: &str) -> u64 {
    match cell {
        "SRL16E" | "SRLC16E" | "SRLC32E" => 1,
        "RAM32X1S" | "RAM64X1S" => 1,
        "RAM32X1D" | "RAM64X1D" | "RAM128X1S" => 2,
        "RAM32M" | "RAM64M" | "RAM128X1D" | "RAM256X1S" => 4,
        "RAM32M16" | "RAM64M8" | "RAM256X1D" => 8,
        "RAM512X1S" => 8,
        _ => 0,
    }
}

/// Resource counts from a `stat` cell list.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counts {
    /// Logic LUTs (`LUT1`..`LUT6`, `INV`).
    pub lut_logic: u64,
    /// LUTs used as memory (shift registers, LUT-RAM).
    pub lut_memory: u64,
    /// Flip-flops (`FD*`).
    pub ff: u64,
    /// Carry cells (`CARRY4`/`CARRY8`).
    pub carry: u64,
    /// 36 Kb block RAMs (`RAMB36*` + `RAMB18*`/2).
    pub bram36: f64,
    /// DSP slices (`DSP48E1`/`DSP48E2`).
    pub dsp: u64,
    /// UltraRAMs (`URAM288`).
    pub uram: u64,
}

impl Counts {
    /// Reads the counts from `(cell type, count)` pairs.
    pub fn from_cells(cells: &[(String, u64)]) -> Counts {
        let mut c = Counts::default();
        for (name, n) in cells {
            let n = *n;
            let name = name.as_str();
            if (name.starts_with("LUT") && name.len() == 4) || name == "INV" {
                c.lut_logic += n;
            } else if name.starts_with("FD") {
                c.ff += n;
            } else if name.starts_with("CARRY") {
                c.carry += n;
            } else if name.starts_with("RAMB36") {
                c.bram36 += n as f64;
            } else if name.starts_with("RAMB18") {
                c.bram36 += n as f64 / 2.0;
            } else if name.starts_with("DSP48") {
                c.dsp += n;
            } else if name.starts_with("URAM") {
                c.uram += n;
            } else {
                c.lut_memory += n * lut_memory_sites(name);
            }
        }
        c
    }

    /// Every LUT site (logic and memory).
    pub fn lut(&self) -> u64 {
        self.lut_logic + self.lut_memory
    }
}

/// Whether a cell of this type is a register boundary for path depth.
fn sequential(cell: &str) -> bool {
    ["FD", "RAMB", "DSP48", "SRL", "URAM", "BUFG", "LD"].iter().any(|p| cell.starts_with(p))
}

/// LUT levels a combinational cell adds to a path.
fn lut_weight(cell: &str) -> u64 {
    if cell.starts_with("CARRY") || cell.starts_with("MUXF") {
        0
    } else {
        1
    }
}

/// The worst register-to-register path of a netlist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Depth {
    /// The most LUTs on any path (carry and wide-mux cells add none).
    pub lut_levels: u64,
    /// The most combinational cells on any path.
    pub cell_levels: u64,
    /// The named net where the path with the most LUTs starts (a register
    /// output or a port), when the netlist names it.
    pub from: Option<String>,
    /// The named net where it ends, when named.
    pub to: Option<String>,
}

/// The worst register-to-register path of a flattened yosys JSON netlist
/// (`write_json`) of module `top`.
pub fn netlist_depth(json: &str, top: &str) -> Result<Depth, CheckError> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| CheckError(format!("yosys JSON netlist: {e}")))?;
    let module = &v["modules"][top];
    let cells =
        module["cells"].as_object().ok_or_else(|| CheckError(format!("yosys JSON netlist has no module `{top}`")))?;
    struct Cell {
        lut: u64,
        inputs: Vec<u64>,
        output: Option<u64>,
    }
    let mut comb: Vec<Cell> = Vec::new();
    let mut driver: HashMap<u64, usize> = HashMap::new();
    let mut register_of: HashMap<u64, u64> = HashMap::new();
    for cell in cells.values() {
        let ty = cell["type"].as_str().unwrap_or("");
        let dirs = cell["port_directions"].as_object();
        let conns = cell["connections"].as_object();
        let (Some(dirs), Some(conns)) = (dirs, conns) else { continue };
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for (port, bits) in conns {
            let ids = bits.as_array().into_iter().flatten().filter_map(|b| b.as_u64());
            match dirs.get(port).and_then(|d| d.as_str()) {
                Some("output") => outputs.extend(ids),
                _ => inputs.extend(ids),
            }
        }
        if sequential(ty) {
            // A path ending at a register's input is named after its output.
            if let (Some(&q), true) = (outputs.first(), ty.starts_with("FD")) {
                for d in inputs {
                    register_of.entry(d).or_insert(q);
                }
            }
            continue;
        }
        let i = comb.len();
        comb.push(Cell { lut: lut_weight(ty), inputs, output: outputs.first().copied() });
        for b in outputs {
            driver.insert(b, i);
        }
    }
    // Longest path by memoized depth-first search over cells (iterative: a
    // carry chain is thousands of cells deep). `depth[c]` is (LUTs, cells)
    // up to and including cell c's output; `pred[c]` the input bit the most
    // LUTs come through.
    const UNSEEN: (u64, u64) = (u64::MAX, u64::MAX);
    const ACTIVE: (u64, u64) = (u64::MAX - 1, u64::MAX - 1);
    let mut depth = vec![UNSEEN; comb.len()];
    let mut pred: Vec<Option<u64>> = vec![None; comb.len()];
    let (mut best, mut best_cells, mut best_cell) = (0u64, 0u64, None);
    for root in 0..comb.len() {
        if depth[root] != UNSEEN {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        depth[root] = ACTIVE;
        while let Some(top) = stack.last_mut() {
            let c = top.0;
            if let Some(&bit) = comb[c].inputs.get(top.1) {
                top.1 += 1;
                if let Some(&d) = driver.get(&bit) {
                    if depth[d] == UNSEEN {
                        depth[d] = ACTIVE;
                        stack.push((d, 0));
                    }
                }
                continue;
            }
            // Every input resolved: a loop back to an active cell counts as 0.
            let (mut luts, mut cells_on, mut through) = (0, 0, comb[c].inputs.first().copied());
            for &bit in &comb[c].inputs {
                if let Some(&d) = driver.get(&bit) {
                    if depth[d] != ACTIVE && depth[d] != UNSEEN {
                        if depth[d].0 > luts {
                            luts = depth[d].0;
                            through = Some(bit);
                        }
                        cells_on = cells_on.max(depth[d].1);
                    }
                }
            }
            depth[c] = (luts + comb[c].lut, cells_on + 1);
            pred[c] = through;
            // Ties go to the longer path in cells (to the register, past
            // the carry and mux cells after the last LUT).
            if best_cell.is_none_or(|b: usize| depth[c] > depth[b]) {
                best = depth[c].0;
                best_cell = Some(c);
            }
            best_cells = best_cells.max(depth[c].1);
            stack.pop();
        }
    }
    // Walk the worst path back to its start, and name both ends.
    let mut names: HashMap<u64, String> = HashMap::new();
    if let Some(nets) = module["netnames"].as_object() {
        for (name, net) in nets {
            if net["hide_name"].as_u64() == Some(1) {
                continue;
            }
            let bits = net["bits"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            for (i, b) in bits.iter().enumerate() {
                if let Some(b) = b.as_u64() {
                    let n = if bits.len() > 1 { format!("{name}[{i}]") } else { name.clone() };
                    names.entry(b).or_insert(n);
                }
            }
        }
    }
    let (mut from, mut to) = (None, None);
    if let Some(end) = best_cell {
        to = comb[end].output.and_then(|b| {
            names
                .get(&b)
                .cloned()
                .or_else(|| register_of.get(&b).and_then(|q| names.get(q)).map(|n| format!("register {n}")))
        });
        let mut c = end;
        for _ in 0..comb.len() {
            match pred[c] {
                Some(bit) => match driver.get(&bit) {
                    Some(&d) if depth[d] != ACTIVE => c = d,
                    _ => {
                        from = names.get(&bit).cloned();
                        break;
                    }
                },
                None => break,
            }
        }
    }
    Ok(Depth { lut_levels: best, cell_levels: best_cells, from, to })
}

/// The result of one estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Configuration (or design) name.
    pub config: String,
    /// Full part name.
    pub part: String,
    /// Its device's capacity.
    pub device: Part,
    /// Cell counts.
    pub counts: Counts,
    /// LUT levels of the worst register-to-register path.
    pub logic_levels: u64,
    /// Combinational cells on the worst path (Vivado's "logic levels").
    pub cell_levels: u64,
    /// yosys `ltp -noff` length over the combinational cells.
    pub ltp_length: Option<u64>,
    /// Named nets at the two ends of the path with the most LUTs.
    pub worst_path: (Option<String>, Option<String>),
    /// `yosys -V`.
    pub yosys_version: String,
    /// Wall-clock seconds of the yosys run.
    pub seconds: f64,
}

fn percent(used: f64, capacity: u64) -> f64 {
    (used * 1000.0 / capacity as f64).round() / 10.0
}

impl Estimate {
    /// LUT use in percent of the device.
    pub fn lut_percent(&self) -> f64 {
        percent(self.counts.lut() as f64, self.device.lut)
    }

    /// The JSON report (keys documented in docs/resources.md).
    pub fn to_json(&self) -> serde_json::Value {
        let c = &self.counts;
        let d = &self.device;
        serde_json::json!({
            "config": self.config,
            "part": self.part,
            "family": d.family.as_str(),
            "lut": c.lut(),
            "lut_logic": c.lut_logic,
            "lut_memory": c.lut_memory,
            "ff": c.ff,
            "carry": c.carry,
            "bram36": c.bram36,
            "dsp": c.dsp,
            "uram": c.uram,
            "lut_capacity": d.lut,
            "ff_capacity": d.ff,
            "bram36_capacity": d.bram36,
            "dsp_capacity": d.dsp,
            "lut_percent": self.lut_percent(),
            "ff_percent": percent(c.ff as f64, d.ff),
            "bram36_percent": percent(c.bram36, d.bram36),
            "dsp_percent": percent(c.dsp as f64, d.dsp),
            "logic_levels": self.logic_levels,
            "cell_levels": self.cell_levels,
            "ltp_length": self.ltp_length,
            "worst_path_from": self.worst_path.0,
            "worst_path_to": self.worst_path.1,
            "yosys_version": self.yosys_version,
            "seconds": (self.seconds * 10.0).round() / 10.0,
        })
    }

    /// The human-readable table.
    pub fn render(&self) -> String {
        let c = &self.counts;
        let d = &self.device;
        let row =
            |name: &str, used: String, cap: u64, pct: f64| format!("  {name:<8} {used:>10} / {cap:>9}  {pct:>5.1} %\n");
        let mut s = format!(
            "pre-Vivado estimate ({}, synth_xilinx -family {} -flatten) of `{}` on {} ({:.0} s):\n",
            self.yosys_version,
            d.family.as_str(),
            self.config,
            self.part,
            self.seconds
        );
        s += &row("LUT", c.lut().to_string(), d.lut, self.lut_percent());
        s += &format!("           ({} logic, {} as memory)\n", c.lut_logic, c.lut_memory);
        s += &row("FF", c.ff.to_string(), d.ff, percent(c.ff as f64, d.ff));
        s += &row("BRAM36", format!("{}", c.bram36), d.bram36, percent(c.bram36, d.bram36));
        s += &row("DSP", c.dsp.to_string(), d.dsp, percent(c.dsp as f64, d.dsp));
        s += &format!("  CARRY    {:>10}\n", c.carry);
        if c.uram > 0 {
            s += &format!("  URAM     {:>10}\n", c.uram);
        }
        s += &format!(
            "  longest path: {} LUT levels ({} cells with carry/mux steps; yosys ltp: {})\n",
            self.logic_levels,
            self.cell_levels,
            self.ltp_length.map_or("n/a".to_string(), |l| l.to_string())
        );
        let name = |n: &Option<String>| n.clone().unwrap_or_else(|| "(unnamed)".to_string());
        s += &format!("  worst LUT path: {} -> {}\n", name(&self.worst_path.0), name(&self.worst_path.1));
        s
    }
}

/// `yosys -V`, or an error naming the package when yosys is missing.
pub fn yosys_version() -> Result<String, CheckError> {
    require_tool("yosys")?;
    let out = Command::new("yosys").arg("-V").output().map_err(|e| CheckError(format!("running yosys: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The yosys script of the estimate.
pub fn script(files: &[String], top: &str, family: Family) -> String {
    format!(
        "read_verilog {}\nhierarchy -check -top {top}\nsynth_xilinx -family {} -top {top} -flatten -noiopad\n\
         tee -q -o stat.txt stat\n\
         tee -q -o ltp.txt ltp -noff t:FD* t:RAMB* %u t:DSP48* %u t:SRL* %u t:URAM* %u %n\n\
         write_json netlist.json\n",
        files.join(" "),
        family.as_str()
    )
}

/// Runs the estimate on `verilog` (rust-hdl output, all modules in one text)
/// with top module `top`, in `dir` (kept: the script, `stat.txt`, `ltp.txt`,
/// `netlist.json`, `yosys.log`).
pub fn estimate(verilog: &str, top: &str, name: &str, part_name: &str, dir: &Path) -> Result<Estimate, CheckError> {
    let device = part_for(part_name).ok_or_else(|| {
        let known: Vec<&str> = PARTS.iter().map(|p| p.device).collect();
        CheckError(format!("no capacity known for part `{part_name}` (known devices: {})", known.join(", ")))
    })?;
    let version = yosys_version()?;
    std::fs::create_dir_all(dir).map_err(|e| CheckError(format!("creating {}: {e}", dir.display())))?;
    let files: Vec<PathBuf> = write_modules(verilog, dir)?;
    let names: Vec<String> =
        files.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
    std::fs::write(dir.join("estimate.ys"), script(&names, top, device.family))
        .map_err(|e| CheckError(format!("writing the yosys script: {e}")))?;
    let start = Instant::now();
    let out = Command::new("yosys")
        .args(["-q", "-l", "yosys.log", "-s", "estimate.ys"])
        .current_dir(dir)
        .output()
        .map_err(|e| CheckError(format!("running yosys: {e}")))?;
    let seconds = start.elapsed().as_secs_f64();
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("yosys.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        return Err(CheckError(format!(
            "yosys failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            tail.join("\n")
        )));
    }
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| CheckError(format!("yosys left no {f}: {e}")));
    let counts = Counts::from_cells(&parse_stat(&read("stat.txt")?)?);
    let ltp_length = parse_ltp(&read("ltp.txt")?);
    let depth = netlist_depth(&read("netlist.json")?, top)?;
    Ok(Estimate {
        config: name.to_string(),
        part: part_name.to_string(),
        device,
        counts,
        logic_levels: depth.lut_levels,
        cell_levels: depth.cell_levels,
        ltp_length,
        worst_path: (depth.from, depth.to),
        yosys_version: version,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tail of yosys 0.23's `stat` on the `small` preset (flattened).
    const SMALL_STAT: &str = "
748. Printing statistics.

=== zynqflow_top ===

   Number of wires:              12957
   Number of wire bits:         124440
   Number of public wires:        4874
   Number of public wire bits:   85296
   Number of memories:               0
   Number of memory bits:            0
   Number of processes:              0
   Number of cells:              23714
     BUFG                            1
     CARRY4                        966
     DSP48E1                        20
     FDRE                         7573
     FDSE                           86
     INV                           706
     LUT1                          189
     LUT2                         2659
     LUT3                         1857
     LUT4                         1078
     LUT5                         1195
     LUT6                         4493
     MUXF7                        1480
     MUXF8                         491
     RAM32M                         17
     RAM64M                         44
     RAMB18E1                        3
     RAMB36E1                       51
     SRL16E                        457

";

    #[test]
    fn stat_counts_sum_luts_ffs_brams_and_memory_luts() {
        let cells = parse_stat(SMALL_STAT).unwrap();
        assert_eq!(cells.len(), 19);
        assert_eq!(cells[0], ("BUFG".to_string(), 1));
        let c = Counts::from_cells(&cells);
        assert_eq!(c.lut_logic, 706 + 189 + 2659 + 1857 + 1078 + 1195 + 4493);
        assert_eq!(c.lut_memory, 17 * 4 + 44 * 4 + 457);
        assert_eq!(c.lut(), c.lut_logic + c.lut_memory);
        assert_eq!(c.ff, 7573 + 86);
        assert_eq!(c.carry, 966);
        assert_eq!(c.bram36, 52.5);
        assert_eq!(c.dsp, 20);
        assert_eq!(c.uram, 0);
    }

    #[test]
    fn stat_reads_the_last_block_and_refuses_text_without_one() {
        let two = "Number of cells: 3\n  LUT2 1\n  FDRE 2\n\n=== design hierarchy ===\n  Number of cells: 9\n  CARRY8 1\n  LUT6 5\n  FDCE 3\n  DSP48E2 2\n  RAMB18E2 1\n  URAM288 1\n";
        let c = Counts::from_cells(&parse_stat(two).unwrap());
        assert_eq!((c.lut(), c.ff, c.carry, c.dsp, c.bram36, c.uram), (5, 3, 1, 2, 0.5, 1));
        assert!(parse_stat("yosys printed nothing useful").is_err());
    }

    #[test]
    fn ltp_length_is_read_from_its_header() {
        let text =
            "Warning: Detected loop at x\nLongest topological path in zynqflow_top (length=14):\n    0: \\b [3]\n";
        assert_eq!(parse_ltp(text), Some(14));
        assert_eq!(
            parse_ltp("Longest topological path in a (length=3):\nLongest topological path in b (length=7):\n"),
            Some(7)
        );
        assert_eq!(parse_ltp("nothing"), None);
    }

    #[test]
    fn parts_are_found_by_device_prefix() {
        assert_eq!(part_for("xc7z020clg400-1").unwrap().lut, 53_200);
        assert_eq!(part_for("xczu3eg-sbva484-1-i").unwrap().family, Family::Xcup);
        assert_eq!(part_for("xck26-sfvc784-2LV-c").unwrap().dsp, 1_248);
        assert!(part_for("xc7a35t").is_none());
    }

    #[test]
    fn depth_counts_luts_through_carries_and_stops_at_registers() {
        // FDRE q(1) -> LUT2 (1,9)->2 -> CARRY4 (2)->3 -> LUT6 (3)->4 -> MUXF7 (4)->5 -> FDRE d(5);
        // a second chain through the register: FDRE q(5 is its D) ... LUT1 (6)->7.
        let json = r#"{"modules":{"t":{"cells":{
          "r0":{"type":"FDRE","port_directions":{"D":"input","Q":"output"},"connections":{"D":[5],"Q":[1]}},
          "a":{"type":"LUT2","port_directions":{"I0":"input","I1":"input","O":"output"},"connections":{"I0":[1],"I1":[9],"O":[2]}},
          "b":{"type":"CARRY4","port_directions":{"S":"input","CO":"output"},"connections":{"S":[2,"0"],"CO":[3]}},
          "c":{"type":"LUT6","port_directions":{"I0":"input","O":"output"},"connections":{"I0":[3],"O":[4]}},
          "d":{"type":"MUXF7","port_directions":{"I0":"input","O":"output"},"connections":{"I0":[4],"O":[5]}},
          "e":{"type":"LUT1","port_directions":{"I0":"input","O":"output"},"connections":{"I0":[1],"O":[7]}}
        },"netnames":{
          "q":{"hide_name":0,"bits":[1]},
          "d":{"hide_name":0,"bits":[4,5]},
          "$tmp":{"hide_name":1,"bits":[2]}
        }}}}"#;
        let d = netlist_depth(json, "t").unwrap();
        assert_eq!((d.lut_levels, d.cell_levels), (2, 4));
        assert_eq!((d.from.as_deref(), d.to.as_deref()), (Some("q"), Some("d[1]")));
        assert!(netlist_depth(json, "other").is_err());
    }

    #[test]
    fn the_json_report_has_the_documented_keys() {
        let e = Estimate {
            config: "small".into(),
            part: "xc7z020clg400-1".into(),
            device: PARTS[0],
            counts: Counts::from_cells(&parse_stat(SMALL_STAT).unwrap()),
            logic_levels: 9,
            cell_levels: 20,
            ltp_length: Some(40),
            worst_path: (Some("a".into()), None),
            yosys_version: "Yosys 0.23".into(),
            seconds: 150.0,
        };
        let j = e.to_json();
        for key in [
            "lut",
            "ff",
            "bram36",
            "dsp",
            "lut_capacity",
            "logic_levels",
            "carry",
            "part",
            "config",
            "lut_percent",
            "yosys_version",
            "seconds",
        ] {
            assert!(j.get(key).is_some(), "missing {key}");
        }
        assert_eq!(j["lut_capacity"], 53_200);
        assert_eq!(j["lut_percent"], (e.counts.lut() as f64 * 1000.0 / 53_200.0).round() / 10.0);
        assert!(e.render().contains("LUT levels"));
    }
}

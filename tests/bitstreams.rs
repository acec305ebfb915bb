//! The board build files, checked without Vivado or a board:
//! - each `bitstreams/BOARD/build.tcl` runs under `tclsh` against stand-in
//!   Vivado commands (`bitstreams/common/vivado_stub.tcl`) that record every
//!   call; the recorded sequence is asserted (part, PS ports and interrupt,
//!   the `zynqflow_top` module reference, fabric clock, address map, runs,
//!   bitstream), and agrees with the board's `isa` preset (part, bus width);
//! - each overlay compiles with `dtc -@` without a warning, and its
//!   register window, interrupt and firmware name match the build script;
//!   its u-dma-buf holds what the runtime allocates for both networks at
//!   384×512 (weights, activation arena, descriptor list, 4 KiB-aligned);
//! - `make bitstream` fails at once naming Vivado when it is not on PATH, and
//!   with a stand-in `vivado` it generates the Verilog and calls it with the
//!   board's script and the arguments the script parses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use zynqflow_isa::{ArrayConfig, DESCRIPTOR_BYTES};

const BOARDS: [&str; 3] = ["pynq-z2", "ultra96v2", "kv260"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    assert!(found, "`{tool}` is not installed: install the Debian package `{package}` (`make deps` does)");
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The value of `key` in a board script's `set board { ... }` block.
fn board_fact(board: &str, key: &str) -> String {
    let script = std::fs::read_to_string(root().join("bitstreams").join(board).join("build.tcl")).unwrap();
    script
        .lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(key)).then(|| it.next().unwrap_or("").to_string())
        })
        .unwrap_or_else(|| panic!("{board}/build.tcl has no `{key}`"))
}

/// Runs a board's build.tcl under the stub; returns (success, output, recorded calls).
fn run_stub(board: &str, dir: &Path, extra: &[&str], board_parts: Option<&str>) -> (bool, String, Vec<String>) {
    require("tclsh", "tcl");
    let log = dir.join(format!("{board}.calls"));
    let mut cmd = Command::new("tclsh");
    cmd.arg(root().join("bitstreams/common/vivado_stub.tcl")).arg(&log);
    if let Some(bp) = board_parts {
        cmd.args(["-board_parts", bp]);
    }
    cmd.arg(root().join("bitstreams").join(board).join("build.tcl")).arg("-tclargs").args(extra);
    let out = cmd.output().expect("tclsh runs");
    let calls = std::fs::read_to_string(&log).unwrap_or_default().lines().map(str::to_string).collect();
    (out.status.success(), text(&out), calls)
}

/// A Verilog directory as `zynqflow verilog` leaves it (only the list matters to the script).
fn fake_verilog(dir: &Path) -> PathBuf {
    let v = dir.join("v");
    std::fs::create_dir_all(&v).unwrap();
    std::fs::write(v.join("filelist.f"), "zynqflow_top.v\ntop$reader.v\n").unwrap();
    v
}

/// Index of the first recorded call starting with `prefix`, or a panic listing the calls.
fn find(calls: &[String], prefix: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no call `{prefix}…` in:\n{}", calls.join("\n")))
}

fn find_containing(calls: &[String], prefix: &str, parts: &[&str]) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix) && parts.iter().all(|p| c.contains(p)))
        .unwrap_or_else(|| panic!("no call `{prefix}…` containing {parts:?} in:\n{}", calls.join("\n")))
}

#[test]
fn build_scripts_drive_vivado_through_the_whole_flow() {
    for board in BOARDS {
        let config = ArrayConfig::by_name(board).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let v = fake_verilog(dir.path());
        let out = dir.path().join("out");
        let (ok, printed, calls) =
            run_stub(board, dir.path(), &["-verilog", v.to_str().unwrap(), "-out", out.to_str().unwrap()], None);
        assert!(ok, "{board}: {printed}");
        let part = format!("-part {}", config.part);
        let project = find_containing(&calls, "create_project", &[&part]);
        let files = find_containing(&calls, "add_files", &["zynqflow_top.v", "top$reader.v"]);
        let bd = find(&calls, "create_bd_design");
        let hp_width = (u32::from(config.bus_bytes) * 8).to_string();
        let ps = if board == "pynq-z2" {
            let ps = find(&calls, "create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7 ");
            find_containing(
                &calls,
                "set_property -dict",
                &[
                    "CONFIG.PCW_USE_S_AXI_HP0 1",
                    &format!("CONFIG.PCW_S_AXI_HP0_DATA_WIDTH {hp_width}"),
                    "CONFIG.PCW_USE_M_AXI_GP0 1",
                    "CONFIG.PCW_USE_FABRIC_INTERRUPT 1",
                    "CONFIG.PCW_IRQ_F2P_INTR 1",
                    "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ 100",
                ],
            );
            find(&calls, "connect_bd_net zynqflow_0/interrupt processing_system7_0/IRQ_F2P");
            find(&calls, "connect_bd_intf_net smartconnect_mem/M00_AXI processing_system7_0/S_AXI_HP0");
            ps
        } else {
            let ps = find(&calls, "create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e ");
            find_containing(
                &calls,
                "set_property -dict",
                &[
                    "CONFIG.PSU__USE__S_AXI_GP2 1",
                    &format!("CONFIG.PSU__SAXIGP2__DATA_WIDTH {hp_width}"),
                    "CONFIG.PSU__USE__M_AXI_GP0 1",
                    "CONFIG.PSU__USE__IRQ0 1",
                    "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ 100",
                ],
            );
            find(&calls, "connect_bd_net zynqflow_0/interrupt zynq_ultra_ps_e_0/pl_ps_irq0");
            find(&calls, "connect_bd_intf_net smartconnect_mem/M00_AXI zynq_ultra_ps_e_0/S_AXI_HP0_FPD");
            ps
        };
        let module = find(&calls, "create_bd_cell -type module -reference zynqflow_top zynqflow_0");
        find(&calls, "set_property CONFIG.FREQ_HZ 100000000 zynqflow_0/ap_clk");
        find(&calls, "connect_bd_intf_net smartconnect_ctrl/M00_AXI zynqflow_0/s_axi_control");
        find(&calls, "connect_bd_intf_net zynqflow_0/m_axi_gmem smartconnect_mem/S00_AXI");
        find_containing(&calls, "connect_bd_net", &["proc_sys_reset_0/slowest_sync_clk", "zynqflow_0/ap_clk"]);
        find(&calls, "connect_bd_net proc_sys_reset_0/peripheral_aresetn zynqflow_0/ap_rst_n");
        let reg = find_containing(
            &calls,
            "assign_bd_address",
            &[&format!("-offset {}", board_fact(board, "reg_base")), "zynqflow_0/s_axi_control/*"],
        );
        let dma = find_containing(
            &calls,
            "assign_bd_address",
            &["-target_address_space zynqflow_0/m_axi_gmem", &board_fact(board, "dma_seg")],
        );
        let validate = find(&calls, "validate_bd_design");
        let wrapper = find(&calls, "make_wrapper");
        let synth = find(&calls, "launch_runs synth_1");
        let impl_ = find(&calls, "launch_runs impl_1");
        let timing = find(&calls, "report_timing_summary");
        let util = find(&calls, "report_utilization");
        let bit =
            find(&calls, &format!("write_bitstream -force {}", out.join(format!("zynqflow-{board}.bit")).display()));
        let order = [project, files, bd, ps, module, reg, dma, validate, wrapper, synth, impl_, timing, util, bit];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{board}: calls out of order {order:?}:\n{}", calls.join("\n"));
        // The board part is not installed here: the bare part, no preset.
        assert!(!calls.iter().any(|c| c.starts_with("set_property board_part")), "{board}");
        assert!(out.join("build-summary.txt").is_file() && out.join("BIN-NOTE.txt").is_file(), "{board}");
        assert!(printed.contains("fabric clock requested 100 MHz"), "{board}: {printed}");
        println!("{board}: {} Vivado calls recorded, in order", calls.len());
    }
}

#[test]
fn build_scripts_take_the_clock_and_the_board_part() {
    for board in BOARDS {
        let dir = tempfile::tempdir().unwrap();
        let v = fake_verilog(dir.path());
        let bp = board_fact(board, "board_part");
        let o = dir.path().join("o");
        let args = ["-verilog", v.to_str().unwrap(), "-out", o.to_str().unwrap(), "-fclk_mhz", "150", "-jobs", "4"];
        let (ok, printed, calls) = run_stub(board, dir.path(), &args, Some(&bp));
        assert!(ok, "{board}: {printed}");
        find(&calls, &format!("set_property board_part {bp} project"));
        find_containing(&calls, "apply_bd_automation", &["apply_board_preset"]);
        let freq = if board == "pynq-z2" {
            "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ 150"
        } else {
            "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ 150"
        };
        find_containing(&calls, "set_property -dict", &[freq]);
        find(&calls, "set_property CONFIG.FREQ_HZ 150000000 zynqflow_0/m_axi_gmem");
        find(&calls, "launch_runs impl_1 -jobs 4");
    }
}

#[test]
fn build_scripts_refuse_missing_verilog_and_unknown_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, printed, calls) = run_stub("pynq-z2", dir.path(), &["-verilog", "/nonexistent/v", "-out", "o"], None);
    assert!(!ok && printed.contains("filelist.f") && printed.contains("zynqflow verilog"), "{printed}");
    assert!(calls.is_empty(), "nothing may run before the arguments are checked: {calls:?}");
    let (ok, printed, _) = run_stub("kv260", dir.path(), &["-verilog", "v", "-out", "o", "-fclk", "100"], None);
    assert!(!ok && printed.contains("unknown argument -fclk"), "{printed}");
    let (ok, printed, _) = run_stub("ultra96v2", dir.path(), &["-out", "o"], None);
    assert!(!ok && printed.contains("missing -verilog"), "{printed}");
}

/// `(node, property)` → value lines of a decompiled overlay.
fn decompile(dtbo: &Path) -> String {
    let out = Command::new("dtc").args(["-I", "dtb", "-O", "dts"]).arg(dtbo).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The u-dma-buf size an overlay declares, in bytes.
fn udmabuf_bytes(dts: &str) -> u64 {
    let at = dts.find("ikwzm,u-dma-buf").expect("a u-dma-buf node");
    let size = dts[at..].find("size = <").expect("a size") + at + "size = <".len();
    let cells: Vec<u64> = dts[size..]
        .split('>')
        .next()
        .unwrap()
        .split_whitespace()
        .map(|c| u64::from_str_radix(c.trim_start_matches("0x"), 16).unwrap())
        .collect();
    cells.iter().fold(0, |acc, c| acc << 32 | c)
}

#[test]
fn overlays_compile_and_match_the_build_scripts() {
    require("dtc", "device-tree-compiler");
    let dir = tempfile::tempdir().unwrap();
    for board in BOARDS {
        let src = root().join("bitstreams").join(board).join("zynqflow.dtso");
        let dtbo = dir.path().join(format!("{board}.dtbo"));
        let out =
            Command::new("dtc").args(["-@", "-I", "dts", "-O", "dtb", "-o"]).arg(&dtbo).arg(&src).output().unwrap();
        assert!(out.status.success(), "{board}: dtc failed:\n{}", text(&out));
        assert!(text(&out).trim().is_empty(), "{board}: dtc warned:\n{}", text(&out));
        let dts = decompile(&dtbo);
        let base = u64::from_str_radix(board_fact(board, "reg_base").trim_start_matches("0x"), 16).unwrap();
        let (reg, irq, parent) = if board == "pynq-z2" {
            (format!("reg = <{base:#x} 0x10000>;"), "interrupts = <0x00 0x1d 0x04>;", "intc")
        } else {
            (format!("reg = <0x00 {base:#x} 0x00 0x10000>;"), "interrupts = <0x00 0x59 0x04>;", "gic")
        };
        assert_eq!(board_fact(board, "reg_range"), "64K", "{board}");
        for want in [
            format!("zynqflow@{base:x} {{"),
            "compatible = \"generic-uio\";".to_string(),
            reg,
            irq.to_string(),
            format!("firmware-name = \"zynqflow-{board}.bit.bin\";"),
            "compatible = \"ikwzm,u-dma-buf\";".to_string(),
            "device-name = \"udmabuf0\";".to_string(),
        ] {
            assert!(dts.contains(&want), "{board}: no `{want}` in:\n{dts}");
        }
        // The labels the overlay needs from the base tree are left as fixups.
        for label in ["fpga_full", "amba", parent] {
            assert!(
                dts.contains(&format!("{label} = ")) || dts.contains(&format!("&{label}")),
                "{board}: no fixup for {label}:\n{dts}"
            );
        }
        if board != "pynq-z2" {
            assert!(dts.contains("dma-mask = <0x20>;"), "{board}: the u-dma-buf must lie below 4 GiB");
        }
    }
}

fn align_4k(n: usize) -> u64 {
    (n as u64).div_ceil(4096) * 4096
}

#[test]
fn udmabuf_holds_both_networks_at_384x512() {
    use zynqflow_driver::compiler::compile;
    use zynqflow_driver::cpu::QuantNet;
    use zynqflow_driver::graph::Graph;
    use zynqflow_driver::weights::synth;
    require("dtc", "device-tree-compiler");
    let dir = tempfile::tempdir().unwrap();
    for board in BOARDS {
        let caps = ArrayConfig::by_name(board).unwrap().capabilities();
        let src = root().join("bitstreams").join(board).join("zynqflow.dtso");
        let dtbo = dir.path().join("o.dtbo");
        assert!(Command::new("dtc")
            .args(["-@", "-I", "dts", "-O", "dtb", "-o"])
            .arg(&dtbo)
            .arg(&src)
            .status()
            .unwrap()
            .success());
        let have = udmabuf_bytes(&decompile(&dtbo));
        for net in ["lmflownets", "flownets"] {
            let g = Graph::by_name(net, 384, 512).unwrap();
            let q = QuantNet::new(g.clone(), &synth::synthesize(&g, 0)).unwrap();
            let p = compile(&q, &caps).unwrap();
            // What `Accelerator::load` allocates: weights, arena, descriptors.
            let need = align_4k(p.image.weights.len())
                + align_4k(p.image.arena_bytes)
                + align_4k(p.image.commands.len() * DESCRIPTOR_BYTES);
            println!(
                "{board} {net}: weights {} + arena {} + {} descriptors = {need} bytes ({:.1} MiB) of {have} ({:.0} MiB)",
                p.image.weights.len(),
                p.image.arena_bytes,
                p.image.commands.len(),
                need as f64 / 1048576.0,
                have as f64 / 1048576.0
            );
            assert!(need <= have, "{board} {net}: needs {need} bytes, the overlay's u-dma-buf has {have}");
        }
    }
}

fn make(args: &[&str], path: &str) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new("make")
        .arg("-C")
        .arg(root())
        .args(args)
        .env("PATH", path)
        .output()
        .expect("make runs (make deps)");
    (out, start.elapsed())
}

#[test]
fn make_bitstream_without_vivado_fails_at_once_naming_it() {
    require("make", "make");
    let dir = tempfile::tempdir().unwrap();
    // A PATH with make and the shell tools but no vivado.
    let path = "/usr/bin:/bin";
    assert!(
        !Path::new("/usr/bin/vivado").exists() && !Path::new("/bin/vivado").exists(),
        "vivado is installed system-wide"
    );
    let out_dir = dir.path().join("out");
    let (out, took) = make(&["bitstream", "BOARD=pynq-z2", &format!("BITSTREAM_OUT={}", out_dir.display())], path);
    let t = text(&out);
    println!("{t}");
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("Vivado") && t.contains("not on PATH") && t.contains("Install AMD Vivado"), "{t}");
    assert!(took < Duration::from_secs(10), "took {took:?}: it must fail before building anything");
    assert!(!out_dir.exists(), "nothing may be generated without Vivado");
}

#[test]
fn make_bitstream_generates_the_verilog_and_runs_vivado_in_batch() {
    require("make", "make");
    require("dtc", "device-tree-compiler");
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("vivado");
    let args_file = dir.path().join("vivado.args");
    std::fs::write(&fake, format!("#!/bin/sh\necho \"$@\" > '{}'\n", args_file.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = dir.path().join("out");
    let path = std::env::var("PATH").unwrap();
    let common = [
        format!("VIVADO={}", fake.display()),
        "CARGO=true".to_string(),
        format!("BIN={}", env!("CARGO_BIN_EXE_zynqflow")),
        format!("BITSTREAM_OUT={}", out_dir.display()),
    ];
    let mut args: Vec<&str> = vec!["bitstream", "BOARD=ultra96v2", "BOARD_CONFIG=small"];
    args.extend(common.iter().map(String::as_str));
    let (out, _) = make(&args, &path);
    assert!(out.status.success(), "{}", text(&out));
    let called = std::fs::read_to_string(&args_file).expect("vivado was called");
    let verilog = out_dir.join("verilog");
    for want in [
        "-mode batch".to_string(),
        "-source bitstreams/ultra96v2/build.tcl".to_string(),
        format!("-tclargs -verilog {} -out {} -fclk_mhz 100", verilog.display(), out_dir.display()),
    ] {
        assert!(called.contains(&want), "vivado called with `{called}`, expected `{want}`");
    }
    let list = std::fs::read_to_string(verilog.join("filelist.f")).expect("the Verilog and its file list");
    assert_eq!(list.lines().next(), Some("zynqflow_top.v"));
    assert!(out_dir.join("zynqflow.dtbo").is_file(), "the overlay is compiled next to the bitstream");

    // An unknown board is refused before anything runs.
    let mut args: Vec<&str> = vec!["bitstream", "BOARD=zcu104"];
    args.extend(common.iter().map(String::as_str));
    let (out, _) = make(&args, &path);
    assert!(!out.status.success() && text(&out).contains("unknown BOARD 'zcu104'"), "{}", text(&out));
}

//! The board binary (`--no-default-features`) must not pull in rust-hdl or
//! Verilator (DESIGN.md's dependency rule); the default build has both crates.

use std::process::Command;

fn tree(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal,build", "--prefix", "none", "-p", "zynqflow"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(o.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn board_build_has_neither_rust_hdl_nor_verilator() {
    let board = tree(&["--no-default-features"]);
    for banned in ["rust-hdl", "rust_hdl", "zynqflow-hdl", "zynqflow-sim", "verilat"] {
        assert!(!board.lines().any(|l| l.contains(banned)), "board build depends on {banned}:\n{board}");
    }
    assert!(board.contains("zynqflow-driver"), "{board}");
    let full = tree(&[]);
    assert!(full.contains("zynqflow-hdl") && full.contains("zynqflow-sim"), "{full}");
}

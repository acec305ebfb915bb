//! Generated documents are committed; these tests fail when the code they
//! are generated from has changed without them.

#[test]
fn registers_md_matches_the_isa_crate() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/registers.md");
    let committed = std::fs::read_to_string(path).expect("docs/registers.md is committed");
    let fresh = zynqflow_isa::doc::registers_markdown();
    assert!(
        committed == fresh,
        "docs/registers.md is stale: regenerate it with `cargo run --release -- isa doc --out docs/registers.md`"
    );
}

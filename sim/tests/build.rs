//! The build step: cached libraries, and a clear error without Verilator.

use zynqflow_isa::ArrayConfig;
use zynqflow_sim::{build, BuildOptions, SimError};

#[test]
fn a_second_build_comes_from_the_cache_and_a_missing_verilator_is_named() {
    let opts = BuildOptions::default();
    let first = build(&ArrayConfig::small(), &opts).unwrap_or_else(|e| panic!("{e}"));
    let again = build(&ArrayConfig::small(), &opts).unwrap();
    assert_eq!(again.lib, first.lib);
    assert!(again.build_seconds.is_none(), "rebuilt a cached configuration");
    assert!(first.dir.file_name().unwrap().to_string_lossy().starts_with("small-"));
    assert!(first.dir.join("zynqflow_top.v").is_file() && first.dir.join("build.log").is_file());

    // Without tools on the PATH (last: the variable is process-wide).
    let path = std::env::var_os("PATH");
    std::env::set_var("PATH", "");
    let e = build(&ArrayConfig::small(), &opts).unwrap_err();
    if let Some(p) = path {
        std::env::set_var("PATH", p);
    }
    assert!(matches!(e, SimError::MissingTool { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("`verilator` is not installed") && text.contains("make deps"), "{text}");
}

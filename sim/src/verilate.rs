//! The build: hdl's Verilog → Verilator → the C++ harness (`csrc/shim.cpp`)
//! → a shared library, cached so that a configuration is verilated once.
//!
//! Cache layout: `<root>/zynqflow-sim/<config>-<hash>/libzfsim.so`, where
//! `<hash>` covers the generated Verilog, the shim's source, the flags and the
//! Verilator version: any change to one of them builds a new library beside
//! the old ones (delete `<root>/zynqflow-sim` to reclaim the space). The root
//! is [`BuildOptions::cache_root`], else `$ZYNQFLOW_SIM_CACHE`, else
//! `$CARGO_TARGET_DIR`, else the `target/` directory the running executable
//! lies in, else the system temp directory.
//!
//! A build happens in a private temporary directory and is renamed into
//! place when complete, so concurrent processes never load a half-written
//! library; inside one process a lock serializes builds.

use crate::SimError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;
use zynqflow_isa::ArrayConfig;

/// The harness source, compiled into every library.
pub const SHIM_SOURCE: &str = include_str!("../csrc/shim.cpp");

/// File name of the library inside a cache entry.
pub const LIB_NAME: &str = "libzfsim.so";

/// Verilator's own flags (besides the harness and output names).
pub const VERILATOR_FLAGS: &[&str] =
    &["-O3", "--x-assign", "fast", "--x-initial", "fast", "--trace-fst", "-Wno-fatal", "-Wno-lint", "-Wno-style"];

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Cache root (a `zynqflow-sim/` directory is made in it); see the module docs.
    pub cache_root: Option<PathBuf>,
    /// Optimization flag for the generated C++ (`-O1`, `-O2`, …); default
    /// [`default_cxx_opt`].
    pub cxx_opt: Option<String>,
    /// Parallel compile jobs (default: the machine's cores).
    pub jobs: Option<usize>,
    /// Verilog to build instead of the preset's generated one (same top
    /// module and ports): a patched design, e.g. with a planted bug to check
    /// that the tests catch it. Cached under its own hash like any other.
    pub verilog: Option<String>,
}

/// A built (or found) library.
#[derive(Debug, Clone)]
pub struct Built {
    /// The shared library.
    pub lib: PathBuf,
    /// Its cache directory (holds `build.log` and the Verilog).
    pub dir: PathBuf,
    /// Seconds the build took, `None` when it came from the cache.
    pub build_seconds: Option<f64>,
}

/// The C++ optimization used when none is given: `-O1` for every preset.
///
/// Measured on this 2-core machine (docs/simulation.md): for `small`, `-O1`
/// builds in about a third of the time of `-O2` and runs within a few percent
/// of it, since Verilator's own `-O3` has already done the heavy lifting.
pub fn default_cxx_opt(_config: &ArrayConfig) -> &'static str {
    "-O1"
}

/// The cache root used when [`BuildOptions::cache_root`] is not given.
pub fn default_cache_root() -> PathBuf {
    for var in ["ZYNQFLOW_SIM_CACHE", "CARGO_TARGET_DIR"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return PathBuf::from(v);
        }
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(t) = exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "target")) {
            return t.to_path_buf();
        }
    }
    std::env::temp_dir().join("zynqflow-target")
}

/// FNV-1a, 64 bits: a stable content hash (std's hasher may change between
/// Rust releases, which would rebuild every cache entry for nothing).
fn fnv64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter().chain(&[0xffu8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Fails unless `tool` runs, naming it and `make deps`.
fn require(tool: &str, package: &str) -> Result<String, SimError> {
    match Command::new(tool).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string()),
        _ => Err(SimError::MissingTool { tool: tool.to_string(), package: package.to_string() }),
    }
}

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Builds (or finds in the cache) the simulation library of `config`.
pub fn build(config: &ArrayConfig, opts: &BuildOptions) -> Result<Built, SimError> {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let verilator = require("verilator", "verilator")?;
    let verilog = match &opts.verilog {
        Some(v) => v.clone(),
        None => zynqflow_hdl::accelerator_verilog(config).map_err(SimError::Config)?,
    };
    let opt = opts.cxx_opt.clone().unwrap_or_else(|| default_cxx_opt(config).to_string());
    let data_bits = u32::from(config.bus_bytes) * 8;
    let flags = format!("{} {opt} D={data_bits}", VERILATOR_FLAGS.join(" "));
    let hash = fnv64(&[verilog.as_bytes(), SHIM_SOURCE.as_bytes(), flags.as_bytes(), verilator.as_bytes()]);
    let root = opts.cache_root.clone().unwrap_or_else(default_cache_root).join("zynqflow-sim");
    let dir = root.join(format!("{}-{hash:016x}", config.name));
    let lib = dir.join(LIB_NAME);
    if lib.is_file() {
        return Ok(Built { lib, dir, build_seconds: None });
    }
    require("g++", "g++ (build-essential)")?;
    require("make", "make")?;
    let t0 = Instant::now();
    let tmp = root.join(format!(".{}-{hash:016x}.tmp-{}", config.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let io = |what: &str, p: &Path, e: std::io::Error| SimError::Build(format!("{what} {}: {e}", p.display()));
    std::fs::create_dir_all(&tmp).map_err(|e| io("creating", &tmp, e))?;
    let v_path = tmp.join("zynqflow_top.v");
    std::fs::write(&v_path, &verilog).map_err(|e| io("writing", &v_path, e))?;
    let shim = tmp.join("shim.cpp");
    std::fs::write(&shim, SHIM_SOURCE).map_err(|e| io("writing", &shim, e))?;
    let jobs = opts.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut args: Vec<String> = vec!["--cc".into(), "--exe".into(), "--build".into(), "-j".into(), jobs.to_string()];
    args.extend(VERILATOR_FLAGS.iter().map(|s| s.to_string()));
    args.extend([
        "--top-module".into(),
        zynqflow_hdl::TOP_MODULE.into(),
        "--Mdir".into(),
        "obj".into(),
        "-CFLAGS".into(),
        format!("-fPIC -DZF_DATA_BITS={data_bits}"),
        "-LDFLAGS".into(),
        "-shared".into(),
        "-MAKEFLAGS".into(),
        format!("OPT_FAST={opt} OPT_SLOW={opt} OPT_GLOBAL={opt}"),
        "-o".into(),
        LIB_NAME.into(),
        "shim.cpp".into(),
        "zynqflow_top.v".into(),
    ]);
    log::info!("verilating {} into {} (a few minutes for the larger presets)", config.name, dir.display());
    let out = Command::new("verilator")
        .args(&args)
        .current_dir(&tmp)
        .output()
        .map_err(|e| SimError::Build(format!("running verilator: {e}")))?;
    let log_text = format!(
        "verilator {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log_path = tmp.join("build.log");
    std::fs::write(&log_path, &log_text).map_err(|e| io("writing", &log_path, e))?;
    let built = tmp.join("obj").join(LIB_NAME);
    if !out.status.success() || !built.is_file() {
        let tail: Vec<&str> = log_text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(SimError::Build(format!(
            "verilator build of `{}` failed (log in {}):\n{}",
            config.name,
            log_path.display(),
            tail.join("\n")
        )));
    }
    std::fs::copy(&built, tmp.join(LIB_NAME)).map_err(|e| io("copying", &built, e))?;
    // Keep the Verilog and log; drop the objects (tens of MB for big presets).
    let _ = std::fs::remove_dir_all(tmp.join("obj"));
    let seconds = t0.elapsed().as_secs_f64();
    let _ = std::fs::write(tmp.join("build_seconds"), format!("{seconds:.1}\n"));
    match std::fs::rename(&tmp, &dir) {
        Ok(()) => {}
        // Another process finished the same build first: use its library.
        Err(_) if lib.is_file() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(io("moving the build into", &dir, e)),
    }
    log::info!("built {} in {seconds:.1} s", lib.display());
    Ok(Built { lib, dir, build_seconds: Some(seconds) })
}

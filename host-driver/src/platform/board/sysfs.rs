//! Paths under `--root` and the small text files of sysfs: reading numbers
//! in the kernel's formats and writing attributes without ever blocking.

use super::BoardError;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `abs` (an absolute path such as `/sys/class/uio`) under `root`.
pub fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// The trimmed text of a sysfs attribute.
pub fn read_attr(path: &Path) -> Result<String, BoardError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|source| BoardError::Io { path: path.into(), source })
}

/// A number as sysfs prints it: `0x` hex, or decimal.
pub fn parse_number(path: &Path, text: &str) -> Result<u64, BoardError> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|_| BoardError::Attr { path: path.into(), what: format!("'{t}' is not a number") })
}

/// Reads a numeric attribute.
pub fn read_number(path: &Path) -> Result<u64, BoardError> {
    parse_number(path, &read_attr(path)?)
}

/// Writes `value` and a newline to an attribute in one `write()`. Opened
/// with `O_NONBLOCK`: harmless on sysfs, and on the emulator's FIFOs an
/// absent reader is an error (ENXIO) instead of a hang.
pub fn write_attr(path: &Path, value: &str) -> Result<(), BoardError> {
    let io = |source| BoardError::Io { path: path.into(), source };
    let mut f = std::fs::OpenOptions::new().write(true).custom_flags(nix::libc::O_NONBLOCK).open(path).map_err(io)?;
    f.write_all(format!("{value}\n").as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_both_kernel_formats() {
        let p = Path::new("x");
        assert_eq!(parse_number(p, "0x00001000\n").unwrap(), 4096);
        assert_eq!(parse_number(p, "4096").unwrap(), 4096);
        assert_eq!(parse_number(p, "0x000000001f300000").unwrap(), 0x1f30_0000);
        assert!(parse_number(p, "zz").unwrap_err().to_string().contains("'zz' is not a number"));
        assert_eq!(under(Path::new("/tmp/r"), "/dev/uio0"), PathBuf::from("/tmp/r/dev/uio0"));
        assert_eq!(under(Path::new("/"), "/dev/uio0"), PathBuf::from("/dev/uio0"));
    }
}

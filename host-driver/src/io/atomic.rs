//! Atomic file replacement: a reader never sees a half-written file.
//!
//! The bytes go to a uniquely named temporary file in the target's directory
//! (`.NAME.tmp.PID.N`), which is flushed to disk and then renamed over the
//! target. On any failure the temporary file is removed.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::IoError;

/// Distinguishes temporary files made by concurrent writes in this process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: either the old content (or no file)
/// or the complete new content is visible, never a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_atomic_as("file", path, bytes)
}

/// [`write_atomic`] with `kind` ("flow file", "image", ...) used in errors.
pub(crate) fn write_atomic_as(kind: &'static str, path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let name = path.file_name().ok_or_else(|| IoError::NotAFilePath { kind, path: path.to_path_buf() })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let write_err = |err: std::io::Error| IoError::Write { kind, path: path.to_path_buf(), err };

    // Open a temporary name nobody else uses (create_new fails if it exists).
    let (tmp, file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{}.tmp.{}.{}", name.to_string_lossy(), std::process::id(), n));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_err(e)),
        }
    };

    match fill_and_rename(file, &tmp, path, bytes) {
        Ok(()) => {
            sync_dir(&dir);
            Ok(())
        }
        Err(e) => {
            // Best effort: the original error is the one worth reporting.
            let _ = fs::remove_file(&tmp);
            Err(write_err(e))
        }
    }
}

/// Writes, syncs and closes the temporary file, then renames it over `path`.
fn fill_and_rename(mut file: File, tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)
}

/// Makes the rename durable where the platform allows (errors are ignored:
/// the file is already complete and in place).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_leaving_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.bin");
        write_atomic(&p, b"first").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"first");
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second, longer");
        assert_eq!(entries(d.path()), vec!["out.bin".to_string()]);
    }

    #[test]
    fn missing_directory_fails_and_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("no-such-dir").join("out.bin");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(matches!(e, IoError::Write { .. }), "{e:?}");
        assert!(e.to_string().contains("out.bin"), "{e}");
        assert!(entries(d.path()).is_empty());
    }

    #[test]
    fn failed_rename_removes_the_temporary() {
        // Renaming a file over a non-empty directory fails after the
        // temporary has been written.
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"k").unwrap();
        assert!(write_atomic(&target, b"data").is_err());
        assert_eq!(entries(d.path()), vec!["target".to_string()]);
        assert_eq!(entries(&target), vec!["keep".to_string()]);
    }

    #[test]
    fn path_without_file_name_is_rejected() {
        let e = write_atomic(Path::new("/"), b"x").unwrap_err();
        assert!(matches!(e, IoError::NotAFilePath { .. }), "{e:?}");
    }
}

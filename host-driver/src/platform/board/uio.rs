//! The UIO side of the board: finding the accelerator's device by name,
//! opening it under an exclusive lock, and its interrupt protocol — write a
//! `u32` 1 to unmask, `poll()` for readability, read the 4-byte event count
//! (REFERENCE.md §4).

use super::sysfs::{read_attr, under};
use super::BoardError;
use nix::fcntl::{Flock, FlockArg};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Finds `<root>/sys/class/uio/uioN` whose `name` is `name`; returns N.
pub fn find(root: &Path, name: &str) -> Result<u32, BoardError> {
    let dir = under(root, "/sys/class/uio");
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut entries: Vec<_> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        entries.sort();
        for entry in entries {
            let Some(n) = entry.strip_prefix("uio").and_then(|n| n.parse::<u32>().ok()) else { continue };
            let this = read_attr(&dir.join(&entry).join("name")).unwrap_or_default();
            if this == name {
                return Ok(n);
            }
            found.push(format!("{entry} '{this}'"));
        }
    }
    let found = if found.is_empty() {
        String::from(" (no UIO devices there)")
    } else {
        format!(" (found: {})", found.join(", "))
    };
    Err(BoardError::NotFound { what: format!("UIO device named '{name}'"), dir, found })
}

/// Opens a device file read-write and takes an exclusive, non-blocking
/// `flock` on it; a second opener gets [`BoardError::Busy`] naming the
/// holder when `/proc/locks` tells it.
pub fn open_locked(path: &Path) -> Result<Flock<File>, BoardError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        // A UIO node is no terminal, but the emulator's stand-in is a pty:
        // never let it become the controlling terminal.
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| BoardError::Io { path: path.into(), source })?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(f) => Ok(f),
        Err((file, nix::errno::Errno::EWOULDBLOCK)) => {
            Err(BoardError::Busy { path: path.into(), holder: holder(&file) })
        }
        Err((_, e)) => Err(BoardError::Io { path: path.into(), source: e.into() }),
    }
}

/// Who holds the flock on `file`, from `/proc/locks` (the real one: it is
/// about processes, not the device tree under `--root`).
fn holder(file: &File) -> String {
    let Ok(meta) = file.metadata() else { return "another process".into() };
    let (dev, ino) = (meta.dev(), meta.ino());
    let id = format!("{:02x}:{:02x}:{ino}", nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    for line in locks.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"
        if f.len() >= 6 && f[1] == "FLOCK" && f[5] == id {
            let pid = f[4];
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            return format!("process {pid} ({})", comm.trim());
        }
    }
    "another process".into()
}

/// The interrupt side of an open UIO device.
pub struct UioIrq {
    file: Flock<File>,
    path: PathBuf,
}

/// What one wait for the interrupt saw.
#[derive(Debug, PartialEq, Eq)]
pub enum IrqEvent {
    /// An event (the count read).
    Fired(u32),
    /// The deadline passed.
    TimedOut,
}

impl UioIrq {
    /// Wraps the locked device file.
    pub fn new(file: Flock<File>, path: PathBuf) -> Self {
        UioIrq { file, path }
    }

    fn io(&self, source: std::io::Error) -> BoardError {
        // A device that went away fails reads and writes with EIO (a UIO
        // device unregistered, a pty whose master closed) or end-of-file:
        // say so, rather than the bare OS error.
        if source.raw_os_error() == Some(nix::libc::EIO) || source.kind() == std::io::ErrorKind::UnexpectedEof {
            return self.gone(&source.to_string());
        }
        BoardError::Io { path: self.path.clone(), source }
    }

    /// The device's interrupt channel hung up or failed (`how`): the device
    /// is gone if its file is, else it stopped answering.
    fn gone(&self, how: &str) -> BoardError {
        let what = if self.path.exists() {
            format!("the device stopped answering: its interrupt channel hung up ({how}); was the driver unbound or the emulator stopped?")
        } else {
            format!(
                "the device is gone: its interrupt channel hung up ({how}) and {} no longer exists (driver unbound, bitstream reloaded, or the emulator stopped)",
                self.path.display()
            )
        };
        BoardError::Attr { path: self.path.clone(), what }
    }

    /// Reads and drops events already pending, so a wait sees only
    /// interrupts raised after it unmasked. (A level interrupt still
    /// asserted fires again as soon as it is unmasked.)
    pub fn drain(&mut self) -> Result<(), BoardError> {
        while self.ready(PollTimeout::ZERO)? {
            let mut count = [0u8; 4];
            self.file.read_exact(&mut count).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Whether the device is readable within `timeout`; a hang-up or error
    /// on the file is an error naming the device (checked before
    /// readability: a hung-up tty also polls readable, then reads nothing).
    fn ready(&self, timeout: PollTimeout) -> Result<bool, BoardError> {
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        loop {
            match poll(&mut fds, timeout) {
                Ok(0) => return Ok(false),
                Ok(_) => {
                    let r = fds[0].revents().unwrap_or(PollFlags::empty());
                    if r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
                        || !r.contains(PollFlags::POLLIN)
                    {
                        return Err(self.gone(&format!("poll revents {r:?}")));
                    }
                    return Ok(true);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(self.io(e.into())),
            }
        }
    }

    /// Unmasks the interrupt (`write` of a `u32` 1).
    pub fn unmask(&mut self) -> Result<(), BoardError> {
        self.file.write_all(&1u32.to_ne_bytes()).map_err(|e| self.io(e))
    }

    /// Waits for one event until `deadline`: poll with the remaining time
    /// (rounded up to whole milliseconds), then read the 4-byte count.
    pub fn wait(&mut self, deadline: Instant) -> Result<IrqEvent, BoardError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(IrqEvent::TimedOut);
            }
            let ms = u32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX as u32).min(i32::MAX as u32);
            let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            if self.ready(timeout)? {
                let mut count = [0u8; 4];
                self.file.read_exact(&mut count).map_err(|e| self.io(e))?;
                return Ok(IrqEvent::Fired(u32::from_ne_bytes(count)));
            }
        }
    }
}

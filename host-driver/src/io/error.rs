//! The error type of the file I/O module.
//!
//! Every message is a single line that starts with what the file is and its
//! path (`frame 'a.png': ...`, `flow file 'x.flo': ...`) followed by the
//! problem, so that a command-line tool can print it as it is. Image sizes in
//! messages are written `WIDTHxHEIGHT`, as image tools do; a suggested
//! `--size` value is written `HxW`, the command line's order.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// A failure to read, decode, encode or write a frame, flow or image file.
#[derive(Debug, Error)]
pub enum IoError {
    /// The file (or a directory on its path) does not exist.
    #[error("{kind} '{}': no such file", .path.display())]
    NotFound {
        /// What the file is ("frame", "flow file", ...).
        kind: &'static str,
        /// The file.
        path: PathBuf,
    },

    /// Reading the file failed for a reason other than its absence.
    #[error("{kind} '{}': cannot read ({err})", .path.display())]
    Read {
        /// What the file is.
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        err: std::io::Error,
    },

    /// Writing the file (or its temporary sibling) failed.
    #[error("{kind} '{}': cannot write ({err})", .path.display())]
    Write {
        /// What the file is.
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        err: std::io::Error,
    },

    /// The path cannot name a file (it has no file-name component).
    #[error("{kind} '{}': not a file path", .path.display())]
    NotAFilePath {
        /// What the file is.
        kind: &'static str,
        /// The path.
        path: PathBuf,
    },

    /// The file's content is neither a PNG nor a PNM (PPM/PGM/PBM/PAM) image.
    #[error("frame '{}': not a PNG or PPM image ({reason})", .path.display())]
    NotAnImage {
        /// The file.
        path: PathBuf,
        /// What was found instead (one line).
        reason: String,
    },

    /// The file looks like an image but could not be decoded.
    #[error("{kind} '{}': cannot decode ({reason})", .path.display())]
    Decode {
        /// What the file is.
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// The decoder's message (one line).
        reason: String,
    },

    /// An image could not be encoded for writing.
    #[error("{kind} '{}': cannot encode ({reason})", .path.display())]
    Encode {
        /// What the file is.
        kind: &'static str,
        /// The file that was to be written.
        path: PathBuf,
        /// The encoder's message (one line).
        reason: String,
    },

    /// The second frame of a pair does not have the first frame's size.
    #[error(
        "frame '{}': size {}x{} differs from the first frame's {}x{} ('{}')",
        .path.display(), .size.0, .size.1, .first_size.0, .first_size.1, .first.display()
    )]
    SizeMismatch {
        /// The second frame.
        path: PathBuf,
        /// Its size, (width, height).
        size: (usize, usize),
        /// The first frame.
        first: PathBuf,
        /// Its size, (width, height).
        first_size: (usize, usize),
    },

    /// The frames are used at their own size, which the network cannot take.
    #[error(
        "frame '{}': size {}x{} is not a multiple of 64 in both dimensions; \
         pass --size HxW to resize the frames (e.g. --size {}x{})",
        .path.display(), .size.0, .size.1, .suggested.1, .suggested.0
    )]
    NotMultipleOf64 {
        /// The first frame.
        path: PathBuf,
        /// Its size, (width, height).
        size: (usize, usize),
        /// The nearest size that is a multiple of 64, (width, height).
        suggested: (usize, usize),
    },

    /// The frames are used at their own size, larger than the network takes.
    #[error(
        "frame '{}': size {}x{} is larger than the network takes ({max} in each dimension at most); \
         pass --size HxW to resize the frames (e.g. --size {}x{})",
        .path.display(), .size.0, .size.1, .suggested.1, .suggested.0
    )]
    TooLarge {
        /// The first frame.
        path: PathBuf,
        /// Its size, (width, height).
        size: (usize, usize),
        /// The largest side.
        max: usize,
        /// Its size with each side clamped to `max`, (width, height).
        suggested: (usize, usize),
    },

    /// A requested frame size is unusable (a zero or huge dimension).
    #[error(
        "frame '{}': cannot resize to height {} x width {} (a dimension is zero or too large)",
        .path.display(), .size.0, .size.1
    )]
    InvalidSize {
        /// The first frame.
        path: PathBuf,
        /// The requested size, (height, width) as passed to `load_pair`.
        size: (usize, usize),
    },

    /// A `.flo` file does not start with the "PIEH" tag (float 202021.25).
    #[error("flow file '{}': bad magic (expected \"PIEH\", found {found:?})", .path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first four bytes, or fewer if the file is shorter.
        found: Vec<u8>,
    },

    /// A `.flo` file is malformed in another way (dimensions, length).
    #[error("flow file '{}': {problem}", .path.display())]
    BadFlo {
        /// The file.
        path: PathBuf,
        /// What is wrong (one line).
        problem: String,
    },

    /// A `.npy` array file is malformed or of an unsupported kind.
    #[error("array file '{}': {problem}", .path.display())]
    BadNpy {
        /// The file.
        path: PathBuf,
        /// What is wrong (one line).
        problem: String,
    },
}

/// Makes a message from another library fit on one line.
pub(crate) fn one_line(msg: impl std::fmt::Display) -> String {
    let s = msg.to_string();
    let parts: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    parts.join("; ")
}

/// Maps an error from reading `path` to [`IoError::NotFound`] or [`IoError::Read`].
pub(crate) fn read_error(kind: &'static str, path: &Path, err: std::io::Error) -> IoError {
    if err.kind() == std::io::ErrorKind::NotFound {
        IoError::NotFound { kind, path: path.to_path_buf() }
    } else {
        IoError::Read { kind, path: path.to_path_buf(), err }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_name_the_file() {
        let p = PathBuf::from("b.png");
        let e =
            IoError::SizeMismatch { path: p.clone(), size: (640, 480), first: "a.png".into(), first_size: (512, 384) };
        assert_eq!(e.to_string(), "frame 'b.png': size 640x480 differs from the first frame's 512x384 ('a.png')");
        let e = IoError::BadMagic { path: "x.flo".into(), found: b"ABCD".to_vec() };
        assert!(e.to_string().starts_with("flow file 'x.flo': bad magic"), "{e}");
        let e = read_error("frame", Path::new("a.png"), std::io::ErrorKind::NotFound.into());
        assert_eq!(e.to_string(), "frame 'a.png': no such file");
        let e = IoError::NotMultipleOf64 { path: p, size: (500, 375), suggested: (512, 384) };
        let s = e.to_string();
        assert!(!s.contains('\n') && s.contains("500x375") && s.ends_with("(e.g. --size 384x512)"), "{s}");
    }

    #[test]
    fn one_line_joins_lines() {
        assert_eq!(one_line("first\n  second\n\nthird"), "first; second; third");
    }
}

//! [`Tree`]: the files and directories an emulator creates under its root,
//! remembered so that they are all removed again when it stops (and only
//! those: a root that existed before is left as it was).

use std::io;
use std::path::{Path, PathBuf};

/// Created paths, in creation order.
#[derive(Debug, Default)]
pub struct Tree {
    root: PathBuf,
    created: Vec<PathBuf>,
}

impl Tree {
    /// A tree under `root` (created if missing).
    pub fn new(root: &Path) -> io::Result<Self> {
        let mut t = Tree { root: root.to_path_buf(), created: Vec::new() };
        t.dirs("")?;
        Ok(t)
    }

    /// `rel` under the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// Creates the directory `rel` and its missing parents.
    pub fn dirs(&mut self, rel: &str) -> io::Result<PathBuf> {
        let full = self.path(rel);
        let mut missing = Vec::new();
        let mut p = full.as_path();
        while !p.exists() {
            missing.push(p.to_path_buf());
            match p.parent() {
                Some(parent) => p = parent,
                None => break,
            }
        }
        for d in missing.into_iter().rev() {
            std::fs::create_dir(&d)?;
            self.created.push(d);
        }
        Ok(full)
    }

    /// Claims `rel` (a file about to be made), refusing to overwrite one
    /// that exists: another emulator may be using this root.
    pub fn claim(&mut self, rel: &str) -> io::Result<PathBuf> {
        let p = self.path(rel);
        if let Some(parent) = Path::new(rel.trim_start_matches('/')).parent() {
            self.dirs(&parent.to_string_lossy())?;
        }
        if p.symlink_metadata().is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists: is another emulator running on this root? (remove the tree first)", p.display()),
            ));
        }
        self.created.push(p.clone());
        Ok(p)
    }

    /// Writes a small text file.
    pub fn text(&mut self, rel: &str, text: &str) -> io::Result<PathBuf> {
        let p = self.claim(rel)?;
        std::fs::write(&p, format!("{text}\n"))?;
        Ok(p)
    }

    /// Removes everything created, newest first (directories only if empty).
    pub fn remove(&mut self) {
        for p in self.created.drain(..).rev() {
            let is_dir = p.symlink_metadata().map(|m| m.is_dir()).unwrap_or(false);
            let _ = if is_dir { std::fs::remove_dir(&p) } else { std::fs::remove_file(&p) };
        }
    }
}

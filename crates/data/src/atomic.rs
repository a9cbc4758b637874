//! Writing output files so that a reader never sees half a file: the
//! content goes to a temporary file beside the target, renamed over it once
//! complete. An interrupted write leaves the previous file untouched.

use std::io;
use std::path::{Path, PathBuf};

/// The temporary path used while writing `path`: `.NAME.tmp` beside it.
pub fn temporary_path(path: &Path) -> PathBuf {
    hidden_beside(path, ".tmp")
}

/// `.NAME{suffix}` beside `path` (a hidden companion file).
pub(crate) fn hidden_beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes `path` atomically: `write` fills the temporary file, which then
/// replaces `path`. Parent folders are created.
pub fn write_atomic<E: From<io::Error>>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    if path.file_name().is_none() {
        return Err(io::Error::other(format!("{} is not a file path", path.display())).into());
    }
    let tmp = temporary_path(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", dir.display())))?;
    }
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("moving {} to {}: {e}", tmp.display(), path.display()),
        )
        .into()
    })
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, |tmp| {
        std::fs::write(tmp, bytes)
            .map_err(|e| io::Error::new(e.kind(), format!("writing {}: {e}", tmp.display())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("lam-atomic-{}", std::process::id()));
        let path = dir.join("sub").join("f.txt");
        write_bytes_atomic(&path, b"one").unwrap();
        let failed: io::Result<()> = write_atomic(&path, |tmp| {
            std::fs::write(tmp, b"half")?;
            Err(io::Error::other("interrupted"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert!(!temporary_path(&path).exists());
        write_bytes_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

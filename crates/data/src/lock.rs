//! One writer per output. A process that writes a dataset, a run folder or
//! a pipeline stage first takes an exclusive lock on a small lock file
//! beside (or inside) it and holds it until its last write and rename; a
//! second process asking for the same output is refused before it touches
//! anything. The lock is the operating system's advisory file lock: it is
//! released when the holder exits, however it exits, so a crash never
//! leaves a stale lock behind. The lock file itself stays (removing it
//! would let two processes lock two different files of one name).

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::DataError;

/// An exclusive lock on an output, released on drop.
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
    path: PathBuf,
}

/// The lock file of a file output: `.NAME.lock` beside it.
pub fn lock_path(target: &Path) -> PathBuf {
    crate::atomic::hidden_beside(target, ".lock")
}

impl OutputLock {
    /// Locks the file output `target` (through [`lock_path`]), creating its
    /// folder if needed.
    pub fn file(target: &Path) -> Result<Self, DataError> {
        Self::at(&lock_path(target), target)
    }

    /// Locks `lock` (a lock file of its own name, e.g. inside a folder)
    /// for the output `what`, which the error names.
    pub fn at(lock: &Path, what: &Path) -> Result<Self, DataError> {
        if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
                file: dir.to_path_buf(),
                what: "creating the folder".into(),
                source,
            })?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock)
            .map_err(|source| DataError::Io {
                file: lock.to_path_buf(),
                what: "opening the lock file".into(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                _file: file,
                path: lock.to_path_buf(),
            }),
            Err(TryLockError::WouldBlock) => Err(DataError::Locked {
                file: what.to_path_buf(),
                lock: lock.to_path_buf(),
            }),
            Err(TryLockError::Error(source)) => Err(DataError::Io {
                file: lock.to_path_buf(),
                what: "locking".into(),
                source,
            }),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("lam-lock-{}", std::process::id()));
        let target = dir.join("out.hdf5");
        let first = OutputLock::file(&target).unwrap();
        assert_eq!(first.path(), dir.join(".out.hdf5.lock"));
        let err = OutputLock::file(&target).unwrap_err();
        assert!(
            matches!(&err, DataError::Locked { file, .. } if file == &target),
            "{err}"
        );
        assert!(err.to_string().contains("another process"), "{err}");
        drop(first);
        let again = OutputLock::file(&target).unwrap();
        drop(again);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! Errors of dataset files: each names the file, and the group and field
//! where one is involved.

use std::path::PathBuf;

/// What can go wrong with a dataset file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The HDF5 library refused an operation.
    #[error("{file}: {what}: {source}")]
    Hdf5 {
        /// The file.
        file: PathBuf,
        /// What was being done.
        what: String,
        /// The library's error.
        source: hdf5::Error,
    },
    /// A required group, dataset or attribute is missing.
    #[error("{file}: missing {item} (expected the published layout: root attributes domain_name, task_name, difficulty, dynamic, img_hw, split; groups \"0\", \"1\", … with obs, states, actions and attribute traj_return)")]
    Missing {
        /// The file.
        file: PathBuf,
        /// The missing item, e.g. `group "3" dataset "obs"`.
        item: String,
    },
    /// A field has the wrong shape or type.
    #[error("{file}: {item}: expected {expected}, found {found}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The item, e.g. `group "3" dataset "obs"`.
        item: String,
        /// What was expected.
        expected: String,
        /// What is there.
        found: String,
    },
    /// The file holds no trajectories.
    #[error("{0}: the file holds no trajectories")]
    Empty(PathBuf),
    /// A request that the file cannot satisfy.
    #[error("{file}: {message}")]
    Request {
        /// The file.
        file: PathBuf,
        /// What was asked and why it cannot be done.
        message: String,
    },
    /// The output exists and was not to be replaced.
    #[error("{0}: the file exists; refusing to replace it (remove it or choose another output; commands that offer --force replace it)")]
    Exists(PathBuf),
    /// An interrupted write left this partial file.
    #[error("{0}: an interrupted write left this file; continue it with --resume (same settings) or remove it")]
    Unfinished(PathBuf),
    /// Another process is writing the same output.
    #[error("{file}: another process is writing it (it holds {lock}); wait for it to finish, or choose another output")]
    Locked {
        /// The output.
        file: PathBuf,
        /// The lock file held by the other writer.
        lock: PathBuf,
    },
    /// Reading or writing the file system failed.
    #[error("{file}: {what}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// What was being done.
        what: String,
        /// The system's error.
        source: std::io::Error,
    },
}

/// Attaches the file and a description to HDF5 errors.
pub(crate) trait Context<T> {
    fn ctx(self, file: &std::path::Path, what: impl FnOnce() -> String) -> Result<T, DataError>;
}

impl<T> Context<T> for Result<T, hdf5::Error> {
    fn ctx(self, file: &std::path::Path, what: impl FnOnce() -> String) -> Result<T, DataError> {
        self.map_err(|source| DataError::Hdf5 {
            file: file.to_path_buf(),
            what: what(),
            source,
        })
    }
}

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

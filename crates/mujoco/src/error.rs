//! Errors of the MuJoCo layer.

use std::path::PathBuf;

/// What can go wrong when loading or addressing a MuJoCo model.
#[derive(Debug, thiserror::Error)]
pub enum MujocoError {
    /// The model file does not exist or cannot be read.
    #[error("cannot read MuJoCo model {path}")]
    Unreadable {
        /// The model file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// MuJoCo's compiler rejected the model; `message` is MuJoCo's own text.
    #[error("MuJoCo could not load {path}: {message}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// MuJoCo's error text.
        message: String,
    },
    /// A name that the model does not define.
    #[error("the model has no {kind} named {name:?}")]
    UnknownName {
        /// The kind of object looked up ("body", "joint", ...).
        kind: &'static str,
        /// The name that was asked for.
        name: String,
    },
    /// A slice given to a setter has the wrong length.
    #[error("{what} expects {expected} values, got {got}")]
    WrongLength {
        /// Which array was being set.
        what: &'static str,
        /// Its length in the model.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// MuJoCo could not allocate the simulation data.
    #[error("MuJoCo could not allocate mjData")]
    Allocation,
}

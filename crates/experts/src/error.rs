//! Errors from loading and running experts.

use std::path::PathBuf;

/// What can go wrong with an expert checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum ExpertError {
    /// The file is missing or unreadable.
    #[error("cannot read expert checkpoint {path}")]
    Io {
        /// The checkpoint.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not in a format we understand, or is corrupt.
    #[error("{path} is not a readable PyTorch / stable-baselines3 checkpoint: {reason}")]
    Format {
        /// The checkpoint.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A tensor the policy needs is absent.
    #[error("{path} has no tensor {name:?} (it holds: {available})")]
    MissingTensor {
        /// The checkpoint.
        path: PathBuf,
        /// The missing name.
        name: String,
        /// The names it does hold.
        available: String,
    },
    /// A tensor has the wrong shape.
    #[error("{path}: tensor {name:?} has shape {found:?}, expected {expected}")]
    Shape {
        /// The checkpoint.
        path: PathBuf,
        /// The tensor.
        name: String,
        /// Its shape.
        found: Vec<usize>,
        /// What was expected.
        expected: String,
    },
    /// The policy's sizes do not fit the task.
    #[error("{path} does not fit {task}: the task has observations of {} and actions of {}, the checkpoint expects observations of {} and produces actions of {}", task_sizes.0, task_sizes.1, policy_sizes.0, policy_sizes.1)]
    TaskMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// The task.
        task: &'static str,
        /// (observation, action) sizes of the task.
        task_sizes: (usize, usize),
        /// (observation, action) sizes of the policy.
        policy_sizes: (usize, usize),
    },
    /// The environment failed during evaluation.
    #[error(transparent)]
    Env(#[from] lam_env::EnvError),
}

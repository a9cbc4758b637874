//! Why an evaluation or a probe could not be done.

use std::path::PathBuf;

use lam_data::DataError;
use lam_env::{EnvError, TaskId};
use lam_experts::ExpertError;
use lam_models::config::Method;
use lam_models::toolkit::checkpoint::CheckpointError;

/// Errors of the training-side stages (collections, evaluations, probes,
/// relabelings); training runs
/// have their own [`crate::run::RunError`].
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A data file problem.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The environment could not be built or stepped.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A state-based expert could not be loaded or does not fit the task
    /// (the cause names the file).
    #[error("{role}: {source}")]
    Expert {
        /// Which expert: the one playing or the one compared with.
        role: &'static str,
        /// The expert checkpoint.
        path: PathBuf,
        /// The cause (boxed: it is large and rare).
        source: Box<ExpertError>,
    },
    /// A run folder holds no loadable model.
    #[error("{}: no trained model here (run `lam train` first): {source}", path.display())]
    NoModel {
        /// The run folder.
        path: PathBuf,
        /// The cause.
        source: CheckpointError,
    },
    /// The run holds a model that does not act from frames alone.
    #[error("{} is a {method:?} run; evaluate a bc run or a decoder run (latent BC actor + action decoder)", path.display())]
    NotAPolicy {
        /// The run folder.
        path: PathBuf,
        /// What it trained.
        method: Method,
    },
    /// The policy's action size is not the task's.
    #[error("{}: the policy outputs {policy} actions but {task} takes {task_actions}", path.display())]
    ActionSize {
        /// The run folder.
        path: PathBuf,
        /// Actions the policy outputs.
        policy: i64,
        /// The task.
        task: TaskId,
        /// Actions the task takes.
        task_actions: usize,
    },
    /// The policy was trained on another task or distraction setting.
    #[error("{}: the policy was trained on {trained}, not {now}", path.display())]
    Mismatch {
        /// The run folder.
        path: PathBuf,
        /// What it was trained on.
        trained: String,
        /// What the evaluation asked for.
        now: String,
    },
    /// A file and the model do not fit together.
    #[error("{}: {what}", path.display())]
    DoesNotFit {
        /// The data file.
        path: PathBuf,
        /// What differs.
        what: String,
    },
    /// A setting that cannot work.
    #[error("{setting} {value}: expected {expected}")]
    Invalid {
        /// The setting.
        setting: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Collecting one trajectory failed.
    #[error("collecting trajectory {index}: {source}")]
    Trajectory {
        /// Its index in the collection.
        index: usize,
        /// The cause.
        source: Box<TrainError>,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl TrainError {
    /// A setting that cannot work: `setting value: expected ...`.
    pub fn invalid(setting: &'static str, value: String, expected: impl Into<String>) -> Self {
        Self::Invalid {
            setting,
            value,
            expected: expected.into(),
        }
    }
}

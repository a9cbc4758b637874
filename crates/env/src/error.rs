//! Errors of the environment layer.

use std::path::PathBuf;

/// What can go wrong when building or running an environment.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// An unknown task name.
    #[error(
        "unknown task {0:?}; expected one of: cheetah-run, walker-run, hopper-hop, humanoid-walk"
    )]
    UnknownTask(String),
    /// The Control Suite model files were not found.
    #[error("the Control Suite model file {path} is missing ({reason}); run `scripts/setup.sh` (or `make setup`), or point LAM_MODELS_DIR at a folder holding cheetah.xml, walker.xml, hopper.xml, humanoid.xml and common/")]
    MissingModels {
        /// The file looked for.
        path: PathBuf,
        /// Why it was not usable.
        reason: String,
    },
    /// An action of the wrong size.
    #[error("{task} takes actions of {expected} values, got {got}")]
    ActionSize {
        /// The task.
        task: &'static str,
        /// Its action size.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// An action containing NaN or infinity.
    #[error("action contains a non-finite value: {0:?}")]
    NonFiniteAction(Vec<f64>),
    /// `step` called before `reset`, or after the episode ended.
    #[error("the episode is over (or was never started): call reset first")]
    NeedsReset,
    /// Humanoid resets that never became contact-free.
    #[error("could not draw a contact-free initial state in {0} tries")]
    NoContactFreeState(usize),
    /// Settings that cannot work.
    #[error("invalid environment settings: {0}")]
    Config(String),
    /// A background video that cannot be used.
    #[error(transparent)]
    Background(#[from] crate::distractors::BackgroundError),
    /// A renderer that cannot be built.
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    /// A MuJoCo error.
    #[error(transparent)]
    Mujoco(#[from] lam_mujoco::MujocoError),
}

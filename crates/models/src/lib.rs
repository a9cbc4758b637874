//! The networks of METHOD.md §4 and their losses, on tch / libtorch.
//!
//! - [`toolkit`]: what every method is built from (encoder stages, residual
//!   and MLP blocks, FSQ, initialisation, EMA targets, Adam, linear probes,
//!   augmentation, bf16 autocast, checkpoints, devices).
//! - [`methods`]: one file per method (LAPO, LAOM ± supervision, IDM, BC,
//!   latent BC, action decoder), each holding its networks **and its whole
//!   loss** behind the small [`methods::Model`] trait the trainer uses.
//! - [`batch`]: the tensors a step reads; [`config`]: run settings and the
//!   presets (`presets/*.toml`); [`ModelError`], [`ConfigError`]: what goes
//!   wrong.

pub mod batch;
pub mod config;
pub mod methods;
pub mod toolkit;

pub use config::ConfigError;

/// Why a model cannot be built as configured.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The run settings are not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The networks do not fit the settings or the teacher (FSQ levels, a
    /// teacher of the wrong method, a missing teacher).
    #[error("{0}")]
    Build(String),
}

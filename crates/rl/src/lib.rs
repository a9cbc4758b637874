//! Soft actor-critic (Haarnoja et al. 2018) for state-based control: the
//! replay buffer, the agent (squashed-Gaussian actor, twin Q critics with
//! EMA targets, automatic entropy temperature) and its update.
//!
//! - [`replay`]: the replay buffer; [`sac`]: the agent and its update;
//!   [`train`]: an expert run over parallel environments, checkpointed at
//!   episode boundaries; [`RlError`]: what stops a run.

pub mod replay;
pub mod sac;
pub mod train;

/// Why an expert run cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum RlError {
    /// The environment failed (a MuJoCo or task error, as its message).
    #[error("environment: {0}")]
    Env(String),
    /// A run with no environment.
    #[error("an expert run needs at least one environment")]
    NoEnvironment,
    /// A saved agent, buffer or trainer state that does not fit.
    #[error("saved state: {0}")]
    State(String),
}

/// A ChaCha word position (u128) as an i64 tensor of two halves, for checkpoints.
pub(crate) fn word_pos_tensor(pos: u128) -> tch::Tensor {
    tch::Tensor::from_slice(&[(pos >> 64) as u64 as i64, pos as u64 as i64])
}

/// The inverse of [`word_pos_tensor`].
pub(crate) fn word_pos_from(t: &tch::Tensor) -> u128 {
    let hi = t.int64_value(&[0]) as u64 as u128;
    let lo = t.int64_value(&[1]) as u64 as u128;
    (hi << 64) | lo
}

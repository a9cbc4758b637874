//! Expert policies that act greedily from proprioceptive observations.
//!
//! - [`checkpoint`]: reads tensors out of PyTorch `torch.save` files (zip +
//!   pickle) without Python.
//! - [`mlp`]: the small dense networks the experts are made of.
//! - [`ppo`]: the published PPO experts (state dict with a running
//!   observation normaliser; cheetah-run, walker-run, hopper-hop).
//! - [`sac`]: stable-baselines3 SAC zips (humanoid-walk).
//! - [`own`]: SAC actors trained by `lam expert train` (safetensors).
//! - [`evaluate`]: run a policy for whole episodes and collect returns.

pub mod checkpoint;
pub mod error;
pub mod evaluate;
pub mod mlp;
pub mod own;
pub mod ppo;
pub mod sac;

use std::path::Path;

pub use error::ExpertError;
pub use evaluate::{evaluate, EpisodeReturn};

use lam_env::TaskId;

/// A policy mapping one proprioceptive observation to one action.
pub trait Policy: Send + Sync + std::fmt::Debug {
    /// Observation size the policy expects.
    fn observation_size(&self) -> usize;
    /// Action size the policy produces.
    fn action_size(&self) -> usize;
    /// The greedy action for `observation` (raw: the environment clips).
    fn act(&self, observation: &[f64]) -> Vec<f64>;
}

/// Where the published expert of `task` lies under `experts_dir` (the
/// shared folder's `reference/experts`): PPO `checkpoint.pt` files, and the
/// SAC zip for humanoid-walk.
pub fn published_checkpoint(experts_dir: &Path, task: TaskId) -> std::path::PathBuf {
    let dir = experts_dir.join(task.name());
    match task {
        TaskId::HumanoidWalk => dir.join("sac-humanoid-walk.zip"),
        _ => dir.join("checkpoint.pt"),
    }
}

/// The expert of `task` under `experts_dir`: our own actor
/// (`TASK/actor.safetensors`, as in the repository's `experts/` folder) when
/// there is one, else the published checkpoint ([`published_checkpoint`]).
pub fn expert_checkpoint(experts_dir: &Path, task: TaskId) -> std::path::PathBuf {
    let own = experts_dir.join(task.name()).join("actor.safetensors");
    if own.is_file() {
        own
    } else {
        published_checkpoint(experts_dir, task)
    }
}

/// Loads an expert checkpoint, telling the format from its contents:
/// a stable-baselines3 zip (holds `policy.pth`) or a PPO state dict.
pub fn load_expert(path: &Path) -> Result<Box<dyn Policy>, ExpertError> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        return Ok(Box::new(own::OwnSacActor::load(path)?));
    }
    if checkpoint::zip_has_member(path, "policy.pth")? {
        Ok(Box::new(sac::SacActor::load(path)?))
    } else {
        Ok(Box::new(ppo::PpoActor::load(path)?))
    }
}

/// Checks that `policy` (loaded from `path`) fits `task`'s observation and action sizes.
pub fn check_fits(
    policy: &dyn Policy,
    path: &Path,
    task: TaskId,
    observation_size: usize,
    action_size: usize,
) -> Result<(), ExpertError> {
    if policy.observation_size() != observation_size || policy.action_size() != action_size {
        return Err(ExpertError::TaskMismatch {
            path: path.to_path_buf(),
            task: task.name(),
            task_sizes: (observation_size, action_size),
            policy_sizes: (policy.observation_size(), policy.action_size()),
        });
    }
    Ok(())
}

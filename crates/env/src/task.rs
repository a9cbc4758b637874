//! What a control task is: how to reset, what to observe, what to reward.

use lam_mujoco::{Model, Physics};
use rand_chacha::ChaCha8Rng;

use crate::tasks::{CheetahRun, HopperHop, HumanoidWalk, WalkerRun};
use crate::EnvError;

/// The four tasks of the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskId {
    /// cheetah-run: 17-d observation, 6 actions.
    CheetahRun,
    /// walker-run: 24-d observation, 6 actions.
    WalkerRun,
    /// hopper-hop: 15-d observation, 4 actions.
    HopperHop,
    /// humanoid-walk: 67-d observation, 21 actions.
    HumanoidWalk,
}

impl TaskId {
    /// All tasks, in the paper's order.
    pub const ALL: [TaskId; 4] = [
        TaskId::CheetahRun,
        TaskId::WalkerRun,
        TaskId::HopperHop,
        TaskId::HumanoidWalk,
    ];

    /// The task's name, e.g. `cheetah-run`.
    pub fn name(self) -> &'static str {
        match self {
            TaskId::CheetahRun => "cheetah-run",
            TaskId::WalkerRun => "walker-run",
            TaskId::HopperHop => "hopper-hop",
            TaskId::HumanoidWalk => "humanoid-walk",
        }
    }

    /// The Control Suite domain (model) name, e.g. `cheetah`.
    pub fn domain(self) -> &'static str {
        self.name()
            .split('-')
            .next()
            .expect("task names have a domain")
    }

    /// The Control Suite task name within the domain, e.g. `run`.
    pub fn task(self) -> &'static str {
        self.name()
            .split('-')
            .nth(1)
            .expect("task names have a task")
    }

    /// The model file, relative to the models folder.
    pub fn model_file(self) -> &'static str {
        match self {
            TaskId::CheetahRun => "cheetah.xml",
            TaskId::WalkerRun => "walker.xml",
            TaskId::HopperHop => "hopper.xml",
            TaskId::HumanoidWalk => "humanoid.xml",
        }
    }

    /// Builds the task for a loaded model.
    pub fn build(self, model: &Model) -> Result<Box<dyn Task>, EnvError> {
        Ok(match self {
            TaskId::CheetahRun => Box::new(CheetahRun::new(model)?),
            TaskId::WalkerRun => Box::new(WalkerRun::new(model)?),
            TaskId::HopperHop => Box::new(HopperHop::new(model)?),
            TaskId::HumanoidWalk => Box::new(HumanoidWalk::new(model)?),
        })
    }
}

impl std::str::FromStr for TaskId {
    type Err = EnvError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        TaskId::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or(EnvError::UnknownTask(s))
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A control task: the parts of an environment that differ between tasks.
///
/// The [`Environment`](crate::Environment) owns the step loop; a task never
/// steps physics except to settle its own initial state.
pub trait Task: Send {
    /// Which task this is.
    fn id(&self) -> TaskId;

    /// Physics steps per action (the control timestep over the physics timestep).
    fn physics_steps_per_action(&self) -> usize;

    /// Length of the flat observation.
    fn observation_size(&self) -> usize;

    /// Sets the initial state after `mj_resetData` + `mj_forward`.
    /// May leave derived quantities stale; the environment calls `mj_forward` after.
    fn initialize_episode(
        &self,
        physics: &mut Physics,
        rng: &mut ChaCha8Rng,
    ) -> Result<(), EnvError>;

    /// Appends the observation, its dict keys flattened in sorted order, to `out`.
    fn observe(&self, physics: &Physics, out: &mut Vec<f64>);

    /// The reward of the current state (after the action was applied).
    fn reward(&self, physics: &Physics) -> f64;
}

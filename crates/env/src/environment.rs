//! The step loop: a task on its physics, with seeding, action clipping,
//! the control timestep and the 1000-step episode limit.

use lam_mujoco::Physics;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{assets, EnvError, Task, TaskId};

/// Control steps per episode for every task (the suite's time limits).
pub const EPISODE_LENGTH: usize = 1000;

/// The result of one control step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The observation after the step.
    pub observation: Vec<f64>,
    /// The reward for the step, in [0, 1].
    pub reward: f64,
    /// True when the episode has reached its length.
    pub done: bool,
}

/// One environment: a task, its physics and its random stream.
pub struct Environment {
    task: Box<dyn Task>,
    physics: Physics,
    rng: ChaCha8Rng,
    steps: usize,
    episode_length: usize,
    started: bool,
}

impl Environment {
    /// Loads the task's model from the models folder and builds the environment.
    /// The random stream starts from `seed`; [`reset`](Self::reset) continues it.
    pub fn new(task: TaskId, seed: u64) -> Result<Self, EnvError> {
        let physics = Physics::from_xml(assets::model_path(task.model_file())?)?;
        Self::with_physics(task, physics, seed)
    }

    /// Builds the environment around an already loaded model.
    pub fn with_physics(task: TaskId, physics: Physics, seed: u64) -> Result<Self, EnvError> {
        let task = task.build(physics.model())?;
        Ok(Self {
            task,
            physics,
            rng: ChaCha8Rng::seed_from_u64(seed),
            steps: 0,
            episode_length: EPISODE_LENGTH,
            started: false,
        })
    }

    /// Changes the episode length (default [`EPISODE_LENGTH`]).
    pub fn set_episode_length(&mut self, steps: usize) {
        self.episode_length = steps.max(1);
    }

    /// Which task this is.
    pub fn task_id(&self) -> TaskId {
        self.task.id()
    }

    /// Physics steps per control step.
    pub fn physics_steps_per_action(&self) -> usize {
        self.task.physics_steps_per_action()
    }

    /// Observation size.
    pub fn observation_size(&self) -> usize {
        self.task.observation_size()
    }

    /// Action size (number of actuators).
    pub fn action_size(&self) -> usize {
        self.physics.model().nu()
    }

    /// The physics, for reading state (and for renderers).
    pub fn physics(&self) -> &Physics {
        &self.physics
    }

    /// The physics, mutable (for tests and distractors that edit the model).
    pub fn physics_mut(&mut self) -> &mut Physics {
        &mut self.physics
    }

    /// Control steps taken in this episode.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Re-seeds the random stream and starts a new episode.
    pub fn reset_with_seed(&mut self, seed: u64) -> Result<Vec<f64>, EnvError> {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.reset()
    }

    /// Starts a new episode: `mj_resetData`, `mj_forward`, the task's
    /// initial state, `mj_forward`; returns the first observation.
    pub fn reset(&mut self) -> Result<Vec<f64>, EnvError> {
        self.physics.reset();
        self.physics.forward();
        self.task
            .initialize_episode(&mut self.physics, &mut self.rng)?;
        self.physics.forward();
        self.steps = 0;
        self.started = true;
        Ok(self.observation())
    }

    /// The current observation.
    pub fn observation(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.task.observation_size());
        self.task.observe(&self.physics, &mut out);
        out
    }

    /// The reward of the current state.
    pub fn reward(&self) -> f64 {
        self.task.reward(&self.physics)
    }

    /// Applies `action` (clipped to [-1, 1]) for one control step.
    ///
    /// The suite's ordering: `mj_step2` finishes the step prepared by the
    /// previous `mj_step1`/`mj_forward`, then n−1 full `mj_step`s, then
    /// `mj_step1` so that positions, velocities and sensors are current.
    pub fn step(&mut self, action: &[f64]) -> Result<Step, EnvError> {
        if !self.started || self.steps >= self.episode_length {
            return Err(EnvError::NeedsReset);
        }
        let nu = self.action_size();
        if action.len() != nu {
            return Err(EnvError::ActionSize {
                task: self.task.id().name(),
                expected: nu,
                got: action.len(),
            });
        }
        if action.iter().any(|a| !a.is_finite()) {
            return Err(EnvError::NonFiniteAction(action.to_vec()));
        }
        let clipped: Vec<f64> = action.iter().map(|a| a.clamp(-1.0, 1.0)).collect();
        self.physics.set_ctrl(&clipped)?;
        self.physics.step2();
        for _ in 1..self.task.physics_steps_per_action() {
            self.physics.step();
        }
        self.physics.step1();
        self.steps += 1;
        Ok(Step {
            observation: self.observation(),
            reward: self.reward(),
            done: self.steps >= self.episode_length,
        })
    }
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("task", &self.task.id())
            .field("steps", &self.steps)
            .finish()
    }
}

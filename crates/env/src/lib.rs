//! The DeepMind Control tasks on MuJoCo, laid out like dm_control:
//! physics (from `lam-mujoco`) → [`Task`] (reset, observe, reward) →
//! [`Environment`] (the step loop, control timestep, episode length).
//!
//! A task only says how to reset, what to observe and what to reward; adding
//! a fifth task is one small file in [`tasks`].

pub mod assets;
pub mod distractors;
pub mod environment;
pub mod error;
pub mod pixels;
pub mod randomize;
pub mod task;
pub mod tasks;
pub mod tolerance;

pub use environment::{Environment, Step, EPISODE_LENGTH};
pub use error::EnvError;
pub use pixels::{PixelEnv, VecEnv, VecEnvConfig, VecStep};
pub use task::{Task, TaskId};
pub mod render;

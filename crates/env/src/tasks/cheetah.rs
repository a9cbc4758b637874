//! cheetah-run: run forward as fast as possible (reward saturates at 10 m/s).

use lam_mujoco::{Model, ObjectKind, Physics};
use rand_chacha::ChaCha8Rng;

use crate::randomize::randomize_limited_joints;
use crate::tolerance::{Sigmoid, Tolerance};
use crate::{EnvError, Task, TaskId};

/// Zero-control physics steps run after randomising joints, so the cheetah
/// starts on the ground.
const SETTLE_STEPS: usize = 200;
/// Speed at which the reward saturates (m/s).
const RUN_SPEED: f64 = 10.0;

/// The cheetah-run task.
#[derive(Debug)]
pub struct CheetahRun {
    speed_sensor: usize,
}

impl CheetahRun {
    /// Resolves the names the task needs in `model`.
    pub fn new(model: &Model) -> Result<Self, EnvError> {
        Ok(Self {
            speed_sensor: model.id(ObjectKind::Sensor, "torso_subtreelinvel")?,
        })
    }

    /// Forward speed of the torso subtree's centre of mass.
    fn speed(&self, physics: &Physics) -> f64 {
        physics.sensor(self.speed_sensor)[0]
    }
}

impl Task for CheetahRun {
    fn id(&self) -> TaskId {
        TaskId::CheetahRun
    }

    fn physics_steps_per_action(&self) -> usize {
        1
    }

    fn observation_size(&self) -> usize {
        17
    }

    fn initialize_episode(
        &self,
        physics: &mut Physics,
        rng: &mut ChaCha8Rng,
    ) -> Result<(), EnvError> {
        // Unlike the other tasks, only limited joints are drawn: the root
        // (rootx, rootz, rooty) keeps its upright default.
        randomize_limited_joints(physics, rng);
        // The suite settles with its "legacy" step (mj_step2 then mj_step1).
        for _ in 0..SETTLE_STEPS {
            physics.step2();
            physics.step1();
        }
        physics.set_time(0.0);
        Ok(())
    }

    fn observe(&self, physics: &Physics, out: &mut Vec<f64>) {
        out.extend_from_slice(&physics.qpos()[1..]); // position (8)
        out.extend_from_slice(physics.qvel()); // velocity (9)
    }

    fn reward(&self, physics: &Physics) -> f64 {
        Tolerance::bounds(RUN_SPEED, f64::INFINITY)
            .margin(RUN_SPEED)
            .sigmoid(Sigmoid::Linear, 0.0)
            .eval(self.speed(physics))
    }
}

//! walker-run: stay upright and run forward at 8 m/s or more.

use lam_mujoco::{Model, ObjectKind, Physics};
use rand_chacha::ChaCha8Rng;

use crate::randomize::randomize_limited_and_rotational_joints;
use crate::tolerance::{Sigmoid, Tolerance};
use crate::{EnvError, Task, TaskId};

/// Torso height above which the walker counts as standing (m).
const STAND_HEIGHT: f64 = 1.2;
/// Target speed of the run task (m/s).
const RUN_SPEED: f64 = 8.0;

/// The walker-run task.
#[derive(Debug)]
pub struct WalkerRun {
    torso: usize,
    speed_sensor: usize,
}

impl WalkerRun {
    /// Resolves the names the task needs in `model`.
    pub fn new(model: &Model) -> Result<Self, EnvError> {
        Ok(Self {
            torso: model.id(ObjectKind::Body, "torso")?,
            speed_sensor: model.id(ObjectKind::Sensor, "torso_subtreelinvel")?,
        })
    }
}

impl Task for WalkerRun {
    fn id(&self) -> TaskId {
        TaskId::WalkerRun
    }

    fn physics_steps_per_action(&self) -> usize {
        10
    }

    fn observation_size(&self) -> usize {
        24
    }

    fn initialize_episode(
        &self,
        physics: &mut Physics,
        rng: &mut ChaCha8Rng,
    ) -> Result<(), EnvError> {
        randomize_limited_and_rotational_joints(physics, rng);
        Ok(())
    }

    fn observe(&self, physics: &Physics, out: &mut Vec<f64>) {
        out.push(physics.xpos(self.torso)[2]); // height (1)
        for body in 1..physics.model().nbody() {
            let m = physics.xmat(body);
            out.extend_from_slice(&[m[0], m[2]]); // orientations: xx, xz (14)
        }
        out.extend_from_slice(physics.qvel()); // velocity (9)
    }

    fn reward(&self, physics: &Physics) -> f64 {
        let height = physics.xpos(self.torso)[2];
        let standing = Tolerance::bounds(STAND_HEIGHT, f64::INFINITY)
            .margin(STAND_HEIGHT / 2.0)
            .eval(height);
        let upright = (1.0 + physics.xmat(self.torso)[8]) / 2.0;
        let stand = (3.0 * standing + upright) / 4.0;
        let speed = physics.sensor(self.speed_sensor)[0];
        let moving = Tolerance::bounds(RUN_SPEED, f64::INFINITY)
            .margin(RUN_SPEED / 2.0)
            .sigmoid(Sigmoid::Linear, 0.5)
            .eval(speed);
        stand * (5.0 * moving + 1.0) / 6.0
    }
}

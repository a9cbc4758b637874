//! hopper-hop: stay upright and hop forward at 2 m/s or more.

use lam_mujoco::{Model, ObjectKind, Physics};
use rand_chacha::ChaCha8Rng;

use crate::randomize::randomize_limited_and_rotational_joints;
use crate::tolerance::{Sigmoid, Tolerance};
use crate::{EnvError, Task, TaskId};

/// Lowest torso-over-foot height that counts as standing (m).
const STAND_HEIGHT: f64 = 0.6;
/// Target hopping speed (m/s).
const HOP_SPEED: f64 = 2.0;

/// The hopper-hop task.
#[derive(Debug)]
pub struct HopperHop {
    torso: usize,
    foot: usize,
    speed_sensor: usize,
    touch_toe: usize,
    touch_heel: usize,
}

impl HopperHop {
    /// Resolves the names the task needs in `model`.
    pub fn new(model: &Model) -> Result<Self, EnvError> {
        Ok(Self {
            torso: model.id(ObjectKind::Body, "torso")?,
            foot: model.id(ObjectKind::Body, "foot")?,
            speed_sensor: model.id(ObjectKind::Sensor, "torso_subtreelinvel")?,
            touch_toe: model.id(ObjectKind::Sensor, "touch_toe")?,
            touch_heel: model.id(ObjectKind::Sensor, "touch_heel")?,
        })
    }

    /// Height of the torso's centre of mass over the foot's.
    fn height(&self, physics: &Physics) -> f64 {
        physics.xipos(self.torso)[2] - physics.xipos(self.foot)[2]
    }
}

impl Task for HopperHop {
    fn id(&self) -> TaskId {
        TaskId::HopperHop
    }

    fn physics_steps_per_action(&self) -> usize {
        4
    }

    fn observation_size(&self) -> usize {
        15
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
        out.extend_from_slice(&physics.qpos()[1..]); // position (6)
        out.push(physics.sensor(self.touch_toe)[0].ln_1p()); // touch (2)
        out.push(physics.sensor(self.touch_heel)[0].ln_1p());
        out.extend_from_slice(physics.qvel()); // velocity (7)
    }

    fn reward(&self, physics: &Physics) -> f64 {
        let standing = Tolerance::bounds(STAND_HEIGHT, 2.0).eval(self.height(physics));
        let hopping = Tolerance::bounds(HOP_SPEED, f64::INFINITY)
            .margin(HOP_SPEED / 2.0)
            .sigmoid(Sigmoid::Linear, 0.5)
            .eval(physics.sensor(self.speed_sensor)[0]);
        standing * hopping
    }
}

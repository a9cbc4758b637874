//! humanoid-walk: stay upright with the head high and walk at 1 m/s or more.

use lam_mujoco::{Model, ObjectKind, Physics};
use rand_chacha::ChaCha8Rng;

use crate::randomize::randomize_limited_and_rotational_joints;
use crate::tolerance::{Sigmoid, Tolerance};
use crate::{EnvError, Task, TaskId};

/// Head height that counts as standing (m).
const STAND_HEIGHT: f64 = 1.4;
/// Target speed of the walk task (m/s).
const WALK_SPEED: f64 = 1.0;
/// Give up drawing a contact-free start after this many tries.
const MAX_RESET_TRIES: usize = 10_000;

/// The humanoid-walk task.
#[derive(Debug)]
pub struct HumanoidWalk {
    torso: usize,
    head: usize,
    /// left hand, left foot, right hand, right foot (the suite's order).
    extremities: [usize; 4],
    com_velocity_sensor: usize,
}

impl HumanoidWalk {
    /// Resolves the names the task needs in `model`.
    pub fn new(model: &Model) -> Result<Self, EnvError> {
        let body = |name| model.id(ObjectKind::Body, name);
        Ok(Self {
            torso: body("torso")?,
            head: body("head")?,
            extremities: [
                body("left_hand")?,
                body("left_foot")?,
                body("right_hand")?,
                body("right_foot")?,
            ],
            com_velocity_sensor: model.id(ObjectKind::Sensor, "torso_subtreelinvel")?,
        })
    }
}

impl Task for HumanoidWalk {
    fn id(&self) -> TaskId {
        TaskId::HumanoidWalk
    }

    fn physics_steps_per_action(&self) -> usize {
        5
    }

    fn observation_size(&self) -> usize {
        67
    }

    fn initialize_episode(
        &self,
        physics: &mut Physics,
        rng: &mut ChaCha8Rng,
    ) -> Result<(), EnvError> {
        // Redraw until no geoms touch, as the suite does.
        for _ in 0..MAX_RESET_TRIES {
            randomize_limited_and_rotational_joints(physics, rng);
            physics.forward();
            if physics.ncon() == 0 {
                return Ok(());
            }
        }
        Err(EnvError::NoContactFreeState(MAX_RESET_TRIES))
    }

    fn observe(&self, physics: &Physics, out: &mut Vec<f64>) {
        // com_velocity (3)
        out.extend_from_slice(physics.sensor(self.com_velocity_sensor));
        // extremities (12): limb - torso, expressed in the torso frame.
        let torso = physics.xpos(self.torso);
        let frame = physics.xmat(self.torso); // row-major R, world = R * local
        for &limb in &self.extremities {
            let p = physics.xpos(limb);
            let d = [p[0] - torso[0], p[1] - torso[1], p[2] - torso[2]];
            // d^T R: the components of d along the torso's axes.
            for col in 0..3 {
                out.push(d[0] * frame[col] + d[1] * frame[3 + col] + d[2] * frame[6 + col]);
            }
        }
        out.push(physics.xpos(self.head)[2]); // head_height (1)
        out.extend_from_slice(&physics.qpos()[7..]); // joint_angles (21)
        out.extend_from_slice(&frame[6..9]); // torso_vertical: zx, zy, zz (3)
        out.extend_from_slice(physics.qvel()); // velocity (27)
    }

    fn reward(&self, physics: &Physics) -> f64 {
        let standing = Tolerance::bounds(STAND_HEIGHT, f64::INFINITY)
            .margin(STAND_HEIGHT / 4.0)
            .eval(physics.xpos(self.head)[2]);
        let upright = Tolerance::bounds(0.9, f64::INFINITY)
            .margin(1.9)
            .sigmoid(Sigmoid::Linear, 0.0)
            .eval(physics.xmat(self.torso)[8]);
        let small_control_shape = Tolerance::bounds(0.0, 0.0)
            .margin(1.0)
            .sigmoid(Sigmoid::Quadratic, 0.0);
        let ctrl = physics.ctrl();
        let small_control = ctrl
            .iter()
            .map(|&u| small_control_shape.eval(u))
            .sum::<f64>()
            / ctrl.len() as f64;
        let small_control = (4.0 + small_control) / 5.0;
        let v = physics.sensor(self.com_velocity_sensor);
        let speed = (v[0] * v[0] + v[1] * v[1]).sqrt();
        let moving = Tolerance::bounds(WALK_SPEED, f64::INFINITY)
            .margin(WALK_SPEED)
            .sigmoid(Sigmoid::Linear, 0.0)
            .eval(speed);
        small_control * standing * upright * (5.0 * moving + 1.0) / 6.0
    }
}

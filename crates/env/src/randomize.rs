//! Joint randomisation at reset, as the Control Suite does it.

use lam_mujoco::{JointKind, Physics};
use rand::Rng;
use rand_distr::StandardNormal;

/// Draws every limited joint uniformly within its range, every unlimited
/// hinge uniformly in [-π, π], unlimited ball joints a random unit
/// quaternion, and the orientation of free joints a random unit quaternion
/// with non-negative components (their position is left alone).
pub fn randomize_limited_and_rotational_joints(physics: &mut Physics, rng: &mut impl Rng) {
    let joints: Vec<_> = (0..physics.model().njnt())
        .map(|j| physics.model().joint(j))
        .collect();
    let qpos = physics.qpos_mut();
    for joint in joints {
        let a = joint.qpos_adr;
        match (joint.kind, joint.limited) {
            (JointKind::Hinge | JointKind::Slide, true) => {
                qpos[a] = rng.random_range(joint.range[0]..=joint.range[1]);
            }
            (JointKind::Hinge, false) => {
                qpos[a] = rng.random_range(-std::f64::consts::PI..=std::f64::consts::PI);
            }
            (JointKind::Ball, _) => {
                // Limited balls do not occur in our tasks; draw a free rotation.
                let q = random_unit_quaternion(rng, true);
                qpos[a..a + 4].copy_from_slice(&q);
            }
            (JointKind::Free, _) => {
                let q = random_unit_quaternion(rng, false);
                qpos[a + 3..a + 7].copy_from_slice(&q);
            }
            (JointKind::Slide, false) => {}
        }
    }
}

/// Draws only the limited hinge and slide joints uniformly within their
/// ranges, leaving every other coordinate alone (cheetah's reset: the root
/// stays upright).
pub fn randomize_limited_joints(physics: &mut Physics, rng: &mut impl Rng) {
    let joints: Vec<_> = (0..physics.model().njnt())
        .map(|j| physics.model().joint(j))
        .filter(|j| j.limited && matches!(j.kind, JointKind::Hinge | JointKind::Slide))
        .collect();
    let qpos = physics.qpos_mut();
    for joint in joints {
        qpos[joint.qpos_adr] = rng.random_range(joint.range[0]..=joint.range[1]);
    }
}

/// A unit quaternion: Gaussian components (uniform rotation) when `gaussian`,
/// else uniform [0, 1) components normalised (the suite's choice for free joints).
fn random_unit_quaternion(rng: &mut impl Rng, gaussian: bool) -> [f64; 4] {
    loop {
        let mut q = [0.0; 4];
        for v in &mut q {
            *v = if gaussian {
                rng.sample(StandardNormal)
            } else {
                rng.random()
            };
        }
        let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 1e-9 {
            return q.map(|v| v / norm);
        }
    }
}

//! Camera shake: the tracking camera moves on a sphere around its look-at
//! point (angles, radius and roll within a box set by the scale), drifting
//! with a noisy, capped velocity, and always re-aims at the agent.

use glam::{DQuat, DVec3};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::render::CameraPose;

/// Lowest camera height above the floor (z = 0), metres.
const MIN_HEIGHT: f64 = 0.05;

/// The box the camera stays in, relative to its start, for a scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CameraBox {
    /// Horizontal and vertical angle offsets and roll, each within ±this (radians).
    pub max_angle: f64,
    /// Radius factor range.
    pub radius: (f64, f64),
    /// Largest velocity norm (in units of start radius / 4 per step).
    pub max_speed: f64,
    /// Standard deviation of the velocity noise per step.
    pub speed_noise: f64,
    /// Roll velocity noise and cap (radians per step).
    pub roll_noise: f64,
    /// Largest roll velocity (radians per step).
    pub max_roll_speed: f64,
}

impl CameraBox {
    /// The box of DISTRACTORS.md for `scale`.
    pub fn for_scale(scale: f64) -> Self {
        use std::f64::consts::PI;
        Self {
            max_angle: PI / 2.0 * scale,
            radius: (1.0 - 0.5 * scale, 1.0 + 1.5 * scale),
            max_speed: 0.4 * scale,
            speed_noise: 0.1 * scale,
            roll_noise: PI / 300.0 * scale,
            max_roll_speed: PI / 50.0 * scale,
        }
    }
}

/// The camera's offsets from its undisturbed pose.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CameraOffsets {
    /// Horizontal (azimuth) angle offset, radians.
    pub azimuth: f64,
    /// Vertical (elevation) angle offset, radians.
    pub elevation: f64,
    /// Distance to the look-at point as a factor of the start distance.
    pub radius: f64,
    /// Roll about the view axis, radians.
    pub roll: f64,
}

/// State of the camera distraction of one environment.
#[derive(Clone, Debug)]
pub struct CameraShake {
    bounds: CameraBox,
    offsets: CameraOffsets,
    /// Velocity in world coordinates, units of start radius / 4 per step.
    velocity: DVec3,
    roll_velocity: f64,
}

/// The undisturbed camera around its look-at point, in spherical coordinates.
#[derive(Clone, Copy, Debug)]
struct Orbit {
    target: DVec3,
    distance: f64,
    azimuth: f64,
    elevation: f64,
}

impl Orbit {
    /// Look-at point: on the camera's view axis, level with the agent's centre of mass.
    fn of(pose: &CameraPose, agent: DVec3) -> Self {
        let eye = DVec3::from_array(pose.pos);
        let forward = -DVec3::new(pose.xmat[2], pose.xmat[5], pose.xmat[8]);
        let depth = (agent - eye).dot(forward).max(0.1);
        let target = eye + forward * depth;
        let rel = eye - target;
        Self {
            target,
            distance: depth,
            azimuth: rel.y.atan2(rel.x),
            elevation: (rel.z / depth).clamp(-1.0, 1.0).asin(),
        }
    }

    fn position(&self, o: &CameraOffsets) -> DVec3 {
        let (az, el) = (self.azimuth + o.azimuth, self.elevation + o.elevation);
        let r = self.distance * o.radius;
        self.target + DVec3::new(el.cos() * az.cos(), el.cos() * az.sin(), el.sin()) * r
    }
}

impl CameraShake {
    /// A still camera (all offsets zero) for `scale`.
    pub fn new(scale: f64) -> Self {
        Self {
            bounds: CameraBox::for_scale(scale),
            offsets: CameraOffsets {
                radius: 1.0,
                ..CameraOffsets::default()
            },
            velocity: DVec3::ZERO,
            roll_velocity: 0.0,
        }
    }

    /// The current offsets.
    pub fn offsets(&self) -> CameraOffsets {
        self.offsets
    }

    /// Sets the offsets (a recorded state played back; the velocity is kept).
    pub fn set_offsets(&mut self, offsets: CameraOffsets) {
        self.offsets = offsets;
    }

    /// The box the offsets stay in.
    pub fn bounds(&self) -> CameraBox {
        self.bounds
    }

    /// Draws a random pose in the box and a random velocity.
    pub fn reset(&mut self, rng: &mut impl Rng) {
        let b = self.bounds;
        let mut uniform = |half: f64| {
            if half > 0.0 {
                rng.random_range(-half..=half)
            } else {
                0.0
            }
        };
        self.offsets = CameraOffsets {
            azimuth: uniform(b.max_angle),
            elevation: uniform(b.max_angle),
            radius: 1.0,
            roll: uniform(b.max_angle),
        };
        self.roll_velocity = uniform(b.max_roll_speed);
        if b.radius.1 > b.radius.0 {
            self.offsets.radius = rng.random_range(b.radius.0..=b.radius.1);
        }
        // A direction uniform on the sphere, a speed uniform up to the cap.
        let normal = Normal::new(0.0, 1.0).expect("unit normal");
        let dir = DVec3::new(normal.sample(rng), normal.sample(rng), normal.sample(rng));
        let speed = if b.max_speed > 0.0 {
            rng.random_range(0.0..=b.max_speed)
        } else {
            0.0
        };
        self.velocity = dir.normalize_or_zero() * speed;
    }

    /// One step of drift: noisy, capped velocity; the pose clipped to the box
    /// and kept above the floor. `pose` is the undisturbed camera now and
    /// `agent` the agent's centre of mass.
    pub fn step(&mut self, rng: &mut impl Rng, pose: &CameraPose, agent: DVec3) {
        let b = self.bounds;
        if b.max_angle == 0.0 {
            return;
        }
        let noise = Normal::new(0.0, b.speed_noise).expect("finite std");
        self.velocity += DVec3::new(noise.sample(rng), noise.sample(rng), noise.sample(rng));
        if self.velocity.length() > b.max_speed {
            self.velocity = self.velocity.normalize() * b.max_speed;
        }
        let orbit = Orbit::of(pose, agent);
        let moved = orbit.position(&self.offsets) + self.velocity * (orbit.distance / 4.0);
        let rel = moved - orbit.target;
        let r = rel.length().max(1e-9);
        let az = rel.y.atan2(rel.x);
        let el = (rel.z / r).clamp(-1.0, 1.0).asin();
        self.offsets.azimuth = wrap(az - orbit.azimuth).clamp(-b.max_angle, b.max_angle);
        self.offsets.elevation = (el - orbit.elevation).clamp(-b.max_angle, b.max_angle);
        self.offsets.radius = (r / orbit.distance).clamp(b.radius.0, b.radius.1);
        let roll_noise = Normal::new(0.0, b.roll_noise).expect("finite std");
        self.roll_velocity = (self.roll_velocity + roll_noise.sample(rng))
            .clamp(-b.max_roll_speed, b.max_roll_speed);
        self.offsets.roll =
            (self.offsets.roll + self.roll_velocity).clamp(-b.max_angle, b.max_angle);
    }

    /// The disturbed camera: `pose` moved by the offsets on its orbit around
    /// the agent, kept above the floor, re-aimed at the look-at point and rolled.
    pub fn apply(&self, pose: &CameraPose, agent: DVec3) -> CameraPose {
        if self.offsets == CameraOffsets::default() || self.bounds.max_angle == 0.0 {
            return *pose;
        }
        let orbit = Orbit::of(pose, agent);
        let mut eye = orbit.position(&self.offsets);
        if eye.z < MIN_HEIGHT {
            // Upper quadrant: slide up the sphere until above the floor.
            let r = orbit.distance * self.offsets.radius;
            let horizontal = DVec3::new(eye.x - orbit.target.x, eye.y - orbit.target.y, 0.0);
            let dz = MIN_HEIGHT - orbit.target.z;
            let h = (r * r - dz * dz).max(0.0).sqrt();
            eye = orbit.target + horizontal.normalize_or_zero() * h + DVec3::Z * dz;
        }
        let col = |j: usize| DVec3::new(pose.xmat[j], pose.xmat[3 + j], pose.xmat[6 + j]);
        let (right, up, forward) = (col(0), col(1), -col(2));
        let new_forward = (orbit.target - eye).normalize();
        let align = DQuat::from_rotation_arc(forward, new_forward);
        let roll = DQuat::from_axis_angle(new_forward, self.offsets.roll);
        let (right, up) = (roll * (align * right), roll * (align * up));
        let back = -new_forward;
        CameraPose {
            pos: eye.to_array(),
            xmat: [
                right.x, up.x, back.x, //
                right.y, up.y, back.y, //
                right.z, up.z, back.z,
            ],
        }
    }
}

/// An angle wrapped to (−π, π].
fn wrap(a: f64) -> f64 {
    use std::f64::consts::{PI, TAU};
    let w = (a + PI).rem_euclid(TAU) - PI;
    if w == -PI {
        PI
    } else {
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn side_camera() -> CameraPose {
        // Cheetah's "side" camera: 3 m in −y of the agent, looking along +y.
        CameraPose {
            pos: [0.0, -3.0, 0.7],
            xmat: [1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0],
        }
    }

    #[test]
    fn offsets_stay_in_the_box_over_long_episodes() {
        let agent = DVec3::new(0.0, 0.0, 0.7);
        for scale in [0.1, 0.2, 0.3] {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let mut shake = CameraShake::new(scale);
            let b = shake.bounds();
            shake.reset(&mut rng);
            let mut moved = 0.0f64;
            let mut last = shake.offsets();
            for _ in 0..2000 {
                shake.step(&mut rng, &side_camera(), agent);
                let o = shake.offsets();
                assert!(o.azimuth.abs() <= b.max_angle + 1e-12);
                assert!(o.elevation.abs() <= b.max_angle + 1e-12);
                assert!(o.roll.abs() <= b.max_angle + 1e-12);
                assert!(o.radius >= b.radius.0 - 1e-12 && o.radius <= b.radius.1 + 1e-12);
                moved += (o.azimuth - last.azimuth).abs();
                last = o;
                let pose = shake.apply(&side_camera(), agent);
                assert!(pose.pos[2] >= MIN_HEIGHT - 1e-9, "below the floor");
            }
            assert!(moved > 0.01, "the camera never moved at scale {scale}");
        }
    }

    #[test]
    fn the_camera_always_looks_at_the_agent_and_stays_orthonormal() {
        let agent = DVec3::new(0.0, 0.0, 0.7);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut shake = CameraShake::new(0.3);
        shake.reset(&mut rng);
        for _ in 0..50 {
            shake.step(&mut rng, &side_camera(), agent);
            let pose = shake.apply(&side_camera(), agent);
            let eye = DVec3::from_array(pose.pos);
            let forward = -DVec3::new(pose.xmat[2], pose.xmat[5], pose.xmat[8]);
            let to_agent = (agent - eye).normalize();
            assert!(forward.dot(to_agent) > 0.999, "{}", forward.dot(to_agent));
            let right = DVec3::new(pose.xmat[0], pose.xmat[3], pose.xmat[6]);
            assert!(right.dot(forward).abs() < 1e-9 && (right.length() - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn scale_zero_is_the_model_camera() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut shake = CameraShake::new(0.0);
        shake.reset(&mut rng);
        shake.step(&mut rng, &side_camera(), DVec3::ZERO);
        assert_eq!(shake.apply(&side_camera(), DVec3::ZERO), side_camera());
    }

    #[test]
    fn wrap_angles() {
        assert!((wrap(3.0 * std::f64::consts::PI) - std::f64::consts::PI).abs() < 1e-12);
        assert!((wrap(-0.5) + 0.5).abs() < 1e-12);
    }
}

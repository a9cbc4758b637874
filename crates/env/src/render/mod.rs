//! A CPU ray caster for MuJoCo scenes: primitives, materials, the checkered
//! floor, headlight and model lights with diffuse and specular shading,
//! shadows, floor reflections and the gradient sky. No OpenGL, no global
//! state: one [`Renderer`] per environment, safe to run on worker threads.

pub mod geometry;
mod scene;
mod sky;

use lam_mujoco::{Model, Physics};

pub use scene::Scene;
pub use sky::Sky;

use geometry::Ray;

/// Errors of the renderer.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A zero width or height.
    #[error("image size must be at least 1x1, got {width}x{height}")]
    ZeroSize {
        /// Requested width.
        width: usize,
        /// Requested height.
        height: usize,
    },
    /// A camera the model does not have.
    #[error("camera {camera} does not exist: the model has {available} cameras")]
    NoCamera {
        /// Requested camera.
        camera: usize,
        /// Number of cameras.
        available: usize,
    },
}

/// What and how to draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderConfig {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Model camera (0 = the suite's default tracking camera).
    pub camera: usize,
    /// Samples per pixel side (1 = one ray per pixel, 2 = 4 rays, ...).
    pub supersample: usize,
    /// Shadows from shadow-casting model lights.
    pub shadows: bool,
    /// Mirror reflections on reflective materials (the floor).
    pub reflections: bool,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            width: 64,
            height: 64,
            camera: 0,
            supersample: 2,
            shadows: true,
            reflections: true,
        }
    }
}

/// Draws RGB images of a physics state.
#[derive(Clone, Debug)]
pub struct Renderer {
    config: RenderConfig,
    sky: Sky,
}

impl Renderer {
    /// A renderer for `model` with `config`.
    pub fn new(model: &Model, config: RenderConfig) -> Result<Self, RenderError> {
        if config.width == 0 || config.height == 0 {
            return Err(RenderError::ZeroSize {
                width: config.width,
                height: config.height,
            });
        }
        if config.camera >= model.ncam() {
            return Err(RenderError::NoCamera {
                camera: config.camera,
                available: model.ncam(),
            });
        }
        Ok(Self {
            config: RenderConfig {
                supersample: config.supersample.max(1),
                ..config
            },
            sky: Sky::control_suite(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RenderConfig {
        &self.config
    }

    /// Replaces the sky (backgrounds plug in here).
    pub fn set_sky(&mut self, sky: Sky) {
        self.sky = sky;
    }

    /// Renders the current state into a new `height x width x 3` RGB buffer.
    pub fn render(&self, physics: &Physics) -> Vec<u8> {
        let mut out = vec![0; self.config.width * self.config.height * 3];
        self.render_into(physics, &mut out);
        out
    }

    /// Renders the current state into `out` (`height x width x 3` bytes, row-major).
    pub fn render_into(&self, physics: &Physics, out: &mut [u8]) {
        let c = &self.config;
        assert_eq!(out.len(), c.width * c.height * 3, "output buffer size");
        let scene = Scene::capture(physics, c.camera);
        let (eye, right, up, forward) = scene.camera_basis();
        let half_h = (scene.fovy_degrees().to_radians() / 2.0).tan();
        let half_w = half_h * c.width as f64 / c.height as f64;
        let n = c.supersample;
        let weight = 1.0 / (n * n) as f32;
        for y in 0..c.height {
            for x in 0..c.width {
                let mut acc = [0.0f32; 3];
                for sy in 0..n {
                    for sx in 0..n {
                        let u = ((x * n + sx) as f64 + 0.5) / (c.width * n) as f64;
                        let v = ((y * n + sy) as f64 + 0.5) / (c.height * n) as f64;
                        let dir = (forward + right * ((2.0 * u - 1.0) * half_w)
                            - up * ((2.0 * v - 1.0) * half_h))
                            .normalize();
                        let rgb = self.trace(&scene, Ray { origin: eye, dir }, (u, v));
                        for k in 0..3 {
                            acc[k] += rgb[k] * weight;
                        }
                    }
                }
                let at = (y * c.width + x) * 3;
                for k in 0..3 {
                    out[at + k] = (acc[k].clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
                }
            }
        }
    }

    /// Colour seen along a primary ray; `screen` is its position on the image in [0, 1]².
    fn trace(&self, scene: &Scene, ray: Ray, screen: (f64, f64)) -> [f32; 3] {
        let Some(hit) = scene.nearest_hit(&ray, true) else {
            return self.sky.color(ray.dir, screen);
        };
        let point = ray.origin + ray.dir * hit.t;
        let mut rgb = scene.shade(&hit, point, ray.dir, self.config.shadows);
        let reflectance = scene.reflectance(&hit);
        if self.config.reflections && reflectance > 0.0 {
            let n = hit.normal;
            let mirrored = Ray {
                origin: point,
                dir: ray.dir - n * (2.0 * ray.dir.dot(n)),
            };
            if let Some(r) = scene.nearest_hit(&mirrored, false) {
                let p = mirrored.origin + mirrored.dir * r.t;
                let seen = scene.shade(&r, p, mirrored.dir, false);
                for k in 0..3 {
                    rgb[k] = rgb[k] * (1.0 - reflectance) + seen[k] * reflectance;
                }
            }
        }
        rgb
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Environment, TaskId};

    fn renderer(env: &Environment, config: RenderConfig) -> Renderer {
        Renderer::new(env.physics().model(), config).unwrap()
    }

    #[test]
    fn same_state_same_pixels_and_the_agent_is_drawn() {
        let mut env = Environment::new(TaskId::CheetahRun, 3).unwrap();
        env.reset().unwrap();
        let r = renderer(&env, RenderConfig::default());
        let a = r.render(env.physics());
        assert_eq!(a.len(), 64 * 64 * 3);
        assert_eq!(a, r.render(env.physics()));
        // The cheetah's orange (.7, .5, .3) dominates some pixels: red > blue.
        let orange = a
            .chunks(3)
            .filter(|p| p[0] as i32 > p[2] as i32 + 40)
            .count();
        assert!(orange > 30, "only {orange} agent-coloured pixels");
        // The sky (blue above the horizon) fills the top row.
        assert!(a[..64 * 3].chunks(3).all(|p| p[2] > p[0]));
    }

    #[test]
    fn moving_the_agent_changes_the_image() {
        let mut env = Environment::new(TaskId::WalkerRun, 1).unwrap();
        env.reset().unwrap();
        let r = renderer(&env, RenderConfig::default());
        let before = r.render(env.physics());
        for _ in 0..20 {
            env.step(&[1.0, -1.0, 1.0, -1.0, 1.0, -1.0]).unwrap();
        }
        assert_ne!(before, r.render(env.physics()));
    }

    #[test]
    fn bad_configurations_are_errors() {
        let env = Environment::new(TaskId::HopperHop, 0).unwrap();
        let model = env.physics().model();
        let zero = RenderConfig {
            width: 0,
            ..RenderConfig::default()
        };
        assert!(matches!(
            Renderer::new(model, zero),
            Err(RenderError::ZeroSize { .. })
        ));
        let camera = RenderConfig {
            camera: 99,
            ..RenderConfig::default()
        };
        let err = Renderer::new(model, camera).unwrap_err();
        assert!(err.to_string().contains("99"), "{err}");
    }

    #[test]
    fn every_task_renders_at_any_resolution() {
        for task in TaskId::ALL {
            let mut env = Environment::new(task, 0).unwrap();
            env.reset().unwrap();
            let config = RenderConfig {
                width: 48,
                height: 32,
                supersample: 1,
                ..RenderConfig::default()
            };
            let image = renderer(&env, config).render(env.physics());
            assert_eq!(image.len(), 48 * 32 * 3);
            let distinct: std::collections::HashSet<_> = image.chunks(3).collect();
            assert!(distinct.len() > 10, "{task}: a flat image");
        }
    }
}

//! A snapshot of what is visible: geoms in world coordinates with their
//! materials, the lights and the camera, taken from a physics state.

use glam::{DMat3, DVec3};
use lam_mujoco::{GeomShape, Physics};

use super::geometry::{intersect, Ray};

/// Offset that keeps secondary rays from hitting their own surface.
const EPSILON: f64 = 1e-6;
/// Geom groups drawn by default (MuJoCo's visual defaults: 0, 1, 2).
const VISIBLE_GROUPS: std::ops::RangeInclusive<i32> = 0..=2;

/// A checker-like 2D texture on a plane, sampled from the model's texels.
#[derive(Clone, Debug)]
struct PlaneTexture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
    repeat: [f64; 2],
    uniform: bool,
}

#[derive(Clone, Debug)]
struct SceneGeom {
    shape: GeomShape,
    size: [f64; 3],
    pos: DVec3,
    rot: DMat3, // columns: the geom's axes in world coordinates
    rgb: [f32; 3],
    specular: f32,
    shininess: f32,
    emission: f32,
    reflectance: f32,
    texture: Option<usize>,
    bound: f64,
}

#[derive(Clone, Debug)]
struct SceneLight {
    pos: DVec3,
    dir: DVec3,
    directional: bool,
    cast_shadow: bool,
    ambient: [f32; 3],
    diffuse: [f32; 3],
    specular: [f32; 3],
}

/// A hit in world coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    /// Ray parameter.
    pub t: f64,
    /// Unit outward normal, world frame.
    pub normal: DVec3,
    geom: usize,
}

/// Everything needed to shade one frame.
#[derive(Clone, Debug)]
pub struct Scene {
    geoms: Vec<SceneGeom>,
    textures: Vec<PlaneTexture>,
    lights: Vec<SceneLight>,
    eye: DVec3,
    cam_rot: DMat3,
    fovy: f64,
}

fn mat3(m: [f64; 9]) -> DMat3 {
    // MuJoCo's xmat is row-major; glam is column-major.
    DMat3::from_cols_array(&m).transpose()
}

impl Scene {
    /// Captures geoms, materials, lights and camera `camera` from `physics`.
    pub fn capture(physics: &Physics, camera: usize) -> Self {
        let model = physics.model();
        let mut textures = Vec::new();
        let mut texture_slot = std::collections::HashMap::new();
        let mut geoms = Vec::new();
        for id in 0..model.ngeom() {
            let info = model.geom(id);
            if info.shape == GeomShape::Other || !VISIBLE_GROUPS.contains(&info.group) {
                continue;
            }
            let material = info.material.map(|m| model.material(m));
            let rgba = material.map_or(info.rgba, |m| m.rgba);
            if rgba[3] <= 0.0 {
                continue;
            }
            let texture = material.and_then(|m| {
                let tex = m.texture?;
                let t = model.texture(tex);
                if t.kind != 0 {
                    return None; // only 2D textures map onto planes
                }
                let slot = *texture_slot.entry(tex).or_insert_with(|| {
                    textures.push(PlaneTexture {
                        width: t.width,
                        height: t.height,
                        rgb: t.rgb.to_vec(),
                        repeat: [m.texrepeat[0] as f64, m.texrepeat[1] as f64],
                        uniform: m.texuniform,
                    });
                    textures.len() - 1
                });
                Some(slot)
            });
            let (pos, rot) = physics.geom_pose(id);
            geoms.push(SceneGeom {
                shape: info.shape,
                size: info.size,
                pos: DVec3::from_array(pos),
                rot: mat3(rot),
                rgb: [rgba[0], rgba[1], rgba[2]],
                specular: material.map_or(0.5, |m| m.specular),
                shininess: material.map_or(0.5, |m| m.shininess),
                emission: material.map_or(0.0, |m| m.emission),
                reflectance: material.map_or(0.0, |m| m.reflectance),
                texture,
                bound: info.bounding_radius,
            });
        }
        let lights = (0..model.nlight())
            .filter_map(|id| {
                let info = model.light(id);
                let (pos, dir) = physics.light_pose(id);
                info.active.then(|| SceneLight {
                    pos: DVec3::from_array(pos),
                    dir: DVec3::from_array(dir).normalize(),
                    directional: info.directional,
                    cast_shadow: info.cast_shadow,
                    ambient: info.ambient,
                    diffuse: info.diffuse,
                    specular: info.specular,
                })
            })
            .collect();
        let (eye, cam) = physics.camera_pose(camera);
        let mut scene = Self {
            geoms,
            textures,
            lights,
            eye: DVec3::from_array(eye),
            cam_rot: mat3(cam),
            fovy: model.camera_fovy(camera),
        };
        let head = model.headlight();
        if head.active {
            // A directional light shining along the view, at the eye.
            scene.lights.push(SceneLight {
                pos: scene.eye,
                dir: -scene.cam_rot.z_axis,
                directional: true,
                cast_shadow: false,
                ambient: head.ambient,
                diffuse: head.diffuse,
                specular: head.specular,
            });
        }
        scene
    }

    /// Eye position and the camera's right, up and forward unit vectors.
    pub fn camera_basis(&self) -> (DVec3, DVec3, DVec3, DVec3) {
        (
            self.eye,
            self.cam_rot.x_axis,
            self.cam_rot.y_axis,
            -self.cam_rot.z_axis,
        )
    }

    /// Vertical field of view in degrees.
    pub fn fovy_degrees(&self) -> f64 {
        self.fovy
    }

    /// The nearest geom along `ray`; planes only when `planes`.
    pub fn nearest_hit(&self, ray: &Ray, planes: bool) -> Option<Hit> {
        let mut best: Option<Hit> = None;
        for (i, g) in self.geoms.iter().enumerate() {
            let is_plane = g.shape == GeomShape::Plane;
            if is_plane && !planes {
                continue;
            }
            if !is_plane {
                // Bounding-sphere rejection.
                let oc = ray.origin - g.pos;
                let b = oc.dot(ray.dir);
                let c = oc.length_squared() - g.bound * g.bound;
                if c > 0.0 && (b > 0.0 || b * b < c * ray.dir.length_squared()) {
                    continue;
                }
            }
            let local = Ray {
                origin: g.rot.transpose() * (ray.origin - g.pos),
                dir: g.rot.transpose() * ray.dir,
            };
            if let Some(h) = intersect(g.shape, g.size, &local, EPSILON) {
                if best.is_none_or(|b| h.t < b.t) {
                    best = Some(Hit {
                        t: h.t,
                        normal: (g.rot * h.normal).normalize(),
                        geom: i,
                    });
                }
            }
        }
        best
    }

    /// True when something other than a plane blocks the segment from `p` to `target`.
    fn occluded(&self, p: DVec3, target: DVec3) -> bool {
        let d = target - p;
        let ray = Ray { origin: p, dir: d };
        self.nearest_hit(&ray, false).is_some_and(|h| h.t < 1.0)
    }

    /// Mirror reflectance of the hit surface.
    pub fn reflectance(&self, hit: &Hit) -> f32 {
        self.geoms[hit.geom].reflectance
    }

    fn base_color(&self, g: &SceneGeom, point: DVec3) -> [f32; 3] {
        let Some(tex) = g.texture.map(|t| &self.textures[t]) else {
            return g.rgb;
        };
        let local = g.rot.transpose() * (point - g.pos);
        // Uniform: `repeat` per two units of length (matches MuJoCo's look);
        // else per plane extent.
        let (sx, sy) = if tex.uniform || g.size[0] <= 0.0 {
            (0.5 * tex.repeat[0], 0.5 * tex.repeat[1])
        } else {
            (
                tex.repeat[0] / (2.0 * g.size[0]),
                tex.repeat[1] / (2.0 * g.size[1]),
            )
        };
        let u = (local.x * sx).rem_euclid(1.0);
        let v = (local.y * sy).rem_euclid(1.0);
        let x = ((u * tex.width as f64) as usize).min(tex.width - 1);
        let y = ((v * tex.height as f64) as usize).min(tex.height - 1);
        let at = (y * tex.width + x) * 3;
        // Texture colour modulated by the material colour.
        [
            tex.rgb[at] as f32 / 255.0 * g.rgb[0],
            tex.rgb[at + 1] as f32 / 255.0 * g.rgb[1],
            tex.rgb[at + 2] as f32 / 255.0 * g.rgb[2],
        ]
    }

    /// Colour of `hit` at `point` seen along `view` (OpenGL-style fixed-function lighting).
    pub fn shade(&self, hit: &Hit, point: DVec3, view: DVec3, shadows: bool) -> [f32; 3] {
        let g = &self.geoms[hit.geom];
        let base = self.base_color(g, point);
        let mut n = hit.normal;
        if n.dot(view) > 0.0 {
            n = -n; // seen from behind (planes)
        }
        let to_eye = -view.normalize();
        let lifted = point + n * EPSILON * 10.0;
        let mut rgb = [
            g.emission * base[0],
            g.emission * base[1],
            g.emission * base[2],
        ];
        for light in &self.lights {
            let (l, spot) = if light.directional {
                (-light.dir, 1.0)
            } else {
                let l = (light.pos - point).normalize();
                // MuJoCo's default spot: cutoff 45 degrees, exponent 10.
                let cos = (-l).dot(light.dir);
                let spot = if cos >= std::f64::consts::FRAC_PI_4.cos() {
                    cos.powi(10)
                } else {
                    0.0
                };
                (l, spot)
            };
            let lit = if shadows && light.cast_shadow && !light.directional {
                !self.occluded(lifted, light.pos)
            } else {
                true
            };
            let diffuse = if lit {
                (n.dot(l).max(0.0) * spot) as f32
            } else {
                0.0
            };
            let specular = if lit && diffuse > 0.0 {
                let h = (l + to_eye).normalize();
                (n.dot(h).max(0.0).powf(g.shininess as f64 * 128.0) * spot) as f32 * g.specular
            } else {
                0.0
            };
            for k in 0..3 {
                rgb[k] += light.ambient[k] * base[k]
                    + light.diffuse[k] * base[k] * diffuse
                    + light.specular[k] * specular;
            }
        }
        rgb
    }
}

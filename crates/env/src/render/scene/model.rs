//! The scene model: what a model draws (geoms, materials, textures and
//! lights, read once) and [`Scene::capture`], one frame's poses and lists.

use glam::{Mat3A, Vec3A};
use lam_mujoco::{GeomShape, Model, Physics};

use super::shade::{Mirror, PacketOrigin};
use super::shadows::{covering_spheres, ground_shadow_lists, tile_may_see_plane};
use super::texture::PlaneTexture;
use super::Scene;
use crate::render::culling::{Projector, TileLists, COARSE, FINE};

/// Geom groups drawn by default (MuJoCo's visual defaults: 0, 1, 2).
const VISIBLE_GROUPS: std::ops::RangeInclusive<i32> = 0..=2;

/// What never changes about a drawn geom.
#[derive(Clone, Debug)]
pub(super) struct StaticGeom {
    id: usize,
    pub(super) shape: GeomShape,
    pub(super) size: [f32; 3],
    material: Option<usize>,
    rgb: [f32; 3],
    pub(super) specular: f32,
    pub(super) shininess: f32,
    /// log2 of the specular exponent when it is a power of two (the usual 64).
    pub(super) shininess_log2: Option<u32>,
    pub(super) emission: f32,
    pub(super) reflectance: f32,
    pub(super) texture: Option<usize>,
    pub(super) bound: f32,
    /// Part of the agent (any body but the world).
    agent: bool,
}

#[derive(Clone, Debug)]
struct StaticLight {
    id: usize,
    directional: bool,
    cast_shadow: bool,
    ambient: [f32; 3],
    diffuse: [f32; 3],
    specular: [f32; 3],
}

/// The static part of a scene, read from a model once.
#[derive(Clone, Debug)]
pub struct SceneModel {
    /// Planes first, then solids.
    pub(super) geoms: Vec<StaticGeom>,
    pub(super) planes: usize,
    pub(super) textures: Vec<PlaneTexture>,
    lights: Vec<StaticLight>,
    headlight: Option<StaticLight>,
    nmat: usize,
    ngeom: usize,
}

impl SceneModel {
    /// Reads the drawable geoms, materials, textures and lights of `model`.
    pub fn new(model: &Model) -> Self {
        let mut textures = Vec::new();
        let mut texture_slot = std::collections::HashMap::new();
        let mut planes = Vec::new();
        let mut solids = Vec::new();
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
                    textures.push(PlaneTexture::new(
                        t.width,
                        t.height,
                        t.rgb,
                        m.texrepeat,
                        m.texuniform,
                    ));
                    textures.len() - 1
                });
                Some(slot)
            });
            let geom = StaticGeom {
                id,
                shape: info.shape,
                size: info.size.map(|v| v as f32),
                material: info.material,
                rgb: [rgba[0], rgba[1], rgba[2]],
                specular: material.map_or(0.5, |m| m.specular),
                shininess: material.map_or(0.5, |m| m.shininess),
                shininess_log2: {
                    let e = material.map_or(0.5, |m| m.shininess) * 128.0;
                    let k = e.log2().round();
                    ((0.0..=8.0).contains(&k) && (k.exp2() - e).abs() < 1e-4).then_some(k as u32)
                },
                emission: material.map_or(0.0, |m| m.emission),
                reflectance: material.map_or(0.0, |m| m.reflectance),
                texture,
                bound: info.bounding_radius as f32,
                agent: info.body != 0,
            };
            if info.shape == GeomShape::Plane {
                planes.push(geom);
            } else {
                solids.push(geom);
            }
        }
        let nplanes = planes.len();
        planes.extend(solids);
        let lights = (0..model.nlight())
            .filter_map(|id| {
                let info = model.light(id);
                info.active.then_some(StaticLight {
                    id,
                    directional: info.directional,
                    cast_shadow: info.cast_shadow,
                    ambient: info.ambient,
                    diffuse: info.diffuse,
                    specular: info.specular,
                })
            })
            .collect();
        let head = model.headlight();
        let headlight = head.active.then_some(StaticLight {
            id: usize::MAX,
            directional: true,
            cast_shadow: false,
            ambient: head.ambient,
            diffuse: head.diffuse,
            specular: head.specular,
        });
        Self {
            geoms: planes,
            planes: nplanes,
            textures,
            lights,
            headlight,
            nmat: model.nmat(),
            ngeom: model.ngeom(),
        }
    }

    /// Number of materials (the length of a colour override).
    pub fn material_count(&self) -> usize {
        self.nmat
    }

    /// Per drawn geom (in the order hits name them): whether it belongs to
    /// the agent, i.e. to any body but the world.
    pub fn agent_geoms(&self) -> Vec<bool> {
        self.geoms.iter().map(|g| g.agent).collect()
    }

    /// True when `model` has the geoms and materials this scene was read from.
    pub fn fits(&self, model: &Model) -> bool {
        model.ngeom() == self.ngeom && model.nmat() == self.nmat
    }
}

#[derive(Clone, Debug)]
pub(super) struct SceneGeom {
    pub(super) pos: Vec3A,
    pub(super) rot: Mat3A,     // columns: the geom's axes in world coordinates
    pub(super) inv_rot: Mat3A, // world → local
    pub(super) rgb: [f32; 3],
    /// The eye in the geom's frame (primary rays all start there).
    pub(super) eye_local: Vec3A,
    /// eye − pos and |eye − pos|² − bound², for the primary bounding test.
    pub(super) eye_offset: Vec3A,
    pub(super) eye_c: f32,
}

#[derive(Clone, Debug)]
pub(super) struct SceneLight {
    /// The headlight (attached to the camera, so not mirrored in reflections).
    pub(super) headlight: bool,
    /// Per tile, the solids that may shadow ground points seen there.
    pub(super) ground_shadows: Option<TileLists>,
    /// The light as the origin of shadow-ray packets (shadow-casting point lights).
    pub(super) shadow_origin: Option<PacketOrigin>,
    pub(super) pos: Vec3A,
    pub(super) dir: Vec3A,
    pub(super) directional: bool,
    pub(super) cast_shadow: bool,
    pub(super) ambient: [f32; 3],
    pub(super) diffuse: [f32; 3],
    pub(super) specular: [f32; 3],
}

fn mat3(m: [f64; 9]) -> Mat3A {
    // MuJoCo's xmat is row-major; glam is column-major.
    Mat3A::from_cols_array(&m.map(|v| v as f32)).transpose()
}

fn vec3(v: [f64; 3]) -> Vec3A {
    Vec3A::new(v[0] as f32, v[1] as f32, v[2] as f32)
}

/// A camera in world coordinates: eye position and row-major orientation
/// (MuJoCo's convention: the camera looks along −z of its frame, y is up).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CameraPose {
    /// Eye position.
    pub pos: [f64; 3],
    /// Row-major 3x3 orientation.
    pub xmat: [f64; 9],
}

impl CameraPose {
    /// Right, up and forward unit vectors.
    pub(crate) fn basis(&self) -> (Vec3A, Vec3A, Vec3A) {
        let r = mat3(self.xmat);
        (r.x_axis, r.y_axis, -r.z_axis)
    }
}

impl<'m> Scene<'m> {
    /// Snapshots `physics` as seen through `projector`; `material_rgb`
    /// overrides material colours (indexed by material id).
    pub(crate) fn capture(
        model: &'m SceneModel,
        physics: &Physics,
        projector: &Projector,
        material_rgb: Option<&[[f32; 3]]>,
    ) -> Self {
        let eye = projector.eye;
        let geoms: Vec<SceneGeom> = model
            .geoms
            .iter()
            .map(|g| {
                let (pos, rot) = physics.geom_pose(g.id);
                let (pos, rot) = (vec3(pos), mat3(rot));
                let rgb = match (g.material, material_rgb) {
                    (Some(m), Some(over)) => over[m],
                    _ => g.rgb,
                };
                let inv_rot = rot.transpose();
                let eye_offset = eye - pos;
                SceneGeom {
                    pos,
                    rot,
                    inv_rot,
                    rgb,
                    eye_local: inv_rot * eye_offset,
                    eye_offset,
                    eye_c: eye_offset.length_squared() - g.bound * g.bound,
                }
            })
            .collect();
        let mut lights: Vec<SceneLight> = model
            .lights
            .iter()
            .map(|l| {
                let (pos, dir) = physics.light_pose(l.id);
                SceneLight {
                    headlight: false,
                    ground_shadows: None,
                    shadow_origin: (l.cast_shadow && !l.directional)
                        .then(|| PacketOrigin::new(vec3(pos), &geoms, model)),
                    pos: vec3(pos),
                    dir: vec3(dir).normalize(),
                    directional: l.directional,
                    cast_shadow: l.cast_shadow,
                    ambient: l.ambient,
                    diffuse: l.diffuse,
                    specular: l.specular,
                }
            })
            .collect();
        if let Some(h) = &model.headlight {
            // A directional light shining along the view, at the eye.
            lights.push(SceneLight {
                headlight: true,
                ground_shadows: None,
                shadow_origin: None,
                pos: eye,
                dir: projector.forward,
                directional: true,
                cast_shadow: false,
                ambient: h.ambient,
                diffuse: h.diffuse,
                specular: h.specular,
            });
        }
        let solids: Vec<u16> = (model.planes as u16..model.geoms.len() as u16).collect();
        let bounds: Vec<(u16, Vec3A, f32)> = solids
            .iter()
            .map(|&i| (i, geoms[i as usize].pos, model.geoms[i as usize].bound))
            .collect();
        // Spheres enclosing each solid, for the culling lists.
        let mut cover: Vec<(u16, Vec3A, f32)> = Vec::with_capacity(4 * solids.len());
        for &i in &solids {
            let (s, g) = (&model.geoms[i as usize], &geoms[i as usize]);
            covering_spheres(s.shape, s.size, s.bound, (g.pos, g.rot.z_axis), |c, r| {
                cover.push((i, c, r))
            });
        }
        if model.planes > 0 {
            let ground = &geoms[0];
            for light in &mut lights {
                if light.cast_shadow && !light.directional {
                    light.ground_shadows = Some(ground_shadow_lists(
                        projector,
                        (ground.pos, ground.rot.z_axis),
                        light.pos,
                        &bounds,
                    ));
                }
            }
        }
        let primary = TileLists::build(projector, FINE, cover.iter().copied());
        let planes_seen = TileLists::from_tiles(
            projector.width,
            projector.height,
            COARSE,
            |[x0, x1, y0, y1], out| {
                let corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
                    .map(|(x, y)| projector.ray_dir(x as f32, y as f32));
                for (i, g) in geoms.iter().take(model.planes).enumerate() {
                    if tile_may_see_plane(eye, &corners, g, model.geoms[i].size) {
                        out.push(i as u16);
                    }
                }
            },
        );
        let reflective: Vec<u16> = (0..model.planes as u16)
            .filter(|&i| model.geoms[i as usize].reflectance > 0.0)
            .collect();
        let mirror = match reflective[..] {
            [plane] => {
                let (p0, n) = (geoms[plane as usize].pos, geoms[plane as usize].rot.z_axis);
                let mirrored = bounds
                    .iter()
                    .map(|&(i, c, r)| (i, c - n * (2.0 * (c - p0).dot(n)), r));
                Some(Mirror {
                    plane,
                    lists: TileLists::build(projector, FINE, mirrored),
                    eye: PacketOrigin::new(eye - n * (2.0 * (eye - p0).dot(n)), &geoms, model),
                })
            }
            _ => None,
        };
        Self {
            model,
            eye,
            pixel_angle: 2.0 * projector.half_h / projector.height as f32,
            geoms,
            lights,
            solids,
            primary,
            planes_seen,
            mirror,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::geometry::{intersect, Ray};
    use crate::render::packet::Vec3x4;
    use crate::render::scene::{EPSILON, NO_HIT};
    use crate::{Environment, TaskId};

    /// A camera at `eye` looking at `target` (z up), as a MuJoCo pose.
    fn look_at(eye: Vec3A, target: Vec3A, roll: f32) -> CameraPose {
        let forward = (target - eye).normalize();
        let right0 = forward.cross(Vec3A::Z).normalize();
        let up0 = right0.cross(forward);
        let (s, c) = roll.sin_cos();
        let (right, up) = (right0 * c + up0 * s, up0 * c - right0 * s);
        let cols = [right, up, -forward];
        let mut xmat = [0.0; 9];
        for (col, axis) in cols.iter().enumerate() {
            for row in 0..3 {
                xmat[row * 3 + col] = axis[row] as f64;
            }
        }
        CameraPose {
            pos: eye.to_array().map(f64::from),
            xmat,
        }
    }
    #[test]
    fn ground_shadow_lists_never_lose_an_occluder() {
        let mut shadowed = 0;
        for task in TaskId::ALL {
            let mut env = Environment::new(task, 3).unwrap();
            env.reset().unwrap();
            for step in 0..60 {
                let a: Vec<f64> = (0..env.action_size())
                    .map(|i| ((step + 3 * i) as f64 * 0.3).sin())
                    .collect();
                env.step(&a).unwrap();
                if step % 20 != 19 {
                    continue;
                }
                let physics = env.physics();
                let model = SceneModel::new(physics.model());
                let fovy = physics.model().camera_fovy(0).to_radians() as f32;
                let (pos, xmat) = physics.camera_pose(0);
                let pose = CameraPose { pos, xmat };
                let projector = Projector::new(vec3(pos), pose.basis(), fovy, 64, 64);
                let scene = Scene::capture(&model, physics, &projector, None);
                for light in scene.lights.iter().filter(|l| l.ground_shadows.is_some()) {
                    let lists = light.ground_shadows.as_ref().unwrap();
                    for (px, py) in (0..64).flat_map(|y| (0..64).map(move |x| (x, y))) {
                        let dir = projector
                            .ray_dir(px as f32 + 0.5, py as f32 + 0.5)
                            .normalize();
                        let (t, ids) = scene.primary_hits4(&Vec3x4::unit([dir; 4]), px, py);
                        if ids[0] != 0 {
                            continue;
                        }
                        let n = scene.geoms[0].rot.z_axis;
                        let n = if n.dot(dir) > 0.0 { -n } else { n };
                        let p = projector.eye + dir * t[0] + n * (EPSILON * 10.0);
                        let all = scene.occluded(p, light.pos, &scene.solids, 0);
                        let listed = scene.occluded(p, light.pos, lists.at(px, py), 0);
                        assert_eq!(all, listed, "{task} step {step}: pixel ({px}, {py})");
                        shadowed += all as usize;
                    }
                }
            }
        }
        assert!(
            shadowed > 20,
            "only {shadowed} shadowed ground pixels to test"
        );
    }
    /// Culling only skips work: wherever a ray tested against every geom
    /// hits something, the culled lookup finds the same geom at the same
    /// distance, for pixel centres and edge samples, from the model camera
    /// and from cameras all around the agent.
    #[test]
    fn culling_never_loses_a_hit() {
        for task in TaskId::ALL {
            let mut env = Environment::new(task, 1).unwrap();
            env.reset().unwrap();
            for _ in 0..20 {
                env.step(&vec![0.5; env.action_size()]).unwrap();
            }
            let physics = env.physics();
            let model = SceneModel::new(physics.model());
            let fovy = physics.model().camera_fovy(0).to_radians() as f32;
            let (pos, xmat) = physics.camera_pose(0);
            let mut poses = vec![CameraPose { pos, xmat }];
            let target = vec3(physics.geom_pose(model.geoms[model.planes].id).0);
            for (k, (azimuth, height, roll)) in [
                (0.3f32, 0.4f32, 0.0f32),
                (2.0, 1.5, 0.3),
                (-1.2, -0.2, -0.5),
                (3.0, 4.0, 0.0),
            ]
            .into_iter()
            .enumerate()
            {
                let dist = 2.0 + k as f32;
                let eye = target + Vec3A::new(azimuth.cos() * dist, azimuth.sin() * dist, height);
                poses.push(look_at(eye, target, roll));
            }
            let (w, h) = (48, 40);
            for pose in &poses {
                let eye = vec3(pose.pos);
                let projector = Projector::new(eye, pose.basis(), fovy, w, h);
                let scene = Scene::capture(&model, physics, &projector, None);
                // Every geom, no culling, scalar intersections.
                let brute = |dir: Vec3A| {
                    let mut best: Option<(f32, u16)> = None;
                    for (i, (g, s)) in scene.geoms.iter().zip(&model.geoms).enumerate() {
                        let local = Ray {
                            origin: g.inv_rot * (eye - g.pos),
                            dir: g.inv_rot * dir,
                        };
                        if let Some(hit) = intersect(s.shape, s.size, &local, EPSILON) {
                            if best.is_none_or(|b| hit.t < b.0) {
                                best = Some((hit.t, i as u16));
                            }
                        }
                    }
                    best
                };
                let (mut hits, mut checked) = (0, 0);
                let samples = [(0.5, 0.5), (0.25, 0.25), (0.75, 0.25), (0.25, 0.75)];
                for py in 0..h {
                    for px in 0..w {
                        let dirs = samples.map(|(fx, fy)| {
                            projector
                                .ray_dir(px as f32 + fx, py as f32 + fy)
                                .normalize()
                        });
                        let (t, ids) = scene.primary_hits4(&Vec3x4::unit(dirs), px, py);
                        for (k, dir) in dirs.into_iter().enumerate() {
                            let Some((full_t, full_geom)) = brute(dir) else {
                                continue;
                            };
                            hits += 1;
                            assert!(
                                !scene.sees_only_backdrop(px, py),
                                "{task}: pixel ({px}, {py}) culled but sees geom {full_geom}"
                            );
                            assert_ne!(
                                ids[k], NO_HIT,
                                "{task}: ({px}, {py}) lost geom {full_geom}"
                            );
                            assert!(
                                (t[k] - full_t).abs() <= 1e-3 * full_t,
                                "{task}: ({px}, {py}) t {} vs {full_t}",
                                t[k]
                            );
                            // The normal faces the eye or, for a plane, is its axis.
                            let hit = scene.primary_hit_on(dir, t[k], ids[k]);
                            assert!(
                                scene.is_plane(hit.geom) || hit.normal.dot(dir) < 1e-3,
                                "{task}: normal {} faces away",
                                hit.normal
                            );
                            checked += 1;
                        }
                    }
                }
                assert!(hits > 50, "{task}: only {hits} rays hit anything");
                assert_eq!(hits, checked);
            }
        }
    }
}

//! What is visible: the model's static description of geoms, materials,
//! textures and lights (read once), and per-frame snapshots of their poses.

use glam::{Mat3A, Vec3A};
use lam_mujoco::{GeomShape, Model, Physics};

use super::culling::{Projector, TileLists, COARSE, FINE};
use super::geometry::{intersect, Ray};
use super::packet::{intersect4, local_normal, Vec3x4};
use wide::{f32x4, i32x4};

mod plane;

/// The geom id of "nothing hit" (the backdrop).
pub const NO_HIT: u16 = u16::MAX;
// `geom_ids` relies on −1 wrapping to `NO_HIT`.
const _: () = assert!(NO_HIT == -1i32 as u16);
/// Offset that keeps secondary rays from hitting their own surface.
const EPSILON: f32 = 1e-4;
/// Geom groups drawn by default (MuJoCo's visual defaults: 0, 1, 2).
const VISIBLE_GROUPS: std::ops::RangeInclusive<i32> = 0..=2;
/// cos(45°): MuJoCo's default spot cutoff.
const SPOT_COS_CUTOFF: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// One level of a texture pyramid.
#[derive(Clone, Debug)]
struct TextureLevel {
    width: usize,
    height: usize,
    rgb: Vec<[f32; 3]>,
}

impl TextureLevel {
    /// Half the size, each texel the mean of a 2x2 block (wrapping).
    fn halve(&self) -> Self {
        let (w, h) = (self.width.div_ceil(2), self.height.div_ceil(2));
        let mut rgb = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0; 3];
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let sx = (2 * x + dx) % self.width;
                    let sy = (2 * y + dy) % self.height;
                    let t = self.rgb[sy * self.width + sx];
                    for k in 0..3 {
                        acc[k] += t[k] / 4.0;
                    }
                }
                rgb.push(acc);
            }
        }
        Self {
            width: w,
            height: h,
            rgb,
        }
    }

    #[inline(always)]
    fn at(&self, u: f32, v: f32) -> [f32; 3] {
        // u, v in [0, 1): a 32-bit conversion is enough (and cheaper).
        let x = ((u * self.width as f32) as i32).clamp(0, self.width as i32 - 1) as usize;
        let y = ((v * self.height as f32) as i32).clamp(0, self.height as i32 - 1) as usize;
        self.rgb[y * self.width + x]
    }
}

impl TextureLevel {
    /// [`TextureLevel::at`] at four points, the index arithmetic in SIMD.
    #[inline(always)]
    fn at4(&self, u: f32x4, v: f32x4) -> Vec3x4 {
        let (w, h) = (self.width as i32, self.height as i32);
        let x = (u * self.width as f32)
            .trunc_int()
            .max(i32x4::ZERO)
            .min(i32x4::splat(w - 1));
        let y = (v * self.height as f32)
            .trunc_int()
            .max(i32x4::ZERO)
            .min(i32x4::splat(h - 1));
        let at = (y * i32x4::splat(w) + x).to_array();
        Vec3x4::from_lanes(at.map(|i| self.rgb[i as usize]))
    }
}

/// A checker-like 2D texture on a plane, sampled from the model's texels,
/// with a box-filtered pyramid so distant floor is averaged like OpenGL's
/// mipmaps rather than aliased.
#[derive(Clone, Debug)]
struct PlaneTexture {
    levels: Vec<TextureLevel>,
    repeat: [f32; 2],
    uniform: bool,
}

impl PlaneTexture {
    fn new(width: usize, height: usize, rgb: &[u8], repeat: [f32; 2], uniform: bool) -> Self {
        let mut levels = vec![TextureLevel {
            width,
            height,
            rgb: rgb
                .chunks_exact(3)
                .map(|p| {
                    [
                        p[0] as f32 / 255.0,
                        p[1] as f32 / 255.0,
                        p[2] as f32 / 255.0,
                    ]
                })
                .collect(),
        }];
        while levels.last().is_some_and(|l| l.width > 1 || l.height > 1) {
            let next = levels.last().expect("a level").halve();
            levels.push(next);
        }
        Self {
            levels,
            repeat,
            uniform,
        }
    }

    /// Texture repeats per unit length along the plane's x and y for a
    /// plane of half-sizes `size`: with `uniform`, `repeat` per two units
    /// of length (matches MuJoCo's look); else per plane extent.
    fn scale(&self, size: [f32; 3]) -> (f32, f32) {
        if self.uniform || size[0] <= 0.0 {
            (0.5 * self.repeat[0], 0.5 * self.repeat[1])
        } else {
            (
                self.repeat[0] / (2.0 * size[0]),
                self.repeat[1] / (2.0 * size[1]),
            )
        }
    }

    /// Texels along the longer side of the finest level.
    fn finest(&self) -> f32 {
        self.levels[0].width.max(self.levels[0].height) as f32
    }

    /// [`PlaneTexture::sample`] at four points, bit for bit: in SIMD when
    /// the four share their pyramid levels (neighbouring pixels have nearly
    /// the same footprint), else lane by lane.
    #[inline]
    fn sample4(&self, u: f32x4, v: f32x4, texels: f32x4) -> Vec3x4 {
        let last = self.levels.len() - 1;
        let level = texels.simd_gt(f32x4::ONE).select(
            fast_log2_4(texels).min(f32x4::splat(last as f32)),
            f32x4::ZERO,
        );
        let lo = level.trunc_int().to_array();
        if lo.iter().any(|&l| l != lo[0]) {
            let (u, v, texels) = (u.to_array(), v.to_array(), texels.to_array());
            return Vec3x4::from_lanes(std::array::from_fn(|k| self.sample(u[k], v[k], texels[k])));
        }
        let lo = lo[0].max(0) as usize;
        let hi = (lo + 1).min(last);
        let f = level - f32x4::splat(lo as f32);
        let a = self.levels[lo].at4(u, v);
        let b = self.levels[hi].at4(u, v);
        a + (b - a) * f
    }

    /// Colour at texture coordinates (`u`, `v`) in [0, 1) seen with a
    /// footprint of `texels` texels of the finest level (trilinear-like blend
    /// of the two nearest pyramid levels).
    #[inline(always)]
    fn sample(&self, u: f32, v: f32, texels: f32) -> [f32; 3] {
        if texels <= 1.0 {
            return self.levels[0].at(u, v);
        }
        let level = fast_log2(texels).min((self.levels.len() - 1) as f32);
        let lo = level as usize;
        let hi = (lo + 1).min(self.levels.len() - 1);
        let f = level - lo as f32;
        let (a, b) = (self.levels[lo].at(u, v), self.levels[hi].at(u, v));
        [
            a[0] + (b[0] - a[0]) * f,
            a[1] + (b[1] - a[1]) * f,
            a[2] + (b[2] - a[2]) * f,
        ]
    }
}

/// What never changes about a drawn geom.
#[derive(Clone, Debug)]
struct StaticGeom {
    id: usize,
    shape: GeomShape,
    size: [f32; 3],
    material: Option<usize>,
    rgb: [f32; 3],
    specular: f32,
    shininess: f32,
    /// log2 of the specular exponent when it is a power of two (the usual 64).
    shininess_log2: Option<u32>,
    emission: f32,
    reflectance: f32,
    texture: Option<usize>,
    bound: f32,
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
    geoms: Vec<StaticGeom>,
    planes: usize,
    textures: Vec<PlaneTexture>,
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

    /// True when `model` has the geoms and materials this scene was read from.
    pub fn fits(&self, model: &Model) -> bool {
        model.ngeom() == self.ngeom && model.nmat() == self.nmat
    }
}

#[derive(Clone, Debug)]
struct SceneGeom {
    pos: Vec3A,
    rot: Mat3A,     // columns: the geom's axes in world coordinates
    inv_rot: Mat3A, // world → local
    rgb: [f32; 3],
    /// The eye in the geom's frame (primary rays all start there).
    eye_local: Vec3A,
    /// eye − pos and |eye − pos|² − bound², for the primary bounding test.
    eye_offset: Vec3A,
    eye_c: f32,
}

#[derive(Clone, Debug)]
struct SceneLight {
    /// The headlight (attached to the camera, so not mirrored in reflections).
    headlight: bool,
    /// Per tile, the solids that may shadow ground points seen there.
    ground_shadows: Option<TileLists>,
    /// The light as the origin of shadow-ray packets (shadow-casting point lights).
    shadow_origin: Option<PacketOrigin>,
    pos: Vec3A,
    dir: Vec3A,
    directional: bool,
    cast_shadow: bool,
    ambient: [f32; 3],
    diffuse: [f32; 3],
    specular: [f32; 3],
}

/// A point that packets of rays start from (a light, the mirrored eye),
/// seen from every geom: per geom, the point in the geom's frame, its offset
/// from the geom's centre and that offset's squared length less the
/// squared bounding radius (for bounding-sphere rejection).
#[derive(Clone, Debug)]
struct PacketOrigin {
    local: Vec<(Vec3A, Vec3A, f32)>,
}

impl PacketOrigin {
    fn new(point: Vec3A, geoms: &[SceneGeom], model: &SceneModel) -> Self {
        let local = geoms
            .iter()
            .zip(&model.geoms)
            .map(|(g, s)| {
                let offset = point - g.pos;
                (
                    g.inv_rot * offset,
                    offset,
                    offset.length_squared() - s.bound * s.bound,
                )
            })
            .collect();
        Self { local }
    }
}

/// The one reflective plane: the lists of solids its mirror rays may meet
/// per tile, and the mirrored eye every mirror ray of a primary ray comes
/// from.
#[derive(Debug)]
struct Mirror {
    plane: u16,
    lists: TileLists,
    eye: PacketOrigin,
}

/// A hit in world coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Hit {
    /// Distance along the (unit) ray.
    pub t: f32,
    /// Unit outward normal, world frame.
    pub normal: Vec3A,
    /// Index of the geom in the scene.
    pub geom: u16,
}

/// One frame's scene: poses and colours of every drawn geom, lights, and the
/// culling lists for primary and mirror rays.
#[derive(Debug)]
pub struct Scene<'m> {
    model: &'m SceneModel,
    eye: Vec3A,
    /// World-space footprint of one pixel per unit of distance (radians).
    pixel_angle: f32,
    geoms: Vec<SceneGeom>,
    lights: Vec<SceneLight>,
    solids: Vec<u16>,
    primary: TileLists,
    /// Per tile, the planes its rays may hit (empty: sky tile, when
    /// `primary` is empty there too).
    planes_seen: TileLists,
    /// The one reflective plane and the lists of mirror rays off it.
    mirror: Option<Mirror>,
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

    /// True when rays through pixel (`px`, `py`) can only see the sky or background.
    #[inline]
    pub fn sees_only_backdrop(&self, px: usize, py: usize) -> bool {
        self.primary.is_empty_at(px, py) && self.planes_seen.is_empty_at(px, py)
    }

    /// Is geom `i` a plane?
    #[inline]
    pub fn is_plane(&self, geom: u16) -> bool {
        (geom as usize) < self.model.planes
    }

    /// The hit for a nearest (t, geom) pair and its local normal (solids).
    #[inline]
    fn hit(&self, t: f32, geom: u16, local_normal: Vec3A) -> Hit {
        let normal = if self.is_plane(geom) {
            self.geoms[geom as usize].rot.z_axis
        } else {
            (self.geoms[geom as usize].rot * local_normal).normalize()
        };
        Hit { t, normal, geom }
    }

    /// The hit of the primary ray along unit `dir` on `geom` at distance `t`
    /// (as [`Scene::primary_hits4`] found them).
    #[inline]
    pub(crate) fn primary_hit_on(&self, dir: Vec3A, t: f32, geom: u16) -> Hit {
        if self.is_plane(geom) {
            // `hit` takes a plane's normal from its pose.
            return self.hit(t, geom, Vec3A::Z);
        }
        let g = &self.geoms[geom as usize];
        let s = &self.model.geoms[geom as usize];
        let local = g.eye_local + (g.inv_rot * dir) * t;
        self.hit(t, geom, local_normal(s.shape, s.size, local))
    }

    /// The nearest geom (`NO_HIT` for none) and its distance on each of four
    /// primary rays along unit `dirs`, all through pixel (`px`, `py`)'s
    /// tile (a 4-pixel-aligned run of a row shares it, as do the samples
    /// inside one pixel).
    pub(crate) fn primary_hits4(
        &self,
        dirs: &Vec3x4,
        px: usize,
        py: usize,
    ) -> ([f32; 4], [u16; 4]) {
        let mut best = f32x4::splat(f32::INFINITY);
        let mut id = f32x4::splat(-1.0);
        for &i in self.primary.at(px, py) {
            let g = &self.geoms[i as usize];
            // Bounding-sphere rejection (unit directions).
            if g.eye_c > 0.0 && !sphere_ahead(dirs, g.eye_offset, g.eye_c) {
                continue;
            }
            let s = &self.model.geoms[i as usize];
            let t = intersect4(
                s.shape,
                s.size,
                g.eye_local,
                &dirs.rotate(&g.inv_rot),
                f32x4::splat(EPSILON),
            );
            let closer = t.simd_lt(best);
            best = closer.select(t, best);
            id = closer.select(f32x4::splat(i as f32), id);
        }
        for i in 0..self.model.planes {
            let g = &self.geoms[i];
            let n = g.rot.z_axis;
            let denom = dirs.dot(n);
            let t = f32x4::splat((g.pos - self.eye).dot(n)) / denom;
            let mut ok = denom.abs().simd_ge(f32x4::splat(1e-9))
                & t.simd_gt(f32x4::splat(EPSILON))
                & t.simd_lt(best);
            let size = self.model.geoms[i].size;
            let rel = self.eye - g.pos;
            for (axis, half) in [(g.rot.x_axis, size[0]), (g.rot.y_axis, size[1])] {
                if half > 0.0 {
                    let u = t * dirs.dot(axis) + rel.dot(axis);
                    ok &= u.abs().simd_le(f32x4::splat(half));
                }
            }
            best = ok.select(t, best);
            id = ok.select(f32x4::splat(i as f32), id);
        }
        let ids = geom_ids(id);
        (best.to_array(), ids)
    }

    /// Tests a unit ray against the solids `candidates` but `skip`, up to `max_t`.
    fn nearest_solid(
        &self,
        ray: &Ray,
        max_t: f32,
        candidates: &[u16],
        skip: u16,
    ) -> Option<(f32, Vec3A, u16)> {
        let mut best: Option<(f32, Vec3A, u16)> = None;
        for &i in candidates {
            if i == skip {
                continue;
            }
            let g = &self.geoms[i as usize];
            let s = &self.model.geoms[i as usize];
            // Bounding-sphere rejection.
            let oc = ray.origin - g.pos;
            let b = oc.dot(ray.dir);
            let c = oc.length_squared() - s.bound * s.bound;
            if c > 0.0 && (b > 0.0 || b * b < c) {
                continue;
            }
            let local = Ray {
                origin: g.inv_rot * oc,
                dir: g.inv_rot * ray.dir,
            };
            if let Some(h) = intersect(s.shape, s.size, &local, EPSILON) {
                if h.t < max_t && best.is_none_or(|b| h.t < b.0) {
                    best = Some((h.t, h.normal, i));
                }
            }
        }
        best
    }

    /// The nearest solid seen along the unit mirror ray off `plane` for pixel (`px`, `py`).
    pub fn mirror_hit(&self, ray: &Ray, plane: u16, px: usize, py: usize) -> Option<Hit> {
        let candidates = match &self.mirror {
            Some(m) if m.plane == plane => m.lists.at(px, py),
            _ => &self.solids,
        };
        self.nearest_solid(ray, f32::INFINITY, candidates, plane)
            .map(|(t, n, i)| self.hit(t, i, n))
    }

    /// The nearest of the solids `candidates` along four unit rays `dirs`
    /// from `origin`, beyond `t_min` per lane: distances (infinite for a
    /// miss) and geoms (`NO_HIT`).
    fn nearest4(
        &self,
        origin: &PacketOrigin,
        dirs: &Vec3x4,
        t_min: f32x4,
        candidates: &[u16],
    ) -> (f32x4, [u16; 4]) {
        let mut best = f32x4::splat(f32::INFINITY);
        let mut id = f32x4::splat(-1.0);
        for &i in candidates {
            let Some(t) = self.packet_hits(origin, i, dirs, t_min) else {
                continue;
            };
            let closer = t.simd_lt(best);
            best = closer.select(t, best);
            id = closer.select(f32x4::splat(i as f32), id);
        }
        let ids = geom_ids(id);
        (best, ids)
    }

    /// Distances beyond `t_min` at which unit rays `dirs` from `origin`
    /// enter solid `i` (infinite for a miss); `None` when none of them can
    /// reach its bounding sphere.
    #[inline(always)]
    fn packet_hits(
        &self,
        origin: &PacketOrigin,
        i: u16,
        dirs: &Vec3x4,
        t_min: f32x4,
    ) -> Option<f32x4> {
        let (local, offset, c) = origin.local[i as usize];
        if c > 0.0 && !sphere_ahead(dirs, offset, c) {
            return None;
        }
        let g = &self.geoms[i as usize];
        let s = &self.model.geoms[i as usize];
        Some(intersect4(
            s.shape,
            s.size,
            local,
            &dirs.rotate(&g.inv_rot),
            t_min,
        ))
    }

    /// Lanes (of those `active`) whose unit ray `dirs` from `origin` meets
    /// one of the solids `candidates` before `t_max`.
    fn occluded4(
        &self,
        origin: &PacketOrigin,
        dirs: &Vec3x4,
        t_max: f32x4,
        active: f32x4,
        candidates: &[u16],
    ) -> f32x4 {
        let mut blocked = f32x4::ZERO;
        let open = !active;
        for &i in candidates {
            let Some(t) = self.packet_hits(origin, i, dirs, f32x4::splat(EPSILON)) else {
                continue;
            };
            blocked |= t.simd_lt(t_max) & active;
            if (blocked | open).all() {
                break;
            }
        }
        blocked
    }

    /// True when one of the solids `candidates` blocks the segment from `p` to `target`.
    /// The surface the segment starts on (`skip`) is not tested: lit
    /// convex surfaces cannot shadow themselves.
    fn occluded(&self, p: Vec3A, target: Vec3A, candidates: &[u16], skip: u16) -> bool {
        if candidates.is_empty() {
            return false;
        }
        let d = target - p;
        let dist = d.length();
        let ray = Ray {
            origin: p,
            dir: d / dist,
        };
        self.nearest_solid(&ray, dist, candidates, skip).is_some()
    }

    /// Mirror reflectance of a geom.
    #[inline]
    pub fn reflectance(&self, geom: u16) -> f32 {
        self.model.geoms[geom as usize].reflectance
    }

    /// Base colour of geom `i` at `point`, seen from `distance` at incidence
    /// cosine `cos_in` (for texture filtering).
    fn base_color(&self, i: u16, point: Vec3A, distance: f32, cos_in: f32) -> [f32; 3] {
        let s = &self.model.geoms[i as usize];
        let g = &self.geoms[i as usize];
        let Some(tex) = s.texture.map(|t| &self.model.textures[t]) else {
            return g.rgb;
        };
        let local = g.inv_rot * (point - g.pos);
        let (sx, sy) = tex.scale(s.size);
        let u = local.x * sx;
        let v = local.y * sy;
        let (u, v) = (u - floor(u), v - floor(v));
        // The pixel's footprint on the surface, in finest-level texels.
        let footprint = distance * self.pixel_angle / cos_in.max(0.05);
        let texels = footprint * sx.max(sy) * tex.finest();
        let t = tex.sample(u, v, texels);
        // Texture colour modulated by the material colour.
        [t[0] * g.rgb[0], t[1] * g.rgb[1], t[2] * g.rgb[2]]
    }

    /// Colour of `hit` at `point` seen along unit `view` from `distance`
    /// (OpenGL-style fixed-function lighting); `shadows` gives the pixel of a
    /// primary ray to cast shadow rays from, `None` for no shadows.
    ///
    /// `mirror` is the normal of the plane a reflection is seen in. Like
    /// MuJoCo, which draws reflections as the scene mirrored with its lights
    /// but lit by the same camera headlight, the headlight then shines along
    /// the mirrored view.
    pub fn shade(
        &self,
        hit: &Hit,
        point: Vec3A,
        view: Vec3A,
        distance: f32,
        shadows: Option<(usize, usize)>,
        mirror: Option<Vec3A>,
    ) -> [f32; 3] {
        let s = &self.model.geoms[hit.geom as usize];
        let mut n = hit.normal;
        let facing = n.dot(view);
        if facing > 0.0 {
            n = -n; // seen from behind (planes)
        }
        let base = self.base_color(hit.geom, point, distance, facing.abs());
        let to_eye = -view;
        let mut rgb = base.map(|b| s.emission * b);
        for light in &self.lights {
            let (l, spot) = if light.directional {
                let dir = match mirror {
                    Some(m) if light.headlight => light.dir - m * (2.0 * light.dir.dot(m)),
                    _ => light.dir,
                };
                (-dir, 1.0)
            } else {
                let l = (light.pos - point).normalize();
                let cos = (-l).dot(light.dir);
                // MuJoCo's default spot: cutoff 45 degrees, exponent 10.
                let spot = if cos >= SPOT_COS_CUTOFF {
                    let c2 = cos * cos;
                    let c4 = c2 * c2;
                    c4 * c4 * c2
                } else {
                    0.0
                };
                (l, spot)
            };
            let mut diffuse = n.dot(l).max(0.0) * spot;
            if let Some((px, py)) = shadows {
                if diffuse > 0.0 && light.cast_shadow && !light.directional {
                    let candidates = match &light.ground_shadows {
                        Some(lists) if hit.geom == 0 => lists.at(px, py),
                        _ => &self.solids,
                    };
                    if self.occluded(
                        point + n * (EPSILON * 10.0),
                        light.pos,
                        candidates,
                        hit.geom,
                    ) {
                        diffuse = 0.0;
                    }
                }
            }
            let specular = if diffuse > 0.0 && s.specular > 0.0 {
                let h = (l + to_eye).normalize();
                let c = n.dot(h).max(0.0);
                let p = match s.shininess_log2 {
                    Some(k) => (0..k).fold(c, |x, _| x * x),
                    None => power(c, s.shininess * 128.0),
                };
                p * spot * s.specular
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

/// Spheres whose union encloses a solid of `shape` and `size` (bounding
/// radius `bound`) centred at `pos` with its z axis along `axis`, given to
/// `emit` as (centre, radius). A capsule or cylinder (radius `size[0]`,
/// half-length `size[1]`) gets spheres centred along its axis, at most
/// twice its radius apart: a point of its side lies within the radius of
/// the axis and half a spacing along it from a centre, so within
/// sqrt(radius² + (spacing/2)²) of it, and the ends are centres. Thin limbs
/// then reach only the tiles along them, not the square around their
/// bounding sphere. Other shapes get their bounding sphere.
fn covering_spheres(
    shape: GeomShape,
    size: [f32; 3],
    bound: f32,
    (pos, axis): (Vec3A, Vec3A),
    mut emit: impl FnMut(Vec3A, f32),
) {
    const MOST: usize = 8;
    let elongated = matches!(shape, GeomShape::Capsule | GeomShape::Cylinder);
    let (radius, half) = (size[0], size[1]);
    if !elongated || radius <= 0.0 || half <= radius {
        emit(pos, bound);
        return;
    }
    let gaps = ((half / radius).ceil() as usize).clamp(1, MOST);
    let h = half / gaps as f32; // half the spacing of the centres
    let r = (radius * radius + h * h).sqrt();
    for k in 0..=gaps {
        let along = -half + 2.0 * h * k as f32;
        emit(pos + axis * along, r);
    }
}

/// Geom indices held as floats per lane (−1: none) as ids (`NO_HIT`: none).
#[inline]
fn geom_ids(id: f32x4) -> [u16; 4] {
    // −1 wraps to u16::MAX, which is `NO_HIT`.
    id.trunc_int().to_array().map(|v| v as u16)
}

/// May one of the unit rays `dirs` from a point outside a bounding sphere
/// (`offset` = point − centre, `c` = |offset|² − radius² > 0) meet it?
#[inline]
fn sphere_ahead(dirs: &Vec3x4, offset: Vec3A, c: f32) -> bool {
    let b = dirs.dot(offset);
    (b.simd_le(f32x4::ZERO) & (b * b).simd_ge(f32x4::splat(c))).any()
}

/// log2 for x >= 1, good to about 0.01 (enough to pick pyramid levels).
#[inline]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as f32 - 127.0;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // in [1, 2)
    exponent + (m - 1.0) * (1.3466 - 0.3466 * (m - 1.0))
}

/// [`fast_log2`] lane by lane, bit for bit.
#[inline]
fn fast_log2_4(x: f32x4) -> f32x4 {
    let bits: i32x4 = bytemuck::cast(x);
    let exponent = f32x4::from_i32x4((bits >> 23) & i32x4::splat(0xff)) - 127.0;
    let m: f32x4 = bytemuck::cast((bits & i32x4::splat(0x007f_ffff)) | i32x4::splat(0x3f80_0000));
    exponent + (m - 1.0) * (1.3466 - 0.3466 * (m - 1.0))
}

/// `floor` without a libm call (x86-64 baseline has no rounding instruction).
#[inline]
pub(crate) fn floor(x: f32) -> f32 {
    let t = x as i32 as f32;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// `x^e`, by squaring when `e` is a small integer (the usual shininess).
#[inline]
fn power(x: f32, e: f32) -> f32 {
    if e == e.trunc() && (0.0..=256.0).contains(&e) {
        let mut k = e as u32;
        let (mut base, mut acc) = (x, 1.0f32);
        while k > 0 {
            if k & 1 == 1 {
                acc *= base;
            }
            base *= base;
            k >>= 1;
        }
        acc
    } else {
        x.powf(e)
    }
}

/// Can a ray from `eye` between the four `corners` directions of a tile hit
/// `plane` (half-sizes `size`; 0 is infinite along that axis)? A ray hits
/// the plane's infinite extension only when it points towards it, and that
/// sign is linear across the image, so the corners decide. When all four
/// reach the extension, the tile's footprint there is the convex quad of
/// their hit points (a projective map keeps lines straight), so the tile
/// misses a finite plane whose rectangle the quad's bounding box misses.
/// Conservative: tiles that cross the horizon are kept.
fn tile_may_see_plane(eye: Vec3A, corners: &[Vec3A; 4], plane: &SceneGeom, size: [f32; 3]) -> bool {
    let n = plane.rot.z_axis;
    let side = (plane.pos - eye).dot(n);
    let toward = corners.map(|d| side * d.dot(n) > 0.0);
    if !toward.iter().any(|&t| t) {
        return false;
    }
    let finite = size[0] > 0.0 || size[1] > 0.0;
    if !finite || !toward.iter().all(|&t| t) {
        return true;
    }
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for d in corners {
        let p = eye + *d * (side / d.dot(n)) - plane.pos;
        for (k, axis) in [plane.rot.x_axis, plane.rot.y_axis].into_iter().enumerate() {
            let u = p.dot(axis);
            lo[k] = lo[k].min(u);
            hi[k] = hi[k].max(u);
        }
    }
    (0..2).all(|k| {
        let half = size[k];
        // Rounding slack: the per-ray test computes the same in f32.
        let slack = 1e-4 * (1.0 + half + lo[k].abs().max(hi[k].abs()));
        half <= 0.0 || (lo[k] <= half + slack && hi[k] >= -half - slack)
    })
}

/// Per tile, the solids that may cast a shadow from the point light at
/// `light` onto the ground plane (`point`, `normal`) where the tile sees it:
/// those whose bounding sphere meets the cone from the light through the
/// tile's ground quad (`solids`: id, centre and bounding radius of each).
/// Tiles whose corners do not all reach the ground get every solid.
fn ground_shadow_lists(
    projector: &Projector,
    (point, normal): (Vec3A, Vec3A),
    light: Vec3A,
    solids: &[(u16, Vec3A, f32)],
) -> TileLists {
    TileLists::from_tiles(
        projector.width,
        projector.height,
        COARSE,
        |[x0, x1, y0, y1], out| {
            let mut corners = [Vec3A::ZERO; 4];
            let mut all_hit = true;
            for (k, (x, y)) in [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
                .into_iter()
                .enumerate()
            {
                let d = projector.ray_dir(x as f32, y as f32);
                let t = (point - projector.eye).dot(normal) / d.dot(normal);
                all_hit &= t.is_finite() && t > 0.0;
                corners[k] = projector.eye + d * t;
            }
            if !all_hit {
                out.extend(solids.iter().map(|&(i, _, _)| i));
                return;
            }
            let centre = corners.iter().fold(Vec3A::ZERO, |a, &c| a + c) / 4.0;
            let axis = (centre - light).normalize();
            // The cone's half angle, as its cosine and sine.
            let cos_half = corners
                .iter()
                .map(|&c| (c - light).normalize().dot(axis))
                .fold(1.0f32, f32::min)
                .clamp(-1.0, 1.0);
            let sin_half = (1.0 - cos_half * cos_half).sqrt();
            for &(i, c, r) in solids {
                let v = c - light;
                let dist = v.length();
                if dist <= r {
                    out.push(i);
                    continue;
                }
                // Inside when angle(v, axis) <= half + asin(r / dist).
                let (sin_b, cos_b) = (r / dist, (1.0 - (r / dist).powi(2)).sqrt());
                let cos_limit = cos_half * cos_b - sin_half * sin_b;
                let widest = cos_half < 0.0 && sin_half * cos_b + cos_half * sin_b < 0.0;
                if widest || v.dot(axis) / dist >= cos_limit - 1e-4 {
                    out.push(i);
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Environment, TaskId};
    use glam::Quat;

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
    fn texture_packets_sample_like_single_lookups() {
        // A 300x300 checker with marks, like the suite's grid.
        let rgb: Vec<u8> = (0..300 * 300)
            .flat_map(|i| {
                let (x, y) = (i % 300, i / 300);
                let on = ((x / 30) + (y / 30)) % 2 == 0 || x % 30 == 0;
                if on {
                    [26, 51, 77]
                } else {
                    [51, 77, 102]
                }
            })
            .collect();
        let tex = PlaneTexture::new(300, 300, &rgb, [1.0, 1.0], true);
        let mut mixed = 0;
        for k in 0..2000 {
            let f = |a: u32| ((k * a + 17) % 1000) as f32 / 1000.0;
            let u = f32x4::new([f(7), f(13), f(31), f(101)]);
            let v = f32x4::new([f(11), f(3), f(53), f(97)]);
            // Footprints from under a texel to the whole texture; some
            // packets straddle pyramid levels.
            let base = 0.2 * 1.004f32.powi(k as i32 % 2000);
            let spread = if k % 3 == 0 { 1.9 } else { 1.01 };
            let texels = f32x4::new([base, base * spread, base, base * spread * spread]);
            let packet = tex.sample4(u, v, texels);
            let (ua, va, ta) = (u.to_array(), v.to_array(), texels.to_array());
            let levels = ta.map(|t| fast_log2(t.max(1.0)) as usize);
            mixed += levels.iter().any(|&l| l != levels[0]) as usize;
            for lane in 0..4 {
                let single = tex.sample(ua[lane], va[lane], ta[lane]);
                let got = [packet.x, packet.y, packet.z].map(|c| c.to_array()[lane]);
                assert_eq!(
                    got.map(f32::to_bits),
                    single.map(f32::to_bits),
                    "k {k} lane {lane}"
                );
            }
        }
        assert!(mixed > 50, "only {mixed} packets straddle levels");
    }

    #[test]
    fn covering_spheres_enclose_capsules_and_cylinders_tightly() {
        let axis = Vec3A::new(0.3, -0.5, 0.8).normalize();
        let side = axis.any_orthonormal_vector();
        let pos = Vec3A::new(1.0, 2.0, 0.5);
        for shape in [GeomShape::Capsule, GeomShape::Cylinder] {
            for (radius, half) in [(0.05f32, 0.5f32), (0.1, 0.15), (0.02, 1.0), (0.3, 0.2)] {
                let bound = half + radius;
                let mut spheres = Vec::new();
                covering_spheres(shape, [radius, half, 0.0], bound, (pos, axis), |c, r| {
                    spheres.push((c, r))
                });
                // Points on the surface (side rings, and the end caps).
                for k in 0..=200 {
                    let along = -half + 2.0 * half * k as f32 / 200.0;
                    let angle = k as f32 * 2.4;
                    let out = Quat::from_axis_angle(axis.into(), angle) * glam::Vec3::from(side);
                    let mut points = vec![pos + axis * along + Vec3A::from(out) * radius];
                    for end in [-1.0f32, 1.0] {
                        let cap = match shape {
                            // A point of the hemisphere beyond the end.
                            GeomShape::Capsule => {
                                Vec3A::from(out) * (radius * 0.6) + axis * (end * radius * 0.8)
                            }
                            // A point of the flat end disc.
                            _ => Vec3A::from(out) * (radius * along.abs() / half),
                        };
                        points.push(pos + axis * (end * half) + cap);
                    }
                    for p in points {
                        assert!(
                            spheres
                                .iter()
                                .any(|&(c, r)| (p - c).length() <= r * (1.0 + 1e-5)),
                            "{shape:?} r {radius} half {half}: {p} outside every sphere"
                        );
                    }
                }
                // Tighter than the bounding sphere for long limbs.
                if half >= 2.0 * radius {
                    assert!(spheres.iter().all(|&(_, r)| r < 0.5 * bound), "{spheres:?}");
                }
            }
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

//! Ray queries and shading: the nearest hits of primary, mirror and shadow
//! rays (one or four at a time, through the culling lists) and the lighting.

use glam::Vec3A;
use wide::f32x4;

use super::model::{SceneGeom, SceneModel};
use super::texture::floor;
use super::{Scene, EPSILON, SPOT_COS_CUTOFF};
use crate::render::culling::TileLists;
use crate::render::geometry::{intersect, Ray};
use crate::render::packet::{intersect4, local_normal, Vec3x4};

/// A point that packets of rays start from (a light, the mirrored eye),
/// seen from every geom: per geom, the point in the geom's frame, its offset
/// from the geom's centre and that offset's squared length less the
/// squared bounding radius (for bounding-sphere rejection).
#[derive(Clone, Debug)]
pub(super) struct PacketOrigin {
    pub(super) local: Vec<(Vec3A, Vec3A, f32)>,
}

impl PacketOrigin {
    pub(super) fn new(point: Vec3A, geoms: &[SceneGeom], model: &SceneModel) -> Self {
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
pub(super) struct Mirror {
    pub(super) plane: u16,
    pub(super) lists: TileLists,
    pub(super) eye: PacketOrigin,
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

impl Scene<'_> {
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
    pub(super) fn hit(&self, t: f32, geom: u16, local_normal: Vec3A) -> Hit {
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
    pub(super) fn nearest4(
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
    pub(super) fn occluded4(
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
    pub(super) fn occluded(&self, p: Vec3A, target: Vec3A, candidates: &[u16], skip: u16) -> bool {
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

/// `x^e`, by squaring when `e` is a small integer (the usual shininess).
#[inline]
pub(super) fn power(x: f32, e: f32) -> f32 {
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

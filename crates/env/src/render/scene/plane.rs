//! Shading four primary rays that meet one plane at once (SIMD): the floor
//! is most of what the camera sees, so its pixels go four by four through
//! texture coordinates, lights, shadow rays (a packet from the light) and
//! mirror rays (a packet from the mirrored eye). Solids and the rare lanes
//! that see a reflection are shaded one by one, as in [`Scene::shade`].

use glam::Vec3A;
use wide::f32x4;

use super::shade::power;
use super::{Hit, Scene, EPSILON, NO_HIT, SPOT_COS_CUTOFF};
use crate::render::geometry::Ray;
use crate::render::packet::{floor4, local_normal, Vec3x4};
use crate::render::RenderConfig;

impl Scene<'_> {
    /// Colours of the primary rays along unit `dirs` that meet `plane` at
    /// distances `t`, for the lanes in `lanes` (others come back black),
    /// lit as [`Scene::shade`] lights them, with the shadows and mirror
    /// images `config` asks for; (`px`, `py`) is the first pixel of the
    /// 4-aligned run of a row the rays go through.
    pub(crate) fn shade_plane4(
        &self,
        plane: u16,
        dirs: &Vec3x4,
        t: f32x4,
        lanes: f32x4,
        (px, py): (usize, usize),
        config: &RenderConfig,
    ) -> [[f32; 3]; 4] {
        let s = &self.model.geoms[plane as usize];
        let g = &self.geoms[plane as usize];
        let normal = g.rot.z_axis;
        // Lanes that miss the plane get a harmless distance.
        let t = lanes.select(t, f32x4::ONE);
        let facing = dirs.dot(normal);
        // Seen from behind: the lit side faces the eye.
        let flip = facing.simd_gt(f32x4::ZERO).select(-f32x4::ONE, f32x4::ONE);
        let n = Vec3x4::splat(normal) * flip;
        let points = Vec3x4::splat(self.eye) + *dirs * t;
        let base = self.plane_base4(plane, dirs, t, facing.abs());
        let to_eye = -*dirs;
        let mut rgb = base * f32x4::splat(s.emission);
        for light in &self.lights {
            let (l, spot) = if light.directional {
                (Vec3x4::splat(-light.dir), f32x4::ONE)
            } else {
                let l = (Vec3x4::splat(light.pos) - points).normalize();
                let cos = -l.dot(light.dir);
                let c2 = cos * cos;
                let c4 = c2 * c2;
                let spot = cos
                    .simd_ge(f32x4::splat(SPOT_COS_CUTOFF))
                    .select(c4 * c4 * c2, f32x4::ZERO);
                (l, spot)
            };
            let mut diffuse = n.dot4(&l).max(f32x4::ZERO) * spot;
            if let (true, Some(origin)) = (config.shadows, &light.shadow_origin) {
                let active = diffuse.simd_gt(f32x4::ZERO) & lanes;
                if active.any() {
                    let candidates = match &light.ground_shadows {
                        Some(lists) if plane == 0 => lists.at(px, py),
                        _ => &self.solids,
                    };
                    // From the light to the lifted surface point.
                    let lifted = points + n * f32x4::splat(EPSILON * 10.0);
                    let (towards, dist) =
                        (lifted - Vec3x4::splat(light.pos)).normalize_with_length();
                    let blocked = self.occluded4(
                        origin,
                        &towards,
                        dist - f32x4::splat(EPSILON),
                        active,
                        candidates,
                    );
                    diffuse = blocked.select(f32x4::ZERO, diffuse);
                }
            }
            let specular = if s.specular > 0.0 {
                let h = (l + to_eye).normalize();
                let c = n.dot4(&h).max(f32x4::ZERO);
                let p = match s.shininess_log2 {
                    Some(k) => (0..k).fold(c, |x, _| x * x),
                    None => f32x4::new(c.to_array().map(|c| power(c, s.shininess * 128.0))),
                };
                diffuse
                    .simd_gt(f32x4::ZERO)
                    .select(p * spot * s.specular, f32x4::ZERO)
            } else {
                f32x4::ZERO
            };
            let ambient = Vec3x4::splat(Vec3A::from_array(light.ambient));
            let lit = Vec3x4::splat(Vec3A::from_array(light.diffuse));
            let shine = Vec3x4::splat(Vec3A::from_array(light.specular));
            rgb = rgb + ambient * base + lit * base * diffuse + shine * specular;
        }
        let mut out = rgb.to_lanes();
        if config.reflections && s.reflectance > 0.0 {
            self.reflect4(plane, dirs, t, lanes, (px, py), &mut out);
        }
        let lanes = lanes.to_array();
        for (k, c) in out.iter_mut().enumerate() {
            if lanes[k] == 0.0 {
                *c = [0.0; 3];
            }
        }
        out
    }

    /// Base (texture times material) colour of `plane` where rays `dirs`
    /// meet it at `t`, seen at incidence cosines `cos_in`; as
    /// `Scene::base_color` computes it per ray.
    fn plane_base4(&self, plane: u16, dirs: &Vec3x4, t: f32x4, cos_in: f32x4) -> Vec3x4 {
        let s = &self.model.geoms[plane as usize];
        let g = &self.geoms[plane as usize];
        let rgb = Vec3A::from_array(g.rgb);
        let Some(tex) = s.texture.map(|i| &self.model.textures[i]) else {
            return Vec3x4::splat(rgb);
        };
        let (sx, sy) = tex.scale(s.size);
        // The hit point in the plane's frame: (eye − pos + t dir) on its axes.
        let rel = self.eye - g.pos;
        let (ax, ay) = (g.rot.x_axis, g.rot.y_axis);
        let u = (f32x4::splat(rel.dot(ax)) + t * dirs.dot(ax)) * sx;
        let v = (f32x4::splat(rel.dot(ay)) + t * dirs.dot(ay)) * sy;
        let (u, v) = (u - floor4(u), v - floor4(v));
        let texels =
            (t * self.pixel_angle / cos_in.max(f32x4::splat(0.05))) * (sx.max(sy) * tex.finest());
        tex.sample4(u, v, texels) * Vec3x4::splat(rgb)
    }

    /// Blends the mirror image into `out` for the lanes whose mirror ray
    /// (off `plane` where `dirs` meet it at `t`) sees a solid.
    fn reflect4(
        &self,
        plane: u16,
        dirs: &Vec3x4,
        t: f32x4,
        lanes: f32x4,
        (px, py): (usize, usize),
        out: &mut [[f32; 3]; 4],
    ) {
        let s = &self.model.geoms[plane as usize];
        let normal = self.geoms[plane as usize].rot.z_axis;
        let mirrored = *dirs - Vec3x4::splat(normal) * (dirs.dot(normal) * 2.0);
        let hits: [Option<(Hit, f32)>; 4] = match &self.mirror {
            // Mirror rays continue rays from the mirrored eye: one packet.
            Some(m) if m.plane == plane => {
                let (far, ids) = self.nearest4(
                    &m.eye,
                    &mirrored,
                    t + f32x4::splat(EPSILON),
                    m.lists.at(px, py),
                );
                let (far, t) = (far.to_array(), t.to_array());
                std::array::from_fn(|k| {
                    let i = ids[k];
                    (i != NO_HIT).then(|| {
                        let g = &self.geoms[i as usize];
                        let sg = &self.model.geoms[i as usize];
                        let local =
                            m.eye.local[i as usize].0 + (g.inv_rot * mirrored.lane(k)) * far[k];
                        let hit =
                            self.hit(far[k] - t[k], i, local_normal(sg.shape, sg.size, local));
                        (hit, far[k])
                    })
                })
            }
            _ => {
                let t = t.to_array();
                std::array::from_fn(|k| {
                    let origin = self.eye + dirs.lane(k) * t[k];
                    let ray = Ray {
                        origin,
                        dir: mirrored.lane(k),
                    };
                    self.mirror_hit(&ray, plane, px, py)
                        .map(|h| (h, t[k] + h.t))
                })
            }
        };
        let lanes = lanes.to_array();
        let t = t.to_array();
        for (k, hit) in hits.into_iter().enumerate() {
            let Some((hit, distance)) = hit else { continue };
            if lanes[k] == 0.0 {
                continue;
            }
            let dir = mirrored.lane(k);
            let start = self.eye + dirs.lane(k) * t[k];
            let point = start + dir * hit.t;
            let seen = self.shade(&hit, point, dir, distance, None, Some(normal));
            for c in 0..3 {
                out[k][c] = out[k][c] * (1.0 - s.reflectance) + seen[c] * s.reflectance;
            }
        }
    }
}

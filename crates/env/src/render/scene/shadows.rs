//! Shadow lists and culling helpers: spheres that cover a solid, whether a
//! tile may see a plane, and per tile the solids that may shadow the ground.

use glam::Vec3A;
use lam_mujoco::GeomShape;

use super::model::SceneGeom;
use crate::render::culling::{Projector, TileLists, COARSE};

/// Spheres whose union encloses a solid of `shape` and `size` (bounding
/// radius `bound`) centred at `pos` with its z axis along `axis`, given to
/// `emit` as (centre, radius). A capsule or cylinder (radius `size[0]`,
/// half-length `size[1]`) gets spheres centred along its axis, at most
/// twice its radius apart: a point of its side lies within the radius of
/// the axis and half a spacing along it from a centre, so within
/// sqrt(radius² + (spacing/2)²) of it, and the ends are centres. Thin limbs
/// then reach only the tiles along them, not the square around their
/// bounding sphere. Other shapes get their bounding sphere.
pub(super) fn covering_spheres(
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

/// Can a ray from `eye` between the four `corners` directions of a tile hit
/// `plane` (half-sizes `size`; 0 is infinite along that axis)? A ray hits
/// the plane's infinite extension only when it points towards it, and that
/// sign is linear across the image, so the corners decide. When all four
/// reach the extension, the tile's footprint there is the convex quad of
/// their hit points (a projective map keeps lines straight), so the tile
/// misses a finite plane whose rectangle the quad's bounding box misses.
/// Conservative: tiles that cross the horizon are kept.
pub(super) fn tile_may_see_plane(
    eye: Vec3A,
    corners: &[Vec3A; 4],
    plane: &SceneGeom,
    size: [f32; 3],
) -> bool {
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
pub(super) fn ground_shadow_lists(
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
    use glam::Quat;

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
}

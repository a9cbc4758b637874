//! Ray intersections with MuJoCo's primitive shapes, in the shape's own frame
//! (single precision: scenes span metres, images are small).

use glam::Vec3A;
use lam_mujoco::GeomShape;

/// A ray `origin + t * dir`.
#[derive(Clone, Copy, Debug)]
pub struct Ray {
    /// Start point.
    pub origin: Vec3A,
    /// Direction (need not be unit length for intersection; shading uses unit).
    pub dir: Vec3A,
}

/// The nearest hit: distance along the ray and the outward normal (local frame).
#[derive(Clone, Copy, Debug)]
pub struct LocalHit {
    /// Ray parameter of the hit.
    pub t: f32,
    /// Outward surface normal (not normalised for every shape).
    pub normal: Vec3A,
}

/// Smallest root of `a t² + 2 b t + c = 0` greater than `t_min`.
#[inline]
fn smallest_root(a: f32, b: f32, c: f32, t_min: f32) -> Option<f32> {
    let disc = b * b - a * c;
    if disc < 0.0 || a == 0.0 {
        return None;
    }
    let s = disc.sqrt();
    let t0 = (-b - s) / a;
    if t0 > t_min {
        return Some(t0);
    }
    let t1 = (-b + s) / a;
    (t1 > t_min).then_some(t1)
}

#[inline]
fn sphere(ray: &Ray, center: Vec3A, r: f32, t_min: f32) -> Option<LocalHit> {
    let oc = ray.origin - center;
    let t = smallest_root(
        ray.dir.length_squared(),
        oc.dot(ray.dir),
        oc.length_squared() - r * r,
        t_min,
    )?;
    Some(LocalHit {
        t,
        normal: ray.origin + ray.dir * t - center,
    })
}

/// Infinite cylinder around z, radius r; returns hits with |z| <= half.
#[inline]
fn cylinder_side(ray: &Ray, r: f32, half: f32, t_min: f32) -> Option<LocalHit> {
    let (o, d) = (ray.origin, ray.dir);
    let a = d.x * d.x + d.y * d.y;
    let b = o.x * d.x + o.y * d.y;
    let c = o.x * o.x + o.y * o.y - r * r;
    let disc = b * b - a * c;
    if disc < 0.0 || a == 0.0 {
        return None;
    }
    let s = disc.sqrt();
    for t in [(-b - s) / a, (-b + s) / a] {
        if t > t_min {
            let p = o + d * t;
            if p.z.abs() <= half {
                return Some(LocalHit {
                    t,
                    normal: Vec3A::new(p.x, p.y, 0.0),
                });
            }
        }
    }
    None
}

/// Entry hit of a capsule around z (radius `r`, half-length `half`): the
/// side, else the one end cap the ray reaches first. Rays starting inside
/// miss (only entries are reported).
#[inline]
fn capsule(ray: &Ray, r: f32, half: f32, t_min: f32) -> Option<LocalHit> {
    let (o, d) = (ray.origin, ray.dir);
    let dd = d.length_squared();
    // Side: the infinite cylinder's entry, kept when within the segment.
    let a = d.x * d.x + d.y * d.y;
    let b = o.x * d.x + o.y * d.y;
    let c = o.x * o.x + o.y * o.y - r * r;
    let h = b * b - a * c;
    if h < 0.0 {
        return None;
    }
    if a > 0.0 {
        let t = (-b - h.sqrt()) / a;
        let z = o.z + d.z * t;
        if z.abs() <= half {
            return (t > t_min).then(|| LocalHit {
                t,
                normal: Vec3A::new(o.x + d.x * t, o.y + d.y * t, 0.0),
            });
        }
    }
    // Caps: the sphere at the end the ray approaches from.
    let z_entry = if a > 0.0 {
        o.z + d.z * ((-b - h.sqrt()) / a)
    } else {
        o.z
    };
    let center = Vec3A::new(0.0, 0.0, if z_entry > 0.0 { half } else { -half });
    let oc = o - center;
    let bc = oc.dot(d);
    let cc = oc.length_squared() - r * r;
    let hc = bc * bc - dd * cc;
    if hc < 0.0 {
        return None;
    }
    let t = (-bc - hc.sqrt()) / dd;
    (t > t_min).then(|| LocalHit {
        t,
        normal: o + d * t - center,
    })
}

#[inline]
fn nearest(a: Option<LocalHit>, b: Option<LocalHit>) -> Option<LocalHit> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if x.t <= y.t { x } else { y }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Intersects a ray (in the shape's frame) with a shape of `size`.
/// Planes are bounded by `size[0..2]` when those are positive.
pub fn intersect(shape: GeomShape, size: [f32; 3], ray: &Ray, t_min: f32) -> Option<LocalHit> {
    match shape {
        GeomShape::Plane => {
            if ray.dir.z.abs() < 1e-12 {
                return None;
            }
            let t = -ray.origin.z / ray.dir.z;
            if t <= t_min {
                return None;
            }
            let p = ray.origin + ray.dir * t;
            let inside = |v: f32, half: f32| half <= 0.0 || v.abs() <= half;
            (inside(p.x, size[0]) && inside(p.y, size[1])).then_some(LocalHit {
                t,
                normal: Vec3A::Z,
            })
        }
        GeomShape::Sphere => sphere(ray, Vec3A::ZERO, size[0], t_min),
        GeomShape::Capsule => capsule(ray, size[0], size[1], t_min),
        GeomShape::Ellipsoid => {
            let scale = Vec3A::from_array(size);
            let scaled = Ray {
                origin: ray.origin / scale,
                dir: ray.dir / scale,
            };
            let hit = sphere(&scaled, Vec3A::ZERO, 1.0, t_min)?;
            Some(LocalHit {
                t: hit.t,
                normal: hit.normal / scale,
            })
        }
        GeomShape::Cylinder => {
            let (r, half) = (size[0], size[1]);
            let side = cylinder_side(ray, r, half, t_min);
            let mut cap = None;
            if ray.dir.z.abs() > 1e-12 {
                for z in [half, -half] {
                    let t = (z - ray.origin.z) / ray.dir.z;
                    let p = ray.origin + ray.dir * t;
                    if t > t_min && p.x * p.x + p.y * p.y <= r * r {
                        cap = nearest(
                            cap,
                            Some(LocalHit {
                                t,
                                normal: Vec3A::new(0.0, 0.0, z.signum()),
                            }),
                        );
                    }
                }
            }
            nearest(side, cap)
        }
        GeomShape::Box => {
            let half = Vec3A::from_array(size);
            let inv = ray.dir.recip();
            let t1 = (-half - ray.origin) * inv;
            let t2 = (half - ray.origin) * inv;
            let lo = t1.min(t2);
            let hi = t1.max(t2);
            let t_near = lo.max_element();
            let t_far = hi.min_element();
            if t_near > t_far {
                return None;
            }
            let (t, pick) = if t_near > t_min {
                (t_near, lo)
            } else if t_far > t_min {
                (t_far, hi)
            } else {
                return None;
            };
            let axis = if pick.x == t {
                0
            } else if pick.y == t {
                1
            } else {
                2
            };
            let p = ray.origin + ray.dir * t;
            let mut normal = Vec3A::ZERO;
            normal[axis] = p[axis].signum();
            Some(LocalHit { t, normal })
        }
        GeomShape::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ray(o: [f32; 3], d: [f32; 3]) -> Ray {
        Ray {
            origin: Vec3A::from_array(o),
            dir: Vec3A::from_array(d),
        }
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn each_shape_is_hit_at_the_right_distance() {
        let r = ray([0.0, 0.0, 5.0], [0.0, 0.0, -1.0]);
        let t = |shape, size| intersect(shape, size, &r, 1e-6).map(|h| h.t);
        assert_eq!(t(GeomShape::Plane, [0.0; 3]), Some(5.0));
        assert!(close(t(GeomShape::Sphere, [1.0, 0.0, 0.0]).unwrap(), 4.0));
        // Capsule along z: half-length 1, radius 0.5, top at z = 1.5.
        assert!(close(t(GeomShape::Capsule, [0.5, 1.0, 0.0]).unwrap(), 3.5));
        assert!(close(t(GeomShape::Cylinder, [0.5, 1.0, 0.0]).unwrap(), 4.0));
        assert!(close(t(GeomShape::Box, [1.0, 1.0, 2.0]).unwrap(), 3.0));
        assert!(close(
            t(GeomShape::Ellipsoid, [1.0, 1.0, 3.0]).unwrap(),
            2.0
        ));
    }

    #[test]
    fn misses_and_bounded_planes() {
        let side = ray([0.0, 5.0, 5.0], [0.0, 0.0, -1.0]);
        assert!(intersect(GeomShape::Sphere, [1.0, 0.0, 0.0], &side, 0.0).is_none());
        assert!(intersect(GeomShape::Plane, [2.0, 2.0, 0.0], &side, 0.0).is_none());
        assert!(intersect(GeomShape::Plane, [0.0, 0.0, 0.0], &side, 0.0).is_some());
        // A capsule seen end-on and at a slant hits its caps.
        let end = ray([0.0, 0.0, 5.0], [0.0, 0.0, -1.0]);
        let hit = intersect(GeomShape::Capsule, [0.5, 1.0, 0.0], &end, 0.0).unwrap();
        assert!(close(hit.t, 3.5));
        let slant = ray([0.0, -3.0, -4.0], [0.0, 0.6, 0.8]);
        let hit = intersect(GeomShape::Capsule, [0.5, 1.0, 0.0], &slant, 0.0).unwrap();
        // The hit lies on the surface (distance .5 from the segment) and
        // just before it the ray is outside.
        let dist = |t: f32| {
            let p = slant.origin + slant.dir * t;
            let z = p.z.clamp(-1.0, 1.0);
            (p - Vec3A::new(0.0, 0.0, z)).length()
        };
        assert!(close(dist(hit.t), 0.5), "{}", dist(hit.t));
        assert!(dist(hit.t - 1e-2) > 0.5);
        let beside = ray([2.0, 0.0, 1.2], [0.0, 1.0, 0.0]);
        assert!(intersect(GeomShape::Capsule, [0.5, 1.0, 0.0], &beside, 0.0).is_none());
        // The side of a capsule, hit horizontally.
        let h = ray([5.0, 0.0, 0.3], [-1.0, 0.0, 0.0]);
        let hit = intersect(GeomShape::Capsule, [0.5, 1.0, 0.0], &h, 0.0).unwrap();
        assert!(close(hit.t, 4.5));
        assert!(hit.normal.normalize().abs_diff_eq(Vec3A::X, 1e-6));
    }
}

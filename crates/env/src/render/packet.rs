//! Four rays at once: SIMD intersection of a packet of rays that share one
//! origin (the eye for primary rays, the light for shadow rays, the
//! mirrored eye for reflections) with MuJoCo's primitive shapes.
//!
//! Neighbouring primary rays test the same candidates (their tile's list),
//! so one pass over the list serves four pixels, or the four edge samples
//! of one pixel. Misses are `f32::INFINITY`, so the nearest hit is a
//! lane-wise minimum.

use glam::{Mat3A, Vec3A};
use lam_mujoco::GeomShape;
use wide::f32x4;

use super::geometry::{intersect, Ray};

/// Four 3-vectors (ray directions, points, colours), one per lane.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vec3x4 {
    pub x: f32x4,
    pub y: f32x4,
    pub z: f32x4,
}

impl Vec3x4 {
    /// The unit directions of `dirs` (tests build packets this way).
    #[cfg(test)]
    pub fn unit(dirs: [Vec3A; 4]) -> Self {
        let (x, y, z) = (
            f32x4::new(dirs.map(|v| v.x)),
            f32x4::new(dirs.map(|v| v.y)),
            f32x4::new(dirs.map(|v| v.z)),
        );
        let inv = f32x4::ONE / (x * x + y * y + z * z).sqrt();
        Self {
            x: x * inv,
            y: y * inv,
            z: z * inv,
        }
    }

    /// `v` in every lane.
    #[inline]
    pub fn splat(v: Vec3A) -> Self {
        Self {
            x: f32x4::splat(v.x),
            y: f32x4::splat(v.y),
            z: f32x4::splat(v.z),
        }
    }

    /// Lane-wise dot product.
    #[inline]
    pub fn dot4(&self, o: &Self) -> f32x4 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// Unit vectors and the lengths they had.
    #[inline]
    pub fn normalize_with_length(&self) -> (Self, f32x4) {
        let length = self.length_squared().sqrt();
        (*self * (f32x4::ONE / length), length)
    }

    /// Unit vectors.
    #[inline]
    pub fn normalize(&self) -> Self {
        self.normalize_with_length().0
    }

    /// One `[x, y, z]` per lane.
    #[inline]
    pub fn from_lanes(lanes: [[f32; 3]; 4]) -> Self {
        Self {
            x: f32x4::new(lanes.map(|v| v[0])),
            y: f32x4::new(lanes.map(|v| v[1])),
            z: f32x4::new(lanes.map(|v| v[2])),
        }
    }

    /// `[x, y, z]` of every lane.
    #[inline]
    pub fn to_lanes(self) -> [[f32; 3]; 4] {
        let (x, y, z) = (self.x.to_array(), self.y.to_array(), self.z.to_array());
        std::array::from_fn(|k| [x[k], y[k], z[k]])
    }

    /// Lane `k` as a vector.
    #[inline]
    pub fn lane(&self, k: usize) -> Vec3A {
        Vec3A::new(
            self.x.to_array()[k],
            self.y.to_array()[k],
            self.z.to_array()[k],
        )
    }

    /// Dot product of every lane with `v`.
    #[inline]
    pub fn dot(&self, v: Vec3A) -> f32x4 {
        self.x * v.x + self.y * v.y + self.z * v.z
    }

    /// `m * d` for every lane.
    #[inline]
    pub fn rotate(&self, m: &Mat3A) -> Self {
        let (c0, c1, c2) = (m.x_axis, m.y_axis, m.z_axis);
        Self {
            x: self.x * c0.x + self.y * c1.x + self.z * c2.x,
            y: self.x * c0.y + self.y * c1.y + self.z * c2.y,
            z: self.x * c0.z + self.y * c1.z + self.z * c2.z,
        }
    }

    /// Every lane divided component-wise by `s`.
    #[inline]
    fn scaled_down(&self, s: Vec3A) -> Self {
        Self {
            x: self.x / s.x,
            y: self.y / s.y,
            z: self.z / s.z,
        }
    }

    #[inline]
    fn length_squared(&self) -> f32x4 {
        self.x * self.x + self.y * self.y + self.z * self.z
    }
}

impl std::ops::Add for Vec3x4 {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        Self {
            x: self.x + o.x,
            y: self.y + o.y,
            z: self.z + o.z,
        }
    }
}

impl std::ops::Sub for Vec3x4 {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        Self {
            x: self.x - o.x,
            y: self.y - o.y,
            z: self.z - o.z,
        }
    }
}

impl std::ops::Mul<f32x4> for Vec3x4 {
    type Output = Self;
    #[inline]
    fn mul(self, s: f32x4) -> Self {
        Self {
            x: self.x * s,
            y: self.y * s,
            z: self.z * s,
        }
    }
}

/// Lane-wise and component-wise product (colour times colour).
impl std::ops::Mul for Vec3x4 {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        Self {
            x: self.x * o.x,
            y: self.y * o.y,
            z: self.z * o.z,
        }
    }
}

impl std::ops::Neg for Vec3x4 {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Self {
            x: -self.x,
            y: -self.y,
            z: -self.z,
        }
    }
}

/// Lane-wise floor (wide's falls back to one libm call per lane without
/// SSE4.1); exact for |x| < 2³¹.
#[inline]
pub(crate) fn floor4(x: f32x4) -> f32x4 {
    let t = f32x4::from_i32x4(x.trunc_int());
    t - t.simd_gt(x).select(f32x4::ONE, f32x4::ZERO)
}

const MISS: f32x4 = f32x4::splat(f32::INFINITY);

/// `t` where `hit`, else a miss.
#[inline]
fn keep(hit: f32x4, t: f32x4) -> f32x4 {
    hit.select(t, MISS)
}

/// Smallest roots greater than `t_min` of `a t² + 2 b t + c = 0` (`c` the
/// same for all lanes).
#[inline]
fn smallest_roots(a: f32x4, b: f32x4, c: f32, t_min: f32x4) -> f32x4 {
    let disc = b * b - a * c;
    let s = disc.max(f32x4::ZERO).sqrt();
    let t0 = (-b - s) / a;
    let t1 = (-b + s) / a;
    let t = t0.simd_gt(t_min).select(t0, keep(t1.simd_gt(t_min), t1));
    keep(disc.simd_ge(f32x4::ZERO) & a.simd_gt(f32x4::ZERO), t)
}

/// Sphere of radius `r` at the origin.
#[inline]
fn sphere(o: Vec3A, d: &Vec3x4, r: f32, t_min: f32x4) -> f32x4 {
    smallest_roots(
        d.length_squared(),
        d.dot(o),
        o.length_squared() - r * r,
        t_min,
    )
}

/// Capsule around z (radius `r`, half-length `half`): the side's entry when
/// it lies within the segment, else the end cap the ray enters first.
#[inline]
fn capsule(o: Vec3A, d: &Vec3x4, r: f32, half: f32, t_min: f32x4) -> f32x4 {
    let zero = f32x4::ZERO;
    let a = d.x * d.x + d.y * d.y;
    let b = d.x * o.x + d.y * o.y;
    let c = o.x * o.x + o.y * o.y - r * r;
    let h = b * b - a * c;
    let reached = h.simd_ge(zero);
    let sides = a.simd_gt(zero);
    let t_side = (-b - h.max(zero).sqrt()) / a;
    let z_side = d.z * t_side + o.z;
    let on_side = sides & z_side.abs().simd_le(f32x4::splat(half));
    // Caps: the sphere at the end the ray approaches from.
    let z_entry = sides.select(z_side, f32x4::splat(o.z));
    let cz = z_entry
        .simd_gt(zero)
        .select(f32x4::splat(half), f32x4::splat(-half));
    let (ocx, ocy, ocz) = (f32x4::splat(o.x), f32x4::splat(o.y), f32x4::splat(o.z) - cz);
    let bc = ocx * d.x + ocy * d.y + ocz * d.z;
    let cc = ocx * ocx + ocy * ocy + ocz * ocz - r * r;
    let dd = d.length_squared();
    let hc = bc * bc - dd * cc;
    let t_cap = (-bc - hc.max(zero).sqrt()) / dd;
    let t = on_side.select(t_side, t_cap);
    let ok = reached
        & on_side.select(
            t_side.simd_gt(t_min),
            hc.simd_ge(zero) & t_cap.simd_gt(t_min),
        );
    keep(ok, t)
}

/// Entry distances beyond `t_min` (per lane) of rays `o + t d` (in the
/// shape's frame) into a shape of `size`, `f32::INFINITY` where a lane
/// misses; as [`intersect`] computes them, lane by lane.
#[inline(always)]
pub(crate) fn intersect4(
    shape: GeomShape,
    size: [f32; 3],
    o: Vec3A,
    d: &Vec3x4,
    t_min: f32x4,
) -> f32x4 {
    match shape {
        GeomShape::Sphere => sphere(o, d, size[0], t_min),
        GeomShape::Capsule => capsule(o, d, size[0], size[1], t_min),
        GeomShape::Ellipsoid => {
            let scale = Vec3A::from_array(size);
            sphere(o / scale, &d.scaled_down(scale), 1.0, t_min)
        }
        _ => f32x4::new(std::array::from_fn(|k| {
            let ray = Ray {
                origin: o,
                dir: d.lane(k),
            };
            intersect(shape, size, &ray, t_min.to_array()[k]).map_or(f32::INFINITY, |h| h.t)
        })),
    }
}

/// Outward normal (not normalised) of a shape of `size` at a point `p` on
/// its surface, in the shape's frame.
pub(crate) fn local_normal(shape: GeomShape, size: [f32; 3], p: Vec3A) -> Vec3A {
    match shape {
        GeomShape::Plane | GeomShape::Other => Vec3A::Z,
        GeomShape::Sphere => p,
        GeomShape::Capsule => p - Vec3A::new(0.0, 0.0, p.z.clamp(-size[1], size[1])),
        GeomShape::Ellipsoid => {
            let s = Vec3A::from_array(size);
            p / (s * s)
        }
        GeomShape::Cylinder => {
            let (r, half) = (size[0], size[1]);
            let radial = (p.x * p.x + p.y * p.y).sqrt();
            if (p.z.abs() - half).abs() < (radial - r).abs() {
                Vec3A::new(0.0, 0.0, p.z.signum())
            } else {
                Vec3A::new(p.x, p.y, 0.0)
            }
        }
        GeomShape::Box => {
            let q = p / Vec3A::from_array(size);
            let a = q.abs();
            let axis = if a.x >= a.y && a.x >= a.z {
                0
            } else if a.y >= a.z {
                1
            } else {
                2
            };
            let mut n = Vec3A::ZERO;
            n[axis] = q[axis].signum();
            n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor4_is_floor() {
        for v in [
            -3.5f32,
            -2.0,
            -0.25,
            -0.0,
            0.0,
            0.3,
            1.0,
            1.99,
            2.0,
            1e6 + 0.5,
            -7.000001,
        ] {
            let got = floor4(f32x4::splat(v)).to_array()[0];
            assert_eq!(got, v.floor(), "floor({v})");
        }
    }

    /// Every lane agrees with the scalar intersection, for every shape, from
    /// outside and inside, for hits and misses alike.
    #[test]
    fn packets_match_scalar_intersections() {
        let shapes = [
            (GeomShape::Sphere, [0.5, 0.0, 0.0]),
            (GeomShape::Capsule, [0.2, 0.6, 0.0]),
            (GeomShape::Ellipsoid, [0.3, 0.5, 0.8]),
            (GeomShape::Cylinder, [0.3, 0.4, 0.0]),
            (GeomShape::Box, [0.2, 0.4, 0.3]),
        ];
        let origins = [
            Vec3A::new(2.0, 0.3, 0.1),
            Vec3A::new(-0.5, 1.7, 1.2),
            Vec3A::new(0.05, 0.0, 0.02),
            Vec3A::new(0.0, 0.0, 3.0),
        ];
        let mut hits = 0;
        for (shape, size) in shapes {
            for o in origins {
                for k in 0..64 {
                    // Directions aimed near the shape, some past its edge.
                    let aim = Vec3A::new(
                        ((k * 7) % 11) as f32 / 10.0 - 0.5,
                        ((k * 5) % 13) as f32 / 12.0 - 0.5,
                        ((k * 3) % 9) as f32 / 8.0 - 0.5,
                    ) * 1.4;
                    let dirs: [Vec3A; 4] =
                        std::array::from_fn(|j| (aim * (1.0 + 0.2 * j as f32) - o).normalize());
                    let packet =
                        intersect4(shape, size, o, &Vec3x4::unit(dirs), f32x4::splat(1e-4))
                            .to_array();
                    for (j, dir) in dirs.into_iter().enumerate() {
                        let ray = Ray { origin: o, dir };
                        let scalar = intersect(shape, size, &ray, 1e-4);
                        match scalar {
                            Some(h) => {
                                hits += 1;
                                assert!(
                                    (packet[j] - h.t).abs() <= 1e-4 * (1.0 + h.t),
                                    "{shape:?} from {o}: {} vs {}",
                                    packet[j],
                                    h.t
                                );
                                let p = o + dir * h.t;
                                let n = local_normal(shape, size, p).normalize();
                                assert!(
                                    n.dot(h.normal.normalize()) > 0.999,
                                    "{shape:?}: normal {n} vs {}",
                                    h.normal
                                );
                            }
                            None => assert!(packet[j].is_infinite(), "{shape:?}: {}", packet[j]),
                        }
                    }
                }
            }
        }
        assert!(
            hits > 300,
            "only {hits} hits: the rays miss too often to test"
        );
    }
}

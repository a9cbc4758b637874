//! Screen-space culling: which geoms can a ray through a given image tile hit?
//!
//! Spheres enclosing each geom (its bounding sphere, or a row of spheres
//! along a capsule) are projected to conservative pixel rectangles; the
//! image is cut into square tiles and every tile keeps the list of geoms
//! whose rectangles overlap it. A primary ray then tests only its tile's list.
//! The same works for mirror rays off a plane: they are primary rays that see
//! the geoms reflected through that plane.

use glam::Vec3A;
use wide::f32x4;

use super::packet::Vec3x4;

/// Tile side of the primary and mirror lists, as a power of two (4 pixels).
pub const FINE: u32 = 2;
/// Tile side of lists that are cheap to over-fill (8 pixels).
pub const COARSE: u32 = 3;
// Four-pixel packets (aligned runs of a row) must share their tiles.
const _: () = assert!(FINE >= 2 && COARSE >= 2);
/// Extra margin around projected rectangles, in pixels.
const MARGIN: f32 = 1.0;

/// A pinhole camera that maps world points to pixel coordinates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Projector {
    pub eye: Vec3A,
    pub right: Vec3A,
    pub up: Vec3A,
    pub forward: Vec3A,
    /// tan(fovx / 2) and tan(fovy / 2).
    pub half_w: f32,
    pub half_h: f32,
    pub width: usize,
    pub height: usize,
    /// Direction change per pixel to the right and down, and the direction
    /// through the image's top-left corner.
    step_x: Vec3A,
    step_y: Vec3A,
    corner: Vec3A,
}

impl Projector {
    /// A camera at `eye` with unit `right`, `up`, `forward` vectors and
    /// vertical field of view `fovy` (radians), for `width x height` images.
    pub fn new(
        eye: Vec3A,
        (right, up, forward): (Vec3A, Vec3A, Vec3A),
        fovy: f32,
        width: usize,
        height: usize,
    ) -> Self {
        let half_h = (fovy / 2.0).tan();
        let half_w = half_h * width as f32 / height as f32;
        Self {
            eye,
            right,
            up,
            forward,
            half_w,
            half_h,
            width,
            height,
            step_x: right * (2.0 * half_w / width as f32),
            step_y: -up * (2.0 * half_h / height as f32),
            corner: forward - right * half_w + up * half_h,
        }
    }

    /// Unnormalised direction of the ray through image point (`x`, `y`) in pixels.
    #[inline]
    pub fn ray_dir(&self, x: f32, y: f32) -> Vec3A {
        self.corner + self.step_x * x + self.step_y * y
    }

    /// Unit directions of the rays through image points (`xs`, `ys`) lane by
    /// lane, as `ray_dir(x, y).normalize()` per lane would give them.
    #[inline]
    pub fn unit_dirs4(&self, xs: f32x4, ys: f32x4) -> Vec3x4 {
        let (c, sx, sy) = (self.corner, self.step_x, self.step_y);
        Vec3x4 {
            x: (f32x4::splat(c.x) + xs * sx.x) + ys * sy.x,
            y: (f32x4::splat(c.y) + xs * sx.y) + ys * sy.y,
            z: (f32x4::splat(c.z) + xs * sx.z) + ys * sy.z,
        }
        .normalize()
    }

    /// Conservative pixel rectangle `[x0, x1, y0, y1]` covered by a sphere,
    /// the whole image when the sphere reaches the camera plane, `None` when
    /// it is behind the camera.
    pub fn sphere_rect(&self, center: Vec3A, radius: f32) -> Option<[f32; 4]> {
        let rel = center - self.eye;
        let depth = rel.dot(self.forward);
        if depth + radius <= 0.0 {
            return None;
        }
        let full = [0.0, self.width as f32, 0.0, self.height as f32];
        if depth - radius <= 1e-3 {
            return Some(full);
        }
        let (x, y) = (rel.dot(self.right), rel.dot(self.up));
        let (near, far) = (depth - radius, depth + radius);
        // u = x / depth over the box around the sphere: extremes at its corners.
        let span = |c: f32| {
            let lo = ((c - radius) / near).min((c - radius) / far);
            let hi = ((c + radius) / near).max((c + radius) / far);
            (lo, hi)
        };
        let (ux0, ux1) = span(x);
        let (uy0, uy1) = span(y);
        let w = self.width as f32;
        let h = self.height as f32;
        let px = |u: f32| (u / self.half_w + 1.0) * 0.5 * w;
        let py = |u: f32| (1.0 - u / self.half_h) * 0.5 * h;
        Some([
            px(ux0) - MARGIN,
            px(ux1) + MARGIN,
            py(uy1) - MARGIN,
            py(uy0) + MARGIN,
        ])
    }
}

/// Per-tile candidate lists of geom indices.
#[derive(Clone, Debug, Default)]
pub(crate) struct TileLists {
    shift: u32,
    tiles_x: usize,
    offsets: Vec<u32>,
    items: Vec<u16>,
}

impl TileLists {
    /// Builds the lists of tiles of side `1 << shift` from `(index, center,
    /// radius)` spheres seen by `projector`. A geom may come as several
    /// spheres in a row (their union encloses it); it is listed once per tile.
    pub fn build(
        projector: &Projector,
        shift: u32,
        spheres: impl Iterator<Item = (u16, Vec3A, f32)>,
    ) -> Self {
        let tile = 1usize << shift;
        let tiles_x = projector.width.div_ceil(tile);
        let tiles_y = projector.height.div_ceil(tile);
        let ntiles = tiles_x * tiles_y;
        // Tile ranges per sphere, then counting sort into the flat list.
        let ranges: Vec<(u16, [usize; 4])> = spheres
            .filter_map(|(i, c, r)| {
                let [x0, x1, y0, y1] = projector.sphere_rect(c, r)?;
                let clamp = |v: f32, n: usize| ((v.max(0.0) as usize) >> shift).min(n - 1);
                if x1 < 0.0 || y1 < 0.0 {
                    return None;
                }
                if x0 >= projector.width as f32 || y0 >= projector.height as f32 {
                    return None;
                }
                Some((
                    i,
                    [
                        clamp(x0, tiles_x),
                        clamp(x1, tiles_x),
                        clamp(y0, tiles_y),
                        clamp(y1, tiles_y),
                    ],
                ))
            })
            .collect();
        // Each (geom, tile) pair once: a geom's spheres come in a row, so
        // remembering the last geom listed per tile is enough.
        let each_pair = |visit: &mut dyn FnMut(u16, usize)| {
            let mut last = vec![u16::MAX; ntiles];
            for (i, [x0, x1, y0, y1]) in &ranges {
                for ty in *y0..=*y1 {
                    for tx in *x0..=*x1 {
                        let t = ty * tiles_x + tx;
                        if last[t] != *i {
                            last[t] = *i;
                            visit(*i, t);
                        }
                    }
                }
            }
        };
        let mut counts = vec![0u32; ntiles + 1];
        each_pair(&mut |_, t| counts[t + 1] += 1);
        for i in 1..=ntiles {
            counts[i] += counts[i - 1];
        }
        let mut fill = counts.clone();
        let mut items = vec![0u16; counts[ntiles] as usize];
        each_pair(&mut |i, t| {
            items[fill[t] as usize] = i;
            fill[t] += 1;
        });
        Self {
            shift,
            tiles_x,
            offsets: counts,
            items,
        }
    }

    /// Builds lists tile by tile: `candidates(x0, x1, y0, y1)` gets a tile's
    /// pixel bounds and pushes its geoms.
    pub fn from_tiles(
        width: usize,
        height: usize,
        shift: u32,
        mut candidates: impl FnMut([usize; 4], &mut Vec<u16>),
    ) -> Self {
        let tile = 1usize << shift;
        let tiles_x = width.div_ceil(tile);
        let tiles_y = height.div_ceil(tile);
        let mut offsets = Vec::with_capacity(tiles_x * tiles_y + 1);
        let mut items = Vec::new();
        offsets.push(0);
        for ty in 0..tiles_y {
            for tx in 0..tiles_x {
                let bounds = [
                    tx * tile,
                    ((tx + 1) * tile).min(width),
                    ty * tile,
                    ((ty + 1) * tile).min(height),
                ];
                candidates(bounds, &mut items);
                offsets.push(items.len() as u32);
            }
        }
        Self {
            shift,
            tiles_x,
            offsets,
            items,
        }
    }

    /// True when no ray through pixel (`x`, `y`)'s tile can hit anything listed.
    #[inline]
    pub fn is_empty_at(&self, x: usize, y: usize) -> bool {
        let tile = (y >> self.shift) * self.tiles_x + (x >> self.shift);
        self.offsets[tile] == self.offsets[tile + 1]
    }

    /// Geoms that a ray through pixel (`x`, `y`) may hit, in index order.
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> &[u16] {
        let tile = (y >> self.shift) * self.tiles_x + (x >> self.shift);
        &self.items[self.offsets[tile] as usize..self.offsets[tile + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera() -> Projector {
        Projector::new(
            Vec3A::new(0.0, -3.0, 0.0),
            (Vec3A::X, Vec3A::Z, Vec3A::Y),
            2.0 * 0.4f32.atan(),
            64,
            64,
        )
    }

    #[test]
    fn a_sphere_lands_in_the_tiles_it_covers_only() {
        let p = camera();
        // A small sphere right of centre, on the horizon.
        let lists = TileLists::build(
            &p,
            FINE,
            [(3u16, Vec3A::new(0.6, 0.0, 0.0), 0.1)].into_iter(),
        );
        // u = 0.6/3 = 0.2 → x = (0.5 + 1) * 32 = 48; y = 32.
        assert_eq!(lists.at(48, 32), &[3]);
        assert!(lists.at(5, 5).is_empty());
        assert!(lists.at(10, 32).is_empty());
        // Every pixel the sphere really covers is in a listed tile.
        for y in 0..64 {
            for x in 0..64 {
                let d = p.ray_dir(x as f32 + 0.5, y as f32 + 0.5).normalize();
                let oc = p.eye - Vec3A::new(0.6, 0.0, 0.0);
                let b = oc.dot(d);
                if b * b - (oc.length_squared() - 0.01) >= 0.0 {
                    assert_eq!(lists.at(x, y), &[3], "pixel {x},{y}");
                }
            }
        }
    }

    #[test]
    fn spheres_behind_or_around_the_camera() {
        let p = camera();
        assert!(p.sphere_rect(Vec3A::new(0.0, -5.0, 0.0), 0.5).is_none());
        let around = p.sphere_rect(Vec3A::new(0.0, -3.0, 0.0), 0.5).unwrap();
        assert_eq!(around, [0.0, 64.0, 0.0, 64.0]);
    }
}

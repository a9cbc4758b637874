//! What is seen where no geom is hit: the Control Suite's gradient skybox
//! (light blue above, black below, sparse white marks), or a background image.

use glam::Vec3A;

use super::culling::Projector;
use super::packet::{floor4, Vec3x4};
use super::scene::floor;
use wide::{f32x4, i32x4};

/// The suite's skybox: a vertical gradient from (.4, .6, .8) looking up to
/// black looking down, with a fraction of directions lit as faint marks.
#[derive(Clone, Copy, Debug)]
pub struct Sky {
    /// Colour looking up.
    pub top: [f32; 3],
    /// Colour looking down.
    pub bottom: [f32; 3],
    /// Probability of a mark per direction cell.
    pub marks: f32,
}

impl Default for Sky {
    fn default() -> Self {
        Self {
            top: [0.4, 0.6, 0.8],
            bottom: [0.0, 0.0, 0.0],
            marks: 0.01,
        }
    }
}

/// The skybox marks as seen at one pixel size: the cell grid and the
/// Poisson distribution of mark counts per pixel footprint.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SkyMarks {
    /// Cells per unit of direction (one per pixel).
    cells: f32,
    /// Skybox texels per pixel footprint.
    texels: f32,
    /// Cumulative probabilities of 0, 1, ... marks in a footprint.
    cdf: [f32; 8],
}

impl SkyMarks {
    /// Texels per unit of direction on the suite's 800-texel skybox faces.
    const TEXELS_PER_UNIT: f32 = 400.0;

    /// For marks covering a fraction `marks` of texels and pixels spanning `pixel_angle` radians.
    pub(crate) fn new(marks: f32, pixel_angle: f32) -> Self {
        let texels = (pixel_angle * Self::TEXELS_PER_UNIT).max(1.0).powi(2);
        let mean = marks * texels;
        let mut cdf = [1.0f32; 8];
        let mut p = (-mean).exp();
        let mut sum = p;
        for (k, c) in cdf.iter_mut().enumerate().take(7) {
            *c = sum;
            p *= mean / (k + 1) as f32;
            sum += p;
        }
        Self {
            cells: 1.0 / pixel_angle.max(1e-4),
            texels,
            cdf,
        }
    }
}

impl Sky {
    /// The colour for a unit ray direction. The skybox's marks are single
    /// white texels (a fraction `marks` of them) that OpenGL averages over a
    /// pixel's footprint: each pixel gets a Poisson-drawn count of marks,
    /// brightening it by that share of the footprint.
    #[inline]
    pub(crate) fn color(&self, dir: Vec3A, marks: &SkyMarks) -> [f32; 3] {
        let w = (1.0 + dir.z) / 2.0;
        let mut rgb: [f32; 3] =
            std::array::from_fn(|k| self.top[k] * w + self.bottom[k] * (1.0 - w));
        // One cell per pixel footprint; offset to positive cells so
        // truncation is the floor (|dir| <= 1).
        let cell = dir * marks.cells + (marks.cells + 8.0);
        let u = hash3(cell.x as i64, cell.y as i64, cell.z as i64);
        if u > marks.cdf[0] {
            let count = marks.cdf.iter().take_while(|&&c| u > c).count();
            let share = (count as f32 / marks.texels).min(1.0);
            for v in &mut rgb {
                *v += share * (1.0 - *v);
            }
        }
        rgb
    }
}

/// A background image (a video frame) that replaces the sky.
#[derive(Clone, Copy, Debug)]
pub struct Background<'a> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major RGB bytes, `height x width x 3`.
    pub rgb: &'a [u8],
    /// Opacity of the ground planes over the background (1 = opaque).
    pub floor_alpha: f32,
}

impl Background<'_> {
    /// The colour seen along unit `dir`. The image spans the view of the
    /// undisturbed camera `reference` and is mirrored beyond it, so a moving
    /// camera sees the background move, as with a skybox.
    #[inline]
    pub(crate) fn color(&self, dir: Vec3A, reference: &Projector) -> [f32; 3] {
        let z = dir.dot(reference.forward).max(0.05);
        let u = (dir.dot(reference.right) / z / reference.half_w + 1.0) * 0.5;
        let v = (1.0 - dir.dot(reference.up) / z / reference.half_h) * 0.5;
        let x = ((mirror(u) * self.width as f32) as usize).min(self.width - 1);
        let y = ((mirror(v) * self.height as f32) as usize).min(self.height - 1);
        self.texel(x, y)
    }

    /// The colour of pixel (`x`, `y`) of the image.
    #[inline]
    fn texel(&self, x: usize, y: usize) -> [f32; 3] {
        let at = (y * self.width + x) * 3;
        [
            self.rgb[at] as f32 / 255.0,
            self.rgb[at + 1] as f32 / 255.0,
            self.rgb[at + 2] as f32 / 255.0,
        ]
    }

    /// [`Background::color`] along four unit directions at once.
    #[inline]
    pub(crate) fn color4(&self, dirs: &Vec3x4, reference: &Projector) -> [[f32; 3]; 4] {
        let z = dirs.dot(reference.forward).max(f32x4::splat(0.05));
        let u = (dirs.dot(reference.right) / z / reference.half_w + 1.0) * 0.5;
        let v = (1.0 - dirs.dot(reference.up) / z / reference.half_h) * 0.5;
        let index = |t: f32x4, n: usize| {
            // Fold into [0, 1] by mirroring at the ends.
            let t = t - floor4(t / 2.0) * 2.0;
            let t = t.simd_gt(f32x4::ONE).select(2.0 - t, t);
            (t * n as f32)
                .trunc_int()
                .max(i32x4::ZERO)
                .min(i32x4::splat(n as i32 - 1))
        };
        let (xs, ys) = (index(u, self.width), index(v, self.height));
        let at = ((ys * i32x4::splat(self.width as i32) + xs) * i32x4::splat(3)).to_array();
        // The four texels' bytes per channel, converted together.
        let mut channels = [[0.0f32; 4]; 3];
        for (k, &i) in at.iter().enumerate() {
            let i = i as usize;
            if let [r, g, b] = self.rgb[i..i + 3] {
                channels[0][k] = r as f32;
                channels[1][k] = g as f32;
                channels[2][k] = b as f32;
            }
        }
        let [r, g, b] = channels.map(|c| f32x4::new(c) / 255.0);
        Vec3x4 { x: r, y: g, z: b }.to_lanes()
    }
}

/// Folds `t` into [0, 1] by mirroring at the ends.
#[inline]
fn mirror(t: f32) -> f32 {
    let t = t - 2.0 * floor(t / 2.0);
    if t > 1.0 {
        2.0 - t
    } else {
        t
    }
}

/// A hash of three integers to [0, 1).
#[inline]
fn hash3(x: i64, y: i64, z: i64) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x9E37_79B1)
        ^ (y as u32).wrapping_mul(0x85EB_CA77)
        ^ (z as u32).wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297A_2D39);
    h ^= h >> 15;
    (h >> 8) as f32 / (1u32 << 24) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four directions at once read the same texels as one at a time,
    /// across the reference view and beyond it (mirrored).
    #[test]
    fn background_packets_match_single_lookups() {
        let (width, height) = (7, 5);
        let rgb: Vec<u8> = (0..width * height * 3)
            .map(|i| (i * 37 % 251) as u8)
            .collect();
        let b = Background {
            width,
            height,
            rgb: &rgb,
            floor_alpha: 1.0,
        };
        let reference =
            Projector::new(Vec3A::ZERO, (Vec3A::X, Vec3A::Z, Vec3A::NEG_Y), 0.8, 64, 48);
        let mut distinct = std::collections::HashSet::new();
        for k in 0..200 {
            let dirs: [Vec3A; 4] = std::array::from_fn(|j| {
                let (x, y) = (
                    (k * 4 + j) as f32 * 0.37 - 20.0,
                    (k as f32 * 0.91) % 70.0 - 10.0,
                );
                reference.ray_dir(x, y).normalize()
            });
            let packet = b.color4(&Vec3x4::unit(dirs), &reference);
            for (j, dir) in dirs.into_iter().enumerate() {
                let single = b.color(dir, &reference);
                assert_eq!(packet[j], single, "direction {dir}");
                distinct.insert(single.map(f32::to_bits));
            }
        }
        assert!(distinct.len() > 20, "only {} texels seen", distinct.len());
    }
}

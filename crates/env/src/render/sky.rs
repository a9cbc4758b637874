//! What is seen where no geom is hit: the Control Suite's gradient skybox
//! (light blue above, black below, sparse white marks), or a background image.

use glam::Vec3A;

use super::culling::Projector;
use super::scene::floor;

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

impl Sky {
    /// Texels per unit of direction on the suite's 800-texel skybox faces.
    const TEXELS_PER_UNIT: f32 = 400.0;

    /// The colour for a unit ray direction seen by a pixel spanning
    /// `pixel_angle` radians. The skybox's marks are single white texels
    /// (a fraction `marks` of them) that OpenGL averages over the pixel's
    /// footprint: each pixel gets a Poisson-drawn count of marks, brightening
    /// it by that share of the footprint.
    #[inline]
    pub fn color(&self, dir: Vec3A, pixel_angle: f32) -> [f32; 3] {
        let w = (1.0 + dir.z) / 2.0;
        let mut rgb = [0.0; 3];
        for k in 0..3 {
            rgb[k] = self.top[k] * w + self.bottom[k] * (1.0 - w);
        }
        let texels = (pixel_angle * Self::TEXELS_PER_UNIT).max(1.0).powi(2);
        // One cell per pixel footprint; offset to positive cells so
        // truncation is the floor (|dir| <= 1).
        let cells = 1.0 / pixel_angle.max(1e-4);
        let cell = dir * cells + (cells + 8.0);
        let u = hash3(cell.x as i64, cell.y as i64, cell.z as i64);
        let marks = poisson(self.marks * texels, u);
        if marks > 0 {
            let share = (marks as f32 / texels).min(1.0);
            for v in &mut rgb {
                *v += share * (1.0 - *v);
            }
        }
        rgb
    }
}

/// The count whose Poisson(`mean`) CDF first exceeds `u` (at most 16).
#[inline]
fn poisson(mean: f32, u: f32) -> u32 {
    let mut p = (-mean).exp();
    let mut cdf = p;
    let mut k = 0;
    while u > cdf && k < 16 {
        k += 1;
        p *= mean / k as f32;
        cdf += p;
    }
    k
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
        let at = (y * self.width + x) * 3;
        [
            self.rgb[at] as f32 / 255.0,
            self.rgb[at + 1] as f32 / 255.0,
            self.rgb[at + 2] as f32 / 255.0,
        ]
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

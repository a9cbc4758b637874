//! The texture pyramid: a plane's texture read from the model's texels,
//! box-filtered level by level, sampled at one point or four at once.

use wide::{f32x4, i32x4};

use crate::render::packet::Vec3x4;

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
pub(super) struct PlaneTexture {
    levels: Vec<TextureLevel>,
    repeat: [f32; 2],
    uniform: bool,
}

impl PlaneTexture {
    pub(super) fn new(
        width: usize,
        height: usize,
        rgb: &[u8],
        repeat: [f32; 2],
        uniform: bool,
    ) -> Self {
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
    pub(super) fn scale(&self, size: [f32; 3]) -> (f32, f32) {
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
    pub(super) fn finest(&self) -> f32 {
        self.levels[0].width.max(self.levels[0].height) as f32
    }

    /// [`PlaneTexture::sample`] at four points, bit for bit: in SIMD when
    /// the four share their pyramid levels (neighbouring pixels have nearly
    /// the same footprint), else lane by lane.
    #[inline]
    pub(super) fn sample4(&self, u: f32x4, v: f32x4, texels: f32x4) -> Vec3x4 {
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
    pub(super) fn sample(&self, u: f32, v: f32, texels: f32) -> [f32; 3] {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

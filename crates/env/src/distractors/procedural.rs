//! Built-in moving backgrounds, so distractions work with nothing
//! downloaded: animated, domain-warped fractal noise mapped through a random
//! palette, with a few soft blobs drifting across like foreground objects.
//! Each video is a pure function of its seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::background::Video;

/// Fewest and most frames of a generated video (DAVIS videos have 50–104).
const FRAMES: std::ops::RangeInclusive<usize> = 50..=100;

/// Hash of a 3-D lattice point to [0, 1).
#[inline]
fn lattice(seed: u32, x: i32, y: i32, z: i32) -> f32 {
    let mut h = seed
        ^ (x as u32).wrapping_mul(0x8DA6_B343)
        ^ (y as u32).wrapping_mul(0xD816_3841)
        ^ (z as u32).wrapping_mul(0xCB1A_B31F);
    h ^= h >> 16;
    h = h.wrapping_mul(0x7FEB_352D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846C_A68B);
    h ^= h >> 16;
    (h >> 8) as f32 / (1u32 << 24) as f32
}

#[inline]
fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// Smooth 3-D value noise in [0, 1).
fn value_noise(seed: u32, x: f32, y: f32, z: f32) -> f32 {
    let (xf, yf, zf) = (x.floor(), y.floor(), z.floor());
    let (xi, yi, zi) = (xf as i32, yf as i32, zf as i32);
    let (u, v, w) = (smooth(x - xf), smooth(y - yf), smooth(z - zf));
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let mut layer = [0.0f32; 2];
    for (dz, out) in layer.iter_mut().enumerate() {
        let z = zi + dz as i32;
        let a = lerp(lattice(seed, xi, yi, z), lattice(seed, xi + 1, yi, z), u);
        let b = lerp(
            lattice(seed, xi, yi + 1, z),
            lattice(seed, xi + 1, yi + 1, z),
            u,
        );
        *out = lerp(a, b, v);
    }
    lerp(layer[0], layer[1], w)
}

/// Fractal sum of `octaves` noise layers, normalised to [0, 1).
fn fbm(seed: u32, x: f32, y: f32, z: f32, octaves: usize) -> f32 {
    let (mut sum, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0);
    for o in 0..octaves {
        sum += amp * value_noise(seed.wrapping_add(o as u32 * 7919), x * f, y * f, z);
        norm += amp;
        amp *= 0.5;
        f *= 2.03;
    }
    sum / norm
}

fn hsv(h: f32, s: f32, v: f32) -> [f32; 3] {
    let h = (h.rem_euclid(1.0)) * 6.0;
    let c = v * s;
    let x = c * (1.0 - ((h % 2.0) - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r + m, g + m, b + m]
}

/// A soft disc moving on a smooth path.
struct Blob {
    centre: [f32; 2],
    velocity: [f32; 2],
    wobble: f32,
    radius: f32,
    colour: [f32; 3],
}

/// Bilinear upsampling of a `gw x gh` colour field to `width x height` RGB bytes.
fn upsample(small: &[[f32; 3]], gw: usize, gh: usize, width: usize, height: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(width * height * 3);
    let coord = |i: usize, n: usize, g: usize| {
        let f = ((i as f32 + 0.5) * g as f32 / n as f32 - 0.5).clamp(0.0, (g - 1) as f32);
        let i0 = f as usize;
        (i0, (i0 + 1).min(g - 1), f - i0 as f32)
    };
    for y in 0..height {
        let (y0, y1, fy) = coord(y, height, gh);
        for x in 0..width {
            let (x0, x1, fx) = coord(x, width, gw);
            let at = |xx: usize, yy: usize| small[yy * gw + xx];
            let (a, b, c, d) = (at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1));
            for k in 0..3 {
                let top = a[k] + (b[k] - a[k]) * fx;
                let bottom = c[k] + (d[k] - c[k]) * fx;
                let v = top + (bottom - top) * fy;
                rgb.push((v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
            }
        }
    }
    rgb
}

/// Generates the video of `seed` at `width x height`.
pub fn generate(seed: u64, width: usize, height: usize) -> Video {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_BAC6_0000_0001);
    let frames = rng.random_range(FRAMES);
    let noise_seed: u32 = rng.random();
    let hue: f32 = rng.random();
    let palette: Vec<[f32; 3]> = (0..4)
        .map(|_| {
            hsv(
                hue + rng.random_range(-0.18..0.18),
                rng.random_range(0.25..0.9),
                rng.random_range(0.15..0.95),
            )
        })
        .collect();
    let scale = rng.random_range(1.5..4.0f32);
    let warp = rng.random_range(0.3..1.2f32);
    let drift = [
        rng.random_range(-0.04..0.04f32),
        rng.random_range(-0.04..0.04f32),
    ];
    let evolve = rng.random_range(0.01..0.05f32);
    let blobs: Vec<Blob> = (0..rng.random_range(1..=3))
        .map(|_| Blob {
            centre: [rng.random(), rng.random()],
            velocity: [rng.random_range(-0.01..0.01), rng.random_range(-0.01..0.01)],
            wobble: rng.random_range(0.0..std::f32::consts::TAU),
            radius: rng.random_range(0.08..0.25),
            colour: hsv(
                rng.random(),
                rng.random_range(0.3..1.0),
                rng.random_range(0.3..1.0),
            ),
        })
        .collect();
    // The noise is drawn at half resolution and upsampled (the videos are
    // smooth, like downscaled DAVIS frames): 4x less work.
    let (gw, gh) = (width.div_ceil(2).max(1), height.div_ceil(2).max(1));
    let aspect = gw as f32 / gh as f32;
    let frames = (0..frames)
        .map(|t| {
            let t = t as f32;
            let mut small = Vec::with_capacity(gw * gh);
            for y in 0..gh {
                for x in 0..gw {
                    let u = (x as f32 + 0.5) / gh as f32;
                    let v = (y as f32 + 0.5) / gh as f32;
                    let (px, py) = (u * scale + drift[0] * t, v * scale + drift[1] * t);
                    let z = t * evolve;
                    let wx = fbm(noise_seed ^ 0xA5A5, px, py, z, 2) - 0.5;
                    let wy = fbm(noise_seed ^ 0x5A5A, px + 5.2, py + 1.3, z, 2) - 0.5;
                    let n = fbm(noise_seed, px + warp * wx, py + warp * wy, z, 4);
                    // Palette gradient over the noise value, stretched for contrast.
                    let s = ((n - 0.5) * 2.2 + 0.5).clamp(0.0, 0.999) * 3.0;
                    let (i, f) = (s as usize, s.fract());
                    let (a, b) = (palette[i], palette[i + 1]);
                    let mut c = [0.0f32; 3];
                    for k in 0..3 {
                        c[k] = a[k] + (b[k] - a[k]) * f;
                    }
                    for blob in &blobs {
                        let bx = (blob.centre[0]
                            + blob.velocity[0] * t
                            + 0.05 * (0.07 * t + blob.wobble).sin())
                        .rem_euclid(1.0)
                            * aspect;
                        let by = (blob.centre[1]
                            + blob.velocity[1] * t
                            + 0.05 * (0.05 * t + blob.wobble).cos())
                        .rem_euclid(1.0);
                        let d2 = ((u - bx).powi(2) + (v - by).powi(2)) / blob.radius.powi(2);
                        let alpha = (-d2 * d2).exp() * 0.85;
                        for (c, b) in c.iter_mut().zip(blob.colour) {
                            *c += (b - *c) * alpha;
                        }
                    }
                    small.push(c);
                }
            }
            upsample(&small, gw, gh, width, height)
        })
        .collect();
    Video {
        width,
        height,
        frames,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn videos_are_deterministic_distinct_textured_and_moving() {
        let a = generate(1, 32, 24);
        assert_eq!(a.frames, generate(1, 32, 24).frames);
        assert!(FRAMES.contains(&a.frames.len()));
        assert!(a.frames.iter().all(|f| f.len() == 32 * 24 * 3));
        let b = generate(2, 32, 24);
        assert_ne!(a.frames[0], b.frames[0]);
        // Rich texture: many distinct colours in one frame.
        let distinct: std::collections::HashSet<_> = a.frames[0].chunks(3).collect();
        assert!(distinct.len() > 100, "{} colours", distinct.len());
        // Smooth motion: consecutive frames differ, but only a little.
        let diff = |x: &[u8], y: &[u8]| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (*p as f64 - *q as f64).abs())
                .sum::<f64>()
                / x.len() as f64
        };
        let step = diff(&a.frames[0], &a.frames[1]);
        let far = diff(&a.frames[0], &b.frames[0]);
        assert!(
            step > 0.0 && step < far,
            "step {step}, between videos {far}"
        );
    }
}

//! Augmentations of LAOM (METHOD.md §4): per sample a random choice among
//! identity, shift, rotation, perspective and their two-step compositions,
//! each frame stack transformed independently. All are projective maps of
//! the image plane, applied with one bilinear `grid_sample` per batch.

use rand::{Rng, RngCore};
use tch::{Kind, Tensor};

/// How strong each transform is; a run's `[train.augmentation]` table.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Largest shift, as a fraction of the image side (4/64 by default).
    #[serde(rename = "shift")]
    pub max_shift: f64,
    /// Largest rotation, degrees.
    #[serde(rename = "rotation")]
    pub max_rotation: f64,
    /// Largest corner displacement of the perspective warp (normalised
    /// coordinates: the image spans [-1, 1]).
    #[serde(rename = "perspective")]
    pub max_perspective: f64,
    /// Outside the image: repeat the border pixels (true) or zeros (false).
    pub border: bool,
}

impl Default for AugmentConfig {
    /// The strengths lam has always used: shifts up to 4/64 of the side,
    /// rotations up to 90 degrees, corners moved up to 0.2, zeros outside.
    fn default() -> Self {
        Self {
            max_shift: 4.0 / 64.0,
            max_rotation: 90.0,
            max_perspective: 0.2,
            border: false,
        }
    }
}

/// The per-sample choices: identity, the three transforms, and the three
/// two-step compositions of distinct transforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// No change.
    Identity,
    /// Translation.
    Shift,
    /// Rotation about the centre.
    Rotate,
    /// Random perspective warp.
    Perspective,
    /// Shift then rotation.
    ShiftRotate,
    /// Shift then perspective.
    ShiftPerspective,
    /// Rotation then perspective.
    RotatePerspective,
}

impl Choice {
    /// Every choice.
    pub const ALL: [Choice; 7] = [
        Choice::Identity,
        Choice::Shift,
        Choice::Rotate,
        Choice::Perspective,
        Choice::ShiftRotate,
        Choice::ShiftPerspective,
        Choice::RotatePerspective,
    ];
}

type Mat3 = [[f64; 3]; 3];

fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            m[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// The homography taking the square's corners (±1, ±1) to `to`.
fn homography(to: [[f64; 2]; 4]) -> Mat3 {
    let from = [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]];
    // Solve the 8x8 system for h11..h32 (h33 = 1) by Gaussian elimination.
    let mut a = [[0.0f64; 9]; 8];
    for k in 0..4 {
        let ([x, y], [u, v]) = (from[k], to[k]);
        a[2 * k] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * k + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .expect("rows");
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (row, r) in a.iter_mut().enumerate() {
            if row != col {
                let f = r[col] / pivot_row[col];
                for (v, p) in r.iter_mut().zip(pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    let h: Vec<f64> = (0..8).map(|i| a[i][8] / a[i][i]).collect();
    [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1.0]]
}

/// Draws the sampling map (output pixel → input pixel, normalized
/// coordinates) of one choice.
pub fn draw(choice: Choice, config: &AugmentConfig, rng: &mut impl Rng) -> [[f64; 3]; 3] {
    let mut shift = || {
        let s = 2.0 * config.max_shift;
        [
            [1.0, 0.0, rng.random_range(-s..=s)],
            [0.0, 1.0, rng.random_range(-s..=s)],
            [0.0, 0.0, 1.0],
        ]
    };
    let shift_m = shift();
    let angle = rng
        .random_range(-config.max_rotation..=config.max_rotation)
        .to_radians();
    let (sin, cos) = angle.sin_cos();
    let rotate_m = [[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]];
    let d = 2.0 * config.max_perspective;
    let corners = [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]].map(|[x, y]: [f64; 2]| {
        [
            x + rng.random_range(-d..=d) * 0.5,
            y + rng.random_range(-d..=d) * 0.5,
        ]
    });
    let perspective_m = homography(corners);
    match choice {
        Choice::Identity => IDENTITY,
        Choice::Shift => shift_m,
        Choice::Rotate => rotate_m,
        Choice::Perspective => perspective_m,
        Choice::ShiftRotate => mul(&rotate_m, &shift_m),
        Choice::ShiftPerspective => mul(&perspective_m, &shift_m),
        Choice::RotatePerspective => mul(&perspective_m, &rotate_m),
    }
}

/// Applies one sampling map per sample to `x` (`[B, C, H, W]`), bilinear;
/// outside the image the border pixels repeat when `border`, else zeros.
pub fn warp(x: &Tensor, maps: &[Mat3], border: bool) -> Tensor {
    let size = x.size();
    let (b, h, w) = (size[0], size[2], size[3]);
    assert_eq!(maps.len() as i64, b, "one map per sample");
    let device = x.device();
    // Pixel-centre coordinates in [-1, 1] (align_corners = false).
    let xs = Tensor::arange(w, (Kind::Float, device)).g_add_scalar(0.5) * (2.0 / w as f64) - 1.0;
    let ys = Tensor::arange(h, (Kind::Float, device)).g_add_scalar(0.5) * (2.0 / h as f64) - 1.0;
    let gx = xs.view([1, w]).expand([h, w], false);
    let gy = ys.view([h, 1]).expand([h, w], false);
    let ones = Tensor::ones([h, w], (Kind::Float, device));
    let base = Tensor::stack(&[gx, gy, ones], 0).view([3, h * w]);
    let flat: Vec<f32> = maps
        .iter()
        .flat_map(|m| m.iter().flatten().map(|&v| v as f32))
        .collect();
    let theta = Tensor::from_slice(&flat).view([b, 3, 3]).to_device(device);
    let mapped = theta.matmul(&base); // [B, 3, H*W]
    let z = mapped.narrow(1, 2, 1);
    let xy = mapped.narrow(1, 0, 2) / z;
    let grid = xy.permute([0, 2, 1]).view([b, h, w, 2]);
    // Padding modes of grid_sampler: 0 zeros, 1 border.
    x.grid_sampler(&grid, 0, i64::from(border), false)
}

/// Augments each sample of `x` with a uniformly drawn choice.
pub fn augment(x: &Tensor, config: &AugmentConfig, rng: &mut impl RngCore) -> Tensor {
    let b = x.size()[0] as usize;
    let maps: Vec<Mat3> = (0..b)
        .map(|_| {
            let choice = Choice::ALL[rng.random_range(0..Choice::ALL.len())];
            draw(choice, config, rng)
        })
        .collect();
    warp(x, &maps, config.border)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use tch::Device;

    fn images(b: i64) -> Tensor {
        Tensor::rand([b, 9, 16, 16], (Kind::Float, Device::Cpu)) * 2.0 - 1.0
    }

    fn max_abs(t: &Tensor) -> f64 {
        t.abs().max().double_value(&[])
    }

    #[test]
    fn identity_leaves_images_unchanged() {
        let x = images(3);
        let y = warp(&x, &[IDENTITY; 3], false);
        assert!(max_abs(&(y - &x)) < 1e-5);
    }

    #[test]
    fn every_choice_keeps_size_and_range_and_changes_something() {
        let x = images(4);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for choice in Choice::ALL {
            let maps: Vec<Mat3> = (0..4)
                .map(|_| draw(choice, &AugmentConfig::default(), &mut rng))
                .collect();
            let y = warp(&x, &maps, false);
            assert_eq!(y.size(), x.size());
            assert!(max_abs(&y) <= 1.0 + 1e-5, "{choice:?} left the value range");
            if choice != Choice::Identity {
                assert!(max_abs(&(&y - &x)) > 1e-3, "{choice:?} changed nothing");
            }
        }
    }

    #[test]
    fn a_whole_pixel_shift_moves_pixels_by_one() {
        let x = images(1);
        // Sample one pixel to the right: output(i, j) = input(i, j + 1).
        let m = [[1.0, 0.0, 2.0 / 16.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let y = warp(&x, &[m], false);
        let diff = y.narrow(3, 0, 15) - x.narrow(3, 1, 15);
        assert!(max_abs(&diff) < 1e-5);
    }

    #[test]
    fn border_padding_repeats_the_edge() {
        let x = images(1);
        // Sample 4 pixels to the right: the last 4 columns see the edge column.
        let m = [[1.0, 0.0, 8.0 / 16.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let y = warp(&x, &[m], true);
        let edge = x.narrow(3, 15, 1);
        assert!(max_abs(&(y.narrow(3, 12, 4) - &edge)) < 1e-5);
        let zeros = warp(&x, &[m], false);
        assert!(max_abs(&zeros.narrow(3, 13, 3)) < 1e-5);
    }

    #[test]
    fn homography_maps_the_corners() {
        let to = [[-0.9, -1.1], [1.2, -0.8], [0.9, 1.0], [-1.0, 0.7]];
        let h = homography(to);
        for (k, [x, y]) in [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]
            .iter()
            .enumerate()
        {
            let p = [0, 1, 2].map(|r| h[r][0] * x + h[r][1] * y + h[r][2]);
            assert!((p[0] / p[2] - to[k][0]).abs() < 1e-9 && (p[1] / p[2] - to[k][1]).abs() < 1e-9);
        }
    }
}

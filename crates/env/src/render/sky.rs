//! What is seen where no geom is hit: the Control Suite's gradient skybox
//! (light blue above, black below, sparse white marks), or a background image.

use glam::DVec3;

/// The background of a rendered image.
#[derive(Clone, Debug)]
pub enum Sky {
    /// A vertical gradient from `top` (looking straight up) to `bottom`
    /// (straight down), with a fraction `marks` of directions lit as stars.
    Gradient {
        /// Colour looking up.
        top: [f32; 3],
        /// Colour looking down.
        bottom: [f32; 3],
        /// Probability of a mark per direction cell.
        marks: f64,
    },
    /// A screen-aligned RGB image (`height x width x 3`), stretched to the frame.
    Image {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Row-major RGB bytes.
        rgb: Vec<u8>,
    },
}

impl Sky {
    /// The suite's skybox: gradient from (.4, .6, .8) to black with random white marks.
    pub fn control_suite() -> Self {
        Sky::Gradient {
            top: [0.4, 0.6, 0.8],
            bottom: [0.0, 0.0, 0.0],
            marks: 0.01,
        }
    }

    /// The colour for a ray direction `dir` (unit) at image position `screen`.
    pub fn color(&self, dir: DVec3, screen: (f64, f64)) -> [f32; 3] {
        match self {
            Sky::Gradient { top, bottom, marks } => {
                let w = ((1.0 + dir.z) / 2.0) as f32;
                let mut rgb = [0.0; 3];
                for k in 0..3 {
                    rgb[k] = top[k] * w + bottom[k] * (1.0 - w);
                }
                // Stars: hash a fine grid of directions.
                let cell = (dir * 400.0).floor();
                let h = hash3(cell.x as i64, cell.y as i64, cell.z as i64);
                if h < *marks {
                    let glow = 0.15 * (1.0 - (h / marks) as f32);
                    for v in &mut rgb {
                        *v += glow * (1.0 - *v);
                    }
                }
                rgb
            }
            Sky::Image { width, height, rgb } => {
                let x = ((screen.0 * *width as f64) as usize).min(width - 1);
                let y = ((screen.1 * *height as f64) as usize).min(height - 1);
                let at = (y * width + x) * 3;
                [
                    rgb[at] as f32 / 255.0,
                    rgb[at + 1] as f32 / 255.0,
                    rgb[at + 2] as f32 / 255.0,
                ]
            }
        }
    }
}

/// A hash of three integers to [0, 1).
fn hash3(x: i64, y: i64, z: i64) -> f64 {
    let mut h = (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ (z as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

//! The published layout: root attributes describing the collection, and one
//! group per trajectory ("0", "1", …) with `obs` uint8 [T, H, W, 3],
//! `states` float32 [T, S], `actions` float32 [T, A] and the attribute
//! `traj_return`.
//!
//! A collection may also record the simulator's ground truth, inside each
//! trajectory group as a subgroup `ground_truth` (see [`GroundTruth`]).
//! The root keeps exactly the published trajectory groups and attributes,
//! so readers that list the root's keys as trajectories (as the official
//! code does) and read `obs`, `states` and `actions` by name see the
//! published layout.

/// Root attributes of a dataset file.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetAttrs {
    /// Domain, e.g. "cheetah".
    pub domain_name: String,
    /// Task, e.g. "run".
    pub task_name: String,
    /// Distraction preset, e.g. "scale_easy_video_hard" or "vanilla".
    pub difficulty: String,
    /// Whether distractions moved during episodes.
    pub dynamic: bool,
    /// Frame side in pixels.
    pub img_hw: i64,
    /// Background split: "train" or "val".
    pub split: String,
    /// Mean trajectory return (written when a collection finishes).
    pub dataset_return: Option<f64>,
}

/// Name of the optional subgroup of a trajectory group holding its ground truth.
pub const GROUND_TRUTH: &str = "ground_truth";

/// Cells per side of [`GroundTruth::background_grid`].
pub const GRID: usize = 4;

/// Columns of [`GroundTruth::camera`].
pub const CAMERA_COLUMNS: [&str; 4] = ["azimuth", "elevation", "radius", "roll"];

/// What the simulator knew about each frame of a trajectory beyond the
/// published layout, row t describing frame `obs[t]`. In the file: the
/// subgroup `ground_truth` of the trajectory's group with datasets
/// `agent_mask` uint8 [T, H, W] (deflate-compressed), `camera` float64
/// [T, 4], `background` int32 [T, 2], `background_grid` float32
/// [T, 4, 4, 3] and `colour` float32 [T, M, 3].
#[derive(Clone, Debug, PartialEq)]
pub struct GroundTruth {
    /// 1 where the ray through the pixel's centre first meets a geom of
    /// the agent (any body but the world), 0 elsewhere: `len x h x w`.
    pub agent_mask: Vec<u8>,
    /// Camera offsets from the undisturbed camera: azimuth and elevation
    /// on the orbit around the agent (radians), distance as a factor of
    /// the undisturbed one, roll (radians); `len x 4` ([`CAMERA_COLUMNS`]).
    /// An undisturbed camera reads 0, 0, 1, 0.
    pub camera: Vec<f64>,
    /// Background video index within the split's library and frame index
    /// in that video; -1, -1 without a background: `len x 2`.
    pub background: Vec<i32>,
    /// What the background shows, comparable across videos: the mean RGB
    /// (0 to 1) of each cell of a [`GRID`] x [`GRID`] grid over the
    /// background image, row-major; zeros without a background:
    /// `len x GRID x GRID x 3`.
    pub background_grid: Vec<f32>,
    /// Per material, RGB shown minus the model's RGB: `len x materials x 3`.
    pub colour: Vec<f32>,
    /// Materials per step.
    pub materials: usize,
}

impl GroundTruth {
    /// Checks the buffers against `len` steps of `frame`-sized images.
    pub fn check(&self, len: usize, frame: (usize, usize)) -> Result<(), String> {
        let (h, w) = frame;
        let sizes = [
            ("agent_mask", self.agent_mask.len(), len * h * w),
            ("camera", self.camera.len(), len * 4),
            ("background", self.background.len(), len * 2),
            (
                "background_grid",
                self.background_grid.len(),
                len * GRID * GRID * 3,
            ),
            ("colour", self.colour.len(), len * self.materials * 3),
        ];
        for (name, found, expected) in sizes {
            if found != expected {
                return Err(format!(
                    "ground truth {name:?}: {found} values for {len} steps (expected {expected})"
                ));
            }
        }
        if let Some(v) = self.agent_mask.iter().find(|&&v| v > 1) {
            return Err(format!(
                "ground truth \"agent_mask\": value {v}, expected 0 or 1"
            ));
        }
        Ok(())
    }
}

/// One trajectory in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    /// Frames, `len x height x width x 3`.
    pub obs: Vec<u8>,
    /// Proprioceptive states, `len x state_size`.
    pub states: Vec<f32>,
    /// Actions, `len x action_size`.
    pub actions: Vec<f32>,
    /// Sum of rewards.
    pub traj_return: f64,
    /// Frame height and width.
    pub frame: (usize, usize),
    /// Values per state.
    pub state_size: usize,
    /// Values per action.
    pub action_size: usize,
    /// The simulator's ground truth, when recorded.
    pub ground_truth: Option<GroundTruth>,
}

impl Trajectory {
    /// Number of steps.
    pub fn len(&self) -> usize {
        self.actions.len() / self.action_size.max(1)
    }

    /// True for a trajectory without steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that the buffers agree with the sizes; describes the first problem.
    pub fn check(&self) -> Result<(), String> {
        let t = self.len();
        let (h, w) = self.frame;
        if self.state_size == 0 || self.action_size == 0 || h == 0 || w == 0 {
            return Err(format!(
                "empty sizes: frame {h}x{w}, {} state and {} action values per step",
                self.state_size, self.action_size
            ));
        }
        if t == 0 {
            return Err("a trajectory needs at least one step".into());
        }
        if self.actions.len() != t * self.action_size {
            return Err(format!(
                "{} action values are not a whole number of {}-value actions",
                self.actions.len(),
                self.action_size
            ));
        }
        if self.obs.len() != t * h * w * 3 {
            return Err(format!(
                "{} frame bytes for {t} steps of {h}x{w}x3",
                self.obs.len()
            ));
        }
        if self.states.len() != t * self.state_size {
            return Err(format!(
                "{} state values for {t} steps of {}",
                self.states.len(),
                self.state_size
            ));
        }
        if let Some(g) = &self.ground_truth {
            g.check(t, self.frame)?;
        }
        Ok(())
    }
}

/// The mean RGB (0 to 1) of each cell of a [`GRID`] x [`GRID`] grid over
/// an `h x w x 3` image, row-major (what [`GroundTruth::background_grid`]
/// holds per step). Cells split the rows and columns as evenly as the
/// sides allow.
pub fn grid_means(rgb: &[u8], h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0f32; GRID * GRID * 3];
    for gy in 0..GRID {
        let rows = gy * h / GRID..((gy + 1) * h / GRID).max(gy * h / GRID + 1).min(h);
        for gx in 0..GRID {
            let cols = gx * w / GRID..((gx + 1) * w / GRID).max(gx * w / GRID + 1).min(w);
            let mut sum = [0u64; 3];
            for y in rows.clone() {
                for x in cols.clone() {
                    for (k, s) in sum.iter_mut().enumerate() {
                        *s += rgb[(y * w + x) * 3 + k] as u64;
                    }
                }
            }
            let n = (rows.len() * cols.len()).max(1) as f32 * 255.0;
            for k in 0..3 {
                out[(gy * GRID + gx) * 3 + k] = sum[k] as f32 / n;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_means_average_each_cell() {
        // 8x8 image: left half white, right half black, red channel only top half.
        let (h, w) = (8, 8);
        let mut rgb = vec![0u8; h * w * 3];
        for y in 0..h {
            for x in 0..w / 2 {
                rgb[(y * w + x) * 3 + 1] = 255;
                if y < h / 2 {
                    rgb[(y * w + x) * 3] = 255;
                }
            }
        }
        let g = grid_means(&rgb, h, w);
        assert_eq!(g.len(), GRID * GRID * 3);
        // Cell (0, 0): top-left: red and green full.
        assert_eq!(&g[0..3], &[1.0, 1.0, 0.0]);
        // Cell (3, 0): bottom-left: green only.
        assert_eq!(&g[(3 * GRID) * 3..(3 * GRID) * 3 + 3], &[0.0, 1.0, 0.0]);
        // Right half is black.
        assert_eq!(&g[3 * 3..3 * 3 + 3], &[0.0, 0.0, 0.0]);
    }
}

//! The published layout: root attributes describing the collection, and one
//! group per trajectory ("0", "1", …) with `obs` uint8 [T, H, W, 3],
//! `states` float32 [T, S], `actions` float32 [T, A] and the attribute
//! `traj_return`.

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
        Ok(())
    }
}

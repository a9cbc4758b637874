//! The published PPO experts: a running observation normaliser and a
//! Linear-tanh-Linear-tanh-Linear actor whose mean is the greedy action.

use std::path::Path;

use crate::checkpoint::StateDict;
use crate::mlp::{Activation, Linear, Mlp};
use crate::{ExpertError, Policy};

/// Added to the running variance before the square root.
const NORM_EPSILON: f64 = 1e-8;
/// Normalised observations are clipped to ±this.
const NORM_CLIP: f64 = 10.0;

/// A PPO actor with its observation normaliser.
#[derive(Clone, Debug)]
pub struct PpoActor {
    mean: Vec<f64>,
    inv_std: Vec<f64>,
    actor: Mlp,
}

impl PpoActor {
    /// Loads `actor_mean.{0,2,4}` and `obs_rms.{mean,var}` from a state dict file.
    pub fn load(path: &Path) -> Result<Self, ExpertError> {
        Self::from_state_dict(&StateDict::load(path)?)
    }

    /// Builds the actor from a loaded state dict.
    pub fn from_state_dict(dict: &StateDict) -> Result<Self, ExpertError> {
        let mean = dict.get("obs_rms.mean")?;
        let n = mean.values.len();
        if mean.shape != [n] {
            return Err(ExpertError::Shape {
                path: dict.path().to_path_buf(),
                name: "obs_rms.mean".into(),
                found: mean.shape.clone(),
                expected: "a vector".into(),
            });
        }
        let var = dict.get_shaped("obs_rms.var", &[n])?;
        let layers = vec![
            Linear::from_state_dict(dict, "actor_mean.0", Some(n))?,
            Linear::from_state_dict(dict, "actor_mean.2", None)?,
            Linear::from_state_dict(dict, "actor_mean.4", None)?,
        ];
        for pair in layers.windows(2) {
            if pair[0].outputs() != pair[1].inputs() {
                return Err(ExpertError::Format {
                    path: dict.path().to_path_buf(),
                    reason: format!(
                        "actor layers do not connect ({} outputs into {} inputs)",
                        pair[0].outputs(),
                        pair[1].inputs()
                    ),
                });
            }
        }
        Ok(Self {
            mean: mean.values.iter().map(|&v| v as f64).collect(),
            inv_std: var
                .values
                .iter()
                .map(|&v| 1.0 / (v as f64 + NORM_EPSILON).sqrt())
                .collect(),
            actor: Mlp::new(layers, Activation::Tanh),
        })
    }
}

impl Policy for PpoActor {
    fn observation_size(&self) -> usize {
        self.mean.len()
    }

    fn action_size(&self) -> usize {
        self.actor.outputs()
    }

    fn act(&self, observation: &[f64]) -> Vec<f64> {
        let x: Vec<f32> = observation
            .iter()
            .zip(&self.mean)
            .zip(&self.inv_std)
            .map(|((o, m), s)| ((o - m) * s).clamp(-NORM_CLIP, NORM_CLIP) as f32)
            .collect();
        self.actor.forward(&x).into_iter().map(f64::from).collect()
    }
}

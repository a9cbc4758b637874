//! stable-baselines3 SAC policies (the humanoid-walk expert): the actor's
//! ReLU MLP `latent_pi`, the mean head `mu`, squashed by tanh.

use std::path::Path;

use crate::checkpoint::StateDict;
use crate::mlp::{Activation, Linear, Mlp};
use crate::{ExpertError, Policy};

/// The deterministic part of an SB3 SAC actor.
#[derive(Clone, Debug)]
pub struct SacActor {
    network: Mlp,
}

impl SacActor {
    /// Loads `actor.latent_pi.*` and `actor.mu` from the zip's `policy.pth`.
    pub fn load(path: &Path) -> Result<Self, ExpertError> {
        let dict = StateDict::load_member(path, "policy.pth")?;
        let mut layers = Vec::new();
        // latent_pi is Linear, ReLU, Linear, ReLU, ...: linear layers at even indices.
        for i in (0..).step_by(2) {
            let prefix = format!("actor.latent_pi.{i}");
            if dict.get(&format!("{prefix}.weight")).is_err() {
                break;
            }
            let inputs = layers.last().map(Linear::outputs);
            layers.push(Linear::from_state_dict(&dict, &prefix, inputs)?);
        }
        let inputs = layers.last().map(Linear::outputs);
        layers.push(Linear::from_state_dict(&dict, "actor.mu", inputs)?);
        Ok(Self {
            network: Mlp::new(layers, Activation::Relu),
        })
    }
}

impl Policy for SacActor {
    fn observation_size(&self) -> usize {
        self.network.inputs()
    }

    fn action_size(&self) -> usize {
        self.network.outputs()
    }

    fn act(&self, observation: &[f64]) -> Vec<f64> {
        let x: Vec<f32> = observation.iter().map(|&v| v as f32).collect();
        self.network
            .forward(&x)
            .into_iter()
            .map(|v| f64::from(v.tanh()))
            .collect()
    }
}

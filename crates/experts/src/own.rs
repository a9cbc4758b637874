//! Experts trained by lam itself (`lam expert train`): the SAC actor's
//! ReLU MLP `actor.l0 … actor.lN` in a safetensors file, whose last layer
//! gives the action mean (first half) and log std (second half); acting
//! greedily is tanh of the mean.

use std::path::Path;

use crate::checkpoint::StateDict;
use crate::mlp::{Activation, Linear, Mlp};
use crate::{ExpertError, Policy};

/// The metadata tag of an exported actor.
pub const KIND: &str = "lam-sac-actor";

/// A SAC actor exported by `lam expert train`.
#[derive(Clone)]
pub struct OwnSacActor {
    network: Mlp,
}

impl std::fmt::Debug for OwnSacActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnSacActor")
            .field("inputs", &self.network.inputs())
            .field("outputs", &self.network.outputs())
            .finish()
    }
}

impl OwnSacActor {
    /// Loads an exported actor.
    pub fn load(path: &Path) -> Result<Self, ExpertError> {
        let (dict, metadata) = StateDict::load_safetensors(path)?;
        if metadata.get("kind").map(String::as_str) != Some(KIND) {
            return Err(ExpertError::Format {
                path: path.to_path_buf(),
                reason: format!("not an exported lam SAC actor (metadata kind is not {KIND:?})"),
            });
        }
        let mut layers = Vec::new();
        for i in 0.. {
            let prefix = format!("actor.l{i}");
            if dict.get(&format!("{prefix}.weight")).is_err() {
                break;
            }
            let inputs = layers.last().map(Linear::outputs);
            layers.push(Linear::from_state_dict(&dict, &prefix, inputs)?);
        }
        if layers.is_empty() || layers.last().map(Linear::outputs).unwrap_or(0) % 2 != 0 {
            return Err(ExpertError::Format {
                path: path.to_path_buf(),
                reason: "no actor layers, or an odd output size (expected mean and log std)".into(),
            });
        }
        Ok(Self {
            network: Mlp::new(layers, Activation::Relu),
        })
    }
}

impl Policy for OwnSacActor {
    fn observation_size(&self) -> usize {
        self.network.inputs()
    }

    fn action_size(&self) -> usize {
        self.network.outputs() / 2
    }

    fn act(&self, observation: &[f64]) -> Vec<f64> {
        let x: Vec<f32> = observation.iter().map(|&v| v as f32).collect();
        let out = self.network.forward(&x);
        out[..out.len() / 2]
            .iter()
            .map(|v| f64::from(v.tanh()))
            .collect()
    }
}

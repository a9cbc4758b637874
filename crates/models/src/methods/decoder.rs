//! The action decoder of METHOD.md §2: an MLP (two hidden layers, ReLU6)
//! from a latent action to a true action, trained on the labeled subset
//! while the latent BC actor that feeds it stays frozen. Actor + decoder is
//! the policy that is evaluated.

use tch::nn::{self, Module};
use tch::{Reduction, Tensor};

use super::latent_bc::LatentBc;
use super::{Loss, Model, StepInputs, Teacher};
use crate::batch::DataShape;
use crate::config::RunConfig;
use crate::toolkit::actor::Actor;
use crate::toolkit::blocks::orthogonal_linear;
use crate::ModelError;

/// The decoder method: a frozen latent BC actor and the MLP trained behind it.
#[derive(Debug)]
pub struct Decoder {
    /// The frozen actor (pixels → latent action).
    actor: Actor,
    /// The decoder being trained (latent action → action).
    decoder: ActionDecoder,
}

impl Decoder {
    /// A decoder `model.head_width` wide behind the actor of a latent BC run.
    pub fn from_run(
        vs: &nn::VarStore,
        c: &RunConfig,
        shape: DataShape,
        teacher: Teacher,
    ) -> Result<Self, ModelError> {
        let Ok(latent_bc) = teacher.model.into_any().downcast::<LatentBc>() else {
            return Err(ModelError::Build(
                "the teacher of an action decoder must be a latent BC run".into(),
            ));
        };
        let actor = latent_bc.into_actor();
        let decoder = ActionDecoder::new(
            &(vs.root() / "decoder"),
            actor.output_dim(),
            c.model.head_width,
            shape.action_dim,
        );
        Ok(Self { actor, decoder })
    }
}

impl Model for Decoder {
    /// The action MSE of the decoder on the frozen actor's latent for o_t.
    fn loss(&self, x: &StepInputs) -> Loss {
        let (e, z) = tch::no_grad(|| {
            let e = self.actor.embed(x.obs);
            let z = self.actor.head(&e);
            (e, z)
        });
        Loss {
            loss: self
                .decoder
                .forward(&z)
                .mse_loss(x.actions, Reduction::Mean),
            supervision: None,
            latent: Some(z),
            embedding: e,
        }
    }

    fn latent_dim(&self) -> Option<i64> {
        Some(self.actor.output_dim())
    }

    fn embedding_dim(&self) -> i64 {
        self.actor.embedding_dim()
    }

    fn latent(&self, obs: &Tensor, _future: &Tensor) -> Option<Tensor> {
        Some(self.actor.forward(obs))
    }

    fn embed(&self, obs: &Tensor) -> Tensor {
        self.actor.embed(obs)
    }

    fn actions(&self, obs: &Tensor, _next: &Tensor) -> Option<Tensor> {
        Some(self.decoder.forward(&self.actor.forward(obs)))
    }

    fn is_policy(&self) -> bool {
        true
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// Latent action → action.
#[derive(Debug)]
pub struct ActionDecoder {
    layers: Vec<nn::Linear>,
}

impl ActionDecoder {
    /// A decoder from `d_in` latent values through two hidden layers of
    /// `width` to `d_out` action values.
    pub fn new(vs: &nn::Path, d_in: i64, width: i64, d_out: i64) -> Self {
        let dims = [d_in, width, width, d_out];
        Self {
            layers: dims
                .windows(2)
                .enumerate()
                .map(|(i, d)| orthogonal_linear(&(vs / format!("layer{i}")), d[0], d[1]))
                .collect(),
        }
    }
}

impl Module for ActionDecoder {
    fn forward(&self, z: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers
            .iter()
            .enumerate()
            .fold(z.shallow_clone(), |h, (i, l)| {
                let y = l.forward(&h);
                if i < last {
                    y.relu6()
                } else {
                    y
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn decoder_maps_latents_to_actions_with_two_hidden_layers() {
        let vs = nn::VarStore::new(Device::Cpu);
        let d = ActionDecoder::new(&vs.root(), 12, 256, 6);
        let z = Tensor::randn([5, 12], (Kind::Float, Device::Cpu));
        assert_eq!(d.forward(&z).size(), vec![5, 6]);
        assert_eq!(
            vs.variables().len(),
            6,
            "three layers with weights and biases"
        );
    }
}

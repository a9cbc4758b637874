//! The IDM baseline (METHOD.md §6): LAOM's inverse dynamics path trained
//! directly on true actions — a shared encoder embeds o_t and o_{t+1}, an
//! MLP head re-conditioned on both embeddings outputs a_t. Trained on the
//! labeled subset only, then used to relabel the unlabeled data.

use tch::nn;
use tch::{Reduction, Tensor};

use super::{encoder_config, Loss, Model, StepInputs};
use crate::batch::DataShape;
use crate::config::RunConfig;
use crate::toolkit::blocks::ConditionedHead;
use crate::toolkit::encoder::{Encoder, EncoderConfig};

/// An inverse dynamics model from observation pairs to actions.
#[derive(Debug)]
pub struct Idm {
    encoder: Encoder,
    head: ConditionedHead,
}

impl Idm {
    /// An IDM for `action_dim` actions with heads `width` wide and `blocks` deep.
    pub fn new(
        vs: &nn::Path,
        encoder: EncoderConfig,
        width: i64,
        blocks: usize,
        action_dim: i64,
    ) -> Self {
        let encoder = Encoder::new(&(vs / "encoder"), encoder);
        let emb = encoder.out_dim();
        let head =
            ConditionedHead::new(&(vs / "head"), 2 * emb, 2 * emb, width, blocks, action_dim);
        Self { encoder, head }
    }

    /// Flat embeddings of observations.
    pub fn embed(&self, obs: &Tensor) -> Tensor {
        tch::nn::Module::forward(&self.encoder, obs).flatten(1, -1)
    }

    /// Size of [`Idm::embed`].
    pub fn embedding_dim(&self) -> i64 {
        self.encoder.out_dim()
    }

    /// Predicted a_t from o_t and o_{t+1}.
    pub fn predict(&self, obs: &Tensor, next: &Tensor) -> Tensor {
        self.predict_and_embed(obs, next).0
    }

    /// Predicted a_t and the embedding of o_t, from one encoder pass.
    pub fn predict_and_embed(&self, obs: &Tensor, next: &Tensor) -> (Tensor, Tensor) {
        let n = obs.size()[0];
        let e = self.embed(&Tensor::cat(&[obs, next], 0));
        let e_t = e.narrow(0, 0, n);
        let pair = Tensor::cat(&[&e_t, &e.narrow(0, n, n)], 1);
        (self.head.forward(&pair, &pair), e_t)
    }
}

impl Idm {
    /// The IDM of a run's settings.
    pub fn from_run(vs: &nn::VarStore, c: &RunConfig, shape: DataShape) -> Self {
        let m = &c.model;
        Self::new(
            &vs.root(),
            encoder_config(c, shape),
            m.head_width,
            m.head_blocks,
            shape.action_dim,
        )
    }
}

impl Model for Idm {
    /// The action MSE of the prediction from (o_t, o_{t+1}).
    fn loss(&self, x: &StepInputs) -> Loss {
        let (predicted, e_t) = self.predict_and_embed(x.obs, x.next);
        Loss {
            loss: predicted.mse_loss(x.actions, Reduction::Mean),
            supervision: None,
            latent: None,
            embedding: e_t,
        }
    }

    fn embedding_dim(&self) -> i64 {
        Idm::embedding_dim(self)
    }

    fn embed(&self, obs: &Tensor) -> Tensor {
        Idm::embed(self, obs)
    }

    fn actions(&self, obs: &Tensor, next: &Tensor) -> Option<Tensor> {
        Some(self.predict(obs, next))
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolkit::encoder::Depth;
    use tch::{Device, Kind};

    #[test]
    fn idm_predicts_one_action_per_pair() {
        let vs = nn::VarStore::new(Device::Cpu);
        let enc = EncoderConfig {
            in_channels: 9,
            image: 16,
            depth: Depth::Shallow,
            scale: 1,
            num_res: 0,
        };
        let idm = Idm::new(&vs.root(), enc, 32, 1, 4);
        let x = Tensor::rand([5, 9, 16, 16], (Kind::Float, Device::Cpu));
        assert_eq!(idm.predict(&x, &x).size(), vec![5, 4]);
        assert_eq!(idm.embed(&x).size(), vec![5, idm.embedding_dim()]);
    }
}

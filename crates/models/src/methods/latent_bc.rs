//! Latent BC (METHOD.md §2): an actor regressing, from o_t alone, the latent
//! action a frozen LAM (LAPO or LAOM) infers from (o_t, o_{t+1}). The action
//! decoder ([`super::decoder`]) then maps its outputs to true actions.

use tch::nn::{self, Module};
use tch::{Kind, Reduction, Tensor};

use super::{encoder_config, Loss, Model, StepInputs, Teacher};
use crate::batch::DataShape;
use crate::config::{Method, RunConfig};
use crate::toolkit::actor::Actor;
use crate::ModelError;

/// Latent BC: an actor trained on a frozen LAM's latent actions.
#[derive(Debug)]
pub struct LatentBc {
    actor: Actor,
    teacher: Box<dyn Model>,
    teacher_masked: bool,
}

impl LatentBc {
    /// The latent BC actor of a run's settings, its output as wide as the
    /// teacher LAM's latent.
    pub fn from_run(
        vs: &nn::VarStore,
        c: &RunConfig,
        shape: DataShape,
        teacher: Teacher,
    ) -> Result<Self, ModelError> {
        let d = teacher
            .model
            .latent_dim()
            .filter(|_| matches!(teacher.method, Method::Lapo | Method::Laom))
            .ok_or_else(|| {
                ModelError::Build("the teacher of latent BC must be a LAPO or LAOM run".into())
            })?;
        Ok(Self {
            actor: Actor::new(&vs.root(), encoder_config(c, shape), d),
            teacher: teacher.model,
            teacher_masked: teacher.masked_inputs,
        })
    }

    /// The trained actor (pixels → latent action), for the decoder.
    pub fn into_actor(self) -> Actor {
        self.actor
    }
}

impl Model for LatentBc {
    /// The MSE between the actor's output on o_t and the teacher's latent
    /// for (o_t, o_{t+1}), computed without gradient (on masked frames
    /// when the teacher was trained on masked inputs: the actor itself
    /// reads the frames as they are).
    fn loss(&self, x: &StepInputs) -> Loss {
        let masked = x.masks.filter(|_| self.teacher_masked);
        let (t_obs, t_next) = match masked {
            Some(m) => (x.obs * &m.obs, x.next * &m.next),
            None => (x.obs.shallow_clone(), x.next.shallow_clone()),
        };
        let target = tch::no_grad(|| self.teacher.latent(&t_obs, &t_next))
            .expect("the teacher is a LAM")
            .to_kind(Kind::Float);
        let e = self.actor.embed(x.obs);
        let predicted = self.actor.head(&e);
        Loss {
            loss: predicted.mse_loss(&target, Reduction::Mean),
            supervision: None,
            latent: Some(predicted),
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

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

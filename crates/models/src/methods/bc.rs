//! The BC baseline (METHOD.md §6): an actor (encoder, then a linear head)
//! regressing true actions from o_t. Trained on all labels it is the
//! paper's normaliser; on a labeled subset, the baseline LAMs must beat.

use tch::nn::{self, Module};
use tch::{Reduction, Tensor};

use super::{encoder_config, Loss, Model, StepInputs};
use crate::batch::DataShape;
use crate::config::RunConfig;
use crate::toolkit::actor::Actor;

/// Behaviour cloning: pixels → actions.
#[derive(Debug)]
pub struct Bc {
    actor: Actor,
}

impl Bc {
    /// The BC actor of a run's settings.
    pub fn from_run(vs: &nn::VarStore, c: &RunConfig, shape: DataShape) -> Self {
        Self {
            actor: Actor::new(&vs.root(), encoder_config(c, shape), shape.action_dim),
        }
    }
}

impl Model for Bc {
    /// The action MSE of the actor's output on o_t.
    fn loss(&self, x: &StepInputs) -> Loss {
        let e = self.actor.embed(x.obs);
        Loss {
            loss: self.actor.head(&e).mse_loss(x.actions, Reduction::Mean),
            supervision: None,
            latent: None,
            embedding: e,
        }
    }

    fn embedding_dim(&self) -> i64 {
        self.actor.embedding_dim()
    }

    fn embed(&self, obs: &Tensor) -> Tensor {
        self.actor.embed(obs)
    }

    fn actions(&self, obs: &Tensor, _next: &Tensor) -> Option<Tensor> {
        Some(self.actor.forward(obs))
    }

    fn is_policy(&self) -> bool {
        true
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

//! One file per method, each holding its networks and its whole loss, behind
//! the [`Model`] trait the trainer uses:
//!
//! | method | file | loss |
//! |---|---|---|
//! | LAPO (± FSQ) | [`lapo`] | pixel MSE of the FDM's o_{t+1} |
//! | LAOM (± supervision) | [`laom`] | latent MSE to an EMA target, + coef · action MSE on labels |
//! | IDM | [`idm`] | action MSE from (o_t, o_{t+1}) |
//! | BC | [`bc`] | action MSE from o_t |
//! | latent BC | [`latent_bc`] | MSE to a frozen LAM's latent actions |
//! | action decoder | [`decoder`] | action MSE of an MLP on a frozen actor's latents |
//!
//! What the trainer does for every method alike: augmented views of the
//! batch when `train.augment` is on (o_t, o_{t+1} and o_{t+k}, one draw
//! each), bf16 autocast around [`Model::loss`], the loss in f32, Adam with
//! warm-up and decay, clipping, [`Model::after_update`] (LAOM's EMA), and
//! the online probes on the detached latent and embedding.

pub mod bc;
pub mod decoder;
pub mod idm;
pub mod laom;
pub mod lapo;
pub mod latent_bc;

use std::any::Any;

use tch::nn;
use tch::Tensor;

use crate::batch::{BatchMasks, DataShape, TrainBatch, OBS_CHANNELS};
use crate::config::{Method, RunConfig};
use crate::toolkit::encoder::EncoderConfig;
use crate::ModelError;

/// What a method's loss reads in one step.
#[derive(Debug)]
pub struct StepInputs<'a> {
    /// o_t as the loss sees it (augmented when the run augments).
    pub obs: &'a Tensor,
    /// o_{t+1}, likewise.
    pub next: &'a Tensor,
    /// o_{t+k}, likewise.
    pub future: &'a Tensor,
    /// True actions a_t of the batch (for the methods trained on them).
    pub actions: &'a Tensor,
    /// The labeled batch (LAOM + supervision); `None` in held-out evaluations.
    pub labeled: Option<&'a TrainBatch>,
    /// The agent masks of `obs`, `next` and `future` (un-augmented: the
    /// mask-guided objectives run without augmentation), when the batch
    /// has them.
    pub masks: Option<&'a BatchMasks>,
}

/// A supervised term added to a method's own loss: `coef * loss`.
#[derive(Debug)]
pub struct Supervision {
    /// The supervised action loss.
    pub loss: Tensor,
    /// Its weight in the total.
    pub coef: f64,
}

/// What a method's loss gives the trainer.
#[derive(Debug)]
pub struct Loss {
    /// The method's own loss (the metric `loss`).
    pub loss: Tensor,
    /// A supervised term (LAOM + supervision on its labeled batch).
    pub supervision: Option<Supervision>,
    /// The latent the action probe reads (latent methods, latent BC, decoder).
    pub latent: Option<Tensor>,
    /// The embedding of o_t the state probe reads.
    pub embedding: Tensor,
}

/// A method's networks and loss, as the trainer, probes and evaluation use them.
pub trait Model: std::fmt::Debug {
    /// The method's whole loss on one step's inputs.
    fn loss(&self, x: &StepInputs) -> Loss;

    /// Called after every optimiser step (LAOM moves its EMA target here).
    fn after_update(&mut self) {}

    /// Size of the latent actions (`None` for IDM and BC).
    fn latent_dim(&self) -> Option<i64> {
        None
    }

    /// Size of the observation embedding.
    fn embedding_dim(&self) -> i64;

    /// Latent actions from o_t and o_{t+k} (LAMs), or the actor's predicted
    /// latent action from o_t (latent BC, decoder); `None` for IDM and BC.
    fn latent(&self, _obs: &Tensor, _future: &Tensor) -> Option<Tensor> {
        None
    }

    /// The observation embedding the state probe reads.
    fn embed(&self, obs: &Tensor) -> Tensor;

    /// Predicted actions (IDM from (o_t, o_{t+1}); BC and actor + decoder
    /// from o_t); `None` for LAMs and latent BC.
    fn actions(&self, _obs: &Tensor, _next: &Tensor) -> Option<Tensor> {
        None
    }

    /// Whether the model acts from o_t alone (a policy: BC, actor + decoder).
    fn is_policy(&self) -> bool {
        false
    }

    /// Variable stores besides the trained one that a checkpoint must hold,
    /// with their name prefix (LAOM's EMA target).
    fn extra_stores(&self) -> Vec<(&'static str, &nn::VarStore)> {
        Vec::new()
    }

    /// The model as `Any`, so a method building on another (the decoder on
    /// latent BC) can take the part it needs.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// A finished run's frozen model that another method builds on.
#[derive(Debug)]
pub struct Teacher {
    /// The teacher run's method.
    pub method: Method,
    /// Its model, frozen.
    pub model: Box<dyn Model>,
    /// Whether it was trained on masked inputs (`train.mask_inputs`): its
    /// latents are then computed on masked frames.
    pub masked_inputs: bool,
}

/// The encoder settings of `c` for stacked observations of `shape`.
pub fn encoder_config(c: &RunConfig, shape: DataShape) -> EncoderConfig {
    EncoderConfig {
        in_channels: OBS_CHANNELS,
        image: shape.image,
        depth: c.model.depth,
        scale: c.model.encoder_scale,
        num_res: c.model.num_res,
    }
}

/// Builds the model of `c.method` in `vs` for data of `shape` (`teacher`:
/// the frozen run latent BC and the decoder build on).
pub fn build(
    vs: &nn::VarStore,
    c: &RunConfig,
    shape: DataShape,
    teacher: Option<Teacher>,
) -> Result<Box<dyn Model>, ModelError> {
    Ok(match c.method {
        Method::Lapo => Box::new(lapo::Lapo::from_run(vs, c, shape)?),
        Method::Laom => Box::new(laom::Laom::from_run(vs, c, shape)),
        Method::Idm => Box::new(idm::Idm::from_run(vs, c, shape)),
        Method::Bc => Box::new(bc::Bc::from_run(vs, c, shape)),
        Method::LatentBc => Box::new(latent_bc::LatentBc::from_run(
            vs,
            c,
            shape,
            teacher.ok_or_else(|| ModelError::Build("latent BC needs a teacher LAM".into()))?,
        )?),
        Method::Decoder => Box::new(decoder::Decoder::from_run(
            vs,
            c,
            shape,
            teacher.ok_or_else(|| {
                ModelError::Build("an action decoder needs a teacher latent BC run".into())
            })?,
        )?),
    })
}

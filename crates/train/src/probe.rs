//! Closed-form linear probes of a frozen trained model: fitted (ridge) on
//! one file and scored on another, held-out one. Latent action → true
//! action (LAMs: the paper's measure of latent action quality), the model's
//! own action output (IDM, BC), and observation embedding →
//! proprioceptive state. When the held-out file records the simulator's
//! ground truth, also the leakage probes ([`crate::leakage`]): what the
//! latent action and the embedding encode of the action, the state and
//! each distractor.

use std::path::{Path, PathBuf};

use crate::trainer::Trainer;
use lam_data::loader::{Loader, LoaderConfig};
use lam_models::batch::TrainBatch;
use lam_models::config::Method;
use lam_models::toolkit::probe::LinearFit;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::leakage::{cross_fit, Factor, Leakage, LeakageSpec, Truths};
use crate::run::RunDir;
use crate::TrainError;

/// What to probe, on what.
#[derive(Clone, Debug)]
pub struct ProbeSpec {
    /// A run folder from `lam train` (its checkpoint is used).
    pub run: PathBuf,
    /// File the probes are fitted on.
    pub data: PathBuf,
    /// Held-out file the probes are scored on (the fitting file when None).
    pub eval_data: Option<PathBuf>,
    /// Samples drawn from each file (at least 2).
    pub samples: usize,
    /// Ridge strength, relative to the mean feature variance (≥ 0).
    pub ridge: f64,
    /// Seed of the sample draw.
    pub seed: u64,
    /// Largest future offset K of the probed pairs; the run's own when None.
    pub max_offset: Option<usize>,
    /// Where the model runs.
    pub device: tch::Device,
    /// Leakage probes, measured when the held-out file records ground
    /// truth (None: never).
    pub leakage: Option<LeakageSpec>,
}

/// One probe's held-out score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Mean squared error on the held-out samples.
    pub mse: f64,
    /// MSE of predicting the held-out mean.
    pub variance: f64,
    /// 1 - mse / variance.
    pub r2: f64,
}

impl Score {
    fn new(mse: f64, y: &Tensor) -> Self {
        let variance = variance(y);
        Self {
            mse,
            variance,
            r2: 1.0 - mse / variance.max(1e-12),
        }
    }
}

/// What a probe found (what `lam probe --out` writes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeResult {
    /// The run folder.
    pub run: PathBuf,
    /// The run's method.
    pub method: Method,
    /// Training steps of the probed checkpoint.
    pub step: usize,
    /// Pairs (o_t, o_{t+k}) with k uniform in 1..=max_offset.
    pub max_offset: usize,
    /// Samples drawn from each file.
    pub samples: usize,
    /// Ridge strength.
    pub ridge: f64,
    /// The fitting file.
    pub fitted_on: PathBuf,
    /// The held-out file.
    pub scored_on: PathBuf,
    /// Latent action -> true action (LAMs).
    pub latent_action: Option<Score>,
    /// The model's own action output (IDM, BC).
    pub own_action: Option<Score>,
    /// Observation embedding -> proprioceptive state.
    pub embedding_state: Score,
    /// What the latent action and the embedding encode (held-out files
    /// with ground truth; absent from older results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leakage: Option<Leakage>,
}

/// Fits and scores the probes of `spec`; `on_batch(file, done, total)`
/// hears of every batch of features computed (for a progress bar).
pub fn probe(
    spec: &ProbeSpec,
    on_batch: &mut dyn FnMut(&Path, usize, usize),
) -> Result<ProbeResult, TrainError> {
    let invalid =
        |setting, value: String, expected| Err(TrainError::invalid(setting, value, expected));
    if spec.samples < 2 {
        return invalid("samples", spec.samples.to_string(), "at least 2");
    }
    if !(spec.ridge.is_finite() && spec.ridge >= 0.0) {
        return invalid(
            "ridge",
            spec.ridge.to_string(),
            "a finite strength of 0 or more",
        );
    }
    if spec.max_offset == Some(0) {
        return invalid("max offset", "0".into(), "at least 1");
    }
    let dir = RunDir::new(&spec.run);
    let (trainer, _) =
        Trainer::load(&dir.checkpoint(), spec.device).map_err(|source| TrainError::NoModel {
            path: spec.run.clone(),
            source,
        })?;
    let eval_file = spec.eval_data.clone().unwrap_or_else(|| spec.data.clone());
    let k = spec.max_offset.unwrap_or(trainer.config.train.max_offset);
    // A LAM's latents and embeddings are probed on any task's file of its
    // frame size (pre-trained on other tasks); a policy or an IDM needs its
    // own task's sizes.
    let any_task = trainer.config.method.is_latent();
    let fit = features(
        &trainer,
        any_task,
        &spec.data,
        spec.samples,
        spec.seed,
        k,
        on_batch,
    )?;
    let held = features(
        &trainer,
        any_task,
        &eval_file,
        spec.samples,
        spec.seed ^ 0xE7A1,
        k,
        on_batch,
    )?;
    let latent_action = match (&fit.latent, &held.latent) {
        (Some(x), Some(xe)) => {
            let probe = LinearFit::fit(x, &fit.actions, spec.ridge);
            Some(Score::new(probe.mse(xe, &held.actions), &held.actions))
        }
        _ => None,
    };
    let own_action = held.predicted.as_ref().map(|p| {
        let mse = (p.to_kind(Kind::Double) - held.actions.to_kind(Kind::Double))
            .square()
            .mean(Kind::Double)
            .double_value(&[]);
        Score::new(mse, &held.actions)
    });
    let state = LinearFit::fit(&fit.embedding, &fit.states, spec.ridge);
    let embedding_state = Score::new(state.mse(&held.embedding, &held.states), &held.states);
    let leakage = match &spec.leakage {
        Some(l) => leakage(l, &eval_file, &held, spec.ridge)?,
        None => None,
    };
    Ok(ProbeResult {
        run: spec.run.clone(),
        method: trainer.config.method,
        step: trainer.steps(),
        max_offset: k,
        samples: spec.samples,
        ridge: spec.ridge,
        fitted_on: spec.data.clone(),
        scored_on: eval_file,
        latent_action,
        own_action,
        embedding_state,
        leakage,
    })
}

/// The leakage probes on the held-out features, when `file` records the
/// simulator's ground truth.
fn leakage(
    spec: &LeakageSpec,
    file: &Path,
    held: &Features,
    ridge: f64,
) -> Result<Option<Leakage>, TrainError> {
    let Some(truths) = Truths::read(file)? else {
        return Ok(None);
    };
    let trajectories: Vec<u32> = held.positions.iter().map(|p| p.0).collect();
    let common = [
        (Factor::Action, held.actions.shallow_clone()),
        (Factor::State, held.states.shallow_clone()),
    ];
    let mlp = spec.mlp.as_ref();
    // The latent action: each factor at t and its change to t+k.
    let latent = match &held.latent {
        Some(z) => {
            let mut targets = common
                .iter()
                .map(|(f, t)| (*f, t.shallow_clone()))
                .collect::<Vec<_>>();
            targets.extend(truths.targets(&held.positions, &held.offsets, true)?);
            Some(cross_fit(z, &targets, &trajectories, ridge, mlp)?)
        }
        None => None,
    };
    // The embedding of o_t: each factor at t.
    let mut targets: Vec<(Factor, Tensor)> = common.into();
    targets.extend(truths.targets(&held.positions, &held.offsets, false)?);
    let embedding = cross_fit(&held.embedding, &targets, &trajectories, ridge, mlp)?;
    Ok(Some(Leakage {
        latent,
        embedding,
        samples: trajectories.len(),
        mlp: spec.mlp.clone(),
    }))
}

/// Features and targets of one file.
struct Features {
    latent: Option<Tensor>,
    embedding: Tensor,
    actions: Tensor,
    states: Tensor,
    /// For IDM / BC: the model's own action predictions.
    predicted: Option<Tensor>,
    /// (trajectory, t) of each sample.
    positions: Vec<(u32, u32)>,
    /// k of each sample.
    offsets: Vec<u32>,
}

/// (`any_task`: the model's latents and embeddings are probed, whatever
/// the file's action and state sizes.)
fn features(
    t: &Trainer,
    any_task: bool,
    file: &Path,
    samples: usize,
    seed: u64,
    max_offset: usize,
    on_batch: &mut dyn FnMut(&Path, usize, usize),
) -> Result<Features, TrainError> {
    let batch_size = 256.min(samples.max(1));
    let config = LoaderConfig {
        batch_size,
        max_offset,
        seed,
        ..LoaderConfig::default()
    };
    let mut loader = Loader::open(file, config)?;
    let does_not_fit = |what: String| TrainError::DoesNotFit {
        path: file.to_path_buf(),
        what,
    };
    let (s, a) = loader.sizes();
    // The probes are fitted here, onto this file's actions and states.
    if !any_task && (a as i64, s as i64) != (t.shape.action_dim, t.shape.state_dim) {
        return Err(does_not_fit(format!(
            "actions of {a} and states of {s} values, but the model was trained on {} and {}",
            t.shape.action_dim, t.shape.state_dim
        )));
    }
    let frame = loader.frame();
    if frame.0 as i64 != t.shape.image || frame.1 as i64 != t.shape.image {
        return Err(does_not_fit(format!(
            "frames are {}x{}, the model takes {}x{}",
            frame.0, frame.1, t.shape.image, t.shape.image
        )));
    }
    let device = t.vs.device();
    // A run trained on masked inputs is probed on masked inputs too (its
    // encoder has never seen the background): the file must record masks.
    let masks = if t.config.train.mask_inputs {
        Some(lam_data::masks::MaskStore::open(file)?)
    } else {
        None
    };
    let batches = samples.div_ceil(batch_size);
    let (mut lat, mut emb, mut act, mut st, mut pred) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut positions, mut offsets) = (Vec::new(), Vec::new());
    for done in 0..batches {
        let raw = loader.next_batch()?;
        positions.extend_from_slice(&raw.positions);
        offsets.extend_from_slice(&raw.offsets);
        let mut b = TrainBatch::from_loader(&raw, frame, device);
        if let Some(store) = &masks {
            let m =
                lam_models::batch::BatchMasks::from_stacked(&store.gather(&raw)?, frame, device);
            b = t
                .model_inputs(&b.with_masks(m))
                .ok_or_else(|| does_not_fit("no agent masks for masked inputs".into()))?;
        }
        tch::no_grad(|| {
            if let Some(l) = t.model.latent(&b.obs, &b.future) {
                lat.push(l.to_kind(Kind::Float).to_device(tch::Device::Cpu));
            }
            // (A model's own action predictions are scored only on files
            // of its own action size: another task's are not its outputs.)
            let own_size = a as i64 == t.shape.action_dim;
            if let Some(p) = t.model.actions(&b.obs, &b.next).filter(|_| own_size) {
                pred.push(p.to_device(tch::Device::Cpu));
            }
            emb.push(t.model.embed(&b.obs).to_device(tch::Device::Cpu));
        });
        act.push(b.actions.to_device(tch::Device::Cpu));
        st.push(b.states.to_device(tch::Device::Cpu));
        on_batch(file, done + 1, batches);
    }
    let cat =
        |v: Vec<Tensor>| (!v.is_empty()).then(|| Tensor::cat(&v, 0).narrow(0, 0, samples as i64));
    let none = || does_not_fit("no batches".to_string());
    positions.truncate(samples);
    offsets.truncate(samples);
    Ok(Features {
        positions,
        offsets,
        latent: cat(lat),
        embedding: cat(emb).ok_or_else(none)?,
        actions: cat(act).ok_or_else(none)?,
        states: cat(st).ok_or_else(none)?,
        predicted: cat(pred),
    })
}

/// Variance of `y` around its mean (the MSE of always predicting the mean).
fn variance(y: &Tensor) -> f64 {
    let y = y.to_kind(Kind::Double);
    (&y - y.mean_dim(0, true, Kind::Double))
        .square()
        .mean(Kind::Double)
        .double_value(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_is_relative_to_the_held_out_variance() {
        let y = Tensor::from_slice(&[1.0f32, 3.0, 1.0, 3.0]).view([4, 1]);
        let s = Score::new(0.25, &y);
        assert_eq!((s.variance, s.r2), (1.0, 0.75));
    }
}

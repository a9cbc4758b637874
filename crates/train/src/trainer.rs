//! One training step of any method with Adam (warm-up then linear decay),
//! optional gradient clipping, the method's after-update hook (LAOM's EMA
//! target) and the linear probes (latent → action, embedding → state) on
//! detached tensors; plus saving and restoring all of it. The trainer knows
//! no method by name: each method's networks and whole loss sit in its own
//! file under `lam_models::methods`, behind the `Model` trait.

use std::collections::BTreeMap;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::nn;
use tch::{Device, Kind, Tensor};

use lam_models::batch::{BatchMasks, DataShape, TrainBatch};
use lam_models::config::{ProbeInputs, RunConfig};
use lam_models::methods::{self, Loss, Model, StepInputs, Supervision, Teacher};
use lam_models::toolkit::augment::augment;
use lam_models::toolkit::checkpoint::{self, CheckpointError};
use lam_models::toolkit::optim::{learning_rate, Adam};
use lam_models::toolkit::probe::LinearProbe;
use lam_models::ModelError;

/// What one step measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepMetrics {
    /// The method's own loss (pixel MSE, latent MSE or action MSE).
    pub loss: f64,
    /// Supervised action loss of LAOM + supervision.
    pub action_loss: Option<f64>,
    /// Latent → action probe MSE on this batch, before its update.
    pub action_probe: Option<f64>,
    /// Embedding → state probe MSE on this batch, before its update.
    pub state_probe: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
}

impl StepMetrics {
    /// Whether every loss is a finite number.
    pub fn is_finite(&self) -> bool {
        self.loss.is_finite()
            && self.action_loss.is_none_or(f64::is_finite)
            && self.grad_norm.is_finite()
    }
}

/// Held-out measurements.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalMetrics {
    /// The method's loss on held-out batches.
    pub loss: f64,
    /// Latent → action probe MSE (latent methods); for IDM and BC, the
    /// model's own action MSE.
    pub action_mse: f64,
    /// Embedding → state probe MSE.
    pub state_probe: f64,
}

/// A model with its optimizer, probes and the state needed to resume.
#[derive(Debug)]
pub struct Trainer {
    /// The run's settings.
    pub config: RunConfig,
    /// The data sizes the model was built for.
    pub shape: DataShape,
    /// Trainable variables.
    pub vs: nn::VarStore,
    /// The model (its method's networks and loss).
    pub model: Box<dyn Model>,
    adam: Adam,
    /// Latent → action probe (latent methods only).
    pub action_probe: Option<LinearProbe>,
    /// Embedding → state probe.
    pub state_probe: LinearProbe,
    autocast: bool,
    step: usize,
    rng: ChaCha8Rng,
    teacher: Option<std::path::PathBuf>,
    teacher_masked: bool,
}

impl Trainer {
    /// A fresh, seeded trainer for data of `shape`.
    ///
    /// Latent BC and the action decoder build on a finished run, `teacher`
    /// (its checkpoint file), which is loaded and frozen.
    pub fn new(
        config: &RunConfig,
        shape: DataShape,
        device: Device,
        teacher: Option<&Path>,
    ) -> Result<Self, ModelError> {
        config.validate()?;
        let teacher_model = match (config.method.needs_teacher(), teacher) {
            (true, Some(path)) => Some(Self::load_teacher(path, shape, device)?),
            (true, None) => {
                return Err(ModelError::Build(format!(
                    "method {:?} trains on top of another run: pass its folder with --teacher",
                    config.method
                )))
            }
            (false, _) => None,
        };
        let teacher_masked = teacher_model.as_ref().is_some_and(|t| t.masked_inputs);
        if teacher_masked && config.train.augment {
            return Err(ModelError::Build(
                "the teacher was trained on masked inputs (train.mask_inputs): its latents are computed on masked frames, which needs train.augment = false here (the augmented frames no longer line up with their masks)".into(),
            ));
        }
        let (vs, model, action_probe, state_probe) =
            lam_models::toolkit::init::seeded(config.seed, || {
                let vs = nn::VarStore::new(device);
                let model = methods::build(&vs, config, shape, teacher_model)?;
                let probe_lr = config.train.probe_lr;
                let action_probe = model
                    .latent_dim()
                    .map(|d| LinearProbe::new(d, shape.action_dim, probe_lr, device));
                let state_probe =
                    LinearProbe::new(model.embedding_dim(), shape.state_dim, probe_lr, device);
                Ok::<_, ModelError>((vs, model, action_probe, state_probe))
            })?;
        let adam = Adam::new(&vs);
        Ok(Self {
            action_probe,
            state_probe,
            autocast: config.train.precision.uses_bf16(device),
            vs,
            model,
            adam,
            config: config.clone(),
            shape,
            step: 0,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            teacher: teacher
                .filter(|_| config.method.needs_teacher())
                .map(Path::to_path_buf),
            teacher_masked,
        })
    }

    /// A finished run's model, frozen, to teach or feed another.
    fn load_teacher(path: &Path, shape: DataShape, device: Device) -> Result<Teacher, ModelError> {
        let (t, _) =
            Self::load(path, device).map_err(|e| ModelError::Build(format!("teacher: {e}")))?;
        // A latent action model teaches any task's data of its frame size
        // (pre-trained on other tasks, or several at once with padded
        // sizes): only its latents are read.
        let fits = if t.config.method.is_latent() {
            t.shape.image == shape.image
        } else {
            t.shape == shape
        };
        if !fits {
            return Err(ModelError::Build(format!(
                "teacher {}: trained on data of {:?}, this data is {shape:?}",
                path.display(),
                t.shape
            )));
        }
        let Trainer {
            mut vs,
            model,
            config,
            ..
        } = t;
        vs.freeze();
        Ok(Teacher {
            method: config.method,
            model,
            masked_inputs: config.train.mask_inputs,
        })
    }

    /// Whether a step reads the agent masks of its batches: a mask-guided
    /// objective is on, or the teacher was trained on masked inputs.
    pub fn needs_masks(&self) -> bool {
        self.config.needs_masks() || self.teacher_masked
    }

    /// The frames the model reads from `batch`: masked by their agent
    /// masks under `train.mask_inputs`, else as they are. `None` when the
    /// batch would need masks it lacks.
    pub fn model_inputs(&self, batch: &TrainBatch) -> Option<TrainBatch> {
        if self.config.train.mask_inputs {
            batch.masked_inputs()
        } else {
            Some(TrainBatch {
                obs: batch.obs.shallow_clone(),
                next: batch.next.shallow_clone(),
                future: batch.future.shallow_clone(),
                actions: batch.actions.shallow_clone(),
                states: batch.states.shallow_clone(),
                masks: batch.masks.as_ref().map(|m| BatchMasks {
                    obs: m.obs.shallow_clone(),
                    next: m.next.shallow_clone(),
                    future: m.future.shallow_clone(),
                }),
            })
        }
    }

    /// The checkpoint this run builds on (latent BC, decoder).
    pub fn teacher(&self) -> Option<&Path> {
        self.teacher.as_deref()
    }

    /// Steps taken.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// Whether the passes run under bf16 autocast.
    pub fn uses_autocast(&self) -> bool {
        self.autocast
    }

    /// Trainable parameters of the model.
    pub fn parameter_count(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(Tensor::numel)
            .sum::<usize>() as i64
    }

    /// One update on `batch` (and `labeled`, for supervision).
    ///
    /// With a mask-guided objective on ([`Trainer::needs_masks`]) the
    /// batches must carry their agent masks (as [`crate::run::train`]
    /// guarantees, refusing files without them): a batch without them is a
    /// caller's bug and panics.
    pub fn step(&mut self, batch: &TrainBatch, labeled: Option<&TrainBatch>) -> StepMetrics {
        const NO_MASKS: &str = "a mask-guided run's batches carry their agent masks";
        assert!(!self.needs_masks() || batch.masks.is_some(), "{NO_MASKS}");
        let batch = &self.model_inputs(batch).expect(NO_MASKS);
        let labeled = labeled.map(|l| self.model_inputs(l).expect(NO_MASKS));
        let labeled = labeled.as_ref();
        let t = &self.config.train;
        let lr = learning_rate(self.step, t.warmup_steps, t.steps, t.lr);
        let aug = t.augment.then_some(t.augmentation);
        let mut view = |x: &Tensor| match &aug {
            Some(a) => augment(x, a, &mut self.rng),
            None => x.shallow_clone(),
        };
        let (obs, next, future) = (view(&batch.obs), view(&batch.next), view(&batch.future));
        let inputs = StepInputs {
            obs: &obs,
            next: &next,
            future: &future,
            actions: &batch.actions,
            labeled,
            masks: batch.masks.as_ref().filter(|_| aug.is_none()),
        };
        let model = &self.model;
        let device = self.vs.device();
        // The method's whole loss under autocast (when bf16), its terms in f32.
        let Loss {
            loss,
            supervision,
            latent,
            embedding,
        } = lam_models::toolkit::autocast::autocast(self.autocast, device, || {
            let l = model.loss(&inputs);
            Loss {
                loss: l.loss.to_kind(Kind::Float),
                supervision: l.supervision.map(|s| Supervision {
                    loss: s.loss.to_kind(Kind::Float),
                    coef: s.coef,
                }),
                ..l
            }
        });
        let total = match &supervision {
            Some(s) => &loss + &s.loss * s.coef,
            None => loss.shallow_clone(),
        };
        self.adam.backward(&total);
        let grad_norm = self
            .adam
            .clip_grad_norm((t.grad_clip > 0.0).then_some(t.grad_clip));
        self.adam.step(lr);
        self.model.after_update();
        // The probes read the step's own tensors, detached (augmented when
        // the run augments), or a clean pass over the un-augmented batch.
        let clean = aug.is_some() && t.probe_inputs == ProbeInputs::Clean;
        let (latent, embedding) = tch::no_grad(|| {
            if clean {
                (
                    self.model.latent(&batch.obs, &batch.future),
                    self.model.embed(&batch.obs),
                )
            } else {
                (latent.map(|l| l.detach()), embedding.detach())
            }
        });
        let action_probe = match (&mut self.action_probe, latent) {
            (Some(p), Some(l)) => Some(p.step(&l.to_kind(Kind::Float), &batch.actions)),
            _ => None,
        };
        let state_probe = self
            .state_probe
            .step(&embedding.to_kind(Kind::Float), &batch.states);
        self.step += 1;
        StepMetrics {
            loss: loss.double_value(&[]),
            action_loss: supervision.map(|s| s.loss.double_value(&[])),
            action_probe,
            state_probe,
            lr,
            grad_norm,
        }
    }

    /// Losses and probe errors on held-out batches (no learning).
    pub fn evaluate(&self, batches: &[TrainBatch]) -> EvalMetrics {
        let n = batches.len().max(1) as f64;
        let mut sum = EvalMetrics {
            loss: 0.0,
            action_mse: 0.0,
            state_probe: 0.0,
        };
        tch::no_grad(|| {
            for b in batches {
                // (Held-out batches without the masks a run needs are
                // refused before training: see `run::train`.)
                let Some(b) = self.model_inputs(b) else {
                    continue;
                };
                let b = &b;
                let f = self.model.loss(&StepInputs {
                    obs: &b.obs,
                    next: &b.next,
                    future: &b.future,
                    actions: &b.actions,
                    labeled: None,
                    masks: b.masks.as_ref(),
                });
                sum.loss += f.loss.double_value(&[]);
                sum.action_mse += match (&self.action_probe, f.latent) {
                    (Some(p), Some(l)) => p.mse(&l, &b.actions),
                    _ => f.loss.double_value(&[]),
                };
                sum.state_probe += self.state_probe.mse(&f.embedding, &b.states);
            }
        });
        EvalMetrics {
            loss: sum.loss / n,
            action_mse: sum.action_mse / n,
            state_probe: sum.state_probe / n,
        }
    }

    /// Writes everything needed to resume to `path` (atomically).
    pub fn save(
        &self,
        path: &Path,
        extra: &BTreeMap<String, String>,
    ) -> Result<(), CheckpointError> {
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        fn prefixed(
            p: &'static str,
            v: Vec<(String, Tensor)>,
        ) -> impl Iterator<Item = (String, Tensor)> {
            v.into_iter().map(move |(n, t)| (format!("{p}{n}"), t))
        }
        tensors.extend(prefixed(
            "model.",
            self.vs.variables().into_iter().collect(),
        ));
        for (prefix, store) in self.model.extra_stores() {
            tensors.extend(prefixed(prefix, store.variables().into_iter().collect()));
        }
        tensors.extend(prefixed("adam.", self.adam.state()));
        if let Some(p) = &self.action_probe {
            tensors.extend(prefixed("action_probe.", p.state()));
        }
        tensors.extend(prefixed("state_probe.", self.state_probe.state()));
        let mut meta = extra.clone();
        meta.insert("config".into(), self.config.to_toml());
        meta.insert("step".into(), self.step.to_string());
        meta.insert("rng_word_pos".into(), self.rng.get_word_pos().to_string());
        meta.insert("image".into(), self.shape.image.to_string());
        meta.insert("action_dim".into(), self.shape.action_dim.to_string());
        meta.insert("state_dim".into(), self.shape.state_dim.to_string());
        if let Some(t) = &self.teacher {
            meta.insert("teacher".into(), t.display().to_string());
        }
        checkpoint::save(path, &tensors, &meta)
    }

    /// Rebuilds a trainer from a checkpoint written by [`Trainer::save`].
    pub fn load(
        path: &Path,
        device: Device,
    ) -> Result<(Self, BTreeMap<String, String>), CheckpointError> {
        let l = checkpoint::load(path)?;
        let invalid = |message: String| CheckpointError::Invalid {
            file: path.display().to_string(),
            message,
        };
        let number = |key: &str| -> Result<i64, CheckpointError> {
            l.meta(path, key)?
                .parse()
                .map_err(|_| invalid(format!("metadata {key:?} is not a number")))
        };
        let config = RunConfig::from_toml(l.meta(path, "config")?, "the checkpoint's config")
            .map_err(|e| invalid(e.to_string()))?;
        let shape = DataShape {
            image: number("image")?,
            action_dim: number("action_dim")?,
            state_dim: number("state_dim")?,
        };
        let teacher = l.metadata.get("teacher").map(std::path::PathBuf::from);
        let mut t = Self::new(&config, shape, device, teacher.as_deref())
            .map_err(|e| invalid(e.to_string()))?;
        let s = &l.tensors;
        checkpoint::restore(&t.vs.variables(), "model.", s).map_err(invalid)?;
        for (prefix, store) in t.model.extra_stores() {
            checkpoint::restore(&store.variables(), prefix, s).map_err(invalid)?;
        }
        t.adam
            .load_state(&checkpoint::under(s, "adam."))
            .map_err(invalid)?;
        if let Some(p) = &mut t.action_probe {
            p.load_state(s, "action_probe.").map_err(invalid)?;
        }
        t.state_probe
            .load_state(s, "state_probe.")
            .map_err(invalid)?;
        t.step = number("step")? as usize;
        let pos: u128 = l
            .meta(path, "rng_word_pos")?
            .parse()
            .map_err(|_| invalid("metadata \"rng_word_pos\" is not a number".into()))?;
        t.rng.set_word_pos(pos);
        Ok((t, l.metadata))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    const SIDE: i64 = 16;

    /// A blob at `p` (pixels) as one RGB frame `[3, S, S]` in [-1, 1].
    fn blob(p: [f64; 2]) -> Vec<f32> {
        let mut f = vec![0f32; (3 * SIDE * SIDE) as usize];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let d2 = (x as f64 - p[0]).powi(2) + (y as f64 - p[1]).powi(2);
                let v = (2.0 * (-d2 / 4.0).exp() - 1.0) as f32;
                for c in 0..3 {
                    f[(c * SIDE * SIDE + y * SIDE + x) as usize] = v;
                }
            }
        }
        f
    }

    /// Frames whose pixels are a known function of the action: a blob moves by 2a.
    fn batch(n: usize, rng: &mut ChaCha8Rng) -> TrainBatch {
        let (mut obs, mut next, mut actions) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let a = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            let p = [rng.random_range(5.0..11.0), rng.random_range(5.0..11.0)];
            let now = blob(p);
            let then = blob([p[0] + 2.0 * a[0], p[1] + 2.0 * a[1]]);
            obs.extend(now.iter().cycle().take(now.len() * 3));
            next.extend(now.iter().chain(&now).chain(&then));
            actions.extend([a[0] as f32, a[1] as f32]);
        }
        let frames = |v: Vec<f32>| Tensor::from_slice(&v).view([n as i64, 9, SIDE, SIDE]);
        let next = frames(next);
        TrainBatch {
            obs: frames(obs),
            future: next.shallow_clone(),
            next,
            actions: Tensor::from_slice(&actions).view([n as i64, 2]),
            states: Tensor::from_slice(&actions).view([n as i64, 2]),
            masks: None,
        }
    }

    const SHAPE: DataShape = DataShape {
        image: SIDE,
        action_dim: 2,
        state_dim: 2,
    };

    fn config(preset: &str, sets: &[&str]) -> RunConfig {
        // Defaults first, so a test's own settings win. f32, as these tests
        // were written for (the presets now pick bf16 on CPUs that have it).
        let mut all: Vec<String> = [
            "train.grad_clip=10",
            "model.latent_dim=16",
            "train.precision=f32",
        ]
        .map(String::from)
        .to_vec();
        all.extend(sets.iter().map(|s| s.to_string()));
        RunConfig::preset(preset)
            .unwrap()
            .with_overrides(&all)
            .unwrap()
    }

    /// Test MSE of the best linear map (least squares, with bias) from
    /// latents to actions, fit on a training set.
    fn linear_fit_mse(t: &Trainer) -> f64 {
        let train = batch(1024, &mut ChaCha8Rng::seed_from_u64(98));
        let test = batch(256, &mut ChaCha8Rng::seed_from_u64(99));
        let features = |b: &TrainBatch| {
            let z = tch::no_grad(|| t.model.latent(&b.obs, &b.future).unwrap());
            Tensor::cat(
                &[z, Tensor::ones([b.len(), 1], (Kind::Float, Device::Cpu))],
                1,
            )
        };
        let (x, y) = (features(&train), &train.actions);
        let w = x.pinverse(1e-6).matmul(y);
        let err = features(&test).matmul(&w) - &test.actions;
        err.pow_tensor_scalar(2).mean(Kind::Float).double_value(&[])
    }

    #[test]
    fn laom_with_supervision_learns_latents_that_predict_actions() {
        // Frame pairs whose pixels are a function of the action; a labeled
        // batch each step. After training, a linear map from latents
        // recovers actions far better than from the model at initialisation,
        // the latent loss has fallen, and the online probe has improved.
        let c = config(
            "laom-labels-mini",
            &[
                "train.steps=300",
                "train.warmup_steps=10",
                "train.lr=1e-3",
                "train.augment=false",
                "train.supervision_coef=1",
                "train.probe_lr=3e-3",
                "model.head_width=64",
            ],
        );
        let mut t = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
        let at_init = linear_fit_mse(&t);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut probe, mut loss) = (Vec::new(), Vec::new());
        for _ in 0..300 {
            let b = batch(32, &mut rng);
            let m = t.step(&b, Some(&b));
            probe.push(m.action_probe.unwrap());
            loss.push(m.loss);
            assert!(m.action_loss.is_some());
        }
        let trained = linear_fit_mse(&t);
        assert!(
            trained < 0.3 * at_init,
            "linear fit MSE trained {trained:.4} vs at init {at_init:.4}"
        );
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(
            mean(&probe[250..]) < 0.5 * mean(&probe[..50]),
            "online probe did not improve"
        );
        assert!(
            mean(&loss[250..]) < mean(&loss[..50]),
            "latent loss did not fall"
        );
    }

    #[test]
    fn plain_laom_learns_latents_that_predict_actions() {
        // No labels at all: the latent FDM alone makes the latents linearly
        // decodable into the actions that moved the blob. (On this tiny
        // problem a faster EMA target than the paper's 0.001 is needed; with
        // 0.001 the embeddings collapse towards constants.)
        let c = config(
            "laom-mini",
            &[
                "train.steps=600",
                "train.warmup_steps=10",
                "train.lr=1e-3",
                "train.augment=false",
                "model.head_width=64",
                "model.tau=0.05",
            ],
        );
        let mut t = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
        let at_init = linear_fit_mse(&t);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..600 {
            let m = t.step(&batch(32, &mut rng), None);
            assert!(m.action_loss.is_none());
        }
        let trained = linear_fit_mse(&t);
        assert!(
            trained < 0.5 * at_init,
            "linear fit MSE trained {trained:.4} vs at init {at_init:.4}"
        );
    }

    #[test]
    fn a_frozen_model_keeps_its_weights() {
        let c = config("laom-mini", &["train.lr=1e-12", "train.augment=false"]);
        let mut t = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
        let name = "encoder.stage0.conv.weight";
        let before = t.vs.variables()[name].copy();
        t.step(&batch(8, &mut ChaCha8Rng::seed_from_u64(1)), None);
        let after = t.vs.variables()[name].copy();
        let moved = (after - before).abs().max().double_value(&[]);
        assert!(moved < 1e-9, "moved by {moved}");
        assert_eq!(t.steps(), 1);
    }

    #[test]
    fn probes_do_not_backpropagate_into_the_model() {
        // Probe updates on latents still attached to the model's graph leave
        // the model's weights and its own gradients exactly as they were.
        let c = config("laom-mini", &["train.augment=false"]);
        let mut t = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
        let b = batch(4, &mut ChaCha8Rng::seed_from_u64(2));
        let before: Vec<(String, Tensor)> =
            t.vs.variables()
                .into_iter()
                .map(|(n, v)| (n, v.copy()))
                .collect();
        let latent = t.model.latent(&b.obs, &b.future).unwrap();
        assert!(latent.requires_grad());
        for _ in 0..3 {
            t.action_probe.as_mut().unwrap().step(&latent, &b.actions);
            t.state_probe.step(&t.model.embed(&b.obs), &b.states);
        }
        for (name, v) in &before {
            let now = &t.vs.variables()[name];
            assert!(now.equal(v), "{name} changed");
            assert!(!now.grad().defined(), "{name} got a gradient from a probe");
        }
        // The graph is still whole: the model can backpropagate through it.
        latent.sum(Kind::Float).backward();
        assert!(t.vs.variables()["encoder.stage0.conv.weight"]
            .grad()
            .defined());
    }

    #[test]
    fn every_method_trains_one_step_with_shaped_outputs() {
        for preset in [
            "lapo-fsq-mini",
            "lapo-mini",
            "lapo-latent-dim-mini",
            "laom-mini",
            "laom-labels-mini",
            "idm-mini",
            "bc-mini",
        ] {
            let c = config(preset, &["model.head_width=32"]);
            let mut t = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
            let b = batch(4, &mut ChaCha8Rng::seed_from_u64(3));
            let m = t.step(&b, Some(&b));
            assert!(m.is_finite(), "{preset}: {m:?}");
            let emb = t.model.embed(&b.obs);
            assert_eq!(emb.size(), vec![4, t.model.embedding_dim()], "{preset}");
            match t.model.latent_dim() {
                Some(d) => {
                    assert_eq!(
                        t.model.latent(&b.obs, &b.future).unwrap().size(),
                        vec![4, d],
                        "{preset}"
                    );
                    assert!(m.action_probe.is_some());
                }
                None => assert_eq!(
                    t.model.actions(&b.obs, &b.next).unwrap().size(),
                    vec![4, 2],
                    "{preset}"
                ),
            }
            assert_eq!(
                m.action_loss.is_some(),
                preset.starts_with("laom-labels"),
                "{preset}"
            );
            let e = t.evaluate(&[b]);
            assert!(e.loss.is_finite() && e.action_mse.is_finite(), "{preset}");
        }
    }

    #[test]
    fn a_bf16_step_matches_the_f32_step_closely() {
        let b = batch(8, &mut ChaCha8Rng::seed_from_u64(7));
        // Other tests draw from libtorch's global generator concurrently, so
        // both trainers take the weights of one (BC: no EMA target to sync).
        let reference = Trainer::new(&config("bc-mini", &[]), SHAPE, Device::Cpu, None).unwrap();
        let run = |precision: &str| {
            let c = config("bc-mini", &[&format!("train.precision={precision}")]);
            let mut t = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
            t.vs.copy(&reference.vs).unwrap();
            assert_eq!(t.uses_autocast(), precision == "bf16");
            t.step(&b, None).loss
        };
        let (full, half) = (run("f32"), run("bf16"));
        assert!(
            half.is_finite() && (full - half).abs() < 0.05 * full.abs() + 1e-3,
            "f32 {full} vs bf16 {half}"
        );
        assert_ne!(full, half, "bf16 changed nothing: autocast is not on");
    }

    #[test]
    fn a_checkpoint_restores_identical_outputs_and_training() {
        let dir = std::env::temp_dir().join(format!("lam-trainer-{}", std::process::id()));
        let path = dir.join("c.safetensors");
        for preset in ["laom-labels-mini", "lapo-mini", "bc-mini"] {
            let c = config(preset, &["model.head_width=32"]);
            let mut a = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            for _ in 0..3 {
                let b = batch(4, &mut rng);
                a.step(&b, Some(&b));
            }
            a.save(&path, &BTreeMap::new()).unwrap();
            let (mut b, _) = Trainer::load(&path, Device::Cpu).unwrap();
            assert_eq!(b.steps(), 3);
            let probe = batch(5, &mut ChaCha8Rng::seed_from_u64(6));
            assert!(
                a.model.embed(&probe.obs).equal(&b.model.embed(&probe.obs)),
                "{preset}"
            );
            // The next step (augmentation draws, Adam moments, EMA, probes) matches too.
            let next = batch(4, &mut rng);
            let (ma, mb) = (a.step(&next, Some(&next)), b.step(&next, Some(&next)));
            assert_eq!(ma, mb, "{preset}");
            assert!(
                a.model.embed(&probe.obs).equal(&b.model.embed(&probe.obs)),
                "{preset}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Per-frame agent masks of a batch of `n` (`[n, 9, S, S]`, one random
    /// mask per stacked frame, repeated over its 3 channels).
    fn masks(n: i64, seed: i64) -> BatchMasks {
        tch::manual_seed(seed);
        let one = || {
            Tensor::rand([n, 3, SIDE, SIDE], (Kind::Float, Device::Cpu))
                .gt(0.6)
                .to_kind(Kind::Float)
                .repeat_interleave_self_int(3, Some(1), None::<i64>)
        };
        BatchMasks {
            obs: one(),
            next: one(),
            future: one(),
        }
    }

    /// `b` with its masks and every frame's background pixels replaced.
    fn other_background(b: &TrainBatch) -> TrainBatch {
        let m = b.masks.as_ref().unwrap();
        let noise = |x: &Tensor| Tensor::rand_like(x) * 2.0 - 1.0;
        let swap = |x: &Tensor, m: &Tensor| x.where_self(&m.to_kind(Kind::Bool), &noise(x));
        TrainBatch {
            obs: swap(&b.obs, &m.obs),
            next: swap(&b.next, &m.next),
            future: swap(&b.future, &m.future),
            actions: b.actions.shallow_clone(),
            states: b.states.shallow_clone(),
            masks: Some(BatchMasks {
                obs: m.obs.shallow_clone(),
                next: m.next.shallow_clone(),
                future: m.future.shallow_clone(),
            }),
        }
    }

    #[test]
    fn laom_on_masked_inputs_is_blind_to_the_background() {
        let b = batch(4, &mut ChaCha8Rng::seed_from_u64(8)).with_masks(masks(4, 1));
        let other = other_background(&b);
        let latents = |t: &Trainer, b: &TrainBatch| {
            let x = t.model_inputs(b).unwrap();
            tch::no_grad(|| {
                (
                    t.model.latent(&x.obs, &x.future).unwrap(),
                    t.model.embed(&x.obs),
                )
            })
        };
        let c = config("laom-mask-mini", &["model.head_width=32"]);
        let masked = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
        assert!(masked.needs_masks());
        let ((z1, e1), (z2, e2)) = (latents(&masked, &b), latents(&masked, &other));
        assert!(
            z1.equal(&z2) && e1.equal(&e2),
            "the background reached the latents"
        );
        // Without the switch the same change shows.
        let plain = Trainer::new(
            &config("laom-mini", &["model.head_width=32"]),
            SHAPE,
            Device::Cpu,
            None,
        )
        .unwrap();
        assert!(!plain.needs_masks());
        let ((z1, _), (z2, _)) = (latents(&plain, &b), latents(&plain, &other));
        assert!(!z1.equal(&z2));
        // A batch without masks has no masked inputs.
        let bare = batch(2, &mut ChaCha8Rng::seed_from_u64(9));
        assert!(masked.model_inputs(&bare).is_none());
    }

    #[test]
    fn the_mask_presets_train_a_step_and_evaluate() {
        for preset in ["lapo-mask-mini", "laom-mask-mini"] {
            let c = config(preset, &["model.head_width=32"]);
            let mut t = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
            let b = batch(4, &mut ChaCha8Rng::seed_from_u64(3)).with_masks(masks(4, 2));
            let m = t.step(&b, None);
            assert!(m.is_finite(), "{preset}: {m:?}");
            let e = t.evaluate(&[b]);
            assert!(e.loss.is_finite(), "{preset}");
        }
        // LAPO at weight 0: the held-out loss ignores the target's background.
        let c = config("lapo-mask-mini", &["train.mask_background_weight=0"]);
        let t = Trainer::new(&c, SHAPE, Device::Cpu, None).unwrap();
        let b = batch(4, &mut ChaCha8Rng::seed_from_u64(4)).with_masks(masks(4, 3));
        let mut other = other_background(&b);
        other.obs = b.obs.shallow_clone();
        other.future = b.future.shallow_clone();
        assert_eq!(t.evaluate(&[b]).loss, t.evaluate(&[other]).loss);
    }
}

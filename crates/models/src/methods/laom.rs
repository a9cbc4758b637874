//! LAOM (METHOD.md §4): one shared encoder embeds every frame; an IDM head
//! infers the latent action from (e_t, e_{t+k}); an FDM head predicts the
//! embedding of o_{t+1} from a stop-gradient e_t and the latent; the target
//! comes from an EMA copy of the encoder and the loss is the latent MSE.
//! LAOM + supervision adds `coef * MSE(Linear(z), a)` on a labeled batch.

use tch::nn::{self, Module};
use tch::{Reduction, Tensor};

use super::{encoder_config, Loss, Model, StepInputs, Supervision};
use crate::batch::DataShape;
use crate::config::RunConfig;
use crate::toolkit::blocks::{orthogonal_linear, ConditionedHead};
use crate::toolkit::ema::EmaTarget;
use crate::toolkit::encoder::{Encoder, EncoderConfig};

/// Settings of a LAOM model.
#[derive(Clone, Debug, PartialEq)]
pub struct LaomConfig {
    /// The shared encoder (online and EMA target).
    pub encoder: EncoderConfig,
    /// Latent action size.
    pub latent_dim: i64,
    /// Width of the IDM and FDM heads.
    pub head_width: i64,
    /// MLP blocks per head.
    pub head_blocks: usize,
    /// EMA rate of the target encoder.
    pub tau: f64,
    /// Action size for the supervised head (`None`: no supervision).
    pub action_dim: Option<i64>,
    /// Weight of the supervised action loss in the total (LAOM + supervision).
    pub supervision_coef: f64,
}

/// The LAOM model. Its EMA target encoder lives in a separate var store
/// (`target`), which never receives gradients.
#[derive(Debug)]
pub struct Laom {
    encoder: Encoder,
    idm: ConditionedHead,
    fdm: ConditionedHead,
    action_head: Option<nn::Linear>,
    target_vs: nn::VarStore,
    target: Encoder,
    ema: EmaTarget,
    config: LaomConfig,
}

/// What one LAOM step computes.
#[derive(Debug)]
pub struct LaomOutput {
    /// Latent actions `[B, latent]`.
    pub latent: Tensor,
    /// Embedding of o_t, `[B, emb]` (for the state probe).
    pub embedding: Tensor,
    /// Latent MSE between the FDM prediction and the EMA target of o_{t+1}.
    pub loss: Tensor,
}

impl Laom {
    /// Builds the model in `store` (trainable) with its EMA target encoder.
    pub fn new(store: &nn::VarStore, c: &LaomConfig) -> Self {
        let vs = &store.root();
        let enc = c.encoder;
        let encoder = Encoder::new(&(vs / "encoder"), enc);
        let emb = encoder.out_dim();
        let idm = ConditionedHead::new(
            &(vs / "idm"),
            2 * emb,
            2 * emb,
            c.head_width,
            c.head_blocks,
            c.latent_dim,
        );
        let fdm = ConditionedHead::new(
            &(vs / "fdm"),
            emb,
            c.latent_dim,
            c.head_width,
            c.head_blocks,
            emb,
        );
        let action_head = c
            .action_dim
            .map(|a| orthogonal_linear(&(vs / "action_head"), c.latent_dim, a));
        let mut target_vs = nn::VarStore::new(store.device());
        let target = Encoder::new(&(target_vs.root() / "encoder"), enc);
        target_vs.freeze();
        let ema = EmaTarget::new(store, &target_vs, |name| name.starts_with("encoder."));
        Self {
            encoder,
            idm,
            fdm,
            action_head,
            target_vs,
            target,
            ema,
            config: c.clone(),
        }
    }

    /// Latent action size.
    pub fn latent_dim(&self) -> i64 {
        self.config.latent_dim
    }

    /// Size of a flat embedding.
    pub fn embedding_dim(&self) -> i64 {
        self.encoder.out_dim()
    }

    /// Flat embeddings of observations `[B, C, H, W]`.
    pub fn embed(&self, obs: &Tensor) -> Tensor {
        self.encoder.forward(obs).flatten(1, -1)
    }

    /// Latent actions from o_t and o_{t+k}.
    pub fn infer_latent(&self, obs: &Tensor, future: &Tensor) -> Tensor {
        self.embed_and_infer(obs, future).1
    }

    /// e_t and the latent action, embedding o_t and o_{t+k} in one pass.
    fn embed_and_infer(&self, obs: &Tensor, future: &Tensor) -> (Tensor, Tensor) {
        let n = obs.size()[0];
        let e = self.embed(&Tensor::cat(&[obs, future], 0));
        let (e_t, e_k) = (e.narrow(0, 0, n), e.narrow(0, n, n));
        let pair = Tensor::cat(&[&e_t, &e_k], 1);
        let latent = self.idm.forward(&pair, &pair);
        (e_t, latent)
    }

    /// One training step's forward pass and latent loss.
    pub fn forward(&self, obs: &Tensor, next: &Tensor, future: &Tensor) -> LaomOutput {
        let (e_t, latent) = self.embed_and_infer(obs, future);
        // The FDM sees e_t without gradient; the target comes from the EMA encoder.
        let predicted = self.fdm.forward(&e_t.detach(), &latent);
        let target = tch::no_grad(|| self.target.forward(next).flatten(1, -1));
        let loss = predicted.mse_loss(&target, Reduction::Mean);
        LaomOutput {
            latent,
            embedding: e_t,
            loss,
        }
    }

    /// The supervised action loss on a labeled batch (`None` without a head).
    /// NaN targets are left out of the mean: a batch of several tasks has
    /// each task's actions in columns of its own and NaN elsewhere, which
    /// makes the head one linear head per task.
    pub fn action_loss(&self, obs: &Tensor, future: &Tensor, actions: &Tensor) -> Option<Tensor> {
        let head = self.action_head.as_ref()?;
        let z = self.infer_latent(obs, future);
        let predicted = head.forward(&z);
        let known = actions.isnan().logical_not();
        if bool::try_from(known.all()).unwrap_or(true) {
            return Some(predicted.mse_loss(actions, Reduction::Mean));
        }
        let known = known.to_kind(predicted.kind());
        let error = (predicted - actions.nan_to_num(0.0, None, None)) * &known;
        let kind = error.kind();
        Some(error.square().sum(kind) / known.sum(kind).clamp_min(1.0))
    }

    /// EMA update of the target encoder from the online one:
    /// θ' ← (1 − τ) θ' + τ θ.
    pub fn update_target(&mut self) {
        self.ema.update(self.config.tau);
    }

    /// The target encoder's variables (checkpoints reach them through [`Model::extra_stores`]).
    pub fn target_store(&self) -> &nn::VarStore {
        &self.target_vs
    }
}

impl Laom {
    /// The LAOM of a run's settings: with a supervised head when
    /// `train.supervision_coef > 0` (LAOM + supervision).
    pub fn from_run(vs: &nn::VarStore, c: &RunConfig, shape: DataShape) -> Self {
        let (m, coef) = (&c.model, c.train.supervision_coef);
        Self::new(
            vs,
            &LaomConfig {
                encoder: encoder_config(c, shape),
                latent_dim: m.latent_dim,
                head_width: m.head_width,
                head_blocks: m.head_blocks,
                tau: m.tau,
                action_dim: (coef > 0.0).then_some(shape.action_dim),
                supervision_coef: coef,
            },
        )
    }
}

impl Model for Laom {
    /// The latent MSE on the step's (augmented) o_t, o_{t+1} and o_{t+k},
    /// plus, for LAOM + supervision, `coef * MSE(Linear(z), a)` on the
    /// labeled batch (un-augmented, its own o_t and o_{t+k}).
    fn loss(&self, x: &StepInputs) -> Loss {
        let out = self.forward(x.obs, x.next, x.future);
        let coef = self.config.supervision_coef;
        let supervision = match x.labeled {
            Some(l) if coef > 0.0 => self
                .action_loss(&l.obs, &l.future, &l.actions)
                .map(|loss| Supervision { loss, coef }),
            _ => None,
        };
        Loss {
            loss: out.loss,
            supervision,
            latent: Some(out.latent),
            embedding: out.embedding,
        }
    }

    /// The EMA target follows the online encoder after every update.
    fn after_update(&mut self) {
        self.update_target();
    }

    fn latent_dim(&self) -> Option<i64> {
        Some(self.config.latent_dim)
    }

    fn embedding_dim(&self) -> i64 {
        Laom::embedding_dim(self)
    }

    fn latent(&self, obs: &Tensor, future: &Tensor) -> Option<Tensor> {
        Some(self.infer_latent(obs, future))
    }

    fn embed(&self, obs: &Tensor) -> Tensor {
        Laom::embed(self, obs)
    }

    fn extra_stores(&self) -> Vec<(&'static str, &nn::VarStore)> {
        vec![("target.", &self.target_vs)]
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

    fn config(action_dim: Option<i64>) -> LaomConfig {
        LaomConfig {
            encoder: EncoderConfig {
                in_channels: 9,
                image: 32,
                depth: Depth::Shallow,
                scale: 1,
                num_res: 1,
            },
            latent_dim: 24,
            head_width: 32,
            head_blocks: 2,
            tau: 0.25,
            action_dim,
            supervision_coef: if action_dim.is_some() { 0.5 } else { 0.0 },
        }
    }

    fn x(n: i64) -> Tensor {
        Tensor::rand([n, 9, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0
    }

    fn total(t: &Tensor) -> f64 {
        t.abs().sum(Kind::Float).double_value(&[])
    }

    #[test]
    fn gradients_reach_the_encoder_through_the_idm_only_and_never_the_target() {
        let vs = nn::VarStore::new(Device::Cpu);
        let laom = Laom::new(&vs, &config(None));
        let out = laom.forward(&x(3), &x(3), &x(3));
        assert_eq!(out.latent.size(), vec![3, 24]);
        assert_eq!(out.embedding.size(), vec![3, 32 * 4 * 4]);
        out.loss.backward();
        let vars = vs.variables();
        let grad = |name: &str| total(&vars[name].grad());
        // The encoder learns (through the IDM), the heads learn.
        assert!(grad("encoder.stage0.conv.weight") > 0.0);
        assert!(grad("idm.output.weight") > 0.0);
        assert!(grad("fdm.output.weight") > 0.0);
        // The target encoder gets nothing.
        for (name, t) in laom.target_store().variables() {
            assert!(!t.requires_grad(), "{name} is trainable");
            assert!(!t.grad().defined(), "{name} has a gradient");
        }
    }

    #[test]
    fn the_fdm_input_is_a_stop_gradient() {
        // With the IDM frozen out of the loss path (latent detached), the
        // encoder would get no gradient at all: e_t reaches the FDM detached.
        let vs = nn::VarStore::new(Device::Cpu);
        let laom = Laom::new(&vs, &config(None));
        let (o, next) = (x(2), x(2));
        let e_t = laom.embed(&o);
        let z = Tensor::zeros([2, 24], (Kind::Float, Device::Cpu));
        let predicted = laom.fdm.forward(&e_t.detach(), &z);
        let target = tch::no_grad(|| laom.target.forward(&next).flatten(1, -1));
        predicted.mse_loss(&target, Reduction::Mean).backward();
        let vars = vs.variables();
        assert!(
            !vars["encoder.stage0.conv.weight"].grad().defined()
                || total(&vars["encoder.stage0.conv.weight"].grad()) == 0.0
        );
        assert!(total(&vars["fdm.input.weight"].grad()) > 0.0);
    }

    #[test]
    fn ema_moves_the_target_by_tau() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut laom = Laom::new(&vs, &config(None));
        let name = "encoder.stage0.conv.weight";
        let target = |l: &Laom| l.target_store().variables()[name].copy();
        assert_eq!(total(&(target(&laom) - vs.variables()[name].copy())), 0.0);
        let before_target = target(&laom);
        tch::no_grad(|| {
            let _ = vs.variables()[name].shallow_clone().fill_(1.0);
        });
        laom.update_target();
        let expected = &before_target * 0.75 + 0.25;
        assert!(total(&(target(&laom) - expected)) < 1e-4);
    }

    #[test]
    fn supervision_leaves_out_nan_targets() {
        // Two tasks' rows: each known in its own columns only.
        let vs = nn::VarStore::new(Device::Cpu);
        let laom = Laom::new(&vs, &config(Some(6)));
        let (obs, future) = (x(4), x(4));
        let a = Tensor::rand([4, 6], (Kind::Float, Device::Cpu));
        let mask = Tensor::from_slice(&[
            1f32, 1., 1., 0., 0., 0., 1., 1., 1., 0., 0., 0., 0., 0., 0., 1., 1., 1., 0., 0., 0.,
            1., 1., 1.,
        ])
        .view([4, 6]);
        let targets = a.where_self(&mask.to_kind(Kind::Bool), &Tensor::from(f64::NAN));
        let loss = laom.action_loss(&obs, &future, &targets).unwrap();
        let predicted = laom
            .action_head
            .as_ref()
            .unwrap()
            .forward(&laom.infer_latent(&obs, &future));
        let expected = ((predicted - &a).square() * &mask).sum(Kind::Float) / 12.0;
        let (l, e) = (loss.double_value(&[]), expected.double_value(&[]));
        assert!(
            l.is_finite() && (l - e).abs() < 1e-5 * e.max(1.0),
            "{l} vs {e}"
        );
        // Without NaN: the plain mean squared error.
        let plain = laom
            .action_loss(&obs, &future, &a)
            .unwrap()
            .double_value(&[]);
        assert!(plain.is_finite() && (plain - l).abs() > 1e-7);
    }

    #[test]
    fn supervision_adds_an_action_loss() {
        let vs = nn::VarStore::new(Device::Cpu);
        let laom = Laom::new(&vs, &config(Some(6)));
        let a = Tensor::rand([4, 6], (Kind::Float, Device::Cpu));
        let loss = laom.action_loss(&x(4), &x(4), &a).unwrap();
        loss.backward();
        assert!(total(&vs.variables()["action_head.weight"].grad()) > 0.0);
        let plain = nn::VarStore::new(Device::Cpu);
        assert!(Laom::new(&plain, &config(None))
            .action_loss(&x(1), &x(1), &a.narrow(0, 0, 1))
            .is_none());
    }
}

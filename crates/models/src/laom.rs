//! LAOM (METHOD.md §4): one shared encoder embeds every frame; an IDM head
//! infers the latent action from (e_t, e_{t+k}); an FDM head predicts the
//! embedding of o_{t+1} from a stop-gradient e_t and the latent; the target
//! comes from an EMA copy of the encoder and the loss is the latent MSE.
//! LAOM + supervision adds `coef * MSE(Linear(z), a)` on a labeled batch.

use tch::nn::{self, Module};
use tch::{Reduction, Tensor};

use crate::blocks::{orthogonal_linear, ConditionedHead};
use crate::ema::EmaTarget;
use crate::encoder::{Depth, Encoder, EncoderConfig};

/// Settings of a LAOM model.
#[derive(Clone, Debug, PartialEq)]
pub struct LaomConfig {
    /// Channels of one stacked observation (9).
    pub obs_channels: i64,
    /// Image side.
    pub image: i64,
    /// Encoder layout.
    pub depth: Depth,
    /// Channel multiplier.
    pub encoder_scale: i64,
    /// Residual blocks per stage.
    pub num_res: usize,
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
        let enc = EncoderConfig {
            in_channels: c.obs_channels,
            image: c.image,
            depth: c.depth,
            scale: c.encoder_scale,
            num_res: c.num_res,
        };
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
    pub fn action_loss(&self, obs: &Tensor, future: &Tensor, actions: &Tensor) -> Option<Tensor> {
        let head = self.action_head.as_ref()?;
        let z = self.infer_latent(obs, future);
        Some(head.forward(&z).mse_loss(actions, Reduction::Mean))
    }

    /// EMA update of the target encoder from the online one:
    /// θ' ← (1 − τ) θ' + τ θ.
    pub fn update_target(&mut self) {
        self.ema.update(self.config.tau);
    }

    /// The target encoder's variables (for tests and checkpoints).
    pub fn target_store(&self) -> &nn::VarStore {
        &self.target_vs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn config(action_dim: Option<i64>) -> LaomConfig {
        LaomConfig {
            obs_channels: 9,
            image: 32,
            depth: Depth::Shallow,
            encoder_scale: 1,
            num_res: 1,
            latent_dim: 24,
            head_width: 32,
            head_blocks: 2,
            tau: 0.25,
            action_dim,
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

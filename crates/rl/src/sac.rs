//! The SAC agent: a tanh-squashed Gaussian actor, twin Q critics with EMA
//! targets, and a learned entropy temperature aiming at −|A| nats. Noise is
//! drawn from the agent's own seeded generator (not libtorch's global one),
//! so a saved RNG position resumes a run exactly.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use tch::nn::{self, Module};
use tch::{Device, Kind, Reduction, Tensor};

use lam_models::toolkit::ema::EmaTarget;
use lam_models::toolkit::optim::Adam;

use crate::replay::Transitions;

/// Sizes and rates of an agent.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SacConfig {
    /// Width of every hidden layer.
    pub hidden: i64,
    /// Hidden layers per network.
    pub layers: usize,
    /// Discount.
    pub gamma: f64,
    /// EMA rate of the target critics.
    pub tau: f64,
    /// Adam learning rate of actor, critics and temperature.
    pub lr: f64,
    /// Starting entropy temperature.
    pub init_alpha: f64,
}

impl Default for SacConfig {
    fn default() -> Self {
        Self {
            hidden: 256,
            layers: 2,
            gamma: 0.99,
            tau: 0.005,
            lr: 3e-4,
            init_alpha: 1.0,
        }
    }
}

/// A ReLU MLP.
#[derive(Debug)]
struct Mlp {
    layers: Vec<nn::Linear>,
}

impl Mlp {
    fn new(vs: &nn::Path, d_in: i64, hidden: i64, layers: usize, d_out: i64) -> Self {
        let mut dims = vec![d_in];
        dims.extend(std::iter::repeat_n(hidden, layers));
        dims.push(d_out);
        Self {
            layers: dims
                .windows(2)
                .enumerate()
                .map(|(i, d)| nn::linear(vs / format!("l{i}"), d[0], d[1], Default::default()))
                .collect(),
        }
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers
            .iter()
            .enumerate()
            .fold(x.shallow_clone(), |h, (i, l)| {
                let y = l.forward(&h);
                if i < last {
                    y.relu()
                } else {
                    y
                }
            })
    }
}

/// Bounds of the actor's log standard deviation.
const LOG_STD: (f64, f64) = (-5.0, 2.0);

/// What one update measured.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateMetrics {
    /// Mean squared TD error of both critics.
    pub critic_loss: f64,
    /// α log π − min Q.
    pub actor_loss: f64,
    /// Entropy temperature after the update.
    pub alpha: f64,
    /// −log π of the sampled actions (an entropy estimate).
    pub entropy: f64,
}

/// The agent with its optimizers.
#[derive(Debug)]
pub struct Sac {
    /// Actor variables (`actor.*`).
    pub actor_vs: nn::VarStore,
    /// Critic variables (`q1.*`, `q2.*`).
    pub critic_vs: nn::VarStore,
    /// Target critic variables.
    pub target_vs: nn::VarStore,
    /// The temperature's variable (`log_alpha`).
    pub alpha_vs: nn::VarStore,
    actor: Mlp,
    q1: Mlp,
    q2: Mlp,
    q1_target: Mlp,
    q2_target: Mlp,
    log_alpha: Tensor,
    targets: EmaTarget,
    actor_opt: Adam,
    critic_opt: Adam,
    alpha_opt: Adam,
    config: SacConfig,
    action_size: i64,
    target_entropy: f64,
    rng: ChaCha8Rng,
}

impl Sac {
    /// A fresh agent for observations of `obs_size` and actions of `action_size` values.
    pub fn new(
        obs_size: i64,
        action_size: i64,
        config: SacConfig,
        seed: u64,
        device: Device,
    ) -> Self {
        lam_models::toolkit::init::seeded(seed, || {
            Self::build(obs_size, action_size, config, seed, device)
        })
    }

    fn build(
        obs_size: i64,
        action_size: i64,
        config: SacConfig,
        seed: u64,
        device: Device,
    ) -> Self {
        let actor_vs = nn::VarStore::new(device);
        let critic_vs = nn::VarStore::new(device);
        let mut target_vs = nn::VarStore::new(device);
        let alpha_vs = nn::VarStore::new(device);
        let (h, l) = (config.hidden, config.layers);
        let actor = Mlp::new(
            &(actor_vs.root() / "actor"),
            obs_size,
            h,
            l,
            2 * action_size,
        );
        let q = |vs: &nn::VarStore, name: &str| {
            Mlp::new(&(vs.root() / name), obs_size + action_size, h, l, 1)
        };
        let (q1, q2) = (q(&critic_vs, "q1"), q(&critic_vs, "q2"));
        let (q1_target, q2_target) = (q(&target_vs, "q1"), q(&target_vs, "q2"));
        target_vs.freeze();
        let log_alpha = alpha_vs
            .root()
            .var_copy("log_alpha", &Tensor::from(config.init_alpha.ln() as f32));
        let targets = EmaTarget::new(&critic_vs, &target_vs, |_| true);
        Self {
            actor_opt: Adam::new(&actor_vs),
            critic_opt: Adam::new(&critic_vs),
            alpha_opt: Adam::new(&alpha_vs),
            actor_vs,
            critic_vs,
            target_vs,
            alpha_vs,
            actor,
            q1,
            q2,
            q1_target,
            q2_target,
            log_alpha,
            targets,
            target_entropy: -(action_size as f64),
            action_size,
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Standard normal noise `[n, A]` from the agent's generator.
    fn noise(&mut self, n: i64, device: Device) -> Tensor {
        let v: Vec<f32> = (0..n * self.action_size)
            .map(|_| StandardNormal.sample(&mut self.rng))
            .collect();
        Tensor::from_slice(&v)
            .view([n, self.action_size])
            .to_device(device)
    }

    /// Squashed actions and their log-probabilities `[B, 1]` for observations `[B, S]`.
    fn sample(&mut self, obs: &Tensor) -> (Tensor, Tensor) {
        let out = self.actor.forward(obs);
        let mean = out.narrow(1, 0, self.action_size);
        let log_std = out
            .narrow(1, self.action_size, self.action_size)
            .clamp(LOG_STD.0, LOG_STD.1);
        let eps = self.noise(obs.size()[0], obs.device());
        let u = &mean + log_std.exp() * &eps;
        let a = u.tanh();
        let gauss = (eps.square() * -0.5 - &log_std - 0.5 * (2.0 * std::f64::consts::PI).ln())
            .sum_dim_intlist(1, true, Kind::Float);
        // −log(1 − tanh(u)²) = 2 (softplus(−2u) + u − log 2), stable for large |u|.
        let squash = ((-&u * 2.0).softplus() + &u - std::f64::consts::LN_2) * 2.0;
        let log_prob = gauss + squash.sum_dim_intlist(1, true, Kind::Float);
        (a, log_prob)
    }

    /// Actions for observations (rows of `obs`): the squashed mean when
    /// `deterministic`, else a sample.
    pub fn act(&mut self, obs: &[f64], deterministic: bool) -> Vec<f64> {
        let device = self.actor_vs.device();
        let s = (obs.len() as i64) / self.obs_size();
        let x = Tensor::from_slice(&obs.iter().map(|&v| v as f32).collect::<Vec<_>>())
            .view([s, -1])
            .to_device(device);
        let a = tch::no_grad(|| {
            if deterministic {
                self.actor.forward(&x).narrow(1, 0, self.action_size).tanh()
            } else {
                self.sample(&x).0
            }
        });
        Vec::<f32>::try_from(a.to_device(Device::Cpu).view(-1))
            .expect("float actions")
            .into_iter()
            .map(f64::from)
            .collect()
    }

    /// Observation size.
    pub fn obs_size(&self) -> i64 {
        self.actor.layers[0].ws.size()[1]
    }

    /// Current entropy temperature.
    pub fn alpha(&self) -> f64 {
        self.log_alpha.exp().double_value(&[])
    }

    fn q_pair(q1: &Mlp, q2: &Mlp, obs: &Tensor, actions: &Tensor) -> (Tensor, Tensor) {
        let x = Tensor::cat(&[obs, actions], 1);
        (q1.forward(&x), q2.forward(&x))
    }

    /// One gradient step of critics, actor and temperature, then the target EMA.
    pub fn update(&mut self, b: &Transitions) -> UpdateMetrics {
        let alpha = self.log_alpha.exp().detach();
        // Critics: y = r + γ (1 − terminal) (min Q'(s', a') − α log π(a'|s')).
        let (next_a, next_logp) = tch::no_grad(|| self.sample(&b.next_obs));
        let target = tch::no_grad(|| {
            let (t1, t2) = Self::q_pair(&self.q1_target, &self.q2_target, &b.next_obs, &next_a);
            let v = t1.minimum(&t2) - &alpha * &next_logp;
            &b.rewards + (1.0 - &b.terminal) * v * self.config.gamma
        });
        let (q1, q2) = Self::q_pair(&self.q1, &self.q2, &b.obs, &b.actions);
        let critic_loss =
            q1.mse_loss(&target, Reduction::Mean) + q2.mse_loss(&target, Reduction::Mean);
        self.critic_opt.backward(&critic_loss);
        self.critic_opt.step(self.config.lr);
        // Actor: α log π(a|s) − min Q(s, a), gradients into the actor only.
        let (a, logp) = self.sample(&b.obs);
        let (p1, p2) = Self::q_pair(&self.q1, &self.q2, &b.obs, &a);
        let actor_loss = (&alpha * &logp - p1.minimum(&p2)).mean(Kind::Float);
        self.actor_opt.backward(&actor_loss);
        self.actor_opt.step(self.config.lr);
        // Temperature: towards the target entropy.
        let alpha_loss =
            -(&self.log_alpha * (logp.detach() + self.target_entropy)).mean(Kind::Float);
        self.alpha_opt.backward(&alpha_loss);
        self.alpha_opt.step(self.config.lr);
        self.update_targets();
        UpdateMetrics {
            critic_loss: critic_loss.double_value(&[]),
            actor_loss: actor_loss.double_value(&[]),
            alpha: self.alpha(),
            entropy: -logp.mean(Kind::Float).double_value(&[]),
        }
    }

    /// Everything to save: variables of every store, the three Adam states
    /// and the noise generator's position (`rng` as an i64 pair).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (prefix, vs) in [
            ("actor.", &self.actor_vs),
            ("critic.", &self.critic_vs),
            ("target.", &self.target_vs),
            ("alpha.", &self.alpha_vs),
        ] {
            out.extend(
                vs.variables()
                    .into_iter()
                    .map(|(n, t)| (format!("{prefix}{n}"), t)),
            );
        }
        for (prefix, opt) in [
            ("actor_opt.", &self.actor_opt),
            ("critic_opt.", &self.critic_opt),
            ("alpha_opt.", &self.alpha_opt),
        ] {
            out.extend(
                opt.state()
                    .into_iter()
                    .map(|(n, t)| (format!("{prefix}{n}"), t)),
            );
        }
        out.push((
            "rng".into(),
            crate::word_pos_tensor(self.rng.get_word_pos()),
        ));
        out
    }

    /// Writes the actor alone (safetensors, tagged for `lam_experts::own`)
    /// with `metadata` (task, command, return…): the shippable expert.
    pub fn export_actor(
        &self,
        path: &std::path::Path,
        metadata: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), lam_models::toolkit::checkpoint::CheckpointError> {
        let tensors: Vec<(String, Tensor)> = self.actor_vs.variables().into_iter().collect();
        let mut meta = metadata.clone();
        meta.insert("kind".into(), "lam-sac-actor".into());
        lam_models::toolkit::checkpoint::save(path, &tensors, &meta)
    }

    /// Restores what [`Sac::state`] saved.
    pub fn load_state(
        &mut self,
        saved: &std::collections::BTreeMap<String, Tensor>,
    ) -> Result<(), String> {
        use lam_models::toolkit::checkpoint::{restore, under};
        for (prefix, vs) in [
            ("actor.", &self.actor_vs),
            ("critic.", &self.critic_vs),
            ("target.", &self.target_vs),
            ("alpha.", &self.alpha_vs),
        ] {
            restore(&vs.variables(), prefix, saved)?;
        }
        self.actor_opt.load_state(&under(saved, "actor_opt."))?;
        self.critic_opt.load_state(&under(saved, "critic_opt."))?;
        self.alpha_opt.load_state(&under(saved, "alpha_opt."))?;
        let pos = saved.get("rng").ok_or("no rng in the saved state")?;
        self.rng.set_word_pos(crate::word_pos_from(pos));
        Ok(())
    }

    /// θ' ← (1 − τ) θ' + τ θ for both target critics.
    fn update_targets(&mut self) {
        self.targets.update(self.config.tau);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::ReplayBuffer;
    use rand::Rng;

    fn config() -> SacConfig {
        SacConfig {
            hidden: 64,
            lr: 1e-3,
            ..SacConfig::default()
        }
    }

    /// A one-step problem: the best action is a fixed function of the state.
    fn best(s: &[f64]) -> [f64; 2] {
        [
            (0.8 * s[0]).clamp(-1.0, 1.0),
            (0.5 * s[1] - 0.3 * s[0]).clamp(-1.0, 1.0),
        ]
    }

    fn reward(s: &[f64], a: &[f64]) -> f64 {
        let b = best(s);
        -((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2))
    }

    fn greedy_return(agent: &mut Sac, rng: &mut ChaCha8Rng) -> f64 {
        let states: Vec<f64> = (0..400).map(|_| rng.random_range(-1.0..1.0)).collect();
        let actions = agent.act(&states, true);
        states
            .chunks(2)
            .zip(actions.chunks(2))
            .map(|(s, a)| reward(s, a))
            .sum::<f64>()
            / 200.0
    }

    #[test]
    fn sac_learns_a_trivial_control_problem() {
        let mut agent = Sac::new(2, 2, config(), 0, Device::Cpu);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let before = greedy_return(&mut agent, &mut ChaCha8Rng::seed_from_u64(9));
        let mut buffer = ReplayBuffer::new(2, 2, 10_000);
        for step in 0..1500 {
            let s = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            let a = agent.act(&s, false);
            buffer.push(&s, &a, reward(&s, &a), &s, true);
            if step >= 64 {
                let b = buffer.sample(64, &mut rng, Device::Cpu);
                let m = agent.update(&b);
                assert!(m.critic_loss.is_finite() && m.actor_loss.is_finite());
            }
        }
        let after = greedy_return(&mut agent, &mut ChaCha8Rng::seed_from_u64(9));
        assert!(
            after > -0.05 && after > before + 0.1,
            "greedy return {before:.3} -> {after:.3}"
        );
    }

    #[test]
    fn an_exported_actor_acts_like_the_agent_through_lam_experts() {
        let mut agent = Sac::new(3, 2, config(), 5, Device::Cpu);
        let dir = std::env::temp_dir().join(format!("lam-rl-export-{}", std::process::id()));
        let path = dir.join("actor.safetensors");
        agent.export_actor(&path, &Default::default()).unwrap();
        let policy = lam_experts::load_expert(&path).unwrap();
        assert_eq!((policy.observation_size(), policy.action_size()), (3, 2));
        let obs = [0.3, -1.2, 0.7];
        let ours = agent.act(&obs, true);
        let theirs = policy.act(&obs);
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() < 1e-5, "{ours:?} vs {theirs:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn targets_follow_the_critics_by_tau() {
        let mut agent = Sac::new(
            3,
            1,
            SacConfig {
                tau: 0.25,
                ..config()
            },
            0,
            Device::Cpu,
        );
        let name = "q1.l0.weight";
        let target = |a: &Sac| a.target_vs.variables()[name].copy();
        let online = agent.critic_vs.variables()[name].copy();
        assert!(target(&agent).equal(&online), "targets start as copies");
        tch::no_grad(|| {
            let _ = agent.critic_vs.variables()[name].shallow_clone().fill_(1.0);
        });
        let before = target(&agent);
        agent.update_targets();
        let expected = before * 0.75 + 0.25;
        assert!(target(&agent).allclose(&expected, 1e-6, 1e-6, false));
        for (n, t) in agent.target_vs.variables() {
            assert!(!t.requires_grad(), "{n} is trainable");
        }
    }

    #[test]
    fn log_probabilities_match_the_squashed_gaussian() {
        // log π(a) = log N(atanh a; μ, σ) − log(1 − a²), recomputed in f64.
        let mut agent = Sac::new(1, 1, config(), 3, Device::Cpu);
        let obs = Tensor::zeros([500, 1], (Kind::Float, Device::Cpu));
        let (a, logp) = tch::no_grad(|| agent.sample(&obs));
        let out = tch::no_grad(|| agent.actor.forward(&obs.narrow(0, 0, 1)));
        let mu = out.double_value(&[0, 0]);
        let log_std = out.double_value(&[0, 1]).clamp(LOG_STD.0, LOG_STD.1);
        let sigma = log_std.exp();
        let (a, logp) = (
            Vec::<f32>::try_from(a.view(-1)).unwrap(),
            Vec::<f32>::try_from(logp.view(-1)).unwrap(),
        );
        let mut checked = 0;
        for (&a, &lp) in a.iter().zip(&logp) {
            let a = f64::from(a);
            if a.abs() > 0.99 {
                continue; // atanh loses precision at the edges
            }
            let u = a.atanh();
            let gauss = -0.5 * ((u - mu) / sigma).powi(2)
                - log_std
                - 0.5 * (2.0 * std::f64::consts::PI).ln();
            let expected = gauss - (1.0 - a * a).ln();
            assert!(
                (expected - f64::from(lp)).abs() < 1e-3 * (1.0 + expected.abs()),
                "a {a}: {lp} vs {expected}"
            );
            checked += 1;
        }
        assert!(checked > 300, "{checked}");
        assert!(a.iter().all(|v| v.abs() <= 1.0));
    }
}

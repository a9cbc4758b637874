//! Training an expert with SAC: several environments stepped in parallel,
//! uniform random actions first, then the stochastic policy; `updates_per_step`
//! gradient updates per environment step; greedy evaluations; checkpoints
//! (agent, optimizers, replay buffer, generators, counters) at episode
//! boundaries, from which a run continues exactly as if never stopped.

use std::collections::BTreeMap;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use tch::{Device, Tensor};

use lam_models::toolkit::checkpoint::{self, CheckpointError};

use crate::replay::ReplayBuffer;
use crate::sac::{Sac, SacConfig, UpdateMetrics};
use crate::RlError;

/// What one step of a control problem gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The next observation.
    pub obs: Vec<f64>,
    /// The reward.
    pub reward: f64,
    /// The state is terminal: the return ends here (no bootstrap).
    pub terminal: bool,
    /// The episode is over (terminal, or a time limit).
    pub over: bool,
}

/// A control problem with a state observation.
pub trait Control: Send {
    /// Values per observation.
    fn obs_size(&self) -> usize;
    /// Values per action.
    fn action_size(&self) -> usize;
    /// Starts an episode from `seed`; the first observation.
    fn reset(&mut self, seed: u64) -> Result<Vec<f64>, RlError>;
    /// One step with `action`.
    fn step(&mut self, action: &[f64]) -> Result<Outcome, RlError>;
}

impl Control for lam_env::Environment {
    fn obs_size(&self) -> usize {
        self.observation_size()
    }
    fn action_size(&self) -> usize {
        lam_env::Environment::action_size(self)
    }
    fn reset(&mut self, seed: u64) -> Result<Vec<f64>, RlError> {
        self.reset_with_seed(seed)
            .map_err(|e| RlError::Env(e.to_string()))
    }
    fn step(&mut self, action: &[f64]) -> Result<Outcome, RlError> {
        // Control Suite episodes end by time limit only: never terminal.
        let s =
            lam_env::Environment::step(self, action).map_err(|e| RlError::Env(e.to_string()))?;
        Ok(Outcome {
            obs: s.observation,
            reward: s.reward,
            terminal: false,
            over: s.done,
        })
    }
}

/// Settings of an expert run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpertConfig {
    /// Environment steps in the run (all environments together).
    pub steps: usize,
    /// Environments stepped together.
    pub envs: usize,
    /// Steps of uniform random actions before the policy acts.
    pub random_steps: usize,
    /// Transitions per update.
    pub batch: usize,
    /// Gradient updates per environment step (after the random steps).
    pub updates_per_step: f64,
    /// Replay capacity.
    pub buffer: usize,
    /// Seed of everything.
    pub seed: u64,
    /// The agent.
    pub sac: SacConfig,
}

/// An episode that finished during training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Episode {
    /// Environment steps done when it ended.
    pub at_step: usize,
    /// Its return.
    pub episode_return: f64,
}

/// Agent, buffer, environments and counters of a run.
pub struct ExpertTrainer<E: Control> {
    /// The agent.
    pub agent: Sac,
    buffer: ReplayBuffer,
    envs: Vec<E>,
    obs: Vec<Vec<f64>>,
    returns: Vec<f64>,
    /// Steps into the current episode, per environment.
    progress: Vec<usize>,
    /// Environment steps done.
    pub env_steps: usize,
    /// Gradient updates done.
    pub updates: usize,
    episodes: u64,
    rng: ChaCha8Rng,
    config: ExpertConfig,
    /// The last update's metrics.
    pub last_update: Option<UpdateMetrics>,
}

impl<E: Control> std::fmt::Debug for ExpertTrainer<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpertTrainer")
            .field("env_steps", &self.env_steps)
            .field("updates", &self.updates)
            .finish()
    }
}

/// Seed of the `n`-th episode started in a run seeded `seed`.
fn episode_seed(seed: u64, n: u64) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(n)
}

impl<E: Control> ExpertTrainer<E> {
    /// A fresh run on `envs` environments (at least one).
    pub fn new(config: ExpertConfig, mut envs: Vec<E>, device: Device) -> Result<Self, RlError> {
        let first = envs.first().ok_or(RlError::NoEnvironment)?;
        let (s, a) = (first.obs_size(), first.action_size());
        let agent = Sac::new(s as i64, a as i64, config.sac.clone(), config.seed, device);
        let mut obs = Vec::with_capacity(envs.len());
        for (i, e) in envs.iter_mut().enumerate() {
            obs.push(e.reset(episode_seed(config.seed, i as u64))?);
        }
        Ok(Self {
            agent,
            buffer: ReplayBuffer::new(s, a, config.buffer),
            returns: vec![0.0; envs.len()],
            progress: vec![0; envs.len()],
            episodes: envs.len() as u64,
            obs,
            envs,
            env_steps: 0,
            updates: 0,
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5AC),
            config,
            last_update: None,
        })
    }

    /// Whether every environment has just started an episode (checkpoints
    /// are only taken there: no physics state needs saving).
    pub fn at_boundary(&self) -> bool {
        self.progress.iter().all(|&p| p == 0)
    }

    /// Steps every environment once (with updates as due); the episodes that ended.
    pub fn step(&mut self) -> Result<Vec<Episode>, RlError> {
        let a_size = self.envs[0].action_size();
        let n = self.envs.len();
        let actions: Vec<f64> = if self.env_steps < self.config.random_steps {
            (0..n * a_size)
                .map(|_| self.rng.random_range(-1.0..1.0))
                .collect()
        } else {
            let flat: Vec<f64> = self.obs.iter().flatten().copied().collect();
            self.agent.act(&flat, false)
        };
        let results: Vec<Result<Outcome, RlError>> = self
            .envs
            .par_iter_mut()
            .zip(actions.par_chunks(a_size))
            .map(|(e, a)| e.step(a))
            .collect();
        let mut ended = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            let Outcome {
                obs: next,
                reward,
                terminal,
                over,
            } = r?;
            let a = &actions[i * a_size..(i + 1) * a_size];
            self.buffer.push(&self.obs[i], a, reward, &next, terminal);
            self.returns[i] += reward;
            self.progress[i] += 1;
            self.env_steps += 1;
            if over {
                ended.push(Episode {
                    at_step: self.env_steps,
                    episode_return: self.returns[i],
                });
                self.returns[i] = 0.0;
                self.progress[i] = 0;
                self.obs[i] = self.envs[i].reset(episode_seed(self.config.seed, self.episodes))?;
                self.episodes += 1;
            } else {
                self.obs[i] = next;
            }
        }
        let learning = self.env_steps.saturating_sub(self.config.random_steps);
        let due = (learning as f64 * self.config.updates_per_step) as usize;
        while self.updates < due && self.buffer.len() >= self.config.batch {
            let b = self.buffer.sample(
                self.config.batch,
                &mut self.rng,
                self.agent.actor_vs.device(),
            );
            self.last_update = Some(self.agent.update(&b));
            self.updates += 1;
        }
        Ok(ended)
    }

    /// Mean greedy return over `episodes` episodes of `env` (seeds from `seed`).
    pub fn evaluate(&mut self, env: &mut E, episodes: usize, seed: u64) -> Result<f64, RlError> {
        let mut total = 0.0;
        for k in 0..episodes {
            let mut obs = env.reset(seed + k as u64)?;
            loop {
                let a = self.agent.act(&obs, true);
                let o = env.step(&a)?;
                total += o.reward;
                obs = o.obs;
                if o.terminal || o.over {
                    break;
                }
            }
        }
        Ok(total / episodes.max(1) as f64)
    }

    /// Writes the run's whole state (only at an episode boundary).
    pub fn save(
        &self,
        path: &Path,
        extra: &BTreeMap<String, String>,
    ) -> Result<(), CheckpointError> {
        if !self.at_boundary() {
            return Err(CheckpointError::Invalid {
                file: path.display().to_string(),
                message: "checkpoints are taken between episodes".into(),
            });
        }
        let mut tensors = self.agent.state();
        tensors.extend(self.buffer.state());
        tensors.push((
            "trainer.rng".into(),
            crate::word_pos_tensor(self.rng.get_word_pos()),
        ));
        let counters = [
            self.env_steps as i64,
            self.updates as i64,
            self.episodes as i64,
        ];
        tensors.push(("trainer.counters".into(), Tensor::from_slice(&counters)));
        checkpoint::save(path, &tensors, extra)
    }

    /// Continues a run saved by [`ExpertTrainer::save`] with fresh
    /// environments `envs` (they are reset with the seeds the run was at).
    pub fn load(
        path: &Path,
        config: ExpertConfig,
        envs: Vec<E>,
        device: Device,
    ) -> Result<(Self, BTreeMap<String, String>), CheckpointError> {
        let invalid = |message: String| CheckpointError::Invalid {
            file: path.display().to_string(),
            message,
        };
        let l = checkpoint::load(path)?;
        let mut t = Self::new(config, envs, device).map_err(|e| invalid(e.to_string()))?;
        t.agent.load_state(&l.tensors).map_err(invalid)?;
        t.buffer.load_state(&l.tensors).map_err(invalid)?;
        let rng = l
            .tensors
            .get("trainer.rng")
            .ok_or_else(|| invalid("no trainer.rng".into()))?;
        t.rng.set_word_pos(crate::word_pos_from(rng));
        let c = l
            .tensors
            .get("trainer.counters")
            .ok_or_else(|| invalid("no trainer.counters".into()))?;
        t.env_steps = c.int64_value(&[0]) as usize;
        t.updates = c.int64_value(&[1]) as usize;
        t.episodes = c.int64_value(&[2]) as u64;
        // The environments were between episodes: start the ones that were next.
        let n = t.envs.len() as u64;
        let first = t.episodes - n;
        for (i, e) in t.envs.iter_mut().enumerate() {
            t.obs[i] = e
                .reset(episode_seed(t.config.seed, first + i as u64))
                .map_err(|e| invalid(e.to_string()))?;
        }
        Ok((t, l.metadata))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reach a goal on a line: s' = s + 0.2 a, reward −|s'|, 5-step episodes.
    struct Line {
        x: f64,
        t: usize,
        rng: ChaCha8Rng,
    }

    impl Control for Line {
        fn obs_size(&self) -> usize {
            1
        }
        fn action_size(&self) -> usize {
            1
        }
        fn reset(&mut self, seed: u64) -> Result<Vec<f64>, RlError> {
            self.rng = ChaCha8Rng::seed_from_u64(seed);
            self.x = self.rng.random_range(-1.0..1.0);
            self.t = 0;
            Ok(vec![self.x])
        }
        fn step(&mut self, a: &[f64]) -> Result<Outcome, RlError> {
            self.x += 0.2 * a[0].clamp(-1.0, 1.0);
            self.t += 1;
            Ok(Outcome {
                obs: vec![self.x],
                reward: -self.x.abs(),
                terminal: false,
                over: self.t == 5,
            })
        }
    }

    fn line() -> Line {
        Line {
            x: 0.0,
            t: 0,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }

    fn config(steps: usize) -> ExpertConfig {
        ExpertConfig {
            steps,
            envs: 2,
            random_steps: 40,
            batch: 32,
            updates_per_step: 0.5,
            buffer: 1000,
            seed: 7,
            sac: SacConfig {
                hidden: 32,
                lr: 1e-3,
                ..SacConfig::default()
            },
        }
    }

    #[test]
    fn a_resumed_run_matches_an_uninterrupted_one() {
        let dir = std::env::temp_dir().join(format!("lam-rl-resume-{}", std::process::id()));
        let path = dir.join("run.safetensors");
        let mut whole = ExpertTrainer::new(config(200), vec![line(), line()], Device::Cpu).unwrap();
        let mut first = ExpertTrainer::new(config(200), vec![line(), line()], Device::Cpu).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        while whole.env_steps < 200 {
            a.extend(whole.step().unwrap());
        }
        while first.env_steps < 100 {
            b.extend(first.step().unwrap());
        }
        assert!(first.at_boundary());
        first.save(&path, &BTreeMap::new()).unwrap();
        drop(first);
        let (mut resumed, _) =
            ExpertTrainer::load(&path, config(200), vec![line(), line()], Device::Cpu).unwrap();
        while resumed.env_steps < 200 {
            b.extend(resumed.step().unwrap());
        }
        assert_eq!(a, b, "episode returns differ after resuming");
        assert_eq!(whole.updates, resumed.updates);
        for (name, t) in whole.agent.actor_vs.variables() {
            assert!(
                t.equal(&resumed.agent.actor_vs.variables()[&name]),
                "{name}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sac_improves_its_return_on_an_easy_problem() {
        let mut t = ExpertTrainer::new(config(3000), vec![line(), line()], Device::Cpu).unwrap();
        let mut eval_env = line();
        let before = t.evaluate(&mut eval_env, 20, 1000).unwrap();
        while t.env_steps < 3000 {
            t.step().unwrap();
        }
        let after = t.evaluate(&mut eval_env, 20, 1000).unwrap();
        // Doing nothing scores about −2.5; driving to 0 about −1.
        assert!(
            after > before + 0.3 && after > -1.5,
            "greedy return {before:.3} -> {after:.3}"
        );
    }
}

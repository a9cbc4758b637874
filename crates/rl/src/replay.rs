//! A ring buffer of transitions (s, a, r, s', terminal) sampled uniformly.

use rand::Rng;
use tch::{Device, Tensor};

/// A sampled batch on the device.
#[derive(Debug)]
pub struct Transitions {
    /// s `[B, S]`.
    pub obs: Tensor,
    /// a `[B, A]` (squashed, in [-1, 1]).
    pub actions: Tensor,
    /// r `[B, 1]`.
    pub rewards: Tensor,
    /// s' `[B, S]`.
    pub next_obs: Tensor,
    /// 1 where s' is terminal (no bootstrap), else 0, `[B, 1]`.
    pub terminal: Tensor,
}

/// Fixed-capacity storage; the oldest transitions are overwritten.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayBuffer {
    obs_size: usize,
    action_size: usize,
    capacity: usize,
    obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    terminal: Vec<f32>,
    /// Next slot to write.
    cursor: usize,
    /// Transitions stored (≤ capacity).
    len: usize,
}

impl ReplayBuffer {
    /// An empty buffer for `capacity` transitions.
    pub fn new(obs_size: usize, action_size: usize, capacity: usize) -> Self {
        Self {
            obs_size,
            action_size,
            capacity: capacity.max(1),
            obs: Vec::new(),
            actions: Vec::new(),
            rewards: Vec::new(),
            next_obs: Vec::new(),
            terminal: Vec::new(),
            cursor: 0,
            len: 0,
        }
    }

    /// Transitions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores one transition.
    pub fn push(
        &mut self,
        obs: &[f64],
        action: &[f64],
        reward: f64,
        next_obs: &[f64],
        terminal: bool,
    ) {
        debug_assert_eq!(obs.len(), self.obs_size);
        debug_assert_eq!(action.len(), self.action_size);
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (o, a, n) = (f(obs), f(action), f(next_obs));
        if self.len < self.capacity {
            self.obs.extend(o);
            self.actions.extend(a);
            self.next_obs.extend(n);
            self.rewards.push(reward as f32);
            self.terminal.push(f32::from(u8::from(terminal)));
            self.len += 1;
        } else {
            let (i, s, m) = (self.cursor, self.obs_size, self.action_size);
            self.obs[i * s..(i + 1) * s].copy_from_slice(&o);
            self.next_obs[i * s..(i + 1) * s].copy_from_slice(&n);
            self.actions[i * m..(i + 1) * m].copy_from_slice(&a);
            self.rewards[i] = reward as f32;
            self.terminal[i] = f32::from(u8::from(terminal));
        }
        self.cursor = (self.cursor + 1) % self.capacity;
    }

    /// The contents as tensors (`replay.*`), for checkpoints.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let t = |v: &[f32]| Tensor::from_slice(v);
        let sizes = [
            self.obs_size,
            self.action_size,
            self.capacity,
            self.cursor,
            self.len,
        ]
        .map(|v| v as i64);
        vec![
            ("replay.obs".into(), t(&self.obs)),
            ("replay.actions".into(), t(&self.actions)),
            ("replay.rewards".into(), t(&self.rewards)),
            ("replay.next_obs".into(), t(&self.next_obs)),
            ("replay.terminal".into(), t(&self.terminal)),
            ("replay.sizes".into(), Tensor::from_slice(&sizes)),
        ]
    }

    /// Restores what [`ReplayBuffer::state`] saved; sizes must match.
    pub fn load_state(
        &mut self,
        saved: &std::collections::BTreeMap<String, Tensor>,
    ) -> Result<(), String> {
        let get = |k: &str| {
            saved
                .get(k)
                .ok_or_else(|| format!("no {k} in the saved state"))
        };
        let floats = |k: &str| -> Result<Vec<f32>, String> {
            Vec::<f32>::try_from(get(k)?.view(-1)).map_err(|e| format!("{k}: {e}"))
        };
        let sizes = Vec::<i64>::try_from(get("replay.sizes")?).map_err(|e| e.to_string())?;
        if sizes.len() != 5
            || sizes[0] as usize != self.obs_size
            || sizes[1] as usize != self.action_size
            || sizes[2] as usize != self.capacity
        {
            return Err(format!(
                "replay buffer of sizes {sizes:?}; this run has observation {}, action {}, capacity {}",
                self.obs_size, self.action_size, self.capacity
            ));
        }
        self.obs = floats("replay.obs")?;
        self.actions = floats("replay.actions")?;
        self.rewards = floats("replay.rewards")?;
        self.next_obs = floats("replay.next_obs")?;
        self.terminal = floats("replay.terminal")?;
        self.cursor = sizes[3] as usize;
        self.len = sizes[4] as usize;
        Ok(())
    }

    /// `n` transitions drawn uniformly with replacement.
    pub fn sample(&self, n: usize, rng: &mut impl Rng, device: Device) -> Transitions {
        assert!(!self.is_empty(), "sampling an empty replay buffer");
        let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..self.len)).collect();
        let gather = |v: &[f32], w: usize| {
            let mut out = Vec::with_capacity(n * w);
            for &i in &idx {
                out.extend_from_slice(&v[i * w..(i + 1) * w]);
            }
            Tensor::from_slice(&out)
                .view([n as i64, w as i64])
                .to_device(device)
        };
        Transitions {
            obs: gather(&self.obs, self.obs_size),
            actions: gather(&self.actions, self.action_size),
            rewards: gather(&self.rewards, 1),
            next_obs: gather(&self.next_obs, self.obs_size),
            terminal: gather(&self.terminal, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn samples_are_stored_transitions_and_the_oldest_are_overwritten() {
        let mut b = ReplayBuffer::new(2, 1, 4);
        for t in 0..6 {
            let x = t as f64;
            b.push(
                &[x, -x],
                &[x / 10.0],
                10.0 * x,
                &[x + 1.0, -x - 1.0],
                t == 5,
            );
        }
        assert_eq!(b.len(), 4);
        let s = b.sample(256, &mut ChaCha8Rng::seed_from_u64(0), Device::Cpu);
        let obs = Vec::<f32>::try_from(s.obs.view(-1)).unwrap();
        let next = Vec::<f32>::try_from(s.next_obs.view(-1)).unwrap();
        let rewards = Vec::<f32>::try_from(s.rewards.view(-1)).unwrap();
        let actions = Vec::<f32>::try_from(s.actions.view(-1)).unwrap();
        let terminal = Vec::<f32>::try_from(s.terminal.view(-1)).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for k in 0..256 {
            let x = obs[2 * k];
            // Every field of a sample comes from the same transition.
            assert_eq!(obs[2 * k + 1], -x);
            assert_eq!(next[2 * k], x + 1.0);
            assert_eq!(rewards[k], 10.0 * x);
            assert!((actions[k] - x / 10.0).abs() < 1e-6);
            assert_eq!(terminal[k], if x == 5.0 { 1.0 } else { 0.0 });
            seen.insert(x as i64);
        }
        // Transitions 0 and 1 were overwritten by 4 and 5; all four left are drawn.
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![2, 3, 4, 5]);
    }
}

//! Adam written over a var store's tensors, so its state (moments and step)
//! can be saved and restored with a checkpoint, plus gradient-norm clipping
//! and the warm-up + linear-decay learning-rate schedule.

use std::collections::BTreeMap;

use tch::{nn, Kind, Tensor};

/// Adam (Kingma & Ba) with bias correction.
#[derive(Debug)]
pub struct Adam {
    params: Vec<(String, Tensor)>,
    grads: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: i64,
    beta1: f64,
    beta2: f64,
    eps: f64,
}

impl Adam {
    /// Optimizes every trainable variable of `vs` (in name order).
    pub fn new(vs: &nn::VarStore) -> Self {
        let params: BTreeMap<String, Tensor> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        let params: Vec<(String, Tensor)> = params.into_iter().collect();
        let zeros = |t: &Tensor| t.zeros_like().set_requires_grad(false);
        Self {
            m: params.iter().map(|(_, t)| zeros(t)).collect(),
            v: params.iter().map(|(_, t)| zeros(t)).collect(),
            params,
            grads: Vec::new(),
            step: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Updates taken so far.
    pub fn steps(&self) -> i64 {
        self.step
    }

    /// Computes the gradients of `loss` with respect to the parameters,
    /// kept for [`Adam::clip_grad_norm`] and [`Adam::step`]. They are fresh
    /// tensors: nothing accumulates into the variables' `.grad`, so there is
    /// nothing to zero (as PyTorch's `zero_grad(set_to_none=True)`).
    /// Parameters the loss does not reach get no gradient and no update.
    pub fn backward(&mut self, loss: &Tensor) {
        let inputs: Vec<&Tensor> = self.params.iter().map(|(_, p)| p).collect();
        self.grads = Tensor::run_backward(&[loss], &inputs, false, false);
    }

    /// The global L2 norm of the gradients; scales them down to `max_norm`
    /// when above it (no clipping when `max_norm` is `None`).
    pub fn clip_grad_norm(&mut self, max_norm: Option<f64>) -> f64 {
        let grads: Vec<Tensor> = self
            .grads
            .iter()
            .filter(|g| g.defined())
            .map(Tensor::shallow_clone)
            .collect();
        if grads.is_empty() {
            return 0.0;
        }
        let norm = tch::no_grad(|| {
            let norms: Vec<Tensor> = grads
                .iter()
                .map(|g| g.norm().to_kind(Kind::Double))
                .collect();
            Tensor::stack(&norms, 0).norm().double_value(&[])
        });
        if let Some(max) = max_norm {
            if norm > max && norm.is_finite() {
                let scale = max / (norm + 1e-6);
                tch::no_grad(|| {
                    for mut g in grads {
                        let _ = g.g_mul_scalar_(scale);
                    }
                });
            }
        }
        norm
    }

    /// One update with learning rate `lr`.
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        tch::no_grad(|| {
            let grads = std::mem::take(&mut self.grads);
            for ((((_, p), m), v), g) in self
                .params
                .iter_mut()
                .zip(&mut self.m)
                .zip(&mut self.v)
                .zip(grads)
            {
                if !g.defined() {
                    continue;
                }
                // In place, two temporaries per tensor:
                // m ← m + (1−β1)(g − m); v ← v + (1−β2)(g² − v);
                // p ← p − (lr / c1) · m / (√(v / c2) + ε).
                let _ = m.lerp_(&g, 1.0 - b1);
                let _ = v.lerp_(&g.square(), 1.0 - b2);
                if lr == 0.0 {
                    continue;
                }
                let mut denom = v.sqrt();
                let _ = denom
                    .g_div_scalar_(c2.sqrt())
                    .g_add_scalar_(self.eps)
                    .g_mul_scalar_(-c1 / lr);
                let _ = p.addcdiv_(m, &denom);
            }
        });
    }

    /// The state to save: `m.NAME`, `v.NAME` and `step`.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.params.len() + 1);
        for ((name, _), (m, v)) in self.params.iter().zip(self.m.iter().zip(&self.v)) {
            out.push((format!("m.{name}"), m.shallow_clone()));
            out.push((format!("v.{name}"), v.shallow_clone()));
        }
        out.push(("step".to_string(), Tensor::from(self.step)));
        out
    }

    /// Restores a saved state; names and shapes must match.
    pub fn load_state(&mut self, state: &BTreeMap<String, Tensor>) -> Result<(), String> {
        let step = state.get("step").ok_or("optimizer state has no step")?;
        for ((name, p), (m, v)) in self
            .params
            .iter()
            .zip(self.m.iter_mut().zip(self.v.iter_mut()))
        {
            for (prefix, dst) in [("m", &mut *m), ("v", &mut *v)] {
                let key = format!("{prefix}.{name}");
                let src = state
                    .get(&key)
                    .ok_or_else(|| format!("optimizer state has no {key}"))?;
                if src.size() != p.size() {
                    return Err(format!(
                        "optimizer state {key}: shape {:?}, parameter {:?}",
                        src.size(),
                        p.size()
                    ));
                }
                tch::no_grad(|| dst.copy_(src));
            }
        }
        self.step = step.int64_value(&[]);
        Ok(())
    }
}

/// Linear warm-up over `warmup` steps to `peak`, then linear decay to 0 at `total`.
pub fn learning_rate(step: usize, warmup: usize, total: usize, peak: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let rest = total.saturating_sub(warmup).max(1);
    peak * (1.0 - (step - warmup) as f64 / rest as f64).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn first_step_moves_each_weight_by_lr_against_its_gradient_sign() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs
            .root()
            .var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0, 3.0]));
        let mut adam = Adam::new(&vs);
        let loss = (&w * Tensor::from_slice(&[2.0f32, -1.0, 0.5])).sum(Kind::Float);
        adam.backward(&loss);
        adam.step(0.1);
        // Bias-corrected first step: m/sqrt(v) = sign(g).
        let got: Vec<f32> = Vec::<f32>::try_from(&w.detach()).unwrap();
        let want = [0.9f32, -1.9, 2.9];
        for (g, e) in got.iter().zip(want) {
            assert!((g - e).abs() < 1e-5, "{got:?}");
        }
    }

    #[test]
    fn minimizes_a_quadratic_and_state_round_trips() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs
            .root()
            .var_copy("w", &Tensor::from_slice(&[5.0f32, -3.0]));
        let mut adam = Adam::new(&vs);
        for _ in 0..500 {
            adam.backward(&(&w * &w).sum(Kind::Float));
            adam.step(0.05);
        }
        assert!(w.abs().max().double_value(&[]) < 0.05);
        let saved: BTreeMap<String, Tensor> = adam
            .state()
            .into_iter()
            .map(|(k, t)| (k, t.copy()))
            .collect();
        let mut other = Adam::new(&vs);
        other.load_state(&saved).unwrap();
        assert_eq!(other.steps(), 500);
        let mut bad: BTreeMap<String, Tensor> =
            saved.iter().map(|(k, t)| (k.clone(), t.copy())).collect();
        bad.remove("m.w");
        assert!(Adam::new(&vs).load_state(&bad).unwrap_err().contains("m.w"));
    }

    #[test]
    fn clipping_and_schedule() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[3.0f32, 4.0]));
        let mut adam = Adam::new(&vs);
        adam.backward(&(&w * Tensor::from_slice(&[3.0f32, 4.0])).sum(Kind::Float));
        let norm = adam.clip_grad_norm(Some(1.0));
        assert!((norm - 5.0).abs() < 1e-6);
        assert!(!w.grad().defined(), "nothing accumulates into .grad");
        let clipped = adam.grads[0]
            .pow_tensor_scalar(2)
            .sum(Kind::Float)
            .sqrt()
            .double_value(&[]);
        assert!((clipped - 1.0).abs() < 1e-4);
        assert!((learning_rate(0, 10, 100, 1.0) - 0.1).abs() < 1e-12);
        assert!((learning_rate(9, 10, 100, 1.0) - 1.0).abs() < 1e-12);
        assert!((learning_rate(55, 10, 100, 1.0) - 0.5).abs() < 1e-12);
        assert_eq!(learning_rate(100, 10, 100, 1.0), 0.0);
    }
}

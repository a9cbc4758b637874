//! Linear probes (METHOD.md §5): a linear map from detached latents (or
//! embeddings) to true actions (or states), trained alongside the model
//! with its own Adam. Probes never send gradients into the model.

use std::collections::BTreeMap;

use tch::nn::{self, Module};
use tch::{Device, Reduction, Tensor};

use crate::toolkit::optim::Adam;

/// A linear probe with its own parameters and optimizer.
#[derive(Debug)]
pub struct LinearProbe {
    vs: nn::VarStore,
    linear: nn::Linear,
    adam: Adam,
    lr: f64,
}

impl LinearProbe {
    /// A probe from `d_in` to `d_out` values.
    pub fn new(d_in: i64, d_out: i64, lr: f64, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let linear = nn::linear(vs.root() / "probe", d_in, d_out, Default::default());
        let adam = Adam::new(&vs);
        Self {
            vs,
            linear,
            adam,
            lr,
        }
    }

    /// One update on (`x`, `y`); `x` is detached first. Returns the MSE before the update.
    pub fn step(&mut self, x: &Tensor, y: &Tensor) -> f64 {
        let loss = self
            .linear
            .forward(&x.detach())
            .mse_loss(y, Reduction::Mean);
        self.adam.backward(&loss);
        self.adam.step(self.lr);
        loss.double_value(&[])
    }

    /// The MSE on (`x`, `y`) without learning.
    pub fn mse(&self, x: &Tensor, y: &Tensor) -> f64 {
        tch::no_grad(|| {
            self.linear
                .forward(x)
                .mse_loss(y, Reduction::Mean)
                .double_value(&[])
        })
    }

    /// The probe's variables (for checkpoints).
    pub fn store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Weights (`var.NAME`) and optimizer state (`adam.NAME`) to save.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let vars = self
            .vs
            .variables()
            .into_iter()
            .map(|(n, t)| (format!("var.{n}"), t));
        let adam = self
            .adam
            .state()
            .into_iter()
            .map(|(n, t)| (format!("adam.{n}"), t));
        vars.chain(adam).collect()
    }

    /// Restores what [`LinearProbe::state`] saved (names under `prefix`).
    pub fn load_state(
        &mut self,
        saved: &BTreeMap<String, Tensor>,
        prefix: &str,
    ) -> Result<(), String> {
        crate::toolkit::checkpoint::restore(&self.vs.variables(), &format!("{prefix}var."), saved)?;
        self.adam.load_state(&crate::toolkit::checkpoint::under(
            saved,
            &format!("{prefix}adam."),
        ))
    }
}

/// A linear map with bias fitted in closed form (ridge regression in f64):
/// the frozen-model probe of `lam probe`.
#[derive(Debug)]
pub struct LinearFit {
    /// `[D + 1, out]`, the last row the bias.
    weights: Tensor,
}

impl LinearFit {
    /// Fits `y ≈ x W + b` on rows of `x` `[N, D]` and `y` `[N, out]`, with
    /// a ridge of `ridge` times the mean feature variance (scale-free).
    pub fn fit(x: &Tensor, y: &Tensor, ridge: f64) -> Self {
        let x = with_bias(x);
        let gram = x.tr().matmul(&x);
        let scale = gram
            .diagonal(0, 0, 1)
            .mean(tch::Kind::Double)
            .double_value(&[])
            / x.size()[0] as f64;
        let d = gram.size()[0];
        let eye = Tensor::eye(d, (tch::Kind::Double, x.device()));
        let lhs = gram + eye * (ridge * scale.max(1e-12) * x.size()[0] as f64);
        let rhs = x.tr().matmul(&y.to_kind(tch::Kind::Double));
        Self {
            weights: Tensor::linalg_solve(&lhs, &rhs, true),
        }
    }

    /// Predictions for rows of `x`.
    pub fn predict(&self, x: &Tensor) -> Tensor {
        with_bias(x).matmul(&self.weights)
    }

    /// Mean squared error on (`x`, `y`).
    pub fn mse(&self, x: &Tensor, y: &Tensor) -> f64 {
        (self.predict(x) - y.to_kind(tch::Kind::Double))
            .square()
            .mean(tch::Kind::Double)
            .double_value(&[])
    }
}

fn with_bias(x: &Tensor) -> Tensor {
    let x = x.to_kind(tch::Kind::Double);
    let ones = Tensor::ones([x.size()[0], 1], (tch::Kind::Double, x.device()));
    Tensor::cat(&[x, ones], 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_form_fit_recovers_a_linear_map() {
        let opts = (tch::Kind::Float, Device::Cpu);
        let x = Tensor::randn([200, 5], opts);
        let w = Tensor::randn([5, 3], opts);
        let y = x.matmul(&w) + 0.5;
        let fit = LinearFit::fit(&x, &y, 1e-9);
        assert!(fit.mse(&x, &y) < 1e-8, "{}", fit.mse(&x, &y));
        let noise = LinearFit::fit(&x, &Tensor::randn([200, 3], opts), 1e-6);
        assert!(noise.mse(&x, &y) > 0.1);
    }
    use tch::Kind;

    #[test]
    fn learns_a_linear_map_without_touching_its_input() {
        let model = nn::VarStore::new(Device::Cpu);
        let w = model.root().var(
            "w",
            &[8, 4],
            nn::Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        );
        let truth = Tensor::randn([4, 2], (Kind::Float, Device::Cpu));
        let mut probe = LinearProbe::new(4, 2, 1e-2, Device::Cpu);
        let first = {
            let x = Tensor::randn([64, 8], (Kind::Float, Device::Cpu)).matmul(&w);
            probe.mse(&x, &x.detach().matmul(&truth))
        };
        for _ in 0..800 {
            let x = Tensor::randn([64, 8], (Kind::Float, Device::Cpu)).matmul(&w);
            let y = x.detach().matmul(&truth);
            probe.step(&x, &y);
        }
        let x = Tensor::randn([256, 8], (Kind::Float, Device::Cpu)).matmul(&w);
        let last = probe.mse(&x, &x.detach().matmul(&truth));
        assert!(last < 0.05 * first, "probe MSE {first} -> {last}");
        assert!(
            !w.grad().defined(),
            "the probe sent gradients into the model"
        );
    }
}

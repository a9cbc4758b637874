//! Linear probes (METHOD.md §5): a linear map from detached latents (or
//! embeddings) to true actions (or states), trained alongside the model
//! with its own Adam. Probes never send gradients into the model.

use std::collections::BTreeMap;

use tch::nn::{self, Module};
use tch::{Device, Reduction, Tensor};

use crate::optim::Adam;

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
        self.adam.zero_grad();
        let loss = self
            .linear
            .forward(&x.detach())
            .mse_loss(y, Reduction::Mean);
        loss.backward();
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
        crate::checkpoint::restore(&self.vs.variables(), &format!("{prefix}var."), saved)?;
        self.adam
            .load_state(&crate::checkpoint::under(saved, &format!("{prefix}adam.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

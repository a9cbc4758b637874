//! Linear probes (METHOD.md §5): a linear map from detached latents (or
//! embeddings) to true actions (or states), trained alongside the model
//! with its own Adam. Probes never send gradients into the model. Beside
//! them, the frozen-model probes of `lam probe`: a closed-form ridge fit
//! ([`LinearFit`]) and a small MLP on a fixed budget ([`MlpFit`]).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Reduction, Tensor};

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

/// The fixed budget of an [`MlpFit`]: its size, steps and seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpSettings {
    /// Width of each hidden layer.
    pub hidden: i64,
    /// Hidden layers (ReLU after each).
    pub layers: usize,
    /// Adam updates.
    pub steps: usize,
    /// Rows per update (all rows when fewer).
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Inputs wider than this are projected onto their leading principal
    /// components (of the fitting rows) first, keeping the cost of a fit
    /// fixed whatever the model's latent size.
    pub max_inputs: i64,
    /// Seed of the initial weights and of the batches.
    pub seed: u64,
}

impl Default for MlpSettings {
    fn default() -> Self {
        Self {
            hidden: 256,
            layers: 2,
            steps: 1500,
            batch: 256,
            lr: 1e-3,
            max_inputs: 256,
            seed: 0,
        }
    }
}

/// Why an [`MlpFit`] could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum MlpError {
    /// Inputs and targets disagree, or there is nothing to fit.
    #[error("MLP probe: {0}")]
    Shape(String),
    /// A setting that cannot work.
    #[error("MLP probe setting {0}")]
    Setting(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// A small MLP probe (ReLU hidden layers) fitted with Adam on a fixed
/// budget ([`MlpSettings`]) to rows of standardised inputs: the non-linear
/// frozen-model probe, since a linear probe understates what a feature
/// holds. Every tenth fitting row (with 20 rows or more) is held back to
/// pick the weights of the best of the checks made every 100 steps.
/// Deterministic for a seed: weights and batches come from a seeded
/// generator of its own, not from libtorch's global one.
#[derive(Debug)]
pub struct MlpFit {
    /// Input mean `[1, D]`.
    mean: Tensor,
    /// `1 / std` per input (0 for a constant input) `[1, D]`.
    inv_std: Tensor,
    /// Leading principal directions `[D, P]`, scaled, when D > max_inputs.
    pca: Option<Tensor>,
    /// (weight `[in, out]`, bias `[out]`) per layer, the last linear.
    layers: Vec<(Tensor, Tensor)>,
}

impl MlpFit {
    /// Fits `y ≈ f(x)` on rows of `x` `[N, D]` and `y` `[N, out]`,
    /// minimising the squared error of each output column weighted by
    /// `column_weights` (`[out]`, uniform when None). The rows marked in
    /// `held_back` (`N` flags; every tenth row when None) are not fitted
    /// but pick the weights: those of the best check, one before the first
    /// step (the output layer starts at zero: it predicts 0, the mean of
    /// standardised targets) and one every 100 steps. Rows that are
    /// not independent of the fitted ones (neighbouring steps of one
    /// trajectory) pick overfitted weights: hold back whole trajectories.
    pub fn fit(
        x: &Tensor,
        y: &Tensor,
        column_weights: Option<&Tensor>,
        held_back: Option<&[bool]>,
        s: &MlpSettings,
    ) -> Result<Self, MlpError> {
        if s.hidden < 1 || s.layers < 1 || s.steps < 1 || s.batch < 1 || s.max_inputs < 1 {
            return Err(MlpError::Setting(format!(
                "{s:?}: hidden, layers, steps, batch and max_inputs must be at least 1"
            )));
        }
        if !(s.lr.is_finite() && s.lr > 0.0) {
            return Err(MlpError::Setting(format!(
                "lr {}: expected a finite rate above 0",
                s.lr
            )));
        }
        let (n, d) = match x.size()[..] {
            [n, d] => (n, d),
            _ => return Err(MlpError::Shape(format!("inputs of shape {:?}", x.size()))),
        };
        let out = match y.size()[..] {
            [m, out] if m == n => out,
            _ => {
                return Err(MlpError::Shape(format!(
                    "{n} input rows but targets of shape {:?}",
                    y.size()
                )))
            }
        };
        if n < 2 || d < 1 || out < 1 {
            return Err(MlpError::Shape(format!(
                "{n} rows of {d} inputs and {out} targets: need 2 rows and a column of each"
            )));
        }
        let device = x.device();
        let x = x.to_kind(Kind::Float);
        let y = y.to_kind(Kind::Float);
        let weights = match column_weights {
            Some(w) if w.size() == [out] => w.to_kind(Kind::Float).to_device(device),
            Some(w) => {
                return Err(MlpError::Shape(format!(
                    "{out} targets but column weights of shape {:?}",
                    w.size()
                )))
            }
            None => Tensor::ones([out], (Kind::Float, device)),
        };
        let weights = &weights / weights.sum(Kind::Float).clamp_min(1e-12);
        let mean = x.mean_dim(0, true, Kind::Float);
        let std = x.std_dim(0, false, true);
        // Inputs (nearly) constant on the fitting rows carry nothing here
        // and would be blown up by standardising: left out.
        let floor = (std.max().double_value(&[]) * 1e-3).max(1e-8);
        let inv_std = std
            .gt(floor)
            .to_kind(Kind::Float)
            .g_div(&std.clamp_min(floor));
        let standard = (&x - &mean) * &inv_std;
        let pca = (d > s.max_inputs).then(|| {
            // A rotation onto the leading components (those with some
            // variance), one scale for all so the mean input variance is 1:
            // not whitened, so that a direction nearly constant on the
            // fitting rows is not blown up on others.
            let (_, sv, v) = standard.svd(true, true);
            let sv = Vec::<f64>::try_from(sv.to_kind(Kind::Double)).unwrap_or_default();
            let top = sv.first().copied().unwrap_or(0.0);
            let k = sv
                .iter()
                .take(s.max_inputs as usize)
                .take_while(|&&x| x > top * 1e-3)
                .count()
                .max(1);
            let variance =
                sv[..k.min(sv.len())].iter().map(|x| x * x).sum::<f64>() / (k as f64 * n as f64);
            v.narrow(1, 0, k as i64) / variance.sqrt().max(1e-12)
        });
        let inputs = match &pca {
            Some(p) => standard.matmul(p),
            None => standard,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
        let vs = nn::VarStore::new(device);
        let widths: Vec<i64> = std::iter::once(inputs.size()[1])
            .chain(std::iter::repeat_n(s.hidden, s.layers))
            .chain([out])
            .collect();
        let mut layers = Vec::new();
        for (i, pair) in widths.windows(2).enumerate() {
            // PyTorch's default init: uniform within ±1/sqrt(fan_in).
            let bound = 1.0 / (pair[0] as f64).sqrt();
            let mut uniform = |len: i64| -> Tensor {
                let v: Vec<f32> = (0..len)
                    .map(|_| rng.random_range(-bound..bound) as f32)
                    .collect();
                Tensor::from_slice(&v).to_device(device)
            };
            let (mut w, mut b) = (
                uniform(pair[0] * pair[1]).view([pair[0], pair[1]]),
                uniform(pair[1]),
            );
            if i + 2 == widths.len() {
                // The output layer starts at zero: predicting 0 at first.
                w = w.zeros_like();
                b = b.zeros_like();
            }
            layers.push((
                vs.root().var_copy(&format!("w{i}"), &w),
                vs.root().var_copy(&format!("b{i}"), &b),
            ));
        }
        let mut fit = Self {
            mean,
            inv_std,
            pca,
            layers,
        };
        // Held back to pick the best weights.
        let rows: Vec<i64> = (0..n).collect();
        let (train, check): (Vec<i64>, Vec<i64>) = match held_back {
            Some(h) if h.len() as i64 != n => {
                return Err(MlpError::Shape(format!(
                    "{n} rows but {} held-back flags",
                    h.len()
                )))
            }
            Some(h) => rows.iter().partition(|&&i| !h[i as usize]),
            None if n >= 20 => rows.iter().partition(|&&i| i % 10 != 9),
            None => (rows.clone(), rows),
        };
        if train.is_empty() || check.is_empty() {
            return Err(MlpError::Shape(format!(
                "{} rows to fit and {} held back: need some of each",
                train.len(),
                check.len()
            )));
        }
        let index = |v: &[i64]| Tensor::from_slice(v).to_device(device);
        let (check_x, check_y) = (
            inputs.index_select(0, &index(&check)),
            y.index_select(0, &index(&check)),
        );
        let loss_of = |fit: &Self, x: &Tensor, y: &Tensor| {
            ((fit.forward(x) - y)
                .square()
                .mean_dim(0, false, Kind::Float)
                * &weights)
                .sum(Kind::Float)
        };
        let mut adam = Adam::new(&vs);
        let batch = s.batch.min(train.len());
        let mut best: Option<(f64, Vec<(Tensor, Tensor)>)> = None;
        for step in 0..=s.steps {
            if step % 100 == 0 || step == s.steps {
                let held = tch::no_grad(|| loss_of(&fit, &check_x, &check_y).double_value(&[]));
                if held.is_finite() && best.as_ref().is_none_or(|(b, _)| held < *b) {
                    let copy = fit
                        .layers
                        .iter()
                        .map(|(w, b)| (w.detach().copy(), b.detach().copy()))
                        .collect();
                    best = Some((held, copy));
                }
            }
            if step == s.steps {
                break;
            }
            let picked: Vec<i64> = (0..batch)
                .map(|_| train[rng.random_range(0..train.len())])
                .collect();
            let picked = index(&picked);
            let loss = loss_of(
                &fit,
                &inputs.index_select(0, &picked),
                &y.index_select(0, &picked),
            );
            adam.backward(&loss);
            adam.step(s.lr);
        }
        fit.layers = match best {
            Some((_, layers)) => layers,
            None => fit
                .layers
                .iter()
                .map(|(w, b)| (w.detach().copy(), b.detach().copy()))
                .collect(),
        };
        Ok(fit)
    }

    /// The network on prepared inputs.
    fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers
            .iter()
            .enumerate()
            .fold(x.shallow_clone(), |h, (i, (w, b))| {
                let h = h.matmul(w) + b;
                if i < last {
                    h.relu()
                } else {
                    h
                }
            })
    }

    /// Predictions for rows of `x` (f32).
    pub fn predict(&self, x: &Tensor) -> Tensor {
        tch::no_grad(|| {
            let x = (x.to_kind(Kind::Float) - &self.mean) * &self.inv_std;
            let x = match &self.pca {
                Some(p) => x.matmul(p),
                None => x,
            };
            self.forward(&x)
        })
    }
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

    /// R² of predictions `p` of `y` (uniform over columns).
    fn r2(p: &Tensor, y: &Tensor) -> f64 {
        let y = y.to_kind(Kind::Double);
        let mse = (p.to_kind(Kind::Double) - &y).square().mean(Kind::Double);
        let var = (&y - y.mean_dim(0, true, Kind::Double))
            .square()
            .mean(Kind::Double);
        1.0 - mse.double_value(&[]) / var.double_value(&[])
    }

    #[test]
    fn an_mlp_finds_what_a_linear_fit_cannot_and_repeats_itself() {
        let opts = (tch::Kind::Float, Device::Cpu);
        let x = Tensor::randn([2000, 3], opts);
        let y = x.narrow(1, 0, 1).square();
        let (fit_x, fit_y) = (x.narrow(0, 0, 1500), y.narrow(0, 0, 1500));
        let (held_x, held_y) = (x.narrow(0, 1500, 500), y.narrow(0, 1500, 500));
        let s = MlpSettings {
            steps: 800,
            ..MlpSettings::default()
        };
        let mlp = MlpFit::fit(&fit_x, &fit_y, None, None, &s).unwrap();
        let linear = LinearFit::fit(&fit_x, &fit_y, 1e-3);
        let (m, l) = (
            r2(&mlp.predict(&held_x), &held_y),
            r2(&linear.predict(&held_x), &held_y),
        );
        assert!(m > 0.8 && l < 0.3, "MLP R² {m}, linear R² {l}");
        let again = MlpFit::fit(&fit_x, &fit_y, None, None, &s).unwrap();
        assert!(again.predict(&held_x).equal(&mlp.predict(&held_x)));
        let other = MlpFit::fit(&fit_x, &fit_y, None, None, &MlpSettings { seed: 1, ..s }).unwrap();
        assert!(!other.predict(&held_x).equal(&mlp.predict(&held_x)));
    }

    #[test]
    fn wide_inputs_are_reduced_and_bad_shapes_refused() {
        let opts = (tch::Kind::Float, Device::Cpu);
        // 40 inputs, 3 of them informative, reduced to 8 components.
        let z = Tensor::randn([600, 3], opts);
        let x = Tensor::cat(
            &[
                z.matmul(&Tensor::randn([3, 40], opts)),
                Tensor::zeros([600, 2], opts),
            ],
            1,
        );
        let y = z.narrow(1, 0, 1);
        let s = MlpSettings {
            steps: 300,
            max_inputs: 8,
            ..MlpSettings::default()
        };
        let mlp = MlpFit::fit(&x.narrow(0, 0, 500), &y.narrow(0, 0, 500), None, None, &s).unwrap();
        let held = r2(&mlp.predict(&x.narrow(0, 500, 100)), &y.narrow(0, 500, 100));
        assert!(held > 0.9, "{held}");
        assert!(MlpFit::fit(&x, &y.narrow(0, 0, 10), None, None, &s).is_err());
        assert!(MlpFit::fit(&x, &y, None, Some(&[true; 600]), &s).is_err());
        let bad = MlpSettings { steps: 0, ..s };
        assert!(MlpFit::fit(&x, &y, None, None, &bad).is_err());
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

//! EMA target networks: each variable of a frozen target store follows the
//! online variable of the same name, θ' ← (1 − τ) θ' + τ θ.

use tch::{nn, Tensor};

/// (target, online) variable pairs matched by name.
#[derive(Debug)]
pub struct EmaTarget {
    pairs: Vec<(Tensor, Tensor)>,
}

impl EmaTarget {
    /// Pairs every variable of `target` with the variable of the same name
    /// in `online` (names kept by `keep`), in name order, and copies the
    /// online values into the target.
    pub fn new(online: &nn::VarStore, target: &nn::VarStore, keep: impl Fn(&str) -> bool) -> Self {
        let online = online.variables();
        let mut named: Vec<(String, Tensor, Tensor)> = target
            .variables()
            .into_iter()
            .filter(|(name, _)| keep(name))
            .filter_map(|(name, t)| online.get(&name).map(|o| (name, t, o.shallow_clone())))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let pairs: Vec<(Tensor, Tensor)> = named.into_iter().map(|(_, t, o)| (t, o)).collect();
        tch::no_grad(|| {
            for (t, o) in &pairs {
                t.shallow_clone().copy_(o);
            }
        });
        Self { pairs }
    }

    /// θ' ← (1 − τ) θ' + τ θ for every pair.
    pub fn update(&mut self, tau: f64) {
        tch::no_grad(|| {
            for (t, o) in &mut self.pairs {
                let _ = t.lerp_(o, tau);
            }
        });
    }
}

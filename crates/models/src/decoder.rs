//! The action decoder of METHOD.md §2: an MLP (two hidden layers, ReLU6)
//! from a latent action to a true action, trained on the labeled subset
//! while the latent BC actor that feeds it stays frozen.

use tch::nn::{self, Module};
use tch::Tensor;

use crate::blocks::orthogonal_linear;

/// Latent action → action.
#[derive(Debug)]
pub struct ActionDecoder {
    layers: Vec<nn::Linear>,
}

impl ActionDecoder {
    /// A decoder from `d_in` latent values through two hidden layers of
    /// `width` to `d_out` action values.
    pub fn new(vs: &nn::Path, d_in: i64, width: i64, d_out: i64) -> Self {
        let dims = [d_in, width, width, d_out];
        Self {
            layers: dims
                .windows(2)
                .enumerate()
                .map(|(i, d)| orthogonal_linear(&(vs / format!("layer{i}")), d[0], d[1]))
                .collect(),
        }
    }
}

impl Module for ActionDecoder {
    fn forward(&self, z: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers
            .iter()
            .enumerate()
            .fold(z.shallow_clone(), |h, (i, l)| {
                let y = l.forward(&h);
                if i < last {
                    y.relu6()
                } else {
                    y
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn decoder_maps_latents_to_actions_with_two_hidden_layers() {
        let vs = nn::VarStore::new(Device::Cpu);
        let d = ActionDecoder::new(&vs.root(), 12, 256, 6);
        let z = Tensor::randn([5, 12], (Kind::Float, Device::Cpu));
        assert_eq!(d.forward(&z).size(), vec![5, 6]);
        assert_eq!(
            vs.variables().len(),
            6,
            "three layers with weights and biases"
        );
    }
}

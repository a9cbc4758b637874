//! The pixel actor of METHOD.md §6, used by the BC baseline (and by latent
//! BC downstream): conv encoder → spatial mean → ReLU6 → Linear.

use tch::nn::{self, Module};
use tch::Tensor;

use crate::toolkit::blocks::orthogonal_linear;
use crate::toolkit::encoder::{Encoder, EncoderConfig};

/// An encoder over one stacked observation and a linear output layer.
#[derive(Debug)]
pub struct Actor {
    encoder: Encoder,
    output: nn::Linear,
    d_out: i64,
}

impl Actor {
    /// An actor from observations shaped by `encoder` to `d_out` values.
    pub fn new(vs: &nn::Path, encoder: EncoderConfig, d_out: i64) -> Self {
        let encoder = Encoder::new(&(vs / "encoder"), encoder);
        let channels = encoder.out_shape().0;
        Self {
            output: orthogonal_linear(&(vs / "output"), channels, d_out),
            encoder,
            d_out,
        }
    }

    /// The pooled embedding `[B, C]` (before ReLU6), for the state probe.
    pub fn embed(&self, obs: &Tensor) -> Tensor {
        self.encoder
            .forward(obs)
            .mean_dim([2, 3].as_slice(), false, tch::Kind::Float)
    }

    /// Size of [`Actor::embed`].
    pub fn embedding_dim(&self) -> i64 {
        self.encoder.out_shape().0
    }

    /// Size of the output.
    pub fn output_dim(&self) -> i64 {
        self.d_out
    }

    /// The actor's output from a pooled embedding.
    pub fn head(&self, embedding: &Tensor) -> Tensor {
        self.output.forward(&embedding.relu6())
    }
}

impl Module for Actor {
    fn forward(&self, obs: &Tensor) -> Tensor {
        self.head(&self.embed(obs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolkit::encoder::Depth;
    use tch::{Device, Kind};

    #[test]
    fn actor_maps_observations_to_outputs() {
        let vs = nn::VarStore::new(Device::Cpu);
        let enc = EncoderConfig {
            in_channels: 9,
            image: 32,
            depth: Depth::Shallow,
            scale: 1,
            num_res: 1,
        };
        let actor = Actor::new(&vs.root(), enc, 6);
        let x = Tensor::rand([3, 9, 32, 32], (Kind::Float, Device::Cpu));
        assert_eq!(actor.forward(&x).size(), vec![3, 6]);
        assert_eq!(actor.embed(&x).size(), vec![3, 32]);
        actor.forward(&x).sum(Kind::Float).backward();
        for (name, v) in vs.variables() {
            assert!(v.grad().defined(), "{name} got no gradient");
        }
    }
}

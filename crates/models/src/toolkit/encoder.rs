//! The conv encoder of METHOD.md §4: stages of (Conv3x3 stride 2 + residual
//! blocks), shallow (16, 32, 32) or deep (16, 32, 64, 128, 256) channels
//! times `encoder_scale`.

use tch::nn::{self, Module};
use tch::Tensor;

use crate::toolkit::blocks::EncoderStage;

/// Channel layouts of the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Depth {
    /// (16, 32, 32).
    Shallow,
    /// (16, 32, 64, 128, 256).
    Deep,
}

impl Depth {
    /// Base channels per stage.
    pub fn channels(self) -> &'static [i64] {
        match self {
            Depth::Shallow => &[16, 32, 32],
            Depth::Deep => &[16, 32, 64, 128, 256],
        }
    }
}

/// Shape of an encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Input channels (9 for a 3-frame stack, 18 for a stacked pair).
    pub in_channels: i64,
    /// Input side in pixels (square images).
    pub image: i64,
    /// Channel layout.
    pub depth: Depth,
    /// Channel multiplier.
    pub scale: i64,
    /// Residual blocks per stage.
    pub num_res: usize,
}

/// Stages of conv + residual blocks: `[B, C_in, S, S]` → `[B, C, S/2^n, S/2^n]`.
#[derive(Debug)]
pub struct Encoder {
    stages: Vec<EncoderStage>,
    out: (i64, i64, i64),
}

impl Encoder {
    /// Builds the encoder under `vs`.
    pub fn new(vs: &nn::Path, config: EncoderConfig) -> Self {
        let mut c_in = config.in_channels;
        let mut side = config.image;
        let stages = config
            .depth
            .channels()
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let c_out = c * config.scale;
                let stage =
                    EncoderStage::new(&(vs / format!("stage{i}")), c_in, c_out, config.num_res);
                c_in = c_out;
                side = (side + 1) / 2;
                stage
            })
            .collect();
        Self {
            stages,
            out: (c_in, side, side),
        }
    }

    /// Output (channels, height, width).
    pub fn out_shape(&self) -> (i64, i64, i64) {
        self.out
    }

    /// Flattened output size.
    pub fn out_dim(&self) -> i64 {
        self.out.0 * self.out.1 * self.out.2
    }
}

impl Module for Encoder {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.stages
            .iter()
            .fold(x.shallow_clone(), |h, s| s.forward(&h))
    }
}

/// Observations as stored (uint8, `[B, H, W, C]`) to network input
/// (float in [-1, 1], `[B, C, H, W]`).
pub fn to_input(obs: &Tensor) -> Tensor {
    obs.permute([0, 3, 1, 2]).to_kind(tch::Kind::Float) / 127.5 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn shallow_and_deep_shapes() {
        let vs = nn::VarStore::new(Device::Cpu);
        let shallow = Encoder::new(
            &(vs.root() / "a"),
            EncoderConfig {
                in_channels: 9,
                image: 64,
                depth: Depth::Shallow,
                scale: 2,
                num_res: 1,
            },
        );
        assert_eq!(shallow.out_shape(), (64, 8, 8));
        let x = Tensor::rand([2, 9, 64, 64], (Kind::Float, Device::Cpu));
        assert_eq!(shallow.forward(&x).size(), vec![2, 64, 8, 8]);
        let deep = Encoder::new(
            &(vs.root() / "b"),
            EncoderConfig {
                in_channels: 18,
                image: 64,
                depth: Depth::Deep,
                scale: 1,
                num_res: 0,
            },
        );
        assert_eq!(deep.out_shape(), (256, 2, 2));
        let y = Tensor::rand([1, 18, 64, 64], (Kind::Float, Device::Cpu));
        assert_eq!(deep.forward(&y).size(), vec![1, 256, 2, 2]);
    }

    #[test]
    fn inputs_are_scaled_to_minus_one_one_channels_first() {
        let obs = Tensor::from_slice(&[0u8, 255, 127, 0, 0, 0]).reshape([1, 1, 2, 3]);
        let x = to_input(&obs);
        assert_eq!(x.size(), vec![1, 3, 1, 2]);
        assert!((x.double_value(&[0, 0, 0, 0]) + 1.0).abs() < 1e-6);
        assert!((x.double_value(&[0, 1, 0, 0]) - 1.0).abs() < 1e-6);
    }
}

//! The shared blocks of METHOD.md §4: the conv encoder stage with residual
//! blocks (ReLU6) and the LayerNorm MLP block. Orthogonal weights, zero biases.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Overwrites `weight` (any rank >= 2, first dim = outputs) with a random
/// orthogonal matrix of shape [outputs, rest], as `torch.nn.init.orthogonal_`.
pub fn orthogonal_(weight: &mut Tensor, gain: f64) {
    let shape = weight.size();
    let rows = shape[0];
    let cols: i64 = shape[1..].iter().product();
    tch::no_grad(|| {
        let mut flat = Tensor::randn([rows, cols], (Kind::Float, weight.device()));
        if rows < cols {
            flat = flat.tr();
        }
        let (q, r) = Tensor::linalg_qr(&flat, "reduced");
        // Make the decomposition unique (uniformly distributed q).
        let q = q * r.diagonal(0, 0, 1).sign().unsqueeze(0);
        let q = if rows < cols { q.tr() } else { q };
        weight.copy_(&(q * gain).reshape(&shape[..]).to_kind(weight.kind()));
    });
}

/// Orthogonal initialisation with zero bias, as the paper's models use.
fn orthogonal_conv(vs: &nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> nn::Conv2D {
    let config = nn::ConvConfig {
        stride,
        padding: k / 2,
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    let mut conv = nn::conv2d(vs, c_in, c_out, k, config);
    orthogonal_(&mut conv.ws, 1.0);
    conv
}

/// Orthogonal-initialised linear layer with zero bias.
pub fn orthogonal_linear(vs: &nn::Path, d_in: i64, d_out: i64) -> nn::Linear {
    let config = nn::LinearConfig {
        bs_init: Some(nn::Init::Const(0.0)),
        ..Default::default()
    };
    let mut linear = nn::linear(vs, d_in, d_out, config);
    orthogonal_(&mut linear.ws, 1.0);
    linear
}

/// `x + Conv3x3(ReLU6(Conv3x3(ReLU6(x))))`.
#[derive(Debug)]
pub struct ResidualBlock {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
}

impl ResidualBlock {
    /// A block keeping `channels` channels and the spatial size.
    pub fn new(vs: &nn::Path, channels: i64) -> Self {
        Self {
            conv1: orthogonal_conv(&(vs / "conv1"), channels, channels, 3, 1),
            conv2: orthogonal_conv(&(vs / "conv2"), channels, channels, 3, 1),
        }
    }
}

impl Module for ResidualBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = self.conv1.forward(&x.relu6());
        let h = self.conv2.forward(&h.relu6());
        x + h
    }
}

/// Conv3x3 stride 2 (halves H and W) followed by `num_res` residual blocks.
#[derive(Debug)]
pub struct EncoderStage {
    conv: nn::Conv2D,
    blocks: Vec<ResidualBlock>,
}

impl EncoderStage {
    /// A stage from `c_in` to `c_out` channels.
    pub fn new(vs: &nn::Path, c_in: i64, c_out: i64, num_res: usize) -> Self {
        let conv = orthogonal_conv(&(vs / "conv"), c_in, c_out, 3, 2);
        let blocks = (0..num_res)
            .map(|i| ResidualBlock::new(&(vs / format!("res{i}")), c_out))
            .collect();
        Self { conv, blocks }
    }
}

impl Module for EncoderStage {
    fn forward(&self, x: &Tensor) -> Tensor {
        // [B, c_in, H, W] -> [B, c_out, H/2, W/2]
        let mut h = self.conv.forward(x);
        for block in &self.blocks {
            h = block.forward(&h);
        }
        h
    }
}

/// `LayerNorm(x + Linear(ReLU6(Linear(x, 4x)), x))`.
#[derive(Debug)]
pub struct MlpBlock {
    up: nn::Linear,
    down: nn::Linear,
    norm: nn::LayerNorm,
}

impl MlpBlock {
    /// A block of width `dim` (hidden width `4 * dim`).
    pub fn new(vs: &nn::Path, dim: i64) -> Self {
        Self {
            up: orthogonal_linear(&(vs / "up"), dim, 4 * dim),
            down: orthogonal_linear(&(vs / "down"), 4 * dim, dim),
            norm: nn::layer_norm(vs / "norm", vec![dim], Default::default()),
        }
    }
}

impl Module for MlpBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = self.down.forward(&self.up.forward(x).relu6());
        self.norm.forward(&(x + h))
    }
}

/// An MLP head whose every block is re-conditioned on `cond`:
/// h ← Block(Linear(concat(h, cond))).
#[derive(Debug)]
pub struct ConditionedHead {
    input: nn::Linear,
    mixes: Vec<nn::Linear>,
    blocks: Vec<MlpBlock>,
    output: nn::Linear,
}

impl ConditionedHead {
    /// A head from `d_in` inputs (conditioned on `d_cond` values) to `d_out`.
    pub fn new(
        vs: &nn::Path,
        d_in: i64,
        d_cond: i64,
        width: i64,
        blocks: usize,
        d_out: i64,
    ) -> Self {
        Self {
            input: orthogonal_linear(&(vs / "input"), d_in, width),
            mixes: (0..blocks)
                .map(|i| orthogonal_linear(&(vs / format!("mix{i}")), width + d_cond, width))
                .collect(),
            blocks: (0..blocks)
                .map(|i| MlpBlock::new(&(vs / format!("block{i}")), width))
                .collect(),
            output: orthogonal_linear(&(vs / "output"), width, d_out),
        }
    }

    /// The head on `x`, conditioned on `cond` at every block.
    pub fn forward(&self, x: &Tensor, cond: &Tensor) -> Tensor {
        let mut h = self.input.forward(x);
        for (mix, block) in self.mixes.iter().zip(&self.blocks) {
            h = block.forward(&mix.forward(&Tensor::cat(&[&h, cond], 1)));
        }
        self.output.forward(&h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn encoder_stage_halves_the_image_and_sets_channels() {
        let vs = nn::VarStore::new(Device::Cpu);
        let stage = EncoderStage::new(&vs.root(), 9, 16, 2);
        let x = Tensor::rand([2, 9, 64, 64], (Kind::Float, Device::Cpu));
        assert_eq!(stage.forward(&x).size(), vec![2, 16, 32, 32]);
    }

    #[test]
    fn orthogonal_init_gives_orthonormal_rows_and_zero_bias() {
        let vs = nn::VarStore::new(Device::Cpu);
        let lin = orthogonal_linear(&vs.root(), 64, 32);
        let w = &lin.ws; // [32, 64]
        let gram = w.matmul(&w.tr());
        let err = (gram - Tensor::eye(32, (Kind::Float, Device::Cpu)))
            .abs()
            .max()
            .double_value(&[]);
        assert!(err < 1e-4, "W W^T differs from I by {err}");
        let bias = lin.bs.as_ref().unwrap().abs().max().double_value(&[]);
        assert_eq!(bias, 0.0);
    }

    #[test]
    fn orthogonal_conv_weights_are_orthonormal_when_flattened() {
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = orthogonal_conv(&vs.root(), 4, 8, 3, 1); // [8, 36]: rows orthonormal
        let w = conv.ws.reshape([8, 36]);
        let err = (w.matmul(&w.tr()) - Tensor::eye(8, (Kind::Float, Device::Cpu)))
            .abs()
            .max()
            .double_value(&[]);
        assert!(err < 1e-4, "W W^T differs from I by {err}");
        assert_eq!(conv.ws.size(), vec![8, 4, 3, 3]);
    }

    #[test]
    fn mlp_block_output_is_layer_normalised() {
        let vs = nn::VarStore::new(Device::Cpu);
        let block = MlpBlock::new(&vs.root(), 8);
        let x = Tensor::randn([4, 8], (Kind::Float, Device::Cpu)) * 5.0;
        let y = block.forward(&x);
        let mean = y
            .mean_dim(-1, false, Kind::Float)
            .abs()
            .max()
            .double_value(&[]);
        let std = y.std_dim(-1, false, false).double_value(&[0]);
        assert!(mean < 1e-4, "row mean {mean}");
        assert!((std - 1.0).abs() < 1e-2, "row std {std}");
    }

    #[test]
    fn gradients_flow_through_the_residual_stage() {
        let vs = nn::VarStore::new(Device::Cpu);
        let stage = EncoderStage::new(&vs.root(), 3, 4, 1);
        let x = Tensor::rand([1, 3, 8, 8], (Kind::Float, Device::Cpu));
        stage.forward(&x).sum(Kind::Float).backward();
        for (name, var) in vs.variables() {
            let g = var.grad();
            assert!(g.defined(), "{name} got no gradient");
        }
    }
}

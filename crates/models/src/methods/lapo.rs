//! LAPO (METHOD.md §4): an IDM infers a latent action from (o_t, o_{t+k});
//! an FDM predicts o_{t+1} in pixel space from o_t and the latent; the loss
//! is the pixel MSE. Latents may be quantized with FSQ (off by default: the
//! paper shows quantization hurts).

use tch::nn::{self, Module};
use tch::{Kind, Reduction, Tensor};

use super::{encoder_config, Loss, Model, StepInputs};
use crate::batch::DataShape;
use crate::config::RunConfig;
use crate::toolkit::blocks::{orthogonal_linear, ResidualBlock};
use crate::toolkit::encoder::{Encoder, EncoderConfig};
use crate::toolkit::fsq::Fsq;
use crate::ModelError;

/// Settings of a LAPO model.
#[derive(Clone, Debug, PartialEq)]
pub struct LapoConfig {
    /// The encoder of one stacked observation (the IDM's takes two).
    pub encoder: EncoderConfig,
    /// Latent action size (ignored with FSQ: its level count is the size).
    pub latent_dim: i64,
    /// FSQ levels, `None` for a continuous latent.
    pub fsq: Option<Vec<i64>>,
    /// Weight of background pixels (agent mask 0) in the pixel loss, agent
    /// pixels weighing 1; 1 is the plain MSE.
    pub background_weight: f64,
}

/// An upsampling stage: 2x2 transposed conv (stride 2) then residual blocks.
#[derive(Debug)]
struct DecoderStage {
    up: nn::ConvTranspose2D,
    blocks: Vec<ResidualBlock>,
}

impl Module for DecoderStage {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.blocks
            .iter()
            .fold(self.up.forward(x), |h, b| b.forward(&h))
    }
}

/// The LAPO model.
#[derive(Debug)]
pub struct Lapo {
    idm_encoder: Encoder,
    idm_head: nn::Linear,
    fsq: Option<Fsq>,
    fdm_encoder: Encoder,
    latent_proj: nn::Linear,
    decoder: Vec<DecoderStage>,
    out_conv: nn::Conv2D,
    latent_dim: i64,
    background_weight: f64,
}

/// What one LAPO step computes.
#[derive(Debug)]
pub struct LapoOutput {
    /// Latent actions `[B, latent]`.
    pub latent: Tensor,
    /// Predicted o_{t+1} in [-1, 1], `[B, C, H, W]`.
    pub prediction: Tensor,
    /// The FDM encoder's flat embedding of o_t (what [`Lapo::embed`] gives).
    pub embedding: Tensor,
    /// Pixel MSE to o_{t+1}.
    pub loss: Tensor,
}

impl Lapo {
    /// Builds the model under `vs`.
    pub fn new(vs: &nn::Path, c: &LapoConfig) -> Result<Self, ModelError> {
        let fsq = c
            .fsq
            .clone()
            .map(Fsq::new)
            .transpose()
            .map_err(ModelError::Build)?;
        let latent_dim = fsq.as_ref().map_or(c.latent_dim, Fsq::dim);
        let obs_channels = c.encoder.in_channels;
        let enc = |in_channels| EncoderConfig {
            in_channels,
            ..c.encoder
        };
        let idm_encoder = Encoder::new(&(vs / "idm_encoder"), enc(2 * obs_channels));
        let idm_head = orthogonal_linear(&(vs / "idm_head"), idm_encoder.out_dim(), latent_dim);
        let fdm_encoder = Encoder::new(&(vs / "fdm_encoder"), enc(obs_channels));
        let latent_proj =
            orthogonal_linear(&(vs / "latent_proj"), latent_dim, fdm_encoder.out_dim());
        let (channels, _, _) = fdm_encoder.out_shape();
        // Mirror the encoder: from 2C channels back up to the first stage's width.
        let widths: Vec<i64> = c
            .encoder
            .depth
            .channels()
            .iter()
            .rev()
            .map(|w| w * c.encoder.scale)
            .collect();
        let mut c_in = 2 * channels;
        let decoder = widths
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                let out = widths.get(i + 1).copied().unwrap_or(w);
                let path = vs / "decoder" / format!("stage{i}");
                let config = nn::ConvTransposeConfig {
                    stride: 2,
                    ..Default::default()
                };
                let up = nn::conv_transpose2d(&path / "up", c_in, out, 2, config);
                let blocks = (0..c.encoder.num_res)
                    .map(|r| ResidualBlock::new(&(&path / format!("res{r}")), out))
                    .collect();
                c_in = out;
                DecoderStage { up, blocks }
            })
            .collect();
        let out_conv = nn::conv2d(vs / "out_conv", c_in, obs_channels, 1, Default::default());
        Ok(Self {
            idm_encoder,
            idm_head,
            fsq,
            fdm_encoder,
            latent_proj,
            decoder,
            out_conv,
            latent_dim,
            background_weight: c.background_weight,
        })
    }

    /// Latent action size.
    pub fn latent_dim(&self) -> i64 {
        self.latent_dim
    }

    /// The FDM encoder's flat embedding of observations (for the state probe).
    pub fn embed(&self, obs: &Tensor) -> Tensor {
        self.fdm_encoder.forward(obs).flatten(1, -1)
    }

    /// Size of [`Lapo::embed`].
    pub fn embedding_dim(&self) -> i64 {
        self.fdm_encoder.out_dim()
    }

    /// The IDM: latent actions from inputs o_t and o_{t+k} (`[B, C, H, W]`, in [-1, 1]).
    pub fn infer_latent(&self, obs: &Tensor, future: &Tensor) -> Tensor {
        let h = self.idm_encoder.forward(&Tensor::cat(&[obs, future], 1));
        let z = self.idm_head.forward(&h.flatten(1, -1).gelu("none"));
        match &self.fsq {
            Some(fsq) => fsq.quantize(&z),
            None => z,
        }
    }

    /// The FDM: predicted o_{t+1} from o_t and latent actions.
    pub fn predict_next(&self, obs: &Tensor, latent: &Tensor) -> Tensor {
        self.decode(&self.fdm_encoder.forward(obs), latent)
    }

    /// The FDM's decoder from the encoded o_t `h` and the latent actions.
    fn decode(&self, h: &Tensor, latent: &Tensor) -> Tensor {
        let (c, hh, ww) = self.fdm_encoder.out_shape();
        let zl = self.latent_proj.forward(latent).view([-1, c, hh, ww]);
        let x = self
            .decoder
            .iter()
            .fold(Tensor::cat(&[h, &zl], 1), |x, s| s.forward(&x));
        self.out_conv.forward(&x).tanh()
    }

    /// One training step's forward pass and loss: the pixel MSE to
    /// o_{t+1}, weighted by its agent mask `next_mask` (`[B, C, H, W]`, 1 =
    /// agent) when the model down-weights the background and one is given.
    pub fn forward(
        &self,
        obs: &Tensor,
        next: &Tensor,
        future: &Tensor,
        next_mask: Option<&Tensor>,
    ) -> LapoOutput {
        let latent = self.infer_latent(obs, future);
        let h = self.fdm_encoder.forward(obs);
        let prediction = self.decode(&h, &latent);
        let loss = match next_mask.filter(|_| self.background_weight < 1.0) {
            Some(m) => weighted_pixel_loss(&prediction, next, m, self.background_weight),
            None => prediction.mse_loss(next, Reduction::Mean),
        };
        LapoOutput {
            latent,
            prediction,
            embedding: h.flatten(1, -1),
            loss,
        }
    }
}

/// The squared pixel error of `prediction` to `target`, each pixel
/// weighted 1 where `mask` is 1 (the agent) and `background` where it is 0,
/// divided by the sum of the weights (so that `background = 1` is the plain
/// MSE and the loss keeps its scale as `background` falls).
pub fn weighted_pixel_loss(
    prediction: &Tensor,
    target: &Tensor,
    mask: &Tensor,
    background: f64,
) -> Tensor {
    let kind = prediction.kind();
    let weight = (mask.to_kind(kind) * (1.0 - background) + background).detach();
    let error = (prediction - target).square() * &weight;
    error.sum(kind) / weight.sum(kind).clamp_min(1e-12)
}

impl Lapo {
    /// The LAPO of a run's settings (`model.fsq_levels` empty: continuous latents).
    pub fn from_run(
        vs: &nn::VarStore,
        c: &RunConfig,
        shape: DataShape,
    ) -> Result<Self, ModelError> {
        let m = &c.model;
        Self::new(
            &vs.root(),
            &LapoConfig {
                encoder: encoder_config(c, shape),
                latent_dim: m.latent_dim,
                fsq: (!m.fsq_levels.is_empty()).then(|| m.fsq_levels.clone()),
                background_weight: c.train.mask_background_weight,
            },
        )
    }
}

impl Model for Lapo {
    /// The pixel MSE of the FDM's o_{t+1}, its background pixels
    /// down-weighted by `train.mask_background_weight` when the batch has
    /// agent masks (the plain MSE without them); nothing else.
    fn loss(&self, x: &StepInputs) -> Loss {
        let out = self.forward(x.obs, x.next, x.future, x.masks.map(|m| &m.next));
        Loss {
            loss: out.loss,
            supervision: None,
            latent: Some(out.latent),
            embedding: out.embedding,
        }
    }

    fn latent_dim(&self) -> Option<i64> {
        Some(self.latent_dim)
    }

    fn embedding_dim(&self) -> i64 {
        Lapo::embedding_dim(self)
    }

    fn latent(&self, obs: &Tensor, future: &Tensor) -> Option<Tensor> {
        Some(self.infer_latent(obs, future))
    }

    fn embed(&self, obs: &Tensor) -> Tensor {
        Lapo::embed(self, obs)
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// A scalar loss as f64 (for logs and tests).
pub fn scalar(t: &Tensor) -> f64 {
    t.to_kind(Kind::Double).double_value(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolkit::encoder::Depth;
    use tch::Device;

    fn config(fsq: Option<Vec<i64>>) -> LapoConfig {
        LapoConfig {
            encoder: EncoderConfig {
                in_channels: 9,
                image: 32,
                depth: Depth::Shallow,
                scale: 1,
                num_res: 1,
            },
            latent_dim: 16,
            fsq,
            background_weight: 1.0,
        }
    }

    #[test]
    fn shapes_and_gradients() {
        let vs = nn::VarStore::new(Device::Cpu);
        let lapo = Lapo::new(&vs.root(), &config(None)).unwrap();
        let x = || Tensor::rand([3, 9, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let out = lapo.forward(&x(), &x(), &x(), None);
        assert_eq!(out.latent.size(), vec![3, 16]);
        assert_eq!(out.prediction.size(), vec![3, 9, 32, 32]);
        out.loss.backward();
        // Both the IDM and the FDM learn from the pixel loss.
        for (name, t) in vs.variables() {
            if name.ends_with("weight") {
                assert!(
                    scalar(&t.grad().abs().sum(Kind::Float)) > 0.0,
                    "no gradient for {name}"
                );
            }
        }
    }

    #[test]
    fn fsq_latents_are_quantized() {
        let vs = nn::VarStore::new(Device::Cpu);
        let lapo = Lapo::new(&vs.root(), &config(Some(vec![3, 3, 3]))).unwrap();
        assert_eq!(lapo.latent_dim(), 3);
        let x = Tensor::rand([4, 9, 32, 32], (Kind::Float, Device::Cpu));
        let z = lapo.infer_latent(&x, &x);
        let values: Vec<f32> = Vec::<f32>::try_from(z.flatten(0, -1)).unwrap();
        assert!(values
            .iter()
            .all(|v| [-1.0f32, 0.0, 1.0].iter().any(|g| (v - g).abs() < 1e-5)));
    }

    #[test]
    fn the_weighted_loss_is_the_mse_at_1_and_ignores_the_background_at_0() {
        let opts = (Kind::Float, Device::Cpu);
        let prediction = Tensor::rand([2, 9, 8, 8], opts) * 2.0 - 1.0;
        let target = Tensor::rand([2, 9, 8, 8], opts) * 2.0 - 1.0;
        let mask = Tensor::rand([2, 9, 8, 8], opts)
            .gt(0.7)
            .to_kind(Kind::Float);
        let mse = scalar(&prediction.mse_loss(&target, Reduction::Mean));
        let at_1 = scalar(&weighted_pixel_loss(&prediction, &target, &mask, 1.0));
        assert!((at_1 - mse).abs() < 1e-6 * mse, "{at_1} vs {mse}");
        // Other background pixels in the target only.
        let noise = Tensor::rand([2, 9, 8, 8], opts) * 2.0 - 1.0;
        let other = target.where_self(&mask.to_kind(Kind::Bool), &noise);
        assert!(scalar(&(&other - &target).abs().sum(Kind::Float)) > 1.0);
        let loss = |t: &Tensor, w: f64| scalar(&weighted_pixel_loss(&prediction, t, &mask, w));
        assert_eq!(loss(&target, 0.0), loss(&other, 0.0));
        assert_ne!(loss(&target, 0.1), loss(&other, 0.1));
        // At 0: the MSE over the agent's pixels alone.
        let squared = ((&prediction - &target).square() * &mask).sum(Kind::Float);
        let agent = scalar(&(squared / mask.sum(Kind::Float)));
        assert!((loss(&target, 0.0) - agent).abs() < 1e-6);
    }

    #[test]
    fn a_zero_background_weight_makes_the_model_loss_blind_to_the_targets_background() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut c = config(None);
        c.background_weight = 0.0;
        let lapo = Lapo::new(&vs.root(), &c).unwrap();
        let opts = (Kind::Float, Device::Cpu);
        let x = || Tensor::rand([3, 9, 32, 32], opts) * 2.0 - 1.0;
        let (obs, next, future) = (x(), x(), x());
        let mask = Tensor::rand([3, 9, 32, 32], opts)
            .gt(0.5)
            .to_kind(Kind::Float);
        let other = next.where_self(&mask.to_kind(Kind::Bool), &x());
        let a = lapo.forward(&obs, &next, &future, Some(&mask)).loss;
        let b = lapo.forward(&obs, &other, &future, Some(&mask)).loss;
        assert_eq!(scalar(&a), scalar(&b));
        // Without a mask: the plain MSE, which sees the change.
        let a = lapo.forward(&obs, &next, &future, None).loss;
        let b = lapo.forward(&obs, &other, &future, None).loss;
        assert_ne!(scalar(&a), scalar(&b));
    }
}

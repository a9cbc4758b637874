//! The tensors one training step reads, and the data sizes a model is built for.

use tch::{Device, Kind, Tensor};

/// Channels of one stacked observation (3 RGB frames).
pub const OBS_CHANNELS: i64 = 9;

/// A batch on the device: stacked frames as floats in [-1, 1] `[B, C, H, W]`.
#[derive(Debug)]
pub struct TrainBatch {
    /// o_t.
    pub obs: Tensor,
    /// o_{t+1}.
    pub next: Tensor,
    /// o_{t+k}.
    pub future: Tensor,
    /// a_t `[B, A]`.
    pub actions: Tensor,
    /// s_t `[B, S]`.
    pub states: Tensor,
    /// The agent masks of the stacked frames (read from files that record
    /// ground truth, for the mask-guided objectives); `None` otherwise.
    pub masks: Option<BatchMasks>,
}

/// Agent masks shaped like a batch's frames: `[B, C, H, W]` floats, 1
/// where the pixel shows the agent and 0 elsewhere, each channel the mask
/// of the frame it belongs to (channels 3j..3j+3: frame j of the stack).
#[derive(Debug)]
pub struct BatchMasks {
    /// Of o_t.
    pub obs: Tensor,
    /// Of o_{t+1}.
    pub next: Tensor,
    /// Of o_{t+k}.
    pub future: Tensor,
}

impl BatchMasks {
    /// From stacked masks (`[B, H, W, 3]` bytes, per pixel the stack's
    /// three frames, as [`lam_data::masks::MaskStore`] gathers them).
    pub fn from_stacked(
        m: &lam_data::masks::StackedMasks,
        (h, w): (usize, usize),
        device: Device,
    ) -> Self {
        let n = (m.obs.len() / (h * w * 3).max(1)) as i64;
        let one = |v: &[u8]| {
            Tensor::from_slice(v)
                .view([n, h as i64, w as i64, 3])
                .to_device(device)
                .permute([0, 3, 1, 2])
                .repeat_interleave_self_int(3, Some(1), None::<i64>)
                .to_kind(Kind::Float)
                .contiguous()
        };
        Self {
            obs: one(&m.obs),
            next: one(&m.next),
            future: one(&m.future),
        }
    }
}

impl TrainBatch {
    /// From the loader's layout: uint8 stacks `[B, H, W, C]`, f32 rows.
    ///
    /// On the CPU the frames are scaled to [-1, 1] in one pass straight into
    /// the tensor's memory (the same values as [`crate::toolkit::encoder::to_input`],
    /// without its three intermediate tensors); elsewhere the uint8 frames
    /// travel and are converted on the device.
    pub fn from_loader(
        b: &lam_data::loader::Batch,
        (h, w): (usize, usize),
        device: Device,
    ) -> Self {
        let n = b.offsets.len() as i64;
        let shape = [n, h as i64, w as i64, OBS_CHANNELS];
        let frames = |v: &[u8]| {
            if device == Device::Cpu {
                scaled_frames(v, shape)
            } else {
                crate::toolkit::encoder::to_input(
                    &Tensor::from_slice(v).view(shape).to_device(device),
                )
            }
        };
        Self {
            obs: frames(&b.obs),
            next: frames(&b.next_obs),
            future: frames(&b.future_obs),
            actions: Tensor::from_slice(&b.actions)
                .view([n, -1])
                .to_device(device),
            states: Tensor::from_slice(&b.states)
                .view([n, -1])
                .to_device(device),
            masks: None,
        }
    }

    /// The batch with its frames' agent masks attached.
    pub fn with_masks(self, masks: BatchMasks) -> Self {
        Self {
            masks: Some(masks),
            ..self
        }
    }

    /// The batch with every frame multiplied by its agent mask (background
    /// pixels 0: mid-grey in [-1, 1]); `None` when it has no masks.
    pub fn masked_inputs(&self) -> Option<Self> {
        let m = self.masks.as_ref()?;
        Some(Self {
            obs: &self.obs * &m.obs,
            next: &self.next * &m.next,
            future: &self.future * &m.future,
            actions: self.actions.shallow_clone(),
            states: self.states.shallow_clone(),
            masks: Some(BatchMasks {
                obs: m.obs.shallow_clone(),
                next: m.next.shallow_clone(),
                future: m.future.shallow_clone(),
            }),
        })
    }

    /// Samples in the batch.
    pub fn len(&self) -> i64 {
        self.obs.size()[0]
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// uint8 frames `[B, H, W, C]` as floats in [-1, 1], `[B, C, H, W]` with
/// channels-last strides: `x / 127.5 - 1` computed once per value into a
/// fresh CPU tensor.
fn scaled_frames(v: &[u8], shape: [i64; 4]) -> Tensor {
    assert_eq!(
        v.len() as i64,
        shape.iter().product::<i64>(),
        "frame bytes do not match the batch shape"
    );
    let t = Tensor::empty(shape, (Kind::Float, Device::Cpu));
    // SAFETY: `t` is a fresh contiguous f32 CPU tensor of exactly v.len()
    // elements, owned here and not aliased while the slice lives.
    let out = unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, v.len()) };
    for (o, &x) in out.iter_mut().zip(v) {
        *o = f32::from(x) / 127.5 - 1.0;
    }
    t.permute([0, 3, 1, 2])
}

/// Sizes the data fixes: image side and action / state widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataShape {
    /// Image side in pixels (square frames).
    pub image: i64,
    /// Values per action.
    pub action_dim: i64,
    /// Values per proprioceptive state.
    pub state_dim: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_frames_scale_exactly_like_to_input() {
        // Every byte value, in the loader's [B, H, W, C] layout.
        let v: Vec<u8> = (0..2 * 4 * 4 * 9).map(|i| (i * 37 % 256) as u8).collect();
        let shape = [2, 4, 4, OBS_CHANNELS];
        let ours = scaled_frames(&v, shape);
        let reference = crate::toolkit::encoder::to_input(&Tensor::from_slice(&v).view(shape));
        assert_eq!(ours.size(), reference.size());
        assert_eq!(ours.stride(), reference.stride());
        assert!(ours.equal(&reference), "values differ from to_input");
        let all: Vec<u8> = (0..=255).flat_map(|x| [x; 9]).collect();
        let shape = [1, 16, 16, OBS_CHANNELS];
        let reference = crate::toolkit::encoder::to_input(&Tensor::from_slice(&all).view(shape));
        assert!(scaled_frames(&all, shape).equal(&reference));
    }

    #[test]
    fn mask_channels_follow_the_frames_channels() {
        // One sample of 2 x 2 pixels: frame j's bytes are 100 + 10 j + rgb,
        // its mask at pixel p is (j + p) % 2.
        let (h, w) = (2usize, 2usize);
        let mut frames = Vec::new();
        let mut masks = Vec::new();
        for p in 0..h * w {
            for j in 0..3u8 {
                frames.extend((0..3u8).map(|c| 100 + 10 * j + c));
                masks.push((j + p as u8) % 2);
            }
        }
        let stacked = lam_data::masks::StackedMasks {
            obs: masks.clone(),
            next: masks.clone(),
            future: masks,
        };
        let m = BatchMasks::from_stacked(&stacked, (h, w), Device::Cpu);
        assert_eq!(m.obs.size(), vec![1, OBS_CHANNELS, 2, 2]);
        let x = scaled_frames(&frames, [1, 2, 2, OBS_CHANNELS]);
        for c in 0..OBS_CHANNELS {
            for p in 0..(h * w) as i64 {
                let (y, xx) = (p / 2, p % 2);
                let byte = ((x.double_value(&[0, c, y, xx]) + 1.0) * 127.5).round() as i64;
                let j = (byte - 100) / 10;
                assert_eq!(j, c / 3, "channel {c} holds frame {j}");
                let want = ((j + p) % 2) as f64;
                assert_eq!(m.obs.double_value(&[0, c, y, xx]), want, "c {c} p {p}");
            }
        }
    }
}

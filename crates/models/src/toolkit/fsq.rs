//! Finite scalar quantization (Mentzer et al. 2023): each latent dimension
//! is squashed and rounded to a few levels, with a straight-through gradient.

use tch::Tensor;

/// An FSQ quantizer with `levels[i]` values in dimension i.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fsq {
    levels: Vec<i64>,
}

impl Fsq {
    /// A quantizer; every level count must be at least 2.
    pub fn new(levels: Vec<i64>) -> Result<Self, String> {
        if levels.is_empty() || levels.iter().any(|&l| l < 2) {
            return Err(format!(
                "FSQ levels must be at least 2 each, got {levels:?}"
            ));
        }
        Ok(Self { levels })
    }

    /// Latent dimensions.
    pub fn dim(&self) -> i64 {
        self.levels.len() as i64
    }

    /// Size of the code book (product of the levels).
    pub fn codebook_size(&self) -> i64 {
        self.levels.iter().product()
    }

    /// Quantizes `z` (`[B, dim]`) to values in [-1, 1]; gradients pass
    /// straight through the rounding.
    pub fn quantize(&self, z: &Tensor) -> Tensor {
        let half: Vec<f32> = self.levels.iter().map(|&l| (l - 1) as f32 / 2.0).collect();
        // Even level counts are offset by a half step so the grid is symmetric.
        let offset: Vec<f32> = self
            .levels
            .iter()
            .map(|&l| if l % 2 == 0 { 0.5 } else { 0.0 })
            .collect();
        let half = Tensor::from_slice(&half)
            .to_device(z.device())
            .view([1, -1]);
        let offset = Tensor::from_slice(&offset)
            .to_device(z.device())
            .view([1, -1]);
        let bounded = z.tanh() * &half - &offset;
        let rounded = bounded.round();
        let st = &bounded + (rounded - &bounded).detach();
        (st + offset) / half
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn values_fall_on_the_grid_and_gradients_flow() {
        let fsq = Fsq::new(vec![5, 4]).unwrap();
        assert_eq!(fsq.codebook_size(), 20);
        let z = Tensor::randn([64, 2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let q = fsq.quantize(&z);
        let column = |k: i64, levels: usize| {
            let mut v: Vec<f32> = Vec::<f32>::try_from(q.select(1, k).contiguous()).unwrap();
            v.sort_by(f32::total_cmp);
            v.dedup_by(|a, b| (*a - *b).abs() < 1e-5);
            assert!(v.len() <= levels, "{v:?}");
            assert!(v.iter().all(|x| x.abs() <= 1.0 + 1e-5));
        };
        column(0, 5);
        column(1, 4);
        q.sum(Kind::Float).backward();
        assert!(z.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0);
        assert!(Fsq::new(vec![1, 4]).is_err());
    }
}

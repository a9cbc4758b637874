//! Colour drift: every material's RGB is drawn at reset within ±scale of its
//! original value and takes small Gaussian steps while the episode runs.

use rand::Rng;
use rand_distr::{Distribution, Normal};

/// Per-step standard deviation of the drift, as a fraction of the scale.
const STEP_STD: f64 = 0.03;

/// State of the colour distraction of one environment.
#[derive(Clone, Debug)]
pub struct ColourDrift {
    scale: f32,
    original: Vec<[f32; 3]>,
    current: Vec<[f32; 3]>,
}

impl ColourDrift {
    /// Drift around the `original` material colours with `scale`.
    pub fn new(original: Vec<[f32; 3]>, scale: f64) -> Self {
        Self {
            scale: scale as f32,
            current: original.clone(),
            original,
        }
    }

    /// The range material `m`'s channel `k` stays in.
    pub fn range(&self, m: usize, k: usize) -> (f32, f32) {
        let o = self.original[m][k];
        ((o - self.scale).max(0.0), (o + self.scale).min(1.0))
    }

    /// Current colours, indexed by material id.
    pub fn colours(&self) -> &[[f32; 3]] {
        &self.current
    }

    /// Current colours minus the original ones, per material.
    pub fn offsets(&self) -> Vec<[f32; 3]> {
        self.current
            .iter()
            .zip(&self.original)
            .map(|(c, o)| [c[0] - o[0], c[1] - o[1], c[2] - o[2]])
            .collect()
    }

    /// Sets the current colours to the original ones plus `offsets` (a
    /// recorded state played back).
    ///
    /// # Panics
    /// If `offsets` does not have one entry per material.
    pub fn set_offsets(&mut self, offsets: &[[f32; 3]]) {
        assert_eq!(
            offsets.len(),
            self.original.len(),
            "one offset per material"
        );
        for ((c, o), d) in self.current.iter_mut().zip(&self.original).zip(offsets) {
            *c = [o[0] + d[0], o[1] + d[1], o[2] + d[2]];
        }
    }

    /// Draws every channel uniformly within its range.
    pub fn reset(&mut self, rng: &mut impl Rng) {
        if self.scale == 0.0 {
            return;
        }
        for m in 0..self.current.len() {
            for k in 0..3 {
                let (lo, hi) = self.range(m, k);
                self.current[m][k] = rng.random_range(lo..=hi);
            }
        }
    }

    /// One Gaussian step per channel, clipped to its range.
    pub fn step(&mut self, rng: &mut impl Rng) {
        if self.scale == 0.0 {
            return;
        }
        let noise = Normal::new(0.0, STEP_STD * self.scale as f64).expect("finite std");
        for m in 0..self.current.len() {
            for k in 0..3 {
                let (lo, hi) = self.range(m, k);
                let v = self.current[m][k] + noise.sample(rng) as f32;
                self.current[m][k] = v.clamp(lo, hi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn colours_stay_within_scale_of_the_original_and_move() {
        let original = vec![[0.7, 0.5, 0.3], [0.0, 1.0, 0.5]];
        let mut drift = ColourDrift::new(original.clone(), 0.2);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        drift.reset(&mut rng);
        let start = drift.colours().to_vec();
        assert_ne!(start, original);
        for _ in 0..5000 {
            drift.step(&mut rng);
            for (c, o) in drift.colours().iter().zip(&original) {
                for k in 0..3 {
                    assert!((c[k] - o[k]).abs() <= 0.2 + 1e-6);
                    assert!((0.0..=1.0).contains(&c[k]));
                }
            }
        }
        assert_ne!(drift.colours(), &start[..]);
    }

    #[test]
    fn scale_zero_keeps_the_original() {
        let original = vec![[0.7, 0.5, 0.3]];
        let mut drift = ColourDrift::new(original.clone(), 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        drift.reset(&mut rng);
        drift.step(&mut rng);
        assert_eq!(drift.colours(), &original[..]);
    }
}

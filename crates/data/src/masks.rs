//! The agent masks of a whole dataset file in memory, gathered per batch
//! and stacked exactly like the frames ([`crate::loader::stack_at`]): for
//! each sample, the masks of frames t−2, t−1, t of o_t (and likewise of
//! o_{t+1} and o_{t+k}), frames before a trajectory's start repeating the
//! first. The mask-guided objectives read them (LAPO's background-weighted
//! pixel loss, LAOM on masked inputs).
//!
//! A mask byte is 1 where the pixel shows the agent, 0 elsewhere; one
//! byte per pixel, so a 64 x 64 frame costs 4 KiB (32 trajectories of
//! 1000 steps: about 130 MB).

use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::loader::{Batch, STACK};
use crate::mixed::MixedBatch;
use crate::reader::DatasetReader;

/// Every trajectory's agent masks of one file.
#[derive(Clone, Debug)]
pub struct MaskStore {
    file: PathBuf,
    frame: (usize, usize),
    /// Per trajectory, `len x h x w`.
    masks: Vec<Vec<u8>>,
}

/// Masks stacked like a batch's frames: per sample `h x w x 3`, per pixel
/// the masks of the stack's three frames, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackedMasks {
    /// Of o_t.
    pub obs: Vec<u8>,
    /// Of o_{t+1}.
    pub next: Vec<u8>,
    /// Of o_{t+k}.
    pub future: Vec<u8>,
}

impl MaskStore {
    /// Reads every trajectory's agent masks of `path`; an error naming the
    /// file when it records no ground truth.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let reader = DatasetReader::open(path)?;
        if !reader.has_ground_truth() {
            return Err(DataError::Request {
                file: path.to_path_buf(),
                message: "the file records no agent masks, which the mask-guided objectives (train.mask_background_weight < 1, train.mask_inputs) need; collect it with `lam collect --ground-truth` (in a pipeline: `[data] ground_truth = true`)".into(),
            });
        }
        let masks = (0..reader.len())
            .map(|i| reader.read_agent_mask(i).map(|m| m.unwrap_or_default()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            file: path.to_path_buf(),
            frame: reader.frame(),
            masks,
        })
    }

    /// The file the masks came from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Frame (height, width).
    pub fn frame(&self) -> (usize, usize) {
        self.frame
    }

    /// Appends the 3-frame mask stack ending at step `t` of trajectory `i`
    /// (`h x w x 3`), frames before the start repeating the first.
    fn push_stack(&self, i: usize, t: usize, out: &mut Vec<u8>) -> Result<(), DataError> {
        let px = self.frame.0 * self.frame.1;
        let m = self.masks.get(i).ok_or_else(|| self.bad(i, t))?;
        if (t + 1) * px > m.len() {
            return Err(self.bad(i, t));
        }
        let frames: [&[u8]; STACK] = std::array::from_fn(|j| {
            let s = (t + j).saturating_sub(STACK - 1);
            &m[s * px..(s + 1) * px]
        });
        let start = out.len();
        out.resize(start + px * STACK, 0);
        for (p, o) in out[start..].chunks_exact_mut(STACK).enumerate() {
            for (j, f) in frames.iter().enumerate() {
                o[j] = f[p];
            }
        }
        Ok(())
    }

    fn bad(&self, i: usize, t: usize) -> DataError {
        DataError::Request {
            file: self.file.clone(),
            message: format!("no agent mask for trajectory {i} step {t}"),
        }
    }

    /// The masks of a loader batch of this file: per sample, the stacks
    /// of o_t, o_{t+1} and o_{t+k} at its `positions` and `offsets`.
    pub fn gather(&self, batch: &Batch) -> Result<StackedMasks, DataError> {
        let mut out = StackedMasks {
            obs: Vec::new(),
            next: Vec::new(),
            future: Vec::new(),
        };
        self.extend(batch, 0..batch.offsets.len(), &mut out)?;
        Ok(out)
    }

    /// Appends the mask stacks of `rows` of `batch`.
    fn extend(
        &self,
        batch: &Batch,
        rows: std::ops::Range<usize>,
        out: &mut StackedMasks,
    ) -> Result<(), DataError> {
        for r in rows {
            let ((i, t), k) = (batch.positions[r], batch.offsets[r]);
            let (i, t, k) = (i as usize, t as usize, k as usize);
            self.push_stack(i, t, &mut out.obs)?;
            self.push_stack(i, t + 1, &mut out.next)?;
            self.push_stack(i, t + k, &mut out.future)?;
        }
        Ok(())
    }
}

/// The masks of a mixed batch, `stores[j]` holding the masks of the
/// batch's `j`-th file (in the loader's order).
pub fn gather_mixed(stores: &[MaskStore], batch: &MixedBatch) -> Result<StackedMasks, DataError> {
    let mut out = StackedMasks {
        obs: Vec::new(),
        next: Vec::new(),
        future: Vec::new(),
    };
    for part in &batch.parts {
        let store =
            stores
                .iter()
                .find(|s| s.file == part.file)
                .ok_or_else(|| DataError::Request {
                    file: part.file.clone(),
                    message: "no agent masks were loaded for this file".into(),
                })?;
        store.extend(&batch.batch, part.start..part.start + part.len, &mut out)?;
    }
    Ok(out)
}

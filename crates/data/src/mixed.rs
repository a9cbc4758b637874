//! Mixed batches from several dataset files (several tasks, for
//! cross-embodiment pre-training): each batch holds a share of samples from
//! every file. Frames must have one size; states and actions, whose sizes
//! differ between tasks, are zero-padded to the largest of the files, and
//! [`MixedBatch::parts`] says which rows came from which file and how many
//! of their values are real.

use std::path::{Path, PathBuf};

use crate::loader::{Batch, Loader, LoaderConfig};
use crate::DataError;

/// Rows of a mixed batch from one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The file.
    pub file: PathBuf,
    /// Its rows: `start..start + len` of the batch.
    pub start: usize,
    /// Rows from it.
    pub len: usize,
    /// Its real action values per row (the rest is padding).
    pub action_size: usize,
    /// Its real state values per row (the rest is padding).
    pub state_size: usize,
}

/// A batch of several files' samples, padded to common sizes.
#[derive(Clone, Debug)]
pub struct MixedBatch {
    /// The samples, rows of file after file; actions `batch x action_size`
    /// and states `batch x state_size` of the mixed loader.
    pub batch: Batch,
    /// Which rows came from which file.
    pub parts: Vec<Part>,
}

/// Batches drawn from several files at once.
#[derive(Debug)]
pub struct MixedLoader {
    loaders: Vec<(PathBuf, Loader)>,
    frame: (usize, usize),
    state_size: usize,
    action_size: usize,
}

/// Rows of a batch of `batch_size` drawn from file `j` of `n`: an equal
/// share, the first files one more while the remainder lasts.
fn share(batch_size: usize, n: usize, j: usize) -> usize {
    batch_size / n + usize::from(j < batch_size % n)
}

/// Seed of file `j`'s sampling: the loader's own for the first file (one
/// file draws exactly what a plain [`Loader`] draws), derived for the rest.
fn seed_of(seed: u64, j: usize) -> u64 {
    if j == 0 {
        seed
    } else {
        seed ^ (j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl MixedLoader {
    /// Opens `files` (at least one); `config.batch_size` is shared out
    /// between them, and must give every file a row at least.
    pub fn open(files: &[PathBuf], config: LoaderConfig) -> Result<Self, DataError> {
        let first = files.first().ok_or_else(|| DataError::Request {
            file: PathBuf::new(),
            message: "a mixed loader needs at least one file".into(),
        })?;
        if config.batch_size < files.len() {
            return Err(DataError::Request {
                file: first.clone(),
                message: format!(
                    "batch_size {} is smaller than the {} files mixed: every file needs a row in each batch",
                    config.batch_size,
                    files.len()
                ),
            });
        }
        let mut loaders = Vec::with_capacity(files.len());
        for (j, file) in files.iter().enumerate() {
            let c = LoaderConfig {
                batch_size: share(config.batch_size, files.len(), j),
                seed: seed_of(config.seed, j),
                ..config.clone()
            };
            loaders.push((file.clone(), Loader::open(file, c)?));
        }
        let frame = loaders[0].1.frame();
        for (file, l) in &loaders[1..] {
            if l.frame() != frame {
                return Err(DataError::Request {
                    file: file.clone(),
                    message: format!(
                        "frames are {}x{}, but {} has {}x{}: mixed files need one frame size",
                        l.frame().0,
                        l.frame().1,
                        first.display(),
                        frame.0,
                        frame.1
                    ),
                });
            }
        }
        let state_size = loaders.iter().map(|(_, l)| l.sizes().0).max().unwrap_or(0);
        let action_size = loaders.iter().map(|(_, l)| l.sizes().1).max().unwrap_or(0);
        Ok(Self {
            loaders,
            frame,
            state_size,
            action_size,
        })
    }

    /// Frame (height, width).
    pub fn frame(&self) -> (usize, usize) {
        self.frame
    }

    /// Values per state and per action: the largest of the files.
    pub fn sizes(&self) -> (usize, usize) {
        (self.state_size, self.action_size)
    }

    /// The files, in the order their rows come.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.loaders.iter().map(|(f, _)| f.as_path())
    }

    /// The next batch: each file's share, padded to common sizes.
    pub fn next_batch(&mut self) -> Result<MixedBatch, DataError> {
        let (s_max, a_max) = (self.state_size, self.action_size);
        let mut out: Option<Batch> = None;
        let mut parts = Vec::with_capacity(self.loaders.len());
        for (file, l) in &mut self.loaders {
            let (s, a) = l.sizes();
            let b = pad(l.next_batch()?, s, a, s_max, a_max);
            let start = out.as_ref().map_or(0, |o| o.offsets.len());
            parts.push(Part {
                file: file.clone(),
                start,
                len: b.offsets.len(),
                action_size: a,
                state_size: s,
            });
            match &mut out {
                None => out = Some(b),
                Some(o) => {
                    o.obs.extend_from_slice(&b.obs);
                    o.next_obs.extend_from_slice(&b.next_obs);
                    o.future_obs.extend_from_slice(&b.future_obs);
                    o.offsets.extend_from_slice(&b.offsets);
                    o.actions.extend_from_slice(&b.actions);
                    o.states.extend_from_slice(&b.states);
                    o.positions.extend_from_slice(&b.positions);
                }
            }
        }
        Ok(MixedBatch {
            batch: out.expect("at least one file"),
            parts,
        })
    }
}

/// `batch` (states of `s`, actions of `a` values) with every state and
/// action zero-padded to `s_max` and `a_max` values.
pub fn pad(mut batch: Batch, s: usize, a: usize, s_max: usize, a_max: usize) -> Batch {
    let widen = |v: &[f32], n: usize, n_max: usize| -> Vec<f32> {
        if n == n_max {
            return v.to_vec();
        }
        let mut out = Vec::with_capacity(v.len() / n.max(1) * n_max);
        for row in v.chunks(n.max(1)) {
            out.extend_from_slice(row);
            out.resize(out.len() + n_max - row.len(), 0.0);
        }
        out
    };
    batch.actions = widen(&batch.actions, a, a_max);
    batch.states = widen(&batch.states, s, s_max);
    batch
}

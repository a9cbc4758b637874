//! Mixed batches from several dataset files (several tasks, for
//! cross-embodiment pre-training): each batch holds a share of samples from
//! every file. Frames must have one size. States, whose sizes differ
//! between tasks, are zero-padded to the largest of the files; actions are
//! laid out by [`ActionLayout`]: zero-padded to the largest, or each file's
//! in its own columns (one segment per task, the rest filled), so that one
//! linear head over all the columns is one head per task.
//! [`MixedBatch::parts`] says which rows came from which file and where
//! their values are.

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
    /// The column of its first action value.
    pub action_offset: usize,
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

/// Where each file's actions go in a mixed batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ActionLayout {
    /// Columns `0..a` of the largest size, zeros after.
    Padded,
    /// File j's actions in its own columns (after those of files 0..j),
    /// every other column `fill` (0, or NaN for targets a loss masks).
    Segments {
        /// The value of the other files' columns.
        fill: f32,
    },
}

/// Batches drawn from several files at once.
#[derive(Debug)]
pub struct MixedLoader {
    loaders: Vec<(PathBuf, Loader)>,
    frame: (usize, usize),
    state_size: usize,
    action_size: usize,
    layout: ActionLayout,
    /// Each file's first action column.
    offsets: Vec<usize>,
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
    /// Opens `files` (at least one), actions zero-padded; `config.batch_size`
    /// is shared out between them, and must give every file a row at least.
    pub fn open(files: &[PathBuf], config: LoaderConfig) -> Result<Self, DataError> {
        Self::with_layout(files, config, ActionLayout::Padded)
    }

    /// [`MixedLoader::open`] with actions laid out by `layout`.
    pub fn with_layout(
        files: &[PathBuf],
        config: LoaderConfig,
        layout: ActionLayout,
    ) -> Result<Self, DataError> {
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
        let (action_size, offsets) = action_columns(
            &loaders.iter().map(|(_, l)| l.sizes().1).collect::<Vec<_>>(),
            layout,
        );
        Ok(Self {
            loaders,
            frame,
            state_size,
            action_size,
            layout,
            offsets,
        })
    }

    /// Frame (height, width).
    pub fn frame(&self) -> (usize, usize) {
        self.frame
    }

    /// Values per state (the largest of the files) and per action (the
    /// largest, or all the files' segments).
    pub fn sizes(&self) -> (usize, usize) {
        (self.state_size, self.action_size)
    }

    /// The files, in the order their rows come.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.loaders.iter().map(|(f, _)| f.as_path())
    }

    /// The next batch: each file's share, padded to common sizes.
    pub fn next_batch(&mut self) -> Result<MixedBatch, DataError> {
        let (s_max, a_all) = (self.state_size, self.action_size);
        let mut out: Option<Batch> = None;
        let mut parts = Vec::with_capacity(self.loaders.len());
        for (j, (file, l)) in self.loaders.iter_mut().enumerate() {
            let (s, a) = l.sizes();
            let at = self.offsets[j];
            let fill = match self.layout {
                ActionLayout::Padded => 0.0,
                ActionLayout::Segments { fill } => fill,
            };
            let b = place(l.next_batch()?, (s, s_max), (a, a_all, at), fill);
            let start = out.as_ref().map_or(0, |o| o.offsets.len());
            parts.push(Part {
                file: file.clone(),
                start,
                len: b.offsets.len(),
                action_size: a,
                action_offset: at,
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

/// Action columns of files with `sizes` actions laid out by `layout`: the
/// width, and each file's first column.
pub fn action_columns(sizes: &[usize], layout: ActionLayout) -> (usize, Vec<usize>) {
    match layout {
        ActionLayout::Padded => (
            sizes.iter().copied().max().unwrap_or(0),
            vec![0; sizes.len()],
        ),
        ActionLayout::Segments { .. } => {
            let offsets = sizes
                .iter()
                .scan(0, |at, &a| {
                    let o = *at;
                    *at += a;
                    Some(o)
                })
                .collect();
            (sizes.iter().sum(), offsets)
        }
    }
}

/// `batch` with states of `s` values zero-padded to `s_max`, and actions
/// of `a` values placed at column `at` of rows `a_all` wide, the other
/// columns `fill`.
pub fn place(
    mut batch: Batch,
    (s, s_max): (usize, usize),
    (a, a_all, at): (usize, usize, usize),
    fill: f32,
) -> Batch {
    let widen = |v: &[f32], n: usize, width: usize, at: usize, fill: f32| -> Vec<f32> {
        if n == width {
            return v.to_vec();
        }
        let mut out = Vec::with_capacity(v.len() / n.max(1) * width);
        for row in v.chunks(n.max(1)) {
            out.resize(out.len() + at, fill);
            out.extend_from_slice(row);
            out.resize(out.len() + width - at - row.len(), fill);
        }
        out
    };
    batch.actions = widen(&batch.actions, a, a_all, at, fill);
    batch.states = widen(&batch.states, s, s_max, 0, 0.0);
    batch
}

/// `batch` (states of `s`, actions of `a` values) with every state and
/// action zero-padded to `s_max` and `a_max` values.
pub fn pad(batch: Batch, s: usize, a: usize, s_max: usize, a_max: usize) -> Batch {
    place(batch, (s, s_max), (a, a_max, 0), 0.0)
}

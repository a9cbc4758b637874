//! Whole-file operations: labeled subsets and merging shards.

use std::path::{Path, PathBuf};

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::DataError;
use crate::reader::DatasetReader;
use crate::writer::{DatasetWriter, WriteOptions};

/// Writes `k` trajectories of `source` drawn without replacement (seeded)
/// to `out`, in their original order; returns the chosen indices. An
/// existing `out` is replaced only when `overwrite`.
pub fn sample_labeled(
    source: &Path,
    k: usize,
    seed: u64,
    out: &Path,
    overwrite: bool,
) -> Result<Vec<usize>, DataError> {
    let reader = DatasetReader::open(source)?;
    if k == 0 || k > reader.len() {
        return Err(DataError::Request {
            file: source.to_path_buf(),
            message: format!(
                "cannot sample {k} labeled trajectories: the file holds {}",
                reader.len()
            ),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = sample(&mut rng, reader.len(), k).into_vec();
    chosen.sort_unstable();
    let options = WriteOptions {
        overwrite,
        ..WriteOptions::default()
    };
    let mut writer = DatasetWriter::create(out, DatasetWriterAttrs::from(&reader), &options)?;
    for &i in &chosen {
        writer.append(&reader.trajectory(i)?)?;
    }
    writer.finish()?;
    Ok(chosen)
}

/// Concatenates the trajectories of `inputs` (which must agree on every
/// root attribute but `dataset_return`) into `out`. The same file given
/// twice, or `out` among the inputs, is refused; an existing `out` is
/// replaced only when `overwrite`.
pub fn merge(inputs: &[PathBuf], out: &Path, overwrite: bool) -> Result<usize, DataError> {
    let first = inputs.first().ok_or_else(|| DataError::Request {
        file: out.to_path_buf(),
        message: "nothing to merge: no input files".into(),
    })?;
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let out_canonical = canonical(out);
    let paths: Vec<PathBuf> = inputs.iter().map(|p| canonical(p)).collect();
    for (i, c) in paths.iter().enumerate() {
        if *c == out_canonical {
            return Err(DataError::Request {
                file: inputs[i].clone(),
                message: "cannot merge a file into itself: choose another output".into(),
            });
        }
        if let Some(j) = paths[..i].iter().position(|q| q == c) {
            return Err(DataError::Request {
                file: inputs[i].clone(),
                message: format!(
                    "given twice (inputs {} and {}): its trajectories would be duplicated",
                    j + 1,
                    i + 1
                ),
            });
        }
    }
    let head = DatasetReader::open(first)?;
    let attrs = DatasetWriterAttrs::from(&head);
    let options = WriteOptions {
        overwrite,
        ..WriteOptions::default()
    };
    let mut writer = DatasetWriter::create(out, attrs.clone(), &options)?;
    for path in inputs {
        let reader = DatasetReader::open(path)?;
        let mine = DatasetWriterAttrs::from(&reader);
        if mine != attrs {
            return Err(DataError::Request {
                file: path.clone(),
                message: format!(
                    "cannot merge: its attributes {mine:?} differ from {}'s {attrs:?}",
                    first.display()
                ),
            });
        }
        for i in 0..reader.len() {
            writer.append(&reader.trajectory(i)?)?;
        }
    }
    let n = writer.len();
    writer.finish()?;
    Ok(n)
}

/// The root attributes to copy into a derived file (without `dataset_return`,
/// which the writer recomputes).
struct DatasetWriterAttrs;

impl DatasetWriterAttrs {
    #[allow(clippy::new_ret_no_self)]
    fn from(reader: &DatasetReader) -> crate::DatasetAttrs {
        crate::DatasetAttrs {
            dataset_return: None,
            ..reader.attrs().clone()
        }
    }
}

//! Checkpoints as safetensors files: named tensors (weights, optimizer
//! moments, probe weights) plus string metadata (format, config, step).
//! Files are written atomically, so a checkpoint on disk is always whole,
//! and carry a SHA-256 of their tensors and metadata, checked on load, so
//! a damaged one is refused instead of acting on garbled weights.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, View};
use tch::{Device, Kind, Tensor};

pub use lam_experts::checkpoint::{content_hash, CONTENT_HASH};

/// The format tag stored in every checkpoint's metadata (2: with a
/// content hash).
pub const FORMAT: &str = "lam-checkpoint-2";

/// The format before content hashes, still read (unverified).
pub const LEGACY_FORMAT: &str = "lam-checkpoint-1";

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    #[error("{file}: {source}")]
    Io {
        /// The checkpoint.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a checkpoint we can read, or lacks something.
    #[error("{file}: {message}")]
    Invalid {
        /// The checkpoint.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// A tensor's bytes, ready for safetensors.
struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn raw(name: &str, t: &Tensor) -> Result<Raw, String> {
    let t = t.detach().to_device(Device::Cpu).contiguous();
    let shape = t.size().iter().map(|&d| d as usize).collect();
    let flat = t.view(-1);
    let (dtype, data) = match t.kind() {
        Kind::Float => {
            let v = Vec::<f32>::try_from(&flat).map_err(|e| format!("{name}: {e}"))?;
            (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        }
        Kind::Int64 => {
            let v = Vec::<i64>::try_from(&flat).map_err(|e| format!("{name}: {e}"))?;
            (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        }
        k => return Err(format!("{name}: cannot store tensors of kind {k:?}")),
    };
    Ok(Raw { dtype, shape, data })
}

/// Writes `tensors` and `metadata` to `path` atomically.
pub fn save(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let file = path.display().to_string();
    let invalid = |message| CheckpointError::Invalid {
        file: file.clone(),
        message,
    };
    let raws = tensors
        .iter()
        .map(|(n, t)| raw(n, t).map(|r| (n.clone(), r)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let mut with_format = metadata.clone();
    with_format.insert("format".into(), FORMAT.into());
    let hash = content_hash(
        raws.iter().map(|(n, r)| {
            (
                n.as_str(),
                format!("{:?}", r.dtype),
                &r.shape[..],
                &r.data[..],
            )
        }),
        &with_format,
    );
    let mut meta: HashMap<String, String> = with_format.into_iter().collect();
    meta.insert(CONTENT_HASH.into(), hash);
    let bytes = safetensors::serialize(raws.iter().map(|(n, r)| (n.as_str(), r)), &Some(meta))
        .map_err(|e| invalid(e.to_string()))?;
    lam_data::atomic::write_bytes_atomic(path, &bytes)
        .map_err(|source| CheckpointError::Io { file, source })
}

/// A checkpoint read back: tensors on the CPU and the metadata.
#[derive(Debug)]
pub struct Loaded {
    /// Tensors by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// String metadata (including `format`).
    pub metadata: BTreeMap<String, String>,
}

impl Loaded {
    /// A metadata entry, or an error naming it.
    pub fn meta(&self, file: &Path, key: &str) -> Result<&str, CheckpointError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| CheckpointError::Invalid {
                file: file.display().to_string(),
                message: format!("metadata has no {key:?}"),
            })
    }
}

/// Reads a checkpoint written by [`save`].
pub fn load(path: &Path) -> Result<Loaded, CheckpointError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        file: file.clone(),
        source,
    })?;
    let invalid = |message: String| CheckpointError::Invalid {
        file: file.clone(),
        message,
    };
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| invalid(format!("not a safetensors file ({e})")))?;
    let metadata: BTreeMap<String, String> = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    match metadata.get("format") {
        Some(f) if f == FORMAT || f == LEGACY_FORMAT => {}
        Some(f) => return Err(invalid(format!("format {f:?}, expected {FORMAT:?}"))),
        None => {
            return Err(invalid(format!(
                "no format tag: not a lam checkpoint ({FORMAT})"
            )))
        }
    }
    let st = SafeTensors::deserialize(&bytes).map_err(|e| invalid(e.to_string()))?;
    let views = st.tensors();
    let found = content_hash(
        views
            .iter()
            .map(|(n, v)| (n.as_str(), format!("{:?}", v.dtype()), v.shape(), v.data())),
        &metadata,
    );
    let legacy = metadata.get("format").map(String::as_str) == Some(LEGACY_FORMAT);
    match metadata.get(CONTENT_HASH) {
        Some(h) if *h == found => {}
        // Written before checkpoints carried a hash: nothing to check.
        None if legacy => {}
        Some(_) => {
            return Err(invalid(
                "its content does not match its SHA-256: the file is damaged (re-train, or restore it from a copy)"
                    .into(),
            ))
        }
        None => return Err(invalid(format!("no {CONTENT_HASH}: not a whole lam checkpoint"))),
    }
    let mut tensors = BTreeMap::new();
    for (name, view) in views {
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let data = view.data();
        let t = match view.dtype() {
            Dtype::F32 => {
                let v: Vec<f32> = data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect();
                Tensor::from_slice(&v)
            }
            Dtype::I64 => {
                let v: Vec<i64> = data
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect();
                Tensor::from_slice(&v)
            }
            d => return Err(invalid(format!("tensor {name}: unsupported dtype {d:?}"))),
        };
        tensors.insert(name, t.reshape(&shape));
    }
    Ok(Loaded { tensors, metadata })
}

/// Copies saved values into `vars` (name → variable), every name prefixed
/// by `prefix` in `saved`. Missing names and shape mismatches are errors.
pub fn restore(
    vars: &HashMap<String, Tensor>,
    prefix: &str,
    saved: &BTreeMap<String, Tensor>,
) -> Result<(), String> {
    for (name, var) in vars {
        let key = format!("{prefix}{name}");
        let src = saved
            .get(&key)
            .ok_or_else(|| format!("the checkpoint has no tensor {key:?}"))?;
        if src.size() != var.size() {
            return Err(format!(
                "tensor {key:?}: checkpoint shape {:?}, model shape {:?} (was the config changed?)",
                src.size(),
                var.size()
            ));
        }
        tch::no_grad(|| var.shallow_clone().copy_(src));
    }
    Ok(())
}

/// The entries of `saved` whose names start with `prefix`, prefix removed.
pub fn under(saved: &BTreeMap<String, Tensor>, prefix: &str) -> BTreeMap<String, Tensor> {
    saved
        .iter()
        .filter_map(|(k, t)| {
            k.strip_prefix(prefix)
                .map(|n| (n.to_string(), t.shallow_clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_and_metadata_round_trip() {
        let dir = std::env::temp_dir().join(format!("lam-ckpt-{}", std::process::id()));
        let path = dir.join("c.safetensors");
        let a = Tensor::randn([3, 4], (Kind::Float, Device::Cpu));
        let b = Tensor::from_slice(&[7i64, -2]);
        let meta = BTreeMap::from([("step".to_string(), "12".to_string())]);
        save(
            &path,
            &[
                ("a".into(), a.shallow_clone()),
                ("b".into(), b.shallow_clone()),
            ],
            &meta,
        )
        .unwrap();
        let l = load(&path).unwrap();
        assert_eq!(l.meta(&path, "step").unwrap(), "12");
        assert!(l.tensors["a"].equal(&a));
        assert!(l.tensors["b"].equal(&b));
        assert!(l.meta(&path, "nothing").is_err());
        // Restoring into variables of the wrong shape is refused.
        let vars = HashMap::from([(
            "a".to_string(),
            Tensor::zeros([4, 3], (Kind::Float, Device::Cpu)),
        )]);
        assert!(restore(&vars, "", &l.tensors)
            .unwrap_err()
            .contains("shape"));
        std::fs::write(&path, b"not a checkpoint").unwrap();
        assert!(matches!(load(&path), Err(CheckpointError::Invalid { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn damaged_checkpoints_are_refused_never_loaded_wrong() {
        let dir = std::env::temp_dir().join(format!("lam-ckpt-bad-{}", std::process::id()));
        let path = dir.join("c.safetensors");
        let a = Tensor::randn([16, 8], (Kind::Float, Device::Cpu));
        let b = Tensor::from_slice(&[7i64, -2, 5]);
        let meta = BTreeMap::from([("config".to_string(), "lr = 0.0001".to_string())]);
        save(
            &path,
            &[
                ("a".into(), a.shallow_clone()),
                ("b".into(), b.shallow_clone()),
            ],
            &meta,
        )
        .unwrap();
        let good = std::fs::read(&path).unwrap();
        let bad = dir.join("bad.safetensors");
        let n = good.len();
        let mut refused = 0;
        let mut check = |bytes: &[u8], what: String| {
            std::fs::write(&bad, bytes).unwrap();
            match std::panic::catch_unwind(|| load(&bad)) {
                Err(_) => panic!("{what}: loading panicked"),
                Ok(Err(_)) => refused += 1,
                Ok(Ok(l)) => {
                    assert!(
                        l.tensors["a"].equal(&a)
                            && l.tensors["b"].equal(&b)
                            && l.metadata["config"] == meta["config"],
                        "{what}: loaded different content without an error"
                    );
                }
            }
        };
        for i in 0..48 {
            let at = n * i / 48;
            check(&good[..at], format!("truncated to {at} of {n} bytes"));
        }
        for i in 0..200 {
            let at = (n * i / 200 + i % 5).min(n - 1);
            let mut bytes = good.clone();
            bytes[at] ^= 1 << (i % 8);
            check(&bytes, format!("bit {} of byte {at} flipped", i % 8));
        }
        assert!(refused > 150, "only {refused} damaged files refused");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

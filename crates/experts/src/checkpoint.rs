//! Reading tensors out of PyTorch `torch.save` files (a zip holding a pickled
//! state dict and one raw storage file per tensor), without Python.
//!
//! The pickle is parsed by `repugnant-pickle` (no code is executed); we read
//! the storages ourselves and turn them into dense row-major `f32` arrays.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use repugnant_pickle::torch::{RepugnantTorchTensors, TensorType};

use crate::ExpertError;

/// A dense row-major tensor of `f32` values.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseTensor {
    /// Dimensions; empty for a scalar.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub values: Vec<f32>,
}

/// All tensors of a state dict, by name.
#[derive(Debug)]
pub struct StateDict {
    path: PathBuf,
    tensors: BTreeMap<String, DenseTensor>,
}

fn format_error(path: &Path, reason: impl std::fmt::Display) -> ExpertError {
    ExpertError::Format {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn open(path: &Path) -> Result<File, ExpertError> {
    File::open(path).map_err(|source| ExpertError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// True when `path` is a zip archive with a member called `name`.
pub fn zip_has_member(path: &Path, name: &str) -> Result<bool, ExpertError> {
    let archive = zip::ZipArchive::new(open(path)?)
        .map_err(|e| format_error(path, format!("not a zip archive ({e})")))?;
    let found = archive.file_names().any(|n| n == name);
    Ok(found)
}

/// Extracts member `name` of the zip at `path` into memory.
pub fn read_zip_member(path: &Path, name: &str) -> Result<Vec<u8>, ExpertError> {
    let mut archive = zip::ZipArchive::new(open(path)?)
        .map_err(|e| format_error(path, format!("not a zip archive ({e})")))?;
    read_member(&mut archive, path, name)
}

fn read_member<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    path: &Path,
    name: &str,
) -> Result<Vec<u8>, ExpertError> {
    let mut file = archive
        .by_name(name)
        .map_err(|e| format_error(path, format!("member {name}: {e}")))?;
    let mut bytes = Vec::with_capacity(file.size() as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| format_error(path, format!("member {name}: {e}")))?;
    Ok(bytes)
}

impl StateDict {
    /// Reads every floating-point tensor of the `torch.save`d dict at `path`.
    pub fn load(path: &Path) -> Result<Self, ExpertError> {
        open(path)?;
        let index = RepugnantTorchTensors::new_from_file(path)
            .map_err(|e| format_error(path, format!("{e:#}")))?;
        let mut archive = zip::ZipArchive::new(open(path)?)
            .map_err(|e| format_error(path, format!("not a zip archive ({e})")))?;
        let mut tensors = BTreeMap::new();
        for t in index {
            let bytes = read_member(&mut archive, path, &t.storage)?;
            let item = t.tensor_type.size();
            let decode: fn(&[u8]) -> f32 = match t.tensor_type {
                TensorType::Float32 => |b| f32::from_le_bytes(b.try_into().unwrap()),
                TensorType::Float64 => |b| f64::from_le_bytes(b.try_into().unwrap()) as f32,
                _ => continue, // integer buffers (step counters) are not weights
            };
            let count: usize = t.shape.iter().product();
            let first = t.storage_offset as usize / item;
            let mut values = Vec::with_capacity(count);
            for linear in 0..count {
                // Walk the strides: element index in the storage.
                let mut rest = linear;
                let mut at = first;
                for (dim, stride) in t.shape.iter().zip(&t.stride).rev() {
                    at += (rest % dim) * stride;
                    rest /= dim;
                }
                let start = at * item;
                let chunk = bytes.get(start..start + item).ok_or_else(|| {
                    format_error(
                        path,
                        format!("tensor {} reads past the end of its storage", t.name),
                    )
                })?;
                values.push(decode(chunk));
            }
            tensors.insert(
                t.name.clone(),
                DenseTensor {
                    shape: t.shape.clone(),
                    values,
                },
            );
        }
        if tensors.is_empty() {
            return Err(format_error(path, "it holds no floating-point tensors"));
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }

    /// Reads the state dict stored as member `member` of the zip at `path`
    /// (stable-baselines3 keeps `policy.pth` inside its zip).
    pub fn load_member(path: &Path, member: &str) -> Result<Self, ExpertError> {
        let bytes = read_zip_member(path, member)?;
        let tmp = tempfile::Builder::new()
            .suffix(".pth")
            .tempfile()
            .map_err(|source| ExpertError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        std::fs::write(tmp.path(), bytes).map_err(|source| ExpertError::Io {
            path: tmp.path().to_path_buf(),
            source,
        })?;
        let mut dict = Self::load(tmp.path()).map_err(|e| match e {
            ExpertError::Format { reason, .. } => {
                format_error(path, format!("member {member}: {reason}"))
            }
            other => other,
        })?;
        dict.path = path.to_path_buf();
        Ok(dict)
    }

    /// Reads the f32 tensors of a safetensors file (the format of the
    /// experts lam trains itself); returns them with the file's metadata.
    pub fn load_safetensors(path: &Path) -> Result<(Self, BTreeMap<String, String>), ExpertError> {
        let bytes = std::fs::read(path).map_err(|source| ExpertError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| format_error(path, format!("not a safetensors file ({e})")))?;
        let (_, header) =
            safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| format_error(path, e))?;
        let metadata = header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        verify_content_hash(path, &st, &metadata)?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                continue;
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            tensors.insert(
                name,
                DenseTensor {
                    shape: view.shape().to_vec(),
                    values,
                },
            );
        }
        Ok((
            Self {
                path: path.to_path_buf(),
                tensors,
            },
            metadata,
        ))
    }

    /// The file the tensors came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tensor names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The tensor `name`, or an error naming the file and what it does hold.
    pub fn get(&self, name: &str) -> Result<&DenseTensor, ExpertError> {
        self.tensors
            .get(name)
            .ok_or_else(|| ExpertError::MissingTensor {
                path: self.path.clone(),
                name: name.to_string(),
                available: self.names().collect::<Vec<_>>().join(", "),
            })
    }

    /// The tensor `name`, checked to have `shape`.
    pub fn get_shaped(&self, name: &str, shape: &[usize]) -> Result<&DenseTensor, ExpertError> {
        let t = self.get(name)?;
        if t.shape != shape {
            return Err(ExpertError::Shape {
                path: self.path.clone(),
                name: name.to_string(),
                found: t.shape.clone(),
                expected: format!("{shape:?}"),
            });
        }
        Ok(t)
    }
}

/// Metadata key of a lam safetensors file's content hash.
pub const CONTENT_HASH: &str = "content_sha256";

/// The content hash of a safetensors file written by lam (checkpoints and
/// exported actors), in hex: SHA-256 over every tensor in name order (name,
/// NUL, dtype name, each dimension and the byte length as little-endian
/// u64, the bytes), then every metadata entry but the hash in key order
/// (0x01, key, NUL, value). Items: (name, dtype name, shape, bytes).
pub fn content_hash<'a>(
    tensors: impl Iterator<Item = (&'a str, String, &'a [usize], &'a [u8])>,
    metadata: &BTreeMap<String, String>,
) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<_> = tensors.collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    for (name, dtype, shape, data) in sorted {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(dtype.as_bytes());
        for d in shape {
            h.update((*d as u64).to_le_bytes());
        }
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    for (k, v) in metadata.iter().filter(|(k, _)| *k != CONTENT_HASH) {
        h.update([1]);
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the [`content_hash`] of an exported actor (files of the format
/// before hashes, `lam-checkpoint-1`, carry none and pass unchecked).
fn verify_content_hash(
    path: &Path,
    st: &safetensors::SafeTensors,
    metadata: &BTreeMap<String, String>,
) -> Result<(), ExpertError> {
    let legacy = metadata.get("format").map(String::as_str) == Some("lam-checkpoint-1");
    let Some(expected) = metadata.get(CONTENT_HASH) else {
        if legacy {
            // Exported before actors carried a hash: nothing to check.
            return Ok(());
        }
        return Err(format_error(
            path,
            format!("no {CONTENT_HASH} in its metadata: not a whole file exported by lam"),
        ));
    };
    let views = st.tensors();
    let found = content_hash(
        views
            .iter()
            .map(|(n, v)| (n.as_str(), format!("{:?}", v.dtype()), v.shape(), v.data())),
        metadata,
    );
    if &found != expected {
        return Err(format_error(
            path,
            "its content does not match its SHA-256: the file is damaged (restore it from the repository or re-export it)",
        ));
    }
    Ok(())
}

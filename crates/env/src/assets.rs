//! Where the Control Suite model files live.
//!
//! `scripts/setup.sh` reads them out of the dm-control wheel into
//! `.deps/models` (checked against SHA-256 sums). At run time we look, in
//! order, at `$LAM_MODELS_DIR`, then at the folder recorded at build time.

use std::path::PathBuf;

use crate::EnvError;

/// The folder recorded at build time by `.cargo/config.toml`.
const BUILD_TIME_DIR: Option<&str> = option_env!("LAM_MODELS_DIR");

/// The folder holding `cheetah.xml`, `walker.xml`, ... and `common/`.
pub fn models_dir() -> Result<PathBuf, EnvError> {
    let dir = std::env::var_os("LAM_MODELS_DIR")
        .map(PathBuf::from)
        .or_else(|| BUILD_TIME_DIR.map(PathBuf::from))
        .ok_or_else(|| EnvError::MissingModels {
            path: PathBuf::from("cheetah.xml"),
            reason: "LAM_MODELS_DIR is not set".into(),
        })?;
    Ok(dir)
}

/// The path of one model file, checked to exist.
pub fn model_path(file: &str) -> Result<PathBuf, EnvError> {
    let path = models_dir()?.join(file);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(path),
        Ok(_) => Err(EnvError::MissingModels {
            path,
            reason: "not a file".into(),
        }),
        Err(e) => Err(EnvError::MissingModels {
            path,
            reason: e.to_string(),
        }),
    }
}

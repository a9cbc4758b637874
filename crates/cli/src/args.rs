//! Command-line options shared by several commands: the distractions of
//! the environments they build and the device a model runs on.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use lam_env::distractors::{BackgroundSource, DistractionConfig, Preset, Split};
use tch::Device;

/// Distraction options.
#[derive(Debug, Clone, Args)]
pub struct DistractionArgs {
    /// Distraction preset: vanilla, easy, medium, hard, scale_easy_video_hard.
    #[arg(long, default_value = "vanilla")]
    pub preset: Preset,
    /// Freeze distractions after each reset (default: they move, as in the paper).
    #[arg(long = "static")]
    pub frozen: bool,
    /// Background split: train (data) or val (held-out evaluation).
    #[arg(long, default_value = "train")]
    pub split: Split,
    /// A DAVIS-style folder of JPEG frame folders (default: built-in generated videos).
    #[arg(long, value_name = "DIR")]
    pub backgrounds: Option<PathBuf>,
}

impl DistractionArgs {
    /// The environment-level configuration.
    pub fn config(&self) -> DistractionConfig {
        DistractionConfig {
            preset: self.preset,
            dynamic: !self.frozen,
            split: self.split.clone(),
            source: match &self.backgrounds {
                Some(dir) => BackgroundSource::Folder(dir.clone()),
                None => BackgroundSource::Builtin,
            },
        }
    }
}

/// Where the model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// The first CUDA GPU if libtorch sees one, else the CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA GPU.
    Cuda,
}

impl DeviceArg {
    /// The tch device, or an error when CUDA is asked for and absent.
    pub fn device(self) -> Result<Device> {
        Ok(match self {
            DeviceArg::Auto => lam_models::toolkit::device::best_device(),
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Cuda => {
                if !tch::Cuda::is_available() {
                    bail!(
                        "--device cuda: libtorch sees no CUDA GPU (this build: {})",
                        lam_models::toolkit::device::describe()
                    );
                }
                Device::Cuda(0)
            }
        })
    }
}

/// A library error in the words of the command line: a setting the library
/// refuses is named by its flag (`action noise 3` → `--action-noise 3`).
pub fn flag_error(e: lam_train::TrainError) -> anyhow::Error {
    match e {
        lam_train::TrainError::Invalid {
            setting,
            value,
            expected,
        } => anyhow::anyhow!(
            "--{} {value}: expected {expected}",
            setting.replace([' ', '_'], "-")
        ),
        e => e.into(),
    }
}

//! Command-line options that choose distractions, shared by the commands
//! that build environments.

use std::path::PathBuf;

use clap::Args;
use lam_env::distractors::{BackgroundSource, DistractionConfig, Preset, Split};

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

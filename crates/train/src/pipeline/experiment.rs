//! The experiment file of `lam pipeline`: tasks × arms (methods × label
//! budgets × distraction presets) × seeds, data and evaluation sizes, and
//! `--set` overrides per stage kind.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::slurm::SlurmSettings;
use super::PipelineError;

/// An experiment (TOML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Where stage folders live (shared by re-runs and schedulers).
    #[serde(default = "default_cache")]
    pub cache: PathBuf,
    /// Task names.
    pub tasks: Vec<String>,
    /// The methods of the arm `main` (may be empty when `arms` say it all).
    #[serde(default)]
    pub methods: Vec<String>,
    /// Labeled trajectories of the arm `main`.
    #[serde(default)]
    pub label_budgets: Vec<usize>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// "mini" presets (CPU) or "paper".
    #[serde(default = "default_scale")]
    pub scale: String,
    /// The datasets.
    pub data: DataSettings,
    /// The evaluations.
    pub eval: EvalSettings,
    /// `--set` overrides per stage kind.
    #[serde(default)]
    pub sets: Sets,
    /// Further arms: other methods, budgets or distraction presets on the
    /// same tasks, seeds, data sizes and settings.
    #[serde(default)]
    pub arms: Vec<ArmSpec>,
    /// Resources and options of the jobs `--emit slurm` writes.
    #[serde(default)]
    pub slurm: SlurmSettings,
}

/// One arm of an experiment: methods × label budgets × presets, with or
/// without the downstream stages (latent BC, decoder, evaluation).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    /// Its name (`--arm NAME`).
    pub name: String,
    /// LAM presets (any of the ladder), `idm`, `bc`.
    pub methods: Vec<String>,
    /// Labeled trajectories (for LAOM + supervision, BC, IDM and decoders).
    #[serde(default)]
    pub label_budgets: Vec<usize>,
    /// Distraction presets (default: `data.presets`).
    #[serde(default)]
    pub presets: Option<Vec<String>>,
    /// Policies and their evaluations too (false: LAMs and their probes only).
    #[serde(default = "yes")]
    pub downstream: bool,
    /// What the LAMs are trained on: each task's own data (`in-task`), all
    /// the experiment's tasks at once (`all-tasks`), or every task but the
    /// one probed and decoded (`leave-one-out`).
    #[serde(default)]
    pub pretrain: Pretrain,
}

/// The data a LAM is pre-trained on, for the task it is then probed and
/// decoded on (cross-embodiment pre-training).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pretrain {
    /// The task's own data.
    #[default]
    InTask,
    /// Every task of the experiment at once (mixed batches).
    AllTasks,
    /// Every task of the experiment but this one (mixed batches).
    LeaveOneOut,
}

impl Pretrain {
    /// Its name in experiment files and labels.
    pub fn name(self) -> &'static str {
        match self {
            Pretrain::InTask => "in-task",
            Pretrain::AllTasks => "all-tasks",
            Pretrain::LeaveOneOut => "leave-one-out",
        }
    }
}

fn yes() -> bool {
    true
}

fn default_cache() -> PathBuf {
    PathBuf::from("runs/pipeline")
}

fn default_scale() -> String {
    "mini".into()
}

/// The datasets of every task and preset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSettings {
    /// Distraction presets of data and evaluation.
    pub presets: Vec<String>,
    /// Training trajectories.
    pub trajectories: usize,
    /// Held-out trajectories per probe split (and, on the val split, for
    /// evaluations during training).
    pub eval_trajectories: usize,
    /// The background splits of the held-out files probes are scored on:
    /// `val` (unseen background videos, the paper's held-out distractors)
    /// and `train` (new trajectories on the training backgrounds). Both by
    /// default: the report shows them side by side.
    #[serde(default = "both_splits")]
    pub probe_splits: Vec<String>,
    /// Steps per trajectory.
    pub episode_length: usize,
    /// Frame side in pixels.
    pub img: usize,
    /// Experts: `TASK/actor.safetensors` (ours) or the published layout.
    pub experts: PathBuf,
    /// Store actions clipped to [-1, 1] (what the environment executes)
    /// instead of the expert's raw outputs.
    #[serde(default)]
    pub clip_actions: bool,
    /// Record the simulator's ground truth (agent masks and distractor
    /// states, `lam collect --ground-truth`) in every file collected: what
    /// the leakage probes and the mask-guided methods read.
    #[serde(default)]
    pub ground_truth: bool,
}

/// The evaluations of every policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSettings {
    /// Episodes per evaluation.
    pub episodes: usize,
    /// Steps per episode.
    pub episode_length: usize,
    /// What normalised scores divide by.
    #[serde(default)]
    pub normalizer: Normalizer,
    /// Also play the same episodes with uniformly random actions and with
    /// the data's expert (the floor and the ceiling of the returns).
    #[serde(default = "yes")]
    pub yardsticks: bool,
    /// The background splits evaluations play on: `train` (the data's
    /// backgrounds) and/or `val` (unseen background videos: the paper's
    /// held-out distractors).
    #[serde(default = "train_split")]
    pub splits: Vec<String>,
}

fn both_splits() -> Vec<String> {
    vec!["train".into(), "val".into()]
}

fn train_split() -> Vec<String> {
    vec!["train".into()]
}

/// The normaliser of scores (the paper normalises by BC on all labels).
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalizer {
    /// Train and evaluate BC on all labels in each setting (the paper's way).
    #[default]
    BcAllLabels,
    /// The published figures (no BC stage; for quick runs whose own BC
    /// would be too short-trained to divide by).
    Published,
}

/// `--set KEY=VALUE` overrides per stage kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sets {
    /// Latent action models.
    #[serde(default)]
    pub lam: Vec<String>,
    /// Latent BC actors.
    #[serde(default)]
    pub latent_bc: Vec<String>,
    /// Action decoders.
    #[serde(default)]
    pub decoder: Vec<String>,
    /// BC (on all labels, a budget, or IDM-relabeled data).
    #[serde(default)]
    pub bc: Vec<String>,
    /// IDMs.
    #[serde(default)]
    pub idm: Vec<String>,
}

impl Sets {
    /// Every list, for checking.
    pub(crate) fn all(&self) -> [&Vec<String>; 5] {
        [
            &self.lam,
            &self.latent_bc,
            &self.decoder,
            &self.bc,
            &self.idm,
        ]
    }
}

/// An arm as planned.
pub(crate) struct Arm<'a> {
    pub methods: &'a [String],
    pub budgets: &'a [usize],
    pub presets: &'a [String],
    pub downstream: bool,
    pub pretrain: Pretrain,
}

impl Experiment {
    /// Reads an experiment file.
    pub fn read(file: &Path) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(file).map_err(|source| PipelineError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| PipelineError::Experiment {
            file: file.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The arms to plan: `main` (the top-level methods) and `arms`, or only
    /// those named in `only`.
    pub(crate) fn arms<'a>(&'a self, only: &[String]) -> Result<Vec<Arm<'a>>, String> {
        let mut all: Vec<(&str, Arm<'a>)> = Vec::new();
        if !self.methods.is_empty() {
            all.push((
                "main",
                Arm {
                    methods: &self.methods,
                    budgets: &self.label_budgets,
                    presets: &self.data.presets,
                    downstream: true,
                    pretrain: Pretrain::InTask,
                },
            ));
        }
        for a in &self.arms {
            if all.iter().any(|(n, _)| *n == a.name) {
                return Err(format!("arms: two arms are called {:?}", a.name));
            }
            all.push((
                &a.name,
                Arm {
                    methods: &a.methods,
                    budgets: &a.label_budgets,
                    presets: a.presets.as_deref().unwrap_or(&self.data.presets),
                    downstream: a.downstream,
                    pretrain: a.pretrain,
                },
            ));
        }
        for name in only {
            if !all.iter().any(|(n, _)| n == name) {
                return Err(format!(
                    "--arm {name:?}: no such arm; the experiment has {}",
                    all.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Ok(all
            .into_iter()
            .filter(|(n, _)| only.is_empty() || only.iter().any(|o| o == n))
            .map(|(_, a)| a)
            .collect())
    }
}

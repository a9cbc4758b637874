//! `lam pipeline` as a library: an [`Experiment`] planned into typed
//! [`Stage`]s (methods × tasks × label budgets × seeds), each cached in a
//! folder named by its key, run in-process in dependency order.
//!
//! A stage's key is a digest of its canonical serialisation (the typed
//! stage: every setting and every input path, and input paths inside the
//! cache are named by their stages' keys), the contents its named inputs
//! stand for (a run preset's file, an expert's weights) and
//! [`RESULTS_FORMAT`]. A finished stage leaves a `.done` marker naming the
//! lam build that made it and is never run again; an interrupted training
//! run or collection resumes. `--emit-jobs` lists one `--job KEY` command
//! per stage for an external scheduler sharing the cache folder;
//! [`slurm::emit`] writes them as Slurm batch scripts chained by their
//! dependencies.

mod experiment;
mod plan;
pub mod slurm;
mod stage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lam_data::DataError;
use serde::Serialize;

pub use experiment::{ArmSpec, DataSettings, EvalSettings, Experiment, Normalizer, Pretrain, Sets};
pub use slurm::SlurmSettings;
pub use stage::{Playing, Role, Stage};

use crate::progress::Reporter;
use crate::run::RunError;
use crate::TrainError;

/// The version of what stages produce, part of every cache key. Bump it in
/// any change after which a stage with the same settings would produce
/// different results (another random stream, a changed loss, default or
/// file format); leave it for changes that keep results (speed, messages,
/// refactors). Every cached stage would then run again. A stage made by
/// another lam build is reused while this stays the same, and reported.
pub const RESULTS_FORMAT: u32 = 3;

/// An example experiment (`lam pipeline --example`): examples/pipeline.toml.
pub const EXAMPLE: &str = include_str!("../../../../examples/pipeline.toml");

/// Why a pipeline could not be planned or run.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The experiment file is not a valid experiment.
    #[error("{}: {message}", file.display())]
    Experiment {
        /// The file.
        file: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
    /// `--job KEY` names no stage of the experiment.
    #[error("no stage {key} in {}", file.display())]
    NoStage {
        /// The key asked for.
        key: String,
        /// The experiment file.
        file: PathBuf,
    },
    /// A stage's inputs are not done (a scheduler ran it too early).
    #[error("stage {stage} needs {needs} first (not done)")]
    NotReady {
        /// The stage.
        stage: String,
        /// The input stage not done.
        needs: String,
    },
    /// A stage failed.
    #[error("stage {key} failed ({command}): {source}")]
    Stage {
        /// Its key.
        key: String,
        /// The command that does the same by hand.
        command: String,
        /// The cause.
        source: Box<StageError>,
    },
    /// Reading or writing a file of the cache failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A stage folder is locked by another process, or another data problem.
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Why one stage failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A collection, relabeling, probe or evaluation problem.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A training run problem.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Settings the stage cannot use.
    #[error("{0}")]
    Spec(String),
}

/// A stage in a plan: its key, what it is, the stages it needs and what
/// it stands for in reports.
#[derive(Clone, Debug)]
pub struct Planned {
    /// `KIND-DIGEST`, the name of its folder in the cache.
    pub key: String,
    /// The stage.
    pub stage: Stage,
    /// Keys of the stages whose outputs it reads.
    pub deps: Vec<String>,
    /// Task, preset, method, labels and seed, for LAMs, probes and
    /// evaluations (and the background split, for probes and evaluations).
    pub label: Option<BTreeMap<String, String>>,
    /// What it is, in words: `train laom-labels-mini · cheetah-run/easy ·
    /// 4 labels · seed 0`.
    pub title: String,
}

/// The stages of an experiment in dependency order.
#[derive(Debug)]
pub struct Pipeline {
    /// The cache folder.
    pub cache: PathBuf,
    /// The stages, each after those it needs.
    pub stages: Vec<Planned>,
    index: BTreeMap<String, usize>,
    /// The lam build running it (named in `.done` markers).
    build: String,
}

/// What `pipeline.json` in the cache records about the last run.
#[derive(Debug, Serialize)]
pub struct Record {
    /// Stages planned.
    pub stages: usize,
    /// What each labeled stage (LAMs, probes, evaluations) stands for.
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Stages run this time.
    pub ran: Vec<String>,
    /// Stages found done.
    pub cached: Vec<String>,
    /// One row per evaluation: its label, mean and std of the return,
    /// episodes and stage key.
    pub results: Vec<BTreeMap<String, serde_json::Value>>,
}

impl Pipeline {
    /// Plans the arms of `experiment` (all, or those in `arms`) read from
    /// `file`; `build` names the lam build in `.done` markers.
    pub fn plan(
        experiment: &Experiment,
        file: &Path,
        arms: &[String],
        build: &str,
    ) -> Result<Self, PipelineError> {
        let mut p = Self {
            cache: experiment.cache.clone(),
            stages: Vec::new(),
            index: BTreeMap::new(),
            build: build.to_string(),
        };
        plan::plan(&mut p, experiment, arms).map_err(|message| PipelineError::Experiment {
            file: file.to_path_buf(),
            message,
        })?;
        Ok(p)
    }

    /// The folder of stage `key`.
    pub fn dir(&self, key: &str) -> PathBuf {
        self.cache.join(key)
    }

    /// The stage called `key`.
    pub fn get(&self, key: &str) -> Option<&Planned> {
        self.index.get(key).map(|&i| &self.stages[i])
    }

    fn done_marker(&self, key: &str) -> PathBuf {
        self.dir(key).join(".done")
    }

    /// Whether stage `key` is done.
    pub fn is_done(&self, key: &str) -> bool {
        self.done_marker(key).exists()
    }

    /// Whether stage `key`'s marker names another lam build than this one.
    pub fn made_elsewhere(&self, key: &str) -> bool {
        let ours = format!("made by {}", self.build);
        let marker = std::fs::read_to_string(self.done_marker(key)).unwrap_or_default();
        !marker.lines().any(|l| l == ours)
    }

    /// Runs one stage unless it is done; its summary line when it ran.
    pub fn run_stage(
        &self,
        s: &Planned,
        report: Reporter,
    ) -> Result<Option<String>, PipelineError> {
        if self.is_done(&s.key) {
            return Ok(None);
        }
        for d in &s.deps {
            if !self.is_done(d) {
                return Err(PipelineError::NotReady {
                    stage: s.key.clone(),
                    needs: d.clone(),
                });
            }
        }
        let dir = self.dir(&s.key);
        std::fs::create_dir_all(&dir).map_err(|source| PipelineError::Io {
            path: dir.clone(),
            source,
        })?;
        // One process per stage: a second pipeline on the same cache is
        // refused this stage (and stops) instead of writing into it too.
        let _lock = lam_data::OutputLock::at(&dir.join(".stage.lock"), &dir)?;
        if self.is_done(&s.key) {
            return Ok(None);
        }
        let command = s.stage.command(&dir);
        let line = s
            .stage
            .run(&dir, report)
            .map_err(|e| PipelineError::Stage {
                key: s.key.clone(),
                command: command.clone(),
                source: Box::new(e),
            })?;
        let marker = self.done_marker(&s.key);
        lam_data::atomic::write_bytes_atomic(
            &marker,
            format!("{command}\nmade by {}\n", self.build).as_bytes(),
        )
        .map_err(|source| PipelineError::Io {
            path: marker,
            source,
        })?;
        Ok(Some(line))
    }

    /// Runs every stage not done, in order (`on_stage` hears of each before
    /// it starts and of its summary after), then writes `pipeline.json`.
    pub fn run(
        &self,
        on_stage: &mut dyn FnMut(usize, &Planned, Option<&str>),
        report: Reporter,
    ) -> Result<Record, PipelineError> {
        let (mut ran, mut cached) = (Vec::new(), Vec::new());
        for (i, s) in self.stages.iter().enumerate() {
            on_stage(i, s, None);
            match self.run_stage(s, report)? {
                Some(line) => {
                    on_stage(i, s, Some(&line));
                    ran.push(s.key.clone());
                }
                None => cached.push(s.key.clone()),
            }
        }
        let mut results = Vec::new();
        for s in self.stages.iter().filter(|s| s.stage.kind() == "eval") {
            let Some(label) = &s.label else { continue };
            let file = s.stage.output(&self.dir(&s.key));
            let text = std::fs::read_to_string(&file).map_err(|source| PipelineError::Io {
                path: file.clone(),
                source,
            })?;
            let v: crate::eval::EvalResult =
                serde_json::from_str(&text).map_err(|e| PipelineError::Io {
                    path: file.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                })?;
            let mut row: BTreeMap<String, serde_json::Value> = label
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect();
            row.insert("mean_return".into(), v.mean_return.into());
            row.insert("std_return".into(), v.std_return.into());
            row.insert("episodes".into(), v.episodes.into());
            row.insert("stage".into(), s.key.clone().into());
            results.push(row);
        }
        let record = Record {
            stages: self.stages.len(),
            labels: self
                .stages
                .iter()
                .filter_map(|s| s.label.as_ref().map(|l| (s.key.clone(), l.clone())))
                .collect(),
            ran,
            cached,
            results,
        };
        let file = self.cache.join("pipeline.json");
        let text = serde_json::to_string_pretty(&record).expect("a record serialises");
        lam_data::atomic::write_bytes_atomic(&file, text.as_bytes())
            .map_err(|source| PipelineError::Io { path: file, source })?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_shipped_experiments_parse() {
        for f in [
            "examples/pipeline.toml",
            "examples/demo.toml",
            "experiments/mini-dcs.toml",
            "experiments/laom-steps.toml",
            "experiments/label-budgets.toml",
            "experiments/masks.toml",
        ] {
            let x = Experiment::read(&root().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(!x.tasks.is_empty() && !x.seeds.is_empty(), "{f}");
        }
        assert_eq!(
            EXAMPLE,
            std::fs::read_to_string(root().join("examples/pipeline.toml")).unwrap()
        );
    }

    /// A key is its stage's content: equal stages share one, and any
    /// setting or input path gives another.
    #[test]
    fn keys_follow_the_typed_stage() {
        let train = |steps: &str| Stage::Train {
            role: Role::Lam,
            preset: "lapo-mini".into(),
            sets: vec!["seed=0".into(), format!("train.steps={steps}")],
            data: "cache/data-0/data.hdf5".into(),
            also: Vec::new(),
            labeled: None,
            also_labeled: Vec::new(),
            eval_data: None,
            teacher: None,
        };
        let a = plan::key_of(&train("10"));
        assert_eq!(a, plan::key_of(&train("10")));
        assert!(a.starts_with("lam-") && a.len() == "lam-".len() + 16, "{a}");
        assert_ne!(a, plan::key_of(&train("11")));
        let mut other = train("10");
        if let Stage::Train { data, .. } = &mut other {
            *data = "cache/data-1/data.hdf5".into();
        }
        assert_ne!(a, plan::key_of(&other));
        // A stage round-trips through its serialisation unchanged.
        let text = serde_json::to_string(&train("10")).unwrap();
        let back: Stage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, train("10"));
    }

    /// The example experiment plans every stage after the stages it
    /// reads, each once, with labels on LAMs, probes and evaluations.
    #[test]
    fn plans_keep_dependency_order() {
        let mut x = Experiment::read(&root().join("examples/pipeline.toml")).unwrap();
        x.data.experts = root().join("experts");
        let p = Pipeline::plan(&x, Path::new("examples/pipeline.toml"), &[], "test").unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for s in &p.stages {
            for d in &s.deps {
                assert!(seen.contains(d), "{} runs before its input {d}", s.key);
            }
            assert!(seen.insert(s.key.clone()), "{} planned twice", s.key);
            assert_eq!(s.key, plan::key_of(&s.stage));
            let labelled = matches!(s.stage.kind(), "lam" | "probe" | "eval");
            assert_eq!(s.label.is_some(), labelled, "{}", s.key);
        }
        assert!(p.stages.iter().any(|s| s.stage.kind() == "decoder"));
        let err = Pipeline::plan(&x, Path::new("x.toml"), &["nope".into()], "test").unwrap_err();
        assert!(err.to_string().contains("no such arm"), "{err}");
    }
}

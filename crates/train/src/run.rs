//! A whole training run in a folder: the config, checkpoints every N steps
//! and at the end, metrics per step (JSON lines), held-out evaluations, and
//! resuming where the last checkpoint left off with the very batches an
//! uninterrupted run would have seen. A NaN or infinite loss stops the run
//! and leaves the last good checkpoint in place.
//!
//! Folder layout: `config.toml`, `data.toml` (the files trained on),
//! `checkpoint.safetensors`, `metrics.jsonl`, `summary.json` (at the end).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use lam_data::loader::{Loader, LoaderConfig, LoaderMode};
use lam_data::masks::{gather_mixed, MaskStore};
use lam_data::mixed::{pad, ActionLayout, MixedLoader};
use lam_data::DataError;
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::events::EventsFile;
use crate::trainer::{EvalMetrics, StepMetrics, Trainer};
use lam_models::batch::{BatchMasks, DataShape, TrainBatch};
use lam_models::config::{Method, RunConfig};
use lam_models::toolkit::checkpoint::CheckpointError;

/// The files of a run folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The folder.
    pub root: PathBuf,
}

impl RunDir {
    /// The run kept in `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// The run's settings.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    /// The data files the run trains on.
    pub fn data(&self) -> PathBuf {
        self.root.join("data.toml")
    }
    /// The latest checkpoint.
    pub fn checkpoint(&self) -> PathBuf {
        self.root.join("checkpoint.safetensors")
    }
    /// One JSON object per step (and per evaluation).
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    /// Final figures.
    pub fn summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }
    /// The lock a training process holds on the folder while it runs.
    pub fn lock(&self) -> PathBuf {
        self.root.join(".run.lock")
    }
}

/// The data a run trains on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Training file (for IDM and BC: the labeled file).
    pub data: PathBuf,
    /// More training files, of other tasks (cross-embodiment
    /// pre-training): every batch mixes samples of all the files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<PathBuf>,
    /// Labeled subset for supervision.
    pub labeled: Option<PathBuf>,
    /// Labeled subsets of the `also` files' tasks, in their order
    /// (supervision on several tasks: one head per task).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_labeled: Vec<PathBuf>,
    /// Held-out file for evaluations.
    pub eval: Option<PathBuf>,
    /// Checkpoint of the run this one builds on (latent BC: the LAM;
    /// decoder: the latent BC actor).
    #[serde(default)]
    pub teacher: Option<PathBuf>,
}

impl RunDir {
    /// The config of the run kept here (to resume or show it).
    pub fn read_config(&self) -> Result<RunConfig, RunError> {
        let file = self.config();
        let text = std::fs::read_to_string(&file).map_err(|_| {
            RunError::Config(format!(
                "{}: no run to resume here (no config.toml)",
                self.root.display()
            ))
        })?;
        RunConfig::from_toml(&text, &file.display().to_string()).map_err(RunError::Settings)
    }

    /// The data files the run kept here was started with.
    pub fn read_data(&self) -> Result<RunData, RunError> {
        let file = self.data();
        let text = std::fs::read_to_string(&file).map_err(|_| {
            RunError::Config(format!(
                "{}: no run to resume here (no data.toml)",
                self.root.display()
            ))
        })?;
        toml::from_str(&text).map_err(|e| RunError::Config(format!("{}: {e}", file.display())))
    }

    /// Whether a run was started here (its config is written).
    pub fn started(&self) -> bool {
        self.config().exists()
    }
}

impl RunData {
    /// The files of a run: those given, and on `resume` the ones the run
    /// in `dir` was started with for any not given. `teacher` is the
    /// teacher's run folder; `also`, more training files (none: those the
    /// run was started with).
    #[allow(clippy::too_many_arguments)]
    pub fn resolve(
        dir: &RunDir,
        resume: bool,
        data: Option<PathBuf>,
        also: Vec<PathBuf>,
        labeled: Option<PathBuf>,
        also_labeled: Vec<PathBuf>,
        eval: Option<PathBuf>,
        teacher: Option<&Path>,
    ) -> Result<Self, RunError> {
        let stored = if resume { Some(dir.read_data()?) } else { None };
        let data = match (data, &stored) {
            (Some(d), _) => d,
            (None, Some(s)) => s.data.clone(),
            (None, None) => {
                return Err(RunError::Config(
                    "--data FILE is required (a dataset from `lam collect`)".into(),
                ))
            }
        };
        let also = match (also.is_empty(), &stored) {
            (true, Some(s)) => s.also.clone(),
            _ => also,
        };
        let also_labeled = match (also_labeled.is_empty(), &stored) {
            (true, Some(s)) => s.also_labeled.clone(),
            _ => also_labeled,
        };
        Ok(Self {
            data,
            also,
            labeled: labeled.or_else(|| stored.as_ref().and_then(|s| s.labeled.clone())),
            also_labeled,
            eval: eval.or_else(|| stored.as_ref().and_then(|s| s.eval.clone())),
            teacher: match teacher {
                Some(dir) => Some(RunDir::new(dir).checkpoint()),
                None => stored.and_then(|s| s.teacher),
            },
        })
    }
}

/// The task a dataset file holds, refusing one whose `domain_name` /
/// `task_name` is no task lam knows.
pub fn dataset_task(file: &Path) -> Result<lam_env::TaskId, RunError> {
    let r = lam_data::DatasetReader::open(file)?;
    let a = r.attrs();
    let name = format!("{}-{}", a.domain_name, a.task_name);
    name.parse::<lam_env::TaskId>().map_err(|e| {
        RunError::Config(format!(
            "{}: root attributes domain_name {:?} and task_name {:?} name no known task ({e})",
            file.display(),
            a.domain_name,
            a.task_name
        ))
    })
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Settings that cannot work.
    #[error("{0}")]
    Config(String),
    /// A run config that does not parse or validate.
    #[error(transparent)]
    Settings(#[from] lam_models::ConfigError),
    /// The model cannot be built from the settings.
    #[error(transparent)]
    Model(#[from] lam_models::ModelError),
    /// A data file problem (or another process training in the folder).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A checkpoint problem.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Reading or writing a run file failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The loss stopped being a number.
    #[error("the loss became {value} at step {step}; stopped. {kept}")]
    Diverged {
        /// The step whose loss was not finite.
        step: usize,
        /// The offending value.
        value: f64,
        /// What was kept on disk.
        kept: String,
    },
}

fn io(file: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        file: file.to_path_buf(),
        source,
    }
}

/// What the caller hears about as the run goes.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// Training starts (or resumes) at `step` of `total`.
    Started {
        /// First step to run.
        step: usize,
        /// Steps in the run.
        total: usize,
        /// Trainable parameters.
        parameters: i64,
        /// Whether bf16 autocast is on.
        autocast: bool,
    },
    /// A step finished.
    Step {
        /// Steps done.
        step: usize,
        /// Its measurements.
        metrics: &'a StepMetrics,
    },
    /// A held-out evaluation.
    Eval {
        /// Steps done.
        step: usize,
        /// Its measurements.
        metrics: &'a EvalMetrics,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// Steps done.
        step: usize,
    },
}

/// The end of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// Steps done.
    pub steps: usize,
    /// Mean of the last (up to) 100 steps' metrics.
    pub final_loss: f64,
    /// Mean latent → action probe MSE of the last 100 steps.
    pub final_action_probe: Option<f64>,
    /// Mean state probe MSE of the last 100 steps.
    pub final_state_probe: f64,
    /// The last held-out evaluation.
    pub eval: Option<EvalMetrics>,
    /// Training samples per second over this session's steps.
    pub samples_per_s: f64,
    /// Trainable parameters.
    pub parameters: i64,
    /// The method trained.
    pub method: Method,
}

/// One JSON line of `metrics.jsonl`.
#[derive(Serialize)]
struct StepLine<'a> {
    step: usize,
    #[serde(flatten)]
    metrics: &'a StepMetrics,
    samples_per_s: f64,
    elapsed_s: f64,
}

#[derive(Serialize)]
struct EvalLine<'a> {
    step: usize,
    eval: &'a EvalMetrics,
}

/// Starts a new run in `dir` with `config`, or (with `config = None`)
/// resumes the run already there. `device` is where the model lives;
/// `until` stops this session after that many steps (with a checkpoint),
/// so a long run can be done in pieces.
pub fn train(
    dir: &RunDir,
    config: Option<&RunConfig>,
    data: &RunData,
    device: Device,
    until: Option<usize>,
    mut on_event: impl FnMut(RunEvent),
) -> Result<RunSummary, RunError> {
    // The sizes of a loader's batches (frame, then state and action values).
    let shape_of = |frame: (usize, usize),
                    sizes: (usize, usize),
                    file: &Path|
     -> Result<DataShape, RunError> {
        let (h, w) = frame;
        if h != w {
            return Err(RunError::Config(format!(
                "{}: frames are {h}x{w}; the models take square frames",
                file.display()
            )));
        }
        let (s, a) = sizes;
        Ok(DataShape {
            image: h as i64,
            action_dim: a as i64,
            state_dim: s as i64,
        })
    };
    // One training process per folder, from its first write to its summary.
    let _lock = lam_data::OutputLock::at(&dir.lock(), &dir.root)?;
    let provenance = check_files(data)?;
    // The trainer: fresh, or from the run's checkpoint.
    let mut trainer = match config {
        Some(c) => {
            if dir.checkpoint().exists() || dir.metrics().exists() {
                return Err(RunError::Config(format!(
                    "{} already holds a run; pass --resume to continue it, or choose another --out",
                    dir.root.display()
                )));
            }
            c.validate().map_err(RunError::Settings)?;
            write_text(&dir.config(), &c.to_toml())?;
            write_text(
                &dir.data(),
                &toml::to_string(data).map_err(|e| RunError::Config(e.to_string()))?,
            )?;
            None
        }
        None if dir.checkpoint().exists() => {
            let (t, _) = Trainer::load(&dir.checkpoint(), device)?;
            Some(t)
        }
        None => None,
    };
    let config = match (&trainer, config) {
        (Some(t), _) => t.config.clone(),
        (None, Some(c)) => c.clone(),
        (None, None) => {
            let file = dir.config();
            let text = std::fs::read_to_string(&file).map_err(io(&file))?;
            RunConfig::from_toml(&text, &file.display().to_string()).map_err(RunError::Settings)?
        }
    };
    if config.needs_labels() && data.labeled.is_none() {
        return Err(RunError::Config(
            "this config trains with supervision (train.supervision_coef > 0) and needs a labeled file: pass --labeled FILE".into(),
        ));
    }
    let start = trainer.as_ref().map_or(0, Trainer::steps);
    let t = &config.train;
    if start >= t.steps {
        // Finished already: report what the run ended with.
        let file = dir.summary();
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        return serde_json::from_str(&text)
            .map_err(|e| RunError::Config(format!("{}: {e}", file.display())));
    }
    if until.is_some_and(|u| u <= start) {
        return Err(RunError::Config(format!(
            "the run is already at step {start}; --until must be larger"
        )));
    }
    let mode = if t.stream_cache_mib > 0 {
        LoaderMode::Streaming {
            chunk_steps: 64,
            cache_bytes: t.stream_cache_mib << 20,
        }
    } else {
        LoaderMode::InMemory
    };
    let loader_config = |batch_size, seed, skip| LoaderConfig {
        batch_size,
        max_offset: t.max_offset,
        seed,
        mode,
        prefetch_threads: 2,
        prefetch_depth: 4,
        skip_batches: skip,
    };
    let cross = !data.also.is_empty();
    if cross && !config.method.is_latent() {
        return Err(RunError::Config(format!(
            "--also: runs on several tasks' files train latent action models (LAPO, LAOM, LAOM + supervision); {:?} learns one task's actions",
            config.method
        )));
    }
    let unpaired = data.also_labeled.len() != data.also.len();
    if unpaired && (!data.also_labeled.is_empty() || (cross && config.needs_labels())) {
        return Err(RunError::Config(format!(
            "--also-labeled: supervision on several tasks needs a labeled file per task, in the order of --also ({} --also, {} --also-labeled)",
            data.also.len(),
            data.also_labeled.len()
        )));
    }
    // One task: the file's own columns. Several: each task's actions in
    // columns of their own (one supervised head per task), zeros elsewhere
    // for the online probes, NaN elsewhere in labeled batches (masked).
    let layout = |fill| {
        if cross {
            ActionLayout::Segments { fill }
        } else {
            ActionLayout::Padded
        }
    };
    let files: Vec<PathBuf> = std::iter::once(data.data.clone())
        .chain(data.also.iter().cloned())
        .collect();
    let mut loader = MixedLoader::with_layout(
        &files,
        loader_config(t.batch_size, config.seed, start as u64),
        layout(0.0),
    )?;
    let shape = shape_of(loader.frame(), loader.sizes(), &data.data)?;
    let loader_frame = loader.frame();
    let mut labeled = match (&data.labeled, config.needs_labels()) {
        (Some(file), true) => {
            let files: Vec<PathBuf> = std::iter::once(file.clone())
                .chain(data.also_labeled.iter().cloned())
                .collect();
            let l = MixedLoader::with_layout(
                &files,
                loader_config(t.labeled_batch_size, config.seed ^ 0x1abe1, start as u64),
                layout(f32::NAN),
            )?;
            let s = shape_of(l.frame(), l.sizes(), file)?;
            if s != shape {
                return Err(RunError::Config(format!(
                    "{}: {s:?} differs from the training file {}: {shape:?}",
                    file.display(),
                    data.data.display()
                )));
            }
            Some(l)
        }
        _ => None,
    };
    let mut trainer = match trainer.take() {
        Some(t) => {
            if t.shape != shape {
                return Err(RunError::Config(format!(
                    "{}: data sizes {shape:?} differ from those the checkpoint {} was trained on: {:?}",
                    data.data.display(),
                    dir.checkpoint().display(),
                    t.shape
                )));
            }
            t
        }
        None => Trainer::new(&config, shape, device, data.teacher.as_deref())?,
    };
    // The agent masks of every file the steps read, in memory, when a
    // mask-guided objective is on (an error naming a file without them).
    let needs_masks = trainer.needs_masks();
    let mask_stores = |files: &[PathBuf]| -> Result<Vec<MaskStore>, RunError> {
        if !needs_masks {
            return Ok(Vec::new());
        }
        files
            .iter()
            .map(|f| MaskStore::open(f).map_err(RunError::from))
            .collect()
    };
    let train_masks = mask_stores(&files)?;
    let labeled_masks = match &data.labeled {
        Some(file) if labeled.is_some() && config.train.mask_inputs => mask_stores(
            &std::iter::once(file.clone())
                .chain(data.also_labeled.iter().cloned())
                .collect::<Vec<_>>(),
        )?,
        _ => Vec::new(),
    };
    let with_masks = |b: TrainBatch,
                      stores: &[MaskStore],
                      mixed: &lam_data::mixed::MixedBatch|
     -> Result<TrainBatch, RunError> {
        if stores.is_empty() {
            return Ok(b);
        }
        let m = gather_mixed(stores, mixed)?;
        Ok(b.with_masks(BatchMasks::from_stacked(&m, loader_frame, device)))
    };
    let eval = match &data.eval {
        Some(file) => {
            let mut l = Loader::open(file, loader_config(t.batch_size, 0xE7A1, 0))?;
            // (A cross-task run's held-out batches are padded as its own.)
            let (s, sizes) = (shape_of(l.frame(), l.sizes(), file)?, l.sizes());
            let pad_to = (shape.state_dim as usize, shape.action_dim as usize);
            let fits = sizes == pad_to || (cross && sizes.0 <= pad_to.0 && sizes.1 <= pad_to.1);
            if !fits || s.image != shape.image {
                return Err(RunError::Config(format!(
                    "{}: {s:?} differs from the training file: {shape:?}",
                    file.display()
                )));
            }
            let frame = l.frame();
            let store = mask_stores(std::slice::from_ref(file))?;
            let mut batches = Vec::new();
            for _ in 0..t.eval_batches.max(1) {
                let b = pad(l.next_batch()?, sizes.0, sizes.1, pad_to.0, pad_to.1);
                let mut tb = TrainBatch::from_loader(&b, frame, device);
                if let Some(s) = store.first() {
                    let m = s.gather(&b)?;
                    tb = tb.with_masks(BatchMasks::from_stacked(&m, frame, device));
                }
                batches.push(tb);
            }
            Some(batches)
        }
        None => None,
    };
    let mut metrics = MetricsFile::open(&dir.metrics(), start)?;
    // A resumed run's summary covers the same steps as an uninterrupted
    // one: the last 100 steps and the last evaluation come back from the
    // metrics kept on disk.
    let (mut recent, mut last_eval) = metrics.tail(100)?;
    on_event(RunEvent::Started {
        step: start,
        total: t.steps,
        parameters: trainer.parameter_count(),
        autocast: trainer.uses_autocast(),
    });
    let frame = loader.frame();
    let began = Instant::now();
    let mut last_saved = (start > 0).then_some(start);
    let save = |trainer: &Trainer, metrics: &mut MetricsFile| -> Result<(), RunError> {
        metrics.flush()?;
        trainer.save(&dir.checkpoint(), &provenance)?;
        Ok(())
    };
    let end = until.map_or(t.steps, |u| u.min(t.steps));
    for step in start..end {
        let mixed = loader.next_batch()?;
        let batch = with_masks(
            TrainBatch::from_loader(&mixed.batch, frame, device),
            &train_masks,
            &mixed,
        )?;
        let lab = match &mut labeled {
            Some(l) => {
                let mixed = l.next_batch()?;
                let b = TrainBatch::from_loader(&mixed.batch, frame, device);
                Some(with_masks(b, &labeled_masks, &mixed)?)
            }
            None => None,
        };
        let m = trainer.step(&batch, lab.as_ref());
        let done = step + 1;
        let elapsed = began.elapsed().as_secs_f64();
        let rate = ((done - start) * t.batch_size) as f64 / elapsed.max(1e-9);
        metrics.write(&StepLine {
            step: done,
            metrics: &m,
            samples_per_s: rate,
            elapsed_s: elapsed,
        })?;
        if !m.is_finite() {
            metrics.flush()?;
            let value = if m.loss.is_finite() {
                m.action_loss.unwrap_or(m.grad_norm)
            } else {
                m.loss
            };
            let kept = match last_saved {
                Some(s) => format!(
                    "The last good checkpoint (step {s}) is kept at {}; try a lower train.lr or train.grad_clip, then --resume.",
                    dir.checkpoint().display()
                ),
                None => "No checkpoint had been written yet.".to_string(),
            };
            return Err(RunError::Diverged {
                step: done,
                value,
                kept,
            });
        }
        on_event(RunEvent::Step {
            step: done,
            metrics: &m,
        });
        recent.push(m);
        if recent.len() > 100 {
            recent.remove(0);
        }
        if let Some(batches) = &eval {
            if done % t.eval_every == 0 || done == t.steps {
                let e = trainer.evaluate(batches);
                metrics.write(&EvalLine {
                    step: done,
                    eval: &e,
                })?;
                on_event(RunEvent::Eval {
                    step: done,
                    metrics: &e,
                });
                last_eval = Some(e);
            }
        }
        if done % t.checkpoint_every == 0 || done == end {
            save(&trainer, &mut metrics)?;
            last_saved = Some(done);
            on_event(RunEvent::Checkpoint { step: done });
        }
    }
    metrics.flush()?;
    let n = recent.len().max(1) as f64;
    let summary = RunSummary {
        steps: trainer.steps(),
        final_loss: recent.iter().map(|m| m.loss).sum::<f64>() / n,
        final_action_probe: config
            .method
            .is_latent()
            .then(|| recent.iter().filter_map(|m| m.action_probe).sum::<f64>() / n),
        final_state_probe: recent.iter().map(|m| m.state_probe).sum::<f64>() / n,
        eval: last_eval,
        samples_per_s: ((trainer.steps() - start) * t.batch_size) as f64
            / began.elapsed().as_secs_f64().max(1e-9),
        parameters: trainer.parameter_count(),
        method: config.method,
    };
    write_text(
        &dir.summary(),
        &serde_json::to_string_pretty(&summary).expect("summary serialises"),
    )?;
    Ok(summary)
}

/// Checkpoint metadata keys naming what a run was trained on (read by
/// `lam eval` to refuse a policy on the wrong task or distractions).
pub mod provenance {
    /// `domain-task` of the training file, e.g. `cheetah-run`.
    pub const TASK: &str = "data.task";
    /// Its distraction preset, e.g. `scale_easy_video_hard`.
    pub const DIFFICULTY: &str = "data.difficulty";
    /// Whether its distractions moved during episodes.
    pub const DYNAMIC: &str = "data.dynamic";
    /// Its background split.
    pub const SPLIT: &str = "data.split";
    /// Every task trained on, comma-separated, when the run mixed several
    /// tasks' files (absent for one task).
    pub const TASKS: &str = "data.tasks";
}

/// Checks that the labeled and held-out files show the training file's
/// task and distractions (the held-out file may use another background
/// split: that is what it is for); returns the checkpoint metadata that
/// records them.
fn check_files(data: &RunData) -> Result<BTreeMap<String, String>, RunError> {
    // Data of a task lam does not know is refused before any training,
    // whoever calls (the CLI or a pipeline stage).
    dataset_task(&data.data)?;
    let attrs = |file: &Path| -> Result<lam_data::DatasetAttrs, RunError> {
        Ok(lam_data::DatasetReader::open(file)?.attrs().clone())
    };
    let main = attrs(&data.data)?;
    let what = |a: &lam_data::DatasetAttrs| {
        format!(
            "{}-{} under {} ({})",
            a.domain_name,
            a.task_name,
            a.difficulty,
            if a.dynamic { "dynamic" } else { "static" }
        )
    };
    // Each labeled file beside the training file of its task.
    let mut pairs: Vec<(&str, &Path, &Path)> = Vec::new();
    for (flag, file) in [("--labeled", &data.labeled), ("--eval-data", &data.eval)] {
        if let Some(f) = file {
            pairs.push((flag, f, &data.data));
        }
    }
    for (l, d) in data.also_labeled.iter().zip(&data.also) {
        pairs.push(("--also-labeled", l, d));
    }
    for (flag, file, training) in pairs {
        let main = attrs(training)?;
        let other = attrs(file)?;
        if (
            &other.domain_name,
            &other.task_name,
            &other.difficulty,
            other.dynamic,
        ) != (
            &main.domain_name,
            &main.task_name,
            &main.difficulty,
            main.dynamic,
        ) {
            return Err(RunError::Config(format!(
                "{flag} {}: it shows {}, but the training file {} shows {}",
                file.display(),
                what(&other),
                training.display(),
                what(&main)
            )));
        }
    }
    let mut tasks = vec![dataset_task(&data.data)?];
    for file in &data.also {
        let task = dataset_task(file)?;
        if tasks.contains(&task) {
            return Err(RunError::Config(format!(
                "--also {}: {task} is trained on already (one file per task)",
                file.display()
            )));
        }
        tasks.push(task);
    }
    let mut meta = BTreeMap::from([
        (
            provenance::TASK.to_string(),
            format!("{}-{}", main.domain_name, main.task_name),
        ),
        (provenance::DIFFICULTY.to_string(), main.difficulty),
        (provenance::DYNAMIC.to_string(), main.dynamic.to_string()),
        (provenance::SPLIT.to_string(), main.split),
    ]);
    if tasks.len() > 1 {
        let names: Vec<&str> = tasks.iter().map(|t| t.name()).collect();
        meta.insert(provenance::TASKS.to_string(), names.join(","));
    }
    Ok(meta)
}

fn write_text(path: &Path, text: &str) -> Result<(), RunError> {
    lam_data::atomic::write_bytes_atomic(path, text.as_bytes()).map_err(io(path))
}

/// A JSON-lines metrics file, cut back on resume to the lines whose
/// `step` is at most the checkpoint's (they will be logged again), with a
/// TensorBoard event file beside it holding the same numbers
/// ([`crate::events`]).
#[derive(Debug)]
pub struct MetricsFile {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    events: EventsFile,
}

impl MetricsFile {
    /// Opens `path` for appending, keeping only lines with `step <= keep_until`.
    pub fn open(path: &Path, keep_until: usize) -> Result<Self, RunError> {
        #[derive(Deserialize)]
        struct Step {
            step: usize,
        }
        // Lines logged after the checkpoint will be logged again.
        let kept: Vec<String> = match std::fs::File::open(path) {
            Ok(f) => std::io::BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .filter(|l| serde_json::from_str::<Step>(l).is_ok_and(|s| s.step <= keep_until))
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut text = kept.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        write_text(path, &text)?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io(path))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut events = EventsFile::create(dir).map_err(io(dir))?;
        for line in &kept {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                events.line(&v).map_err(io(events.path()))?;
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
            events,
        })
    }

    /// The step metrics of the last `n` step lines kept and the last
    /// evaluation kept (what a resumed run's summary needs).
    pub fn tail(&self, n: usize) -> Result<(Vec<StepMetrics>, Option<EvalMetrics>), RunError> {
        #[derive(Deserialize)]
        struct Line {
            #[serde(default)]
            eval: Option<EvalMetrics>,
            #[serde(flatten)]
            rest: serde_json::Value,
        }
        let text = std::fs::read_to_string(&self.path).map_err(io(&self.path))?;
        let (mut steps, mut eval) = (Vec::new(), None);
        for (i, l) in text.lines().enumerate() {
            let bad = |e: serde_json::Error| {
                RunError::Config(format!(
                    "{} line {}: not a metrics line ({e})",
                    self.path.display(),
                    i + 1
                ))
            };
            let line: Line = serde_json::from_str(l).map_err(bad)?;
            match line.eval {
                Some(e) => eval = Some(e),
                None => steps.push(serde_json::from_value::<StepMetrics>(line.rest).map_err(bad)?),
            }
        }
        let skip = steps.len().saturating_sub(n);
        Ok((steps.split_off(skip), eval))
    }

    /// Appends one JSON object.
    pub fn write(&mut self, line: &impl Serialize) -> Result<(), RunError> {
        let text = serde_json::to_string(line).expect("metrics serialise");
        writeln!(self.out, "{text}").map_err(io(&self.path))?;
        let value = serde_json::to_value(line).expect("metrics serialise");
        self.events.line(&value).map_err(io(self.events.path()))
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> Result<(), RunError> {
        self.out.flush().map_err(io(&self.path))?;
        self.events.flush().map_err(io(self.events.path()))
    }
}

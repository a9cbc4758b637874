//! One stage of a pipeline as a typed value: what it makes from which
//! inputs. Its canonical serialisation (with the results format and the
//! contents its paths stand for) is its cache key; [`Stage::run`] makes it
//! in-process by calling the library function `lam` itself calls.

use std::path::{Path, PathBuf};

use lam_env::distractors::{DistractionConfig, Preset, Split};
use lam_env::TaskId;
use lam_models::config::RunConfig;
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::collect::{collect, CollectSpec};
use crate::eval::{evaluate, setting_of, EvalResult, EvalSpec, Player};
use crate::leakage::{Factor, LeakageSpec};
use crate::probe::{probe, ProbeSpec};
use crate::progress::{Progress, Reporter};
use crate::run::{train, RunData, RunDir, RunError, RunEvent};
use crate::TrainError;

use super::StageError;

/// What a training stage trains (its key's prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A latent action model.
    Lam,
    /// A latent BC actor on a LAM's latent actions.
    LatentBc,
    /// An action decoder on a latent BC actor.
    Decoder,
    /// Behaviour cloning.
    Bc,
    /// An inverse dynamics model (to relabel data for BC).
    Idm,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Lam => "lam",
            Role::LatentBc => "latent-bc",
            Role::Decoder => "decoder",
            Role::Bc => "bc",
            Role::Idm => "idm",
        }
    }
}

/// Who plays an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Playing {
    /// A policy run folder (bc, or a decoder with its actor).
    Policy(PathBuf),
    /// Uniformly random actions at this frame size.
    Random {
        /// Frame side.
        img: usize,
    },
    /// A state-based expert at this frame size.
    Expert {
        /// The checkpoint.
        path: PathBuf,
        /// Frame side.
        img: usize,
    },
}

/// One stage: a dataset, a labeled subset, a training run, a relabeling,
/// a probe or an evaluation. Paths to other stages' outputs are inside the
/// cache, named by those stages' keys, so a key changes with anything
/// upstream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "kebab-case")]
pub enum Stage {
    /// `lam collect`: expert trajectories into `data.hdf5`.
    Collect {
        /// Task name.
        task: String,
        /// Distraction preset.
        preset: String,
        /// Background split.
        split: String,
        /// The expert checkpoint.
        expert: PathBuf,
        /// Its content digest (SHA-256): re-shipped weights make new data.
        expert_sha256: String,
        /// Trajectories.
        trajectories: usize,
        /// Steps per trajectory.
        episode_length: usize,
        /// Frame side.
        img: usize,
        /// Trajectory k is seeded with seed + k.
        seed: u64,
        /// Actions stored clipped to [-1, 1].
        clip_actions: bool,
        /// The simulator's ground truth recorded (left out of the key when
        /// off, so that caches made before the switch are reused).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ground_truth: bool,
    },
    /// `lam data sample-labeled`: a seeded labeled subset into `labeled.hdf5`.
    SampleLabeled {
        /// The full file.
        data: PathBuf,
        /// Trajectories drawn.
        trajectories: usize,
        /// Seed of the draw.
        seed: u64,
    },
    /// `lam train`: a run folder from a named preset and overrides.
    Train {
        /// What it trains.
        role: Role,
        /// The preset (its file's contents are in the key too).
        preset: String,
        /// Overrides, in order (`seed=N` first).
        sets: Vec<String>,
        /// Training file.
        data: PathBuf,
        /// More training files, of other tasks (cross-embodiment
        /// pre-training; absent from the key when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        also: Vec<PathBuf>,
        /// Labeled subset (LAOM + supervision).
        labeled: Option<PathBuf>,
        /// Labeled subsets of the `also` files' tasks (absent from the key
        /// when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        also_labeled: Vec<PathBuf>,
        /// Held-out file for evaluations during training.
        eval_data: Option<PathBuf>,
        /// The teacher's run folder (latent BC: the LAM; decoder: the actor).
        teacher: Option<PathBuf>,
    },
    /// `lam data relabel`: the data with an IDM's actions into `relabeled.hdf5`.
    Relabel {
        /// The file relabeled.
        data: PathBuf,
        /// The IDM run folder.
        idm: PathBuf,
    },
    /// `lam probe`: closed-form probes of a run into `probe.json`.
    Probe {
        /// The run folder.
        run: PathBuf,
        /// File fitted on.
        data: PathBuf,
        /// Held-out file scored on.
        eval_data: PathBuf,
        /// Leakage probes measured too, on the held-out file's ground
        /// truth (left out of the key when off, so that caches made before
        /// them are reused).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        leakage: bool,
    },
    /// `lam eval`: episodes in the distractors of `like` into `eval.json`.
    Eval {
        /// Who plays.
        player: Playing,
        /// The dataset whose task and distractions the episodes use.
        like: PathBuf,
        /// Episodes.
        episodes: usize,
        /// Steps per episode.
        episode_length: usize,
        /// Environment i starts from seed + i.
        seed: u64,
    },
}

/// Samples per probe fit and score (`lam probe`'s default).
const PROBE_SAMPLES: usize = 8192;
/// Relative ridge strength of probes (`lam probe`'s default).
const PROBE_RIDGE: f64 = 1e-3;
/// Pairs per IDM forward pass when relabeling.
const RELABEL_BATCH: usize = 256;

impl Stage {
    /// The prefix of its key (what kind of folder it is).
    pub fn kind(&self) -> &'static str {
        match self {
            Stage::Collect { .. } => "data",
            Stage::SampleLabeled { .. } => "labeled",
            Stage::Train { role, .. } => role.name(),
            Stage::Relabel { .. } => "relabel",
            Stage::Probe { .. } => "probe",
            Stage::Eval { .. } => "eval",
        }
    }

    /// What it writes inside its folder `dir`: a file, or (training) the
    /// folder itself.
    pub fn output(&self, dir: &Path) -> PathBuf {
        match self {
            Stage::Collect { .. } => dir.join("data.hdf5"),
            Stage::SampleLabeled { .. } => dir.join("labeled.hdf5"),
            Stage::Train { .. } => dir.to_path_buf(),
            Stage::Relabel { .. } => dir.join("relabeled.hdf5"),
            Stage::Probe { .. } => dir.join("probe.json"),
            Stage::Eval { .. } => dir.join("eval.json"),
        }
    }

    /// The command that makes the same output by hand (for logs and
    /// `.done` markers).
    pub fn command(&self, dir: &Path) -> String {
        let out = self.output(dir);
        let p = |p: &Path| p.display().to_string();
        let mut a: Vec<String> = Vec::new();
        let mut push = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
        match self {
            Stage::Collect {
                task,
                preset,
                split,
                expert,
                trajectories,
                episode_length,
                img,
                seed,
                clip_actions,
                ground_truth,
                ..
            } => {
                push(&[
                    "collect", "--task", task, "--preset", preset, "--split", split,
                ]);
                push(&[
                    "--expert",
                    &p(expert),
                    "--trajectories",
                    &trajectories.to_string(),
                ]);
                push(&["--episode-length", &episode_length.to_string()]);
                push(&["--img", &img.to_string(), "--seed", &seed.to_string()]);
                if *clip_actions {
                    push(&["--clip-actions"]);
                }
                if *ground_truth {
                    push(&["--ground-truth"]);
                }
            }
            Stage::SampleLabeled {
                data,
                trajectories,
                seed,
            } => push(&[
                "data",
                "sample-labeled",
                &p(data),
                "--trajectories",
                &trajectories.to_string(),
                "--seed",
                &seed.to_string(),
            ]),
            Stage::Train {
                preset,
                sets,
                data,
                also,
                labeled,
                also_labeled,
                eval_data,
                teacher,
                ..
            } => {
                push(&["train", "--preset", preset, "--data", &p(data)]);
                for file in also {
                    push(&["--also", &p(file)]);
                }
                for file in also_labeled {
                    push(&["--also-labeled", &p(file)]);
                }
                for (flag, file) in [
                    ("--labeled", labeled),
                    ("--eval-data", eval_data),
                    ("--teacher", teacher),
                ] {
                    if let Some(f) = file {
                        push(&[flag, &p(f)]);
                    }
                }
                for s in sets {
                    push(&["--set", s]);
                }
            }
            Stage::Relabel { data, idm } => push(&["data", "relabel", &p(data), "--idm", &p(idm)]),
            Stage::Probe {
                run,
                data,
                eval_data,
                ..
            } => push(&[
                "probe",
                "--run",
                &p(run),
                "--data",
                &p(data),
                "--eval-data",
                &p(eval_data),
            ]),
            Stage::Eval {
                player,
                like,
                episodes,
                episode_length,
                seed,
            } => {
                push(&["eval"]);
                match player {
                    Playing::Policy(run) => push(&["--policy", &p(run)]),
                    Playing::Random { img } => push(&["--random", "--img", &img.to_string()]),
                    Playing::Expert { path, img } => {
                        push(&["--expert", &p(path), "--img", &img.to_string()])
                    }
                }
                push(&["--like", &p(like), "--episodes", &episodes.to_string()]);
                push(&["--episode-length", &episode_length.to_string()]);
                push(&["--seed", &seed.to_string()]);
            }
        }
        if !matches!(self, Stage::Collect { .. } | Stage::SampleLabeled { .. }) {
            push(&["--device", "cpu"]);
        }
        push(&["--out", &p(&out)]);
        format!("lam {}", a.join(" "))
    }

    /// Makes the stage's output in `dir`, in this process, on the CPU;
    /// resumes a training run or a collection an earlier attempt left
    /// there. Returns a one-line summary.
    pub fn run(&self, dir: &Path, report: Reporter) -> Result<String, StageError> {
        let out = self.output(dir);
        let device = Device::Cpu;
        match self {
            Stage::Collect {
                task,
                preset,
                split,
                expert,
                trajectories,
                episode_length,
                img,
                seed,
                clip_actions,
                ground_truth,
                ..
            } => {
                let task: TaskId = task.parse().map_err(TrainError::from)?;
                let distractions = DistractionConfig {
                    preset: preset
                        .parse::<Preset>()
                        .map_err(|e| StageError::Spec(format!("preset {preset:?}: {e}")))?,
                    split: split
                        .parse::<Split>()
                        .map_err(|e| StageError::Spec(format!("split {split:?}: {e:?}")))?,
                    ..DistractionConfig::default()
                };
                let mut spec =
                    CollectSpec::new(task, distractions, expert.clone(), *trajectories, out);
                spec.episode_length = *episode_length;
                spec.img = *img;
                spec.seed = *seed;
                spec.clip_actions = *clip_actions;
                spec.ground_truth = *ground_truth;
                spec.resume = crate::collect::has_partial(&spec.out);
                let done = collect(&spec, report)?;
                Ok(format!(
                    "wrote {} trajectories to {}: mean return {:.1}",
                    done.written,
                    done.file.display(),
                    done.mean_return
                ))
            }
            Stage::SampleLabeled {
                data,
                trajectories,
                seed,
            } => {
                // An unfinished stage's file is an earlier attempt's: replace it.
                let chosen = lam_data::ops::sample_labeled(data, *trajectories, *seed, &out, true)
                    .map_err(TrainError::from)?;
                Ok(format!(
                    "wrote {} trajectories {chosen:?} of {} to {}",
                    chosen.len(),
                    data.display(),
                    out.display()
                ))
            }
            Stage::Train {
                preset,
                sets,
                data,
                also,
                labeled,
                also_labeled,
                eval_data,
                teacher,
                ..
            } => {
                let run = RunDir::new(dir);
                // A run an earlier attempt started resumes with its own config.
                let resume = run.started();
                let config = if resume {
                    None
                } else {
                    let base = RunConfig::preset(preset)
                        .ok_or_else(|| StageError::Spec(format!("no preset {preset:?}")))?;
                    Some(base.with_overrides(sets).map_err(RunError::Settings)?)
                };
                let files = RunData::resolve(
                    &run,
                    resume,
                    Some(data.clone()),
                    also.clone(),
                    labeled.clone(),
                    also_labeled.clone(),
                    eval_data.clone(),
                    teacher.as_deref(),
                )?;
                let total = match &config {
                    Some(c) => c.train.steps,
                    None => run.read_config()?.train.steps,
                } as u64;
                let what = format!("train {preset}");
                let mut status = String::new();
                let summary = train(&run, config.as_ref(), &files, device, None, |e| match e {
                    RunEvent::Started { step, .. } => report(Progress::Begin {
                        total,
                        at: step as u64,
                        unit: "steps",
                        what: &what,
                    }),
                    RunEvent::Step { step, metrics } => {
                        report(Progress::At(step as u64));
                        status.clear();
                        status.push_str(&format!("{preset}: loss {:.4}", metrics.loss));
                        report(Progress::Status(&status));
                    }
                    RunEvent::Eval { step, metrics } => report(Progress::Line(&format!(
                        "step {step}: held-out loss {:.4}, action MSE {:.4}, state probe {:.4}",
                        metrics.loss, metrics.action_mse, metrics.state_probe
                    ))),
                    RunEvent::Checkpoint { .. } => {}
                });
                report(Progress::End);
                let s = summary?;
                Ok(format!(
                    "trained {} steps of {:?} ({:.0} samples/s), last-100 loss {:.4}",
                    s.steps, s.method, s.samples_per_s, s.final_loss
                ))
            }
            Stage::Relabel { data, idm } => {
                let done =
                    crate::relabel::relabel(data, idm, &out, RELABEL_BATCH, true, device, report)?;
                Ok(format!(
                    "wrote {} trajectories with IDM actions to {} (MSE to the original actions {:.4})",
                    done.trajectories,
                    done.file.display(),
                    done.mse
                ))
            }
            Stage::Probe {
                run,
                data,
                eval_data,
                leakage,
            } => {
                let spec = ProbeSpec {
                    run: run.clone(),
                    data: data.clone(),
                    eval_data: Some(eval_data.clone()),
                    samples: PROBE_SAMPLES,
                    ridge: PROBE_RIDGE,
                    seed: 0,
                    max_offset: None,
                    device,
                    leakage: leakage.then(LeakageSpec::default),
                };
                let mut current: Option<PathBuf> = None;
                let result = probe(&spec, &mut |file, done, total| {
                    if current.as_deref() != Some(file) {
                        let what = format!("features of {}", file.display());
                        report(Progress::Begin {
                            total: total as u64,
                            at: 0,
                            unit: "batches",
                            what: &what,
                        });
                        current = Some(file.to_path_buf());
                    }
                    report(Progress::At(done as u64));
                });
                report(Progress::End);
                let result = result?;
                write_json(&out, &result)?;
                let leaks = result
                    .leakage
                    .as_ref()
                    .and_then(|l| l.latent.as_ref())
                    .map(|l| {
                        let r2 = |f| {
                            l.get(f)
                                .map_or("n/a".into(), |s| format!("{:.2}", s.linear))
                        };
                        format!(
                            "; latent R^2 camera {}, background {}, colour {}",
                            r2(Factor::Camera),
                            r2(Factor::Background),
                            r2(Factor::Colour)
                        )
                    })
                    .unwrap_or_default();
                Ok(match &result.latent_action {
                    Some(s) => format!(
                        "latent -> action probe: held-out MSE {:.4} (variance {:.4}, R^2 {:.3}){leaks}",
                        s.mse, s.variance, s.r2
                    ),
                    None => format!(
                        "embedding -> state probe: held-out MSE {:.4}",
                        result.embedding_state.mse
                    ),
                })
            }
            Stage::Eval {
                player,
                like,
                episodes,
                episode_length,
                seed,
            } => {
                let (task, distractions) = setting_of(like)?;
                let (player, img) = match player {
                    Playing::Policy(run) => (Player::Policy(run.clone()), 64),
                    Playing::Random { img } => (Player::Random, *img),
                    Playing::Expert { path, img } => (Player::Expert(path.clone()), *img),
                };
                let spec = EvalSpec {
                    player,
                    task,
                    distractions,
                    img,
                    episodes: *episodes,
                    envs: *episodes,
                    seed: *seed,
                    episode_length: *episode_length,
                    normalizer: None,
                    device,
                    allow_mismatch: false,
                    compare_expert: None,
                    expert_drives: false,
                };
                let rounds = spec.episodes.div_ceil(spec.env_count());
                let what = format!("eval {task} {}", spec.distractions.preset.name());
                report(Progress::Begin {
                    total: (rounds * spec.episode_length) as u64,
                    at: 0,
                    unit: "steps",
                    what: &what,
                });
                let mut steps = 0;
                let result = evaluate(&spec, &mut || {
                    steps += 1;
                    report(Progress::At(steps));
                });
                report(Progress::End);
                let result: EvalResult = result?;
                write_json(&out, &result)?;
                Ok(format!(
                    "return {:.1} ± {:.1} over {} episodes; normalized score {:.3}",
                    result.mean_return, result.std_return, result.episodes, result.normalized_score
                ))
            }
        }
    }
}

/// Writes `value` as pretty JSON to `path`, atomically.
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), StageError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| StageError::Spec(e.to_string()))?;
    lam_data::atomic::write_bytes_atomic(path, text.as_bytes()).map_err(|source| {
        TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(())
}

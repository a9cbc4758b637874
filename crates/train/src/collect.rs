//! Collection: expert trajectories with distractions, written in the
//! published HDF5 layout by parallel workers.
//!
//! Trajectory k is collected from a reset seeded with `seed + k` (sharding
//! offsets k, never the seed), so its content depends on neither the number
//! of workers, nor sharding, nor interruptions: a resumed or sharded-then-
//! merged collection equals an uninterrupted one.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use lam_data::{partial_path, DatasetAttrs, DatasetWriter, Trajectory, WriteOptions};
use lam_env::distractors::{BackgroundSource, DistractionConfig};
use lam_env::render::{RenderConfig, Renderer, MAX_SIDE, MIN_SIDE};
use lam_env::{Environment, PixelEnv, TaskId};
use lam_experts::Policy;

use crate::progress::{Progress, Reporter};
use crate::TrainError;

/// Most rays per pixel side.
pub const MAX_SUPERSAMPLE: usize = 8;

/// One collection, as `lam collect` takes it.
#[derive(Clone, Debug)]
pub struct CollectSpec {
    /// The task.
    pub task: TaskId,
    /// Distractions of the environments.
    pub distractions: DistractionConfig,
    /// Expert checkpoint acting greedily.
    pub expert: PathBuf,
    /// Trajectories in the whole collection (a shard collects its part).
    pub trajectories: usize,
    /// Output file (.hdf5); written as FILE.partial until finished.
    pub out: PathBuf,
    /// Worker threads (`None`: one per core).
    pub workers: Option<usize>,
    /// Trajectory k is seeded with seed + k.
    pub seed: u64,
    /// Frame side in pixels.
    pub img: usize,
    /// Collect only part i of n (0-based), as `(i, n)`.
    pub shard: Option<(usize, usize)>,
    /// Continue an interrupted collection of `out`.
    pub resume: bool,
    /// Stop once this many trajectories (of this shard) are written.
    pub until: Option<usize>,
    /// Store actions clipped to [-1, 1] instead of the expert's raw outputs.
    pub clip_actions: bool,
    /// Standard deviation of Gaussian noise added to the executed action
    /// (the stored action stays the expert's); 0 = greedy.
    pub action_noise: f64,
    /// Steps per episode.
    pub episode_length: usize,
    /// Rays per pixel side on geometry edges.
    pub supersample: usize,
    /// Also record the simulator's ground truth (agent masks and the
    /// distractor state per frame) in each trajectory's `ground_truth`
    /// subgroup.
    pub ground_truth: bool,
}

impl CollectSpec {
    /// A greedy collection of `trajectories` episodes into `out` with the
    /// defaults of `lam collect` (64 px, seed 0, one worker per core).
    pub fn new(
        task: TaskId,
        distractions: DistractionConfig,
        expert: PathBuf,
        trajectories: usize,
        out: PathBuf,
    ) -> Self {
        Self {
            task,
            distractions,
            expert,
            trajectories,
            out,
            workers: None,
            seed: 0,
            img: 64,
            shard: None,
            resume: false,
            until: None,
            clip_actions: false,
            action_noise: 0.0,
            episode_length: lam_env::EPISODE_LENGTH,
            supersample: RenderConfig::default().supersample,
            ground_truth: false,
        }
    }

    /// The trajectory indices this collection (or its shard) covers.
    pub fn range(&self) -> Range<usize> {
        match self.shard {
            None => 0..self.trajectories,
            Some((i, n)) => i * self.trajectories / n..(i + 1) * self.trajectories / n,
        }
    }
}

/// Parses a shard "i/n" (0-based).
pub fn parse_shard(spec: &str) -> Result<(usize, usize), TrainError> {
    let parsed = spec.split_once('/').and_then(|(i, n)| {
        Some((
            i.trim().parse::<usize>().ok()?,
            n.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => Err(TrainError::invalid(
            "shard",
            spec.into(),
            "i/n with 0 <= i < n, e.g. 0/4",
        )),
    }
}

/// How a collection ended.
#[derive(Clone, Debug)]
pub struct Collected {
    /// The trajectory indices asked for.
    pub range: Range<usize>,
    /// Trajectories in the file (or the partial file) now.
    pub written: usize,
    /// Their mean return.
    pub mean_return: f64,
    /// The finished file, or the partial file when stopped by `until`.
    pub file: PathBuf,
    /// Whether the collection is complete.
    pub finished: bool,
}

/// Every setting that shapes a trajectory beyond the file's attributes,
/// recorded in the partial file so that a resume continues only the same
/// collection: the expert by content hash, seeds, lengths, clipping,
/// rendering, sharding and the background source.
fn trajectory_settings(spec: &CollectSpec) -> Result<BTreeMap<String, String>, TrainError> {
    use sha2::{Digest, Sha256};
    let expert = std::fs::read(&spec.expert).map_err(|source| TrainError::Io {
        path: spec.expert.clone(),
        source,
    })?;
    let digest: String = Sha256::digest(&expert)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let shard = spec
        .shard
        .map_or_else(|| "all".to_string(), |(i, n)| format!("{i}/{n}"));
    let mut settings = BTreeMap::from([
        ("expert sha256".to_string(), digest),
        ("seed".to_string(), spec.seed.to_string()),
        (
            "episode length".to_string(),
            spec.episode_length.to_string(),
        ),
        ("clip actions".to_string(), spec.clip_actions.to_string()),
        ("action noise".to_string(), spec.action_noise.to_string()),
        ("supersample".to_string(), spec.supersample.to_string()),
        ("trajectories".to_string(), spec.trajectories.to_string()),
        ("shard".to_string(), shard),
        (
            "backgrounds".to_string(),
            match &spec.distractions.source {
                BackgroundSource::Builtin => "built-in".into(),
                BackgroundSource::Folder(dir) => dir.display().to_string(),
            },
        ),
    ]);
    // Recorded only when on, so that files collected before the switch
    // existed still resume.
    if spec.ground_truth {
        settings.insert("ground truth".to_string(), "recorded".to_string());
    }
    Ok(settings)
}

/// Checks the settings that need no file.
fn check(spec: &CollectSpec) -> Result<(), TrainError> {
    let invalid = |setting, value: String, expected: String| {
        Err(TrainError::invalid(setting, value, expected))
    };
    if spec.trajectories == 0 {
        return invalid("trajectories", "0".into(), "at least 1".into());
    }
    if !(MIN_SIDE..=MAX_SIDE).contains(&spec.img) {
        return invalid(
            "img",
            spec.img.to_string(),
            format!("a frame side from {MIN_SIDE} to {MAX_SIDE} pixels"),
        );
    }
    if spec.episode_length == 0 {
        return invalid("episode length", "0".into(), "at least 1".into());
    }
    if !(spec.action_noise.is_finite() && (0.0..=2.0).contains(&spec.action_noise)) {
        return invalid(
            "action noise",
            spec.action_noise.to_string(),
            "a standard deviation from 0 to 2".into(),
        );
    }
    if !(1..=MAX_SUPERSAMPLE).contains(&spec.supersample) {
        return invalid(
            "supersample",
            spec.supersample.to_string(),
            format!("1 to {MAX_SUPERSAMPLE} rays per pixel side"),
        );
    }
    if spec.workers == Some(0) {
        return invalid("workers", "0".into(), "at least 1".into());
    }
    if let Some((i, n)) = spec.shard {
        if n == 0 || i >= n {
            return invalid("shard", format!("{i}/{n}"), "i/n with 0 <= i < n".into());
        }
        if spec.range().is_empty() {
            return invalid(
                "shard",
                format!("{i}/{n}"),
                format!(
                    "a shard with trajectories (this one of {} is empty)",
                    spec.trajectories
                ),
            );
        }
    }
    Ok(())
}

/// One finished trajectory from a worker.
type Finished = (usize, Result<Trajectory, TrainError>);

/// Collects the trajectories of `spec` and writes the file, reporting
/// steps done and the mean return so far.
pub fn collect(spec: &CollectSpec, report: Reporter) -> Result<Collected, TrainError> {
    check(spec)?;
    let range = spec.range();
    let probe = Environment::new(spec.task, spec.seed)?;
    let expert_error = |source| TrainError::Expert {
        role: "expert",
        path: spec.expert.clone(),
        source: Box::new(source),
    };
    let policy: Arc<dyn Policy> =
        Arc::from(lam_experts::load_expert(&spec.expert).map_err(expert_error)?);
    lam_experts::check_fits(
        policy.as_ref(),
        &spec.expert,
        spec.task,
        probe.observation_size(),
        probe.action_size(),
    )
    .map_err(expert_error)?;
    let distractions = &spec.distractions;
    let attrs = DatasetAttrs {
        domain_name: spec.task.domain().to_string(),
        task_name: spec.task.task().to_string(),
        difficulty: distractions.preset.name().to_string(),
        dynamic: distractions.dynamic,
        img_hw: spec.img as i64,
        split: distractions.split.name().to_string(),
        dataset_return: None,
    };
    let settings = trajectory_settings(spec)?;
    let mut writer = if spec.resume {
        DatasetWriter::resume(&spec.out, attrs, &settings)?
    } else {
        let options = WriteOptions {
            overwrite: false,
            settings,
        };
        DatasetWriter::create(&spec.out, attrs, &options)?
    };
    let done_before = writer.len();
    let partial = || partial_path(&spec.out).display().to_string();
    if done_before > range.len() {
        return Err(TrainError::invalid(
            "trajectories",
            range.len().to_string(),
            format!("at least the {done_before} that {} holds", partial()),
        ));
    }
    let render = RenderConfig {
        width: spec.img,
        height: spec.img,
        supersample: spec.supersample,
        ..RenderConfig::default()
    };
    let renderer =
        Arc::new(Renderer::new(probe.physics().model(), render).map_err(lam_env::EnvError::from)?);
    let library = distractions
        .library(spec.img, spec.img)
        .map_err(lam_env::EnvError::from)?;
    // Videos from a folder are decoded now, every frame a trajectory may
    // draw: a bad file fails before the first trajectory, not mid-run.
    if let (BackgroundSource::Folder(_), Some(library)) = (&distractions.source, &library) {
        library.load_all().map_err(lam_env::EnvError::from)?;
    }
    let stop_at = spec.until.unwrap_or(range.len()).min(range.len());
    if stop_at <= done_before {
        return Err(TrainError::invalid(
            "until",
            stop_at.to_string(),
            format!(
                "more than the {done_before} trajectories {} holds",
                partial()
            ),
        ));
    }
    let workers = spec
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, stop_at - done_before);
    let todo: Vec<usize> = range
        .clone()
        .skip(done_before)
        .take(stop_at - done_before)
        .collect();
    let next = AtomicUsize::new(0);
    let steps = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let total_steps = (todo.len() * spec.episode_length) as u64;
    let what = format!(
        "{} {} ({} done)",
        spec.task, distractions.preset, done_before
    );
    report(Progress::Begin {
        total: total_steps,
        at: 0,
        unit: "steps",
        what: &what,
    });
    let result = std::thread::scope(|scope| -> Result<(), TrainError> {
        let (tx, rx) = mpsc::sync_channel::<Finished>(workers);
        for _ in 0..workers {
            let tx = tx.clone();
            let (renderer, library, policy) = (renderer.clone(), library.clone(), policy.clone());
            let (todo, next, steps, stop) = (&todo, &next, &steps, &stop);
            let (task, seed, length) = (spec.task, spec.seed, spec.episode_length);
            let stored = Storage {
                clip: spec.clip_actions,
                noise: spec.action_noise,
                ground_truth: spec.ground_truth,
            };
            scope.spawn(move || {
                let mut env = match PixelEnv::new(task, seed, renderer, distractions, library) {
                    Ok(env) => env,
                    Err(e) => {
                        let _ = tx.send((usize::MAX, Err(e.into())));
                        return;
                    }
                };
                env.set_episode_length(length);
                env.record_masks(stored.ground_truth);
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    if j >= todo.len() || stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let k = todo[j];
                    let t = episode(&mut env, policy.as_ref(), seed + k as u64, stored, steps);
                    if tx.send((k, t)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // Write in trajectory order; hold early finishers until their turn.
        let mut pending: BTreeMap<usize, Trajectory> = BTreeMap::new();
        let mut want = range.start + done_before;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok((k, t)) => {
                    let t = match t {
                        Ok(t) => t,
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            return Err(TrainError::Trajectory {
                                index: k,
                                source: Box::new(e),
                            });
                        }
                    };
                    pending.insert(k, t);
                    while let Some(t) = pending.remove(&want) {
                        writer.append(&t)?;
                        want += 1;
                    }
                    let r = writer.returns();
                    report(Progress::Status(&format!(
                        "{} {}: {} written, mean return {:.1}",
                        spec.task,
                        distractions.preset,
                        r.len(),
                        r.iter().sum::<f64>() / r.len().max(1) as f64
                    )));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            report(Progress::At(steps.load(Ordering::Relaxed)));
        }
        Ok(())
    });
    report(Progress::End);
    result?;
    let written = writer.len();
    let mean_return = writer.returns().iter().sum::<f64>() / written.max(1) as f64;
    if written < range.len() {
        return Ok(Collected {
            range,
            written,
            mean_return,
            file: writer.partial_path().to_path_buf(),
            finished: false,
        });
    }
    let file = writer.finish()?;
    Ok(Collected {
        range,
        written,
        mean_return,
        file,
        finished: true,
    })
}

/// How the expert's actions are stored and executed.
#[derive(Clone, Copy)]
struct Storage {
    /// Store them clipped to [-1, 1].
    clip: bool,
    /// Standard deviation of the noise added to the executed action.
    noise: f64,
    /// Record the ground truth of every frame.
    ground_truth: bool,
}

/// One episode from a reset seeded with `seed`: frames before each action,
/// states, the expert's actions (raw or clipped) and the return.
fn episode(
    env: &mut PixelEnv,
    policy: &dyn Policy,
    seed: u64,
    storage: Storage,
    steps: &AtomicU64,
) -> Result<Trajectory, TrainError> {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let Storage {
        clip,
        noise,
        ground_truth,
    } = storage;
    // The noise has its own stream, seeded by the trajectory's seed.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f_6973_6521);
    let gauss = rand_distr::Normal::new(0.0, noise.max(0.0)).expect("a finite sd");
    let mut observation = env.reset_with_seed(seed)?;
    let (h, w) = {
        let c = env.renderer().config();
        (c.height, c.width)
    };
    let (mut obs, mut states, mut actions) = (Vec::new(), Vec::new(), Vec::new());
    let mut truth = ground_truth.then(Truth::default);
    let mut total = 0.0;
    loop {
        obs.extend_from_slice(env.frame());
        if let Some(truth) = &mut truth {
            truth.push(env);
        }
        states.extend(observation.iter().map(|&v| v as f32));
        let action = policy.act(&observation);
        actions.extend(
            action
                .iter()
                .map(|&a| if clip { a.clamp(-1.0, 1.0) } else { a } as f32),
        );
        let executed: Vec<f64> = if noise > 0.0 {
            action
                .iter()
                .map(|a| (a.clamp(-1.0, 1.0) + gauss.sample(&mut rng)).clamp(-1.0, 1.0))
                .collect()
        } else {
            action
        };
        let step = env.step(&executed)?;
        steps.fetch_add(1, Ordering::Relaxed);
        total += step.reward;
        observation = step.observation;
        if step.done {
            break;
        }
    }
    Ok(Trajectory {
        obs,
        states,
        state_size: observation.len(),
        action_size: policy.action_size(),
        actions,
        traj_return: total,
        frame: (h, w),
        ground_truth: truth.map(Truth::finish),
    })
}

/// The ground truth of an episode, frame by frame.
#[derive(Default)]
struct Truth {
    mask: Vec<u8>,
    camera: Vec<f64>,
    background: Vec<i32>,
    grid: Vec<f32>,
    colour: Vec<f32>,
    materials: usize,
}

impl Truth {
    /// Adds the latest frame's mask and distractor state.
    fn push(&mut self, env: &PixelEnv) {
        self.mask.extend_from_slice(
            env.mask()
                .expect("masks are recorded with the ground truth"),
        );
        let s = env.distractor_state();
        let c = s.camera;
        self.camera
            .extend([c.azimuth, c.elevation, c.radius, c.roll]);
        let (video, frame) = s.background.map_or((-1, -1), |(v, f)| (v as i32, f as i32));
        self.background.extend([video, frame]);
        match env.distractions().playback() {
            Some(p) => {
                let v = p.video();
                self.grid
                    .extend(lam_data::layout::grid_means(p.frame(), v.height, v.width))
            }
            None => self
                .grid
                .extend(std::iter::repeat_n(0.0, lam_data::layout::GRID.pow(2) * 3)),
        }
        self.materials = s.colour.len();
        self.colour.extend(s.colour.iter().flatten());
    }

    fn finish(self) -> lam_data::GroundTruth {
        lam_data::GroundTruth {
            agent_mask: self.mask,
            camera: self.camera,
            background: self.background,
            background_grid: self.grid,
            colour: self.colour,
            materials: self.materials,
        }
    }
}

/// Whether `out` has an interrupted collection to resume.
pub fn has_partial(out: &Path) -> bool {
    partial_path(out).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_trajectories_without_gaps() {
        let mut spec = CollectSpec::new(
            TaskId::CheetahRun,
            DistractionConfig::default(),
            PathBuf::from("expert"),
            10,
            PathBuf::from("out.hdf5"),
        );
        assert_eq!(spec.range(), 0..10);
        let parts: Vec<_> = (0..3)
            .map(|i| {
                spec.shard = Some(parse_shard(&format!("{i}/3")).unwrap());
                spec.range()
            })
            .collect();
        assert_eq!(parts, vec![0..3, 3..6, 6..10]);
        for bad in ["3/3", "x/2", "1", "0/0"] {
            assert!(parse_shard(bad).unwrap_err().to_string().contains(bad));
        }
    }
}

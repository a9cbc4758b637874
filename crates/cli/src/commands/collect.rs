//! `lam collect`: expert trajectories with distractions, written in the
//! published HDF5 layout by parallel workers.
//!
//! Trajectory k is collected from a reset seeded with `seed + k` (sharding
//! offsets k, never the seed), so its content depends on neither the number
//! of workers, nor sharding, nor interruptions: a resumed or sharded-then-
//! merged collection equals an uninterrupted one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_data::{partial_path, DatasetAttrs, DatasetWriter, Trajectory, WriteOptions};
use lam_env::render::{RenderConfig, Renderer, MAX_SIDE, MIN_SIDE};
use lam_env::{Environment, PixelEnv, TaskId};
use lam_experts::Policy;

use crate::args::DistractionArgs;
use crate::progress;

/// Arguments of `lam collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Task: cheetah-run, walker-run, hopper-hop or humanoid-walk.
    #[arg(long)]
    task: TaskId,
    #[command(flatten)]
    distractions: DistractionArgs,
    /// Expert checkpoint (PPO checkpoint.pt or SB3 SAC zip) acting greedily.
    #[arg(long)]
    expert: PathBuf,
    /// Trajectories in the whole collection (a shard collects its part).
    #[arg(long)]
    trajectories: usize,
    /// Output file (.hdf5); written as FILE.partial until finished.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Trajectory k is seeded with seed + k.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Frame side in pixels.
    #[arg(long, default_value_t = 64)]
    img: usize,
    /// Collect only part i of n (0-based), e.g. 0/4; merge the parts with `lam data merge`.
    #[arg(long, value_name = "i/n")]
    shard: Option<String>,
    /// Continue an interrupted collection of --out.
    #[arg(long)]
    resume: bool,
    /// Stop once this many trajectories (of this shard) are written, leaving
    /// FILE.partial for a later --resume: a long collection in pieces.
    #[arg(long)]
    until: Option<usize>,
    /// Store actions clipped to [-1, 1] (default: the expert's raw outputs, as the published data).
    #[arg(long)]
    clip_actions: bool,
    /// Execute each expert action plus Gaussian noise of this standard
    /// deviation (then clipped to [-1, 1]) while storing the expert's own
    /// action: states around the expert's path, labelled with what the
    /// expert would do there (noise injection, as DART). 0 = greedy, as the
    /// published data.
    #[arg(long, default_value_t = 0.0)]
    action_noise: f64,
    /// Steps per episode.
    #[arg(long, default_value_t = lam_env::EPISODE_LENGTH)]
    episode_length: usize,
    /// Rays per pixel side on geometry edges (1 = fastest).
    #[arg(long, default_value_t = RenderConfig::default().supersample)]
    supersample: usize,
}

impl CollectArgs {
    /// A vanilla-or-`preset` collection of `trajectories` episodes of
    /// `episode_length` steps on `workers` threads (for benchmarks).
    pub fn for_bench(
        task: TaskId,
        preset: lam_env::distractors::Preset,
        expert: PathBuf,
        trajectories: usize,
        episode_length: usize,
        workers: usize,
        out: PathBuf,
    ) -> Self {
        Self {
            task,
            distractions: DistractionArgs {
                preset,
                frozen: false,
                split: lam_env::distractors::Split::Train,
                backgrounds: None,
            },
            expert,
            trajectories,
            out,
            workers: Some(workers),
            seed: 0,
            img: 64,
            shard: None,
            resume: false,
            until: None,
            clip_actions: false,
            action_noise: 0.0,
            episode_length,
            supersample: RenderConfig::default().supersample,
        }
    }
}

/// The trajectory indices of shard `spec` ("i/n") of `total`.
fn shard_range(spec: Option<&str>, total: usize) -> Result<std::ops::Range<usize>> {
    let Some(spec) = spec else {
        return Ok(0..total);
    };
    let parsed = spec.split_once('/').and_then(|(i, n)| {
        Some((
            i.trim().parse::<usize>().ok()?,
            n.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok(i * total / n..(i + 1) * total / n),
        _ => bail!("--shard {spec}: expected i/n with 0 <= i < n, e.g. 0/4"),
    }
}

/// Most rays per pixel side.
const MAX_SUPERSAMPLE: usize = 8;

/// Every setting that shapes a trajectory beyond the file's attributes,
/// recorded in the partial file so that `--resume` continues only the same
/// collection: the expert by content hash, seeds, lengths, clipping,
/// rendering, sharding and the background source.
fn trajectory_settings(args: &CollectArgs) -> Result<BTreeMap<String, String>> {
    use sha2::{Digest, Sha256};
    let expert = std::fs::read(&args.expert)
        .with_context(|| format!("--expert {}: reading", args.expert.display()))?;
    let digest: String = Sha256::digest(&expert)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let d = &args.distractions;
    Ok(BTreeMap::from([
        ("expert sha256".to_string(), digest),
        ("seed".to_string(), args.seed.to_string()),
        (
            "episode length".to_string(),
            args.episode_length.to_string(),
        ),
        ("clip actions".to_string(), args.clip_actions.to_string()),
        ("action noise".to_string(), args.action_noise.to_string()),
        ("supersample".to_string(), args.supersample.to_string()),
        ("trajectories".to_string(), args.trajectories.to_string()),
        (
            "shard".to_string(),
            args.shard.clone().unwrap_or_else(|| "all".into()),
        ),
        (
            "backgrounds".to_string(),
            d.backgrounds
                .as_ref()
                .map_or("built-in".into(), |b| b.display().to_string()),
        ),
    ]))
}

/// One finished trajectory from a worker.
type Finished = (usize, Result<Trajectory>);

/// Collects trajectories and writes the file.
pub fn run(args: CollectArgs) -> Result<()> {
    collect(args, false)
}

/// Collects trajectories and writes the file; `quiet` prints nothing.
pub fn collect(args: CollectArgs, quiet: bool) -> Result<()> {
    if args.trajectories == 0 {
        bail!("--trajectories must be at least 1");
    }
    if !(MIN_SIDE..=MAX_SIDE).contains(&args.img) {
        bail!(
            "--img {}: expected a frame side from {MIN_SIDE} to {MAX_SIDE} pixels",
            args.img
        );
    }
    if args.episode_length == 0 {
        bail!("--episode-length must be at least 1");
    }
    if !(args.action_noise.is_finite() && (0.0..=2.0).contains(&args.action_noise)) {
        bail!(
            "--action-noise {}: expected a standard deviation from 0 to 2",
            args.action_noise
        );
    }
    if !(1..=MAX_SUPERSAMPLE).contains(&args.supersample) {
        bail!(
            "--supersample {}: expected 1 to {MAX_SUPERSAMPLE} rays per pixel side",
            args.supersample
        );
    }
    if args.workers == Some(0) {
        bail!("--workers must be at least 1");
    }
    let range = shard_range(args.shard.as_deref(), args.trajectories)?;
    if range.is_empty() {
        bail!(
            "shard {} of {} trajectories is empty",
            args.shard.as_deref().unwrap_or(""),
            args.trajectories
        );
    }
    let probe = Environment::new(args.task, args.seed)?;
    let policy: Arc<dyn Policy> = Arc::from(lam_experts::load_expert(&args.expert)?);
    lam_experts::check_fits(
        policy.as_ref(),
        &args.expert,
        args.task,
        probe.observation_size(),
        probe.action_size(),
    )?;
    let distractions = args.distractions.config();
    let attrs = DatasetAttrs {
        domain_name: args.task.domain().to_string(),
        task_name: args.task.task().to_string(),
        difficulty: distractions.preset.name().to_string(),
        dynamic: distractions.dynamic,
        img_hw: args.img as i64,
        split: distractions.split.name().to_string(),
        dataset_return: None,
    };
    let settings = trajectory_settings(&args)?;
    let mut writer = if args.resume {
        DatasetWriter::resume(&args.out, attrs, &settings)?
    } else {
        let options = WriteOptions {
            overwrite: false,
            settings,
        };
        DatasetWriter::create(&args.out, attrs, &options)?
    };
    let done_before = writer.len();
    if done_before > range.len() {
        bail!(
            "{} already holds {done_before} trajectories, more than the {} asked for",
            partial_path(&args.out).display(),
            range.len()
        );
    }
    let render = RenderConfig {
        width: args.img,
        height: args.img,
        supersample: args.supersample,
        ..RenderConfig::default()
    };
    let renderer = Arc::new(Renderer::new(probe.physics().model(), render)?);
    let library = distractions
        .library(args.img, args.img)
        .context("loading background videos")?;
    // Videos from a folder are decoded now, every frame a trajectory may
    // draw: a bad file fails before the first trajectory, not mid-run.
    if args.distractions.backgrounds.is_some() {
        if let Some(library) = &library {
            library
                .load_all()
                .context("checking the background videos before collecting")?;
        }
    }
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, range.len() - done_before);
    let stop_at = args.until.unwrap_or(range.len()).min(range.len());
    if stop_at <= done_before {
        bail!(
            "--until {stop_at}: {} already holds {done_before} trajectories",
            partial_path(&args.out).display()
        );
    }
    let todo: Vec<usize> = range
        .clone()
        .skip(done_before)
        .take(stop_at - done_before)
        .collect();
    let next = AtomicUsize::new(0);
    let steps = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let total_steps = (todo.len() * args.episode_length) as u64;
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        progress::bar(total_steps, "steps")
    };
    bar.set_message(format!(
        "{} {} ({} done)",
        args.task, distractions.preset, done_before
    ));
    let result = std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel::<Finished>(workers);
        for _ in 0..workers {
            let tx = tx.clone();
            let (renderer, library, policy) = (renderer.clone(), library.clone(), policy.clone());
            let (todo, next, steps, stop, distractions) =
                (&todo, &next, &steps, &stop, &distractions);
            let (task, seed, length) = (args.task, args.seed, args.episode_length);
            let stored = Storage {
                clip: args.clip_actions,
                noise: args.action_noise,
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
                            return Err(e.context(format!("collecting trajectory {k}")));
                        }
                    };
                    pending.insert(k, t);
                    while let Some(t) = pending.remove(&want) {
                        writer.append(&t)?;
                        want += 1;
                    }
                    let r = writer.returns();
                    bar.set_message(format!(
                        "{} {}: {} written, mean return {:.1}",
                        args.task,
                        distractions.preset,
                        r.len(),
                        r.iter().sum::<f64>() / r.len().max(1) as f64
                    ));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            bar.set_position(steps.load(Ordering::Relaxed));
        }
        Ok(())
    });
    bar.finish_and_clear();
    result?;
    let n = writer.len();
    if n < range.len() {
        if !quiet {
            println!(
                "stopped at {n} of {} trajectories (--until); {} holds them: continue with --resume",
                range.len(),
                writer.partial_path().display()
            );
        }
        return Ok(());
    }
    let mean = writer.returns().iter().sum::<f64>() / n as f64;
    let path = writer.finish()?;
    if !quiet {
        println!(
            "wrote {n} trajectories ({} to {} of {}) to {}: mean return {mean:.1}",
            range.start,
            range.end - 1,
            args.trajectories,
            path.display()
        );
    }
    Ok(())
}

/// How the expert's actions are stored and executed.
#[derive(Clone, Copy)]
struct Storage {
    /// Store them clipped to [-1, 1].
    clip: bool,
    /// Standard deviation of the noise added to the executed action.
    noise: f64,
}

/// One episode from a reset seeded with `seed`: frames before each action,
/// states, the expert's actions (raw or clipped) and the return.
fn episode(
    env: &mut PixelEnv,
    policy: &dyn Policy,
    seed: u64,
    storage: Storage,
    steps: &AtomicU64,
) -> Result<Trajectory> {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let Storage { clip, noise } = storage;
    // The noise has its own stream, seeded by the trajectory's seed.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f_6973_6521);
    let gauss = rand_distr::Normal::new(0.0, noise.max(0.0)).expect("a finite sd");
    let mut observation = env.reset_with_seed(seed)?;
    let (h, w) = {
        let c = env.renderer().config();
        (c.height, c.width)
    };
    let (mut obs, mut states, mut actions) = (Vec::new(), Vec::new(), Vec::new());
    let mut total = 0.0;
    loop {
        obs.extend_from_slice(env.frame());
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_trajectories_without_gaps() {
        assert_eq!(shard_range(None, 10).unwrap(), 0..10);
        let parts: Vec<_> = (0..3)
            .map(|i| shard_range(Some(&format!("{i}/3")), 10).unwrap())
            .collect();
        assert_eq!(parts, vec![0..3, 3..6, 6..10]);
        for bad in ["3/3", "x/2", "1", "0/0"] {
            assert!(shard_range(Some(bad), 10)
                .unwrap_err()
                .to_string()
                .contains(bad));
        }
    }
}

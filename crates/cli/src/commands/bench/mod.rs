//! `lam bench ...`: benchmarks that print figures next to their references.

mod python;
mod sac;
mod train;

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Subcommand};
use lam_env::distractors::Preset;
use lam_env::{Environment, TaskId, VecEnv, VecEnvConfig};
use lam_mujoco::Physics;

/// Benchmark subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Physics steps/s per task on one thread: our loop, a C loop run now, and TASKS.md's C figures.
    Physics(PhysicsArgs),
    /// Collection end to end (expert, step, render, write HDF5): steps/s on 1 worker and on all cores.
    Collect(CollectBenchArgs),
    /// Loader throughput: batches/s of 512 stacked samples, in memory and streaming.
    Loader(LoaderBenchArgs),
    /// Frames/s of step + render at 64 px per task and preset, 1 thread and all cores.
    Render(RenderArgs),
    /// Training samples/s per preset, beside the same step in PyTorch (f32 and bf16).
    Train(train::TrainBenchArgs),
    /// SAC updates/s beside the same update in PyTorch, and environment steps/s.
    Sac(sac::SacBenchArgs),
}

/// Arguments of `lam bench render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Rays per pixel side on geometry edges (1 = no anti-aliasing).
    #[arg(long, default_value_t = 2)]
    supersample: usize,
    /// Only these tasks (default: all four).
    #[arg(long, value_delimiter = ',')]
    tasks: Vec<TaskId>,
    /// Only these presets (default: vanilla and scale_easy_video_hard).
    #[arg(long, value_delimiter = ',')]
    presets: Vec<Preset>,
    /// Draw without shadows.
    #[arg(long)]
    no_shadows: bool,
    /// Draw without floor reflections.
    #[arg(long)]
    no_reflections: bool,
}

/// Arguments of `lam bench collect`.
#[derive(Debug, Args)]
pub struct CollectBenchArgs {
    /// Task.
    #[arg(long, default_value = "cheetah-run")]
    task: TaskId,
    /// Distraction preset.
    #[arg(long, default_value = "scale_easy_video_hard")]
    preset: Preset,
    /// Expert checkpoint (default: the published one in ../shared or $LAM_SHARED_DIR).
    #[arg(long)]
    expert: Option<std::path::PathBuf>,
    /// Steps per trajectory.
    #[arg(long, default_value_t = 250)]
    episode_length: usize,
    /// Trajectories per worker.
    #[arg(long, default_value_t = 4)]
    per_worker: usize,
    /// Also collect every configuration with the simulator's ground truth
    /// recorded (`lam collect --ground-truth`), right after the plain one,
    /// and print speed and size side by side with their ratios.
    #[arg(long)]
    ground_truth: bool,
}

/// Arguments of `lam bench loader`.
#[derive(Debug, Args)]
pub struct LoaderBenchArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Samples per batch.
    #[arg(long, default_value_t = 512)]
    batch_size: usize,
    /// Trajectories x steps of the synthetic 64 px dataset.
    #[arg(long, default_value_t = 24)]
    trajectories: usize,
    /// Steps per trajectory of the synthetic dataset.
    #[arg(long, default_value_t = 500)]
    steps: usize,
    /// Cache budget of streaming mode, MiB.
    #[arg(long, default_value_t = 64)]
    cache_mib: usize,
    /// Steps per cached chunk in streaming mode.
    #[arg(long, default_value_t = 8)]
    chunk_steps: usize,
}

/// Arguments of `lam bench physics`.
#[derive(Debug, Args)]
pub struct PhysicsArgs {
    /// Seconds of stepping per task and measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Only these tasks (default: all four).
    #[arg(long, value_delimiter = ',')]
    tasks: Vec<TaskId>,
}

/// Runs a benchmark subcommand.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Physics(args) => physics(args),
        BenchCommand::Render(args) => render(args),
        BenchCommand::Collect(args) => collect(args),
        BenchCommand::Loader(args) => loader(args),
        BenchCommand::Train(args) => train::run(args),
        BenchCommand::Sac(args) => sac::run(args),
    }
}

/// Single-thread `mj_step` rates of Debian's MuJoCo 2.2.2 from C, as
/// recorded in ../shared/docs/TASKS.md (the low end of the range given there).
fn tasks_md_c_rate(task: TaskId) -> f64 {
    match task {
        TaskId::HumanoidWalk => 27_000.0,
        _ => 100_000.0,
    }
}

fn physics(args: PhysicsArgs) -> Result<()> {
    let tasks = if args.tasks.is_empty() {
        TaskId::ALL.to_vec()
    } else {
        args.tasks.clone()
    };
    let budget = Duration::from_secs_f64(args.seconds.max(0.1));
    println!(
        "physics steps/s, single thread, {:.1} s per figure; the same controls and resets for Rust and C",
        budget.as_secs_f64()
    );
    for task in tasks {
        let mut env = Environment::new(task, 0)?;
        let c = stepping_rate(&mut env, budget, |p, n| p.step_n_in_c(n))?;
        let rust = stepping_rate(&mut env, budget, |p, n| (0..n).for_each(|_| p.step()))?;
        let full = env_step_rate(&mut env, budget)?;
        let md = tasks_md_c_rate(task);
        println!(
            "{:<14} rust mj_step {:>6.1}k/s = {:>3.0}% of C now ({:>6.1}k/s) | env.step {:>6.1}k/s = {:>3.0}% | TASKS.md C: {:.0}k/s (we reach {:.0}%)",
            task.name(),
            rust / 1e3,
            100.0 * rust / c,
            c / 1e3,
            full / 1e3,
            100.0 * full / c,
            md / 1e3,
            100.0 * rust / md,
        );
    }
    Ok(())
}

/// A deterministic, varied action sequence that keeps the model moving.
fn action(nu: usize, t: usize) -> Vec<f64> {
    (0..nu)
        .map(|i| ((t * 13 + i * 7) as f64 * 0.1).sin())
        .collect()
}

/// Raw `mj_step` rate: blocks of 1000 steps from a fresh reset with fixed
/// controls; only the stepping is timed.
fn stepping_rate(
    env: &mut Environment,
    budget: Duration,
    step: impl Fn(&mut Physics, usize),
) -> Result<f64> {
    let nu = env.action_size();
    let mut stepping = Duration::ZERO;
    let mut steps = 0usize;
    while stepping < budget {
        env.reset_with_seed(steps as u64)?;
        let physics = env.physics_mut();
        physics.set_ctrl(&action(nu, steps))?;
        let start = Instant::now();
        step(physics, 1000);
        stepping += start.elapsed();
        steps += 1000;
    }
    Ok(steps as f64 / stepping.as_secs_f64())
}

/// Physics steps/s through full control steps (clipping, ordering,
/// observation, reward); resets are not timed.
fn env_step_rate(env: &mut Environment, budget: Duration) -> Result<f64> {
    let nu = env.action_size();
    let substeps = env.physics_steps_per_action();
    let mut stepping = Duration::ZERO;
    let mut control_steps = 0usize;
    env.reset()?;
    while stepping < budget {
        let start = Instant::now();
        let mut done = false;
        while !done && start.elapsed() < budget {
            done = env.step(&action(nu, control_steps))?.done;
            control_steps += 1;
        }
        stepping += start.elapsed();
        if done {
            env.reset()?;
        }
    }
    Ok((control_steps * substeps) as f64 / stepping.as_secs_f64())
}

/// dm_control's 64x64 render-only rates on this machine (TASKS.md), frames/s.
fn python_render_rate(task: TaskId) -> f64 {
    match task {
        TaskId::CheetahRun => 54.0,
        TaskId::WalkerRun => 64.0,
        TaskId::HopperHop => 67.0,
        TaskId::HumanoidWalk => 25.0,
    }
}

/// Frames/s of step + render + frame stacking through a [`VecEnv`]; the
/// set-up and a short warm-up (backgrounds are made on first use) are not timed.
/// Windows per rate measurement; the median is reported (this machine's
/// timings jump by tens of percent between seconds).
const WINDOWS: usize = 5;

fn vec_env_rate(config: VecEnvConfig, budget: Duration) -> Result<f64> {
    let mut envs = VecEnv::new(config)?;
    // Background videos are made once per process (on first use); the rate
    // is that of stepping and rendering.
    envs.prepare_backgrounds()?;
    let (n, a) = (envs.num_envs(), envs.action_size());
    let mut t = 0;
    while t < 20 {
        envs.step(&action(n * a, t))?;
        t += 1;
    }
    let window = budget / WINDOWS as u32;
    let mut rates = Vec::with_capacity(WINDOWS);
    for _ in 0..WINDOWS {
        let start = Instant::now();
        let mut frames = 0usize;
        while start.elapsed() < window {
            envs.step(&action(n * a, t))?;
            std::hint::black_box(envs.stacked_frames());
            frames += n;
            t += 1;
        }
        rates.push(frames as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[WINDOWS / 2])
}

fn render(args: RenderArgs) -> Result<()> {
    use lam_env::render::RenderConfig;
    let budget = Duration::from_secs_f64(args.seconds.max(0.1));
    let tasks = if args.tasks.is_empty() {
        TaskId::ALL.to_vec()
    } else {
        args.tasks.clone()
    };
    let presets = if args.presets.is_empty() {
        vec![Preset::Vanilla, Preset::ScaleEasyVideoHard]
    } else {
        args.presets.clone()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "step + render 64x64 + stack 3 frames (VecEnv), {}x{} rays on edges, shadows {}, reflections {}; {cores} cores; median of {WINDOWS} windows, background videos made before timing",
        args.supersample,
        args.supersample,
        if args.no_shadows { "off" } else { "on" },
        if args.no_reflections { "off" } else { "on" },
    );
    println!(
        "{:<14} {:<22} {:>10} {:>12} {:>12}  1 thread vs dm_control render-only",
        "task",
        "preset",
        "1 thread",
        format!("{cores} threads"),
        "per core"
    );
    for task in tasks {
        for &preset in &presets {
            let config = |threads: usize| {
                let mut c = VecEnvConfig::new(task, 4 * threads, 0);
                c.threads = threads;
                c.distractions.preset = preset;
                c.render = RenderConfig {
                    supersample: args.supersample,
                    shadows: !args.no_shadows,
                    reflections: !args.no_reflections,
                    ..RenderConfig::default()
                };
                c
            };
            let one = vec_env_rate(config(1), budget)?;
            let all = vec_env_rate(config(cores), budget)?;
            let python = python_render_rate(task);
            println!(
                "{:<14} {:<22} {:>8.0}/s {:>10.0}/s {:>10.0}/s  {:.0}x ({:.0} frames/s)",
                task.name(),
                preset.name(),
                one,
                all,
                all / cores as f64,
                one / python,
                python
            );
        }
    }
    Ok(())
}

/// The published expert of `task` in the shared folder.
fn published_expert(task: TaskId) -> std::path::PathBuf {
    let shared = std::env::var_os("LAM_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "../shared".into());
    lam_experts::published_checkpoint(&shared.join("reference/experts"), task)
}

/// A fresh temporary folder for benchmark files.
fn bench_dir(name: &str) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("lam-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn collect(args: CollectBenchArgs) -> Result<()> {
    use lam_train::collect::{collect as run_collect, CollectSpec};
    let expert = args
        .expert
        .clone()
        .unwrap_or_else(|| published_expert(args.task));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = bench_dir("collect")?;
    println!(
        "collection end to end ({} {}, {} x {}-step trajectories per worker, 64 px, HDF5 on {}); the Python stack: ~55 steps/s per process",
        args.task,
        args.preset,
        args.per_worker,
        args.episode_length,
        dir.display()
    );
    let kinds: &[bool] = if args.ground_truth {
        &[false, true]
    } else {
        &[false]
    };
    for workers in [1, cores] {
        let mut plain = None;
        for &truth in kinds {
            let out = dir.join(format!("w{workers}-{truth}.hdf5"));
            let n = workers * args.per_worker;
            let start = Instant::now();
            let mut spec = CollectSpec::new(
                args.task,
                lam_env::distractors::DistractionConfig {
                    preset: args.preset,
                    ..Default::default()
                },
                expert.clone(),
                n,
                out.clone(),
            );
            spec.episode_length = args.episode_length;
            spec.workers = Some(workers);
            spec.ground_truth = truth;
            run_collect(&spec, &mut lam_train::progress::quiet)?;
            let secs = start.elapsed().as_secs_f64();
            let steps = (n * args.episode_length) as f64;
            let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) as f64;
            let rate = steps / secs;
            println!(
                "{workers} worker(s){}: {rate:>7.0} steps/s ({:.0} per worker, {:.0}x the Python stack), {:.1} MB written in {secs:.1} s",
                if truth { ", ground truth" } else { "" },
                rate / workers as f64,
                rate / 55.0,
                bytes / 1e6
            );
            match plain {
                None => plain = Some((rate, bytes)),
                Some((r, b)) => println!(
                    "  with ground truth: {:.2}x the plain speed, {:.2}x its size ({:.0} bytes more per step)",
                    rate / r,
                    bytes / b,
                    (bytes - b) / steps
                ),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn loader(args: LoaderBenchArgs) -> Result<()> {
    use lam_data::loader::{Loader, LoaderConfig, LoaderMode};
    use lam_data::{DatasetAttrs, DatasetWriter, Trajectory};
    let dir = bench_dir("loader")?;
    let path = dir.join("synthetic.hdf5");
    let attrs = DatasetAttrs {
        domain_name: "cheetah".into(),
        task_name: "run".into(),
        difficulty: "vanilla".into(),
        dynamic: true,
        img_hw: 64,
        split: "train".into(),
        dataset_return: None,
    };
    let mut w = DatasetWriter::create(
        &path,
        attrs,
        &lam_data::WriteOptions {
            overwrite: true,
            ..Default::default()
        },
    )?;
    for i in 0..args.trajectories {
        let len = args.steps;
        w.append(&Trajectory {
            ground_truth: None,
            obs: (0..len * 64 * 64 * 3).map(|v| (v * 7 + i) as u8).collect(),
            states: vec![0.5; len * 17],
            actions: vec![0.1; len * 6],
            traj_return: 0.0,
            frame: (64, 64),
            state_size: 17,
            action_size: 6,
        })?;
    }
    w.finish()?;
    let size = std::fs::metadata(&path)?.len() as f64 / 1e6;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "loader: batches of {} samples (o_t, o_t+1, o_t+k stacked to 9 channels, a_t, s_t), {} x {} steps at 64 px ({size:.0} MB), {cores} prefetch threads",
        args.batch_size, args.trajectories, args.steps
    );
    let budget = Duration::from_secs_f64(args.seconds.max(0.5));
    for (name, mode) in [
        ("in memory", LoaderMode::InMemory),
        (
            "streaming",
            LoaderMode::Streaming {
                chunk_steps: args.chunk_steps,
                cache_bytes: args.cache_mib << 20,
            },
        ),
    ] {
        let config = LoaderConfig {
            batch_size: args.batch_size,
            mode,
            prefetch_threads: cores,
            ..LoaderConfig::default()
        };
        let mut loader = Loader::open(&path, config)?;
        loader.next_batch()?;
        let start = Instant::now();
        let mut batches = 0usize;
        while start.elapsed() < budget {
            std::hint::black_box(loader.next_batch()?);
            batches += 1;
        }
        let rate = batches as f64 / start.elapsed().as_secs_f64();
        println!(
            "{name:<10} {rate:>7.1} batches/s = {:>8.0} samples/s; cache {:.0} MB",
            rate * args.batch_size as f64,
            loader.cached_bytes() as f64 / 1e6
        );
    }
    println!("(LAM training throughput to compare with comes with `lam bench train`.)");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

//! `lam expert train`: a state-based SAC expert for a task, in a run folder
//! with metrics, greedy evaluations, a learning-curve plot, checkpoints
//! that `--resume` continues exactly, and the exported actor
//! (`actor.safetensors`, usable by `lam expert eval` and `lam collect`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_env::{Environment, TaskId};
use lam_rl::sac::SacConfig;
use lam_rl::train::{ExpertConfig, ExpertTrainer};
use lam_train::run::MetricsFile;

use super::Stored;
use crate::args::DeviceArg;
use crate::progress;
use lam_train::report::plots;

/// Arguments of `lam expert train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Task.
    #[arg(long)]
    task: TaskId,
    /// Environment steps (all environments together; rounded up to whole episodes).
    #[arg(long, default_value_t = 1_000_000)]
    steps: usize,
    /// Run folder.
    #[arg(long)]
    out: PathBuf,
    /// Continue the run in `--out` (its settings; `--steps` may extend it).
    #[arg(long)]
    resume: bool,
    /// Environments stepped together.
    #[arg(long, default_value_t = 4)]
    envs: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Uniform random steps before the policy acts.
    #[arg(long, default_value_t = 10_000)]
    random_steps: usize,
    /// Transitions per update.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Gradient updates per environment step.
    #[arg(long, default_value_t = 1.0)]
    updates_per_step: f64,
    /// Replay capacity.
    #[arg(long, default_value_t = 1_000_000)]
    buffer: usize,
    /// Hidden width of actor and critics.
    #[arg(long, default_value_t = 256)]
    hidden: i64,
    /// Learning rate.
    #[arg(long, default_value_t = 3e-4)]
    lr: f64,
    /// Environment steps between greedy evaluations.
    #[arg(long, default_value_t = 20_000)]
    eval_every: usize,
    /// Episodes per evaluation.
    #[arg(long, default_value_t = 5)]
    eval_episodes: usize,
    /// Environment steps between checkpoints (taken between episodes).
    #[arg(long, default_value_t = 50_000)]
    checkpoint_every: usize,
    /// Steps per episode (1000 in the suite; shorter for quick trials).
    #[arg(long, default_value_t = 1000)]
    episode_length: usize,
    /// Where the networks live.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

#[derive(serde::Serialize)]
struct EpisodeLine {
    step: usize,
    episode_return: f64,
}

#[derive(serde::Serialize)]
struct EvalLine {
    step: usize,
    eval_return: f64,
    updates: usize,
    alpha: Option<f64>,
    updates_per_s: f64,
    env_steps_per_s: f64,
}

/// This process's command line, program name shortened to `lam`.
fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(first) = args.first_mut() {
        *first = "lam".to_string();
    }
    args.join(" ")
}

fn environments(task: TaskId, n: usize, episode_length: usize) -> Result<Vec<Environment>> {
    (0..n)
        .map(|_| {
            let mut e = Environment::new(task, 0)?;
            e.set_episode_length(episode_length);
            Ok(e)
        })
        .collect()
}

/// The learning curve from `metrics.jsonl` (PNG and SVG): episode returns
/// and greedy evaluations.
fn plot_curve(metrics: &Path, out: &Path, task: TaskId) -> Result<()> {
    let text = std::fs::read_to_string(metrics).unwrap_or_default();
    let (mut episodes, mut evals) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(step) = v["step"].as_f64() else {
            continue;
        };
        if let Some(r) = v["episode_return"].as_f64() {
            episodes.push((step, r));
        }
        if let Some(r) = v["eval_return"].as_f64() {
            evals.push((step, r));
        }
    }
    // Training episodes faint as played and smoothed over; the greedy
    // evaluations in the expert's colour.
    let series = vec![
        plots::Curve {
            method: "training episodes".to_string(),
            name: "training episodes".to_string(),
            points: episodes,
        },
        plots::Curve {
            method: "expert".to_string(),
            name: "greedy evaluation".to_string(),
            points: evals,
        },
    ];
    plots::curves(
        out,
        &format!("SAC on {task}"),
        "environment steps",
        "return",
        &series,
    )?;
    Ok(())
}

/// Runs `lam expert train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let config_file = args.out.join("config.json");
    let checkpoint = args.out.join("checkpoint.safetensors");
    let device = args.device.device()?;
    let stored = if args.resume {
        let text = std::fs::read_to_string(&config_file)
            .with_context(|| format!("{}: no expert run to resume here", args.out.display()))?;
        let mut s: Stored = serde_json::from_str(&text)
            .with_context(|| format!("reading {}", config_file.display()))?;
        if s.task != args.task.name() {
            bail!(
                "{} trains {}, not {}",
                args.out.display(),
                s.task,
                args.task
            );
        }
        s.config.steps = args.steps;
        s.commands.push(command_line());
        s
    } else {
        if checkpoint.exists() {
            bail!(
                "{} already holds an expert run; pass --resume or choose another --out",
                args.out.display()
            );
        }
        if args.envs == 0 || args.batch == 0 || args.steps == 0 {
            bail!("--envs, --batch and --steps must be at least 1");
        }
        Stored {
            task: args.task.name().to_string(),
            commands: vec![command_line()],
            episode_length: args.episode_length,
            eval_every: args.eval_every.max(1),
            eval_episodes: args.eval_episodes,
            checkpoint_every: args.checkpoint_every.max(1),
            config: ExpertConfig {
                steps: args.steps,
                envs: args.envs,
                random_steps: args.random_steps,
                batch: args.batch,
                updates_per_step: args.updates_per_step,
                buffer: args.buffer,
                seed: args.seed,
                sac: SacConfig {
                    hidden: args.hidden,
                    lr: args.lr,
                    ..SacConfig::default()
                },
            },
        }
    };
    lam_data::atomic::write_bytes_atomic(
        &config_file,
        serde_json::to_string_pretty(&stored)?.as_bytes(),
    )?;
    let task = args.task;
    let envs = environments(task, stored.config.envs, stored.episode_length)?;
    let mut trainer = if args.resume && checkpoint.exists() {
        ExpertTrainer::load(&checkpoint, stored.config.clone(), envs, device)?.0
    } else {
        ExpertTrainer::new(stored.config.clone(), envs, device)?
    };
    let mut metrics = MetricsFile::open(&args.out.join("metrics.jsonl"), trainer.env_steps)?;
    let mut eval_env = environments(task, 1, stored.episode_length)?.remove(0);
    let bar = progress::bar(stored.config.steps as u64, "steps");
    bar.set_position(trainer.env_steps as u64);
    bar.reset_eta();
    let (start_steps, start_updates) = (trainer.env_steps, trainer.updates);
    let began = std::time::Instant::now();
    let mut last_saved = trainer.env_steps;
    let mut next_eval = (trainer.env_steps / stored.eval_every + 1) * stored.eval_every;
    let mut last_return = f64::NAN;
    let mut last_eval = f64::NAN;
    let save = |trainer: &ExpertTrainer<Environment>,
                metrics: &mut MetricsFile,
                last_eval: f64|
     -> Result<()> {
        metrics.flush()?;
        trainer.save(&checkpoint, &BTreeMap::new())?;
        let meta = BTreeMap::from([
            ("task".to_string(), task.name().to_string()),
            ("env_steps".to_string(), trainer.env_steps.to_string()),
            ("seed".to_string(), stored.config.seed.to_string()),
            ("last_eval_return".to_string(), format!("{last_eval:.1}")),
            ("commands".to_string(), stored.commands.join("\n")),
        ]);
        trainer
            .agent
            .export_actor(&args.out.join("actor.safetensors"), &meta)?;
        plot_curve(
            &args.out.join("metrics.jsonl"),
            &args.out.join("curve.png"),
            task,
        )
    };
    while trainer.env_steps < stored.config.steps || !trainer.at_boundary() {
        for e in trainer.step()? {
            metrics.write(&EpisodeLine {
                step: e.at_step,
                episode_return: e.episode_return,
            })?;
            last_return = e.episode_return;
        }
        bar.set_position(trainer.env_steps as u64);
        if trainer.env_steps >= next_eval {
            next_eval += stored.eval_every;
            let seed = 1_000_000 + trainer.env_steps as u64;
            last_eval = trainer.evaluate(&mut eval_env, stored.eval_episodes.max(1), seed)?;
            let secs = began.elapsed().as_secs_f64().max(1e-9);
            let updates_per_s = (trainer.updates - start_updates) as f64 / secs;
            metrics.write(&EvalLine {
                step: trainer.env_steps,
                eval_return: last_eval,
                updates: trainer.updates,
                alpha: trainer.last_update.as_ref().map(|m| m.alpha),
                updates_per_s,
                env_steps_per_s: (trainer.env_steps - start_steps) as f64 / secs,
            })?;
            metrics.flush()?;
            progress::println(
                &bar,
                format!(
                    "step {}: greedy return {last_eval:.1} ({updates_per_s:.0} updates/s)",
                    trainer.env_steps
                ),
            );
        }
        bar.set_message(format!("return {last_return:.0}, eval {last_eval:.0}"));
        let done = trainer.env_steps >= stored.config.steps;
        if trainer.at_boundary()
            && (trainer.env_steps - last_saved >= stored.checkpoint_every || done)
        {
            save(&trainer, &mut metrics, last_eval)?;
            last_saved = trainer.env_steps;
        }
    }
    bar.finish_and_clear();
    if last_saved != trainer.env_steps {
        save(&trainer, &mut metrics, last_eval)?;
    }
    let secs = began.elapsed().as_secs_f64().max(1e-9);
    println!(
        "{} environment steps, {} updates ({:.0} updates/s, {:.0} env steps/s this session); last greedy return {last_eval:.1}",
        trainer.env_steps,
        trainer.updates,
        (trainer.updates - start_updates) as f64 / secs,
        (trainer.env_steps - start_steps) as f64 / secs
    );
    println!(
        "actor: {} (lam expert eval --task {task} --checkpoint …); curve: {}",
        args.out.join("actor.safetensors").display(),
        args.out.join("curve.png").display()
    );
    Ok(())
}

//! `lam expert ...`: the expert policies.

mod ship;
mod train;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use lam_env::{Environment, TaskId};

use crate::progress;

/// Expert subcommands.
#[derive(Debug, Subcommand)]
pub enum ExpertCommand {
    /// Run an expert greedily and report per-episode and mean ± std returns.
    Eval(EvalArgs),
    /// Train a state-based SAC expert (resumable; exports actor.safetensors).
    Train(train::TrainArgs),
    /// Copy a trained actor into the experts folder with its measured return.
    Ship(ship::ShipArgs),
}

/// Arguments of `lam expert eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Task: cheetah-run, walker-run, hopper-hop or humanoid-walk.
    #[arg(long)]
    task: TaskId,
    /// Checkpoint: a PPO state dict (checkpoint.pt), a stable-baselines3 SAC
    /// zip, or an actor from `lam expert train` (actor.safetensors).
    #[arg(long)]
    checkpoint: PathBuf,
    #[command(flatten)]
    runs: Episodes,
}

/// Which greedy episodes evaluate an expert.
#[derive(Debug, Args)]
pub struct Episodes {
    /// Number of episodes (1000 steps each).
    #[arg(long, default_value_t = 20)]
    pub episodes: usize,
    /// Seed of the first episode; episode i uses seed + i.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

impl Episodes {
    /// Runs them, one progress-bar tick (and `on_episode`) per finished
    /// episode; returns in episode order.
    pub fn evaluate(
        &self,
        task: TaskId,
        policy: &dyn lam_experts::Policy,
        on_episode: &(dyn Fn(&lam_experts::EpisodeReturn) + Sync),
    ) -> Result<Vec<lam_experts::EpisodeReturn>> {
        anyhow::ensure!(self.episodes > 0, "--episodes must be at least 1");
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let bar = progress::bar(self.episodes as u64, "episodes");
        bar.set_message(format!("{task} expert"));
        let returns =
            lam_experts::evaluate(task, policy, self.episodes, self.seed, threads, &|r| {
                bar.inc(1);
                bar.suspend(|| on_episode(r));
            })?;
        bar.finish_and_clear();
        Ok(returns)
    }
}

/// Mean and (population) standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, std)
}

/// Runs an expert subcommand.
pub fn run(cmd: ExpertCommand) -> Result<()> {
    match cmd {
        ExpertCommand::Eval(args) => eval(args),
        ExpertCommand::Train(args) => train::run(args),
        ExpertCommand::Ship(args) => ship::run(args),
    }
}

fn eval(args: EvalArgs) -> Result<()> {
    let policy = lam_experts::load_expert(&args.checkpoint)?;
    let env = Environment::new(args.task, args.runs.seed)?;
    lam_experts::check_fits(
        policy.as_ref(),
        &args.checkpoint,
        args.task,
        env.observation_size(),
        env.action_size(),
    )?;
    drop(env);
    let started = std::time::Instant::now();
    let returns = args
        .runs
        .evaluate(args.task, policy.as_ref(), &|r| {
            println!("episode seed {:>4}: return {:8.1}", r.seed, r.total)
        })
        .with_context(|| format!("evaluating {} on {}", args.checkpoint.display(), args.task))?;
    let totals: Vec<f64> = returns.iter().map(|r| r.total).collect();
    let (mean, std) = mean_std(&totals);
    let steps: usize = returns.iter().map(|r| r.steps).sum();
    println!(
        "{}: return {:.1} ± {:.1} (mean ± std over {} episodes, seeds {}..{}; {:.0} env steps/s)",
        args.task,
        mean,
        std,
        returns.len(),
        args.runs.seed,
        args.runs.seed + returns.len() as u64 - 1,
        steps as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What the run folder records about its settings (`config.json`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Stored {
    task: String,
    /// Every command line that started or resumed the run, in order.
    #[serde(default)]
    commands: Vec<String>,
    episode_length: usize,
    eval_every: usize,
    eval_episodes: usize,
    checkpoint_every: usize,
    config: lam_rl::train::ExpertConfig,
}

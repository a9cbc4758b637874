//! `lam expert ...`: the expert policies.

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
    Train(super::expert_train::TrainArgs),
    /// Copy a trained actor into the experts folder with its measured return.
    Ship(super::expert_ship::ShipArgs),
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
    /// Number of episodes (1000 steps each).
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    /// Seed of the first episode; episode i uses seed + i.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs an expert subcommand.
pub fn run(cmd: ExpertCommand) -> Result<()> {
    match cmd {
        ExpertCommand::Eval(args) => eval(args),
        ExpertCommand::Train(args) => super::expert_train::run(args),
        ExpertCommand::Ship(args) => super::expert_ship::run(args),
    }
}

fn eval(args: EvalArgs) -> Result<()> {
    anyhow::ensure!(args.episodes > 0, "--episodes must be at least 1");
    let policy = lam_experts::load_expert(&args.checkpoint)?;
    let env = Environment::new(args.task, args.seed)?;
    lam_experts::check_fits(
        policy.as_ref(),
        &args.checkpoint,
        args.task,
        env.observation_size(),
        env.action_size(),
    )?;
    drop(env);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = progress::bar(args.episodes as u64, "episodes");
    bar.set_message(format!("{} expert", args.task));
    let started = std::time::Instant::now();
    let returns = lam_experts::evaluate(
        args.task,
        policy.as_ref(),
        args.episodes,
        args.seed,
        threads,
        &|r| {
            bar.inc(1);
            bar.suspend(|| println!("episode seed {:>4}: return {:8.1}", r.seed, r.total));
        },
    )
    .with_context(|| format!("evaluating {} on {}", args.checkpoint.display(), args.task))?;
    bar.finish_and_clear();
    let totals: Vec<f64> = returns.iter().map(|r| r.total).collect();
    let n = totals.len() as f64;
    let mean = totals.iter().sum::<f64>() / n;
    let std = (totals.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n).sqrt();
    let steps: usize = returns.iter().map(|r| r.steps).sum();
    println!(
        "{}: return {:.1} ± {:.1} (mean ± std over {} episodes, seeds {}..{}; {:.0} env steps/s)",
        args.task,
        mean,
        std,
        returns.len(),
        args.seed,
        args.seed + returns.len() as u64 - 1,
        steps as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

//! `lam eval`: parses the arguments of an evaluation, runs it
//! ([`lam_train::eval::evaluate`]) and prints the returns and the
//! normalised score. The same episodes can be played by two yardsticks
//! instead of a policy: uniformly random actions (`--random`) and the
//! state-based expert that made the data (`--expert`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_env::distractors::DistractionConfig;
use lam_env::render::{MAX_SIDE, MIN_SIDE};
use lam_env::TaskId;
use lam_train::eval::{evaluate, EvalSpec, Player};
use lam_train::TrainError;

use crate::args::{DeviceArg, DistractionArgs};
use crate::progress;

/// Arguments of `lam eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A policy run: `bc` or `decoder` (its frozen actor comes along).
    #[arg(long, required_unless_present_any = ["random", "expert"])]
    policy: Option<PathBuf>,
    /// Play uniformly random actions in [-1, 1] instead of a policy (seeded by `--seed`).
    #[arg(long, conflicts_with_all = ["policy", "expert"])]
    random: bool,
    /// Play a state-based expert checkpoint instead of a policy (the data's expert).
    #[arg(long, conflicts_with = "policy")]
    expert: Option<PathBuf>,
    /// Frame size for `--random` and `--expert` (a policy brings its own).
    #[arg(long, default_value_t = 64)]
    img: usize,
    /// Task (default: the one of `--like`).
    #[arg(long)]
    task: Option<TaskId>,
    /// Take task, preset, dynamics and background split from this dataset
    /// (the paper evaluates with the distractors of the data).
    #[arg(long)]
    like: Option<PathBuf>,
    #[command(flatten)]
    distractions: DistractionArgs,
    /// Episodes.
    #[arg(long, default_value_t = 25)]
    episodes: usize,
    /// Environments stepped together (default: one per episode).
    #[arg(long)]
    envs: Option<usize>,
    /// Environment i starts from seed + i.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Steps per episode.
    #[arg(long, default_value_t = 1000)]
    episode_length: usize,
    /// Return of BC on all labels to normalise by (default: the paper's
    /// published figure for the task, with or without distractors).
    #[arg(long)]
    normalizer: Option<f64>,
    /// Also run this state-based expert on every state the player visits and
    /// report how far apart their actions are (MSE of the actions clipped to
    /// [-1, 1] over the first 10, the first 100 and all steps): tells a
    /// policy that misreads its frames from the start from one that drifts
    /// away from the data.
    #[arg(long)]
    compare_expert: Option<PathBuf>,
    /// With `--compare-expert`: the expert acts and the player is only
    /// compared (its MSE on the expert's own states, as on held-out data);
    /// the returns are then the expert's.
    #[arg(long, requires = "compare_expert")]
    expert_drives: bool,
    /// Write the results as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where to run the policy.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Evaluate a policy on another task or distraction setting than it was
    /// trained on (refused otherwise); the result then says so.
    #[arg(long)]
    allow_mismatch: bool,
}

/// Runs `lam eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let mut distractions = args.distractions.config();
    let mut task = args.task;
    if let Some(file) = &args.like {
        let (from_data, like) = lam_train::eval::setting_of(file)?;
        if task.is_some_and(|t| t != from_data) {
            bail!(
                "--task {} differs from {}'s task {from_data}",
                task.unwrap_or(from_data),
                file.display()
            );
        }
        task = Some(from_data);
        distractions = DistractionConfig {
            source: distractions.source,
            ..like
        };
    }
    let task = task.context("--task or --like is required")?;
    if args.episodes == 0 {
        bail!("--episodes must be at least 1");
    }
    if args.episode_length == 0 {
        bail!("--episode-length must be at least 1");
    }
    if args.envs == Some(0) {
        bail!("--envs must be at least 1");
    }
    if let Some(n) = args.normalizer {
        if !(n.is_finite() && n > 0.0) {
            bail!("--normalizer {n}: expected a positive return to divide by");
        }
    }
    if !(MIN_SIDE..=MAX_SIDE).contains(&args.img) {
        bail!(
            "--img {}: expected a frame side from {MIN_SIDE} to {MAX_SIDE} pixels",
            args.img
        );
    }
    let player = match (&args.policy, &args.expert) {
        _ if args.random => Player::Random,
        (_, Some(expert)) => Player::Expert(expert.clone()),
        (Some(run), None) => Player::Policy(run.clone()),
        (None, None) => bail!("--policy, --random or --expert is required"),
    };
    let spec = EvalSpec {
        player,
        task,
        distractions,
        img: args.img,
        episodes: args.episodes,
        envs: args.envs.unwrap_or(args.episodes),
        seed: args.seed,
        episode_length: args.episode_length,
        normalizer: args.normalizer,
        device: args.device.device()?,
        allow_mismatch: args.allow_mismatch,
        compare_expert: args.compare_expert.clone(),
        expert_drives: args.expert_drives,
    };
    let envs = spec.env_count();
    let rounds = args.episodes.div_ceil(envs);
    let bar = progress::bar((rounds * args.episode_length) as u64, "steps");
    bar.set_message(format!("{task} {}", spec.distractions.preset.name()));
    let result = evaluate(&spec, &mut || bar.inc(1)).map_err(|e| match e {
        TrainError::Mismatch { .. } => {
            anyhow::anyhow!("{e}; pass --allow-mismatch to evaluate it there deliberately")
        }
        e => e.into(),
    })?;
    bar.finish_and_clear();
    if let Some(m) = &result.mismatch {
        println!("note: {m}");
    }
    if spec.expert_drives {
        println!("note: the compared expert acted (--expert-drives): the returns are its own");
    }
    if let Some(bands) = &result.expert_action_mse {
        let text: Vec<String> = bands
            .iter()
            .map(|b| format!("steps {}..{}: {:.4}", b.from, b.to, b.mse))
            .collect();
        println!(
            "action MSE against the expert on the states visited (clipped to [-1, 1]): {}",
            text.join(", ")
        );
    }
    for (i, r) in result.returns.iter().enumerate() {
        println!("episode {i:>3}: return {r:8.1}");
    }
    let d = &spec.distractions;
    println!(
        "{task} ({}, {}, backgrounds {}): return {:.1} ± {:.1} over {} episodes; normalized score {:.3} (÷ {:.1}, {})",
        d.preset.name(),
        if d.dynamic { "dynamic" } else { "static" },
        d.split.name(),
        result.mean_return,
        result.std_return,
        result.episodes,
        result.normalized_score,
        result.normalizer,
        result.normalizer_source
    );
    if let Some(out) = &args.out {
        let text = serde_json::to_string_pretty(&result)?;
        lam_data::atomic::write_bytes_atomic(out, text.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

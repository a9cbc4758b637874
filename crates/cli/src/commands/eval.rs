//! `lam eval`: a trained policy (BC, or latent BC actor + action decoder)
//! acts in vectorised pixel environments with batched inference; mean and
//! std of return and the normalized score (METHOD.md §2).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_data::DatasetReader;
use lam_env::distractors::Preset;
use lam_env::render::RenderConfig;
use lam_env::{TaskId, VecEnv, VecEnvConfig};
use lam_models::run::RunDir;
use lam_models::train::Trainer;
use tch::{Kind, Tensor};

use super::distractions::DistractionArgs;
use super::train::DeviceArg;
use crate::progress;

/// Arguments of `lam eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A policy run: `bc` or `decoder` (its frozen actor comes along).
    #[arg(long)]
    policy: PathBuf,
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
    /// Return of BC on all labels to normalise by (default: the published
    /// figure of METHOD.md §8 for the task, with or without distractors).
    #[arg(long)]
    normalizer: Option<f64>,
    /// Write the results as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where to run the policy.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
}

/// BC on all labels (METHOD.md §8): (with distractors, without).
pub fn published_normalizer(task: TaskId) -> (f64, f64) {
    match task {
        TaskId::CheetahRun => (823.0, 840.0),
        TaskId::WalkerRun => (749.0, 735.0),
        TaskId::HopperHop => (253.0, 300.0),
        TaskId::HumanoidWalk => (428.0, 601.0),
    }
}

/// What `--out` receives.
#[derive(Debug, serde::Serialize)]
struct EvalResult {
    policy: PathBuf,
    task: String,
    preset: String,
    dynamic: bool,
    split: String,
    episodes: usize,
    seed: u64,
    returns: Vec<f64>,
    mean_return: f64,
    std_return: f64,
    normalizer: f64,
    normalizer_source: String,
    normalized_score: f64,
}

/// Runs `lam eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let mut distractions = args.distractions.config();
    let mut task = args.task;
    if let Some(file) = &args.like {
        let r = DatasetReader::open(file)?;
        let a = r.attrs();
        let name = format!("{}-{}", a.domain_name, a.task_name);
        let from_data: TaskId = name
            .parse()
            .with_context(|| format!("{}: task {name:?}", file.display()))?;
        if task.is_some_and(|t| t != from_data) {
            bail!(
                "--task {} differs from {}'s task {name}",
                task.unwrap_or(from_data),
                file.display()
            );
        }
        task = Some(from_data);
        distractions.preset = a.difficulty.parse::<Preset>().map_err(|e| {
            anyhow::anyhow!("{}: difficulty {:?}: {e}", file.display(), a.difficulty)
        })?;
        distractions.dynamic = a.dynamic;
        distractions.split = a
            .split
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: split {:?}: {e:?}", file.display(), a.split))?;
    }
    let task = task.context("--task or --like is required")?;
    if args.episodes == 0 {
        bail!("--episodes must be at least 1");
    }
    let device = args.device.device()?;
    let checkpoint = RunDir::new(&args.policy).checkpoint();
    let (policy, _) = Trainer::load(&checkpoint, device)
        .with_context(|| format!("{}: no trained policy here", args.policy.display()))?;
    if !policy.model.is_policy() {
        bail!(
            "{} is a {:?} run; evaluate a bc run or a decoder run (latent BC actor + action decoder)",
            args.policy.display(),
            policy.config.method
        );
    }
    let envs = args.envs.unwrap_or(args.episodes).clamp(1, args.episodes);
    let side = policy.shape.image as usize;
    let config = VecEnvConfig {
        distractions: distractions.clone(),
        render: RenderConfig {
            width: side,
            height: side,
            ..RenderConfig::default()
        },
        episode_length: args.episode_length,
        ..VecEnvConfig::new(task, envs, args.seed)
    };
    let mut vec = VecEnv::new(config)?;
    if vec.action_size() as i64 != policy.shape.action_dim {
        bail!(
            "{}: the policy outputs {} actions but {task} takes {}",
            args.policy.display(),
            policy.shape.action_dim,
            vec.action_size()
        );
    }
    let rounds = args.episodes.div_ceil(envs);
    let bar = progress::bar((rounds * args.episode_length) as u64, "steps");
    bar.set_message(format!("{task} {}", distractions.preset.name()));
    let mut returns = Vec::new();
    while returns.len() < args.episodes {
        let frames = vec.stacked_frames();
        let obs = Tensor::from_slice(&frames)
            .view([envs as i64, side as i64, side as i64, 9])
            .to_device(device);
        let obs = lam_models::encoder::to_input(&obs);
        let actions = tch::no_grad(|| policy.model.actions(&obs, &obs))
            .expect("a policy")
            .to_kind(Kind::Double)
            .to_device(tch::Device::Cpu);
        let actions = Vec::<f64>::try_from(actions.view(-1))?;
        let step = vec.step(&actions)?;
        bar.inc(1);
        for end in step.finished.into_iter().flatten() {
            if returns.len() < args.episodes {
                returns.push(end.episode_return);
            }
        }
    }
    bar.finish_and_clear();
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let distracted = distractions.preset != Preset::Vanilla;
    let (normalizer, source) = match args.normalizer {
        Some(v) => (v, "given (--normalizer)".to_string()),
        None => {
            let (with, without) = published_normalizer(task);
            let v = if distracted { with } else { without };
            let source = format!(
                "published BC on all labels, {} distractors (METHOD.md §8)",
                if distracted { "with" } else { "without" }
            );
            // The published figures are 1000-step returns; shorter episodes
            // are compared with the same share of them (an approximation:
            // the first steps of an episode earn less than the average).
            if args.episode_length == 1000 {
                (v, source)
            } else {
                let share = args.episode_length as f64 / 1000.0;
                (
                    v * share,
                    format!("{source}, scaled to {} of 1000 steps", args.episode_length),
                )
            }
        }
    };
    for (i, r) in returns.iter().enumerate() {
        println!("episode {i:>3}: return {r:8.1}");
    }
    println!(
        "{task} ({}, {}, backgrounds {}): return {mean:.1} ± {std:.1} over {} episodes; normalized score {:.3} (÷ {normalizer:.1}, {source})",
        distractions.preset.name(),
        if distractions.dynamic { "dynamic" } else { "static" },
        distractions.split.name(),
        returns.len(),
        mean / normalizer
    );
    if let Some(out) = &args.out {
        let result = EvalResult {
            policy: args.policy.clone(),
            task: task.name().to_string(),
            preset: distractions.preset.name().to_string(),
            dynamic: distractions.dynamic,
            split: distractions.split.name().to_string(),
            episodes: returns.len(),
            seed: args.seed,
            mean_return: mean,
            std_return: std,
            normalizer,
            normalizer_source: source,
            normalized_score: mean / normalizer,
            returns,
        };
        let text = serde_json::to_string_pretty(&result)?;
        lam_data::atomic::write_bytes_atomic(out, text.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

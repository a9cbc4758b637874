//! `lam eval`: a trained policy (BC, or latent BC actor + action decoder)
//! acts in vectorised pixel environments with batched inference; mean and
//! std of return and the normalized score (METHOD.md §2). The same episodes
//! can be played by two yardsticks instead: uniformly random actions
//! (`--random`) and the state-based expert that made the data (`--expert`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_data::DatasetReader;
use lam_env::distractors::Preset;
use lam_env::render::{RenderConfig, MAX_SIDE, MIN_SIDE};
use lam_env::{TaskId, VecEnv, VecEnvConfig};
use lam_models::run::RunDir;
use lam_models::train::Trainer;
use tch::{Kind, Tensor};

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
    /// Return of BC on all labels to normalise by (default: the published
    /// figure of METHOD.md §8 for the task, with or without distractors).
    #[arg(long)]
    normalizer: Option<f64>,
    /// Also run this state-based expert on every state the player visits and
    /// report how far apart their actions are (MSE of the actions clipped to
    /// [-1, 1], by stretch of the episode): tells a policy that misreads its
    /// frames from the start from one that drifts away from the data.
    #[arg(long)]
    compare_expert: Option<PathBuf>,
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
    /// The policy run, or `random`, or the expert checkpoint.
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
    /// What the policy was trained on (task, distractions, split), when its
    /// checkpoint records it.
    trained_on: Option<String>,
    /// How the evaluation differs from that, if it does.
    mismatch: Option<String>,
    /// With `--compare-expert`: the action MSE against the expert on the
    /// states the player visited.
    #[serde(skip_serializing_if = "Option::is_none")]
    expert_action_mse: Option<Vec<Band>>,
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
    let device = args.device.device()?;
    let envs = args.envs.unwrap_or(args.episodes).clamp(1, args.episodes);
    let mut actor = Actor::load(&args, device)?;
    let side = actor.image(args.img);
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
    actor.check_fits(&args, &vec, task)?;
    let (trained_on, mismatch) = actor.trained_on(&args, task, &distractions)?;
    if let Some(m) = &mismatch {
        println!("note: {m}");
    }
    let compare = match &args.compare_expert {
        Some(path) => {
            let e = lam_experts::load_expert(path).with_context(|| {
                format!("--compare-expert {}: loading the expert", path.display())
            })?;
            lam_experts::check_fits(
                e.as_ref(),
                path,
                task,
                vec.observation_size(),
                vec.action_size(),
            )
            .with_context(|| format!("--compare-expert {}", path.display()))?;
            Some(e)
        }
        None => None,
    };
    let mut agreement = Agreement::new(args.episode_length);
    let mut t = 0;
    let rounds = args.episodes.div_ceil(envs);
    let bar = progress::bar((rounds * args.episode_length) as u64, "steps");
    bar.set_message(format!("{task} {}", distractions.preset.name()));
    let mut returns = Vec::new();
    while returns.len() < args.episodes {
        let actions = actor.actions(&vec, device)?;
        if let Some(e) = &compare {
            let n = vec.observation_size();
            let expert: Vec<f64> = vec
                .observations()
                .chunks(n)
                .flat_map(|o| e.act(o))
                .collect();
            agreement.add(t, &actions, &expert);
        }
        let step = vec.step(&actions)?;
        bar.inc(1);
        t += 1;
        for end in step.finished.into_iter().flatten() {
            t = 0;
            if returns.len() < args.episodes {
                returns.push(end.episode_return);
            }
        }
    }
    bar.finish_and_clear();
    let expert_action_mse = compare.is_some().then(|| agreement.bands());
    if let Some(bands) = &expert_action_mse {
        let text: Vec<String> = bands
            .iter()
            .map(|b| format!("steps {}..{}: {:.4}", b.from, b.to, b.mse))
            .collect();
        println!(
            "action MSE against the expert on the states visited (clipped to [-1, 1]): {}",
            text.join(", ")
        );
    }
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
            policy: actor.name(&args),
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
            trained_on,
            mismatch,
            expert_action_mse,
        };
        let text = serde_json::to_string_pretty(&result)?;
        lam_data::atomic::write_bytes_atomic(out, text.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// Squared distances between the player's and an expert's clipped actions,
/// summed by step of the episode.
struct Agreement {
    sums: Vec<f64>,
    counts: Vec<usize>,
}

/// The mean action MSE over steps `from..to` of the episodes.
#[derive(Debug, serde::Serialize)]
struct Band {
    from: usize,
    to: usize,
    mse: f64,
}

impl Agreement {
    fn new(steps: usize) -> Self {
        Self {
            sums: vec![0.0; steps],
            counts: vec![0; steps],
        }
    }

    /// Adds step `t` of every environment (flattened actions of both).
    fn add(&mut self, t: usize, player: &[f64], expert: &[f64]) {
        let Some(sum) = self.sums.get_mut(t) else {
            return;
        };
        for (a, b) in player.iter().zip(expert) {
            *sum += (a.clamp(-1.0, 1.0) - b.clamp(-1.0, 1.0)).powi(2);
        }
        self.counts[t] += player.len();
    }

    /// Means over the first 10 steps, the first 100 and the whole episode.
    fn bands(&self) -> Vec<Band> {
        let steps = self.sums.len();
        let mut ends = vec![10.min(steps), 100.min(steps), steps];
        ends.dedup();
        ends.into_iter()
            .map(|to| {
                let n: usize = self.counts[..to].iter().sum();
                let s: f64 = self.sums[..to].iter().sum();
                Band {
                    from: 0,
                    to,
                    mse: s / n.max(1) as f64,
                }
            })
            .collect()
    }
}

/// Who plays the evaluation episodes.
enum Actor {
    /// A trained pixel policy (BC, or latent BC actor + decoder) and its
    /// checkpoint's metadata.
    Trained(Box<Trainer>, BTreeMap<String, String>),
    /// Uniformly random actions in [-1, 1].
    Random(Box<rand_chacha::ChaCha8Rng>),
    /// A state-based expert.
    Expert(Box<dyn lam_experts::Policy>),
}

impl Actor {
    fn load(args: &EvalArgs, device: tch::Device) -> Result<Self> {
        if args.random {
            use rand::SeedableRng;
            return Ok(Self::Random(Box::new(
                rand_chacha::ChaCha8Rng::seed_from_u64(args.seed),
            )));
        }
        if let Some(path) = &args.expert {
            let policy = lam_experts::load_expert(path)
                .with_context(|| format!("--expert {}: loading the expert", path.display()))?;
            return Ok(Self::Expert(policy));
        }
        let run = args
            .policy
            .as_ref()
            .context("--policy, --random or --expert is required")?;
        let checkpoint = RunDir::new(run).checkpoint();
        let (policy, meta) = Trainer::load(&checkpoint, device)
            .with_context(|| format!("{}: no trained policy here", run.display()))?;
        if !policy.model.is_policy() {
            bail!(
                "{} is a {:?} run; evaluate a bc run or a decoder run (latent BC actor + action decoder)",
                run.display(),
                policy.config.method
            );
        }
        Ok(Self::Trained(Box::new(policy), meta))
    }

    /// Frame side length the episodes are rendered at.
    fn image(&self, img: usize) -> usize {
        match self {
            Self::Trained(p, _) => p.shape.image as usize,
            _ => img,
        }
    }

    /// Checks that the actor's sizes fit the environment's.
    fn check_fits(&self, args: &EvalArgs, vec: &VecEnv, task: TaskId) -> Result<()> {
        match self {
            Self::Trained(p, _) => {
                if vec.action_size() as i64 != p.shape.action_dim {
                    bail!(
                        "{}: the policy outputs {} actions but {task} takes {}",
                        args.policy.clone().unwrap_or_default().display(),
                        p.shape.action_dim,
                        vec.action_size()
                    );
                }
            }
            Self::Expert(p) => {
                let path = args.expert.clone().unwrap_or_default();
                lam_experts::check_fits(
                    p.as_ref(),
                    &path,
                    task,
                    vec.observation_size(),
                    vec.action_size(),
                )
                .with_context(|| format!("--expert {}", path.display()))?;
            }
            Self::Random(_) => {}
        }
        Ok(())
    }

    /// What a trained policy was trained on, and how this evaluation differs
    /// (another task or distractions: refused unless `--allow-mismatch`;
    /// another background split: a note, as for unseen backgrounds).
    fn trained_on(
        &self,
        args: &EvalArgs,
        task: TaskId,
        d: &lam_env::distractors::DistractionConfig,
    ) -> Result<(Option<String>, Option<String>)> {
        use lam_models::run::provenance as key;
        let Self::Trained(_, meta) = self else {
            return Ok((None, None));
        };
        let (Some(t), Some(difficulty), Some(dynamic), Some(split)) = (
            meta.get(key::TASK),
            meta.get(key::DIFFICULTY),
            meta.get(key::DYNAMIC),
            meta.get(key::SPLIT),
        ) else {
            return Ok((None, None));
        };
        let motion = |dynamic: bool| if dynamic { "dynamic" } else { "static" };
        let trained = format!(
            "{t} under {difficulty} ({}), {split} backgrounds",
            motion(dynamic == "true")
        );
        let now = format!(
            "{task} under {} ({}), {} backgrounds",
            d.preset.name(),
            motion(d.dynamic),
            d.split.name()
        );
        let same_setting =
            t == task.name() && difficulty == d.preset.name() && (dynamic == "true") == d.dynamic;
        if !same_setting && !args.allow_mismatch {
            bail!(
                "{}: the policy was trained on {trained}, not {now}; pass --allow-mismatch to evaluate it there deliberately",
                args.policy.clone().unwrap_or_default().display()
            );
        }
        let mismatch =
            (trained != now).then(|| format!("trained on {trained}, evaluated on {now}"));
        Ok((Some(trained), mismatch))
    }

    /// What the result file names as the policy.
    fn name(&self, args: &EvalArgs) -> PathBuf {
        match self {
            Self::Trained(..) => args.policy.clone().unwrap_or_default(),
            Self::Random(_) => PathBuf::from("random"),
            Self::Expert(_) => args.expert.clone().unwrap_or_default(),
        }
    }

    /// One action per environment, flattened.
    fn actions(&mut self, vec: &VecEnv, device: tch::Device) -> Result<Vec<f64>> {
        let envs = vec.num_envs();
        Ok(match self {
            Self::Trained(policy, _) => {
                let side = policy.shape.image;
                let frames = vec.stacked_frames();
                let obs = Tensor::from_slice(&frames)
                    .view([envs as i64, side, side, 9])
                    .to_device(device);
                let obs = lam_models::encoder::to_input(&obs);
                let actions = tch::no_grad(|| policy.model.actions(&obs, &obs))
                    .expect("a policy")
                    .to_kind(Kind::Double)
                    .to_device(tch::Device::Cpu);
                Vec::<f64>::try_from(actions.view(-1))?
            }
            Self::Random(rng) => {
                use rand::Rng;
                (0..envs * vec.action_size())
                    .map(|_| rng.random_range(-1.0..=1.0))
                    .collect()
            }
            Self::Expert(policy) => {
                let n = vec.observation_size();
                vec.observations()
                    .chunks(n)
                    .flat_map(|o| policy.act(o))
                    .collect()
            }
        })
    }
}

//! `lam expert ship`: copies a trained actor from a `lam expert train` run
//! into the repository's experts folder (`experts/TASK/`), measures its
//! greedy return over fixed seeds and writes what was measured beside it
//! (`expert.json`, `README.md`), then rewrites the folder's index table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_env::TaskId;

use super::{mean_std, Episodes, Stored};

/// Arguments of `lam expert ship`.
#[derive(Debug, Args)]
pub struct ShipArgs {
    /// A `lam expert train` run folder (holds config.json and actor.safetensors).
    #[arg(long)]
    run: PathBuf,
    /// The experts folder; the actor goes to TO/TASK/.
    #[arg(long, default_value = "experts")]
    to: PathBuf,
    #[command(flatten)]
    runs: Episodes,
}

/// The return the shipped expert is compared with.
fn reference_return(task: TaskId) -> (f64, &'static str) {
    match task {
        TaskId::CheetahRun => (837.70, "published PPO expert (TASKS.md)"),
        TaskId::WalkerRun => (739.79, "published PPO expert (TASKS.md)"),
        TaskId::HopperHop => (306.63, "published PPO expert (TASKS.md)"),
        TaskId::HumanoidWalk => (
            620.1,
            "published SAC expert, measured here with `lam expert eval` (20 episodes, seeds 0..19)",
        ),
    }
}

/// What `expert.json` holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Shipped {
    task: String,
    /// Training seed.
    seed: u64,
    /// Environment steps the actor was trained for.
    env_steps: usize,
    /// The command lines that trained it (start, then resumes).
    commands: Vec<String>,
    /// Greedy returns of the evaluation episodes.
    returns: Vec<f64>,
    eval_seeds: String,
    mean: f64,
    std: f64,
    reference: f64,
    reference_source: String,
    /// `mean / reference`.
    fraction_of_reference: f64,
}

/// Runs `lam expert ship`.
pub fn run(args: ShipArgs) -> Result<()> {
    let config = args.run.join("config.json");
    let stored: Stored = serde_json::from_str(
        &std::fs::read_to_string(&config)
            .with_context(|| format!("{}: not a `lam expert train` run", args.run.display()))?,
    )
    .with_context(|| format!("reading {}", config.display()))?;
    let task: TaskId = stored
        .task
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: field task: {e}", config.display()))?;
    let actor = args.run.join("actor.safetensors");
    let (_, metadata) = lam_experts::checkpoint::StateDict::load_safetensors(&actor)?;
    let env_steps: usize = metadata
        .get("env_steps")
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("{}: metadata has no env_steps", actor.display()))?;
    // The commands that made this actor (the run may have been resumed since).
    let commands: Vec<String> = match metadata.get("commands") {
        Some(c) => c.lines().map(str::to_string).collect(),
        None => stored.commands.clone(),
    };
    if commands.is_empty() {
        bail!(
            "{}: field commands is empty (the run predates recorded commands); add the command lines that trained it",
            config.display()
        );
    }
    let policy = lam_experts::load_expert(&actor)?;

    let returns: Vec<f64> = args
        .runs
        .evaluate(task, policy.as_ref(), &|_| {})
        .with_context(|| format!("evaluating {}", actor.display()))?
        .iter()
        .map(|r| r.total)
        .collect();
    let (mean, std) = mean_std(&returns);
    let (reference, source) = reference_return(task);
    let shipped = Shipped {
        task: task.name().to_string(),
        seed: stored.config.seed,
        env_steps,
        commands,
        returns,
        eval_seeds: format!(
            "{}..{}",
            args.runs.seed,
            args.runs.seed + args.runs.episodes as u64 - 1
        ),
        mean,
        std,
        reference,
        reference_source: source.to_string(),
        fraction_of_reference: mean / reference,
    };

    let dir = args.to.join(task.name());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let copy = |name: &str| -> Result<()> {
        let from = args.run.join(name);
        let bytes = std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
        lam_data::atomic::write_bytes_atomic(&dir.join(name), &bytes)?;
        Ok(())
    };
    copy("actor.safetensors")?;
    if args.run.join("curve.png").is_file() {
        copy("curve.png")?;
    }
    lam_data::atomic::write_bytes_atomic(
        &dir.join("expert.json"),
        serde_json::to_string_pretty(&shipped)?.as_bytes(),
    )?;
    lam_data::atomic::write_bytes_atomic(
        &dir.join("README.md"),
        expert_readme(&shipped).as_bytes(),
    )?;
    let index = write_index(&args.to)?;
    println!(
        "{task}: return {mean:.1} ± {std:.1} over {} episodes (seeds {}) = {:.0} % of {reference:.1}; shipped to {}; index {}",
        args.runs.episodes,
        shipped.eval_seeds,
        100.0 * shipped.fraction_of_reference,
        dir.display(),
        index.display()
    );
    Ok(())
}

/// `TASK/README.md`: how the expert was made and what it scores.
fn expert_readme(s: &Shipped) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "# {} expert (SAC, trained by lam)\n", s.task);
    let _ = writeln!(
        t,
        "Greedy return: **{:.1} ± {:.1}** (mean ± std over {} episodes of 1000 steps, evaluation seeds {}), {:.0} % of {:.1} ({}).\n",
        s.mean,
        s.std,
        s.returns.len(),
        s.eval_seeds,
        100.0 * s.fraction_of_reference,
        s.reference,
        s.reference_source
    );
    let _ = writeln!(
        t,
        "Trained for {} environment steps with seed {} by (in order):\n",
        s.env_steps, s.seed
    );
    t.push_str("```sh\n");
    for c in &s.commands {
        let _ = writeln!(t, "{c}");
    }
    t.push_str("```\n\n");
    let _ = writeln!(
        t,
        "Check it: `lam expert eval --task {} --checkpoint experts/{}/actor.safetensors --episodes {}`.\n",
        s.task,
        s.task,
        s.returns.len()
    );
    t.push_str("Files: `actor.safetensors` (the actor's weights), `expert.json` (these numbers and every episode's return), `curve.png` (learning curve).\n");
    t
}

/// Rewrites `experts/README.md`: a table of every shipped expert.
fn write_index(to: &Path) -> Result<PathBuf> {
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(to).with_context(|| format!("reading {}", to.display()))? {
        let file = entry?.path().join("expert.json");
        if !file.is_file() {
            continue;
        }
        let s: Shipped = serde_json::from_str(&std::fs::read_to_string(&file)?)
            .with_context(|| format!("reading {}", file.display()))?;
        rows.push(s);
    }
    rows.sort_by(|a, b| a.task.cmp(&b.task));
    let mut t = String::from(
        "# Shipped experts\n\nState-based SAC experts trained by `lam expert train` and shipped by `lam expert ship` (which measured every number below). `lam collect --expert experts/TASK/actor.safetensors`, `lam expert eval` and pipelines with `experts = \"experts\"` use them.\n\n",
    );
    t.push_str("| task | return (mean ± std) | episodes | of reference | env steps | seed |\n|---|---|---|---|---|---|\n");
    for s in &rows {
        let _ = writeln!(
            t,
            "| [{}]({}/README.md) | {:.1} ± {:.1} | {} | {:.0} % of {:.1} | {} | {} |",
            s.task,
            s.task,
            s.mean,
            s.std,
            s.returns.len(),
            100.0 * s.fraction_of_reference,
            s.reference,
            s.env_steps,
            s.seed
        );
    }
    let index = to.join("README.md");
    lam_data::atomic::write_bytes_atomic(&index, t.as_bytes())?;
    Ok(index)
}

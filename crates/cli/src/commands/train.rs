//! `lam train`: train a latent action model or a baseline from a preset or
//! a TOML config, in a run folder that can be resumed.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_data::DatasetReader;
use lam_models::config::{PresetSize, RunConfig, PRESETS};
use lam_train::run::{train, RunData, RunDir, RunEvent, RunSummary};

use crate::args::DeviceArg;
use crate::progress;

/// Arguments of `lam train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A named preset (`--list-presets` shows them).
    #[arg(long, default_value = "laom-mini", conflicts_with = "config")]
    preset: String,
    /// A TOML config file instead of a preset (`--show-config` prints one to start from).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The training dataset (for idm / bc: the labeled file).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Labeled subset for LAOM + supervision (`lam data sample-labeled`).
    #[arg(long)]
    labeled: Option<PathBuf>,
    /// Held-out dataset for evaluations every `train.eval_every` steps.
    #[arg(long = "eval-data")]
    eval_data: Option<PathBuf>,
    /// The run this one builds on: a LAM run for latent-bc, a latent-bc
    /// run for decoder.
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// Run folder (config, checkpoint, metrics).
    #[arg(long, default_value = "runs/laom-mini")]
    out: PathBuf,
    /// Override a setting: `--set train.steps=500 --set model.latent_dim=64`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Continue the run in `--out` from its last checkpoint (data files
    /// default to those it was started with).
    #[arg(long)]
    resume: bool,
    /// Stop this session after this many steps (checkpointed; `--resume` goes on).
    #[arg(long)]
    until: Option<usize>,
    /// Where to train.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// libtorch CPU threads (default: all cores).
    #[arg(long)]
    threads: Option<i32>,
    /// Print the resolved config as TOML and exit.
    #[arg(long)]
    show_config: bool,
    /// List the presets and exit.
    #[arg(long)]
    list_presets: bool,
}

/// Runs `lam train`.
pub fn run(args: TrainArgs) -> Result<()> {
    if args.list_presets {
        let groups = [
            (PresetSize::Paper, "paper scale"),
            (PresetSize::Mini, "the same at CPU size"),
            (PresetSize::Fixed, "fixed size"),
        ];
        for (size, title) in groups {
            println!("{title}:");
            for p in PRESETS.iter().filter(|p| p.size() == size) {
                println!("  {:<26} {}", p.name, p.about());
            }
        }
        println!("(each is a TOML file in the repository's presets/ folder; `--show-config --preset NAME` prints it as used)");
        return Ok(());
    }
    if let Some(t) = args.threads {
        if t < 1 {
            bail!("--threads {t}: expected at least 1");
        }
        tch::set_num_threads(t);
    }
    let dir = RunDir::new(&args.out);
    let config = if args.resume {
        if !args.sets.is_empty() || args.config.is_some() {
            bail!("--resume continues the run with its own config; --set and --config cannot change it");
        }
        None
    } else {
        let base = match &args.config {
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                RunConfig::from_toml(&text, &file.display().to_string())
                    .map_err(anyhow::Error::msg)?
            }
            None => RunConfig::preset(&args.preset).with_context(|| {
                format!(
                    "no preset {:?}; choose one of: {}",
                    args.preset,
                    RunConfig::preset_names().join(", ")
                )
            })?,
        };
        Some(
            base.with_overrides(&args.sets)
                .map_err(anyhow::Error::msg)?,
        )
    };
    if args.show_config {
        let c = match &config {
            Some(c) => c.clone(),
            None => read_config(&dir)?,
        };
        print!("{}", c.to_toml());
        return Ok(());
    }
    let data = run_data(&args, &dir)?;
    check_task(&data.data)?;
    let device = args.device.device()?;
    let shown = config.clone().map_or_else(|| read_config(&dir), Ok)?;
    println!(
        "training {:?} on {} ({}), run folder {}",
        shown.method,
        data.data.display(),
        lam_models::toolkit::device::describe(),
        dir.root.display()
    );
    if let Ok(range) = DatasetReader::open(&data.data).and_then(|r| r.action_range(20)) {
        println!("{range}");
    }
    let bar = progress::bar(shown.train.steps as u64, "steps");
    bar.set_message("train");
    let summary = train(
        &dir,
        config.as_ref(),
        &data,
        device,
        args.until,
        |e| match e {
            RunEvent::Started {
                step,
                total,
                parameters,
                autocast,
            } => {
                bar.set_position(step as u64);
                bar.reset_eta();
                progress::println(
                    &bar,
                    format!(
                        "{} trainable parameters; steps {step}..{total}{}",
                        parameters,
                        if autocast { "; bf16 autocast" } else { "" }
                    ),
                );
                if shown.train.precision == lam_models::config::Precision::Bf16 && !autocast {
                    progress::println(
                        &bar,
                        "note: bf16 autocast needs a CUDA device; this run uses f32",
                    );
                }
            }
            RunEvent::Step { step, metrics } => {
                bar.set_position(step as u64);
                let probe = metrics
                    .action_probe
                    .map_or(String::new(), |p| format!(" probe {p:.3}"));
                bar.set_message(format!("loss {:.4}{probe}", metrics.loss));
            }
            RunEvent::Eval { step, metrics } => progress::println(
                &bar,
                format!(
                    "step {step}: held-out loss {:.4}, action MSE {:.4}, state probe {:.4}",
                    metrics.loss, metrics.action_mse, metrics.state_probe
                ),
            ),
            RunEvent::Checkpoint { .. } => {}
        },
    );
    bar.finish_and_clear();
    let summary = summary?;
    report(&summary, &dir);
    Ok(())
}

/// Refuses a dataset whose `domain_name` / `task_name` is no task lam knows.
fn check_task(file: &std::path::Path) -> Result<()> {
    let r = lam_data::DatasetReader::open(file)?;
    let a = r.attrs();
    let name = format!("{}-{}", a.domain_name, a.task_name);
    name.parse::<lam_env::TaskId>().map_err(|e| {
        anyhow::anyhow!(
            "{}: root attributes domain_name {:?} and task_name {:?} name no known task ({e})",
            file.display(),
            a.domain_name,
            a.task_name
        )
    })?;
    Ok(())
}

fn read_config(dir: &RunDir) -> Result<RunConfig> {
    let file = dir.config();
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "{}: no run to resume here (no config.toml)",
            dir.root.display()
        )
    })?;
    RunConfig::from_toml(&text, &file.display().to_string()).map_err(anyhow::Error::msg)
}

/// The data files: from the arguments, or on resume from the run folder.
fn run_data(args: &TrainArgs, dir: &RunDir) -> Result<RunData> {
    let stored = if args.resume {
        let file = dir.data();
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("{}: no run to resume here", dir.root.display()))?;
        Some(
            toml::from_str::<RunData>(&text)
                .with_context(|| format!("reading {}", file.display()))?,
        )
    } else {
        None
    };
    let data = match (&args.data, &stored) {
        (Some(d), _) => d.clone(),
        (None, Some(s)) => s.data.clone(),
        (None, None) => bail!("--data FILE is required (a dataset from `lam collect`)"),
    };
    let pick = |given: &Option<PathBuf>, old: Option<&PathBuf>| given.clone().or(old.cloned());
    Ok(RunData {
        data,
        labeled: pick(
            &args.labeled,
            stored.as_ref().and_then(|s| s.labeled.as_ref()),
        ),
        eval: pick(
            &args.eval_data,
            stored.as_ref().and_then(|s| s.eval.as_ref()),
        ),
        teacher: match &args.teacher {
            Some(dir) => Some(RunDir::new(dir).checkpoint()),
            None => stored.and_then(|s| s.teacher),
        },
    })
}

fn report(s: &RunSummary, dir: &RunDir) {
    println!(
        "done: {} steps of {:?}, {:.0} samples/s",
        s.steps, s.method, s.samples_per_s
    );
    println!("  last 100 steps: loss {:.4}", s.final_loss);
    if let Some(p) = s.final_action_probe {
        println!("  latent -> action probe MSE {p:.4} (training batches)");
    }
    println!("  embedding -> state probe MSE {:.4}", s.final_state_probe);
    if let Some(e) = &s.eval {
        println!(
            "  held-out: loss {:.4}, action MSE {:.4}, state probe {:.4}",
            e.loss, e.action_mse, e.state_probe
        );
    }
    println!(
        "  files: {}, {}, {}",
        dir.checkpoint().display(),
        dir.metrics().display(),
        dir.summary().display()
    );
}

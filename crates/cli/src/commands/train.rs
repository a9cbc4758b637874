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
    /// More training files, of other tasks (repeatable): cross-embodiment
    /// pre-training of LAPO / LAOM, every batch mixing all the files'
    /// samples (each task's actions in columns of their own).
    #[arg(long)]
    also: Vec<PathBuf>,
    /// Labeled subsets of the --also files' tasks, in their order
    /// (LAOM + supervision on several tasks: one action head per task).
    #[arg(long = "also-labeled")]
    also_labeled: Vec<PathBuf>,
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
                RunConfig::from_toml(&text, &file.display().to_string())?
            }
            None => RunConfig::preset(&args.preset).with_context(|| {
                format!(
                    "no preset {:?}; choose one of: {}",
                    args.preset,
                    RunConfig::preset_names().join(", ")
                )
            })?,
        };
        Some(base.with_overrides(&args.sets)?)
    };
    if args.show_config {
        let c = match &config {
            Some(c) => c.clone(),
            None => dir.read_config()?,
        };
        print!("{}", c.to_toml());
        return Ok(());
    }
    let data = RunData::resolve(
        &dir,
        args.resume,
        args.data.clone(),
        args.also.clone(),
        args.labeled.clone(),
        args.also_labeled.clone(),
        args.eval_data.clone(),
        args.teacher.as_deref(),
    )?;
    let device = args.device.device()?;
    let shown = config.clone().map_or_else(|| dir.read_config(), Ok)?;
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

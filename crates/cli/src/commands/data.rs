//! `lam data ...`: inspect, subsample and merge dataset files.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use lam_data::ops::{merge, sample_labeled};
use lam_data::DatasetReader;

/// Data subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Task, preset, counts, lengths, returns and shapes of a dataset file.
    Info(InfoArgs),
    /// A labeled subset: K trajectories drawn without replacement (seeded).
    SampleLabeled(SampleArgs),
    /// Concatenate files with the same attributes (e.g. shards) into one.
    Merge(MergeArgs),
    /// A copy of a dataset whose actions are a trained IDM's predictions
    /// from (o_t, o_{t+1}): the IDM baseline's relabeling (then train bc on it).
    Relabel(RelabelArgs),
}

/// Arguments of `lam data relabel`.
#[derive(Debug, Args)]
pub struct RelabelArgs {
    /// The dataset to relabel.
    file: PathBuf,
    /// An `idm` run folder.
    #[arg(long)]
    idm: PathBuf,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Pairs per forward pass.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
    /// Where to run the IDM.
    #[arg(long, value_enum, default_value = "auto")]
    device: crate::args::DeviceArg,
}

/// Arguments of `lam data info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The dataset file.
    file: PathBuf,
}

/// Arguments of `lam data sample-labeled`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The full dataset file.
    file: PathBuf,
    /// Trajectories in the subset (the paper uses 2 … 128).
    #[arg(long)]
    trajectories: usize,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Seed of the draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
}

/// Arguments of `lam data merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Input files, in order.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
}

/// Runs a data subcommand.
pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Info(a) => info(a),
        DataCommand::SampleLabeled(a) => {
            let chosen = sample_labeled(&a.file, a.trajectories, a.seed, &a.out, a.force)?;
            println!(
                "wrote {} trajectories {:?} of {} to {}",
                chosen.len(),
                chosen,
                a.file.display(),
                a.out.display()
            );
            Ok(())
        }
        DataCommand::Relabel(a) => relabel(a),
        DataCommand::Merge(a) => {
            let n = merge(&a.inputs, &a.out, a.force)?;
            println!(
                "wrote {n} trajectories from {} files to {}",
                a.inputs.len(),
                a.out.display()
            );
            Ok(())
        }
    }
}

fn info(a: InfoArgs) -> Result<()> {
    let r = DatasetReader::open(&a.file)?;
    let at = r.attrs();
    let lengths = r.lengths();
    let returns = r.returns();
    let (lo, hi) = returns
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    let steps: usize = lengths.iter().sum();
    let (h, w) = r.frame();
    println!("file          {}", a.file.display());
    println!("task          {}-{}", at.domain_name, at.task_name);
    println!(
        "distractions  {} ({}), backgrounds {}",
        at.difficulty,
        if at.dynamic { "dynamic" } else { "static" },
        at.split
    );
    println!("trajectories  {} ({} steps)", r.len(), steps);
    println!(
        "lengths       min {} / max {}",
        lengths.iter().min().unwrap_or(&0),
        lengths.iter().max().unwrap_or(&0)
    );
    println!(
        "return        mean {mean:.2}, min {lo:.2}, max {hi:.2}{}",
        at.dataset_return
            .map(|d| format!(" (dataset_return {d:.2})"))
            .unwrap_or_default()
    );
    println!("obs           uint8 [T, {h}, {w}, 3]");
    println!("states        float32 [T, {}]", r.state_size());
    println!("actions       float32 [T, {}]", r.action_size());
    // Every state and action once: a NaN or infinity is an error naming
    // the trajectory, field and step.
    for i in 0..r.len() {
        r.read_states(i)?;
        r.read_actions(i)?;
    }
    println!("values        states and actions all finite");
    Ok(())
}

fn relabel(a: RelabelArgs) -> Result<()> {
    let mut bars = crate::progress::Bars::default();
    let done = lam_train::relabel::relabel(
        &a.file,
        &a.idm,
        &a.out,
        a.batch_size,
        a.force,
        a.device.device()?,
        &mut |p| bars.report(p),
    )?;
    drop(bars);
    println!(
        "wrote {} trajectories with IDM actions to {} (MSE to the original actions {:.4})",
        done.trajectories,
        done.file.display(),
        done.mse
    );
    Ok(())
}

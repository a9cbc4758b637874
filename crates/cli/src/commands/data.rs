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
    use anyhow::{bail, Context};
    use lam_data::loader::stack_at;
    use lam_data::DatasetWriter;
    use lam_models::config::Method;
    use lam_train::run::RunDir;
    use lam_train::trainer::Trainer;
    use tch::Tensor;

    let device = a.device.device()?;
    let (idm, _) = Trainer::load(&RunDir::new(&a.idm).checkpoint(), device)
        .with_context(|| format!("{}: no trained IDM here", a.idm.display()))?;
    if idm.config.method != Method::Idm {
        bail!(
            "{} is a {:?} run, not an idm run",
            a.idm.display(),
            idm.config.method
        );
    }
    let r = DatasetReader::open(&a.file)?;
    let (h, w) = r.frame();
    let shape = &idm.shape;
    if (h as i64, w as i64) != (shape.image, shape.image)
        || r.action_size() as i64 != shape.action_dim
    {
        bail!(
            "{}: frames {h}x{w} and {} actions, but the IDM was trained on {}x{} frames and {} actions",
            a.file.display(),
            r.action_size(),
            shape.image,
            shape.image,
            shape.action_dim
        );
    }
    let fb = h * w * 3;
    let bar = crate::progress::bar(r.len() as u64, "trajectories");
    bar.set_message("relabeling");
    let options = lam_data::WriteOptions {
        overwrite: a.force,
        ..Default::default()
    };
    let mut writer = DatasetWriter::create(&a.out, r.attrs().clone(), &options)?;
    let mut error = 0.0f64;
    let mut count = 0usize;
    for i in 0..r.len() {
        let mut traj = r.trajectory(i)?;
        let len = traj.obs.len() / fb;
        let stacks: Vec<Vec<u8>> = (0..len).map(|t| stack_at(&traj.obs, fb, t)).collect();
        // Pairs (t, t + 1); the last step reuses the prediction before it.
        let pairs = len.saturating_sub(1);
        let mut predicted: Vec<f32> = Vec::with_capacity(len * shape.action_dim as usize);
        for start in (0..pairs).step_by(a.batch_size.max(1)) {
            let end = (start + a.batch_size.max(1)).min(pairs);
            let frames = |offset: usize| {
                let bytes: Vec<u8> = (start..end)
                    .flat_map(|t| stacks[t + offset].iter().copied())
                    .collect();
                let t = Tensor::from_slice(&bytes)
                    .view([(end - start) as i64, h as i64, w as i64, 9])
                    .to_device(device);
                lam_models::toolkit::encoder::to_input(&t)
            };
            let (obs, next) = (frames(0), frames(1));
            let a_hat =
                tch::no_grad(|| idm.model.actions(&obs, &next)).expect("an IDM predicts actions");
            predicted.extend(Vec::<f32>::try_from(
                a_hat.to_device(tch::Device::Cpu).view(-1),
            )?);
        }
        let a_dim = shape.action_dim as usize;
        match pairs {
            0 => predicted.extend(traj.actions.iter().take(a_dim)),
            _ => predicted.extend_from_within((pairs - 1) * a_dim..pairs * a_dim),
        }
        for (p, t) in predicted.iter().zip(&traj.actions) {
            error += f64::from(p - t).powi(2);
            count += 1;
        }
        traj.actions = predicted;
        writer.append(&traj)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let out = writer.finish()?;
    println!(
        "wrote {} trajectories with IDM actions to {} (MSE to the original actions {:.4})",
        r.len(),
        out.display(),
        error / count.max(1) as f64
    );
    Ok(())
}

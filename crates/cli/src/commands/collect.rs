//! `lam collect`: expert trajectories with distractions, written in the
//! published HDF5 layout by parallel workers (`lam_train::collect`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use lam_env::render::RenderConfig;
use lam_env::TaskId;
use lam_train::collect::{collect, parse_shard, CollectSpec};

use crate::args::DistractionArgs;
use crate::progress;

/// Arguments of `lam collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Task: cheetah-run, walker-run, hopper-hop or humanoid-walk.
    #[arg(long)]
    task: TaskId,
    #[command(flatten)]
    distractions: DistractionArgs,
    /// Expert checkpoint (PPO checkpoint.pt or SB3 SAC zip) acting greedily.
    #[arg(long)]
    expert: PathBuf,
    /// Trajectories in the whole collection (a shard collects its part).
    #[arg(long)]
    trajectories: usize,
    /// Output file (.hdf5); written as FILE.partial until finished.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Trajectory k is seeded with seed + k.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Frame side in pixels.
    #[arg(long, default_value_t = 64)]
    img: usize,
    /// Collect only part i of n (0-based), e.g. 0/4; merge the parts with `lam data merge`.
    #[arg(long, value_name = "i/n")]
    shard: Option<String>,
    /// Continue an interrupted collection of --out.
    #[arg(long)]
    resume: bool,
    /// Stop once this many trajectories (of this shard) are written, leaving
    /// FILE.partial for a later --resume: a long collection in pieces.
    #[arg(long)]
    until: Option<usize>,
    /// Store actions clipped to [-1, 1] (default: the expert's raw outputs, as the published data).
    #[arg(long)]
    clip_actions: bool,
    /// Execute each expert action plus Gaussian noise of this standard
    /// deviation (then clipped to [-1, 1]) while storing the expert's own
    /// action: states around the expert's path, labelled with what the
    /// expert would do there (noise injection, as DART). 0 = greedy, as the
    /// published data.
    #[arg(long, default_value_t = 0.0)]
    action_noise: f64,
    /// Steps per episode.
    #[arg(long, default_value_t = lam_env::EPISODE_LENGTH)]
    episode_length: usize,
    /// Rays per pixel side on geometry edges (1 = fastest).
    #[arg(long, default_value_t = RenderConfig::default().supersample)]
    supersample: usize,
    /// Also record the simulator's ground truth beside the published
    /// datasets: per frame the agent mask and the distractor state (camera
    /// offsets, background video and frame, colour offsets), in each
    /// trajectory's `ground_truth` subgroup.
    #[arg(long)]
    ground_truth: bool,
}

/// Collects trajectories and writes the file.
pub fn run(args: CollectArgs) -> Result<()> {
    let spec = CollectSpec {
        task: args.task,
        distractions: args.distractions.config(),
        expert: args.expert,
        trajectories: args.trajectories,
        out: args.out,
        workers: args.workers,
        seed: args.seed,
        img: args.img,
        shard: args
            .shard
            .as_deref()
            .map(parse_shard)
            .transpose()
            .map_err(crate::args::flag_error)?,
        resume: args.resume,
        until: args.until,
        clip_actions: args.clip_actions,
        action_noise: args.action_noise,
        episode_length: args.episode_length,
        supersample: args.supersample,
        ground_truth: args.ground_truth,
    };
    let mut bars = progress::Bars::default();
    let done = collect(&spec, &mut |p| bars.report(p)).map_err(crate::args::flag_error)?;
    drop(bars);
    if done.finished {
        println!(
            "wrote {} trajectories ({} to {} of {}) to {}: mean return {:.1}",
            done.written,
            done.range.start,
            done.range.end - 1,
            spec.trajectories,
            done.file.display(),
            done.mean_return
        );
    } else {
        println!(
            "stopped at {} of {} trajectories (--until); {} holds them: continue with --resume",
            done.written,
            done.range.len(),
            done.file.display()
        );
    }
    Ok(())
}

//! `lam render`: draw frames of a task so a person can look at them.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use lam_env::render::{RenderConfig, Renderer};
use lam_env::{Environment, TaskId};

/// Arguments of `lam render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Task: cheetah-run, walker-run, hopper-hop or humanoid-walk.
    #[arg(long)]
    task: TaskId,
    /// Control steps to take before the last frame (frames are drawn every `--every` steps).
    #[arg(long, default_value_t = 0)]
    steps: usize,
    /// Draw a frame every this many steps into a horizontal strip.
    #[arg(long, default_value_t = 0)]
    every: usize,
    /// Expert checkpoint to act with (default: zero actions).
    #[arg(long)]
    expert: Option<PathBuf>,
    /// Image side in pixels.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Rays per pixel side (2 = 4 rays per pixel).
    #[arg(long, default_value_t = 2)]
    supersample: usize,
    /// Seed of the episode.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

/// Renders the frames and writes the PNG.
pub fn run(args: RenderArgs) -> Result<()> {
    let mut env = Environment::new(args.task, args.seed)?;
    let policy = match &args.expert {
        Some(path) => {
            let p = lam_experts::load_expert(path)?;
            lam_experts::check_fits(
                p.as_ref(),
                path,
                args.task,
                env.observation_size(),
                env.action_size(),
            )?;
            Some(p)
        }
        None => None,
    };
    let config = RenderConfig {
        width: args.size,
        height: args.size,
        supersample: args.supersample,
        ..RenderConfig::default()
    };
    let renderer = Renderer::new(env.physics().model(), config)?;
    let mut observation = env.reset()?;
    let mut frames = Vec::new();
    for t in 0..=args.steps {
        if t == args.steps || (args.every > 0 && t % args.every == 0) {
            frames.push(renderer.render(env.physics()));
        }
        if t == args.steps {
            break;
        }
        let action = match &policy {
            Some(p) => p.act(&observation),
            None => vec![0.0; env.action_size()],
        };
        let step = env.step(&action)?;
        observation = step.observation;
        if step.done {
            observation = env.reset()?;
        }
    }
    let s = args.size;
    let mut strip = image::RgbImage::new((s * frames.len()) as u32, s as u32);
    for (i, frame) in frames.iter().enumerate() {
        for y in 0..s {
            for x in 0..s {
                let at = (y * s + x) * 3;
                strip.put_pixel(
                    (i * s + x) as u32,
                    y as u32,
                    image::Rgb([frame[at], frame[at + 1], frame[at + 2]]),
                );
            }
        }
    }
    // Write atomically: a temporary file beside the target, then rename.
    let tmp = args.out.with_extension("png.tmp");
    strip
        .save_with_format(&tmp, image::ImageFormat::Png)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out)
        .with_context(|| format!("moving {} to {}", tmp.display(), args.out.display()))?;
    println!("wrote {} frame(s) to {}", frames.len(), args.out.display());
    Ok(())
}

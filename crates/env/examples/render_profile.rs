//! Steps and renders one task in a loop, for profilers (e.g. valgrind
//! --tool=callgrind): `cargo run --release -p lam-env --example
//! render_profile -- cheetah-run 2000 [supersample] [size] [preset]`;
//! `LAM_SHADE_EDGE_SAMPLES=1` shades every edge sample in full;
//! `LAM_NO_SHADOWS=1` and `LAM_NO_REFLECTIONS=1` turn those off.

use std::sync::Arc;
use std::time::Instant;

use lam_env::distractors::{DistractionConfig, Preset};
use lam_env::render::{RenderConfig, Renderer};
use lam_env::{Environment, PixelEnv, TaskId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let task: TaskId = args.get(1).map_or("cheetah-run", |s| s).parse()?;
    let frames: usize = args.get(2).map_or(Ok(2000), |s| s.parse())?;
    let supersample: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let size: usize = args.get(4).map_or(Ok(64), |s| s.parse())?;
    let preset: Preset = args.get(5).map_or("vanilla", |s| s).parse()?;
    let config = RenderConfig {
        width: size,
        height: size,
        supersample,
        shade_edge_samples: std::env::var_os("LAM_SHADE_EDGE_SAMPLES").is_some(),
        shadows: std::env::var_os("LAM_NO_SHADOWS").is_none(),
        reflections: std::env::var_os("LAM_NO_REFLECTIONS").is_none(),
        ..RenderConfig::default()
    };
    let probe = Environment::new(task, 0)?;
    let renderer = Arc::new(Renderer::new(probe.physics().model(), config)?);
    let distractions = DistractionConfig {
        preset,
        ..DistractionConfig::default()
    };
    let library = distractions.library(size, size)?;
    let mut env = PixelEnv::new(task, 0, renderer, &distractions, library)?;
    env.reset()?;
    let nu = probe.action_size();
    let action =
        |t: usize| -> Vec<f64> { (0..nu).map(|i| ((t + 3 * i) as f64 * 0.1).sin()).collect() };
    // Best of five batches: this machine's timings are noisy.
    let mut best = f64::INFINITY;
    let mut t = 0;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..frames / 5 {
            if env.step(&action(t))?.done {
                env.reset()?;
            }
            t += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() * 5.0);
    }
    println!(
        "{task} {preset}: {:.1} us/frame, {:.0} frames/s (step + render)",
        1e6 * best / frames as f64,
        frames as f64 / best
    );
    Ok(())
}

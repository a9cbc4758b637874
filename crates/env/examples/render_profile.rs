//! Renders one task's frames in a loop, for profilers: `cargo run --release
//! -p lam-env --example render_profile -- cheetah-run 2000 [supersample]`.

use std::time::Instant;

use lam_env::render::{RenderConfig, Renderer, View};
use lam_env::{Environment, TaskId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let task: TaskId = args.get(1).map_or("cheetah-run", |s| s).parse()?;
    let frames: usize = args.get(2).map_or(Ok(2000), |s| s.parse())?;
    let supersample: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let mut env = Environment::new(task, 0)?;
    env.reset()?;
    for _ in 0..50 {
        env.step(&vec![0.3; env.action_size()])?;
    }
    let size: usize = args.get(4).map_or(Ok(64), |s| s.parse())?;
    let config = RenderConfig {
        width: size,
        height: size,
        supersample,
        ..RenderConfig::default()
    };
    let renderer = Renderer::new(env.physics().model(), config)?;
    let mut out = vec![0u8; size * size * 3];
    // Best of five batches: this machine's timings are noisy.
    let mut s = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..frames / 5 {
            renderer.render_into(env.physics(), &View::default(), &mut out);
        }
        s = s.min(start.elapsed().as_secs_f64() * 5.0);
    }
    println!(
        "{task}: {:.1} us/frame, {:.0} frames/s (render only)",
        1e6 * s / frames as f64,
        frames as f64 / s
    );
    Ok(())
}

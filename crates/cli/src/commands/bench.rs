//! `lam bench ...`: benchmarks that print figures next to their references.

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Subcommand};
use lam_env::{Environment, TaskId};

/// Benchmark subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Physics steps/s per task on one thread, next to Debian's C loop (TASKS.md).
    Physics(PhysicsArgs),
}

/// Arguments of `lam bench physics`.
#[derive(Debug, Args)]
pub struct PhysicsArgs {
    /// Seconds of stepping per task and measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Only these tasks (default: all four).
    #[arg(long, value_delimiter = ',')]
    tasks: Vec<TaskId>,
}

/// Runs a benchmark subcommand.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Physics(args) => physics(args),
    }
}

/// Single-thread `mj_step` rates of Debian's MuJoCo 2.2.2 measured from C on
/// this machine (../shared/docs/TASKS.md: ~100-120k for the planar tasks, ~27k humanoid).
fn c_loop_reference(task: TaskId) -> (f64, f64) {
    match task {
        TaskId::HumanoidWalk => (27_000.0, 27_000.0),
        _ => (100_000.0, 120_000.0),
    }
}

fn physics(args: PhysicsArgs) -> Result<()> {
    let tasks = if args.tasks.is_empty() {
        TaskId::ALL.to_vec()
    } else {
        args.tasks.clone()
    };
    let budget = Duration::from_secs_f64(args.seconds.max(0.1));
    println!("physics steps/s, single thread ({:.1} s per figure)", budget.as_secs_f64());
    for task in tasks {
        let (raw, env_rate) = measure(task, budget)?;
        let (lo, hi) = c_loop_reference(task);
        let reference = if lo == hi {
            format!("{:.0}k", lo / 1e3)
        } else {
            format!("{:.0}-{:.0}k", lo / 1e3, hi / 1e3)
        };
        println!(
            "{:<14} mj_step loop {:>7.1}k/s ({:>3.0}% of C low end {reference}/s) | env.step {:>7.1}k physics steps/s ({:>3.0}%)",
            task.name(),
            raw / 1e3,
            100.0 * raw / lo,
            env_rate / 1e3,
            100.0 * env_rate / lo,
        );
    }
    Ok(())
}

/// Returns (raw mj_step rate, physics-step rate through `Environment::step`).
fn measure(task: TaskId, budget: Duration) -> Result<(f64, f64)> {
    let mut env = Environment::new(task, 0)?;
    let nu = env.action_size();
    // A deterministic, varied action sequence keeps the model moving.
    let action = |t: usize| -> Vec<f64> {
        (0..nu).map(|i| ((t * 13 + i * 7) as f64 * 0.1).sin()).collect()
    };

    // 1. The raw loop: mj_step with fixed controls, resetting every 1000 steps.
    env.reset()?;
    let physics = env.physics_mut();
    physics.set_ctrl(&action(1))?;
    let mut stepping = Duration::ZERO;
    let mut steps = 0usize;
    while stepping < budget {
        let start = Instant::now();
        for _ in 0..1000 {
            physics.step();
        }
        stepping += start.elapsed();
        steps += 1000;
        physics.reset();
        physics.set_ctrl(&action(steps))?;
    }
    let raw = steps as f64 / stepping.as_secs_f64();

    // 2. Full control steps: clipping, ordering, observation and reward.
    // Resets (cheetah settles for 200 steps) are not timed.
    let substeps = env.physics_steps_per_action();
    env.reset()?;
    let mut stepping = Duration::ZERO;
    let mut control_steps = 0usize;
    while stepping < budget {
        let start = Instant::now();
        let mut done = false;
        while !done && start.elapsed() < budget {
            done = env.step(&action(control_steps))?.done;
            control_steps += 1;
        }
        stepping += start.elapsed();
        if done {
            env.reset()?;
        }
    }
    let env_rate = (control_steps * substeps) as f64 / stepping.as_secs_f64();
    Ok((raw, env_rate))
}

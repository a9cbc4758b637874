//! `lam bench sac`: SAC updates/s of lam-rl beside the same update written
//! in PyTorch (`benches/sac_step.py`) on this machine, and environment
//! steps/s of the task, at the sizes `lam expert train` uses.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use lam_env::{Environment, TaskId};
use lam_rl::replay::ReplayBuffer;
use lam_rl::sac::{Sac, SacConfig};
use rand::{Rng, SeedableRng};
use tch::Device;

use super::python::PythonSide;

/// Arguments of `lam bench sac`.
#[derive(Debug, Args)]
pub struct SacBenchArgs {
    /// Task whose observation and action sizes are used.
    #[arg(long, default_value = "cheetah-run")]
    task: TaskId,
    /// Transitions per update.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Hidden width.
    #[arg(long, default_value_t = 256)]
    hidden: i64,
    /// Timed updates.
    #[arg(long, default_value_t = 200)]
    updates: usize,
    #[command(flatten)]
    torch: PythonSide,
}

#[derive(serde::Deserialize)]
struct Torch {
    torch: String,
    updates_per_s: f64,
    parameters: i64,
}

/// Runs `lam bench sac`.
pub fn run(args: SacBenchArgs) -> Result<()> {
    let mut env = Environment::new(args.task, 0)?;
    let (s, a) = (env.observation_size(), env.action_size());
    let config = SacConfig {
        hidden: args.hidden,
        ..SacConfig::default()
    };
    let mut agent = Sac::new(s as i64, a as i64, config.clone(), 0, Device::Cpu);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut buffer = ReplayBuffer::new(s, a, args.batch);
    for _ in 0..args.batch {
        let o: Vec<f64> = (0..s).map(|_| rng.random_range(-1.0..1.0)).collect();
        let act: Vec<f64> = (0..a).map(|_| rng.random_range(-1.0..1.0)).collect();
        buffer.push(&o, &act, rng.random_range(0.0..1.0), &o, false);
    }
    let batch = buffer.sample(args.batch, &mut rng, Device::Cpu);
    for _ in 0..20 {
        agent.update(&batch);
    }
    let start = Instant::now();
    for _ in 0..args.updates {
        agent.update(&batch);
    }
    let ours = args.updates as f64 / start.elapsed().as_secs_f64();
    let params: i64 = [&agent.actor_vs, &agent.critic_vs, &agent.alpha_vs]
        .iter()
        .map(|vs| {
            vs.trainable_variables()
                .iter()
                .map(|t| t.numel() as i64)
                .sum::<i64>()
        })
        .sum();
    // Environment steps/s with random actions.
    env.reset()?;
    let start = Instant::now();
    let mut steps = 0;
    while start.elapsed().as_secs_f64() < 2.0 {
        let act: Vec<f64> = (0..a).map(|_| rng.random_range(-1.0..1.0)).collect();
        if env.step(&act)?.done {
            env.reset()?;
        }
        steps += 1;
    }
    let env_rate = steps as f64 / start.elapsed().as_secs_f64();
    println!(
        "lam bench sac: {} (observations {s}, actions {a}), batch {}, width {} x {}, {} threads",
        args.task,
        args.batch,
        config.hidden,
        config.layers,
        tch::get_num_threads()
    );
    println!("{:<28} {:>12}", "lam-rl updates/s", format!("{ours:.0}"));
    if args.torch.enabled() {
        let flags = [
            ("--obs", s as i64),
            ("--actions", a as i64),
            ("--hidden", config.hidden),
            ("--layers", config.layers as i64),
            ("--batch", args.batch as i64),
            ("--updates", args.updates as i64),
            ("--warmup", 20),
            ("--threads", tch::get_num_threads() as i64),
        ];
        match args.torch.run::<Torch>("sac_step.py", &flags, &[], "") {
            Ok(t) => {
                println!(
                    "{:<28} {:>12}   (PyTorch {}; lam / PyTorch = {:.2}x)",
                    "PyTorch updates/s",
                    format!("{:.0}", t.updates_per_s),
                    t.torch,
                    ours / t.updates_per_s
                );
                if t.parameters != params {
                    println!(
                        "warning: parameter counts differ: PyTorch {}, lam {params}",
                        t.parameters
                    );
                }
            }
            Err(e) => {
                println!("PyTorch side unavailable: {e:#} (scripts/setup-bench.sh installs torch)")
            }
        }
    }
    println!(
        "{:<28} {:>12}   (one thread, random actions)",
        "environment steps/s",
        format!("{env_rate:.0}")
    );
    Ok(())
}

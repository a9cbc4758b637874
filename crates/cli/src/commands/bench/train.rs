//! `lam bench train`: samples/s per preset of what users run — the whole
//! `lam train` loop on real dataset files (loader, augmentation, labeled
//! batch, probes, metrics, held-out evaluation, checkpoint) — beside one
//! training step on synthetic batches and the same step written in PyTorch
//! (`benches/train_step.py`), in one run on one machine, with the ratios.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_models::batch::{DataShape, TrainBatch};
use lam_models::config::{Precision, PresetSize, RunConfig, PRESETS};
use lam_models::toolkit::cpu::CpuFeatures;
use lam_train::run::{train, RunData, RunDir, RunEvent};
use lam_train::trainer::Trainer;
use tch::{Device, Kind, Tensor};

use super::python::PythonSide;

/// Arguments of `lam bench train`.
#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// Presets to time (default: every -mini preset that needs no teacher,
    /// and the official-tiny presets).
    #[arg(long, value_delimiter = ',')]
    presets: Vec<String>,
    /// Samples per batch (default: each preset's own).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Timed synthetic steps per measurement.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Untimed synthetic steps first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Steps of the end-to-end `lam train` run per preset (a held-out
    /// evaluation and a checkpoint come at its end, as in every run).
    #[arg(long, default_value_t = 250)]
    e2e_steps: usize,
    /// Skip the end-to-end runs.
    #[arg(long)]
    no_e2e: bool,
    /// Training file for the end-to-end runs (default: 8 x 1000 steps of
    /// cheetah-run under scale_easy_video_hard, collected once with the
    /// shipped expert into `--data-dir`).
    #[arg(long, requires = "eval_data")]
    data: Option<PathBuf>,
    /// Labeled file for LAOM + supervision (default: 4 trajectories of the training file).
    #[arg(long, requires = "data")]
    labeled: Option<PathBuf>,
    /// Held-out file for the evaluations.
    #[arg(long = "eval-data", requires = "data")]
    eval_data: Option<PathBuf>,
    /// Where the default files are collected (once) and the runs written.
    #[arg(long, default_value = "runs/bench-train")]
    data_dir: PathBuf,
    /// Image side of the synthetic batches (the data files set their own).
    #[arg(long, default_value_t = 64)]
    image: i64,
    #[command(flatten)]
    torch: PythonSide,
    /// Skip the bf16 measurements (synthetic and PyTorch).
    #[arg(long)]
    no_bf16: bool,
}

/// Cheetah-run sizes: 6 actions, 17 state values.
const ACTIONS: i64 = 6;
const STATES: i64 = 17;

/// Random frames through the same conversion as training batches (uint8
/// `[B, H, W, C]` → float `[B, C, H, W]` with channels-last strides).
fn synthetic(n: i64, image: i64, device: Device) -> TrainBatch {
    let frames = || {
        let raw = Tensor::randint(256, [n, image, image, 9], (Kind::Uint8, device));
        lam_models::toolkit::encoder::to_input(&raw)
    };
    TrainBatch {
        obs: frames(),
        next: frames(),
        future: frames(),
        actions: Tensor::randn([n, ACTIONS], (Kind::Float, device)),
        states: Tensor::randn([n, STATES], (Kind::Float, device)),
        masks: None,
    }
}

/// Samples/s of our trainer's step on `config`, and its parameter count.
fn rust_rate(config: &RunConfig, args: &TrainBenchArgs, device: Device) -> Result<(f64, i64)> {
    let shape = DataShape {
        image: args.image,
        action_dim: ACTIONS,
        state_dim: STATES,
    };
    let mut t = Trainer::new(config, shape, device, None)?;
    let n = config.train.batch_size as i64;
    let batch = synthetic(n, args.image, device);
    let labeled = synthetic(
        config.train.labeled_batch_size.max(1) as i64,
        args.image,
        device,
    );
    for _ in 0..args.warmup {
        t.step(&batch, Some(&labeled));
    }
    let start = Instant::now();
    for _ in 0..args.steps {
        t.step(&batch, Some(&labeled));
    }
    let rate = (n as usize * args.steps) as f64 / start.elapsed().as_secs_f64();
    Ok((rate, t.parameter_count()))
}

/// The files of the end-to-end runs.
struct BenchData {
    train: PathBuf,
    labeled: PathBuf,
    eval: PathBuf,
}

/// The files given, or the default ones (collected on first use).
fn bench_data(args: &TrainBenchArgs) -> Result<BenchData> {
    if let (Some(train), Some(eval)) = (&args.data, &args.eval_data) {
        return Ok(BenchData {
            train: train.clone(),
            labeled: args.labeled.clone().unwrap_or_else(|| train.clone()),
            eval: eval.clone(),
        });
    }
    let dir = args.data_dir.join("data");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let d = BenchData {
        train: dir.join("cheetah-run-sevh-8x1000.hdf5"),
        labeled: dir.join("cheetah-run-sevh-labeled-4.hdf5"),
        eval: dir.join("cheetah-run-sevh-val-2x1000.hdf5"),
    };
    let lam = std::env::current_exe().context("finding the lam binary")?;
    let experts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../experts");
    let expert = lam_experts::expert_checkpoint(&experts, lam_env::TaskId::CheetahRun);
    let run = |what: &str, cmd: &mut Command| -> Result<()> {
        eprintln!("bench train: {what}");
        let status = cmd.stdin(Stdio::null()).status()?;
        if !status.success() {
            bail!("{what} failed ({status})");
        }
        Ok(())
    };
    for (file, n, seed, split) in [(&d.train, "8", "0", "train"), (&d.eval, "2", "1000", "val")] {
        if !file.exists() {
            run(
                &format!("collecting {}", file.display()),
                Command::new(&lam)
                    .args([
                        "collect",
                        "--task",
                        "cheetah-run",
                        "--preset",
                        "scale_easy_video_hard",
                        "--trajectories",
                        n,
                        "--seed",
                        seed,
                        "--split",
                        split,
                        "--expert",
                    ])
                    .arg(&expert)
                    .arg("--out")
                    .arg(file),
            )?;
        }
    }
    if !d.labeled.exists() {
        run(
            &format!("sampling {}", d.labeled.display()),
            Command::new(&lam)
                .args(["data", "sample-labeled"])
                .arg(&d.train)
                .args(["--trajectories", "4", "--out"])
                .arg(&d.labeled),
        )?;
    }
    Ok(d)
}

/// Samples/s of one end-to-end `lam train` run of `steps` steps, over its
/// training loop (from the first step to the end, held-out evaluation and
/// checkpoint included).
fn e2e_rate(
    config: &RunConfig,
    steps: usize,
    data: &BenchData,
    dir: &Path,
    device: Device,
) -> Result<f64> {
    let mut c = config.clone();
    c.train.steps = steps;
    c.train.warmup_steps = c.train.warmup_steps.min(steps);
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let run_data = RunData {
        data: data.train.clone(),
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: c.needs_labels().then(|| data.labeled.clone()),
        eval: Some(data.eval.clone()),
        teacher: None,
    };
    let mut loop_start = None;
    train(&RunDir::new(dir), Some(&c), &run_data, device, None, |e| {
        if let RunEvent::Started { .. } = e {
            loop_start = Some(Instant::now());
        }
    })
    .with_context(|| format!("end-to-end run in {}", dir.display()))?;
    let first = loop_start.context("the run never started")?;
    let samples = (steps * c.train.batch_size) as f64;
    Ok(samples / first.elapsed().as_secs_f64())
}

/// What the PyTorch twin reports.
#[derive(Debug, serde::Deserialize)]
struct TorchFigures {
    torch: String,
    f32: f64,
    bf16: Option<f64>,
    parameters: i64,
}

fn torch_rate(config: &RunConfig, args: &TrainBenchArgs) -> Result<TorchFigures> {
    let flags = [
        ("--image", args.image),
        ("--actions", ACTIONS),
        ("--states", STATES),
        ("--batch", config.train.batch_size as i64),
        ("--steps", args.steps as i64),
        ("--warmup", args.warmup as i64),
        ("--threads", tch::get_num_threads() as i64),
    ];
    let extra: &[&str] = if args.no_bf16 { &[] } else { &["--bf16"] };
    args.torch.run(
        "train_step.py",
        &flags,
        extra,
        &serde_json::to_string(config)?,
    )
}

/// The default presets: every -mini preset that trains on its own, then
/// the official tiny configuration.
fn default_presets() -> Vec<String> {
    let mini = PRESETS
        .iter()
        .filter(|p| p.size() == PresetSize::Mini && !p.config().method.needs_teacher());
    let fixed = PRESETS.iter().filter(|p| p.size() == PresetSize::Fixed);
    mini.chain(fixed).map(|p| p.name.to_string()).collect()
}

/// Runs `lam bench train`.
pub fn run(args: TrainBenchArgs) -> Result<()> {
    let presets = if args.presets.is_empty() {
        default_presets()
    } else {
        args.presets.clone()
    };
    let device = lam_models::toolkit::device::best_device();
    let cpu = CpuFeatures::detect();
    println!("{}", cpu.describe());
    println!(
        "lam bench train ({})",
        lam_models::toolkit::device::describe()
    );
    let data = if args.no_e2e {
        None
    } else {
        Some(bench_data(&args)?)
    };
    println!(
        "synthetic: {} timed steps after {} on random {side}x{side} batches; e2e: `lam train` for {} steps on {} (held-out {}), evaluation and checkpoint included; samples/s (higher is better)",
        args.steps,
        args.warmup,
        args.e2e_steps,
        data.as_ref().map_or("-".into(), |d| d.train.display().to_string()),
        data.as_ref().map_or("-".into(), |d| d.eval.display().to_string()),
        side = args.image,
    );
    println!(
        "{:<26} {:>5} {:>9} {:>5} {:>8} {:>8} {:>8} {:>7} {:>9} {:>10} {:>9}",
        "preset",
        "batch",
        "params",
        "prec",
        "syn f32",
        "syn bf16",
        "e2e",
        "e2e/syn",
        "torch f32",
        "torch bf16",
        "e2e/torch"
    );
    let mut torch_version = None;
    for name in &presets {
        let mut config = RunConfig::preset(name).with_context(|| format!("no preset {name:?}"))?;
        if let Some(b) = args.batch_size {
            config.train.batch_size = b;
        }
        if config.method.needs_teacher() {
            bail!("{name}: trains on top of another run; bench train times methods that train on their own");
        }
        let bf16 = config.train.precision.uses_bf16(device);
        let mut f32c = config.clone();
        f32c.train.precision = Precision::F32;
        let (syn_f32, params) = rust_rate(&f32c, &args, device)?;
        let syn_bf16 = if args.no_bf16 {
            None
        } else {
            let mut c = config.clone();
            c.train.precision = Precision::Bf16;
            Some(rust_rate(&c, &args, device)?.0)
        };
        let e2e_rate = match &data {
            Some(d) => Some(e2e_rate(
                &config,
                args.e2e_steps,
                d,
                &args.data_dir.join("runs").join(name),
                device,
            )?),
            None => None,
        };
        let torch = if !args.torch.enabled() || device != Device::Cpu {
            None
        } else {
            match torch_rate(&config, &args) {
                Ok(t) => Some(t),
                Err(e) => {
                    println!("  (PyTorch side unavailable: {e:#}; scripts/setup-bench.sh installs torch)");
                    None
                }
            }
        };
        let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}x", a / b),
            _ => "-".into(),
        };
        let (t32, t16) = (
            torch.as_ref().map(|t| t.f32),
            torch.as_ref().and_then(|t| t.bf16),
        );
        let torch_best = match (t32, t16) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let syn_used = if bf16 { syn_bf16 } else { Some(syn_f32) };
        println!(
            "{:<26} {:>5} {:>9} {:>5} {:>8} {:>8} {:>8} {:>7} {:>9} {:>10} {:>9}",
            name,
            config.train.batch_size,
            params,
            if bf16 { "bf16" } else { "f32" },
            format!("{syn_f32:.0}"),
            fmt(syn_bf16),
            fmt(e2e_rate),
            ratio(e2e_rate, syn_used),
            fmt(t32),
            fmt(t16),
            ratio(e2e_rate, torch_best),
        );
        if let Some(t) = &torch {
            if t.parameters != params {
                println!("  warning: the PyTorch twin has {} parameters, lam {params}: the models differ", t.parameters);
            }
            torch_version = Some(t.torch.clone());
        }
    }
    println!("prec: the precision lam chose (precision = \"auto\": bf16 only where the CPU computes it natively); e2e/syn: end to end over the synthetic step at that precision; e2e/torch: over PyTorch's better precision");
    if let Some(v) = torch_version {
        println!("PyTorch {v} (benches/train_step.py), same threads, same step on the same synthetic batches");
    }
    Ok(())
}

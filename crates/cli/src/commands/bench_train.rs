//! `lam bench train`: samples/s of one training step per preset, beside the
//! same model and step written in PyTorch (`benches/train_step.py`) and
//! run on the same machine in the same benchmark, in f32 and bf16 autocast.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_models::config::{Precision, RunConfig};
use lam_models::train::{DataShape, TrainBatch, Trainer};
use tch::{Device, Kind, Tensor};

/// Where the PyTorch twin of a benchmark runs (shared by `lam bench train`
/// and `lam bench sac`).
#[derive(Debug, Args)]
pub struct PythonSide {
    /// Python interpreter for the PyTorch side.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Folder holding the torch package (added to PYTHONPATH if present;
    /// `scripts/setup-bench.sh` installs it there).
    #[arg(long, default_value = ".deps/python-torch")]
    torch_path: PathBuf,
    /// Skip the PyTorch side.
    #[arg(long)]
    no_python: bool,
}

impl PythonSide {
    /// Whether the PyTorch side is wanted.
    pub fn enabled(&self) -> bool {
        !self.no_python
    }

    /// Runs `benches/SCRIPT` with the `--name value` pairs `flags` (plus
    /// `extra`), feeding `stdin`; parses its one-line JSON answer.
    pub fn run<T: serde::de::DeserializeOwned>(
        &self,
        script: &str,
        flags: &[(&str, i64)],
        extra: &[&str],
        stdin: &str,
    ) -> Result<T> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../benches")
            .join(script);
        let mut cmd = Command::new(&self.python);
        cmd.arg(&script);
        for (name, v) in flags {
            cmd.arg(name).arg(v.to_string());
        }
        cmd.args(extra);
        if self.torch_path.is_dir() {
            let mut path = self.torch_path.as_os_str().to_owned();
            if let Some(old) = std::env::var_os("PYTHONPATH") {
                path.push(":");
                path.push(old);
            }
            cmd.env("PYTHONPATH", path);
        }
        let python = &self.python;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {python}"))?;
        child
            .stdin
            .take()
            .context("python stdin")?
            .write_all(stdin.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("").to_string();
            bail!("{python} {}: {last}", script.display());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(text.trim())
            .with_context(|| format!("reading the script's output {text:?}"))
    }
}

/// Arguments of `lam bench train`.
#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// Presets to time (default: every -mini preset).
    #[arg(long, value_delimiter = ',')]
    presets: Vec<String>,
    /// Samples per batch (default: each preset's own).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Timed steps per measurement.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Image side of the synthetic batches.
    #[arg(long, default_value_t = 64)]
    image: i64,
    #[command(flatten)]
    torch: PythonSide,
    /// Skip the bf16 measurements.
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
        lam_models::encoder::to_input(&raw)
    };
    TrainBatch {
        obs: frames(),
        next: frames(),
        future: frames(),
        actions: Tensor::randn([n, ACTIONS], (Kind::Float, device)),
        states: Tensor::randn([n, STATES], (Kind::Float, device)),
    }
}

/// Samples/s of our trainer on `config`, and its parameter count.
fn rust_rate(config: &RunConfig, args: &TrainBenchArgs, device: Device) -> Result<(f64, i64)> {
    let shape = DataShape {
        image: args.image,
        action_dim: ACTIONS,
        state_dim: STATES,
    };
    let mut t = Trainer::new(config, shape, device, None).map_err(anyhow::Error::msg)?;
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

/// Runs `lam bench train`.
pub fn run(args: TrainBenchArgs) -> Result<()> {
    let presets: Vec<String> = if args.presets.is_empty() {
        RunConfig::preset_names()
            .into_iter()
            .filter(|n| n.ends_with("-mini"))
            .collect()
    } else {
        args.presets.clone()
    };
    let device = lam_models::device::best_device();
    println!(
        "lam bench train: one training step on synthetic {0}x{0} batches ({1})",
        args.image,
        lam_models::device::describe()
    );
    println!(
        "{} timed steps after {} warm-up steps; samples/s (higher is better)",
        args.steps, args.warmup
    );
    println!(
        "{:<22} {:>6} {:>10} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7}",
        "preset",
        "batch",
        "params",
        "lam f32",
        "torch f32",
        "ratio",
        "lam bf16",
        "torch bf16",
        "ratio"
    );
    let mut torch_version = None;
    for name in &presets {
        let mut config = RunConfig::preset(name).with_context(|| format!("no preset {name:?}"))?;
        if let Some(b) = args.batch_size {
            config.train.batch_size = b;
        }
        config.train.precision = Precision::F32;
        let (lam_f32, params) = rust_rate(&config, &args, device)?;
        let lam_bf16 = if args.no_bf16 {
            None
        } else {
            let mut c = config.clone();
            c.train.precision = Precision::Bf16;
            Some(rust_rate(&c, &args, device)?.0)
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
        println!(
            "{:<22} {:>6} {:>10} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7}",
            name,
            config.train.batch_size,
            params,
            format!("{lam_f32:.0}"),
            fmt(t32),
            ratio(Some(lam_f32), t32),
            fmt(lam_bf16),
            fmt(t16),
            ratio(lam_bf16, t16)
        );
        if let Some(t) = &torch {
            if t.parameters != params {
                println!("  warning: the PyTorch twin has {} parameters, lam {params}: the models differ", t.parameters);
            }
            torch_version = Some(t.torch.clone());
        }
    }
    if let Some(v) = torch_version {
        println!("PyTorch {v} (benches/train_step.py), same threads; ratio = lam / PyTorch");
    }
    Ok(())
}

//! `lam probe`: fit fresh linear probes on a frozen trained model over one
//! file and report their MSE on another (held-out) file: latent action →
//! true action, observation embedding → proprioceptive state (METHOD.md §5).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_data::loader::{Loader, LoaderConfig};
use lam_data::DatasetReader;
use lam_models::probe::LinearFit;
use lam_models::run::RunDir;
use lam_models::train::{TrainBatch, Trainer};
use tch::{Kind, Tensor};

use crate::args::DeviceArg;
use crate::progress;

/// Arguments of `lam probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// A run folder from `lam train` (its checkpoint is used).
    #[arg(long)]
    run: PathBuf,
    /// File the probes are fitted on.
    #[arg(long)]
    data: PathBuf,
    /// Held-out file the probes are scored on (default: the fitting file).
    #[arg(long = "eval-data")]
    eval_data: Option<PathBuf>,
    /// Samples drawn from each file.
    #[arg(long, default_value_t = 8192)]
    samples: usize,
    /// Ridge strength, relative to the mean feature variance.
    #[arg(long, default_value_t = 1e-3)]
    ridge: f64,
    /// Seed of the sample draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Largest future offset K of the probed pairs (o_t, o_{t+k}), k
    /// uniform in 1..=K (default: the run's own train.max_offset).
    #[arg(long)]
    max_offset: Option<usize>,
    /// Where to run the model.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Write the results as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One probe's held-out score.
#[derive(Debug, serde::Serialize)]
struct Score {
    mse: f64,
    /// MSE of predicting the held-out mean.
    variance: f64,
    r2: f64,
}

impl Score {
    fn new(mse: f64, y: &Tensor) -> Self {
        let variance = variance(y);
        Self {
            mse,
            variance,
            r2: 1.0 - mse / variance.max(1e-12),
        }
    }
}

/// What `lam probe --out` writes.
#[derive(Debug, serde::Serialize)]
struct ProbeResult {
    run: PathBuf,
    method: String,
    step: usize,
    max_offset: usize,
    samples: usize,
    ridge: f64,
    fitted_on: PathBuf,
    scored_on: PathBuf,
    /// Latent action -> true action (LAMs).
    latent_action: Option<Score>,
    /// The model's own action output (IDM, BC).
    own_action: Option<Score>,
    /// Observation embedding -> proprioceptive state.
    embedding_state: Score,
}

/// Features and targets of one file.
struct Features {
    latent: Option<Tensor>,
    embedding: Tensor,
    actions: Tensor,
    states: Tensor,
    /// For IDM / BC: the model's own action predictions.
    predicted: Option<Tensor>,
}

fn features(
    t: &Trainer,
    file: &Path,
    samples: usize,
    seed: u64,
    max_offset: usize,
) -> Result<Features> {
    let batch_size = 256.min(samples.max(1));
    let config = LoaderConfig {
        batch_size,
        max_offset,
        seed,
        ..LoaderConfig::default()
    };
    let mut loader = Loader::open(file, config)?;
    let (s, a) = loader.sizes();
    if (a as i64, s as i64) != (t.shape.action_dim, t.shape.state_dim) {
        bail!(
            "{}: actions of {a} and states of {s} values, but the model was trained on {} and {}",
            file.display(),
            t.shape.action_dim,
            t.shape.state_dim
        );
    }
    let frame = loader.frame();
    if frame.0 as i64 != t.shape.image || frame.1 as i64 != t.shape.image {
        bail!(
            "{}: frames are {}x{}, the model takes {}x{}",
            file.display(),
            frame.0,
            frame.1,
            t.shape.image,
            t.shape.image
        );
    }
    let device = t.vs.device();
    let batches = samples.div_ceil(batch_size);
    let bar = progress::bar(batches as u64, "batches");
    bar.set_message(format!("features of {}", file.display()));
    let (mut lat, mut emb, mut act, mut st, mut pred) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..batches {
        let b = TrainBatch::from_loader(&loader.next_batch()?, frame, device);
        tch::no_grad(|| {
            if let Some(l) = t.model.latent(&b.obs, &b.future) {
                lat.push(l.to_kind(Kind::Float).to_device(tch::Device::Cpu));
            }
            if let Some(p) = t.model.actions(&b.obs, &b.next) {
                pred.push(p.to_device(tch::Device::Cpu));
            }
            emb.push(t.model.embed(&b.obs).to_device(tch::Device::Cpu));
        });
        act.push(b.actions.to_device(tch::Device::Cpu));
        st.push(b.states.to_device(tch::Device::Cpu));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let cat =
        |v: Vec<Tensor>| (!v.is_empty()).then(|| Tensor::cat(&v, 0).narrow(0, 0, samples as i64));
    Ok(Features {
        latent: cat(lat),
        embedding: cat(emb).context("no batches")?,
        actions: cat(act).context("no batches")?,
        states: cat(st).context("no batches")?,
        predicted: cat(pred),
    })
}

/// Variance of `y` around its mean (the MSE of always predicting the mean).
fn variance(y: &Tensor) -> f64 {
    let y = y.to_kind(Kind::Double);
    (&y - y.mean_dim(0, true, Kind::Double))
        .square()
        .mean(Kind::Double)
        .double_value(&[])
}

/// Runs `lam probe`.
pub fn run(args: ProbeArgs) -> Result<()> {
    let dir = RunDir::new(&args.run);
    let device = args.device.device()?;
    let (trainer, _) = Trainer::load(&dir.checkpoint(), device).with_context(|| {
        format!(
            "{}: no trained model here (run `lam train` first)",
            args.run.display()
        )
    })?;
    if args.samples < 2 {
        bail!("--samples must be at least 2");
    }
    if !(args.ridge.is_finite() && args.ridge >= 0.0) {
        bail!(
            "--ridge {}: expected a finite strength of 0 or more",
            args.ridge
        );
    }
    let eval_file = args.eval_data.clone().unwrap_or_else(|| args.data.clone());
    let k = args.max_offset.unwrap_or(trainer.config.train.max_offset);
    if k == 0 {
        bail!("--max-offset must be at least 1");
    }
    let fit = features(&trainer, &args.data, args.samples, args.seed, k)?;
    let held = features(&trainer, &eval_file, args.samples, args.seed ^ 0xE7A1, k)?;
    println!(
        "{:?} model at step {} from {}; pairs (o_t, o_t+k) with k uniform in 1..={k}",
        trainer.config.method,
        trainer.steps(),
        dir.checkpoint().display()
    );
    println!(
        "fitted on {} ({} samples), scored on {}",
        args.data.display(),
        args.samples,
        eval_file.display()
    );
    if let Ok(range) = DatasetReader::open(&eval_file).and_then(|r| r.action_range(20)) {
        println!("{range}");
    }
    println!(
        "{:<28} {:>12} {:>14} {:>8}",
        "probe", "MSE", "variance", "R^2"
    );
    let row = |name: &str, s: &Score| {
        println!(
            "{name:<28} {:>12.4} {:>14.4} {:>8.3}",
            s.mse, s.variance, s.r2
        );
    };
    let latent_action = match (&fit.latent, &held.latent) {
        (Some(x), Some(xe)) => {
            let probe = LinearFit::fit(x, &fit.actions, args.ridge);
            Some(Score::new(probe.mse(xe, &held.actions), &held.actions))
        }
        _ => None,
    };
    let own_action = held.predicted.as_ref().map(|p| {
        let mse = (p.to_kind(Kind::Double) - held.actions.to_kind(Kind::Double))
            .square()
            .mean(Kind::Double)
            .double_value(&[]);
        Score::new(mse, &held.actions)
    });
    let probe = LinearFit::fit(&fit.embedding, &fit.states, args.ridge);
    let embedding_state = Score::new(probe.mse(&held.embedding, &held.states), &held.states);
    if let Some(s) = &latent_action {
        row("latent action -> action", s);
    }
    if let Some(s) = &own_action {
        row("model's own action output", s);
    }
    row("embedding -> state", &embedding_state);
    if let Some(out) = &args.out {
        let result = ProbeResult {
            run: args.run.clone(),
            method: format!("{:?}", trainer.config.method).to_lowercase(),
            step: trainer.steps(),
            max_offset: k,
            samples: args.samples,
            ridge: args.ridge,
            fitted_on: args.data.clone(),
            scored_on: eval_file.clone(),
            latent_action,
            own_action,
            embedding_state,
        };
        lam_data::atomic::write_bytes_atomic(
            out,
            serde_json::to_string_pretty(&result)?.as_bytes(),
        )
        .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

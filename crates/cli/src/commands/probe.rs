//! `lam probe`: parses the arguments, fits fresh linear probes on a frozen
//! trained model over one file and scores them on another, held-out file
//! ([`lam_train::probe::probe`]), and prints the table (or writes JSON);
//! with a held-out file that records ground truth, also the leakage table
//! ([`lam_train::leakage`]): what the latent encodes.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_data::DatasetReader;
use lam_models::toolkit::probe::MlpSettings;
use lam_train::leakage::{Factor, FactorScores, LeakageSpec};
use lam_train::probe::{probe, ProbeSpec, Score};
use lam_train::run::RunDir;

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
    /// Skip the leakage probes (otherwise measured when the held-out file
    /// records ground truth: `lam collect --ground-truth`).
    #[arg(long)]
    no_leakage: bool,
    /// Leakage probes: linear ones only, no MLP probe (faster).
    #[arg(long)]
    no_mlp: bool,
    /// Adam steps of each MLP leakage probe (its fixed budget).
    #[arg(long, default_value_t = MlpSettings::default().steps)]
    mlp_steps: usize,
}

/// Runs `lam probe`.
pub fn run(args: ProbeArgs) -> Result<()> {
    if args.samples < 2 {
        bail!("--samples must be at least 2");
    }
    if !(args.ridge.is_finite() && args.ridge >= 0.0) {
        bail!(
            "--ridge {}: expected a finite strength of 0 or more",
            args.ridge
        );
    }
    if args.max_offset == Some(0) {
        bail!("--max-offset must be at least 1");
    }
    if args.mlp_steps == 0 {
        bail!("--mlp-steps must be at least 1");
    }
    let leakage = (!args.no_leakage).then(|| LeakageSpec {
        mlp: (!args.no_mlp).then(|| MlpSettings {
            steps: args.mlp_steps,
            seed: args.seed,
            ..MlpSettings::default()
        }),
    });
    let spec = ProbeSpec {
        run: args.run.clone(),
        data: args.data.clone(),
        eval_data: args.eval_data.clone(),
        samples: args.samples,
        ridge: args.ridge,
        seed: args.seed,
        max_offset: args.max_offset,
        device: args.device.device()?,
        leakage,
    };
    let mut bar: Option<(PathBuf, indicatif::ProgressBar)> = None;
    let result = probe(&spec, &mut |file, done, total| {
        if bar.as_ref().is_none_or(|(f, _)| f != file) {
            if let Some((_, b)) = bar.take() {
                b.finish_and_clear();
            }
            let b = progress::bar(total as u64, "batches");
            b.set_message(format!("features of {}", file.display()));
            bar = Some((file.to_path_buf(), b));
        }
        if let Some((_, b)) = &bar {
            b.set_position(done as u64);
        }
    })?;
    if let Some((_, b)) = bar {
        b.finish_and_clear();
    }
    println!(
        "{:?} model at step {} from {}; pairs (o_t, o_t+k) with k uniform in 1..={}",
        result.method,
        result.step,
        RunDir::new(&args.run).checkpoint().display(),
        result.max_offset
    );
    println!(
        "fitted on {} ({} samples), scored on {}",
        result.fitted_on.display(),
        result.samples,
        result.scored_on.display()
    );
    if let Ok(range) = DatasetReader::open(&result.scored_on).and_then(|r| r.action_range(20)) {
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
    if let Some(s) = &result.latent_action {
        row("latent action -> action", s);
    }
    if let Some(s) = &result.own_action {
        row("model's own action output", s);
    }
    row("embedding -> state", &result.embedding_state);
    if let Some(l) = &result.leakage {
        println!(
            "\nwhat the features encode: held-out R^2 onto each factor ({} pairs of the held-out \
             file, cross-fitted over its even and odd trajectories; linear / MLP probe)",
            l.samples
        );
        print!("{:<28}", "");
        for f in Factor::ALL {
            print!(" {:>13}", f.name());
        }
        println!();
        if let Some(latent) = &l.latent {
            leakage_row("latent action (t, t+k)", latent);
        }
        leakage_row("embedding (t)", &l.embedding);
        println!("(n/a: the factor does not vary in this file)");
    }
    if let Some(out) = &args.out {
        lam_data::atomic::write_bytes_atomic(
            out,
            serde_json::to_string_pretty(&result)?.as_bytes(),
        )
        .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// One row of the leakage table: linear / MLP R² per factor.
fn leakage_row(name: &str, scores: &FactorScores) {
    print!("{name:<28}");
    for f in Factor::ALL {
        let cell = match scores.get(f) {
            Some(s) => match s.mlp {
                Some(m) => format!("{:.2} / {:.2}", s.linear, m),
                None => format!("{:.2}", s.linear),
            },
            None => "n/a".into(),
        };
        print!(" {cell:>13}");
    }
    println!();
}

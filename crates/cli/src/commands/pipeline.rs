//! `lam pipeline`: methods × tasks × label budgets × seeds from one TOML
//! experiment ([`lam_train::pipeline`]): typed stages cached by key and run
//! in this process; `--emit-jobs` / `--job KEY` for external schedulers,
//! `--emit slurm DIR` for Slurm.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use lam_train::pipeline::{slurm, Experiment, Pipeline, EXAMPLE, RESULTS_FORMAT};

use crate::progress::{println, Bars};

/// Arguments of `lam pipeline`.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// The experiment (TOML; `lam pipeline --example` prints one).
    #[arg(long, required_unless_present = "example")]
    config: Option<PathBuf>,
    /// Print one command per stage, in an order that respects dependencies, and exit
    /// (the same as `--emit jobs`).
    #[arg(long)]
    emit_jobs: bool,
    /// Write the stages for a scheduler and exit: `jobs` prints one command per stage
    /// (as `--emit-jobs`); `slurm DIR` writes one sbatch script per stage into DIR,
    /// chained by their dependencies, with the resources of the experiment's
    /// `[slurm]` table, and DIR/submit.sh, which submits the stages not done.
    #[arg(long, num_args = 1..=2, value_names = ["FORMAT", "DIR"])]
    emit: Vec<String>,
    /// The lam binary the Slurm jobs run (default: this one).
    #[arg(long, requires = "emit")]
    lam: Option<PathBuf>,
    /// Run only this stage (its inputs must be done): for schedulers.
    #[arg(long)]
    job: Option<String>,
    /// Print an example experiment and exit.
    #[arg(long)]
    example: bool,
    /// Plan only these arms of the experiment (repeatable; the top-level
    /// methods are the arm `main`). Stages shared with other arms are the
    /// same stages: running an arm first and the rest later reuses them.
    #[arg(long = "arm")]
    arms: Vec<String>,
    /// libtorch CPU threads for the training stages (default: all cores).
    #[arg(long)]
    threads: Option<i32>,
    /// Do not write the report (`CACHE/report/report.html`) at the end.
    #[arg(long)]
    no_report: bool,
}

/// The lam build a stage's `.done` marker names: version and commit.
fn build_id() -> String {
    format!(
        "lam {} (commit {})",
        env!("CARGO_PKG_VERSION"),
        option_env!("LAM_BUILD_COMMIT").unwrap_or("unknown")
    )
}

/// Runs `lam pipeline`.
pub fn run(mut args: PipelineArgs) -> Result<()> {
    if args.example {
        print!("{EXAMPLE}");
        return Ok(());
    }
    let file = args.config.as_ref().context("--config is required")?;
    let experiment = Experiment::read(file)?;
    let p = Pipeline::plan(&experiment, file, &args.arms, &build_id())?;
    if let Some(t) = args.threads {
        anyhow::ensure!(t >= 1, "--threads {t}: expected at least 1");
        tch::set_num_threads(t);
    }
    let slurm_dir = match args.emit.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => None,
        ["jobs"] => {
            args.emit_jobs = true;
            None
        }
        ["slurm", dir] => Some(PathBuf::from(dir)),
        ["slurm"] => {
            anyhow::bail!("--emit slurm: name the folder for the scripts (--emit slurm DIR)")
        }
        _ => anyhow::bail!(
            "--emit {}: expected `jobs` or `slurm DIR`",
            args.emit.join(" ")
        ),
    };
    if let Some(dir) = slurm_dir {
        let lam = match &args.lam {
            Some(l) => l.clone(),
            None => std::env::current_exe().context("the path of this lam binary")?,
        };
        let out = slurm::emit(&p, &experiment.slurm, file, &lam, &dir)?;
        println!(
            "wrote {} sbatch scripts and {} (logs in {})",
            out.scripts.len(),
            out.submit.display(),
            out.logs.display()
        );
        println!("submit the stages not done: bash {}", out.submit.display());
        return Ok(());
    }
    if args.emit_jobs {
        println!(
            "# {} stages for {}; run in this order (each line after the ones it names)",
            p.stages.len(),
            file.display()
        );
        for s in &p.stages {
            let after = if s.deps.is_empty() {
                String::new()
            } else {
                format!("   # after {}", s.deps.join(" "))
            };
            println!(
                "lam pipeline --config {} --job {}{after}",
                file.display(),
                s.key
            );
        }
        return Ok(());
    }
    if let Some(key) = &args.job {
        let mut bars = Bars::default();
        let s = p.get(key).ok_or_else(|| {
            anyhow::anyhow!("no stage {key} in {} (see --emit-jobs)", file.display())
        })?;
        let ran = p.run_stage(s, &mut |r| bars.report(r))?;
        drop(bars);
        println!(
            "{key}: {}",
            if ran.is_some() {
                "done"
            } else {
                "already done"
            }
        );
        return Ok(());
    }
    let total = p.stages.len();
    let to_run = p.stages.iter().filter(|s| !p.is_done(&s.key)).count();
    let mut bars = Bars::with_overall(to_run as u64);
    let (mut ran, mut cached) = (0usize, 0usize);
    let tally = |ran: usize, cached: usize| {
        format!(
            "{ran} run · {cached} cached · {} left",
            total.saturating_sub(ran + cached)
        )
    };
    let overall = bars.overall().cloned().expect("an overall bar");
    overall.set_message(tally(0, 0));
    let mut started = std::time::Instant::now();
    let record = p.run(
        &mut |i, s, line| {
            match line {
                // Found done: counted, not announced.
                None if p.is_done(&s.key) => cached += 1,
                None => {
                    started = std::time::Instant::now();
                    let l = format!("[{}/{total}] {} ({})", i + 1, s.title, s.key);
                    println(&overall, l);
                }
                Some(l) => {
                    ran += 1;
                    let took = clock(started.elapsed());
                    println(&overall, format!("[{}/{total}] done in {took}: {l}", i + 1));
                    overall.inc(1);
                }
            }
            overall.set_message(tally(ran, cached));
        },
        &mut |r| bars.report(r),
    )?;
    drop(bars);
    println!(
        "{:<14} {:<22} {:<14} {:>6} {:>5} {:>10} {:>8}",
        "task", "preset", "method", "labels", "seed", "return", "std"
    );
    for r in &record.results {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        println!(
            "{:<14} {:<22} {:<14} {:>6} {:>5} {:>10.1} {:>8.1}",
            s("task"),
            s("preset"),
            s("method"),
            s("labels"),
            s("seed"),
            r["mean_return"].as_f64().unwrap_or(f64::NAN),
            r["std_return"].as_f64().unwrap_or(f64::NAN)
        );
    }
    // Cached stages another build made: reused (same results format), said.
    let foreign: Vec<&String> = record
        .cached
        .iter()
        .filter(|k| p.made_elsewhere(k))
        .collect();
    if let Some(first) = foreign.first() {
        eprintln!(
            "note: {} cached stage(s) were made by another lam build than this one ({}); reused, since their results format ({RESULTS_FORMAT}) is this build's: {first}{}",
            foreign.len(),
            build_id(),
            if foreign.len() > 1 { ", ..." } else { "" }
        );
    }
    println!(
        "{} stages: {} run, {} cached (in {})",
        total,
        record.ran.len(),
        record.cached.len(),
        p.cache.display()
    );
    if !args.no_report {
        let out = p.cache.join("report");
        match lam_train::report::write(&p.cache, &out) {
            Ok(w) => println!("report: {}", w.html.display()),
            Err(e) => eprintln!("note: no report written ({e})"),
        }
    }
    Ok(())
}

/// `1 h 02 min`, `3 min 05 s` or `12 s`.
fn clock(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

//! `lam`: latent action models from video with distractors — the command line.

mod args;
mod commands;
mod malloc;
mod progress;

use clap::{Parser, Subcommand};

/// Latent action learning with distractors: simulate, collect, train, evaluate.
#[derive(Debug, Parser)]
#[command(name = "lam", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Expert policies: evaluate the published checkpoints.
    #[command(subcommand)]
    Expert(commands::expert::ExpertCommand),
    /// Benchmarks that print figures next to their references.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// Collect expert trajectories with distractions into an HDF5 dataset.
    Collect(commands::collect::CollectArgs),
    /// Inspect, subsample and merge datasets.
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    /// Render an episode with distractions to an animated GIF or a PNG strip.
    Render(commands::render::RenderArgs),
    /// Train a latent action model (LAPO, LAOM, LAOM + supervision) or a baseline (IDM, BC).
    Train(commands::train::TrainArgs),
    /// Run a trained policy (bc, or latent BC actor + decoder) in the environment: return and normalized score.
    Eval(commands::eval::EvalArgs),
    /// Methods x tasks x label budgets x seeds from one experiment TOML, every stage cached.
    Pipeline(commands::pipeline::PipelineArgs),
    /// Markdown + HTML report with PNG and SVG charts from a pipeline's cache folder.
    Report(commands::report::ReportArgs),
    /// Fit linear probes on a trained model's latents and embeddings; report held-out MSE (and, on files with ground truth, what the latents encode).
    Probe(commands::probe::ProbeArgs),
    /// Versions of the linked libraries and where model files are found.
    Info,
}

fn main() -> std::process::ExitCode {
    // Output piped into `head` and closed early ends the process quietly, as
    // for any command-line tool, instead of a panic on the next print.
    // SAFETY: restoring the default disposition of one signal before any
    // thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    malloc::tune_for_training();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Expert(cmd) => commands::expert::run(cmd),
        Command::Bench(cmd) => commands::bench::run(cmd),
        Command::Render(args) => commands::render::run(args),
        Command::Collect(args) => commands::collect::run(args),
        Command::Data(cmd) => commands::data::run(cmd),
        Command::Train(args) => commands::train::run(args),
        Command::Probe(args) => commands::probe::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Pipeline(args) => commands::pipeline::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Info => commands::info::run(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each cause once: library errors
/// often quote their cause in their own message already.
fn describe(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

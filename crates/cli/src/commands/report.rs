//! `lam report`: tables and plots from a pipeline's cache folder
//! ([`lam_train::report`]) as Markdown and HTML with PNG and SVG charts.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Arguments of `lam report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A pipeline cache folder (holding pipeline.json).
    runs: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "report")]
    out: PathBuf,
}

/// Runs `lam report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let written = lam_train::report::write(&args.runs, &args.out)?;
    println!(
        "wrote {} and {}",
        written.markdown.display(),
        written.html.display()
    );
    Ok(())
}

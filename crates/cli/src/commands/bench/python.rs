//! The PyTorch twin of a benchmark: `benches/*.py` run with the torch
//! that `scripts/setup-bench.sh` installs, answering one JSON line.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::Args;

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

//! Helpers shared by the command-line tests: running the `lam` binary, a
//! fresh scratch folder, and the published experts in the shared folder.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `lam`; (success, stdout + stderr).
pub fn lam(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lam"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs `lam`, which must succeed; its output.
pub fn ok(args: &[&str]) -> String {
    let (success, text) = lam(args);
    assert!(success, "lam {args:?} failed:\n{text}");
    text
}

/// Runs `lam`, which must fail; its output.
pub fn fails(args: &[&str]) -> String {
    let (success, text) = lam(args);
    assert!(!success, "lam {args:?} should fail:\n{text}");
    text
}

/// An empty folder `lam-{test}-{name}-{pid}` in the temporary directory.
pub fn scratch(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lam-{test}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// ../shared beside the repository (or $LAM_SHARED_DIR).
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("LAM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.join("reference/experts").is_dir(),
        "{} has no reference/experts: set LAM_SHARED_DIR to the shared folder",
        dir.display()
    );
    dir
}

/// The published expert of `task`.
pub fn published(task: lam_env::TaskId) -> PathBuf {
    lam_experts::published_checkpoint(&shared().join("reference/experts"), task)
}

/// Training overrides of the tiny experiment: a few steps of small batches.
pub const TINY_STEPS: &str = r#"["train.steps=4", "train.warmup_steps=1", "train.batch_size=8", "train.labeled_batch_size=4", "train.eval_every=2", "train.eval_batches=1"]"#;

/// A tiny experiment (TOML) with its stage folders in `cache`: one task,
/// LAOM with and without labels, IDM and BC on two labeled trajectories
/// with decoders of `decoder_steps` steps and every evaluation (on the
/// training and on unseen backgrounds), and a probe-only arm (LAPO on
/// another preset).
pub fn tiny_experiment(cache: &str, decoder_steps: usize) -> String {
    format!(
        r#"cache = "{cache}"
tasks = ["cheetah-run"]
methods = ["laom-labels", "laom", "idm", "bc"]
label_budgets = [2]
seeds = [0]

[data]
presets = ["easy"]
trajectories = 3
eval_trajectories = 2
episode_length = 30
img = 32
experts = "{experts}"

[eval]
episodes = 2
episode_length = 20
splits = ["train", "val"]

[sets]
lam = {TINY_STEPS}
latent_bc = {TINY_STEPS}
decoder = ["train.steps={decoder_steps}", "train.warmup_steps=1", "train.batch_size=8"]
bc = {TINY_STEPS}
idm = {TINY_STEPS}

[[arms]]
name = "probes"
methods = ["lapo"]
presets = ["vanilla"]
downstream = false
"#,
        experts = shared().join("reference/experts").display(),
    )
}

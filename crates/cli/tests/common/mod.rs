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

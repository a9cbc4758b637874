//! `lam expert train` end to end on short episodes: a run stopped and
//! resumed ends with the same actor as one that was not, the exported actor
//! works with `lam expert eval`, and bad requests are refused.

mod common;

use std::path::{Path, PathBuf};

use common::lam;

fn train(out: &Path, steps: usize, extra: &[&str]) -> String {
    let steps = steps.to_string();
    let mut args = vec![
        "expert",
        "train",
        "--task",
        "hopper-hop",
        "--out",
        out.to_str().unwrap(),
        "--steps",
        &steps,
        "--envs",
        "2",
        "--episode-length",
        "20",
        "--random-steps",
        "40",
        "--batch",
        "16",
        "--hidden",
        "16",
        "--buffer",
        "500",
        "--eval-every",
        "40",
        "--eval-episodes",
        "1",
        "--checkpoint-every",
        "40",
    ];
    args.extend(extra);
    let (ok, text) = lam(&args);
    assert!(ok, "{text}");
    text
}

#[test]
fn a_resumed_expert_run_ends_where_an_uninterrupted_one_does() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("lam-expert-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (whole, pieces) = (dir.join("whole"), dir.join("pieces"));
    train(&whole, 160, &[]);
    train(&pieces, 80, &[]);
    train(&pieces, 160, &["--resume"]);
    let a = lam_experts::load_expert(&whole.join("actor.safetensors")).unwrap();
    let b = lam_experts::load_expert(&pieces.join("actor.safetensors")).unwrap();
    let obs: Vec<f64> = (0..a.observation_size())
        .map(|i| (i as f64 * 0.37).sin())
        .collect();
    assert_eq!(a.act(&obs), b.act(&obs), "the resumed run's actor differs");
    for f in [
        "metrics.jsonl",
        "curve.png",
        "checkpoint.safetensors",
        "config.json",
    ] {
        assert!(pieces.join(f).exists(), "{f}");
    }
    let metrics = std::fs::read_to_string(pieces.join("metrics.jsonl")).unwrap();
    assert_eq!(
        metrics
            .lines()
            .filter(|l| l.contains("episode_return"))
            .count(),
        8,
        "{metrics}"
    );
    let (ok, text) = lam(&[
        "expert",
        "eval",
        "--task",
        "hopper-hop",
        "--checkpoint",
        whole.join("actor.safetensors").to_str().unwrap(),
        "--episodes",
        "1",
    ]);
    assert!(ok && text.contains("hopper-hop: return"), "{text}");
    // Wrong task for the actor; a second run into the same folder.
    let (ok, text) = lam(&[
        "expert",
        "eval",
        "--task",
        "cheetah-run",
        "--checkpoint",
        whole.join("actor.safetensors").to_str().unwrap(),
        "--episodes",
        "1",
    ]);
    assert!(!ok && text.contains("does not fit"), "{text}");
    let (ok, text) = lam(&[
        "expert",
        "train",
        "--task",
        "hopper-hop",
        "--out",
        whole.to_str().unwrap(),
        "--steps",
        "10",
    ]);
    assert!(!ok && text.contains("--resume"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

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
        "curve.svg",
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

    // Shipping: the actor, its measured return and both commands of the
    // stopped-and-resumed run land in experts/TASK, and the index lists it.
    let shipped = dir.join("experts");
    let (ok, text) = lam(&[
        "expert",
        "ship",
        "--run",
        pieces.to_str().unwrap(),
        "--to",
        shipped.to_str().unwrap(),
        "--episodes",
        "2",
    ]);
    assert!(ok, "{text}");
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shipped.join("hopper-hop/expert.json")).unwrap(),
    )
    .unwrap();
    let returns: Vec<f64> = meta["returns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(returns.len(), 2);
    assert!((meta["mean"].as_f64().unwrap() - (returns[0] + returns[1]) / 2.0).abs() < 1e-9);
    assert_eq!(meta["env_steps"], 160);
    let commands = meta["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(commands[1].as_str().unwrap().contains("--resume"));
    let copied = lam_experts::load_expert(&shipped.join("hopper-hop/actor.safetensors")).unwrap();
    let obs = vec![0.1; copied.observation_size()];
    assert_eq!(copied.act(&obs), b.act(&obs));
    let index = std::fs::read_to_string(shipped.join("README.md")).unwrap();
    assert!(
        index.contains("[hopper-hop](hopper-hop/README.md)"),
        "{index}"
    );
    // A folder that is not a run.
    let (ok, text) = lam(&["expert", "ship", "--run", dir.to_str().unwrap()]);
    assert!(
        !ok && text.contains("not a `lam expert train` run"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

//! The mask-guided presets end to end on a tiny file collected with
//! `--ground-truth` (the shipped cheetah-run expert, short episodes, 16 px),
//! and the error a file without agent masks gives.

mod common;

use std::path::Path;

use common::{fails, ok};

fn collect(out: &str, extra: &[&str]) {
    let expert =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experts/cheetah-run/actor.safetensors");
    let mut args = vec![
        "collect",
        "--task",
        "cheetah-run",
        "--preset",
        "scale_easy_video_hard",
        "--expert",
        expert.to_str().unwrap(),
        "--trajectories",
        "2",
        "--episode-length",
        "16",
        "--img",
        "16",
        "--supersample",
        "1",
        "--out",
        out,
    ];
    args.extend(extra);
    ok(&args);
}

#[test]
fn the_mask_presets_train_on_ground_truth_files_and_refuse_others() {
    let dir = common::scratch("masks", "presets");
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (truth, plain) = (p("truth.hdf5"), p("plain.hdf5"));
    collect(&truth, &["--ground-truth"]);
    collect(&plain, &[]);
    let sets = [
        "--set",
        "train.steps=3",
        "--set",
        "train.warmup_steps=1",
        "--set",
        "train.batch_size=4",
        "--set",
        "train.eval_every=2",
        "--set",
        "train.eval_batches=1",
        "--set",
        "train.max_offset=2",
    ];
    let train = |preset: &str, data: &str, out: &str| -> Vec<String> {
        let mut args: Vec<String> = [
            "train",
            "--preset",
            preset,
            "--data",
            data,
            "--eval-data",
            data,
            "--out",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(sets.iter().map(|s| s.to_string()));
        args
    };
    for preset in ["lapo-mask-mini", "laom-mask-mini"] {
        let run = p(preset);
        let args = train(preset, &truth, &run);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(preset).join("summary.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(summary["steps"], 3, "{preset}");
        assert!(
            summary["final_loss"].as_f64().unwrap().is_finite(),
            "{preset}"
        );
        let config = std::fs::read_to_string(dir.join(preset).join("config.toml")).unwrap();
        assert!(config.contains("mask_"), "{preset}: {config}");
        // Without masks: an error naming the file and how to get them.
        let args = train(preset, &plain, &p(&format!("{preset}-plain")));
        let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            err.contains("plain.hdf5") && err.contains("--ground-truth"),
            "{preset}: {err}"
        );
    }
    // Latent BC on the masked-input LAOM (its latents on masked frames).
    let mut args = vec![
        "train",
        "--preset",
        "latent-bc-mini",
        "--data",
        &truth,
        "--teacher",
    ];
    let teacher = p("laom-mask-mini");
    args.push(&teacher);
    let actor = p("actor");
    args.extend(["--out", &actor]);
    args.extend(sets);
    args.extend(["--set", "model.encoder_scale=1"]);
    ok(&args);
    std::fs::remove_dir_all(dir).unwrap();
}

//! Leakage probes end to end: a tiny file collected with the simulator's
//! ground truth, a LAM trained on it for a few steps, `lam probe` with its
//! "what the latent encodes" table and JSON, a file without ground truth
//! (no leakage), and the report's section from a probe result.

mod common;

use std::path::Path;

use common::ok;

/// Collects cheetah-run with camera shake and colour drift (the `easy`
/// preset) into `out`: `n` trajectories of 30 steps at 32 px.
fn collect(out: &str, n: usize, extra: &[&str]) {
    let expert = common::published(lam_env::TaskId::CheetahRun);
    let n = n.to_string();
    let mut args = vec![
        "collect",
        "--task",
        "cheetah-run",
        "--preset",
        "easy",
        "--expert",
        expert.to_str().unwrap(),
        "--trajectories",
        &n,
        "--episode-length",
        "30",
        "--img",
        "32",
        "--supersample",
        "1",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

#[test]
fn probe_measures_what_the_latent_encodes_on_files_with_ground_truth() {
    let dir = common::scratch("leakage", "probe");
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (truth, plain, run) = (p("truth.hdf5"), p("plain.hdf5"), p("lam"));
    collect(&truth, 4, &["--ground-truth"]);
    collect(&plain, 2, &[]);
    ok(&[
        "train",
        "--preset",
        "laom-mini",
        "--data",
        &truth,
        "--out",
        &run,
        "--set",
        "train.steps=4",
        "--set",
        "train.warmup_steps=1",
        "--set",
        "train.batch_size=8",
    ]);
    let probe = |eval: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "probe",
            "--run",
            &run,
            "--data",
            &plain,
            "--eval-data",
            eval,
            "--samples",
            "96",
            "--mlp-steps",
            "100",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let text = ok(&args);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        (text, json)
    };
    // Fitted on a file without ground truth, scored (and leakage
    // cross-fitted) on one with it.
    let (text, json) = probe(&truth, &p("probe.json"), &[]);
    assert!(text.contains("what the features encode"), "{text}");
    assert!(text.contains("latent action (t, t+k)"), "{text}");
    let leakage = &json["leakage"];
    assert_eq!(leakage["samples"], 96, "{json}");
    for features in ["latent", "embedding"] {
        // Actions, states and the easy preset's camera shake, background
        // videos and colour drift all vary.
        for factor in ["action", "state", "camera", "background", "colour"] {
            let s = &leakage[features][factor];
            for kind in ["linear", "mlp"] {
                let r2 = s[kind].as_f64().unwrap_or(f64::NAN);
                assert!(
                    r2.is_finite() && r2 <= 1.0,
                    "{features} {factor} {kind}: {s}"
                );
            }
            assert!(s["columns"].as_u64().unwrap() >= 1, "{s}");
        }
    }
    // The latent action is probed on the change from t to t+k too.
    assert!(
        leakage["latent"]["camera"]["columns"].as_u64()
            > leakage["embedding"]["camera"]["columns"].as_u64(),
        "{leakage}"
    );
    // The same draw gives the same numbers.
    let (_, again) = probe(&truth, &p("again.json"), &[]);
    assert_eq!(again["leakage"], json["leakage"]);
    // Linear probes only.
    let (_, linear) = probe(&truth, &p("linear.json"), &["--no-mlp"]);
    assert!(linear["leakage"]["latent"]["camera"]["mlp"].is_null());
    assert_eq!(
        linear["leakage"]["latent"]["camera"]["linear"],
        json["leakage"]["latent"]["camera"]["linear"]
    );
    // A held-out file without ground truth, or --no-leakage: no leakage.
    for (eval, extra) in [(&plain, &[][..]), (&truth, &["--no-leakage"][..])] {
        let (text, json) = probe(eval, &p("none.json"), extra);
        assert!(json.get("leakage").is_none(), "{json}");
        assert!(!text.contains("what the features encode"), "{text}");
        assert!(json["latent_action"]["mse"].as_f64().unwrap().is_finite());
    }

    // The report's section, from a cache holding this probe result.
    let cache = dir.join("cache");
    let key = "probe-0123456789abcdef";
    std::fs::create_dir_all(cache.join(key)).unwrap();
    std::fs::copy(p("probe.json"), cache.join(key).join("probe.json")).unwrap();
    let labels = serde_json::json!({ "labels": { key: {
        "task": "cheetah-run", "preset": "easy", "method": "laom-mini",
        "labels": "all", "seed": "0", "split": "val"
    }}});
    std::fs::write(cache.join("pipeline.json"), labels.to_string()).unwrap();
    let report = dir.join("report");
    ok(&[
        "report",
        cache.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("## What the latent encodes"), "{md}");
    assert!(md.contains("| cheetah-run/easy | laom-mini | 1 |"), "{md}");
    for chart in ["leakage.png", "leakage.svg"] {
        assert!(Path::new(&report.join(chart)).exists(), "{chart}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

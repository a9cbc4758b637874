//! From data to a policy on the command line: collect a few short episodes,
//! train LAOM, latent BC and a decoder for a handful of steps each, probe,
//! and evaluate the policy in the environment; with the errors a user meets.

mod common;

use std::path::Path;

use common::{lam, ok};

#[test]
fn collect_train_probe_and_evaluate_a_policy() {
    let dir = common::scratch("policy", "chain");
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let expert = common::published(lam_env::TaskId::CheetahRun);
    let data = p("d.hdf5");
    ok(&[
        "collect",
        "--task",
        "cheetah-run",
        "--preset",
        "easy",
        "--expert",
        expert.to_str().unwrap(),
        "--trajectories",
        "3",
        "--episode-length",
        "30",
        "--img",
        "32",
        "--supersample",
        "1",
        "--out",
        &data,
    ]);
    let steps = [
        "--set",
        "train.steps=4",
        "--set",
        "train.warmup_steps=1",
        "--set",
        "train.batch_size=8",
    ];
    let train = |preset: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["train", "--preset", preset, "--data", &data, "--out", out];
        args.extend(steps);
        args.extend(extra);
        ok(&args)
    };
    let (lam_run, actor, decoder) = (p("lam"), p("actor"), p("decoder"));
    let report = train("laom-mini", &lam_run, &[]);
    assert!(report.contains("actions: raw expert outputs"), "{report}");
    train("latent-bc-mini", &actor, &["--teacher", &lam_run]);
    train("decoder-mini", &decoder, &["--teacher", &actor]);
    let probe_with = |extra: &[&str]| {
        let mut args = vec![
            "probe",
            "--run",
            &lam_run,
            "--data",
            &data,
            "--samples",
            "32",
        ];
        args.extend_from_slice(extra);
        ok(&args)
    };
    let probe = probe_with(&[]);
    assert!(probe.contains("latent action -> action"), "{probe}");
    assert!(
        probe.contains("k uniform in 1..=10"),
        "the run's own K: {probe}"
    );
    let k1 = probe_with(&["--max-offset", "1"]);
    assert!(k1.contains("k uniform in 1..=1\n"), "{k1}");
    let result = p("eval.json");
    let text = ok(&[
        "eval",
        "--policy",
        &decoder,
        "--like",
        &data,
        "--episodes",
        "2",
        "--episode-length",
        "15",
        "--out",
        &result,
    ]);
    assert!(text.contains("normalized score"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    assert_eq!(json["returns"].as_array().unwrap().len(), 2);
    assert_eq!(json["preset"], "easy");
    // The published 1000-step figure, scaled to the 15-step episodes.
    assert!((json["normalizer"].as_f64().unwrap() - 823.0 * 0.015).abs() < 1e-9);
    assert!(json["normalizer_source"]
        .as_str()
        .unwrap()
        .contains("scaled to 15 of 1000 steps"));

    // The IDM baseline: IDM on labels, relabel the data, BC on the relabeled data.
    let (idm, relabeled) = (p("idm"), p("relabeled.hdf5"));
    train("idm-mini", &idm, &[]);
    ok(&["data", "relabel", &data, "--idm", &idm, "--out", &relabeled]);
    let (original, new) = (
        lam_data::DatasetReader::open(Path::new(&data)).unwrap(),
        lam_data::DatasetReader::open(Path::new(&relabeled)).unwrap(),
    );
    assert_eq!(original.lengths(), new.lengths());
    assert_eq!(
        original.read_obs(0, 0..5).unwrap(),
        new.read_obs(0, 0..5).unwrap()
    );
    assert_ne!(
        original.read_actions(0).unwrap(),
        new.read_actions(0).unwrap()
    );
    assert_eq!(
        new.read_actions(0).unwrap().len(),
        original.read_actions(0).unwrap().len()
    );
    let (success, text) = lam(&[
        "data",
        "relabel",
        &data,
        "--idm",
        &decoder,
        "--out",
        &p("no.hdf5"),
    ]);
    assert!(!success && text.contains("not an idm run"), "{text}");

    // A LAM is not a policy; a cheetah policy cannot act in hopper (4 actions);
    // a decoder needs a teacher.
    let (success, text) = lam(&["eval", "--policy", &lam_run, "--task", "cheetah-run"]);
    assert!(!success && text.contains("evaluate a bc run"), "{text}");
    let (success, text) = lam(&[
        "eval",
        "--policy",
        &decoder,
        "--task",
        "hopper-hop",
        "--episodes",
        "1",
    ]);
    assert!(!success && text.contains("takes 4"), "{text}");
    // walker-run takes 6 actions too: the policy's own record refuses it,
    // unless asked for, and the result then says so.
    let cross = [
        "eval",
        "--policy",
        &decoder,
        "--task",
        "walker-run",
        "--episodes",
        "1",
        "--episode-length",
        "5",
    ];
    let (success, text) = lam(&cross);
    assert!(
        !success && text.contains("trained on cheetah-run") && text.contains("--allow-mismatch"),
        "{text}"
    );
    let crossed = p("cross.json");
    let text = ok(&[&cross[..], &["--allow-mismatch", "--out", &crossed]].concat());
    assert!(text.contains("note: trained on cheetah-run"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&crossed).unwrap()).unwrap();
    assert!(
        json["mismatch"].as_str().unwrap().contains("walker-run"),
        "{json}"
    );
    // Yardsticks on the same episodes: random actions and the data's expert.
    let short = [
        "eval",
        "--like",
        &data,
        "--episodes",
        "2",
        "--episode-length",
        "15",
        "--img",
        "16",
    ];
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
    };
    for who in [vec!["--random"], vec!["--expert", expert.to_str().unwrap()]] {
        let text = ok(&[&short[..], &who[..]].concat());
        assert!(text.contains("over 2 episodes"), "{who:?}: {text}");
        // Beside the expert on the states visited: the expert agrees with
        // itself exactly, random actions do not.
        let compared = p("compared.json");
        let with = [
            "--compare-expert",
            expert.to_str().unwrap(),
            "--out",
            &compared,
        ];
        ok(&[&short[..], &who[..], &with[..]].concat());
        let json = read(&compared);
        let bands = json["expert_action_mse"].as_array().unwrap();
        assert_eq!(bands.len(), 2, "{json}");
        assert_eq!(
            (bands[1]["from"].as_u64(), bands[1]["to"].as_u64()),
            (Some(0), Some(15))
        );
        let mse = bands[1]["mse"].as_f64().unwrap();
        if who[0] == "--random" {
            assert!(mse > 0.2, "random actions vs the expert: {mse}");
        } else {
            assert_eq!(mse, 0.0, "the expert vs itself");
        }
    }
    // --expert-drives: the expert acts, random actions are only compared;
    // the returns are the expert's own on the same episodes.
    let (driven, played) = (p("driven.json"), p("played.json"));
    let e = expert.to_str().unwrap();
    let text = ok(&[
        &short[..],
        &[
            "--random",
            "--compare-expert",
            e,
            "--expert-drives",
            "--out",
            &driven,
        ],
    ]
    .concat());
    assert!(text.contains("the returns are its own"), "{text}");
    ok(&[&short[..], &["--expert", e, "--out", &played]].concat());
    let (driven, played) = (read(&driven), read(&played));
    assert_eq!(driven["returns"], played["returns"]);
    assert!(
        driven["expert_action_mse"][1]["mse"].as_f64().unwrap() > 0.2,
        "{driven}"
    );
    for (flag, value) in [("--episode-length", "0"), ("--normalizer", "0")] {
        let (success, text) = lam(&["eval", "--policy", &decoder, "--like", &data, flag, value]);
        assert!(!success && text.contains(flag), "{flag} {value}: {text}");
    }
    let x = p("x");
    let (success, text) = lam(&[
        "train",
        "--preset",
        "decoder-mini",
        "--data",
        &data,
        "--out",
        &x,
    ]);
    assert!(!success && text.contains("--teacher"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

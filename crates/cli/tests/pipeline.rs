//! `lam pipeline` end to end on a tiny experiment: every stage runs once,
//! a second run is a cache hit for every stage, and changing one stage
//! kind's settings re-runs those stages and the ones after them only.

mod common;

use std::path::{Path, PathBuf};

use common::{lam, shared, tiny_experiment, TINY_STEPS};

fn experiment(dir: &Path, decoder_steps: usize) -> PathBuf {
    let text = tiny_experiment(&dir.join("cache").display().to_string(), decoder_steps);
    let path = dir.join("experiment.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// (ran, cached) stage keys of the last run.
fn record(dir: &Path) -> (Vec<String>, Vec<String>, serde_json::Value) {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cache/pipeline.json")).unwrap())
            .unwrap();
    let keys = |k: &str| {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    (keys("ran"), keys("cached"), v)
}

#[test]
fn stages_run_once_and_changes_rerun_only_what_follows() {
    let dir = std::env::temp_dir().join(format!("lam-pipeline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = experiment(&dir, 4);
    let c = config.to_str().unwrap();
    let (ok, text) = lam(&["pipeline", "--config", c]);
    assert!(ok, "{text}");
    // Stages are named in words, and the report is written at the end.
    for words in [
        "train laom-labels-mini · cheetah-run/easy · 2 labels · seed 0",
        "eval bc · cheetah-run/easy · 2 labels · val backgrounds · seed 0",
        "probe lapo-mini · cheetah-run/vanilla · seed 0 · train backgrounds",
    ] {
        assert!(text.contains(words), "no {words:?} in:\n{text}");
    }
    let html = dir.join("cache/report/report.html");
    assert!(
        text.contains(&format!("report: {}", html.display())),
        "{text}"
    );
    assert!(html.exists());
    let (ran, cached, v) = record(&dir);
    assert!(cached.is_empty());
    assert_eq!(ran.len(), v["stages"].as_u64().unwrap() as usize);
    // bc on all labels + one policy per method, each evaluated, and the
    // two yardsticks (random actions, the expert), on the training and on
    // the unseen (val) backgrounds; the probe-only arm adds a LAM and no
    // evaluation.
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 14, "{results:?}");
    for split in ["train", "val"] {
        let n = results.iter().filter(|r| r["split"] == split).count();
        assert_eq!(n, 7, "{split}: {results:?}");
    }
    for r in results.iter().filter(|r| r["split"] == "val") {
        let file = dir
            .join("cache")
            .join(r["stage"].as_str().unwrap())
            .join("eval.json");
        let e: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(e["split"], "val", "{file:?}");
    }
    for yardstick in ["random", "expert"] {
        let r = results
            .iter()
            .find(|r| r["method"] == yardstick)
            .unwrap_or_else(|| panic!("no {yardstick} evaluation in {results:?}"));
        assert_eq!(r["labels"], "-");
    }
    let lams: Vec<&serde_json::Value> = v["labels"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("lam-"))
        .map(|(_, l)| l)
        .collect();
    assert!(
        lams.iter()
            .any(|l| l["method"] == "lapo" && l["preset"] == "vanilla"),
        "{lams:?}"
    );
    // Shared stages exist once: one training file, one labeled subset.
    assert_eq!(ran.iter().filter(|k| k.starts_with("labeled-")).count(), 1);
    // Every LAM is probed in closed form on two held-out files: unseen
    // (val) backgrounds and the training backgrounds.
    let of = |kind: &str| -> Vec<&String> { ran.iter().filter(|k| k.starts_with(kind)).collect() };
    assert_eq!(of("probe-").len(), 2 * of("lam-").len());
    let splits: Vec<&str> = of("probe-")
        .iter()
        .map(|k| v["labels"][k.as_str()]["split"].as_str().unwrap())
        .collect();
    assert_eq!(
        splits.iter().filter(|s| **s == "val").count(),
        3,
        "{splits:?}"
    );
    assert_eq!(of("lam-").len(), 3, "{ran:?}");
    for key in of("probe-") {
        let file = dir.join("cache").join(key).join("probe.json");
        let probe: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let mse = probe["latent_action"]["mse"].as_f64().unwrap();
        assert!(mse.is_finite() && mse >= 0.0, "{probe}");
        assert!(
            probe["scored_on"].as_str().unwrap().contains("data-"),
            "{probe}"
        );
    }

    let (ok, text) = lam(&["pipeline", "--config", c]);
    assert!(ok, "{text}");
    let (ran_again, cached_again, _) = record(&dir);
    assert!(
        ran_again.is_empty(),
        "a finished pipeline re-ran {ran_again:?}"
    );
    assert_eq!(cached_again.len(), ran.len());
    assert!(!text.contains("another lam build"), "{text}");
    // A stage another build made is reused, and said to be.
    let marker = dir.join("cache").join(&ran[0]).join(".done");
    let first = std::fs::read_to_string(&marker).unwrap();
    assert!(first.contains("made by lam "), "{first}");
    std::fs::write(
        &marker,
        "lam train\nmade by lam 0.0.1 (commit 0123456789ab)\n",
    )
    .unwrap();
    let (ok, text) = lam(&["pipeline", "--config", c]);
    assert!(ok, "{text}");
    assert!(
        text.contains("1 cached stage(s) were made by another lam build"),
        "{text}"
    );
    assert!(record(&dir).0.is_empty());

    // More decoder steps: the two decoders and their evaluations (on both
    // splits) run again, nothing else.
    experiment(&dir, 5);
    let (ok, text) = lam(&["pipeline", "--config", c]);
    assert!(ok, "{text}");
    let (changed, _, _) = record(&dir);
    assert_eq!(changed.len(), 6, "{changed:?}");
    assert_eq!(
        changed.iter().filter(|k| k.starts_with("decoder-")).count(),
        2,
        "{changed:?}"
    );
    assert_eq!(
        changed.iter().filter(|k| k.starts_with("eval-")).count(),
        4,
        "{changed:?}"
    );

    // --emit-jobs lists every stage, dependencies first; --job runs one.
    let (ok, jobs) = lam(&["pipeline", "--config", c, "--emit-jobs"]);
    assert!(ok, "{jobs}");
    let lines: Vec<&str> = jobs
        .lines()
        .filter(|l| l.starts_with("lam pipeline"))
        .collect();
    assert_eq!(lines.len(), ran.len());
    let first = lines[0].split_whitespace().nth(5).unwrap();
    let (ok, text) = lam(&["pipeline", "--config", c, "--job", first]);
    assert!(ok && text.contains("already done"), "{text}");
    // A stage another process is running is refused, not written twice.
    let last = lines.last().unwrap().split_whitespace().nth(5).unwrap();
    let stage = dir.join("cache").join(last);
    std::fs::remove_file(stage.join(".done")).unwrap();
    let held = lam_data::OutputLock::at(&stage.join(".stage.lock"), &stage).unwrap();
    let (ok, text) = lam(&["pipeline", "--config", c, "--job", last]);
    assert!(!ok && text.contains("another process"), "{text}");
    drop(held);
    let (ok, text) = lam(&["pipeline", "--config", c, "--job", last]);
    assert!(ok && text.contains(": done"), "{text}");

    // One arm alone: the vanilla data (training file, held-out files on
    // both splits), its LAM and its two probes.
    let (ok, probes) = lam(&["pipeline", "--config", c, "--arm", "probes", "--emit-jobs"]);
    assert!(ok, "{probes}");
    let keys: Vec<&str> = probes
        .lines()
        .filter(|l| l.starts_with("lam pipeline"))
        .map(|l| l.split_whitespace().nth(5).unwrap())
        .collect();
    assert_eq!(keys.len(), 6, "{probes}");
    assert!(keys.iter().all(|k| lines.iter().any(|l| l.contains(k))));
    let (ok, text) = lam(&["pipeline", "--config", c, "--arm", "nope"]);
    assert!(!ok && text.contains("no such arm"), "{text}");

    // The report: tables for every method, and the plots as PNGs.
    let report = dir.join("report");
    let (ok, text) = lam(&[
        "report",
        dir.join("cache").to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    for method in [
        "| bc |",
        "| idm |",
        "| laom |",
        "| laom-labels |",
        "| bc-all-labels |",
        "uniformly random actions",
        "held-out probe MSE (closed-form fit)",
        "÷ random",
        "(n=1)",
        "## Unseen distractors",
        "| probe MSE, unseen backgrounds |",
        "| return, unseen backgrounds |",
    ] {
        assert!(md.contains(method), "report.md lacks {method:?}:\n{md}");
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains("<img src=\"summary.png\""), "{html}");
    assert!(html.contains("<a href=\"summary.svg\">"), "{html}");
    // Self-contained: the paper cited in full, no file a reader lacks.
    assert!(md.contains("ICML 2025"), "{md}");
    for absent in ["METHOD.md", "TASKS.md", "docs/", "§"] {
        assert!(!md.contains(absent), "report.md cites {absent:?}:\n{md}");
    }
    // Every chart as PNG and SVG.
    for chart in [
        "summary",
        "probe",
        "probe_unseen",
        "score_vs_labels_cheetah-run-easy",
        "curves_cheetah-run-easy",
    ] {
        let png = format!("{chart}.png");
        let img = image::open(report.join(&png)).unwrap_or_else(|e| panic!("{png}: {e}"));
        assert_eq!((img.width(), img.height()), (800, 480), "{png}");
        let svg = std::fs::read_to_string(report.join(format!("{chart}.svg")))
            .unwrap_or_else(|e| panic!("{chart}.svg: {e}"));
        assert!(
            svg.starts_with("<svg") && svg.contains("</svg>"),
            "{chart}.svg"
        );
        assert!(md.contains(&format!("({chart}.svg)")), "{md}");
    }

    // A probe-only run (one arm, every stage cached) still has a report:
    // the probe table, each LAM beside LAPO.
    let (ok, text) = lam(&["pipeline", "--config", c, "--arm", "probes"]);
    assert!(ok, "{text}");
    let probes_only = dir.join("report-probes");
    let (ok, text) = lam(&[
        "report",
        dir.join("cache").to_str().unwrap(),
        "--out",
        probes_only.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let md = std::fs::read_to_string(probes_only.join("report.md")).unwrap();
    assert!(md.contains("| lapo |") && md.contains("÷ LAPO's"), "{md}");
    assert!(!md.contains("Normalized score"), "{md}");

    // Published normalisers: no BC-on-all-labels stage and its evaluation.
    let published = dir.join("published.toml");
    std::fs::write(
        &published,
        std::fs::read_to_string(&config).unwrap().replace(
            "episode_length = 20\n",
            "episode_length = 20\nnormalizer = \"published\"\n",
        ),
    )
    .unwrap();
    let (ok, fewer) = lam(&[
        "pipeline",
        "--config",
        published.to_str().unwrap(),
        "--emit-jobs",
    ]);
    assert!(ok, "{fewer}");
    let count = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("lam pipeline"))
            .count()
    };
    // (BC on all labels, and its evaluations on both splits.)
    assert_eq!(count(&fewer), count(&jobs) - 3, "{fewer}");

    // Bad experiments fail before any work.
    std::fs::write(
        dir.join("bad.toml"),
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("\"idm\", \"bc\"", "\"idm\", \"bcc\""),
    )
    .unwrap();
    let (ok, text) = lam(&[
        "pipeline",
        "--config",
        dir.join("bad.toml").to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("unknown method \"bcc\""), "{text}");
    for (from, to, says) in [
        (
            "label_budgets = [2]",
            "label_budgets = [4]",
            "data.trajectories is 3",
        ),
        (
            "splits = [\"train\", \"val\"]",
            "splits = [\"test\"]",
            "unknown split \"test\"",
        ),
    ] {
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(dir.join("bad.toml"), text.replace(from, to)).unwrap();
        let (ok, text) = lam(&[
            "pipeline",
            "--config",
            dir.join("bad.toml").to_str().unwrap(),
        ]);
        assert!(!ok && text.contains(says), "{says}: {text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Cross-embodiment: a leave-one-out arm pre-trains each task's LAM on the
/// other task's data, then probes it and decodes a policy on the task
/// left out; an all-tasks LAM is one stage shared by both tasks.
#[test]
fn leave_one_out_pretrains_on_the_other_tasks() {
    let dir = std::env::temp_dir().join(format!("lam-pipeline-loo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        r#"cache = "{cache}"
tasks = ["cheetah-run", "walker-run"]
seeds = [0]

[data]
presets = ["vanilla"]
trajectories = 3
eval_trajectories = 2
probe_splits = ["val"]
episode_length = 30
img = 32
experts = "{experts}"

[eval]
episodes = 1
episode_length = 10
normalizer = "published"
yardsticks = false

[sets]
lam = {TINY_STEPS}
latent_bc = {TINY_STEPS}
decoder = {TINY_STEPS}

[[arms]]
name = "loo"
methods = ["lapo", "laom-labels"]
label_budgets = [2]
pretrain = "leave-one-out"

[[arms]]
name = "all"
methods = ["lapo"]
pretrain = "all-tasks"
downstream = false

# In-task LAPO: over two tasks, each is also the other task's
# leave-one-out LAPO (one stage, labelled in-task).
[[arms]]
name = "in"
methods = ["lapo"]
downstream = false
"#,
        cache = dir.join("cache").display(),
        experts = shared().join("reference/experts").display(),
    );
    let config = dir.join("loo.toml");
    std::fs::write(&config, &text).unwrap();
    let c = config.to_str().unwrap();
    let (ok, out) = lam(&["pipeline", "--config", c]);
    assert!(ok, "{out}");
    assert!(
        out.contains("train lapo-mini · walker-run/vanilla (leave-one-out) · seed 0"),
        "{out}"
    );
    let (_, _, v) = record(&dir);
    let labels = v["labels"].as_object().unwrap();
    let lams: Vec<(&String, &serde_json::Value)> = labels
        .iter()
        .filter(|(k, _)| k.starts_with("lam-"))
        .collect();
    // Two leave-one-out LAMs per method (one per task left out; LAPO's are
    // the in-task LAPOs of the other task) and one all-tasks LAM.
    assert_eq!(lams.len(), 5, "{lams:?}");
    for (key, l) in &lams {
        let data = std::fs::read_to_string(dir.join("cache").join(key).join("data.toml")).unwrap();
        let files = data.matches("data.hdf5").count();
        match l["pretrain"].as_str().unwrap_or("in-task") {
            // LAOM + supervision: on the other task's labeled subset.
            "leave-one-out" if l["method"] == "laom-labels" => {
                assert_eq!(l["labels"], "2");
                assert!(data.contains("labeled.hdf5"), "{data}");
                assert_eq!(files, 2, "training file and held-out file: {data}");
            }
            "in-task" => {
                assert_eq!(l["method"], "lapo");
                assert_eq!(files, 2, "training file and held-out file: {data}");
            }
            "all-tasks" => {
                assert_eq!(l["task"], "cheetah-run+walker-run");
                assert_eq!(files, 3, "two training files and a held-out file: {data}");
            }
            other => panic!("{other}"),
        }
    }
    // Each task's policies come from the LAMs trained on the other task.
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{results:?}");
    for r in results {
        assert_eq!(r["pretrain"], "leave-one-out", "{r}");
        assert!(r["mean_return"].as_f64().unwrap().is_finite());
    }
    // Probes of every LAM on each task's own held-out file: each task's
    // two leave-one-out LAMs and the all-tasks LAM.
    let probes: Vec<&serde_json::Value> = labels
        .iter()
        .filter(|(k, _)| k.starts_with("probe-"))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(probes.len(), 8, "{probes:?}");
    for task in ["cheetah-run", "walker-run"] {
        let of = |pretrain: &str| {
            probes
                .iter()
                .filter(|p| {
                    p["task"] == task && p["pretrain"].as_str().unwrap_or("in-task") == pretrain
                })
                .count()
        };
        assert_eq!(
            (of("in-task"), of("leave-one-out"), of("all-tasks")),
            (1, 2, 1),
            "{task}: {probes:?}"
        );
    }
    // The report shows each task's leave-one-out LAM and policy.
    let md = std::fs::read_to_string(dir.join("cache/report/report.md")).unwrap();
    assert!(md.contains("## Cross-embodiment pre-training"), "{md}");
    assert!(md.contains("| probe MSE, leave-one-out |"), "{md}");
    // The in-task LAPOs keep their place in the probe table.
    assert!(md.contains("| lapo |"), "{md}");
    assert!(md.contains("| return, leave-one-out |"), "{md}");
    assert!(dir.join("cache/report/probe_pretraining.png").exists());
    // Methods without a LAM do not pre-train across tasks: refused before any work.
    std::fs::write(
        &config,
        text.replace(
            "methods = [\"lapo\", \"laom-labels\"]",
            "methods = [\"bc\"]",
        ),
    )
    .unwrap();
    let (ok, out) = lam(&["pipeline", "--config", c]);
    assert!(
        !ok && out.contains("cross-task pre-training is for latent action models"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

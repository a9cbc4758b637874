//! Whole runs on a tiny synthetic dataset: folders, metrics, resuming
//! exactly, clear errors, and stopping on a NaN loss.

use std::path::{Path, PathBuf};

use lam_data::{DatasetAttrs, DatasetWriter, Trajectory};
use lam_models::config::RunConfig;
use lam_train::run::{train, RunData, RunDir, RunError};
use lam_train::trainer::Trainer;
use tch::Device;

const SIDE: usize = 16;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lam-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A bright square moving by the action over a dark frame.
fn dataset(path: &Path, trajectories: usize, action_size: usize) -> PathBuf {
    dataset_under(path, trajectories, action_size, "vanilla")
}

/// [`dataset`] with its distraction preset attribute set to `difficulty`.
fn dataset_under(
    path: &Path,
    trajectories: usize,
    action_size: usize,
    difficulty: &str,
) -> PathBuf {
    dataset_of(
        path,
        trajectories,
        action_size,
        difficulty,
        ("cheetah", "run"),
    )
}

/// [`dataset_under`] of the task `domain-task`.
fn dataset_of(
    path: &Path,
    trajectories: usize,
    action_size: usize,
    difficulty: &str,
    (domain, task): (&str, &str),
) -> PathBuf {
    let attrs = DatasetAttrs {
        domain_name: domain.into(),
        task_name: task.into(),
        difficulty: difficulty.into(),
        dynamic: false,
        img_hw: SIDE as i64,
        split: "train".into(),
        dataset_return: None,
    };
    let overwrite = lam_data::WriteOptions {
        overwrite: true,
        ..Default::default()
    };
    let mut w = DatasetWriter::create(path, attrs, &overwrite).unwrap();
    for id in 0..trajectories {
        let len = 24;
        let mut x = 4 + id % 6;
        let mut obs = Vec::new();
        let mut actions = Vec::new();
        for t in 0..len {
            for py in 0..SIDE {
                for px in 0..SIDE {
                    let on = px >= x && px < x + 3 && (6..9).contains(&py);
                    obs.extend([if on { 250 } else { 10 }, 40, (t * 7) as u8]);
                }
            }
            let a: i64 = if (t + id) % 3 == 0 { -1 } else { 1 };
            x = (x as i64 + a).clamp(1, 11) as usize;
            actions.extend(std::iter::repeat_n(a as f32, action_size));
        }
        w.append(&Trajectory {
            ground_truth: None,
            obs,
            states: (0..len).flat_map(|t| [t as f32, id as f32]).collect(),
            actions,
            traj_return: 0.0,
            frame: (SIDE, SIDE),
            state_size: 2,
            action_size,
        })
        .unwrap();
    }
    w.finish().unwrap();
    path.to_path_buf()
}

fn tiny(preset: &str, steps: usize) -> RunConfig {
    RunConfig::preset(preset)
        .unwrap()
        .with_overrides(&[
            format!("train.steps={steps}"),
            "train.warmup_steps=2".into(),
            "train.batch_size=8".into(),
            "train.labeled_batch_size=4".into(),
            "train.checkpoint_every=3".into(),
            "train.eval_every=2".into(),
            "train.eval_batches=2".into(),
            "model.head_width=32".into(),
            "model.latent_dim=16".into(),
        ])
        .unwrap()
}

/// The step lines of a metrics file without the timing fields.
fn step_lines(dir: &RunDir) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.metrics())
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("samples_per_s");
            o.remove("elapsed_s");
            v
        })
        .collect()
}

#[test]
fn an_interrupted_run_resumes_to_the_same_result() {
    let dir = scratch("resume");
    let data = RunData {
        data: dataset(&dir.join("d.hdf5"), 6, 2),
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: Some(dataset(&dir.join("l.hdf5"), 2, 2)),
        eval: Some(dataset(&dir.join("e.hdf5"), 2, 2)),
        teacher: None,
    };
    let config = tiny("laom-labels-mini", 7);
    let whole = RunDir::new(dir.join("whole"));
    let summary = train(&whole, Some(&config), &data, Device::Cpu, None, |_| {}).unwrap();
    assert_eq!(summary.steps, 7);
    assert!(summary.eval.is_some() && summary.final_action_probe.is_some());
    // The same run in two sessions: 4 steps (checkpoint at 3 and 4), then the rest.
    let pieces = RunDir::new(dir.join("pieces"));
    let first = train(&pieces, Some(&config), &data, Device::Cpu, Some(4), |_| {}).unwrap();
    assert_eq!(first.steps, 4);
    // While another process trains in the folder, nothing starts there.
    let held = lam_data::OutputLock::at(&pieces.lock(), &pieces.root).unwrap();
    let busy = train(&pieces, None, &data, Device::Cpu, None, |_| {});
    assert!(
        matches!(
            &busy,
            Err(RunError::Data(lam_data::DataError::Locked { .. }))
        ),
        "{busy:?}"
    );
    drop(held);
    // Starting again without --resume is refused.
    let again = train(&pieces, Some(&config), &data, Device::Cpu, None, |_| {});
    assert!(matches!(again, Err(RunError::Config(m)) if m.contains("--resume")));
    let mut events = 0;
    train(&pieces, None, &data, Device::Cpu, None, |_| events += 1).unwrap();
    assert!(events > 0);
    let (a, _) = Trainer::load(&whole.checkpoint(), Device::Cpu).unwrap();
    let (b, _) = Trainer::load(&pieces.checkpoint(), Device::Cpu).unwrap();
    assert_eq!(a.steps(), 7);
    assert_eq!(b.steps(), 7);
    assert_eq!(step_lines(&whole), step_lines(&pieces));
    for (name, t) in a.vs.variables() {
        assert!(
            t.equal(&b.vs.variables()[&name]),
            "{name} differs after resuming"
        );
    }
    assert_eq!(step_lines(&whole), step_lines(&pieces));
    assert!(whole.summary().exists() && whole.config().exists());
    // The summaries agree too (but the session's speed).
    let summary_of = |d: &RunDir| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.summary()).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("samples_per_s");
        v
    };
    assert_eq!(summary_of(&whole), summary_of(&pieces));
    // Resuming a finished run changes nothing and reports its summary.
    let before = std::fs::read(whole.checkpoint()).unwrap();
    let done = train(&whole, None, &data, Device::Cpu, None, |_| {}).unwrap();
    assert_eq!(
        (done.steps, done.final_loss),
        (summary.steps, summary.final_loss)
    );
    assert_eq!(std::fs::read(whole.checkpoint()).unwrap(), before);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_labeled_file_from_other_distractions_is_refused() {
    let dir = scratch("mismatch");
    let data = RunData {
        data: dataset(&dir.join("d.hdf5"), 4, 2),
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: Some(dataset_under(&dir.join("l.hdf5"), 2, 2, "easy")),
        eval: None,
        teacher: None,
    };
    let err = train(
        &RunDir::new(dir.join("run")),
        Some(&tiny("laom-labels-mini", 2)),
        &data,
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("--labeled") && err.contains("easy") && err.contains("vanilla"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_data_is_refused_with_the_file_named() {
    let dir = scratch("bad");
    let data_file = dataset(&dir.join("d.hdf5"), 3, 2);
    let other = dataset(&dir.join("other.hdf5"), 2, 3);
    let cfg = tiny("laom-labels-mini", 2);
    // A labeled preset without labeled data.
    let no_labels = RunData {
        data: data_file.clone(),
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: None,
        eval: None,
        teacher: None,
    };
    let e = train(
        &RunDir::new(dir.join("a")),
        Some(&cfg),
        &no_labels,
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("--labeled"), "{e}");
    // Labeled data whose action size disagrees.
    let mismatch = RunData {
        labeled: Some(other.clone()),
        ..no_labels.clone()
    };
    let e = train(
        &RunDir::new(dir.join("b")),
        Some(&cfg),
        &mismatch,
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("other.hdf5"), "{e}");
    // Resuming on data of another action size than the checkpoint's.
    let run = RunDir::new(dir.join("c"));
    let bc = tiny("bc-mini", 2);
    train(&run, Some(&bc), &no_labels, Device::Cpu, Some(1), |_| {}).unwrap();
    let swapped = RunData {
        data: other,
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: None,
        eval: None,
        teacher: None,
    };
    let e = train(&run, None, &swapped, Device::Cpu, None, |_| {}).unwrap_err();
    assert!(e.to_string().contains("checkpoint"), "{e}");
    // A missing file.
    let missing = RunData {
        data: dir.join("nope.hdf5"),
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: None,
        eval: None,
        teacher: None,
    };
    let e = train(
        &RunDir::new(dir.join("d")),
        Some(&bc),
        &missing,
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("nope.hdf5"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_diverging_run_stops_and_keeps_the_last_good_checkpoint() {
    let dir = scratch("nan");
    let data = RunData {
        data: dataset(&dir.join("d.hdf5"), 3, 2),
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: None,
        eval: None,
        teacher: None,
    };
    let run = RunDir::new(dir.join("run"));
    let stable = tiny("bc-mini", 40);
    train(&run, Some(&stable), &data, Device::Cpu, Some(3), |_| {}).unwrap();
    let good = std::fs::read(run.checkpoint()).unwrap();
    // Same run folder, an absurd learning rate written into its config and checkpoint:
    // rebuild the checkpoint's trainer with lr = 1e30 and continue.
    let (mut t, _) = Trainer::load(&run.checkpoint(), Device::Cpu).unwrap();
    t.config.train.lr = 1e30;
    t.config.train.grad_clip = 0.0;
    t.save(&run.checkpoint(), &Default::default()).unwrap();
    let saved = std::fs::read(run.checkpoint()).unwrap();
    let e = train(&run, None, &data, Device::Cpu, None, |_| {}).unwrap_err();
    match &e {
        RunError::Diverged { step, kept, .. } => {
            assert!(*step > 3 && *step < 40, "{e}");
            assert!(kept.contains("step 3"), "{e}");
        }
        other => panic!("expected divergence, got {other}"),
    }
    assert_eq!(
        std::fs::read(run.checkpoint()).unwrap(),
        saved,
        "the checkpoint was overwritten"
    );
    assert_ne!(good, saved);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn latent_bc_and_a_decoder_build_a_policy_on_a_frozen_lam() {
    let dir = scratch("chain");
    let file = dataset(&dir.join("d.hdf5"), 4, 2);
    let labeled = dataset(&dir.join("l.hdf5"), 2, 2);
    let plain = |data: &PathBuf, teacher: Option<PathBuf>| RunData {
        data: data.clone(),
        also: Vec::new(),
        also_labeled: Vec::new(),
        teacher,
        ..RunData::default()
    };
    let lam = RunDir::new(dir.join("lam"));
    train(
        &lam,
        Some(&tiny("laom-mini", 3)),
        &plain(&file, None),
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap();
    // Latent BC without a teacher is refused, naming the flag.
    let bc_cfg = tiny("latent-bc-mini", 4);
    let e = train(
        &RunDir::new(dir.join("x")),
        Some(&bc_cfg),
        &plain(&file, None),
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("--teacher"), "{e}");
    // A decoder on top of a LAM (not a latent BC actor) is refused.
    let dec_cfg = tiny("decoder-mini", 4);
    let e = train(
        &RunDir::new(dir.join("y")),
        Some(&dec_cfg),
        &plain(&labeled, Some(lam.checkpoint())),
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("latent BC"), "{e}");
    let actor = RunDir::new(dir.join("actor"));
    let s = train(
        &actor,
        Some(&bc_cfg),
        &plain(&file, Some(lam.checkpoint())),
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap();
    assert!(s.final_loss.is_finite());
    let decoder = RunDir::new(dir.join("decoder"));
    // In two pieces: the resumed run reloads its teacher from the checkpoint.
    let data = plain(&labeled, Some(actor.checkpoint()));
    train(
        &decoder,
        Some(&dec_cfg),
        &data,
        Device::Cpu,
        Some(2),
        |_| {},
    )
    .unwrap();
    train(&decoder, None, &data, Device::Cpu, None, |_| {}).unwrap();
    let (policy, _) = Trainer::load(&decoder.checkpoint(), Device::Cpu).unwrap();
    assert_eq!(policy.steps(), 4);
    assert!(policy.model.is_policy());
    let obs = tch::Tensor::rand(
        [3, 9, SIDE as i64, SIDE as i64],
        (tch::Kind::Float, Device::Cpu),
    );
    let a = policy.model.actions(&obs, &obs).unwrap();
    assert_eq!(a.size(), vec![3, 2]);
    // The frozen actor inside the decoder run is the latent BC run's actor.
    let (bc, _) = Trainer::load(&actor.checkpoint(), Device::Cpu).unwrap();
    let z_bc = bc.model.latent(&obs, &obs).unwrap();
    let z_policy = policy.model.latent(&obs, &obs).unwrap();
    assert!(z_bc.allclose(&z_policy, 1e-6, 1e-6, false));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Where `tensorboard` is importable: `.deps/python-tensorboard` from
/// `scripts/setup.sh`, or $LAM_TENSORBOARD_PATH. Required when $CI is set.
fn tensorboard_path() -> Option<PathBuf> {
    let path = std::env::var_os("LAM_TENSORBOARD_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.deps/python-tensorboard")
        });
    let ok = std::process::Command::new("python3")
        .env("PYTHONPATH", &path)
        .args(["-c", "import tensorboard"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (ok, std::env::var_os("CI").is_some()) {
        (true, _) => Some(path),
        (false, true) => panic!(
            "tensorboard not importable from {}: run scripts/setup.sh",
            path.display()
        ),
        (false, false) => {
            eprintln!(
                "skipping: tensorboard not found in {} (run scripts/setup.sh)",
                path.display()
            );
            None
        }
    }
}

/// TensorBoard itself reads every number of `metrics.jsonl` from the run's
/// event file, at its step, once, also after a resume (which writes the
/// file again from the lines the metrics file kept).
#[test]
fn tensorboard_reads_the_metrics_of_a_resumed_run() {
    let Some(tb) = tensorboard_path() else {
        return;
    };
    let dir = scratch("tensorboard");
    let data = RunData {
        data: dataset(&dir.join("d.hdf5"), 4, 2),
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: None,
        eval: Some(dataset(&dir.join("e.hdf5"), 2, 2)),
        teacher: None,
    };
    let run = RunDir::new(dir.join("run"));
    let config = tiny("lapo-mini", 7);
    train(&run, Some(&config), &data, Device::Cpu, Some(4), |_| {}).unwrap();
    train(&run, None, &data, Device::Cpu, None, |_| {}).unwrap();
    let script = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))
"#;
    let out = std::process::Command::new("python3")
        .env("PYTHONPATH", &tb)
        .args(["-c", script])
        .arg(&run.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: std::collections::BTreeMap<String, Vec<(i64, f64)>> =
        serde_json::from_slice(&out.stdout).unwrap();
    // Compared as the f32 TensorBoard stores (JSON's decimal round trip
    // may move the last bit of the f64).
    let read: std::collections::BTreeMap<String, Vec<(i64, f32)>> = read
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(s, x)| (s, x as f32)).collect()))
        .collect();
    // What metrics.jsonl says, as TensorBoard stores it (f32).
    let mut expected: std::collections::BTreeMap<String, Vec<(i64, f32)>> = Default::default();
    for line in std::fs::read_to_string(run.metrics()).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let step = v["step"].as_i64().unwrap();
        for (k, x) in v.as_object().unwrap() {
            let mut put = |tag: String, x: f64| {
                expected.entry(tag).or_default().push((step, x as f32));
            };
            match x {
                serde_json::Value::Number(n) if k != "step" => {
                    put(format!("train/{k}"), n.as_f64().unwrap())
                }
                serde_json::Value::Object(o) => {
                    for (name, x) in o {
                        put(format!("{k}/{name}"), x.as_f64().unwrap());
                    }
                }
                _ => {}
            }
        }
    }
    assert!(expected.contains_key("train/loss") && expected.contains_key("eval/action_mse"));
    assert_eq!(expected["train/loss"].len(), 7, "{expected:?}");
    // Same tags, steps and values (to the last f32 bit but one: the JSON
    // text of metrics.jsonl rounds the f64 it stands for).
    assert_eq!(
        read.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (tag, points) in &expected {
        let got = &read[tag];
        assert_eq!(got.len(), points.len(), "{tag}: {got:?} {points:?}");
        for ((s1, x1), (s2, x2)) in got.iter().zip(points) {
            assert_eq!(s1, s2, "{tag}");
            assert!(
                (x1 - x2).abs() <= 2.0 * f32::EPSILON * x2.abs().max(1e-30),
                "{tag} at step {s1}: {x1} read, {x2} logged"
            );
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Cross-embodiment pre-training: a LAM on two tasks' files at once (their
/// action and state sizes differ), then teaching latent BC and probed on a
/// third task's file; supervision with a labeled file per task; one task
/// twice is refused.
#[test]
fn a_lam_trains_on_several_tasks_and_serves_another() {
    let dir = scratch("cross");
    let file = |name: &str, a: usize, task: (&str, &str)| {
        dataset_of(&dir.join(name), 4, a, "vanilla", task)
    };
    let cheetah = file("cheetah.hdf5", 2, ("cheetah", "run"));
    let walker = file("walker.hdf5", 3, ("walker", "run"));
    let hopper = file("hopper.hdf5", 1, ("hopper", "hop"));
    let both = RunData {
        data: cheetah.clone(),
        also: vec![walker.clone()],
        labeled: None,
        also_labeled: Vec::new(),
        eval: Some(cheetah.clone()),
        teacher: None,
    };
    let lam = RunDir::new(dir.join("lam"));
    let s = train(
        &lam,
        Some(&tiny("lapo-mini", 4)),
        &both,
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap();
    assert_eq!(s.steps, 4);
    assert!(s.final_loss.is_finite());
    let (t, meta) = Trainer::load(&lam.checkpoint(), Device::Cpu).unwrap();
    // Each task's actions in columns of their own: 2 + 3.
    assert_eq!((t.shape.action_dim, t.shape.state_dim), (5, 2));
    assert_eq!(meta["data.tasks"], "cheetah-run,walker-run");
    // Resuming reads the files back from data.toml.
    assert_eq!(lam.read_data().unwrap(), both);

    // Latent BC on a third task, taught by the cross-task LAM.
    let latent_bc = RunData {
        data: hopper.clone(),
        also: Vec::new(),
        also_labeled: Vec::new(),
        labeled: None,
        eval: None,
        teacher: Some(lam.checkpoint()),
    };
    let config = RunConfig::preset("latent-bc-mini")
        .unwrap()
        .with_overrides(&[
            "train.steps=2".to_string(),
            "train.batch_size=8".into(),
            "train.warmup_steps=1".into(),
        ])
        .unwrap();
    let actor = RunDir::new(dir.join("actor"));
    train(&actor, Some(&config), &latent_bc, Device::Cpu, None, |_| {}).unwrap();
    // A decoder's teacher (a latent BC actor) must match its data.
    let decoder = RunConfig::preset("decoder-mini")
        .unwrap()
        .with_overrides(&[
            "train.steps=2".to_string(),
            "train.batch_size=8".into(),
            "train.warmup_steps=1".into(),
        ])
        .unwrap();
    let refused = RunData {
        teacher: Some(actor.checkpoint()),
        data: cheetah.clone(),
        ..latent_bc.clone()
    };
    let e = train(
        &RunDir::new(dir.join("x")),
        Some(&decoder),
        &refused,
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("teacher"), "{e}");

    // Probed in closed form on the third task's file.
    let spec = lam_train::probe::ProbeSpec {
        run: lam.root.clone(),
        data: hopper.clone(),
        eval_data: Some(hopper.clone()),
        samples: 32,
        ridge: 1e-3,
        seed: 0,
        max_offset: None,
        device: Device::Cpu,
        leakage: None,
    };
    let p = lam_train::probe::probe(&spec, &mut |_, _, _| {}).unwrap();
    assert!(p.latent_action.unwrap().mse.is_finite());

    // Supervision on several tasks: a labeled file per task, one head each.
    let supervised = RunData {
        labeled: Some(cheetah.clone()),
        also_labeled: vec![walker.clone()],
        ..both.clone()
    };
    let run = RunDir::new(dir.join("supervised"));
    let s = train(
        &run,
        Some(&tiny("laom-labels-mini", 3)),
        &supervised,
        Device::Cpu,
        None,
        |_| {},
    )
    .unwrap();
    assert!(s.final_loss.is_finite());
    let lines = std::fs::read_to_string(run.metrics()).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    let action_loss = first["action_loss"].as_f64().unwrap();
    assert!(action_loss.is_finite() && action_loss > 0.0, "{first}");
    // Refused before any training, saying why.
    let refused = |name: &str, preset: &str, data: &RunData| {
        let run = RunDir::new(dir.join(name));
        train(
            &run,
            Some(&tiny(preset, 2)),
            data,
            Device::Cpu,
            None,
            |_| {},
        )
        .unwrap_err()
        .to_string()
    };
    let unpaired = RunData {
        also_labeled: Vec::new(),
        ..supervised.clone()
    };
    let e = refused("y", "laom-labels-mini", &unpaired);
    assert!(e.contains("--also-labeled"), "{e}");
    let alone = RunData {
        also: Vec::new(),
        ..supervised.clone()
    };
    let e = refused("v", "laom-labels-mini", &alone);
    assert!(e.contains("--also-labeled"), "{e}");
    let swapped = RunData {
        also_labeled: vec![hopper.clone()],
        ..supervised.clone()
    };
    let e = refused("w", "laom-labels-mini", &swapped);
    assert!(e.contains("hopper-hop") && e.contains("walker-run"), "{e}");
    let twice = RunData {
        also: vec![walker.clone(), walker.clone()],
        ..both.clone()
    };
    let e = refused("z", "lapo-mini", &twice);
    assert!(e.contains("one file per task"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

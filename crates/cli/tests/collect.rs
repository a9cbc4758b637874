//! `lam collect` end to end (short episodes, small frames): the file does
//! not depend on the number of workers, on sharding then merging, or on
//! being interrupted and resumed.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ok as lam, published};

use lam_data::DatasetReader;

/// A hopper-hop collection into `out` at 16 px, then `extra`.
fn collect_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let expert = published(lam_env::TaskId::HopperHop);
    let mut args: Vec<String> = [
        "collect",
        "--task",
        "hopper-hop",
        "--preset",
        "easy",
        "--expert",
        expert.to_str().unwrap(),
        "--img",
        "16",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// [`collect_args`] with 12-step episodes from seed 3, which must succeed.
fn collect(out: &Path, extra: &[&str]) -> String {
    let args = collect_args(
        out,
        &[&["--episode-length", "12", "--seed", "3"], extra].concat(),
    );
    lam(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Every trajectory of a file, in order.
fn contents(path: &Path) -> Vec<lam_data::Trajectory> {
    let r = DatasetReader::open(path).unwrap();
    (0..r.len()).map(|i| r.trajectory(i).unwrap()).collect()
}

#[test]
fn workers_shards_and_resumes_give_the_same_file() {
    let dir = common::scratch("collect", "same");
    let one = dir.join("one.hdf5");
    collect(&one, &["--trajectories", "4", "--workers", "1"]);
    let reference = contents(&one);
    assert_eq!(reference.len(), 4);
    assert!(reference
        .iter()
        .all(|t| t.len() == 12 && t.frame == (16, 16)));
    assert_ne!(reference[0].obs, reference[1].obs, "trajectories differ");

    let two = dir.join("two.hdf5");
    collect(&two, &["--trajectories", "4", "--workers", "2"]);
    assert_eq!(contents(&two), reference);

    let (a, b) = (dir.join("a.hdf5"), dir.join("b.hdf5"));
    collect(&a, &["--trajectories", "4", "--shard", "0/2"]);
    collect(&b, &["--trajectories", "4", "--shard", "1/2"]);
    let merged = dir.join("merged.hdf5");
    lam(&[
        "data",
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(contents(&merged), reference);

    // An interrupted collection: two trajectories in the .partial file.
    let resumed = dir.join("resumed.hdf5");
    let text = collect(&resumed, &["--trajectories", "4", "--until", "2"]);
    assert!(text.contains("stopped at 2 of 4"), "{text}");
    assert!(!resumed.exists());
    let partial = dir.join("resumed.hdf5.partial");
    assert_eq!(contents(&partial).len(), 2);
    // Starting afresh over it, or resuming with another setting, is refused
    // and leaves it as it was.
    let refused = |extra: &[&str]| {
        let args = collect_args(&resumed, &[&["--trajectories", "4"], extra].concat());
        common::fails(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let err = refused(&["--episode-length", "12", "--seed", "3"]);
    assert!(
        err.contains("--resume") && err.contains("interrupted"),
        "{err}"
    );
    let err = refused(&["--episode-length", "12", "--seed", "4", "--resume"]);
    assert!(err.contains("seed: 3 then, 4 now"), "{err}");
    let err = refused(&["--episode-length", "13", "--seed", "3", "--resume"]);
    assert!(err.contains("episode length: 12 then, 13 now"), "{err}");
    assert_eq!(contents(&partial).len(), 2);
    let text = collect(&resumed, &["--trajectories", "4", "--resume"]);
    assert!(text.contains("wrote 4 trajectories"), "{text}");
    assert_eq!(contents(&resumed), reference);
    assert!(!partial.exists());

    let info = lam(&["data", "info", resumed.to_str().unwrap()]);
    assert!(
        info.contains("hopper-hop") && info.contains("easy") && info.contains("4 (48 steps)"),
        "{info}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ground_truth_is_recorded_beside_the_same_published_data() {
    let dir = common::scratch("collect", "truth");
    let (plain, recorded) = (dir.join("plain.hdf5"), dir.join("recorded.hdf5"));
    collect(&plain, &["--trajectories", "2", "--workers", "1"]);
    collect(
        &recorded,
        &["--trajectories", "2", "--workers", "2", "--ground-truth"],
    );
    let (p, r) = (contents(&plain), contents(&recorded));
    for (p, r) in p.iter().zip(&r) {
        // The published datasets are exactly those of a plain collection.
        assert_eq!(
            (&p.obs, &p.states, &p.actions),
            (&r.obs, &r.states, &r.actions)
        );
        assert_eq!(p.ground_truth, None);
        let g = r.ground_truth.as_ref().unwrap();
        assert_eq!(g.agent_mask.len(), 12 * 16 * 16);
        // The hopper is in view: some agent pixels in every frame, and
        // the scenery in most.
        for frame in g.agent_mask.chunks(256) {
            let agent = frame.iter().filter(|&&m| m == 1).count();
            assert!((3..200).contains(&agent), "{agent} agent pixels");
        }
        // "easy": camera shake, colour drift and a background video.
        let cam = |t: usize| &g.camera[t * 4..t * 4 + 4];
        assert_ne!(cam(0), cam(11), "the camera moved");
        assert!(g.background.chunks(2).all(|b| b[0] >= 0 && b[1] >= 0));
        assert!(g.colour.iter().any(|&c| c != 0.0));
        assert!(g.background_grid.iter().any(|&v| v > 0.0));
    }
    // A resume must keep recording it.
    let part = dir.join("part.hdf5");
    collect(
        &part,
        &["--trajectories", "2", "--until", "1", "--ground-truth"],
    );
    let args = collect_args(
        &part,
        &[
            "--trajectories",
            "2",
            "--episode-length",
            "12",
            "--seed",
            "3",
            "--resume",
        ],
    );
    let err = common::fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("ground truth: recorded then, (not set) now"),
        "{err}"
    );
    collect(
        &part,
        &["--trajectories", "2", "--resume", "--ground-truth"],
    );
    assert_eq!(contents(&part), r);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn action_noise_moves_the_states_and_keeps_the_experts_labels() {
    let dir = common::scratch("collect", "noise");
    let (greedy, noisy) = (dir.join("greedy.hdf5"), dir.join("noisy.hdf5"));
    collect(&greedy, &["--trajectories", "2", "--clip-actions"]);
    let noise = [
        "--trajectories",
        "2",
        "--clip-actions",
        "--action-noise",
        "0.5",
    ];
    collect(&noisy, &noise);
    let (g, n) = (contents(&greedy), contents(&noisy));
    let expert = lam_experts::load_expert(&published(lam_env::TaskId::HopperHop)).unwrap();
    for (g, n) in g.iter().zip(&n) {
        // The same reset and expert: the first state and label agree ...
        let (s, a) = (g.state_size, g.action_size);
        assert_eq!(g.states[..s], n.states[..s]);
        assert_eq!(g.actions[..a], n.actions[..a]);
        // ... then the executed noise takes the body elsewhere, and every
        // stored action is still the expert's own (clipped) output there.
        assert_ne!(g.states, n.states);
        for (state, stored) in n.states.chunks(s).zip(n.actions.chunks(a)) {
            let state: Vec<f64> = state.iter().map(|&v| v as f64).collect();
            for (want, got) in expert.act(&state).iter().zip(stored) {
                let want = want.clamp(-1.0, 1.0);
                assert!((want - *got as f64).abs() < 1e-3, "{want} vs {got}");
            }
        }
    }
    // Seeded: the same noise again.
    let again = dir.join("again.hdf5");
    collect(&again, &noise);
    assert_eq!(contents(&again), n);
}

#[test]
fn bad_requests_are_clear_errors() {
    let dir = common::scratch("collect", "bad");
    let out = dir.join("x.hdf5");
    let expert = published(lam_env::TaskId::HopperHop);
    let run = common::fails;
    let base = [
        "collect",
        "--task",
        "hopper-hop",
        "--expert",
        expert.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    assert!(run(&with(&base, &["--trajectories", "2", "--preset", "harder"])).contains("harder"));
    assert!(run(&with(&base, &["--trajectories", "0"])).contains("at least 1"));
    let noise = &["--trajectories", "2", "--action-noise", "3"];
    assert!(run(&with(&base, noise)).contains("--action-noise 3"));
    assert!(run(&with(&base, &["--trajectories", "2", "--shard", "5/2"])).contains("5/2"));
    assert!(run(&with(&base, &["--trajectories", "2", "--resume"])).contains("nothing to resume"));
    let walker = published(lam_env::TaskId::WalkerRun);
    let err = run(&[
        "collect",
        "--task",
        "hopper-hop",
        "--expert",
        walker.to_str().unwrap(),
        "--trajectories",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("checkpoint.pt"), "{err}");
    let err = run(&["data", "info", dir.join("none.hdf5").to_str().unwrap()]);
    assert!(err.contains("none.hdf5"), "{err}");
    // Each cause once (library errors quote theirs already).
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    let words: Vec<&str> = lines[0].split(": ").collect();
    let mut unique = words.clone();
    unique.dedup();
    assert_eq!(words, unique, "a cause printed twice: {err}");
    // A dataset of a task lam does not know is refused before training.
    let odd = dir.join("odd.hdf5");
    let mut w = lam_data::DatasetWriter::create(
        &odd,
        lam_data::DatasetAttrs {
            domain_name: "nowhere".into(),
            task_name: "run".into(),
            difficulty: "vanilla".into(),
            dynamic: false,
            img_hw: 8,
            split: "train".into(),
            dataset_return: None,
        },
        &lam_data::WriteOptions::default(),
    )
    .unwrap();
    w.append(&lam_data::Trajectory {
        ground_truth: None,
        obs: vec![0; 20 * 8 * 8 * 3],
        states: vec![0.0; 20],
        actions: vec![0.0; 20],
        traj_return: 0.0,
        frame: (8, 8),
        state_size: 1,
        action_size: 1,
    })
    .unwrap();
    w.finish().unwrap();
    let err = run(&[
        "train",
        "--preset",
        "lapo-mini",
        "--data",
        odd.to_str().unwrap(),
        "--out",
        dir.join("run").to_str().unwrap(),
    ]);
    assert!(
        err.contains("\"nowhere\"") && err.contains("no known task"),
        "{err}"
    );
    // Sizes that cannot work are refused before any work (and leave nothing).
    for (flag, value, says) in [
        ("--img", "100000", "frame side"),
        ("--episode-length", "0", "at least 1"),
        ("--supersample", "0", "rays per pixel"),
        ("--workers", "0", "at least 1"),
    ] {
        let err = run(&with(&base, &["--trajectories", "1", flag, value]));
        assert!(
            err.contains(flag) || err.contains(says),
            "{flag} {value}: {err}"
        );
        assert!(
            !dir.join("x.hdf5.partial").exists(),
            "{flag} {value} left a partial file"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_second_writer_is_refused_and_the_first_file_stays_whole() {
    let dir = common::scratch("collect", "writers");
    let out = dir.join("c.hdf5");
    let expert = published(lam_env::TaskId::HopperHop);
    let args = [
        "collect",
        "--task",
        "hopper-hop",
        "--preset",
        "easy",
        "--expert",
        expert.to_str().unwrap(),
        "--episode-length",
        "1000",
        "--img",
        "32",
        "--trajectories",
        "6",
        "--workers",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    let first = Command::new(env!("CARGO_BIN_EXE_lam"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first has begun its file.
    let partial = dir.join("c.hdf5.partial");
    let began = std::time::Instant::now();
    while !partial.exists() && began.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let err = common::fails(&args);
    assert!(err.contains("another process"), "{err}");
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(contents(&out).len(), 6);
    std::fs::remove_dir_all(dir).unwrap();
}

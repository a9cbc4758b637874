//! `lam collect` end to end (short episodes, small frames): the file does
//! not depend on the number of workers, on sharding then merging, or on
//! being interrupted and resumed.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ok as lam, published};

use lam_data::DatasetReader;

fn collect(out: &Path, extra: &[&str]) -> String {
    let expert = published(lam_env::TaskId::HopperHop);
    let mut args = vec![
        "collect",
        "--task",
        "hopper-hop",
        "--preset",
        "easy",
        "--expert",
        expert.to_str().unwrap(),
        "--episode-length",
        "12",
        "--img",
        "16",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    lam(&args)
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
    let first = dir.join("first.hdf5");
    collect(&first, &["--trajectories", "2"]);
    std::fs::rename(&first, dir.join("resumed.hdf5.partial")).unwrap();
    let text = collect(&resumed, &["--trajectories", "4", "--resume"]);
    assert!(text.contains("wrote 4 trajectories"), "{text}");
    assert_eq!(contents(&resumed), reference);

    let info = lam(&["data", "info", resumed.to_str().unwrap()]);
    assert!(
        info.contains("hopper-hop") && info.contains("easy") && info.contains("4 (48 steps)"),
        "{info}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_requests_are_clear_errors() {
    let dir = common::scratch("collect", "bad");
    let out = dir.join("x.hdf5");
    let expert = published(lam_env::TaskId::HopperHop);
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_lam"))
            .args(args)
            .output()
            .unwrap();
        assert!(!o.status.success(), "lam {args:?} should fail");
        String::from_utf8_lossy(&o.stderr).to_string()
    };
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
    std::fs::remove_dir_all(dir).unwrap();
}

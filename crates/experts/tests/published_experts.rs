//! The published expert checkpoints in ../shared/reference/experts: loading,
//! clear errors on bad files, and a short version of the return check.

use std::path::{Path, PathBuf};

use lam_env::{Environment, TaskId};
use lam_experts::{check_fits, evaluate, load_expert, ExpertError};

/// ../shared beside the repository (or $LAM_SHARED_DIR). CI always has it.
fn shared() -> PathBuf {
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

fn checkpoint(task: TaskId) -> PathBuf {
    lam_experts::published_checkpoint(&shared().join("reference/experts"), task)
}

#[test]
fn every_expert_fits_its_task() {
    for (task, obs, act) in [
        (TaskId::CheetahRun, 17, 6),
        (TaskId::WalkerRun, 24, 6),
        (TaskId::HopperHop, 15, 4),
        (TaskId::HumanoidWalk, 67, 21),
    ] {
        let policy = load_expert(&checkpoint(task)).unwrap();
        assert_eq!(policy.observation_size(), obs, "{task}");
        assert_eq!(policy.action_size(), act, "{task}");
        let action = policy.act(&vec![0.0; obs]);
        assert!(action.iter().all(|a| a.is_finite()));
    }
}

#[test]
fn a_checkpoint_for_another_task_is_refused_with_both_sizes() {
    let path = checkpoint(TaskId::WalkerRun);
    let policy = load_expert(&path).unwrap();
    let err = check_fits(policy.as_ref(), &path, TaskId::HopperHop, 15, 4).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ExpertError::TaskMismatch { .. }));
    for needle in ["walker-run/checkpoint.pt", "hopper-hop", "15", "24"] {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
}

#[test]
fn missing_and_corrupt_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("nope.pt");
    let text = load_expert(&missing).unwrap_err().to_string();
    assert!(text.contains("nope.pt"), "{text}");

    let garbage = dir.path().join("garbage.pt");
    std::fs::write(&garbage, b"this is not a checkpoint").unwrap();
    let err = load_expert(&garbage).unwrap_err();
    assert!(matches!(err, ExpertError::Format { .. }), "{err}");
    assert!(err.to_string().contains("garbage.pt"));

    let bytes = std::fs::read(checkpoint(TaskId::CheetahRun)).unwrap();
    let truncated = dir.path().join("truncated.pt");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_expert(&truncated).unwrap_err();
    assert!(err.to_string().contains("truncated.pt"), "{err}");

    // A zip that is not a torch checkpoint.
    let other = dir.path().join("other.zip");
    {
        let file = std::fs::File::create(&other).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        zip.start_file("hello.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, b"hi").unwrap();
        zip.finish().unwrap();
    }
    let err = load_expert(&other).unwrap_err();
    assert!(matches!(err, ExpertError::Format { .. }), "{err}");
}

/// Returns under Debian's MuJoCo 2.2.2 measured over 100 episodes (TASKS.md),
/// and the tolerance of the acceptance check (5 %, humanoid 10 %).
fn reference(task: TaskId) -> (f64, f64) {
    match task {
        TaskId::CheetahRun => (836.1, 0.05),
        TaskId::WalkerRun => (732.0, 0.05),
        TaskId::HopperHop => (313.6, 0.05),
        TaskId::HumanoidWalk => (617.0, 0.10),
    }
}

/// The acceptance check of the foundation issue: 20 greedy episodes per task
/// (seeds 0..19, as `lam expert eval --episodes 20` runs them).
#[test]
fn experts_reach_their_published_returns() {
    for task in TaskId::ALL {
        let path = checkpoint(task);
        let policy = load_expert(&path).unwrap();
        let env = Environment::new(task, 0).unwrap();
        check_fits(
            policy.as_ref(),
            &path,
            task,
            env.observation_size(),
            env.action_size(),
        )
        .unwrap();
        let episodes = 20;
        let returns = evaluate(task, policy.as_ref(), episodes, 0, 2, &|_| {}).unwrap();
        let mean = returns.iter().map(|r| r.total).sum::<f64>() / episodes as f64;
        let (expected, tolerance) = reference(task);
        eprintln!("{task}: mean return {mean:.1} over {episodes} episodes (reference {expected})");
        assert!(
            (mean - expected).abs() <= tolerance * expected,
            "{task}: mean return {mean:.1} is not within {:.0}% of {expected}",
            tolerance * 100.0
        );
    }
}

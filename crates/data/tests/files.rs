//! Dataset files: round trips, files from another writer, resuming, and
//! the errors for files that do not follow the layout.

use std::path::{Path, PathBuf};

use hdf5::types::{FixedAscii, VarLenUnicode};
use lam_data::ops::{merge, sample_labeled};
use std::collections::BTreeMap;

use lam_data::{
    partial_path, DataError, DatasetAttrs, DatasetReader, DatasetWriter, Trajectory, WriteOptions,
};

/// Settings of a collection, as `lam collect` records them.
fn settings(seed: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("seed".to_string(), seed.to_string()),
        ("expert sha256".to_string(), "abc".to_string()),
    ])
}

fn options(seed: &str) -> WriteOptions {
    WriteOptions {
        overwrite: false,
        settings: settings(seed),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lam-data-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn attrs() -> DatasetAttrs {
    DatasetAttrs {
        domain_name: "cheetah".into(),
        task_name: "run".into(),
        difficulty: "scale_easy_video_hard".into(),
        dynamic: true,
        img_hw: 4,
        split: "train".into(),
        dataset_return: None,
    }
}

/// A trajectory whose every value encodes (trajectory, step).
fn trajectory(id: u8, len: usize) -> Trajectory {
    Trajectory {
        ground_truth: None,
        obs: (0..len * 4 * 4 * 3)
            .map(|i| id.wrapping_mul(31).wrapping_add((i / 48) as u8))
            .collect(),
        states: (0..len * 5)
            .map(|i| id as f32 * 1000.0 + i as f32)
            .collect(),
        actions: (0..len * 2)
            .map(|i| -(id as f32) - i as f32 * 0.5)
            .collect(),
        traj_return: 100.0 * id as f64 + 0.25,
        frame: (4, 4),
        state_size: 5,
        action_size: 2,
    }
}

fn write(path: &Path, trajectories: &[Trajectory]) {
    let mut w = DatasetWriter::create(path, attrs(), &options("0")).unwrap();
    for t in trajectories {
        w.append(t).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn write_then_read_gives_back_every_value() {
    let dir = scratch("roundtrip");
    let path = dir.join("data.hdf5");
    let trajs = vec![trajectory(1, 7), trajectory(2, 3), trajectory(3, 10)];
    write(&path, &trajs);
    assert!(
        !partial_path(&path).exists(),
        "the partial file was moved into place"
    );
    let r = DatasetReader::open(&path).unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r.lengths(), &[7, 3, 10]);
    assert_eq!((r.frame(), r.state_size(), r.action_size()), ((4, 4), 5, 2));
    let mean = (100.25 + 200.25 + 300.25) / 3.0;
    assert_eq!(
        r.attrs(),
        &DatasetAttrs {
            dataset_return: Some(mean),
            ..attrs()
        }
    );
    for (i, t) in trajs.iter().enumerate() {
        assert_eq!(&r.trajectory(i).unwrap(), t);
    }
    assert_eq!(
        r.read_obs(2, 4..6).unwrap(),
        trajs[2].obs[4 * 48..6 * 48].to_vec()
    );
    // Actions reach -7.5 in the first two trajectories, -12.5 in the third.
    let two = r.action_range(2).unwrap();
    assert_eq!((two.largest, two.trajectories), (7.5, 2));
    let all = r.action_range(99).unwrap();
    assert_eq!((all.largest, all.trajectories), (12.5, 3));
    assert!(all
        .to_string()
        .contains("raw expert outputs (max |a| 12.50 in the first 3"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_from_another_writer_reads_back() {
    // The layout as another program might write it: fixed-length ASCII
    // strings, an integer for `dynamic`, float64 states, no chunking, an
    // extra non-trajectory member.
    let dir = scratch("foreign");
    let path = dir.join("foreign.hdf5");
    {
        let f = hdf5::File::create(&path).unwrap();
        let text = |name: &str, v: &str| {
            f.new_attr::<FixedAscii<32>>()
                .create(name)
                .unwrap()
                .write_scalar(&FixedAscii::<32>::from_ascii(v.as_bytes()).unwrap())
                .unwrap();
        };
        text("domain_name", "walker");
        text("task_name", "run");
        text("difficulty", "vanilla");
        text("split", "val");
        f.new_attr::<u8>()
            .create("dynamic")
            .unwrap()
            .write_scalar(&0u8)
            .unwrap();
        f.new_attr::<i32>()
            .create("img_hw")
            .unwrap()
            .write_scalar(&2i32)
            .unwrap();
        f.new_attr::<VarLenUnicode>()
            .create("note")
            .unwrap()
            .write_scalar(&"written elsewhere".parse::<VarLenUnicode>().unwrap())
            .unwrap();
        f.create_group("metadata").unwrap();
        for g in 0..2usize {
            let grp = f.create_group(&g.to_string()).unwrap();
            let obs: Vec<u8> = (0..3 * 2 * 2 * 3).map(|v| (v + g) as u8).collect();
            grp.new_dataset::<u8>()
                .shape([3, 2, 2, 3])
                .create("obs")
                .unwrap()
                .write_raw(&obs)
                .unwrap();
            let states: Vec<f64> = (0..6).map(|v| v as f64 / 4.0).collect();
            grp.new_dataset::<f64>()
                .shape([3, 2])
                .create("states")
                .unwrap()
                .write_raw(&states)
                .unwrap();
            let actions: Vec<f32> = vec![0.5; 3];
            grp.new_dataset::<f32>()
                .shape([3, 1])
                .create("actions")
                .unwrap()
                .write_raw(&actions)
                .unwrap();
            grp.new_attr::<f32>()
                .create("traj_return")
                .unwrap()
                .write_scalar(&(g as f32 + 0.5))
                .unwrap();
        }
    }
    let r = DatasetReader::open(&path).unwrap();
    assert_eq!(r.attrs().domain_name, "walker");
    assert_eq!(r.attrs().split, "val");
    assert!(!r.attrs().dynamic);
    assert_eq!(r.attrs().img_hw, 2);
    assert_eq!(r.attrs().dataset_return, None);
    assert_eq!(r.returns(), &[0.5, 1.5]);
    let t = r.trajectory(1).unwrap();
    assert_eq!(t.states, vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
    assert_eq!(t.obs[0], 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_interrupted_collection_keeps_its_trajectories_and_resumes() {
    let dir = scratch("resume");
    let path = dir.join("data.hdf5");
    {
        let mut w = DatasetWriter::create(&path, attrs(), &options("0")).unwrap();
        w.append(&trajectory(1, 5)).unwrap();
        w.append(&trajectory(2, 5)).unwrap();
        // Interrupted: never finished, and a third trajectory half written.
        let f = hdf5::File::open_rw(w.partial_path()).unwrap();
        f.create_group("_writing").unwrap();
        drop(f);
        drop(w);
    }
    assert!(!path.exists());
    let partial = partial_path(&path);
    // The partial file is valid and holds the finished trajectories.
    let r = DatasetReader::open(&partial).unwrap();
    assert_eq!(r.len(), 2);
    drop(r);
    // Resuming with other settings is refused, naming both.
    let other = DatasetAttrs {
        difficulty: "hard".into(),
        ..attrs()
    };
    let err = DatasetWriter::resume(&path, other, &settings("0"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hard") && err.contains("scale_easy_video_hard"),
        "{err}"
    );
    // So is resuming with another seed (a recorded setting), naming it and both values.
    let err = DatasetWriter::resume(&path, attrs(), &settings("7"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("seed: 0 then, 7 now"), "{err}");
    // And starting afresh over the interrupted file without saying so.
    let err = DatasetWriter::create(&path, attrs(), &options("0")).unwrap_err();
    assert!(matches!(err, DataError::Unfinished(_)), "{err}");
    assert!(err.to_string().contains("--resume"), "{err}");
    assert_eq!(DatasetReader::open(&partial).unwrap().len(), 2);
    let mut w = DatasetWriter::resume(&path, attrs(), &settings("0")).unwrap();
    assert_eq!(w.len(), 2);
    w.append(&trajectory(3, 5)).unwrap();
    w.finish().unwrap();
    let r = DatasetReader::open(&path).unwrap();
    assert_eq!(r.len(), 3);
    for i in 0..3 {
        assert_eq!(r.trajectory(i).unwrap(), trajectory(i as u8 + 1, 5));
    }
    drop(r);
    // The finished file holds exactly the published root attributes.
    let f = hdf5::File::open(&path).unwrap();
    let mut names = f.attr_names().unwrap();
    names.sort();
    assert_eq!(
        names,
        [
            "dataset_return",
            "difficulty",
            "domain_name",
            "dynamic",
            "img_hw",
            "split",
            "task_name"
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn one_writer_per_output_and_nothing_replaced_unasked() {
    let dir = scratch("writers");
    let path = dir.join("data.hdf5");
    let mut first = DatasetWriter::create(&path, attrs(), &options("0")).unwrap();
    first.append(&trajectory(1, 4)).unwrap();
    // A second writer is refused before it touches the first one's file,
    // whether it starts afresh, resumes or forces.
    for err in [
        DatasetWriter::create(&path, attrs(), &options("0")).unwrap_err(),
        DatasetWriter::resume(&path, attrs(), &settings("0")).unwrap_err(),
        DatasetWriter::create(
            &path,
            attrs(),
            &WriteOptions {
                overwrite: true,
                ..options("0")
            },
        )
        .unwrap_err(),
    ] {
        assert!(matches!(err, DataError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("data.hdf5"), "{err}");
    }
    first.append(&trajectory(2, 4)).unwrap();
    first.finish().unwrap();
    let r = DatasetReader::open(&path).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r.trajectory(1).unwrap(), trajectory(2, 4));
    drop(r);
    // A finished file is replaced only when asked.
    let err = DatasetWriter::create(&path, attrs(), &options("0")).unwrap_err();
    assert!(matches!(err, DataError::Exists(_)), "{err}");
    assert_eq!(DatasetReader::open(&path).unwrap().len(), 2);
    let over = WriteOptions {
        overwrite: true,
        ..options("0")
    };
    let mut w = DatasetWriter::create(&path, attrs(), &over).unwrap();
    w.append(&trajectory(3, 2)).unwrap();
    w.finish().unwrap();
    assert_eq!(DatasetReader::open(&path).unwrap().len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn labeled_subsets_and_merges() {
    let dir = scratch("ops");
    let a = dir.join("a.hdf5");
    let b = dir.join("b.hdf5");
    write(
        &a,
        &[
            trajectory(1, 3),
            trajectory(2, 4),
            trajectory(3, 5),
            trajectory(4, 6),
        ],
    );
    write(&b, &[trajectory(5, 2)]);
    let sub = dir.join("sub.hdf5");
    let chosen = sample_labeled(&a, 2, 7, &sub, false).unwrap();
    assert_eq!(chosen.len(), 2);
    assert!(chosen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        chosen,
        sample_labeled(&a, 2, 7, &dir.join("sub2.hdf5"), false).unwrap()
    );
    let r = DatasetReader::open(&sub).unwrap();
    assert_eq!(
        r.trajectory(0).unwrap(),
        trajectory(chosen[0] as u8 + 1, 3 + chosen[0])
    );
    // An existing subset is replaced only with overwrite.
    let err = sample_labeled(&a, 2, 8, &sub, false).unwrap_err();
    assert!(matches!(err, DataError::Exists(_)), "{err}");
    sample_labeled(&a, 2, 8, &sub, true).unwrap();
    let err = sample_labeled(&a, 5, 0, &dir.join("x.hdf5"), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a.hdf5") && err.contains("5") && err.contains("holds 4"),
        "{err}"
    );
    let merged = dir.join("m.hdf5");
    assert_eq!(merge(&[a.clone(), b.clone()], &merged, false).unwrap(), 5);
    // The same file twice, or the output among the inputs, is refused.
    let twice = dir.join("twice.hdf5");
    let err = merge(&[a.clone(), b.clone(), dir.join("./a.hdf5")], &twice, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("given twice (inputs 1 and 3)"), "{err}");
    assert!(!twice.exists());
    let err = merge(&[merged.clone(), b.clone()], &merged, true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("into itself"), "{err}");
    assert!(matches!(
        merge(&[a.clone(), b.clone()], &merged, false),
        Err(DataError::Exists(_))
    ));
    let r = DatasetReader::open(&merged).unwrap();
    assert_eq!(r.lengths(), &[3, 4, 5, 6, 2]);
    assert_eq!(r.trajectory(4).unwrap(), trajectory(5, 2));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A valid file, then `spoil` applied to it; returns the reader's error.
fn broken(name: &str, spoil: impl FnOnce(&hdf5::File)) -> String {
    let dir = scratch(name);
    let path = dir.join("bad.hdf5");
    write(&path, &[trajectory(1, 3), trajectory(2, 3)]);
    spoil(&hdf5::File::open_rw(&path).unwrap());
    let err = DatasetReader::open(&path).unwrap_err().to_string();
    std::fs::remove_dir_all(dir).unwrap();
    err
}

#[test]
fn files_that_break_the_layout_are_named_errors() {
    let err = broken("nofield", |f| {
        f.group("1").unwrap().unlink("states").unwrap()
    });
    assert!(
        err.contains("bad.hdf5") && err.contains("group \"1\" dataset \"states\""),
        "{err}"
    );
    let err = broken("rows", |f| {
        let g = f.group("0").unwrap();
        g.unlink("actions").unwrap();
        g.new_dataset::<f32>()
            .shape([2, 2])
            .create("actions")
            .unwrap();
    });
    assert!(
        err.contains("group \"0\" dataset \"actions\"") && err.contains("3 rows"),
        "{err}"
    );
    let err = broken("obstype", |f| {
        let g = f.group("1").unwrap();
        g.unlink("obs").unwrap();
        g.new_dataset::<f32>()
            .shape([3, 4, 4, 3])
            .create("obs")
            .unwrap();
    });
    assert!(
        err.contains("uint8 [T, H, W, 3]") && err.contains("float32"),
        "{err}"
    );
    let err = broken("gap", |f| f.unlink("0").unwrap());
    assert!(err.contains("group \"0\""), "{err}");
    let err = broken("attr", |f| f.delete_attr("img_hw").unwrap());
    assert!(err.contains("attribute \"img_hw\""), "{err}");
    let err = broken("empty", |f| {
        f.unlink("0").unwrap();
        f.unlink("1").unwrap();
    });
    assert!(err.contains("no trajectories"), "{err}");
    let dir = scratch("missing");
    let err = DatasetReader::open(&dir.join("nope.hdf5")).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }) && err.to_string().contains("nope.hdf5"));
    std::fs::write(dir.join("text.hdf5"), "not hdf5").unwrap();
    let err = DatasetReader::open(&dir.join("text.hdf5"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("text.hdf5"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Everything a reader gives back from `path`: the trajectories, or the
/// first error.
fn read_all(path: &Path) -> Result<Vec<Trajectory>, DataError> {
    let r = DatasetReader::open(path)?;
    (0..r.len()).map(|i| r.trajectory(i)).collect()
}

#[test]
fn damaged_files_give_an_error_never_a_panic_nor_wrong_values() {
    let dir = scratch("mutations");
    let path = dir.join("good.hdf5");
    let trajs = vec![trajectory(1, 40), trajectory(2, 33)];
    write(&path, &trajs);
    let good = std::fs::read(&path).unwrap();
    assert_eq!(read_all(&path).unwrap(), trajs);
    let bad = dir.join("bad.hdf5");
    let (mut errors, mut same) = (0, 0);
    let mut check = |bytes: &[u8], what: String| {
        std::fs::write(&bad, bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| read_all(&bad));
        match outcome {
            Err(_) => panic!("{what}: the reader panicked"),
            Ok(Err(_)) => errors += 1,
            // Bytes the reader never looks at (free space, padding).
            Ok(Ok(read)) if read == trajs => same += 1,
            Ok(Ok(_)) => panic!("{what}: read back different values without an error"),
        }
    };
    // Truncations at many offsets.
    let n = good.len();
    for i in 0..64 {
        let at = n * i / 64;
        check(&good[..at], format!("truncated to {at} of {n} bytes"));
    }
    // A flipped bit at many offsets (pixels, floats, attributes, metadata).
    for i in 0..256 {
        let at = (n * i) / 256 + i % 7;
        let mut bytes = good.clone();
        bytes[at.min(n - 1)] ^= 1 << (i % 8);
        check(&bytes, format!("bit {} of byte {at} flipped", i % 8));
    }
    assert!(errors > 64, "{errors} errors, {same} unchanged reads");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nan_in_actions_or_states_is_an_error_naming_where() {
    let dir = scratch("nan");
    let path = dir.join("nan.hdf5");
    let mut t = trajectory(2, 6);
    t.actions[2 * 3 + 1] = f32::NAN;
    write(&path, &[trajectory(1, 6), t]);
    let r = DatasetReader::open(&path).unwrap();
    assert!(r.read_actions(0).is_ok());
    let err = r.read_actions(1).unwrap_err().to_string();
    assert!(
        err.contains("group \"1\" dataset \"actions\" step 3 entry 1") && err.contains("NaN"),
        "{err}"
    );
    let err = r.read_actions_range(1, 2..5).unwrap_err().to_string();
    assert!(err.contains("step 3 entry 1"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `trajectory(id, len)` with ground truth whose every value encodes (id, step).
fn with_truth(id: u8, len: usize) -> Trajectory {
    Trajectory {
        ground_truth: Some(lam_data::GroundTruth {
            agent_mask: (0..len * 16)
                .map(|i| ((i + id as usize) % 2) as u8)
                .collect(),
            camera: (0..len * 4).map(|i| id as f64 + i as f64 * 0.125).collect(),
            background: (0..len * 2).map(|i| id as i32 * 100 + i as i32).collect(),
            background_grid: (0..len * 48).map(|i| (i % 256) as f32 / 255.0).collect(),
            colour: (0..len * 3 * 3)
                .map(|i| -(id as f32) + i as f32 * 0.01)
                .collect(),
            materials: 3,
        }),
        ..trajectory(id, len)
    }
}

#[test]
fn ground_truth_round_trips_through_subsets_and_merges_and_is_never_mixed() {
    let dir = scratch("truth");
    let (a, b) = (dir.join("a.hdf5"), dir.join("b.hdf5"));
    write(&a, &[with_truth(1, 3), with_truth(2, 4), with_truth(3, 2)]);
    write(&b, &[with_truth(4, 5)]);
    let r = DatasetReader::open(&a).unwrap();
    assert!(r.has_ground_truth());
    assert_eq!(r.trajectory(1).unwrap(), with_truth(2, 4));
    let light = r.read_ground_truth(2, false).unwrap().unwrap();
    assert!(light.agent_mask.is_empty());
    assert_eq!(light.camera, with_truth(3, 2).ground_truth.unwrap().camera);
    assert_eq!(
        r.read_agent_mask(0).unwrap().unwrap(),
        with_truth(1, 3).ground_truth.unwrap().agent_mask
    );
    let merged = dir.join("m.hdf5");
    merge(&[a.clone(), b.clone()], &merged, false).unwrap();
    let m = DatasetReader::open(&merged).unwrap();
    assert_eq!(m.trajectory(3).unwrap(), with_truth(4, 5));
    let sub = dir.join("sub.hdf5");
    let chosen = sample_labeled(&a, 1, 3, &sub, false).unwrap();
    let s = DatasetReader::open(&sub).unwrap();
    let i = chosen[0];
    assert_eq!(
        s.trajectory(0).unwrap(),
        with_truth(i as u8 + 1, [3, 4, 2][i])
    );
    // A file without it reads none; one writer never mixes both kinds.
    assert!(DatasetReader::open(&b)
        .unwrap()
        .read_ground_truth(0, true)
        .unwrap()
        .is_some());
    let plain = dir.join("plain.hdf5");
    write(&plain, &[trajectory(1, 3)]);
    let p = DatasetReader::open(&plain).unwrap();
    assert!(!p.has_ground_truth());
    assert_eq!(p.read_ground_truth(0, true).unwrap(), None);
    assert_eq!(p.read_agent_mask(0).unwrap(), None);
    let mut w = DatasetWriter::create(&dir.join("mixed.hdf5"), attrs(), &options("0")).unwrap();
    w.append(&with_truth(1, 3)).unwrap();
    let err = w.append(&trajectory(2, 3)).unwrap_err().to_string();
    assert!(err.contains("without ground truth"), "{err}");
    let err = merge(&[a.clone(), plain.clone()], &dir.join("m2.hdf5"), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ground truth"), "{err}");
    // Buffers that disagree with the trajectory are refused before writing.
    let mut bad = with_truth(1, 3);
    bad.ground_truth.as_mut().unwrap().camera.pop();
    let mut w = DatasetWriter::create(&dir.join("bad.hdf5"), attrs(), &options("0")).unwrap();
    let err = w.append(&bad).unwrap_err().to_string();
    assert!(
        err.contains("\"camera\"") && err.contains("11 values"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn broken_ground_truth_is_a_named_error() {
    let dir = scratch("badtruth");
    let path = dir.join("bad.hdf5");
    write(&path, &[with_truth(1, 3), with_truth(2, 3)]);
    let spoil = |f: &hdf5::File| {
        let g = f.group("1/ground_truth").unwrap();
        g.unlink("camera").unwrap();
        g.new_dataset::<f32>()
            .shape([3, 4])
            .create("camera")
            .unwrap();
    };
    spoil(&hdf5::File::open_rw(&path).unwrap());
    let err = DatasetReader::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("bad.hdf5")
            && err.contains("group \"1/ground_truth\" dataset \"camera\"")
            && err.contains("float64 [T, 4]"),
        "{err}"
    );
    let path = dir.join("half.hdf5");
    write(&path, &[with_truth(1, 3), with_truth(2, 3)]);
    hdf5::File::open_rw(&path)
        .unwrap()
        .group("0")
        .unwrap()
        .unlink("ground_truth")
        .unwrap();
    let err = DatasetReader::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("group \"1\"") && err.contains("no ground truth"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

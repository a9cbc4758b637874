//! Training batches: frame stacks at trajectory starts, offsets at
//! trajectory ends, and the same batches from memory and from streaming.

use std::path::{Path, PathBuf};

use lam_data::loader::{Batch, Loader, LoaderConfig, LoaderMode};
use lam_data::{DatasetAttrs, DatasetWriter, Trajectory};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lam-loader-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every byte of frame t of trajectory `id` is `code(id, t)`; states and
/// actions hold (id, t) too.
fn code(id: usize, t: usize) -> u8 {
    (id * 50 + t) as u8
}

fn trajectory(id: usize, len: usize) -> Trajectory {
    Trajectory {
        ground_truth: None,
        obs: (0..len)
            .flat_map(|t| std::iter::repeat_n(code(id, t), 2 * 2 * 3))
            .collect(),
        states: (0..len).flat_map(|t| [id as f32, t as f32, 0.5]).collect(),
        actions: (0..len).map(|t| (id * 1000 + t) as f32).collect(),
        traj_return: 1.0,
        frame: (2, 2),
        state_size: 3,
        action_size: 1,
    }
}

fn dataset(dir: &Path, lengths: &[usize]) -> PathBuf {
    let path = dir.join("d.hdf5");
    let attrs = DatasetAttrs {
        domain_name: "hopper".into(),
        task_name: "hop".into(),
        difficulty: "vanilla".into(),
        dynamic: true,
        img_hw: 2,
        split: "train".into(),
        dataset_return: None,
    };
    let mut w = DatasetWriter::create(
        &path,
        attrs,
        &lam_data::WriteOptions {
            overwrite: true,
            ..Default::default()
        },
    )
    .unwrap();
    for (id, &len) in lengths.iter().enumerate() {
        w.append(&trajectory(id, len)).unwrap();
    }
    w.finish().unwrap();
    path
}

/// The three stacked frame codes of sample `s` of a stack buffer (pixel 0).
fn stack_codes(stacks: &[u8], s: usize) -> [u8; 3] {
    let base = s * 2 * 2 * 9;
    [stacks[base], stacks[base + 3], stacks[base + 6]]
}

fn check(batch: &Batch, lengths: &[usize], max_offset: usize) {
    for (s, &(i, t)) in batch.positions.iter().enumerate() {
        let (i, t) = (i as usize, t as usize);
        let k = batch.offsets[s] as usize;
        assert!(k >= 1 && k <= max_offset, "k = {k}");
        assert!(
            t + k < lengths[i],
            "offset crosses the end: t {t} + k {k} in {}",
            lengths[i]
        );
        let expect = |end: usize| [0, 1, 2].map(|j| code(i, (end + j).saturating_sub(2)));
        assert_eq!(stack_codes(&batch.obs, s), expect(t));
        assert_eq!(stack_codes(&batch.next_obs, s), expect(t + 1));
        assert_eq!(stack_codes(&batch.future_obs, s), expect(t + k));
        assert_eq!(batch.actions[s], (i * 1000 + t) as f32);
        assert_eq!(&batch.states[3 * s..3 * s + 3], &[i as f32, t as f32, 0.5]);
    }
}

#[test]
fn stacks_pad_at_starts_and_offsets_stay_inside_trajectories() {
    let dir = scratch("inside");
    let lengths = [30, 5, 2, 12];
    let path = dataset(&dir, &lengths);
    let config = LoaderConfig {
        batch_size: 16,
        max_offset: 6,
        prefetch_threads: 0,
        ..LoaderConfig::default()
    };
    let mut loader = Loader::open(&path, config).unwrap();
    // Positions: 30-6 + (5-1 → t ≤ 3) ... every t where o_{t+1} exists.
    assert_eq!(loader.epoch_len(), (30 - 6) + 4 + 1 + (12 - 6));
    let mut starts = 0;
    let mut offsets = std::collections::HashSet::new();
    for _ in 0..40 {
        let b = loader.next_batch().unwrap();
        check(&b, &lengths, 6);
        starts += b.positions.iter().filter(|p| p.1 == 0).count();
        offsets.extend(b.offsets.iter().copied());
    }
    assert!(starts > 0, "trajectory starts were sampled");
    assert_eq!(offsets.len(), 6, "every offset 1..=6 occurs: {offsets:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn streaming_and_in_memory_give_the_same_batches_within_the_cache_budget() {
    let dir = scratch("modes");
    let lengths = [40, 33, 17, 50, 9];
    let path = dataset(&dir, &lengths);
    let base = LoaderConfig {
        batch_size: 8,
        max_offset: 5,
        seed: 11,
        ..LoaderConfig::default()
    };
    // The whole file: 149 steps of 12 frame bytes and 4 floats.
    let total = 149 * (12 + 16);
    let budget = 2000;
    assert!(budget < total);
    let streaming = LoaderConfig {
        mode: LoaderMode::Streaming {
            chunk_steps: 4,
            cache_bytes: budget,
        },
        ..base.clone()
    };
    let mut a = Loader::open(&path, base.clone()).unwrap();
    let mut b = Loader::open(&path, streaming).unwrap();
    let mut c = Loader::open(
        &path,
        LoaderConfig {
            prefetch_threads: 0,
            ..base.clone()
        },
    )
    .unwrap();
    for _ in 0..60 {
        let x = a.next_batch().unwrap();
        check(&x, &lengths, 5);
        assert_eq!(x, b.next_batch().unwrap());
        assert_eq!(x, c.next_batch().unwrap());
        assert!(
            b.cached_bytes() <= budget,
            "cache {} over budget",
            b.cached_bytes()
        );
    }
    // Another seed, other batches.
    let mut d = Loader::open(&path, LoaderConfig { seed: 12, ..base }).unwrap();
    let mut e = Loader::open(
        &path,
        LoaderConfig {
            seed: 11,
            batch_size: 8,
            max_offset: 5,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    assert_ne!(d.next_batch().unwrap(), e.next_batch().unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_loader_settings_are_errors() {
    let dir = scratch("bad");
    let path = dataset(&dir, &[1, 1]);
    let err = Loader::open(&path, LoaderConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("d.hdf5") && err.contains("nothing to sample"),
        "{err}"
    );
    let short = dataset(&dir.join("short"), &[6, 8]);
    let err = Loader::open(&short, LoaderConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("max_offset 10") && err.contains("below 8"),
        "{err}"
    );
    let err = Loader::open(
        &path,
        LoaderConfig {
            batch_size: 0,
            ..LoaderConfig::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("batch_size"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn skipping_batches_resumes_the_same_stream() {
    let dir = scratch("skip");
    let path = dataset(&dir, &[40, 33, 17]);
    let base = LoaderConfig {
        batch_size: 8,
        max_offset: 5,
        seed: 3,
        ..LoaderConfig::default()
    };
    let mut whole = Loader::open(&path, base.clone()).unwrap();
    let first: Vec<Batch> = (0..25).map(|_| whole.next_batch().unwrap()).collect();
    // 25 batches of 8 cross an epoch boundary (75 samples per epoch).
    let mut resumed = Loader::open(
        &path,
        LoaderConfig {
            skip_batches: 13,
            ..base
        },
    )
    .unwrap();
    for (i, expected) in first.iter().enumerate().skip(13) {
        assert_eq!(&resumed.next_batch().unwrap(), expected, "batch {i}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A second task's file: 2 action values, 4 state values, every frame
/// byte 200 + t.
fn other_task(dir: &Path, frame: usize) -> PathBuf {
    let path = dir.join("other.hdf5");
    let attrs = DatasetAttrs {
        domain_name: "cheetah".into(),
        task_name: "run".into(),
        difficulty: "vanilla".into(),
        dynamic: true,
        img_hw: frame as i64,
        split: "train".into(),
        dataset_return: None,
    };
    let options = lam_data::WriteOptions {
        overwrite: true,
        ..Default::default()
    };
    let mut w = DatasetWriter::create(&path, attrs, &options).unwrap();
    let len = 12;
    w.append(&Trajectory {
        ground_truth: None,
        obs: (0..len)
            .flat_map(|t| std::iter::repeat_n(200 + t as u8, frame * frame * 3))
            .collect(),
        states: (0..len).flat_map(|t| [7.0, t as f32, 7.0, 7.0]).collect(),
        actions: (0..len).flat_map(|t| [-1.0, -(t as f32)]).collect(),
        traj_return: 1.0,
        frame: (frame, frame),
        state_size: 4,
        action_size: 2,
    })
    .unwrap();
    w.finish().unwrap();
    path
}

#[test]
fn mixed_batches_share_rows_between_files_and_pad_their_sizes() {
    use lam_data::mixed::MixedLoader;
    let dir = scratch("mixed");
    let a = dataset(&dir, &[12, 9]);
    let b = other_task(&dir, 2);
    let config = |batch_size| LoaderConfig {
        batch_size,
        max_offset: 3,
        seed: 5,
        ..LoaderConfig::default()
    };
    // One file: exactly the batches of a plain loader.
    let mut one = MixedLoader::open(std::slice::from_ref(&a), config(6)).unwrap();
    let mut plain = Loader::open(&a, config(6)).unwrap();
    for _ in 0..3 {
        assert_eq!(one.next_batch().unwrap().batch, plain.next_batch().unwrap());
    }
    // Two files: 3 + 2 rows, states and actions padded to 4 and 2 values.
    let mut mixed = MixedLoader::open(&[a.clone(), b.clone()], config(5)).unwrap();
    assert_eq!(mixed.sizes(), (4, 2));
    for _ in 0..3 {
        let m = mixed.next_batch().unwrap();
        let lens: Vec<(usize, usize, usize, usize)> = m
            .parts
            .iter()
            .map(|p| (p.start, p.len, p.action_size, p.state_size))
            .collect();
        assert_eq!(lens, [(0, 3, 1, 3), (3, 2, 2, 4)]);
        let batch = &m.batch;
        assert_eq!((batch.actions.len(), batch.states.len()), (5 * 2, 5 * 4));
        for row in 0..5 {
            let (_, t) = batch.positions[row];
            let action = &batch.actions[2 * row..2 * row + 2];
            let state = &batch.states[4 * row..4 * row + 4];
            let pixel = batch.obs[row * 2 * 2 * 9 + 6];
            if row < 3 {
                let (i, _) = batch.positions[row];
                assert_eq!(action, [(i * 1000 + t) as f32, 0.0]);
                assert_eq!(state, [i as f32, t as f32, 0.5, 0.0]);
                assert_eq!(pixel, code(i as usize, t as usize));
            } else {
                assert_eq!(action, [-1.0, -(t as f32)]);
                assert_eq!(state, [7.0, t as f32, 7.0, 7.0]);
                assert_eq!(pixel, 200 + t as u8);
            }
        }
    }
    // Segments: each file's actions in columns of their own, NaN elsewhere.
    use lam_data::mixed::ActionLayout;
    let layout = ActionLayout::Segments { fill: f32::NAN };
    let mut seg = MixedLoader::with_layout(&[a.clone(), b.clone()], config(5), layout).unwrap();
    assert_eq!(seg.sizes(), (4, 3));
    let m = seg.next_batch().unwrap();
    assert_eq!(
        m.parts.iter().map(|p| p.action_offset).collect::<Vec<_>>(),
        [0, 1]
    );
    for row in 0..5 {
        let (i, t) = m.batch.positions[row];
        let action = &m.batch.actions[3 * row..3 * row + 3];
        if row < 3 {
            assert_eq!(action[0], (i * 1000 + t) as f32);
            assert!(action[1].is_nan() && action[2].is_nan());
        } else {
            assert!(action[0].is_nan());
            assert_eq!(&action[1..], [-1.0, -(t as f32)]);
        }
    }
    // Files of another frame size, or too small a batch: named errors.
    let big = other_task(&dir, 4);
    let err = MixedLoader::open(&[a.clone(), big], config(4)).unwrap_err();
    assert!(
        err.to_string().contains("4x4") && err.to_string().contains("other.hdf5"),
        "{err}"
    );
    let err = MixedLoader::open(&[a, b], config(1)).unwrap_err();
    assert!(err.to_string().contains("every file needs a row"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

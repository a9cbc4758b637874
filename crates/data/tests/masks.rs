//! Agent masks gathered per batch line up with the batch's stacked frames,
//! padding at trajectory starts included; a file without ground truth is
//! refused by name.

use std::path::{Path, PathBuf};

use lam_data::loader::{Loader, LoaderConfig};
use lam_data::masks::{gather_mixed, MaskStore};
use lam_data::mixed::MixedLoader;
use lam_data::{DatasetAttrs, DatasetWriter, GroundTruth, Trajectory};

const SIDE: usize = 4;
const PX: usize = SIDE * SIDE;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lam-masks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Frame t of trajectory `id`: every byte `code(id, t)`; its mask: the
/// code's 8 bits in pixels 0..8 (pixels 8.. are 1).
fn code(id: usize, t: usize) -> u8 {
    (id * 50 + t) as u8
}

fn mask_of(c: u8) -> [u8; PX] {
    std::array::from_fn(|p| if p < 8 { (c >> p) & 1 } else { 1 })
}

/// The code a mask (one value per pixel) spells.
fn decode(mask: impl Fn(usize) -> u8) -> u8 {
    (0..8).map(|p| mask(p) << p).sum()
}

fn trajectory(id: usize, len: usize, truth: bool) -> Trajectory {
    Trajectory {
        ground_truth: truth.then(|| GroundTruth {
            agent_mask: (0..len).flat_map(|t| mask_of(code(id, t))).collect(),
            camera: vec![0.0; len * 4],
            background: vec![-1; len * 2],
            background_grid: vec![0.0; len * 4 * 4 * 3],
            colour: vec![0.0; len * 3],
            materials: 1,
        }),
        obs: (0..len)
            .flat_map(|t| std::iter::repeat_n(code(id, t), PX * 3))
            .collect(),
        states: (0..len).flat_map(|t| [id as f32, t as f32]).collect(),
        actions: (0..len).map(|t| t as f32).collect(),
        traj_return: 1.0,
        frame: (SIDE, SIDE),
        state_size: 2,
        action_size: 1,
    }
}

fn dataset(dir: &Path, name: &str, task: &str, lengths: &[usize], truth: bool) -> PathBuf {
    let path = dir.join(name);
    let attrs = DatasetAttrs {
        domain_name: "hopper".into(),
        task_name: task.into(),
        difficulty: "vanilla".into(),
        dynamic: true,
        img_hw: SIDE as i64,
        split: "train".into(),
        dataset_return: None,
    };
    let options = lam_data::WriteOptions {
        overwrite: true,
        ..Default::default()
    };
    let mut w = DatasetWriter::create(&path, attrs, &options).unwrap();
    for (id, &len) in lengths.iter().enumerate() {
        w.append(&trajectory(id, len, truth)).unwrap();
    }
    w.finish().unwrap();
    path
}

/// Per sample, the codes of the three stacked frames (pixel 0 of each).
fn frame_codes(stacks: &[u8], s: usize) -> [u8; 3] {
    let base = s * PX * 9;
    [stacks[base], stacks[base + 3], stacks[base + 6]]
}

/// Per sample, the codes the three stacked masks spell.
fn mask_codes(stacks: &[u8], s: usize) -> [u8; 3] {
    let base = s * PX * 3;
    std::array::from_fn(|j| decode(|p| stacks[base + 3 * p + j]))
}

#[test]
fn gathered_masks_line_up_with_the_stacked_frames() {
    let dir = scratch("align");
    let path = dataset(&dir, "d.hdf5", "hop", &[20, 4, 9], true);
    let store = MaskStore::open(&path).unwrap();
    assert_eq!(store.frame(), (SIDE, SIDE));
    let config = LoaderConfig {
        batch_size: 8,
        max_offset: 3,
        prefetch_threads: 0,
        ..LoaderConfig::default()
    };
    let mut loader = Loader::open(&path, config).unwrap();
    let mut starts = 0;
    for _ in 0..30 {
        let b = loader.next_batch().unwrap();
        let m = store.gather(&b).unwrap();
        assert_eq!(m.obs.len(), b.offsets.len() * PX * 3);
        for s in 0..b.offsets.len() {
            assert_eq!(mask_codes(&m.obs, s), frame_codes(&b.obs, s));
            assert_eq!(mask_codes(&m.next, s), frame_codes(&b.next_obs, s));
            assert_eq!(mask_codes(&m.future, s), frame_codes(&b.future_obs, s));
            // Pixels past the code are 1 in every stacked frame.
            assert!(m.obs[s * PX * 3 + 3 * 8..(s + 1) * PX * 3]
                .iter()
                .all(|&v| v == 1));
        }
        // At a trajectory start the stack repeats frame 0, masks alike.
        for (s, &(i, t)) in b.positions.iter().enumerate() {
            if t == 0 {
                starts += 1;
                let c = code(i as usize, 0);
                assert_eq!(mask_codes(&m.obs, s), [c, c, c]);
            }
        }
    }
    assert!(starts > 0, "trajectory starts were sampled");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn mixed_batches_gather_each_files_masks() {
    let dir = scratch("mixed");
    let a = dataset(&dir, "a.hdf5", "hop", &[12, 7], true);
    let b = dataset(&dir, "b.hdf5", "stand", &[9, 9, 9, 9], true);
    let config = LoaderConfig {
        batch_size: 7,
        max_offset: 2,
        prefetch_threads: 0,
        ..LoaderConfig::default()
    };
    let mut loader = MixedLoader::open(&[a.clone(), b.clone()], config).unwrap();
    let stores = [MaskStore::open(&a).unwrap(), MaskStore::open(&b).unwrap()];
    for _ in 0..10 {
        let mb = loader.next_batch().unwrap();
        let m = gather_mixed(&stores, &mb).unwrap();
        for s in 0..mb.batch.offsets.len() {
            assert_eq!(mask_codes(&m.obs, s), frame_codes(&mb.batch.obs, s));
            assert_eq!(
                mask_codes(&m.future, s),
                frame_codes(&mb.batch.future_obs, s)
            );
        }
    }
    // Without the second file's store: an error naming it.
    let err = gather_mixed(&stores[..1], &loader.next_batch().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("b.hdf5"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_without_ground_truth_is_refused_by_name() {
    let dir = scratch("none");
    let path = dataset(&dir, "plain.hdf5", "hop", &[5], false);
    let err = MaskStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("plain.hdf5"), "{err}");
    assert!(err.contains("--ground-truth"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

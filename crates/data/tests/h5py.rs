//! Interoperability with h5py (what the published code reads and writes
//! with): our files read in h5py with the expected types, and a file h5py
//! writes in the published layout reads back here. Needs h5py from
//! `scripts/setup.sh` (`.deps/python-h5py`, or $LAM_H5PY_PATH); required when
//! $CI is set, skipped with a message otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use lam_data::{DatasetAttrs, DatasetReader, DatasetWriter, Trajectory};

fn h5py_path() -> Option<PathBuf> {
    let dir = std::env::var_os("LAM_H5PY_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.deps/python-h5py"));
    let ok = Command::new("python3")
        .env("PYTHONPATH", &dir)
        .args(["-c", "import h5py"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(dir)
    } else if std::env::var_os("CI").is_some() {
        panic!(
            "h5py not importable from {}: run scripts/setup.sh",
            dir.display()
        );
    } else {
        eprintln!(
            "skipping: h5py not found in {} (run scripts/setup.sh)",
            dir.display()
        );
        None
    }
}

fn python(path: &Path, script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .env("PYTHONPATH", path)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lam-h5py-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const READ: &str = r#"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
a = f.attrs
out = [type(a["domain_name"]).__name__, a["domain_name"], a["task_name"], a["difficulty"], a["split"],
       "bool" if isinstance(a["dynamic"], (bool, np.bool_)) else type(a["dynamic"]).__name__, str(bool(a["dynamic"])), str(int(a["img_hw"])), "%.3f" % float(a["dataset_return"]),
       str(len(f.keys()))]
g = f["1"]
out += [str(g["obs"].dtype), str(g["obs"].shape), str(g["states"].dtype), str(g["states"].shape),
        str(g["actions"].dtype), str(int(g["obs"][2, 1, 0, 2])), "%.2f" % float(g["states"][2, 3]),
        "%.2f" % float(g.attrs["traj_return"])]
print("|".join(out))
"#;

const WRITE: &str = r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["domain_name"] = "humanoid"
    f.attrs["task_name"] = "walk"
    f.attrs["difficulty"] = "scale_easy_video_hard"
    f.attrs["dynamic"] = True
    f.attrs["img_hw"] = 8
    f.attrs["split"] = "val"
    f.attrs["dataset_return"] = 617.5
    for i in range(3):
        g = f.create_group(str(i))
        g.create_dataset("obs", data=np.full((5, 8, 8, 3), 10 * i, dtype=np.uint8), chunks=(1, 8, 8, 3), compression="gzip")
        g.create_dataset("states", data=np.arange(5 * 67, dtype=np.float32).reshape(5, 67) + i)
        g.create_dataset("actions", data=np.full((5, 21), -2.5, dtype=np.float32))
        g.attrs["traj_return"] = np.float32(100 + i)
"#;

#[test]
fn our_files_read_in_h5py_and_h5py_files_read_here() {
    let Some(path) = h5py_path() else { return };
    let dir = scratch("layout");
    let ours = dir.join("ours.hdf5");
    let attrs = DatasetAttrs {
        domain_name: "cheetah".into(),
        task_name: "run".into(),
        difficulty: "vanilla".into(),
        dynamic: true,
        img_hw: 4,
        split: "train".into(),
        dataset_return: None,
    };
    let mut w = DatasetWriter::create(
        &ours,
        attrs,
        &lam_data::WriteOptions {
            overwrite: true,
            ..Default::default()
        },
    )
    .unwrap();
    for id in 0..2u8 {
        w.append(&Trajectory {
            ground_truth: None,
            obs: (0..3 * 48).map(|v| (v as u8).wrapping_add(id)).collect(),
            states: (0..3 * 5).map(|v| v as f32 + id as f32 * 0.5).collect(),
            actions: vec![1.5; 3 * 2],
            traj_return: 10.0 + id as f64,
            frame: (4, 4),
            state_size: 5,
            action_size: 2,
        })
        .unwrap();
    }
    w.finish().unwrap();
    let seen = python(&path, READ, &[&ours]);
    let fields: Vec<&str> = seen.trim().split('|').collect();
    assert_eq!(
        fields,
        [
            "str",
            "cheetah",
            "run",
            "vanilla",
            "train",
            "bool",
            "True",
            "4",
            "10.500",
            "2",
            "uint8",
            "(3, 4, 4, 3)",
            "float32",
            "(3, 5)",
            "float32",
            // obs[2, 1, 0, 2] = byte 2*48 + 1*12 + 0*3 + 2 = 110, + id 1
            "111",
            "13.50",
            "11.00"
        ]
    );

    let theirs = dir.join("theirs.hdf5");
    python(&path, WRITE, &[&theirs]);
    let r = DatasetReader::open(&theirs).unwrap();
    assert_eq!(
        r.attrs(),
        &DatasetAttrs {
            domain_name: "humanoid".into(),
            task_name: "walk".into(),
            difficulty: "scale_easy_video_hard".into(),
            dynamic: true,
            img_hw: 8,
            split: "val".into(),
            dataset_return: Some(617.5),
        }
    );
    assert_eq!((r.len(), r.state_size(), r.action_size()), (3, 67, 21));
    let t = r.trajectory(2).unwrap();
    assert!(t.obs.iter().all(|&v| v == 20));
    assert_eq!(t.states[67], 67.0 + 2.0);
    assert_eq!(t.traj_return, 102.0);
    std::fs::remove_dir_all(dir).unwrap();
}

/// What a reader of the published layout sees: root keys, root attributes,
/// and each trajectory's published datasets (dtype, shape, a digest of the
/// values) and attributes, as the official loader reads them (every root
/// key is a trajectory), then the ground truth subgroup's datasets.
const PUBLISHED_VIEW: &str = r#"
import sys, h5py, hashlib
f = h5py.File(sys.argv[1], "r")
out = ["keys=" + ",".join(sorted(f.keys())), "attrs=" + ",".join(sorted(f.attrs.keys()))]
for traj in f.keys():
    g = f[traj]
    for name in ["obs", "states", "actions"]:
        d = g[name][:]
        out.append("%s/%s %s %s %s" % (traj, name, d.dtype, d.shape, hashlib.sha256(d.tobytes()).hexdigest()[:12]))
    out.append("%s attrs=%s" % (traj, ",".join(sorted(g.attrs.keys()))))
print("\n".join(out))
if len(sys.argv) > 2:
    g = f["1"]["ground_truth"]
    print("GT " + " ".join("%s:%s%s" % (k, g[k].dtype, g[k].shape) for k in sorted(g.keys())))
    print("GT mask=%d camera=%.2f background=%d grid=%.3f colour=%.2f" % (
        int(g["agent_mask"][2, 1, 3]), float(g["camera"][1, 2]), int(g["background"][2, 0]),
        float(g["background_grid"][0, 3, 3, 2]), float(g["colour"][2, 1, 0])))
"#;

#[test]
fn ground_truth_leaves_the_published_layout_as_h5py_sees_it() {
    let Some(path) = h5py_path() else { return };
    let dir = scratch("gt");
    let attrs = DatasetAttrs {
        domain_name: "cheetah".into(),
        task_name: "run".into(),
        difficulty: "scale_easy_video_hard".into(),
        dynamic: true,
        img_hw: 4,
        split: "train".into(),
        dataset_return: None,
    };
    let write = |name: &str, truth: bool| {
        let file = dir.join(name);
        let mut w = DatasetWriter::create(&file, attrs.clone(), &Default::default()).unwrap();
        for id in 0..2u8 {
            let len = 3;
            w.append(&Trajectory {
                obs: (0..len * 48).map(|v| (v as u8).wrapping_add(id)).collect(),
                states: (0..len * 5).map(|v| v as f32).collect(),
                actions: vec![0.5; len * 2],
                traj_return: 1.0 + id as f64,
                frame: (4, 4),
                state_size: 5,
                action_size: 2,
                ground_truth: truth.then(|| lam_data::GroundTruth {
                    agent_mask: (0..len * 16).map(|v| (v % 3 == 1) as u8).collect(),
                    camera: (0..len * 4).map(|v| v as f64 * 0.25).collect(),
                    background: (0..len * 2).map(|v| v as i32).collect(),
                    background_grid: (0..len * 48).map(|v| v as f32 / 1000.0).collect(),
                    colour: (0..len * 2 * 3).map(|v| v as f32 * 0.5).collect(),
                    materials: 2,
                }),
            })
            .unwrap();
        }
        w.finish().unwrap()
    };
    let plain = write("plain.hdf5", false);
    let recorded = write("recorded.hdf5", true);
    let view = |f: &Path| python(&path, PUBLISHED_VIEW, &[f]);
    // The published view of both files is identical: root keys are the
    // trajectories alone, root attributes the published ones, and every
    // published dataset holds the same values.
    assert_eq!(view(&plain), view(&recorded));
    assert!(view(&plain).starts_with(
        "keys=0,1\nattrs=dataset_return,difficulty,domain_name,dynamic,img_hw,split,task_name\n"
    ));
    let gt = python(&path, PUBLISHED_VIEW, &[&recorded, Path::new("gt")]);
    assert!(
        gt.contains("GT agent_mask:uint8(3, 4, 4) background:int32(3, 2) background_grid:float32(3, 4, 4, 3) camera:float64(3, 4) colour:float32(3, 2, 3)"),
        "{gt}"
    );
    // mask[2, 1, 3] = index 2*16 + 1*4 + 3 = 39 -> 39 % 3 == 0 -> 0;
    // camera[1, 2] = 6 * 0.25; background[2, 0] = 4; grid[0, 3, 3, 2] = 47 / 1000;
    // colour[2, 1, 0] = 15 * 0.5.
    assert!(
        gt.contains("GT mask=0 camera=1.50 background=4 grid=0.047 colour=7.50"),
        "{gt}"
    );
    // And it reads back here.
    let r = DatasetReader::open(&recorded).unwrap();
    assert!(r.has_ground_truth());
    assert!(!DatasetReader::open(&plain).unwrap().has_ground_truth());
    let g = r.read_ground_truth(1, true).unwrap().unwrap();
    assert_eq!(g.camera[6], 1.5);
    assert_eq!(g.agent_mask.iter().filter(|&&m| m == 1).count(), 16);
    assert_eq!(r.trajectory(0).unwrap().ground_truth.unwrap().materials, 2);
    std::fs::remove_dir_all(dir).unwrap();
}

//! Writing dataset files: trajectories are appended one by one to a
//! `*.partial` file beside the target, each flushed to disk as a complete
//! group (written under a temporary name, then renamed), so an interrupted
//! collection leaves a valid file of finished trajectories that `resume`
//! continues; `finish` writes `dataset_return` and renames the file into place.
//!
//! A writer owns its output from the first write to the rename: it holds an
//! [`OutputLock`] on the target, so a second writer of the same file is
//! refused before it touches anything. It never replaces an existing file
//! or discards an interrupted one unless told to ([`WriteOptions`]), and the
//! settings that shaped the trajectories are recorded in the partial file,
//! so that `resume` refuses to mix trajectories made differently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::attrs;
use crate::error::{Context, DataError};
use crate::layout::{DatasetAttrs, GroundTruth, Trajectory, GRID, GROUND_TRUTH};
use crate::lock::OutputLock;
use crate::reader::DatasetReader;

/// Name a trajectory group has while it is being written.
const WRITING: &str = "_writing";

/// Root attribute of a partial file holding the settings (JSON) that shaped
/// its trajectories; removed by `finish`, so finished files hold exactly the
/// published attributes.
const SETTINGS: &str = "lam_partial_settings";

/// What a writer may do with files already there, and what shaped the
/// trajectories it writes.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Replace an existing target and discard an interrupted `.partial`
    /// (otherwise both are refused).
    pub overwrite: bool,
    /// Every setting that shapes the trajectories (name → value, e.g. the
    /// expert's content hash, the seed, the episode length): recorded in
    /// the partial file, and `resume` refuses to continue with other values.
    pub settings: BTreeMap<String, String>,
}

/// Appends trajectories to a dataset file.
pub struct DatasetWriter {
    _lock: OutputLock,
    target: PathBuf,
    partial: PathBuf,
    file: hdf5::File,
    attrs: DatasetAttrs,
    returns: Vec<f64>,
    /// Shapes fixed by the first trajectory: frame, state size, action
    /// size, and materials in the ground truth (None: not recorded).
    shape: Option<Shape>,
}

/// What every trajectory of a file shares.
type Shape = ((usize, usize), usize, usize, Option<usize>);

impl std::fmt::Debug for DatasetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetWriter")
            .field("target", &self.target)
            .field("trajectories", &self.returns.len())
            .finish()
    }
}

/// The in-progress file of a target: `FILE.partial` beside `FILE`.
pub fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    target.with_file_name(name)
}

fn write_root_attrs(file: &hdf5::File, path: &Path, a: &DatasetAttrs) -> Result<(), DataError> {
    attrs::write_string(file, path, "domain_name", &a.domain_name)?;
    attrs::write_string(file, path, "task_name", &a.task_name)?;
    attrs::write_string(file, path, "difficulty", &a.difficulty)?;
    attrs::write_bool(file, path, "dynamic", a.dynamic)?;
    attrs::write_i64(file, path, "img_hw", a.img_hw)?;
    attrs::write_string(file, path, "split", &a.split)?;
    if let Some(r) = a.dataset_return {
        attrs::write_f64(file, path, "dataset_return", r)?;
    }
    Ok(())
}

/// Compares the settings recorded in a partial file with `now`, naming
/// every setting that differs with both values.
fn check_settings(
    file: &hdf5::File,
    path: &Path,
    now: &BTreeMap<String, String>,
) -> Result<(), DataError> {
    if !attrs::has(file, SETTINGS) {
        return Err(DataError::Request {
            file: path.to_path_buf(),
            message: "cannot resume: the file records none of the settings that made it (written by an older lam); remove it and start again".into(),
        });
    }
    let text = attrs::read_string(file, path, "root", SETTINGS)?;
    let then: BTreeMap<String, String> =
        serde_json::from_str(&text).map_err(|e| DataError::Invalid {
            file: path.to_path_buf(),
            item: format!("root attribute {SETTINGS:?}"),
            expected: "a JSON object of strings".into(),
            found: format!("{text:?} ({e})"),
        })?;
    let missing = String::from("(not set)");
    let differ: Vec<String> = then
        .keys()
        .chain(now.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|k| {
            let (a, b) = (
                then.get(k).unwrap_or(&missing),
                now.get(k).unwrap_or(&missing),
            );
            (a != b).then(|| format!("{k}: {a} then, {b} now"))
        })
        .collect();
    if !differ.is_empty() {
        return Err(DataError::Request {
            file: path.to_path_buf(),
            message: format!(
                "cannot resume with other settings than those that made it ({}); use the same settings, or remove the file to start again",
                differ.join("; ")
            ),
        });
    }
    Ok(())
}

/// Writes the `ground_truth` subgroup of a trajectory group.
fn write_ground_truth(
    group: &hdf5::Group,
    path: &Path,
    item: &str,
    g: &GroundTruth,
    len: usize,
    (h, w): (usize, usize),
) -> Result<(), DataError> {
    let what = |name: &str| format!("writing {item} dataset \"{GROUND_TRUTH}/{name}\"");
    let gt = group.create_group(GROUND_TRUTH).ctx(path, || {
        format!("creating {item} subgroup \"{GROUND_TRUTH}\"")
    })?;
    // Masks are mostly zeros: deflate shrinks them ~20x at little cost.
    gt.new_dataset::<u8>()
        .shape([len, h, w])
        .chunk([len.clamp(1, 64), h.max(1), w.max(1)])
        .deflate(1)
        .fletcher32()
        .create("agent_mask")
        .and_then(|d| d.write_raw(&g.agent_mask))
        .ctx(path, || what("agent_mask"))?;
    let rows = len.min(1024);
    gt.new_dataset::<f64>()
        .shape([len, 4])
        .chunk([rows, 4])
        .fletcher32()
        .create("camera")
        .and_then(|d| d.write_raw(&g.camera))
        .ctx(path, || what("camera"))?;
    gt.new_dataset::<i32>()
        .shape([len, 2])
        .chunk([rows, 2])
        .fletcher32()
        .create("background")
        .and_then(|d| d.write_raw(&g.background))
        .ctx(path, || what("background"))?;
    gt.new_dataset::<f32>()
        .shape([len, GRID, GRID, 3])
        .chunk([rows, GRID, GRID, 3])
        .fletcher32()
        .create("background_grid")
        .and_then(|d| d.write_raw(&g.background_grid))
        .ctx(path, || what("background_grid"))?;
    gt.new_dataset::<f32>()
        .shape([len, g.materials, 3])
        .chunk([rows, g.materials.max(1), 3])
        .fletcher32()
        .create("colour")
        .and_then(|d| d.write_raw(&g.colour))
        .ctx(path, || what("colour"))?;
    Ok(())
}

impl DatasetWriter {
    /// Starts a new collection for `target`, which must not exist (nor its
    /// `.partial`) unless `options.overwrite`; `target` itself is untouched
    /// until `finish`.
    pub fn create(
        target: &Path,
        attrs: DatasetAttrs,
        options: &WriteOptions,
    ) -> Result<Self, DataError> {
        let lock = OutputLock::file(target)?;
        let partial = partial_path(target);
        if !options.overwrite {
            if target.exists() {
                return Err(DataError::Exists(target.to_path_buf()));
            }
            if partial.exists() {
                return Err(DataError::Unfinished(partial));
            }
        }
        let file = hdf5::File::create(&partial).ctx(&partial, || "creating the file".into())?;
        write_root_attrs(&file, &partial, &attrs)?;
        let settings = serde_json::to_string(&options.settings).expect("strings serialise");
        attrs::write_string(&file, &partial, SETTINGS, &settings)?;
        file.flush().ctx(&partial, || "flushing".into())?;
        Ok(Self {
            _lock: lock,
            target: target.to_path_buf(),
            partial,
            file,
            attrs,
            returns: Vec::new(),
            shape: None,
        })
    }

    /// Continues an interrupted collection of `target` from its `.partial`
    /// file, whose root attributes must equal `attrs` (but `dataset_return`)
    /// and whose recorded settings must equal `settings`.
    pub fn resume(
        target: &Path,
        attrs: DatasetAttrs,
        settings: &BTreeMap<String, String>,
    ) -> Result<Self, DataError> {
        let lock = OutputLock::file(target)?;
        let partial = partial_path(target);
        if !partial.exists() {
            return Err(DataError::Request {
                file: partial,
                message: "nothing to resume: no interrupted collection of this file".into(),
            });
        }
        if target.exists() {
            return Err(DataError::Request {
                file: target.to_path_buf(),
                message: format!(
                    "the file exists beside the interrupted {}: remove one of them",
                    partial.display()
                ),
            });
        }
        let file = hdf5::File::open_rw(&partial).ctx(&partial, || "opening to resume".into())?;
        let found = DatasetReader::read_attrs(&file, &partial)?;
        let comparable = |a: &DatasetAttrs| DatasetAttrs {
            dataset_return: None,
            ..a.clone()
        };
        if comparable(&found) != comparable(&attrs) {
            return Err(DataError::Request {
                file: partial,
                message: format!(
                    "cannot resume: it was collected with {found:?}, now asked for {attrs:?}"
                ),
            });
        }
        check_settings(&file, &partial, settings)?;
        // A trajectory interrupted while being written is dropped.
        if file.link_exists(WRITING) {
            file.unlink(WRITING)
                .ctx(&partial, || "removing an unfinished trajectory".into())?;
        }
        let scan = crate::reader::scan(&file, &partial)?;
        let returns = scan.returns.clone();
        let shape = (!returns.is_empty()).then_some((
            scan.frame,
            scan.state_size,
            scan.action_size,
            scan.materials,
        ));
        Ok(Self {
            _lock: lock,
            target: target.to_path_buf(),
            partial,
            file,
            attrs,
            returns,
            shape,
        })
    }

    /// Trajectories written so far.
    pub fn len(&self) -> usize {
        self.returns.len()
    }

    /// True before the first trajectory.
    pub fn is_empty(&self) -> bool {
        self.returns.is_empty()
    }

    /// Returns of the trajectories written so far.
    pub fn returns(&self) -> &[f64] {
        &self.returns
    }

    /// The file being written.
    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    /// Appends a trajectory as group `len()` and flushes it to disk.
    pub fn append(&mut self, t: &Trajectory) -> Result<(), DataError> {
        let index = self.returns.len();
        let item = format!("group \"{index}\"");
        t.check().map_err(|message| DataError::Request {
            file: self.partial.clone(),
            message: format!("{item}: {message}"),
        })?;
        let materials = t.ground_truth.as_ref().map(|g| g.materials);
        let shape = (t.frame, t.state_size, t.action_size, materials);
        if let Some(expected) = self.shape {
            if expected.3.is_some() != materials.is_some() {
                let has = |m: Option<usize>| if m.is_some() { "with" } else { "without" };
                return Err(DataError::Request {
                    file: self.partial.clone(),
                    message: format!(
                        "{item}: a trajectory {} ground truth in a file of trajectories {} it",
                        has(materials),
                        has(expected.3)
                    ),
                });
            }
            if expected != shape {
                return Err(DataError::Request {
                    file: self.partial.clone(),
                    message: format!("{item}: frame/state/action/material sizes {shape:?} differ from the file's {expected:?}"),
                });
            }
        }
        let path = self.partial.clone();
        if self.file.link_exists(WRITING) {
            self.file
                .unlink(WRITING)
                .ctx(&path, || "removing an unfinished trajectory".into())?;
        }
        let group = self
            .file
            .create_group(WRITING)
            .ctx(&path, || format!("creating {item}"))?;
        let (len, (h, w)) = (t.len(), t.frame);
        group
            .new_dataset::<u8>()
            .shape([len, h, w, 3])
            .chunk([len.clamp(1, 32), h.max(1), w.max(1), 3])
            .fletcher32()
            .create("obs")
            .and_then(|d| d.write_raw(&t.obs))
            .ctx(&path, || format!("writing {item} dataset \"obs\""))?;
        // Every dataset is chunked with a Fletcher-32 checksum per chunk, so
        // a damaged file fails to read instead of reading wrong numbers.
        let rows = len.min(1024);
        group
            .new_dataset::<f32>()
            .shape([len, t.state_size])
            .chunk([rows, t.state_size])
            .fletcher32()
            .create("states")
            .and_then(|d| d.write_raw(&t.states))
            .ctx(&path, || format!("writing {item} dataset \"states\""))?;
        group
            .new_dataset::<f32>()
            .shape([len, t.action_size])
            .chunk([rows, t.action_size])
            .fletcher32()
            .create("actions")
            .and_then(|d| d.write_raw(&t.actions))
            .ctx(&path, || format!("writing {item} dataset \"actions\""))?;
        attrs::write_f64(&group, &path, "traj_return", t.traj_return)?;
        if let Some(g) = &t.ground_truth {
            write_ground_truth(&group, &path, &item, g, len, t.frame)?;
        }
        drop(group);
        self.rename(WRITING, &index.to_string())?;
        self.file.flush().ctx(&path, || "flushing".into())?;
        self.returns.push(t.traj_return);
        self.shape = Some(shape);
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), DataError> {
        let src = std::ffi::CString::new(from).expect("no NUL in group names");
        let dst = std::ffi::CString::new(to).expect("no NUL in group names");
        let id = self.file.id();
        let status = hdf5::sync::sync(|| unsafe {
            // SAFETY: a valid file id and NUL-terminated names; HDF5's global
            // lock is held by `sync`.
            hdf5_sys::h5l::H5Lmove(
                id,
                src.as_ptr(),
                id,
                dst.as_ptr(),
                hdf5_sys::h5p::H5P_DEFAULT,
                hdf5_sys::h5p::H5P_DEFAULT,
            )
        });
        if status < 0 {
            return Err(DataError::Request {
                file: self.partial.clone(),
                message: format!("could not rename group {from:?} to {to:?}"),
            });
        }
        Ok(())
    }

    /// Writes `dataset_return` (the mean return), closes the file and moves
    /// it to the target path; returns the target.
    pub fn finish(mut self) -> Result<PathBuf, DataError> {
        if self.returns.is_empty() {
            return Err(DataError::Empty(self.partial.clone()));
        }
        let mean = self.returns.iter().sum::<f64>() / self.returns.len() as f64;
        self.attrs.dataset_return = Some(mean);
        attrs::write_f64(&self.file, &self.partial, "dataset_return", mean)?;
        if attrs::has(&self.file, SETTINGS) {
            self.file
                .delete_attr(SETTINGS)
                .ctx(&self.partial, || format!("removing attribute {SETTINGS:?}"))?;
        }
        self.file.flush().ctx(&self.partial, || "flushing".into())?;
        let Self {
            _lock,
            file,
            partial,
            target,
            ..
        } = self;
        file.close().ctx(&partial, || "closing".into())?;
        std::fs::rename(&partial, &target).map_err(|source| DataError::Io {
            file: target.clone(),
            what: format!("moving {} into place", partial.display()),
            source,
        })?;
        drop(_lock);
        Ok(target)
    }
}

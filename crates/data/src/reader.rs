//! Reading dataset files in the published layout, with every field checked
//! before use.

use std::ops::Range;
use std::path::{Path, PathBuf};

use hdf5::types::TypeDescriptor;

use crate::attrs;
use crate::error::{Context, DataError};
use crate::layout::{DatasetAttrs, GroundTruth, Trajectory, GRID, GROUND_TRUTH};

/// The trajectory groups of a file and their checked shapes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scan {
    /// Group names in trajectory order ("0", "1", …).
    pub groups: Vec<String>,
    pub lengths: Vec<usize>,
    pub returns: Vec<f64>,
    pub frame: (usize, usize),
    pub state_size: usize,
    pub action_size: usize,
    /// Materials of the ground truth every group records (None: not recorded).
    pub materials: Option<usize>,
}

fn invalid(
    file: &Path,
    item: String,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> DataError {
    DataError::Invalid {
        file: file.to_path_buf(),
        item,
        expected: expected.into(),
        found: found.into(),
    }
}

fn dataset(
    group: &hdf5::Group,
    file: &Path,
    gname: &str,
    name: &str,
) -> Result<hdf5::Dataset, DataError> {
    if !group.link_exists(name) {
        return Err(DataError::Missing {
            file: file.to_path_buf(),
            item: format!("group \"{gname}\" dataset \"{name}\""),
        });
    }
    group.dataset(name).ctx(file, || {
        format!("opening group \"{gname}\" dataset \"{name}\"")
    })
}

fn element(d: &hdf5::Dataset, file: &Path, item: &str) -> Result<TypeDescriptor, DataError> {
    d.dtype()
        .and_then(|t| t.to_descriptor())
        .ctx(file, || format!("reading the type of {item}"))
}

/// Checks the optional `ground_truth` subgroup of trajectory group `name`
/// (`len` steps of `frame`); returns its material count, None when absent.
fn scan_ground_truth(
    g: &hdf5::Group,
    path: &Path,
    name: &str,
    len: usize,
    frame: (usize, usize),
) -> Result<Option<usize>, DataError> {
    if !g.link_exists(GROUND_TRUTH) {
        return Ok(None);
    }
    let gname = format!("{name}/{GROUND_TRUTH}");
    let gt = g
        .group(GROUND_TRUTH)
        .ctx(path, || format!("opening group \"{gname}\""))?;
    let item = |field: &str| format!("group \"{gname}\" dataset \"{field}\"");
    use hdf5::types::IntSize;
    let f32 = TypeDescriptor::Float(hdf5::types::FloatSize::U4);
    let fields: [(&str, TypeDescriptor, &str); 5] = [
        (
            "agent_mask",
            TypeDescriptor::Unsigned(IntSize::U1),
            "uint8 [T, H, W]",
        ),
        (
            "camera",
            TypeDescriptor::Float(hdf5::types::FloatSize::U8),
            "float64 [T, 4]",
        ),
        (
            "background",
            TypeDescriptor::Integer(IntSize::U4),
            "int32 [T, 2]",
        ),
        ("background_grid", f32.clone(), "float32 [T, 4, 4, 3]"),
        (
            "colour",
            TypeDescriptor::Float(hdf5::types::FloatSize::U4),
            "float32 [T, M, 3]",
        ),
    ];
    let mut materials = 0;
    for (field, want, expected) in fields {
        let d = dataset(&gt, path, &gname, field)?;
        let (shape, ty) = (d.shape(), element(&d, path, &item(field))?);
        let fits = ty == want
            && match field {
                "agent_mask" => shape == [len, frame.0, frame.1],
                "camera" => shape == [len, 4],
                "background" => shape == [len, 2],
                "background_grid" => shape == [len, GRID, GRID, 3],
                _ => shape.len() == 3 && shape[0] == len && shape[2] == 3,
            };
        if !fits {
            return Err(invalid(
                path,
                item(field),
                format!(
                    "{expected} with T = {len} and frames {}x{}",
                    frame.0, frame.1
                ),
                format!("{ty} {shape:?}"),
            ));
        }
        if field == "colour" {
            materials = shape[1];
        }
    }
    Ok(Some(materials))
}

/// Lists and checks every trajectory group of an open file (no data read).
pub(crate) fn scan(file: &hdf5::File, path: &Path) -> Result<Scan, DataError> {
    let names = file.member_names().ctx(path, || "listing groups".into())?;
    let mut numbered: Vec<(usize, String)> = names
        .into_iter()
        .filter_map(|n| n.parse::<usize>().ok().map(|i| (i, n)))
        .collect();
    numbered.sort();
    let mut scan = Scan::default();
    for (position, (index, name)) in numbered.into_iter().enumerate() {
        if index != position {
            return Err(DataError::Missing {
                file: path.to_path_buf(),
                item: format!("group \"{position}\" (groups must be numbered 0, 1, 2, … without gaps; found \"{name}\" next)"),
            });
        }
        let g = file
            .group(&name)
            .ctx(path, || format!("opening group \"{name}\""))?;
        let item = |field: &str| format!("group \"{name}\" dataset \"{field}\"");
        let obs = dataset(&g, path, &name, "obs")?;
        let shape = obs.shape();
        let ty = element(&obs, path, &item("obs"))?;
        if ty != TypeDescriptor::Unsigned(hdf5::types::IntSize::U1)
            || shape.len() != 4
            || shape[3] != 3
        {
            return Err(invalid(
                path,
                item("obs"),
                "uint8 [T, H, W, 3]",
                format!("{ty} {shape:?}"),
            ));
        }
        let len = shape[0];
        let frame = (shape[1], shape[2]);
        let mut sizes = [0usize; 2];
        for (k, field) in ["states", "actions"].into_iter().enumerate() {
            let d = dataset(&g, path, &name, field)?;
            let s = d.shape();
            let ty = element(&d, path, &item(field))?;
            if !matches!(ty, TypeDescriptor::Float(_)) || s.len() != 2 {
                return Err(invalid(
                    path,
                    item(field),
                    format!("float32 [T, {}]", ["S", "A"][k]),
                    format!("{ty} {s:?}"),
                ));
            }
            if s[0] != len {
                return Err(invalid(
                    path,
                    item(field),
                    format!("{len} rows, one per frame of obs"),
                    format!("{} rows", s[0]),
                ));
            }
            sizes[k] = s[1];
        }
        let ret = attrs::read_number(&g, path, &format!("group \"{name}\""), "traj_return")?;
        let materials = scan_ground_truth(&g, path, &name, len, frame)?;
        if scan.groups.is_empty() {
            scan.frame = frame;
            scan.state_size = sizes[0];
            scan.action_size = sizes[1];
            scan.materials = materials;
        } else if materials != scan.materials {
            let said = |m: Option<usize>| match m {
                Some(m) => format!("ground truth of {m} materials"),
                None => "no ground truth".to_string(),
            };
            return Err(invalid(
                path,
                format!("group \"{name}\""),
                format!("{} like group \"0\"", said(scan.materials)),
                said(materials),
            ));
        } else if (frame, sizes[0], sizes[1]) != (scan.frame, scan.state_size, scan.action_size) {
            return Err(invalid(
                path,
                format!("group \"{name}\""),
                format!(
                    "frames {}x{}, {} state and {} action values like group \"0\"",
                    scan.frame.0, scan.frame.1, scan.state_size, scan.action_size
                ),
                format!(
                    "frames {}x{}, {} and {}",
                    frame.0, frame.1, sizes[0], sizes[1]
                ),
            ));
        }
        scan.groups.push(name);
        scan.lengths.push(len);
        scan.returns.push(ret);
    }
    Ok(scan)
}

/// An open dataset file.
pub struct DatasetReader {
    path: PathBuf,
    file: hdf5::File,
    attrs: DatasetAttrs,
    scan: Scan,
}

impl std::fmt::Debug for DatasetReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetReader")
            .field("path", &self.path)
            .field("trajectories", &self.scan.groups.len())
            .finish()
    }
}

/// How large a file's actions are (see [`DatasetReader::action_range`]);
/// displays as one line saying whether they are raw expert outputs (probe
/// MSEs are only comparable with the published ones on raw actions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActionRange {
    /// The largest |a| seen.
    pub largest: f32,
    /// Trajectories looked at.
    pub trajectories: usize,
}

impl std::fmt::Display for ActionRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (largest, n) = (self.largest, self.trajectories);
        if largest > 1.0 {
            write!(
                f,
                "actions: raw expert outputs (max |a| {largest:.2} in the first {n} trajectories)"
            )
        } else {
            write!(f, "actions: all within [-1, 1] (clipped, or an expert that stays in range; first {n} trajectories)")
        }
    }
}

impl DatasetReader {
    /// Opens `path` and checks its layout: root attributes, numbered
    /// groups, and the type, shape and length agreement of every field.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        if !path.exists() {
            return Err(DataError::Io {
                file: path.to_path_buf(),
                what: "opening".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let file = hdf5::File::open(path).ctx(path, || "opening as HDF5".into())?;
        let attrs = Self::read_attrs(&file, path)?;
        let scan = scan(&file, path)?;
        if scan.groups.is_empty() {
            return Err(DataError::Empty(path.to_path_buf()));
        }
        if scan.frame.0 as i64 != attrs.img_hw || scan.frame.1 as i64 != attrs.img_hw {
            return Err(invalid(
                path,
                "group \"0\" dataset \"obs\"".into(),
                format!("{0}x{0} frames (root attribute img_hw)", attrs.img_hw),
                format!("{}x{}", scan.frame.0, scan.frame.1),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            attrs,
            scan,
        })
    }

    /// The root attributes of an open file.
    pub(crate) fn read_attrs(file: &hdf5::File, path: &Path) -> Result<DatasetAttrs, DataError> {
        let root = "root";
        Ok(DatasetAttrs {
            domain_name: attrs::read_string(file, path, root, "domain_name")?,
            task_name: attrs::read_string(file, path, root, "task_name")?,
            difficulty: attrs::read_string(file, path, root, "difficulty")?,
            dynamic: attrs::read_bool(file, path, root, "dynamic")?,
            img_hw: attrs::read_number(file, path, root, "img_hw")? as i64,
            split: attrs::read_string(file, path, root, "split")?,
            dataset_return: if attrs::has(file, "dataset_return") {
                Some(attrs::read_number(file, path, root, "dataset_return")?)
            } else {
                None
            },
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Root attributes.
    pub fn attrs(&self) -> &DatasetAttrs {
        &self.attrs
    }

    /// Number of trajectories.
    pub fn len(&self) -> usize {
        self.scan.groups.len()
    }

    /// Never true for an open reader (empty files are refused).
    pub fn is_empty(&self) -> bool {
        self.scan.groups.is_empty()
    }

    /// Steps per trajectory.
    pub fn lengths(&self) -> &[usize] {
        &self.scan.lengths
    }

    /// Returns per trajectory.
    pub fn returns(&self) -> &[f64] {
        &self.scan.returns
    }

    /// Frame (height, width).
    pub fn frame(&self) -> (usize, usize) {
        self.scan.frame
    }

    /// Values per state.
    pub fn state_size(&self) -> usize {
        self.scan.state_size
    }

    /// Values per action.
    pub fn action_size(&self) -> usize {
        self.scan.action_size
    }

    fn group(&self, i: usize) -> Result<hdf5::Group, DataError> {
        let name = self.scan.groups.get(i).ok_or_else(|| DataError::Request {
            file: self.path.clone(),
            message: format!(
                "trajectory {i} does not exist: the file holds {}",
                self.len()
            ),
        })?;
        self.file
            .group(name)
            .ctx(&self.path, || format!("opening group \"{name}\""))
    }

    /// Frames `range` of trajectory `i`, `len x H x W x 3` bytes.
    pub fn read_obs(&self, i: usize, range: Range<usize>) -> Result<Vec<u8>, DataError> {
        let g = self.group(i)?;
        let len = self.scan.lengths[i];
        if range.end > len || range.start > range.end {
            return Err(DataError::Request {
                file: self.path.clone(),
                message: format!("group \"{i}\": frames {range:?} are outside 0..{len}"),
            });
        }
        let d = g.dataset("obs").ctx(&self.path, || {
            format!("opening group \"{i}\" dataset \"obs\"")
        })?;
        let arr = d
            .read_slice::<u8, _, ndarray::Ix4>((range.clone(), .., .., ..))
            .ctx(&self.path, || {
                format!("reading group \"{i}\" dataset \"obs\" frames {range:?}")
            })?;
        Ok(arr.into_raw_vec_and_offset().0)
    }

    /// A whole float field of trajectory `i` as f32.
    fn read_floats(&self, i: usize, field: &str) -> Result<Vec<f32>, DataError> {
        let g = self.group(i)?;
        let d = g.dataset(field).ctx(&self.path, || {
            format!("opening group \"{i}\" dataset \"{field}\"")
        })?;
        let v = d.read_raw::<f32>().ctx(&self.path, || {
            format!("reading group \"{i}\" dataset \"{field}\"")
        })?;
        self.check_finite(i, field, 0, &v)?;
        Ok(v)
    }

    /// A NaN or infinity in a float field is an error naming the
    /// trajectory, field, step and entry (`first_row`: the step of `v[0]`).
    fn check_finite(
        &self,
        i: usize,
        field: &str,
        first_row: usize,
        v: &[f32],
    ) -> Result<(), DataError> {
        let Some(at) = v.iter().position(|x| !x.is_finite()) else {
            return Ok(());
        };
        let width = match field {
            "states" => self.scan.state_size,
            _ => self.scan.action_size,
        }
        .max(1);
        Err(DataError::Invalid {
            file: self.path.clone(),
            item: format!(
                "group \"{i}\" dataset \"{field}\" step {} entry {}",
                first_row + at / width,
                at % width
            ),
            expected: "finite numbers".into(),
            found: v[at].to_string(),
        })
    }

    /// Rows `range` of a float field of trajectory `i` as f32.
    fn read_rows(&self, i: usize, field: &str, range: Range<usize>) -> Result<Vec<f32>, DataError> {
        let g = self.group(i)?;
        let d = g.dataset(field).ctx(&self.path, || {
            format!("opening group \"{i}\" dataset \"{field}\"")
        })?;
        let arr = d
            .read_slice::<f32, _, ndarray::Ix2>((range.clone(), ..))
            .ctx(&self.path, || {
                format!("reading group \"{i}\" dataset \"{field}\" rows {range:?}")
            })?;
        let v = arr.into_raw_vec_and_offset().0;
        self.check_finite(i, field, range.start, &v)?;
        Ok(v)
    }

    /// States of steps `range` of trajectory `i`.
    pub fn read_states_range(&self, i: usize, range: Range<usize>) -> Result<Vec<f32>, DataError> {
        self.read_rows(i, "states", range)
    }

    /// Actions of steps `range` of trajectory `i`.
    pub fn read_actions_range(&self, i: usize, range: Range<usize>) -> Result<Vec<f32>, DataError> {
        self.read_rows(i, "actions", range)
    }

    /// States of trajectory `i`, `len x state_size`.
    pub fn read_states(&self, i: usize) -> Result<Vec<f32>, DataError> {
        self.read_floats(i, "states")
    }

    /// The largest action magnitude in the first `first` trajectories: tells
    /// raw expert outputs from actions inside [-1, 1].
    pub fn action_range(&self, first: usize) -> Result<ActionRange, DataError> {
        let trajectories = self.len().min(first);
        let mut largest = 0f32;
        for i in 0..trajectories {
            let a = self.read_actions(i)?;
            largest = a.iter().fold(largest, |m, x| m.max(x.abs()));
        }
        Ok(ActionRange {
            largest,
            trajectories,
        })
    }

    /// Actions of trajectory `i`, `len x action_size`.
    pub fn read_actions(&self, i: usize) -> Result<Vec<f32>, DataError> {
        self.read_floats(i, "actions")
    }

    /// Whether the file records the simulator's ground truth (every
    /// trajectory does, or none).
    pub fn has_ground_truth(&self) -> bool {
        self.scan.materials.is_some()
    }

    /// A dataset of trajectory `i`'s ground truth, read whole.
    fn read_truth<T: hdf5::H5Type>(&self, i: usize, field: &str) -> Result<Vec<T>, DataError> {
        let g = self.group(i)?;
        let what = || format!("reading group \"{i}/{GROUND_TRUTH}\" dataset \"{field}\"");
        let d = g
            .group(GROUND_TRUTH)
            .and_then(|gt| gt.dataset(field))
            .ctx(&self.path, what)?;
        d.read_raw::<T>().ctx(&self.path, what)
    }

    /// The agent masks of trajectory `i` (`len x h x w`, 1 = agent), None
    /// when the file records no ground truth.
    pub fn read_agent_mask(&self, i: usize) -> Result<Option<Vec<u8>>, DataError> {
        if !self.has_ground_truth() {
            return Ok(None);
        }
        let mask: Vec<u8> = self.read_truth(i, "agent_mask")?;
        if let Some(at) = mask.iter().position(|&v| v > 1) {
            let (h, w) = self.scan.frame;
            return Err(DataError::Invalid {
                file: self.path.clone(),
                item: format!(
                    "group \"{i}/{GROUND_TRUTH}\" dataset \"agent_mask\" step {} pixel {}",
                    at / (h * w),
                    at % (h * w)
                ),
                expected: "0 or 1".into(),
                found: mask[at].to_string(),
            });
        }
        Ok(Some(mask))
    }

    /// The ground truth of trajectory `i`, None when the file records none.
    /// `with_mask` false leaves `agent_mask` empty (the distractor state
    /// alone is a few bytes per step).
    pub fn read_ground_truth(
        &self,
        i: usize,
        with_mask: bool,
    ) -> Result<Option<GroundTruth>, DataError> {
        let Some(materials) = self.scan.materials else {
            return Ok(None);
        };
        let agent_mask = if with_mask {
            self.read_agent_mask(i)?.unwrap_or_default()
        } else {
            Vec::new()
        };
        let camera: Vec<f64> = self.read_truth(i, "camera")?;
        if let Some(at) = camera.iter().position(|x| !x.is_finite()) {
            return Err(DataError::Invalid {
                file: self.path.clone(),
                item: format!(
                    "group \"{i}/{GROUND_TRUTH}\" dataset \"camera\" step {} entry {}",
                    at / 4,
                    at % 4
                ),
                expected: "finite numbers".into(),
                found: camera[at].to_string(),
            });
        }
        Ok(Some(GroundTruth {
            agent_mask,
            camera,
            background: self.read_truth(i, "background")?,
            background_grid: self.read_truth(i, "background_grid")?,
            colour: self.read_truth(i, "colour")?,
            materials,
        }))
    }

    /// Trajectory `i` in full (with its ground truth when recorded).
    pub fn trajectory(&self, i: usize) -> Result<Trajectory, DataError> {
        let len = self.lengths().get(i).copied().unwrap_or(0);
        Ok(Trajectory {
            ground_truth: self.read_ground_truth(i, true)?,
            obs: self.read_obs(i, 0..len)?,
            states: self.read_states(i)?,
            actions: self.read_actions(i)?,
            traj_return: self.scan.returns[i],
            frame: self.scan.frame,
            state_size: self.scan.state_size,
            action_size: self.scan.action_size,
        })
    }
}

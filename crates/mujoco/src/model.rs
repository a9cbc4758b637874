//! A compiled MuJoCo model (`mjModel`).

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::NonNull;

use crate::{ffi, MujocoError};

/// Kinds of named objects in a model (MuJoCo's `mjtObj`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// A body.
    Body,
    /// A joint.
    Joint,
    /// A geom.
    Geom,
    /// A site.
    Site,
    /// A camera.
    Camera,
    /// A light.
    Light,
    /// A material.
    Material,
    /// A texture.
    Texture,
    /// An actuator.
    Actuator,
    /// A sensor.
    Sensor,
}

impl ObjectKind {
    fn raw(self) -> i32 {
        (match self {
            ObjectKind::Body => ffi::mjtObj__mjOBJ_BODY,
            ObjectKind::Joint => ffi::mjtObj__mjOBJ_JOINT,
            ObjectKind::Geom => ffi::mjtObj__mjOBJ_GEOM,
            ObjectKind::Site => ffi::mjtObj__mjOBJ_SITE,
            ObjectKind::Camera => ffi::mjtObj__mjOBJ_CAMERA,
            ObjectKind::Light => ffi::mjtObj__mjOBJ_LIGHT,
            ObjectKind::Material => ffi::mjtObj__mjOBJ_MATERIAL,
            ObjectKind::Texture => ffi::mjtObj__mjOBJ_TEXTURE,
            ObjectKind::Actuator => ffi::mjtObj__mjOBJ_ACTUATOR,
            ObjectKind::Sensor => ffi::mjtObj__mjOBJ_SENSOR,
        }) as i32
    }

    /// The lower-case name used in messages.
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::Body => "body",
            ObjectKind::Joint => "joint",
            ObjectKind::Geom => "geom",
            ObjectKind::Site => "site",
            ObjectKind::Camera => "camera",
            ObjectKind::Light => "light",
            ObjectKind::Material => "material",
            ObjectKind::Texture => "texture",
            ObjectKind::Actuator => "actuator",
            ObjectKind::Sensor => "sensor",
        }
    }
}

/// Joint types (MuJoCo's `mjtJoint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JointKind {
    /// 7 qpos (position + quaternion), 6 dof.
    Free,
    /// 4 qpos (quaternion), 3 dof.
    Ball,
    /// 1 qpos, 1 dof, translation.
    Slide,
    /// 1 qpos, 1 dof, rotation.
    Hinge,
}

/// What a joint is and where it lives in `qpos`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JointInfo {
    /// The joint type.
    pub kind: JointKind,
    /// Index of its first coordinate in `qpos`.
    pub qpos_adr: usize,
    /// Index of its first degree of freedom in `qvel`.
    pub dof_adr: usize,
    /// Whether the joint has a range limit.
    pub limited: bool,
    /// The range (radians for hinges, metres for slides) when limited.
    pub range: [f64; 2],
}

/// A compiled MuJoCo model. Freed on drop.
pub struct Model {
    ptr: NonNull<ffi::mjModel>,
}

// SAFETY: an mjModel is a self-contained heap allocation with no thread
// affinity; we only mutate it through `&mut self`.
unsafe impl Send for Model {}
// SAFETY: `&self` methods only read.
unsafe impl Sync for Model {}

impl Model {
    /// Compiles the MJCF file at `path` (includes are resolved relative to it).
    pub fn from_xml(path: impl AsRef<Path>) -> Result<Self, MujocoError> {
        let path = path.as_ref();
        std::fs::metadata(path).map_err(|source| MujocoError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let c_path =
            CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| MujocoError::Load {
                path: path.to_path_buf(),
                message: "path contains a NUL byte".into(),
            })?;
        let mut error = vec![0 as c_char; 1024];
        // SAFETY: c_path is NUL-terminated, error has the length we pass.
        let raw = unsafe {
            ffi::mj_loadXML(
                c_path.as_ptr(),
                std::ptr::null(),
                error.as_mut_ptr(),
                error.len() as i32,
            )
        };
        match NonNull::new(raw) {
            Some(ptr) => Ok(Self { ptr }),
            None => {
                // SAFETY: MuJoCo writes a NUL-terminated message into `error`.
                let message = unsafe { CStr::from_ptr(error.as_ptr()) }
                    .to_string_lossy()
                    .trim()
                    .to_string();
                Err(MujocoError::Load {
                    path: path.to_path_buf(),
                    message,
                })
            }
        }
    }

    /// The raw model, for read access to fields this layer does not wrap.
    pub fn raw(&self) -> &ffi::mjModel {
        // SAFETY: ptr is valid for the lifetime of self.
        unsafe { self.ptr.as_ref() }
    }

    /// The raw model, mutable (e.g. to change material colours).
    pub fn raw_mut(&mut self) -> &mut ffi::mjModel {
        // SAFETY: ptr is valid and uniquely borrowed through &mut self.
        unsafe { self.ptr.as_mut() }
    }

    pub(crate) fn as_ptr(&self) -> *const ffi::mjModel {
        self.ptr.as_ptr()
    }

    /// Number of generalised coordinates.
    pub fn nq(&self) -> usize {
        self.raw().nq as usize
    }
    /// Number of degrees of freedom.
    pub fn nv(&self) -> usize {
        self.raw().nv as usize
    }
    /// Number of actuators.
    pub fn nu(&self) -> usize {
        self.raw().nu as usize
    }
    /// Number of bodies, including the world body 0.
    pub fn nbody(&self) -> usize {
        self.raw().nbody as usize
    }
    /// Number of joints.
    pub fn njnt(&self) -> usize {
        self.raw().njnt as usize
    }
    /// Number of geoms.
    pub fn ngeom(&self) -> usize {
        self.raw().ngeom as usize
    }
    /// Number of cameras.
    pub fn ncam(&self) -> usize {
        self.raw().ncam as usize
    }
    /// Number of materials.
    pub fn nmat(&self) -> usize {
        self.raw().nmat as usize
    }
    /// Length of the sensor data array.
    pub fn nsensordata(&self) -> usize {
        self.raw().nsensordata as usize
    }
    /// The physics timestep in seconds.
    pub fn timestep(&self) -> f64 {
        self.raw().opt.timestep
    }

    /// The id of the object of `kind` called `name`.
    pub fn id(&self, kind: ObjectKind, name: &str) -> Result<usize, MujocoError> {
        let unknown = || MujocoError::UnknownName {
            kind: kind.label(),
            name: name.to_string(),
        };
        let c_name = CString::new(name).map_err(|_| unknown())?;
        // SAFETY: valid model pointer and NUL-terminated name.
        let id = unsafe { ffi::mj_name2id(self.as_ptr(), kind.raw(), c_name.as_ptr()) };
        usize::try_from(id).map_err(|_| unknown())
    }

    /// The name of object `id` of `kind`, if it has one.
    pub fn name(&self, kind: ObjectKind, id: usize) -> Option<&str> {
        // SAFETY: mj_id2name bounds-checks id and returns NULL when unnamed.
        let ptr = unsafe { ffi::mj_id2name(self.as_ptr(), kind.raw(), id as i32) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: MuJoCo names are NUL-terminated and live as long as the model.
        unsafe { CStr::from_ptr(ptr) }.to_str().ok()
    }

    /// Type, addresses and limits of joint `id`.
    pub fn joint(&self, id: usize) -> JointInfo {
        assert!(id < self.njnt(), "joint id {id} out of range");
        let m = self.raw();
        // SAFETY: the jnt_* arrays have njnt (x2 for range) entries.
        unsafe {
            let kind = match *m.jnt_type.add(id) as u32 {
                ffi::mjtJoint__mjJNT_FREE => JointKind::Free,
                ffi::mjtJoint__mjJNT_BALL => JointKind::Ball,
                ffi::mjtJoint__mjJNT_SLIDE => JointKind::Slide,
                _ => JointKind::Hinge,
            };
            JointInfo {
                kind,
                qpos_adr: *m.jnt_qposadr.add(id) as usize,
                dof_adr: *m.jnt_dofadr.add(id) as usize,
                limited: *m.jnt_limited.add(id) != 0,
                range: [*m.jnt_range.add(2 * id), *m.jnt_range.add(2 * id + 1)],
            }
        }
    }

    /// Start index and length in `sensordata` of sensor `id`.
    pub fn sensor_span(&self, id: usize) -> (usize, usize) {
        let m = self.raw();
        assert!(id < m.nsensor as usize, "sensor id {id} out of range");
        // SAFETY: sensor_adr / sensor_dim have nsensor entries.
        unsafe {
            (
                *m.sensor_adr.add(id) as usize,
                *m.sensor_dim.add(id) as usize,
            )
        }
    }

    /// Copies this model (all parameters, e.g. to vary materials per environment).
    pub fn try_clone(&self) -> Result<Self, MujocoError> {
        // SAFETY: valid source; a NULL destination asks MuJoCo to allocate.
        let raw = unsafe { ffi::mj_copyModel(std::ptr::null_mut(), self.as_ptr()) };
        NonNull::new(raw)
            .map(|ptr| Self { ptr })
            .ok_or(MujocoError::Allocation)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: we own the model and drop it once.
        unsafe { ffi::mj_deleteModel(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("nq", &self.nq())
            .field("nv", &self.nv())
            .field("nu", &self.nu())
            .field("nbody", &self.nbody())
            .field("ngeom", &self.ngeom())
            .finish()
    }
}

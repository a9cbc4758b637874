//! A model with its simulation state (`mjData`): the unit an environment owns.

use std::ptr::NonNull;

use crate::{ffi, Model, MujocoError};

/// A MuJoCo model and its simulation data, freed together on drop.
///
/// Each environment owns its own `Physics`, so environments can live on
/// worker threads (`Physics: Send`).
pub struct Physics {
    // `data` is declared first so it is dropped before the model it refers to.
    data: NonNull<ffi::mjData>,
    model: Model,
}

// SAFETY: mjData is a heap allocation tied only to `model`, which we own;
// MuJoCo keeps no thread-local state for it. All mutation goes through &mut.
unsafe impl Send for Physics {}

/// Reads `len` values starting at `ptr + start` as a slice.
///
/// SAFETY: the caller guarantees the array behind `ptr` holds `start + len` values.
unsafe fn slice<'a>(ptr: *const f64, start: usize, len: usize) -> &'a [f64] {
    std::slice::from_raw_parts(ptr.add(start), len)
}

impl Physics {
    /// Creates the simulation data for `model`, in its default state (`qpos0`).
    pub fn new(model: Model) -> Result<Self, MujocoError> {
        // SAFETY: model is valid.
        let raw = unsafe { ffi::mj_makeData(model.as_ptr()) };
        let data = NonNull::new(raw).ok_or(MujocoError::Allocation)?;
        Ok(Self { data, model })
    }

    /// Loads the MJCF file at `path` and creates its data.
    pub fn from_xml(path: impl AsRef<std::path::Path>) -> Result<Self, MujocoError> {
        Self::new(Model::from_xml(path)?)
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model, mutable (e.g. to change material colours).
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// The raw data, for read access to fields this layer does not wrap.
    pub fn raw_data(&self) -> &ffi::mjData {
        // SAFETY: data is valid for the lifetime of self.
        unsafe { self.data.as_ref() }
    }

    fn m(&self) -> *const ffi::mjModel {
        self.model.as_ptr()
    }

    fn d(&mut self) -> *mut ffi::mjData {
        self.data.as_ptr()
    }

    /// `mj_resetData`: back to `qpos0`, zero velocity, control and time.
    pub fn reset(&mut self) {
        // SAFETY: matching model and data.
        unsafe { ffi::mj_resetData(self.m(), self.d()) }
    }

    /// `mj_forward`: recompute everything derived from the state, no integration.
    pub fn forward(&mut self) {
        // SAFETY: matching model and data.
        unsafe { ffi::mj_forward(self.m(), self.d()) }
    }

    /// `mj_step`: one full physics step.
    pub fn step(&mut self) {
        // SAFETY: matching model and data.
        unsafe { ffi::mj_step(self.m(), self.d()) }
    }

    /// `n` calls of `mj_step` from a loop written in C (a reference for benchmarks).
    pub fn step_n_in_c(&mut self, n: usize) {
        extern "C" {
            fn lam_c_step_loop(m: *const ffi::mjModel, d: *mut ffi::mjData, n: i32);
        }
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        // SAFETY: matching model and data; the loop only calls mj_step.
        unsafe { lam_c_step_loop(self.m(), self.d(), n) }
    }

    /// `mj_step1`: the position- and velocity-dependent half of a step.
    pub fn step1(&mut self) {
        // SAFETY: matching model and data.
        unsafe { ffi::mj_step1(self.m(), self.d()) }
    }

    /// `mj_step2`: forces, acceleration and integration (after `step1`).
    pub fn step2(&mut self) {
        // SAFETY: matching model and data.
        unsafe { ffi::mj_step2(self.m(), self.d()) }
    }

    /// `mj_subtreeVel`: fills `subtree_linvel` / `subtree_angmom`.
    pub fn compute_subtree_velocity(&mut self) {
        // SAFETY: matching model and data.
        unsafe { ffi::mj_subtreeVel(self.m(), self.d()) }
    }

    /// Simulation time in seconds.
    pub fn time(&self) -> f64 {
        self.raw_data().time
    }

    /// Sets the simulation time.
    pub fn set_time(&mut self, time: f64) {
        // SAFETY: valid data, plain field write.
        unsafe { self.data.as_mut().time = time }
    }

    /// Number of active contacts.
    pub fn ncon(&self) -> usize {
        self.raw_data().ncon as usize
    }

    /// Generalised positions (`nq`).
    pub fn qpos(&self) -> &[f64] {
        // SAFETY: qpos holds nq values.
        unsafe { slice(self.raw_data().qpos, 0, self.model.nq()) }
    }

    /// Generalised positions, mutable.
    pub fn qpos_mut(&mut self) -> &mut [f64] {
        let n = self.model.nq();
        // SAFETY: qpos holds nq values; uniquely borrowed through &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.data.as_mut().qpos, n) }
    }

    /// Generalised velocities (`nv`).
    pub fn qvel(&self) -> &[f64] {
        // SAFETY: qvel holds nv values.
        unsafe { slice(self.raw_data().qvel, 0, self.model.nv()) }
    }

    /// Generalised velocities, mutable.
    pub fn qvel_mut(&mut self) -> &mut [f64] {
        let n = self.model.nv();
        // SAFETY: qvel holds nv values; uniquely borrowed through &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.data.as_mut().qvel, n) }
    }

    /// Sets `qpos` from a slice of length `nq`.
    pub fn set_qpos(&mut self, qpos: &[f64]) -> Result<(), MujocoError> {
        check_len("qpos", self.model.nq(), qpos.len())?;
        self.qpos_mut().copy_from_slice(qpos);
        Ok(())
    }

    /// Sets `qvel` from a slice of length `nv`.
    pub fn set_qvel(&mut self, qvel: &[f64]) -> Result<(), MujocoError> {
        check_len("qvel", self.model.nv(), qvel.len())?;
        self.qvel_mut().copy_from_slice(qvel);
        Ok(())
    }

    /// Controls (`nu`).
    pub fn ctrl(&self) -> &[f64] {
        // SAFETY: ctrl holds nu values.
        unsafe { slice(self.raw_data().ctrl, 0, self.model.nu()) }
    }

    /// Sets the controls from a slice of length `nu`.
    pub fn set_ctrl(&mut self, ctrl: &[f64]) -> Result<(), MujocoError> {
        let n = self.model.nu();
        check_len("ctrl", n, ctrl.len())?;
        // SAFETY: ctrl holds nu values; uniquely borrowed through &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.data.as_mut().ctrl, n) }.copy_from_slice(ctrl);
        Ok(())
    }

    /// All sensor readings (`nsensordata`).
    pub fn sensordata(&self) -> &[f64] {
        // SAFETY: sensordata holds nsensordata values.
        unsafe { slice(self.raw_data().sensordata, 0, self.model.nsensordata()) }
    }

    /// The readings of sensor `id`.
    pub fn sensor(&self, id: usize) -> &[f64] {
        let (adr, dim) = self.model.sensor_span(id);
        &self.sensordata()[adr..adr + dim]
    }

    fn body_vec3(&self, ptr: *const f64, body: usize) -> [f64; 3] {
        assert!(body < self.model.nbody(), "body id {body} out of range");
        // SAFETY: the per-body arrays hold nbody x 3 values.
        let s = unsafe { slice(ptr, 3 * body, 3) };
        [s[0], s[1], s[2]]
    }

    /// Cartesian position of the frame of `body`.
    pub fn xpos(&self, body: usize) -> [f64; 3] {
        self.body_vec3(self.raw_data().xpos, body)
    }

    /// Cartesian position of the centre of mass of `body`.
    pub fn xipos(&self, body: usize) -> [f64; 3] {
        self.body_vec3(self.raw_data().xipos, body)
    }

    /// Centre of mass of the subtree rooted at `body` (what `trackcom` cameras follow).
    pub fn subtree_com(&self, body: usize) -> [f64; 3] {
        self.body_vec3(self.raw_data().subtree_com, body)
    }

    /// Linear velocity of the centre of mass of the subtree rooted at `body`
    /// (valid after [`Physics::compute_subtree_velocity`] or a sensor that needs it).
    pub fn subtree_linvel(&self, body: usize) -> [f64; 3] {
        self.body_vec3(self.raw_data().subtree_linvel, body)
    }

    /// Orientation of `body` as a row-major 3x3 rotation matrix.
    pub fn xmat(&self, body: usize) -> [f64; 9] {
        assert!(body < self.model.nbody(), "body id {body} out of range");
        // SAFETY: xmat holds nbody x 9 values.
        let s = unsafe { slice(self.raw_data().xmat, 9 * body, 9) };
        s.try_into().expect("9 values")
    }
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), MujocoError> {
    if expected == got {
        Ok(())
    } else {
        Err(MujocoError::WrongLength {
            what,
            expected,
            got,
        })
    }
}

impl Drop for Physics {
    fn drop(&mut self) {
        // SAFETY: we own the data and free it once, before the model.
        unsafe { ffi::mj_deleteData(self.data.as_ptr()) }
    }
}

impl std::fmt::Debug for Physics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Physics")
            .field("model", &self.model)
            .field("time", &self.time())
            .finish()
    }
}

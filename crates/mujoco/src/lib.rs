//! A thin, safe Rust layer over Debian's libmujoco 2.2.2.
//!
//! - [`ffi`]: raw bindings, generated once by bindgen from
//!   `/usr/include/mujoco/mujoco.h` and committed (see `scripts/gen-mujoco-ffi.sh`).
//! - [`Model`]: a compiled model (`mjModel`), loaded from MJCF XML.
//! - [`Physics`]: a model together with its simulation state (`mjData`):
//!   stepping, resetting and named, bounds-checked access to the state.

#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    clippy::all,
    missing_docs
)]
pub mod ffi;

mod error;
mod model;
mod physics;
mod visual;

pub use error::MujocoError;
pub use model::{JointInfo, JointKind, Model, ObjectKind};
pub use physics::Physics;
pub use visual::{GeomInfo, GeomShape, Headlight, LightInfo, MaterialInfo, TextureInfo};

#[cfg(test)]
mod tests;

/// The version of the libmujoco we are linked against, e.g. 222 for 2.2.2.
pub fn version() -> i32 {
    // SAFETY: mj_version takes no arguments and reads a constant.
    unsafe { ffi::mj_version() }
}

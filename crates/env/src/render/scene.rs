//! What is visible: the model's static description of geoms, materials,
//! textures and lights (read once), and per-frame snapshots of their poses.
//!
//! - `texture`: the texture pyramid of plane textures and its sampling;
//! - `model`: the scene model ([`SceneModel`], read once) and
//!   [`Scene::capture`], one frame's poses, lights and culling lists;
//! - `shade`: ray queries (primary, mirror and shadow rays, one or four at
//!   a time) and shading ([`Hit`], [`Scene::shade`]);
//! - `shadows`: the culling helpers that build the shadow and tile lists;
//! - `plane`: shading four primary rays on one plane at once (SIMD).

use glam::Vec3A;

use super::culling::TileLists;

mod model;
mod plane;
mod shade;
mod shadows;
mod texture;

pub use model::{CameraPose, SceneModel};
pub use shade::Hit;
pub(crate) use texture::floor;

use model::{SceneGeom, SceneLight};
use shade::Mirror;

/// The geom id of "nothing hit" (the backdrop).
pub const NO_HIT: u16 = u16::MAX;
// `geom_ids` relies on −1 wrapping to `NO_HIT`.
const _: () = assert!(NO_HIT == -1i32 as u16);
/// Offset that keeps secondary rays from hitting their own surface.
const EPSILON: f32 = 1e-4;
/// cos(45°): MuJoCo's default spot cutoff.
const SPOT_COS_CUTOFF: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// One frame's scene: poses and colours of every drawn geom, lights, and the
/// culling lists for primary and mirror rays.
#[derive(Debug)]
pub struct Scene<'m> {
    model: &'m SceneModel,
    eye: Vec3A,
    /// World-space footprint of one pixel per unit of distance (radians).
    pixel_angle: f32,
    geoms: Vec<SceneGeom>,
    lights: Vec<SceneLight>,
    solids: Vec<u16>,
    primary: TileLists,
    /// Per tile, the planes its rays may hit (empty: sky tile, when
    /// `primary` is empty there too).
    planes_seen: TileLists,
    /// The one reflective plane and the lists of mirror rays off it.
    mirror: Option<Mirror>,
}

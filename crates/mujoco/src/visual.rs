//! Read access to what a renderer needs: geoms, materials, textures,
//! cameras, lights, and their poses in the current state.

use crate::{ffi, Model, Physics};

/// Geom shapes (MuJoCo's `mjtGeom`) that a renderer draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeomShape {
    /// Infinite (size 0) or rectangular plane, normal +z.
    Plane,
    /// Sphere of radius size[0].
    Sphere,
    /// Capsule along z: radius size[0], half-length size[1].
    Capsule,
    /// Ellipsoid with radii size[0..3].
    Ellipsoid,
    /// Cylinder along z: radius size[0], half-length size[1].
    Cylinder,
    /// Box with half-sizes size[0..3].
    Box,
    /// Height fields and meshes (not drawn).
    Other,
}

/// The fixed description of one geom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeomInfo {
    /// Its shape.
    pub shape: GeomShape,
    /// Shape parameters (see [`GeomShape`]).
    pub size: [f64; 3],
    /// Material id, if any.
    pub material: Option<usize>,
    /// Its own colour (used when it has no material).
    pub rgba: [f32; 4],
    /// Visibility group (the suite shows groups 0-2).
    pub group: i32,
    /// Radius of a sphere around the geom centre bounding it (0 for planes).
    pub bounding_radius: f64,
    /// The body it belongs to (0: the world, i.e. the scenery, not the agent).
    pub body: usize,
}

/// A material.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaterialInfo {
    /// Base colour.
    pub rgba: [f32; 4],
    /// Texture id, if any.
    pub texture: Option<usize>,
    /// Texture repetitions (per unit length when `texuniform`).
    pub texrepeat: [f32; 2],
    /// Whether `texrepeat` is per unit length.
    pub texuniform: bool,
    /// Mirror reflectance in [0, 1].
    pub reflectance: f32,
    /// Specular intensity.
    pub specular: f32,
    /// Shininess in [0, 1].
    pub shininess: f32,
    /// Emission.
    pub emission: f32,
}

/// A texture's pixels (RGB, row-major; cube and skybox textures stack faces vertically).
#[derive(Clone, Copy, Debug)]
pub struct TextureInfo<'a> {
    /// 0 = 2d, 1 = cube, 2 = skybox.
    pub kind: i32,
    /// Width in texels.
    pub width: usize,
    /// Height in texels.
    pub height: usize,
    /// `width * height * 3` bytes.
    pub rgb: &'a [u8],
}

/// A light's fixed description.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LightInfo {
    /// Directional (else spot/point).
    pub directional: bool,
    /// Casts shadows.
    pub cast_shadow: bool,
    /// Switched on.
    pub active: bool,
    /// Ambient, diffuse and specular colours.
    pub ambient: [f32; 3],
    /// Diffuse colour.
    pub diffuse: [f32; 3],
    /// Specular colour.
    pub specular: [f32; 3],
}

/// The headlight (a directional light along the camera's view).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Headlight {
    /// Switched on.
    pub active: bool,
    /// Ambient colour.
    pub ambient: [f32; 3],
    /// Diffuse colour.
    pub diffuse: [f32; 3],
    /// Specular colour.
    pub specular: [f32; 3],
}

/// SAFETY: the caller guarantees `ptr` points at `n * K` values.
unsafe fn fixed<T: Copy + Default, const K: usize>(ptr: *const T, i: usize) -> [T; K] {
    let mut out = [T::default(); K];
    out.copy_from_slice(std::slice::from_raw_parts(ptr.add(i * K), K));
    out
}

fn optional_id(id: i32) -> Option<usize> {
    usize::try_from(id).ok()
}

impl Model {
    /// Number of lights.
    pub fn nlight(&self) -> usize {
        self.raw().nlight as usize
    }

    /// Number of textures.
    pub fn ntex(&self) -> usize {
        self.raw().ntex as usize
    }

    /// The fixed description of geom `id`.
    pub fn geom(&self, id: usize) -> GeomInfo {
        assert!(id < self.ngeom(), "geom id {id} out of range");
        let m = self.raw();
        // SAFETY: every geom_* array has ngeom rows of the read width.
        unsafe {
            let shape = match *m.geom_type.add(id) as u32 {
                ffi::mjtGeom__mjGEOM_PLANE => GeomShape::Plane,
                ffi::mjtGeom__mjGEOM_SPHERE => GeomShape::Sphere,
                ffi::mjtGeom__mjGEOM_CAPSULE => GeomShape::Capsule,
                ffi::mjtGeom__mjGEOM_ELLIPSOID => GeomShape::Ellipsoid,
                ffi::mjtGeom__mjGEOM_CYLINDER => GeomShape::Cylinder,
                ffi::mjtGeom__mjGEOM_BOX => GeomShape::Box,
                _ => GeomShape::Other,
            };
            GeomInfo {
                shape,
                size: fixed(m.geom_size, id),
                material: optional_id(*m.geom_matid.add(id)),
                rgba: fixed(m.geom_rgba, id),
                group: *m.geom_group.add(id),
                bounding_radius: *m.geom_rbound.add(id),
                body: (*m.geom_bodyid.add(id)).max(0) as usize,
            }
        }
    }

    /// Material `id`.
    pub fn material(&self, id: usize) -> MaterialInfo {
        assert!(id < self.nmat(), "material id {id} out of range");
        let m = self.raw();
        // SAFETY: every mat_* array has nmat rows of the read width.
        unsafe {
            MaterialInfo {
                rgba: fixed(m.mat_rgba, id),
                texture: optional_id(*m.mat_texid.add(id)),
                texrepeat: fixed(m.mat_texrepeat, id),
                texuniform: *m.mat_texuniform.add(id) != 0,
                reflectance: *m.mat_reflectance.add(id),
                specular: *m.mat_specular.add(id),
                shininess: *m.mat_shininess.add(id),
                emission: *m.mat_emission.add(id),
            }
        }
    }

    /// Sets the colour of material `id` (colour distractions).
    pub fn set_material_rgba(&mut self, id: usize, rgba: [f32; 4]) {
        assert!(id < self.nmat(), "material id {id} out of range");
        let m = self.raw_mut();
        // SAFETY: mat_rgba has nmat x 4 values; &mut self is unique.
        unsafe { std::slice::from_raw_parts_mut(m.mat_rgba.add(4 * id), 4) }.copy_from_slice(&rgba);
    }

    /// Texture `id`.
    pub fn texture(&self, id: usize) -> TextureInfo<'_> {
        assert!(id < self.ntex(), "texture id {id} out of range");
        let m = self.raw();
        // SAFETY: tex_* arrays have ntex entries; tex_rgb holds the texels.
        unsafe {
            let width = *m.tex_width.add(id) as usize;
            let height = *m.tex_height.add(id) as usize;
            let adr = *m.tex_adr.add(id) as usize;
            TextureInfo {
                kind: *m.tex_type.add(id),
                width,
                height,
                rgb: std::slice::from_raw_parts(m.tex_rgb.add(adr), width * height * 3),
            }
        }
    }

    /// Vertical field of view of camera `id`, in degrees.
    pub fn camera_fovy(&self, id: usize) -> f64 {
        assert!(id < self.ncam(), "camera id {id} out of range");
        // SAFETY: cam_fovy has ncam entries.
        unsafe { *self.raw().cam_fovy.add(id) }
    }

    /// Light `id`.
    pub fn light(&self, id: usize) -> LightInfo {
        assert!(id < self.nlight(), "light id {id} out of range");
        let m = self.raw();
        // SAFETY: light_* arrays have nlight rows of the read width.
        unsafe {
            LightInfo {
                directional: *m.light_directional.add(id) != 0,
                cast_shadow: *m.light_castshadow.add(id) != 0,
                active: *m.light_active.add(id) != 0,
                ambient: fixed(m.light_ambient, id),
                diffuse: fixed(m.light_diffuse, id),
                specular: fixed(m.light_specular, id),
            }
        }
    }

    /// The headlight.
    pub fn headlight(&self) -> Headlight {
        let h = &self.raw().vis.headlight;
        Headlight {
            active: h.active != 0,
            ambient: h.ambient,
            diffuse: h.diffuse,
            specular: h.specular,
        }
    }
}

impl Physics {
    /// Position and row-major orientation of geom `id` in the current state.
    pub fn geom_pose(&self, id: usize) -> ([f64; 3], [f64; 9]) {
        assert!(id < self.model().ngeom(), "geom id {id} out of range");
        let d = self.raw_data();
        // SAFETY: geom_xpos / geom_xmat have ngeom rows.
        unsafe { (fixed(d.geom_xpos, id), fixed(d.geom_xmat, id)) }
    }

    /// Position and row-major orientation of camera `id` (looks along −z of its frame).
    pub fn camera_pose(&self, id: usize) -> ([f64; 3], [f64; 9]) {
        assert!(id < self.model().ncam(), "camera id {id} out of range");
        let d = self.raw_data();
        // SAFETY: cam_xpos / cam_xmat have ncam rows.
        unsafe { (fixed(d.cam_xpos, id), fixed(d.cam_xmat, id)) }
    }

    /// Position and direction of light `id`.
    pub fn light_pose(&self, id: usize) -> ([f64; 3], [f64; 3]) {
        assert!(id < self.model().nlight(), "light id {id} out of range");
        let d = self.raw_data();
        // SAFETY: light_xpos / light_xdir have nlight rows.
        unsafe { (fixed(d.light_xpos, id), fixed(d.light_xdir, id)) }
    }
}

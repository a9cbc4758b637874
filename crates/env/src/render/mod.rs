//! A CPU ray caster for MuJoCo scenes: primitives, materials, the checkered
//! floor, headlight and model lights with diffuse and specular shading,
//! shadows, floor reflections and the gradient sky or a background image.
//! No OpenGL, no global state: one [`Renderer`] per environment (or shared
//! between environments of one task), safe to run on worker threads.
//!
//! Speed comes from screen-space culling (each 8x8 tile of the image tests
//! only the geoms whose bounding sphere projects onto it, see `culling`) and
//! adaptive anti-aliasing: one ray per pixel, then `supersample²` rays only
//! where neighbouring pixels see different geoms or floor texels.

mod culling;
pub mod geometry;
mod packet;
mod scene;
mod sky;

use glam::Vec3A;
use lam_mujoco::{Model, Physics};

pub use scene::{CameraPose, Hit, Scene, SceneModel};
pub use sky::{Background, Sky};

use culling::Projector;
use geometry::Ray;
use packet::Vec3x4;
use scene::NO_HIT;
/// Errors of the renderer.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A zero width or height.
    #[error("image size must be at least 1x1, got {width}x{height}")]
    ZeroSize {
        /// Requested width.
        width: usize,
        /// Requested height.
        height: usize,
    },
    /// A camera the model does not have.
    #[error("camera {camera} does not exist: the model has {available} cameras")]
    NoCamera {
        /// Requested camera.
        camera: usize,
        /// Number of cameras.
        available: usize,
    },
}

/// Smallest frame side the commands accept, in pixels.
pub const MIN_SIDE: usize = 8;

/// Largest frame side the commands accept, in pixels (a 1024 x 1024 frame
/// is 3 MB per step; larger ones would exhaust memory before the first
/// trajectory).
pub const MAX_SIDE: usize = 1024;

/// What and how to draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderConfig {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Model camera (0 = the suite's default tracking camera).
    pub camera: usize,
    /// Samples per pixel side (1 = one ray per pixel, 2 = 4 rays, ...).
    pub supersample: usize,
    /// Shadows from shadow-casting model lights.
    pub shadows: bool,
    /// Mirror reflections on reflective materials (the floor).
    pub reflections: bool,
    /// Shade every edge sample in full. When false (default) an edge sample
    /// only finds which geom it sees and takes the colour of the pixel (or
    /// neighbour) whose centre sees that geom, shading only samples that see
    /// a geom no neighbour does: coverage anti-aliasing. Measured with
    /// callgrind on cheetah-run (step + render per frame: 1.6 M instructions
    /// at one ray per pixel, 2.3 M with coverage, 3.3 M shading every edge
    /// sample) the edge pass costs ~60 % less than full shading, and images
    /// differ from fully shaded ones by under a level per channel on
    /// average (tested).
    pub shade_edge_samples: bool,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            width: 64,
            height: 64,
            camera: 0,
            supersample: 2,
            shadows: true,
            reflections: true,
            shade_edge_samples: false,
        }
    }
}

/// What a frame shows besides the physics state: the distractors' camera
/// pose, material colours and background image.
#[derive(Clone, Copy, Debug, Default)]
pub struct View<'a> {
    /// Camera pose replacing the model camera's (camera shake).
    pub camera: Option<CameraPose>,
    /// RGB per material id, replacing the model's (colour drift).
    pub material_rgb: Option<&'a [[f32; 3]]>,
    /// Image replacing the sky.
    pub background: Option<Background<'a>>,
}

/// Colour difference (any channel) across a geometry edge worth anti-aliasing.
const EDGE_CONTRAST: f32 = 0.03;

/// Draws RGB images of a physics state.
#[derive(Clone, Debug)]
pub struct Renderer {
    config: RenderConfig,
    model: SceneModel,
    sky: Sky,
    sky_cache: SkyCache,
    /// Per drawn geom: part of the agent (for agent masks).
    agent: Vec<bool>,
}

/// The sky seen through every pixel centre for the last camera
/// orientation: tracking cameras keep their orientation, so without
/// distractions the sky is drawn once, not once per frame.
#[derive(Debug, Default)]
struct SkyCache(std::sync::Mutex<Option<(SkyKey, SkyPixels)>>);

/// Camera orientation, field of view and image size, as bits.
type SkyKey = [u32; 12];
/// Sky colour per pixel centre.
type SkyPixels = std::sync::Arc<Vec<[f32; 3]>>;

impl Clone for SkyCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Renderer {
    /// A renderer for `model` with `config`.
    pub fn new(model: &Model, config: RenderConfig) -> Result<Self, RenderError> {
        if config.width == 0 || config.height == 0 {
            return Err(RenderError::ZeroSize {
                width: config.width,
                height: config.height,
            });
        }
        if config.camera >= model.ncam() {
            return Err(RenderError::NoCamera {
                camera: config.camera,
                available: model.ncam(),
            });
        }
        Ok(Self {
            config: RenderConfig {
                supersample: config.supersample.max(1),
                ..config
            },
            agent: SceneModel::new(model).agent_geoms(),
            model: SceneModel::new(model),
            sky: Sky::default(),
            sky_cache: SkyCache::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RenderConfig {
        &self.config
    }

    /// The static scene read from the model (material count etc.).
    pub fn scene_model(&self) -> &SceneModel {
        &self.model
    }

    /// Renders the current state into a new `height x width x 3` RGB buffer.
    pub fn render(&self, physics: &Physics) -> Vec<u8> {
        let mut out = vec![0; self.config.width * self.config.height * 3];
        self.render_into(physics, &View::default(), &mut out);
        out
    }

    /// The model camera's pose in the current state.
    pub fn model_camera(&self, physics: &Physics) -> CameraPose {
        let (pos, xmat) = physics.camera_pose(self.config.camera);
        CameraPose { pos, xmat }
    }

    fn projector(&self, physics: &Physics, pose: &CameraPose) -> Projector {
        let c = &self.config;
        let fovy = physics.model().camera_fovy(c.camera).to_radians() as f32;
        let eye = Vec3A::new(pose.pos[0] as f32, pose.pos[1] as f32, pose.pos[2] as f32);
        Projector::new(eye, pose.basis(), fovy, c.width, c.height)
    }

    /// The sky through every pixel centre for the tracer's camera, from the
    /// cache when the orientation has not changed.
    fn sky_pixels(&self, tracer: &Tracer) -> SkyPixels {
        let p = tracer.projector;
        let mut key: SkyKey = [0; 12];
        for (k, v) in [p.right, p.up, p.forward]
            .iter()
            .flat_map(|v| v.to_array())
            .enumerate()
        {
            key[k] = v.to_bits();
        }
        key[9] = p.half_h.to_bits();
        key[10] = p.width as u32;
        key[11] = p.height as u32;
        let mut cache = self.sky_cache.0.lock().expect("sky cache lock");
        if let Some((k, sky)) = cache.as_ref() {
            if *k == key {
                return sky.clone();
            }
        }
        let sky: Vec<[f32; 3]> = (0..p.height)
            .flat_map(|y| (0..p.width).map(move |x| (x, y)))
            .map(|(x, y)| {
                let dir = p.ray_dir(x as f32 + 0.5, y as f32 + 0.5).normalize();
                tracer.sky.color(dir, &tracer.marks)
            })
            .collect();
        let sky = std::sync::Arc::new(sky);
        *cache = Some((key, sky.clone()));
        sky
    }

    /// Renders the current state as `view` shows it into `out`
    /// (`height x width x 3` bytes, row-major).
    ///
    /// # Panics
    /// If `out` has the wrong size, `physics` is of another model than the
    /// renderer's, or `view.material_rgb` has the wrong length.
    pub fn render_into(&self, physics: &Physics, view: &View, out: &mut [u8]) {
        self.draw(physics, view, out, None, true);
    }

    /// [`Renderer::render_into`], also writing the agent mask into `mask`
    /// (`height x width`, row-major): 1 where the ray through the pixel's
    /// centre first meets a geom of the agent (any body but the world), 0
    /// where it meets the scenery or nothing. The mask comes from the
    /// renderer's own hit ids: it costs no extra ray.
    ///
    /// # Panics
    /// As [`Renderer::render_into`], and if `mask` has the wrong size.
    pub fn render_with_mask(
        &self,
        physics: &Physics,
        view: &View,
        out: &mut [u8],
        mask: &mut [u8],
    ) {
        self.draw(physics, view, out, Some(mask), true);
    }

    /// [`Renderer::render_into`]; `plane_packets` false shades planes one
    /// ray at a time (the reference the packets are tested against).
    fn draw(
        &self,
        physics: &Physics,
        view: &View,
        out: &mut [u8],
        mask: Option<&mut [u8]>,
        plane_packets: bool,
    ) {
        let c = &self.config;
        let (w, h) = (c.width, c.height);
        assert_eq!(out.len(), w * h * 3, "output buffer size");
        assert!(self.model.fits(physics.model()), "physics of another model");
        if let Some(m) = view.material_rgb {
            assert_eq!(m.len(), self.model.material_count(), "material colours");
        }
        let reference = self.projector(physics, &self.model_camera(physics));
        let projector = match &view.camera {
            Some(pose) => self.projector(physics, pose),
            None => reference,
        };
        let scene = Scene::capture(&self.model, physics, &projector, view.material_rgb);
        let mut tracer = Tracer {
            scene: &scene,
            projector: &projector,
            reference: &reference,
            sky: &self.sky,
            background: view.background.as_ref(),
            config: c,
            marks: sky::SkyMarks::new(self.sky.marks, 2.0 * projector.half_h / c.height as f32),
            sky_pixels: None,
            plane_packets,
        };
        let sky_pixels = view.background.is_none().then(|| self.sky_pixels(&tracer));
        tracer.sky_pixels = sky_pixels.as_deref().map(|v| v.as_slice());
        let mut rgb = vec![[0.0f32; 3]; w * h];
        let mut ids = vec![NO_HIT; w * h];
        tracer.centre_pass(&mut rgb, &mut ids);
        if let Some(mask) = mask {
            assert_eq!(mask.len(), w * h, "mask buffer size");
            for (m, &id) in mask.iter_mut().zip(&ids) {
                *m = u8::from(id != NO_HIT && self.agent[id as usize]);
            }
        }
        if c.supersample > 1 {
            let edges = edge_pixels(&rgb, &ids, w, h);
            tracer.edge_pass(&edges, &mut rgb, &ids);
        }
        to_bytes(rgb.as_flattened(), out);
    }
}

/// Pixels on a visible geometry edge: a 4-neighbour sees another geom in a
/// colour that differs by more than `EDGE_CONTRAST` in some channel.
/// Textures are filtered, the sky is smooth, and where two geoms meet in
/// nearly the same colour (limbs of one body) there is nothing to smooth.
#[inline(never)]
fn edge_pixels(rgb: &[[f32; 3]], ids: &[u16], w: usize, h: usize) -> Vec<usize> {
    let differ = |a: &[f32; 3], b: &[f32; 3]| {
        (a[0] - b[0]).abs() > EDGE_CONTRAST
            || (a[1] - b[1]).abs() > EDGE_CONTRAST
            || (a[2] - b[2]).abs() > EDGE_CONTRAST
    };
    // One bit per pixel.
    let mut on_edge = vec![0u64; (w * h).div_ceil(64)];
    let mut mark = |i: usize| on_edge[i / 64] |= 1 << (i % 64);
    // Each pair once: a pixel with its right and its lower neighbour.
    for y in 0..h {
        let row = y * w..(y + 1) * w;
        let (id, colour) = (&ids[row.clone()], &rgb[row]);
        for x in 0..w.saturating_sub(1) {
            if id[x] != id[x + 1] && differ(&colour[x], &colour[x + 1]) {
                mark(y * w + x);
                mark(y * w + x + 1);
            }
        }
        if y + 1 < h {
            let below = (y + 1) * w..(y + 2) * w;
            let (id_below, colour_below) = (&ids[below.clone()], &rgb[below]);
            for x in 0..w {
                if id[x] != id_below[x] && differ(&colour[x], &colour_below[x]) {
                    mark(y * w + x);
                    mark((y + 1) * w + x);
                }
            }
        }
    }
    let mut edges = Vec::new();
    for (k, &word) in on_edge.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            edges.push(64 * k + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
    edges
}

/// Colour channels in [0, 1] (clamped) to bytes, rounded; four at a time.
fn to_bytes(values: &[f32], out: &mut [u8]) {
    let (lo, hi) = (wide::f32x4::ZERO, wide::f32x4::ONE);
    let mut chunks = out.chunks_exact_mut(4);
    let mut values4 = values.chunks_exact(4);
    for (bytes, v) in (&mut chunks).zip(&mut values4) {
        let v = wide::f32x4::new([v[0], v[1], v[2], v[3]]);
        let scaled = v.max(lo).min(hi) * 255.0 + 0.5;
        for (b, i) in bytes.iter_mut().zip(scaled.trunc_int().to_array()) {
            *b = i as u8;
        }
    }
    for (b, v) in chunks.into_remainder().iter_mut().zip(values4.remainder()) {
        *b = (v * 255.0 + 0.5) as u8;
    }
}

/// A pixel and its 4 and diagonal neighbours.
const NEIGHBOURS: [(isize, isize); 9] = [
    (0, 0),
    (-1, 0),
    (1, 0),
    (0, -1),
    (0, 1),
    (-1, -1),
    (1, -1),
    (-1, 1),
    (1, 1),
];

/// Everything one ray needs.
struct Tracer<'a> {
    scene: &'a Scene<'a>,
    projector: &'a Projector,
    reference: &'a Projector,
    sky: &'a Sky,
    background: Option<&'a Background<'a>>,
    config: &'a RenderConfig,
    /// The sky's marks at this pixel size.
    marks: sky::SkyMarks,
    /// The sky through each pixel centre (no background image).
    sky_pixels: Option<&'a [[f32; 3]]>,
    /// Shade rays that meet a plane four at a time.
    plane_packets: bool,
}

impl Tracer<'_> {
    /// Pass 1: one ray through each pixel centre, four pixels at a time (a
    /// 4-aligned run of a row shares its culling tiles): colours into
    /// `rgb`, the geom seen into `ids`.
    #[inline(never)]
    fn centre_pass(&self, rgb: &mut [[f32; 3]], ids: &mut [u16]) {
        let (scene, projector) = (self.scene, self.projector);
        let (w, h) = (projector.width, projector.height);
        for y in 0..h {
            for x0 in (0..w).step_by(4) {
                let lanes = (w - x0).min(4);
                let xs: [usize; 4] = std::array::from_fn(|k| x0 + k.min(lanes - 1));
                let only_backdrop = scene.sees_only_backdrop(x0, y);
                if let (true, Some(sky)) = (only_backdrop, self.sky_pixels) {
                    let row = y * w + x0..y * w + x0 + lanes;
                    rgb[row.clone()].copy_from_slice(&sky[row]);
                    continue;
                }
                let dirs = projector.unit_dirs4(
                    wide::f32x4::new(xs.map(|x| x as f32 + 0.5)),
                    wide::f32x4::splat(y as f32 + 0.5),
                );
                let behind = self.centre_backdrops(&dirs, xs, y);
                if only_backdrop {
                    for (k, &x) in xs[..lanes].iter().enumerate() {
                        rgb[y * w + x] = behind[k];
                    }
                    continue;
                }
                let (t, seen) = scene.primary_hits4(&dirs, x0, y);
                let colours = self.colours4(&dirs, t, seen, xs, y, behind);
                for (k, &x) in xs[..lanes].iter().enumerate() {
                    ids[y * w + x] = seen[k];
                    rgb[y * w + x] = colours[k];
                }
            }
        }
    }

    /// Pass 2: `supersample²` rays through each of the pixels `edges`; each
    /// ray takes the colour of the nearest pixel centre that sees the same
    /// geom (coverage), or is shaded when none does or the configuration
    /// shades every sample; the pixel gets their mean.
    #[inline(never)]
    fn edge_pass(&self, edges: &[usize], rgb: &mut [[f32; 3]], ids: &[u16]) {
        let (scene, projector, c) = (self.scene, self.projector, self.config);
        let (w, h) = (projector.width, projector.height);
        let n = c.supersample;
        // Sample offsets inside a pixel and, per sample, the pixel and its
        // 8 neighbours by distance of their centres (ties: the pixel,
        // then its 4-neighbours, then the diagonals).
        let samples: Vec<(f32, f32)> = (0..n * n)
            .map(|s| {
                let at = |k: usize| (k as f32 + 0.5) / n as f32;
                (at(s % n), at(s / n))
            })
            .collect();
        let nearest_first: Vec<[(isize, isize); 9]> = samples
            .iter()
            .map(|&(fx, fy)| {
                let mut order = NEIGHBOURS;
                let d = |&(dx, dy): &(isize, isize)| {
                    (dx as f32 + 0.5 - fx).powi(2) + (dy as f32 + 0.5 - fy).powi(2)
                };
                order.sort_by(|a, b| d(a).total_cmp(&d(b)));
                order
            })
            .collect();
        // The same as offsets into the image, for pixels off its border.
        let deltas: Vec<[isize; 9]> = nearest_first
            .iter()
            .map(|order| order.map(|(dx, dy)| dy * w as isize + dx))
            .collect();
        let mut smoothed = Vec::with_capacity(edges.len());
        for &i in edges {
            let (x, y) = (i % w, i / w);
            let interior = x > 0 && y > 0 && x + 1 < w && y + 1 < h;
            let backdrop = scene.sees_only_backdrop(x, y);
            let mut acc = [0.0f32; 3];
            for (chunk, first) in samples.chunks(4).zip((0..).step_by(4)) {
                let lanes = chunk.len();
                let at = |k: usize| chunk[k.min(lanes - 1)];
                let dirs = projector.unit_dirs4(
                    wide::f32x4::new(std::array::from_fn(|k| x as f32 + at(k).0)),
                    wide::f32x4::new(std::array::from_fn(|k| y as f32 + at(k).1)),
                );
                let (t, seen) = if backdrop {
                    ([f32::INFINITY; 4], [NO_HIT; 4])
                } else {
                    scene.primary_hits4(&dirs, x, y)
                };
                for k in 0..lanes {
                    // Coverage: the nearest pixel centre that sees the same
                    // geom lends its colour.
                    let lender = if c.shade_edge_samples {
                        None
                    } else if interior {
                        deltas[first + k]
                            .iter()
                            .map(|&d| (i as isize + d) as usize)
                            .find(|&j| ids[j] == seen[k])
                    } else {
                        nearest_first[first + k].iter().find_map(|&(dx, dy)| {
                            let (nx, ny) = (x as isize + dx, y as isize + dy);
                            let inside =
                                nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h;
                            let j = (ny * w as isize + nx) as usize;
                            (inside && ids[j] == seen[k]).then_some(j)
                        })
                    };
                    let s = match lender {
                        Some(j) => rgb[j],
                        None => {
                            let dir = dirs.lane(k);
                            let behind = self.backdrop(dir);
                            self.colour(dir, t[k], seen[k], x, y, behind)
                        }
                    };
                    for k in 0..3 {
                        acc[k] += s[k];
                    }
                }
            }
            smoothed.push((i, acc.map(|v| v / (n * n) as f32)));
        }
        for (i, colour) in smoothed {
            rgb[i] = colour;
        }
    }

    fn backdrop(&self, dir: Vec3A) -> [f32; 3] {
        match self.background {
            Some(b) => b.color(dir, self.reference),
            None => self.sky.color(dir, &self.marks),
        }
    }

    /// The backdrop along unit `dirs`, through the centres of pixels
    /// `xs` of row `y`.
    #[inline]
    fn centre_backdrops(&self, dirs: &Vec3x4, xs: [usize; 4], y: usize) -> [[f32; 3]; 4] {
        match (self.sky_pixels, self.background) {
            (Some(sky), _) => xs.map(|x| sky[y * self.projector.width + x]),
            (None, Some(b)) => b.color4(dirs, self.reference),
            (None, None) => std::array::from_fn(|k| self.backdrop(dirs.lane(k))),
        }
    }

    /// Colours seen along unit `dirs` through pixels `xs` of row `y` (one
    /// culling tile), where the primary rays meet geoms `seen` at distances
    /// `t`; `behind` is the backdrop along each. Lanes on a plane are shaded
    /// four at a time, lanes on solids one by one.
    fn colours4(
        &self,
        dirs: &Vec3x4,
        t: [f32; 4],
        seen: [u16; 4],
        xs: [usize; 4],
        y: usize,
        behind: [[f32; 3]; 4],
    ) -> [[f32; 3]; 4] {
        let mut out = behind;
        let mut done = seen.map(|g| g == NO_HIT);
        for k in 0..4 {
            if done[k] {
                continue;
            }
            let geom = seen[k];
            if !(self.plane_packets && self.scene.is_plane(geom)) {
                out[k] = self.colour(dirs.lane(k), t[k], geom, xs[k], y, behind[k]);
                continue;
            }
            let on_plane = seen.map(|g| g == geom);
            let lanes =
                wide::f32x4::new(on_plane.map(|b| if b { f32::from_bits(!0) } else { 0.0 }));
            let shaded = self.scene.shade_plane4(
                geom,
                dirs,
                wide::f32x4::new(t),
                lanes,
                (xs[0], y),
                self.config,
            );
            for j in (0..4).filter(|&j| on_plane[j]) {
                out[j] = self.over_backdrop(shaded[j], behind[j]);
                done[j] = true;
            }
        }
        out
    }

    /// A plane's colour blended over the backdrop `behind` (a ground that
    /// lets the background video through).
    #[inline]
    fn over_backdrop(&self, mut rgb: [f32; 3], behind: [f32; 3]) -> [f32; 3] {
        if let Some(b) = self.background {
            if b.floor_alpha < 1.0 {
                for k in 0..3 {
                    rgb[k] = rgb[k] * b.floor_alpha + behind[k] * (1.0 - b.floor_alpha);
                }
            }
        }
        rgb
    }

    /// Colour seen along unit `dir` through pixel (`px`, `py`), where the
    /// primary ray meets `geom` (`NO_HIT`: the backdrop) at distance `t`;
    /// `behind` is the backdrop along `dir`.
    #[inline(always)]
    fn colour(
        &self,
        dir: Vec3A,
        t: f32,
        geom: u16,
        px: usize,
        py: usize,
        behind: [f32; 3],
    ) -> [f32; 3] {
        if geom == NO_HIT {
            return behind;
        }
        let scene = self.scene;
        let hit = scene.primary_hit_on(dir, t, geom);
        let point = self.projector.eye + dir * hit.t;
        let shadows = self.config.shadows.then_some((px, py));
        let mut rgb = scene.shade(&hit, point, dir, hit.t, shadows, None);
        let reflectance = scene.reflectance(hit.geom);
        if self.config.reflections && reflectance > 0.0 {
            let n = hit.normal;
            let mirrored = Ray {
                origin: point,
                dir: dir - n * (2.0 * dir.dot(n)),
            };
            if let Some(r) = scene.mirror_hit(&mirrored, hit.geom, px, py) {
                let p = mirrored.origin + mirrored.dir * r.t;
                let seen = scene.shade(&r, p, mirrored.dir, hit.t + r.t, None, Some(n));
                for k in 0..3 {
                    rgb[k] = rgb[k] * (1.0 - reflectance) + seen[k] * reflectance;
                }
            }
        }
        if scene.is_plane(hit.geom) {
            rgb = self.over_backdrop(rgb, behind);
        }
        rgb
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Environment, TaskId};
    use lam_mujoco::Physics;

    fn renderer(env: &Environment, config: RenderConfig) -> Renderer {
        Renderer::new(env.physics().model(), config).unwrap()
    }

    #[test]
    fn same_state_same_pixels_and_the_agent_is_drawn() {
        let mut env = Environment::new(TaskId::CheetahRun, 3).unwrap();
        env.reset().unwrap();
        let r = renderer(&env, RenderConfig::default());
        let a = r.render(env.physics());
        assert_eq!(a.len(), 64 * 64 * 3);
        assert_eq!(a, r.render(env.physics()));
        // The cheetah's orange (.7, .5, .3) dominates some pixels: red > blue.
        let orange = a
            .chunks(3)
            .filter(|p| p[0] as i32 > p[2] as i32 + 40)
            .count();
        assert!(orange > 30, "only {orange} agent-coloured pixels");
        // The sky (blue above the horizon) fills the top row.
        assert!(a[..64 * 3].chunks(3).all(|p| p[2] > p[0]));
    }

    /// A hand-built scene: a floor and a green post on the world body (the
    /// scenery), a red ball and a blue box on a free body (the agent), and
    /// a camera looking at them along +y.
    const MASK_SCENE: &str = r#"<mujoco>
  <worldbody>
    <light pos="0 -1 3" dir="0 0.3 -1"/>
    <geom type="plane" size="3 3 .1" rgba=".5 .5 .5 1"/>
    <geom type="box" pos="-0.7 0 0.3" size="0.12 0.12 0.3" rgba="0 1 0 1"/>
    <camera name="front" pos="0 -3 0.5" xyaxes="1 0 0 0 0 1" fovy="45"/>
    <body name="agent" pos="0.35 0 0.5">
      <freejoint/>
      <geom type="sphere" size="0.3" rgba="1 0 0 1"/>
      <geom type="box" pos="0.1 -0.1 -0.35" size="0.15 0.15 0.08" rgba="0 0 1 1"/>
    </body>
  </worldbody>
</mujoco>"#;

    #[test]
    fn agent_masks_cover_exactly_the_agent_geoms_on_a_hand_built_scene() {
        let dir = tempfile::tempdir().unwrap();
        let xml = dir.path().join("scene.xml");
        std::fs::write(&xml, MASK_SCENE).unwrap();
        let mut physics = Physics::from_xml(&xml).unwrap();
        physics.forward();
        for supersample in [1, 2] {
            let config = RenderConfig {
                width: 48,
                height: 48,
                supersample,
                ..RenderConfig::default()
            };
            let r = Renderer::new(physics.model(), config).unwrap();
            let (mut rgb, mut mask) = (vec![0; 48 * 48 * 3], vec![9; 48 * 48]);
            r.render_with_mask(&physics, &View::default(), &mut rgb, &mut mask);
            assert_eq!(rgb, r.render(&physics), "a mask never changes the frame");
            // Expected: the first geom each pixel's centre ray meets, found
            // here by plain ray casting against the two agent geoms and the
            // post, in world coordinates.
            let p = r.projector(&physics, &r.model_camera(&physics));
            let eye = p.eye.as_dvec3();
            let (mut agent, mut post, mut wrong) = (0, 0, vec![]);
            for y in 0..48 {
                for x in 0..48 {
                    let d = p
                        .ray_dir(x as f32 + 0.5, y as f32 + 0.5)
                        .normalize()
                        .as_dvec3();
                    let ball = sphere_hit(eye, d, glam::DVec3::new(0.35, 0.0, 0.5), 0.3);
                    let foot = box_hit(
                        eye,
                        d,
                        glam::DVec3::new(0.45, -0.1, 0.15),
                        glam::DVec3::new(0.15, 0.15, 0.08),
                    );
                    let pole = box_hit(
                        eye,
                        d,
                        glam::DVec3::new(-0.7, 0.0, 0.3),
                        glam::DVec3::new(0.12, 0.12, 0.3),
                    );
                    let nearest_agent = ball.min(foot);
                    let expected = u8::from(nearest_agent < pole && nearest_agent.is_finite());
                    agent += expected as usize;
                    post += usize::from(pole < nearest_agent);
                    // Grazing rays (within 1 mm of a silhouette) may go either way.
                    let grazing = [ball, foot, pole].iter().any(|&t| t.is_finite() && t < 0.0)
                        || near_silhouette(eye, d);
                    if mask[y * 48 + x] != expected && !grazing {
                        wrong.push((x, y, mask[y * 48 + x]));
                    }
                }
            }
            assert!(
                agent > 100 && post > 20,
                "agent {agent}, post {post} pixels"
            );
            assert!(
                wrong.is_empty(),
                "supersample {supersample}: pixels {wrong:?}"
            );
            assert!(mask.iter().all(|&m| m <= 1));
        }
    }

    /// Distance along the unit ray `eye + t d` to a sphere, ∞ when missed.
    fn sphere_hit(eye: glam::DVec3, d: glam::DVec3, c: glam::DVec3, r: f64) -> f64 {
        let oc = eye - c;
        let b = oc.dot(d);
        let disc = b * b - (oc.length_squared() - r * r);
        if disc < 0.0 {
            f64::INFINITY
        } else {
            -b - disc.sqrt()
        }
    }

    /// Distance along the unit ray to an axis-aligned box (slabs), ∞ when missed.
    fn box_hit(eye: glam::DVec3, d: glam::DVec3, c: glam::DVec3, half: glam::DVec3) -> f64 {
        let (lo, hi) = ((c - half - eye) / d, (c + half - eye) / d);
        let near = lo.min(hi).max_element();
        let far = lo.max(hi).min_element();
        if near <= far && far > 0.0 {
            near
        } else {
            f64::INFINITY
        }
    }

    /// Whether the ray passes within 1 mm of any silhouette of the scene's
    /// agent or post (where float rounding may flip a pixel).
    fn near_silhouette(eye: glam::DVec3, d: glam::DVec3) -> bool {
        let e = 1e-3;
        let grow = |h: glam::DVec3, by: f64| h + glam::DVec3::splat(by);
        let ball = |r: f64| sphere_hit(eye, d, glam::DVec3::new(0.35, 0.0, 0.5), r).is_finite();
        let foot = |by: f64| {
            box_hit(
                eye,
                d,
                glam::DVec3::new(0.45, -0.1, 0.15),
                grow(glam::DVec3::new(0.15, 0.15, 0.08), by),
            )
            .is_finite()
        };
        let pole = |by: f64| {
            box_hit(
                eye,
                d,
                glam::DVec3::new(-0.7, 0.0, 0.3),
                grow(glam::DVec3::new(0.12, 0.12, 0.3), by),
            )
            .is_finite()
        };
        ball(0.3 + e) != ball(0.3 - e) || foot(e) != foot(-e) || pole(e) != pole(-e)
    }

    #[test]
    fn moving_the_agent_changes_the_image() {
        let mut env = Environment::new(TaskId::WalkerRun, 1).unwrap();
        env.reset().unwrap();
        let r = renderer(&env, RenderConfig::default());
        let before = r.render(env.physics());
        for _ in 0..20 {
            env.step(&[1.0, -1.0, 1.0, -1.0, 1.0, -1.0]).unwrap();
        }
        assert_ne!(before, r.render(env.physics()));
    }

    #[test]
    fn coverage_anti_aliasing_is_close_to_shading_every_sample() {
        for task in TaskId::ALL {
            let mut env = Environment::new(task, 2).unwrap();
            env.reset().unwrap();
            for _ in 0..30 {
                env.step(&vec![0.3; env.action_size()]).unwrap();
            }
            let full = renderer(
                &env,
                RenderConfig {
                    shade_edge_samples: true,
                    ..RenderConfig::default()
                },
            )
            .render(env.physics());
            let coverage = renderer(&env, RenderConfig::default()).render(env.physics());
            let single = renderer(
                &env,
                RenderConfig {
                    supersample: 1,
                    ..RenderConfig::default()
                },
            )
            .render(env.physics());
            let mean_diff = |a: &[u8], b: &[u8]| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (*x as f64 - *y as f64).abs())
                    .sum::<f64>()
                    / a.len() as f64
            };
            let (to_full, aliased) = (mean_diff(&coverage, &full), mean_diff(&single, &full));
            // Edges are smoothed (closer to full supersampling than one ray
            // per pixel is) and the rest of the image is untouched.
            assert!(to_full < 0.9 * aliased, "{task}: {to_full} vs {aliased}");
            assert!(to_full < 1.0, "{task}: mean difference {to_full}");
        }
    }

    #[test]
    fn plane_packets_shade_like_single_rays() {
        use crate::distractors::{DistractionConfig, Distractions, Preset};
        use rand::SeedableRng;
        for task in TaskId::ALL {
            for preset in [Preset::Vanilla, Preset::ScaleEasyVideoHard] {
                let mut env = Environment::new(task, 4).unwrap();
                env.reset().unwrap();
                let r = renderer(&env, RenderConfig::default());
                let config = DistractionConfig {
                    preset,
                    ..DistractionConfig::default()
                };
                let library = config.library(64, 64).unwrap();
                let model = env.physics().model();
                let mut distractions = Distractions::new(task, model, preset, true, library);
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
                distractions.reset(&mut rng).unwrap();
                // Values (pixel channels) differing by more than one level.
                let mut differing = 0;
                let mut compared = 0;
                for step in 0..40 {
                    env.step(&vec![(step as f64 * 0.7).sin(); env.action_size()])
                        .unwrap();
                    distractions.step(&mut rng, env.physics(), &r);
                    if step % 10 != 9 {
                        continue;
                    }
                    let view = distractions.view(env.physics(), &r);
                    let mut packets = vec![0; 64 * 64 * 3];
                    let mut single = vec![0; 64 * 64 * 3];
                    r.draw(env.physics(), &view, &mut packets, None, true);
                    r.draw(env.physics(), &view, &mut single, None, false);
                    compared += packets.len();
                    differing += packets
                        .iter()
                        .zip(&single)
                        .filter(|(a, b)| a.abs_diff(**b) > 1)
                        .count();
                }
                eprintln!("{task} {preset}: {differing} of {compared} values differ");
                // Rounding may flip a shadow or reflection edge pixel, no more.
                assert!(
                    differing <= 12,
                    "{task} {preset}: {differing} values differ"
                );
            }
        }
    }

    #[test]
    fn bad_configurations_are_errors() {
        let env = Environment::new(TaskId::HopperHop, 0).unwrap();
        let model = env.physics().model();
        let zero = RenderConfig {
            width: 0,
            ..RenderConfig::default()
        };
        assert!(matches!(
            Renderer::new(model, zero),
            Err(RenderError::ZeroSize { .. })
        ));
        let camera = RenderConfig {
            camera: 99,
            ..RenderConfig::default()
        };
        let err = Renderer::new(model, camera).unwrap_err();
        assert!(err.to_string().contains("99"), "{err}");
    }

    #[test]
    fn every_task_renders_at_any_resolution() {
        for task in TaskId::ALL {
            let mut env = Environment::new(task, 0).unwrap();
            env.reset().unwrap();
            let config = RenderConfig {
                width: 48,
                height: 32,
                supersample: 1,
                ..RenderConfig::default()
            };
            let image = renderer(&env, config).render(env.physics());
            assert_eq!(image.len(), 48 * 32 * 3);
            let distinct: std::collections::HashSet<_> = image.chunks(3).collect();
            assert!(distinct.len() > 10, "{task}: a flat image");
        }
    }
}

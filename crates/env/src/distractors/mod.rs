//! The Distracting Control Suite's distractions (DISTRACTORS.md): moving
//! background videos behind the agent, camera shake, and colour drift of
//! every material, at the presets' scales. Physics and rewards are never
//! touched: distractions only change what the renderer is shown
//! (a [`View`]), and they draw from their own random stream.

mod background;
mod camera;
mod colour;
pub mod davis;
mod preset;
mod procedural;

use std::path::PathBuf;
use std::sync::Arc;

use glam::DVec3;
use lam_mujoco::{Model, Physics};
use rand::Rng;

pub use background::{BackgroundError, Playback, Split, Video, VideoLibrary};
pub use camera::{CameraBox, CameraOffsets, CameraShake};
pub use colour::ColourDrift;
pub use preset::{Preset, UnknownPreset};

use crate::render::{Background, Renderer, View};
use crate::TaskId;

/// Where background videos come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BackgroundSource {
    /// Generated on this machine (nothing to download).
    #[default]
    Builtin,
    /// A DAVIS-style folder of JPEG frame folders.
    Folder(PathBuf),
}

/// Everything that decides the distractions of an environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistractionConfig {
    /// Difficulty preset.
    pub preset: Preset,
    /// Distractions move during episodes (the paper's setting) or freeze after reset.
    pub dynamic: bool,
    /// Background split (train for data, val for held-out evaluation).
    pub split: Split,
    /// Background source.
    pub source: BackgroundSource,
}

impl Default for DistractionConfig {
    fn default() -> Self {
        Self {
            preset: Preset::Vanilla,
            dynamic: true,
            split: Split::Train,
            source: BackgroundSource::Builtin,
        }
    }
}

impl DistractionConfig {
    /// The background library of this configuration at a frame size, `None`
    /// when the preset has no background.
    pub fn library(
        &self,
        width: usize,
        height: usize,
    ) -> Result<Option<Arc<VideoLibrary>>, BackgroundError> {
        let Some(count) = self.preset.videos() else {
            return Ok(None);
        };
        let library = match &self.source {
            BackgroundSource::Builtin => VideoLibrary::builtin(&self.split, width, height),
            BackgroundSource::Folder(root) => {
                VideoLibrary::from_folder(root, &self.split, width, height)?
            }
        };
        Ok(Some(Arc::new(library.truncate(count))))
    }
}

/// Opacity of the ground over the background: opaque for walker, cheetah
/// and hopper, 0.3 for the other domains.
pub fn floor_alpha(task: TaskId) -> f32 {
    match task.domain() {
        "walker" | "cheetah" | "hopper" => 1.0,
        _ => 0.3,
    }
}

/// The agent's centre of mass (the subtree of the first body under the world).
fn agent_centre(physics: &Physics) -> DVec3 {
    DVec3::from_array(physics.subtree_com(1))
}

/// What the distractions show in one frame, as numbers: the ground truth a
/// collection can record beside the published datasets.
#[derive(Clone, Debug, PartialEq)]
pub struct DistractorState {
    /// Camera offsets from the undisturbed camera (all 0 and radius factor
    /// 1 without camera shake).
    pub camera: CameraOffsets,
    /// Background video index within the split's library and frame index,
    /// `None` without a background.
    pub background: Option<(usize, usize)>,
    /// Per material: RGB now minus the model's RGB (0 without colour drift).
    pub colour: Vec<[f32; 3]>,
}

/// The distraction state of one environment.
#[derive(Clone, Debug)]
pub struct Distractions {
    dynamic: bool,
    camera: CameraShake,
    colours: ColourDrift,
    library: Option<Arc<VideoLibrary>>,
    playback: Option<Playback>,
    floor_alpha: f32,
}

impl Distractions {
    /// Distractions of `preset` for `task` on `model`, with backgrounds from
    /// `library` (`None` for none).
    pub fn new(
        task: TaskId,
        model: &Model,
        preset: Preset,
        dynamic: bool,
        library: Option<Arc<VideoLibrary>>,
    ) -> Self {
        let original = (0..model.nmat())
            .map(|m| {
                let c = model.material(m).rgba;
                [c[0], c[1], c[2]]
            })
            .collect();
        Self {
            dynamic,
            camera: CameraShake::new(preset.scale()),
            colours: ColourDrift::new(original, preset.scale()),
            library: library.filter(|l| !l.is_empty()),
            playback: None,
            floor_alpha: floor_alpha(task),
        }
    }

    /// New distractions for a new episode.
    pub fn reset(&mut self, rng: &mut impl Rng) -> Result<(), BackgroundError> {
        self.camera.reset(rng);
        self.colours.reset(rng);
        self.playback = match &self.library {
            Some(library) => Some(Playback::start(library, self.dynamic, rng)?),
            None => None,
        };
        Ok(())
    }

    /// One step of every moving distraction (nothing when static).
    pub fn step(&mut self, rng: &mut impl Rng, physics: &Physics, renderer: &Renderer) {
        if !self.dynamic {
            return;
        }
        let pose = renderer.model_camera(physics);
        self.camera.step(rng, &pose, agent_centre(physics));
        self.colours.step(rng);
        if let Some(p) = &mut self.playback {
            p.step();
        }
    }

    /// What the renderer is shown now.
    pub fn view(&self, physics: &Physics, renderer: &Renderer) -> View<'_> {
        let pose = renderer.model_camera(physics);
        let camera = self.camera.apply(&pose, agent_centre(physics));
        View {
            camera: (camera != pose).then_some(camera),
            material_rgb: Some(self.colours.colours()),
            background: self.playback.as_ref().map(|p| Background {
                width: p.video().width,
                height: p.video().height,
                rgb: p.frame(),
                floor_alpha: self.floor_alpha,
            }),
        }
    }

    /// The camera state.
    pub fn camera(&self) -> &CameraShake {
        &self.camera
    }

    /// The colour state.
    pub fn colours(&self) -> &ColourDrift {
        &self.colours
    }

    /// The background playback, if any.
    pub fn playback(&self) -> Option<&Playback> {
        self.playback.as_ref()
    }

    /// What the distractions show now, as numbers.
    pub fn state(&self) -> DistractorState {
        DistractorState {
            camera: self.camera.offsets(),
            background: self
                .playback
                .as_ref()
                .map(|p| (p.video_id, p.frame_index())),
            colour: self.colours.offsets(),
        }
    }

    /// Puts the distractions in a recorded `state` (the next [`view`]
    /// shows it): how a recorded frame is drawn again from its numbers.
    ///
    /// # Panics
    /// If `state.colour` does not have one entry per material.
    ///
    /// [`view`]: Distractions::view
    pub fn set_state(&mut self, state: &DistractorState) -> Result<(), BackgroundError> {
        self.camera.set_offsets(state.camera);
        self.colours.set_offsets(&state.colour);
        self.playback = match (&self.library, state.background) {
            (Some(library), Some((video, frame))) => {
                Some(Playback::at(library, video, frame, self.dynamic)?)
            }
            _ => None,
        };
        Ok(())
    }
}

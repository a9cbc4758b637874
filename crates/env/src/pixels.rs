//! Environments that see pixels: one task with its distractions and a
//! renderer ([`PixelEnv`]), and many of them stepped and rendered in
//! parallel with batched, frame-stacked observations and auto-reset
//! ([`VecEnv`]). Collection and evaluation use these.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::distractors::{DistractionConfig, Distractions, DistractorState, VideoLibrary};
use crate::render::{RenderConfig, Renderer};
use crate::{EnvError, Environment, Step, TaskId};

/// The random stream of distractions, apart from the physics stream.
const DISTRACTION_STREAM: u64 = 0xD15;

/// One environment with distractions, rendered after every reset and step.
#[derive(Debug)]
pub struct PixelEnv {
    env: Environment,
    renderer: Arc<Renderer>,
    distractions: Distractions,
    rng: ChaCha8Rng,
    frame: Vec<u8>,
    /// The agent mask of the latest frame, when recorded.
    mask: Option<Vec<u8>>,
}

impl PixelEnv {
    /// Builds `task` seeded with `seed` (physics and distractions draw
    /// from separate streams of it), drawn by `renderer`, with distractions
    /// of `config` from `library`.
    pub fn new(
        task: TaskId,
        seed: u64,
        renderer: Arc<Renderer>,
        config: &DistractionConfig,
        library: Option<Arc<VideoLibrary>>,
    ) -> Result<Self, EnvError> {
        let env = Environment::new(task, seed)?;
        let distractions = Distractions::new(
            task,
            env.physics().model(),
            config.preset,
            config.dynamic,
            library,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(DISTRACTION_STREAM);
        let c = renderer.config();
        let frame = vec![0; c.width * c.height * 3];
        Ok(Self {
            env,
            renderer,
            distractions,
            rng,
            frame,
            mask: None,
        })
    }

    /// Records (or stops recording) the agent mask of every frame from the
    /// next one on (see [`Renderer::render_with_mask`]); drawn from the
    /// same hits as the frame, so it costs no extra ray.
    pub fn record_masks(&mut self, on: bool) {
        let c = self.renderer.config();
        self.mask = on.then(|| vec![0; c.width * c.height]);
    }

    /// The agent mask of the latest frame (`height x width`, 1 = agent),
    /// when recording.
    pub fn mask(&self) -> Option<&[u8]> {
        self.mask.as_deref()
    }

    /// What the distractions show in the latest frame, as numbers.
    pub fn distractor_state(&self) -> DistractorState {
        self.distractions.state()
    }

    /// Draws the current physics state again as the distractions in
    /// `state` show it (a recorded frame drawn from its numbers); returns
    /// the new frame. The distractions stay in `state`.
    pub fn show(&mut self, state: &DistractorState) -> Result<&[u8], EnvError> {
        self.distractions.set_state(state)?;
        self.render();
        Ok(&self.frame)
    }

    /// A new episode with new distractions; returns the proprioceptive observation.
    pub fn reset(&mut self) -> Result<Vec<f64>, EnvError> {
        let obs = self.env.reset()?;
        self.distractions.reset(&mut self.rng)?;
        self.render();
        Ok(obs)
    }

    /// Re-seeds physics and distractions with `seed` and starts an episode:
    /// the episode is then a function of `seed` alone (what collection uses
    /// to make trajectory k the same whatever the workers or interruptions).
    pub fn reset_with_seed(&mut self, seed: u64) -> Result<Vec<f64>, EnvError> {
        let obs = self.env.reset_with_seed(seed)?;
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.rng.set_stream(DISTRACTION_STREAM);
        self.distractions.reset(&mut self.rng)?;
        self.render();
        Ok(obs)
    }

    /// One control step: physics, then the distractions move, then a new frame.
    pub fn step(&mut self, action: &[f64]) -> Result<Step, EnvError> {
        let step = self.env.step(action)?;
        self.distractions
            .step(&mut self.rng, self.env.physics(), &self.renderer);
        self.render();
        Ok(step)
    }

    fn render(&mut self) {
        let view = self.distractions.view(self.env.physics(), &self.renderer);
        match &mut self.mask {
            Some(mask) => {
                self.renderer
                    .render_with_mask(self.env.physics(), &view, &mut self.frame, mask)
            }
            None => self
                .renderer
                .render_into(self.env.physics(), &view, &mut self.frame),
        }
    }

    /// Shortens (or lengthens) episodes to `steps` control steps.
    pub fn set_episode_length(&mut self, steps: usize) {
        self.env.set_episode_length(steps);
    }

    /// The renderer.
    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// The latest frame, `height x width x 3` RGB.
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// The task environment (physics, observation, reward).
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// The distraction state.
    pub fn distractions(&self) -> &Distractions {
        &self.distractions
    }
}

/// Settings of a [`VecEnv`].
#[derive(Clone, Debug)]
pub struct VecEnvConfig {
    /// The task.
    pub task: TaskId,
    /// Number of environments.
    pub num_envs: usize,
    /// Environment `i` is seeded with `seed + i`.
    pub seed: u64,
    /// Distractions.
    pub distractions: DistractionConfig,
    /// Image size, camera and quality.
    pub render: RenderConfig,
    /// Frames per stacked observation (the first frame repeated after a reset).
    pub frame_stack: usize,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Control steps per episode.
    pub episode_length: usize,
}

impl VecEnvConfig {
    /// `num_envs` environments of `task`, vanilla, 64x64, stacks of 3, all cores.
    pub fn new(task: TaskId, num_envs: usize, seed: u64) -> Self {
        Self {
            task,
            num_envs,
            seed,
            distractions: DistractionConfig::default(),
            render: RenderConfig::default(),
            frame_stack: 3,
            threads: 0,
            episode_length: crate::EPISODE_LENGTH,
        }
    }
}

/// How an episode that just ended went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeEnd {
    /// Sum of rewards.
    pub episode_return: f64,
    /// Control steps.
    pub length: usize,
}

/// The result of one step of every environment.
#[derive(Clone, Debug, PartialEq)]
pub struct VecStep {
    /// Reward per environment.
    pub rewards: Vec<f64>,
    /// True where the episode ended at this step (that environment has
    /// already been reset: its observation is the next episode's first).
    pub dones: Vec<bool>,
    /// The episodes that ended at this step.
    pub finished: Vec<Option<EpisodeEnd>>,
}

#[derive(Debug)]
struct Slot {
    env: PixelEnv,
    observation: Vec<f64>,
    /// The last `frame_stack` frames, oldest first.
    history: std::collections::VecDeque<Vec<u8>>,
    episode_return: f64,
}

impl Slot {
    fn restart(&mut self, stack: usize) -> Result<(), EnvError> {
        self.observation = self.env.reset()?;
        self.history.clear();
        for _ in 0..stack {
            self.history.push_back(self.env.frame().to_vec());
        }
        self.episode_return = 0.0;
        Ok(())
    }

    fn advance(
        &mut self,
        action: &[f64],
        stack: usize,
    ) -> Result<(f64, Option<EpisodeEnd>), EnvError> {
        let step = self.env.step(action)?;
        self.episode_return += step.reward;
        if step.done {
            let end = EpisodeEnd {
                episode_return: self.episode_return,
                length: self.env.env().steps(),
            };
            self.restart(stack)?;
            return Ok((step.reward, Some(end)));
        }
        self.observation = step.observation;
        let mut oldest = self.history.pop_front().expect("a non-empty stack");
        oldest.copy_from_slice(self.env.frame());
        self.history.push_back(oldest);
        Ok((step.reward, None))
    }
}

/// N environments of one task stepped and rendered in parallel.
#[derive(Debug)]
pub struct VecEnv {
    slots: Vec<Slot>,
    pool: rayon::ThreadPool,
    library: Option<Arc<VideoLibrary>>,
    config: VecEnvConfig,
    action_size: usize,
}

impl VecEnv {
    /// Builds and resets the environments.
    pub fn new(config: VecEnvConfig) -> Result<Self, EnvError> {
        if config.num_envs == 0 {
            return Err(EnvError::Config(
                "a vectorised environment needs at least 1 environment".into(),
            ));
        }
        if config.frame_stack == 0 {
            return Err(EnvError::Config("frame_stack must be at least 1".into()));
        }
        let probe = Environment::new(config.task, config.seed)?;
        let renderer = Arc::new(Renderer::new(probe.physics().model(), config.render)?);
        let action_size = probe.action_size();
        drop(probe);
        let library = config
            .distractions
            .library(config.render.width, config.render.height)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .build()
            .map_err(|e| EnvError::Config(format!("cannot start worker threads: {e}")))?;
        let stack = config.frame_stack;
        let slots = pool.install(|| {
            (0..config.num_envs)
                .into_par_iter()
                .map(|i| {
                    let mut env = PixelEnv::new(
                        config.task,
                        config.seed + i as u64,
                        renderer.clone(),
                        &config.distractions,
                        library.clone(),
                    )?;
                    env.set_episode_length(config.episode_length);
                    let mut slot = Slot {
                        env,
                        observation: Vec::new(),
                        history: Default::default(),
                        episode_return: 0.0,
                    };
                    slot.restart(stack)?;
                    Ok(slot)
                })
                .collect::<Result<Vec<_>, EnvError>>()
        })?;
        Ok(Self {
            slots,
            pool,
            library,
            config,
            action_size,
        })
    }

    /// Generates (or decodes) every background video of the preset now, on
    /// the worker threads, instead of on first use inside a reset: for
    /// benchmarks, and for runs that will see every video anyway.
    pub fn prepare_backgrounds(&self) -> Result<(), EnvError> {
        match &self.library {
            Some(library) => Ok(self.pool.install(|| library.load_all())?),
            None => Ok(()),
        }
    }

    /// Number of environments.
    pub fn num_envs(&self) -> usize {
        self.slots.len()
    }

    /// Values per action.
    pub fn action_size(&self) -> usize {
        self.action_size
    }

    /// Values per proprioceptive observation.
    pub fn observation_size(&self) -> usize {
        self.slots[0].observation.len()
    }

    /// (height, width) of frames.
    pub fn frame_shape(&self) -> (usize, usize) {
        (self.config.render.height, self.config.render.width)
    }

    /// The settings.
    pub fn config(&self) -> &VecEnvConfig {
        &self.config
    }

    /// The environments.
    pub fn envs(&self) -> impl Iterator<Item = &PixelEnv> {
        self.slots.iter().map(|s| &s.env)
    }

    /// Steps every environment with its row of `actions` (`num_envs x
    /// action_size`, row-major); finished episodes restart at once.
    pub fn step(&mut self, actions: &[f64]) -> Result<VecStep, EnvError> {
        let (n, a) = (self.num_envs(), self.action_size);
        if actions.len() != n * a {
            return Err(EnvError::ActionSize {
                task: self.config.task.name(),
                expected: n * a,
                got: actions.len(),
            });
        }
        let stack = self.config.frame_stack;
        let slots = &mut self.slots;
        let results = self.pool.install(|| {
            slots
                .par_iter_mut()
                .zip(actions.par_chunks(a))
                .map(|(slot, action)| slot.advance(action, stack))
                .collect::<Result<Vec<_>, EnvError>>()
        })?;
        let mut out = VecStep {
            rewards: Vec::with_capacity(n),
            dones: Vec::with_capacity(n),
            finished: Vec::with_capacity(n),
        };
        for (reward, end) in results {
            out.rewards.push(reward);
            out.dones.push(end.is_some());
            out.finished.push(end);
        }
        Ok(out)
    }

    /// Current frames, `num_envs x height x width x 3`.
    pub fn frames(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.slots.len() * self.slots[0].env.frame().len());
        for s in &self.slots {
            out.extend_from_slice(s.env.frame());
        }
        out
    }

    /// Frame-stacked observations, `num_envs x height x width x (3 * frame_stack)`:
    /// per pixel the RGB of each stacked frame, oldest first.
    pub fn stacked_frames(&self) -> Vec<u8> {
        let (h, w) = self.frame_shape();
        let k = self.config.frame_stack;
        let mut out = vec![0u8; self.slots.len() * h * w * 3 * k];
        for (slot, dst) in self.slots.iter().zip(out.chunks_exact_mut(h * w * 3 * k)) {
            for (j, frame) in slot.history.iter().enumerate() {
                for (pixel, rgb) in dst.chunks_exact_mut(3 * k).zip(frame.chunks_exact(3)) {
                    pixel[3 * j..3 * j + 3].copy_from_slice(rgb);
                }
            }
        }
        out
    }

    /// Proprioceptive observations, `num_envs x observation_size`.
    pub fn observations(&self) -> Vec<f64> {
        self.slots
            .iter()
            .flat_map(|s| s.observation.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distractors::{Preset, Split};

    fn distractions(preset: Preset, dynamic: bool) -> DistractionConfig {
        DistractionConfig {
            preset,
            dynamic,
            ..DistractionConfig::default()
        }
    }

    fn small() -> RenderConfig {
        RenderConfig {
            width: 32,
            height: 32,
            ..RenderConfig::default()
        }
    }

    fn pixel_env(task: TaskId, seed: u64, config: &DistractionConfig) -> PixelEnv {
        let probe = Environment::new(task, 0).unwrap();
        let renderer = Arc::new(Renderer::new(probe.physics().model(), small()).unwrap());
        let library = config.library(32, 32).unwrap();
        PixelEnv::new(task, seed, renderer, config, library).unwrap()
    }

    fn action(n: usize, t: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((t * 7 + i * 3) as f64 * 0.3).sin())
            .collect()
    }

    #[test]
    fn same_seed_same_pixels_with_every_distraction() {
        let config = distractions(Preset::Hard, true);
        let run = || {
            let mut env = pixel_env(TaskId::CheetahRun, 5, &config);
            env.reset().unwrap();
            let mut frames = env.frame().to_vec();
            for t in 0..15 {
                env.step(&action(6, t)).unwrap();
                frames.extend_from_slice(env.frame());
            }
            frames
        };
        let a = run();
        assert_eq!(a, run());
        let mut other = pixel_env(TaskId::CheetahRun, 6, &config);
        other.reset().unwrap();
        assert_ne!(&a[..32 * 32 * 3], other.frame());
    }

    #[test]
    fn recorded_distractor_states_draw_the_same_frames_again() {
        for preset in [Preset::Hard, Preset::ScaleEasyVideoHard] {
            let config = distractions(preset, true);
            let mut env = pixel_env(TaskId::CheetahRun, 11, &config);
            env.record_masks(true);
            env.reset().unwrap();
            let mut moved = false;
            let start = env.distractor_state();
            for t in 0..25 {
                env.step(&action(6, t)).unwrap();
                let (frame, mask) = (env.frame().to_vec(), env.mask().unwrap().to_vec());
                let state = env.distractor_state();
                moved |= state.camera != start.camera && state.colour != start.colour;
                // A fresh environment in the same physics state, told only
                // the recorded numbers, draws the same frame.
                let mut other = pixel_env(TaskId::CheetahRun, 99, &config);
                other.reset().unwrap();
                other.show(&state).unwrap();
                let same_physics = {
                    let mut e = pixel_env(TaskId::CheetahRun, 11, &config);
                    e.reset().unwrap();
                    for u in 0..=t {
                        e.step(&action(6, u)).unwrap();
                    }
                    e.show(&state).unwrap().to_vec()
                };
                assert_eq!(same_physics, frame, "{preset} step {t}");
                // Masks come with frames and never change them.
                assert!(mask.iter().all(|&m| m <= 1));
                assert!(mask.iter().filter(|&&m| m == 1).count() > 10);
                assert_ne!(other.frame(), &frame[..], "another physics state");
            }
            assert!(moved, "{preset}: the distractions never moved");
            let s = env.distractor_state();
            assert!(s.background.is_some());
            assert_eq!(
                s.colour.len(),
                env.renderer().scene_model().material_count()
            );
        }
    }

    #[test]
    fn vanilla_episodes_record_zero_offsets_and_masks_do_not_change_frames() {
        let config = distractions(Preset::Vanilla, true);
        let mut plain = pixel_env(TaskId::WalkerRun, 4, &config);
        let mut masked = pixel_env(TaskId::WalkerRun, 4, &config);
        masked.record_masks(true);
        plain.reset().unwrap();
        masked.reset().unwrap();
        assert!(plain.mask().is_none());
        for t in 0..20 {
            plain.step(&action(6, t)).unwrap();
            masked.step(&action(6, t)).unwrap();
            assert_eq!(plain.frame(), masked.frame());
            let s = masked.distractor_state();
            let c = s.camera;
            assert_eq!(
                (c.azimuth, c.elevation, c.radius, c.roll),
                (0.0, 0.0, 1.0, 0.0)
            );
            assert_eq!(s.background, None);
            assert!(s.colour.iter().flatten().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn distractions_never_touch_physics_and_vanilla_has_no_background() {
        let mut vanilla = pixel_env(TaskId::WalkerRun, 3, &distractions(Preset::Vanilla, true));
        let mut hard = pixel_env(TaskId::WalkerRun, 3, &distractions(Preset::Hard, true));
        assert_eq!(vanilla.reset().unwrap(), hard.reset().unwrap());
        assert!(vanilla.distractions().playback().is_none());
        assert!(hard.distractions().playback().is_some());
        // Vanilla is the plain renderer's picture.
        assert_eq!(
            vanilla.frame(),
            &vanilla.renderer().render(vanilla.env().physics())[..]
        );
        for t in 0..30 {
            let a = vanilla.step(&action(6, t)).unwrap();
            let b = hard.step(&action(6, t)).unwrap();
            assert_eq!(a, b, "proprioception or reward changed at step {t}");
            assert_ne!(vanilla.frame(), hard.frame());
        }
    }

    #[test]
    fn camera_shake_changes_pixels_only() {
        let mut env = pixel_env(TaskId::HopperHop, 2, &distractions(Preset::Medium, true));
        env.reset().unwrap();
        for t in 0..5 {
            env.step(&action(4, t)).unwrap();
        }
        let physics = env.env().physics();
        let view = env.distractions().view(physics, env.renderer());
        assert!(view.camera.is_some(), "medium moves the camera");
        let camera_only = crate::render::View {
            camera: view.camera,
            ..Default::default()
        };
        let mut shaken = vec![0; 32 * 32 * 3];
        env.renderer()
            .render_into(physics, &camera_only, &mut shaken);
        assert_ne!(shaken, env.renderer().render(physics));
    }

    #[test]
    fn parameters_stay_in_their_preset_ranges_over_long_episodes() {
        let mut env = pixel_env(TaskId::CheetahRun, 9, &distractions(Preset::Hard, true));
        env.reset().unwrap();
        let b = env.distractions().camera().bounds();
        assert!((b.max_angle - std::f64::consts::FRAC_PI_2 * 0.3).abs() < 1e-12);
        let first_frame = env.distractions().playback().unwrap().frame_index();
        let mut frames_seen = std::collections::HashSet::new();
        for t in 0..400 {
            env.step(&action(6, t)).unwrap();
            let d = env.distractions();
            let o = d.camera().offsets();
            assert!(
                o.azimuth.abs() <= b.max_angle + 1e-9 && o.elevation.abs() <= b.max_angle + 1e-9
            );
            assert!(o.roll.abs() <= b.max_angle + 1e-9);
            assert!((b.radius.0 - 1e-9..=b.radius.1 + 1e-9).contains(&o.radius));
            for (m, c) in d.colours().colours().iter().enumerate() {
                for (k, v) in c.iter().enumerate() {
                    let (lo, hi) = d.colours().range(m, k);
                    assert!(*v >= lo && *v <= hi);
                    assert!(hi - lo <= 0.6 + 1e-6);
                }
            }
            frames_seen.insert(d.playback().unwrap().frame_index());
        }
        assert!(
            frames_seen.len() > 10,
            "the video did not play from {first_frame}"
        );
    }

    #[test]
    fn a_static_background_stays_constant_over_an_episode() {
        let mut env = pixel_env(
            TaskId::CheetahRun,
            4,
            &distractions(Preset::ScaleEasyVideoHard, false),
        );
        env.reset().unwrap();
        let d = env.distractions();
        let (frame, camera, colours) = (
            d.playback().unwrap().frame().to_vec(),
            d.camera().offsets(),
            d.colours().colours().to_vec(),
        );
        for t in 0..50 {
            env.step(&action(6, t)).unwrap();
            let d = env.distractions();
            assert_eq!(d.playback().unwrap().frame(), &frame[..]);
            assert_eq!(d.camera().offsets(), camera);
            assert_eq!(d.colours().colours(), &colours[..]);
        }
    }

    #[test]
    fn vec_env_stacks_frames_auto_resets_and_ignores_thread_count() {
        let run = |threads: usize| {
            let mut config = VecEnvConfig::new(TaskId::HopperHop, 3, 11);
            config.render = small();
            config.threads = threads;
            config.episode_length = 4;
            config.distractions = DistractionConfig {
                preset: Preset::Easy,
                split: Split::Val,
                ..DistractionConfig::default()
            };
            let mut envs = VecEnv::new(config).unwrap();
            let px = 32 * 32;
            let stacked = envs.stacked_frames();
            assert_eq!(stacked.len(), 3 * px * 9);
            // After reset the stack repeats the first frame.
            for p in 0..px {
                let s = &stacked[p * 9..p * 9 + 9];
                assert!(s[0..3] == s[3..6] && s[3..6] == s[6..9]);
            }
            let mut log = envs.frames();
            let mut ends = Vec::new();
            for t in 0..6 {
                let actions: Vec<f64> = (0..3).flat_map(|_| action(4, t)).collect();
                let step = envs.step(&actions).unwrap();
                ends.push(step.dones.clone());
                if t == 0 {
                    let s = envs.stacked_frames();
                    let newest_differs =
                        (0..px).any(|p| s[p * 9 + 6..p * 9 + 9] != s[p * 9 + 3..p * 9 + 6]);
                    assert!(newest_differs, "the newest frame is not the stepped one");
                }
                if t == 3 {
                    assert!(step.dones.iter().all(|d| *d));
                    assert!(step
                        .finished
                        .iter()
                        .all(|e| e.is_some_and(|e| e.length == 4)));
                    let s = envs.stacked_frames();
                    assert!((0..px).all(|p| s[p * 9..p * 9 + 3] == s[p * 9 + 6..p * 9 + 9]));
                }
                log.extend(envs.frames());
            }
            assert_eq!(ends.iter().filter(|d| d[0]).count(), 1);
            log
        };
        assert_eq!(run(1), run(2));
    }

    #[test]
    fn bad_vec_env_settings_are_errors() {
        let mut config = VecEnvConfig::new(TaskId::CheetahRun, 0, 0);
        assert!(VecEnv::new(config.clone())
            .unwrap_err()
            .to_string()
            .contains("at least 1"));
        config.num_envs = 1;
        config.render.width = 0;
        assert!(VecEnv::new(config.clone())
            .unwrap_err()
            .to_string()
            .contains("0x64"));
        config.render.width = 8;
        config.distractions.preset = Preset::Easy;
        config.distractions.source =
            crate::distractors::BackgroundSource::Folder("/nonexistent/davis".into());
        let err = VecEnv::new(config).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/davis"), "{err}");
    }
}

//! Evaluation rollouts: a trained pixel policy (BC, or latent BC actor +
//! action decoder), uniformly random actions or a state-based expert plays
//! episodes in vectorised pixel environments; mean and spread of the return
//! and the normalised score (return ÷ BC on all labels, the paper's
//! normaliser). Optionally a state-based expert is run beside the player on
//! every state it visits, to tell how far their actions are apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::trainer::Trainer;
use lam_env::distractors::{DistractionConfig, Preset};
use lam_env::render::RenderConfig;
use lam_env::{TaskId, VecEnv, VecEnvConfig};
use lam_experts::Policy;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::run::{provenance, RunDir};
use crate::TrainError;

/// BC on all labels as the paper publishes it (its normaliser):
/// (with distractors, without), 1000-step returns.
pub fn published_normalizer(task: TaskId) -> (f64, f64) {
    match task {
        TaskId::CheetahRun => (823.0, 840.0),
        TaskId::WalkerRun => (749.0, 735.0),
        TaskId::HopperHop => (253.0, 300.0),
        TaskId::HumanoidWalk => (428.0, 601.0),
    }
}

/// Who plays the episodes.
#[derive(Clone, Debug)]
pub enum Player {
    /// A policy run folder: `bc`, or `decoder` (its frozen actor comes along).
    Policy(PathBuf),
    /// Uniformly random actions in [-1, 1], seeded by the evaluation's seed.
    Random,
    /// A state-based expert checkpoint (the data's expert).
    Expert(PathBuf),
}

/// The task and distractions of a dataset file (preset, dynamics and
/// background split): the paper evaluates with the distractors of the data.
pub fn setting_of(file: &Path) -> Result<(TaskId, DistractionConfig), TrainError> {
    let r = lam_data::DatasetReader::open(file)?;
    let a = r.attrs();
    let bad = |what: String| TrainError::DoesNotFit {
        path: file.to_path_buf(),
        what,
    };
    let name = format!("{}-{}", a.domain_name, a.task_name);
    let task: TaskId = name
        .parse()
        .map_err(|e| bad(format!("task {name:?}: {e}")))?;
    let distractions = DistractionConfig {
        preset: a
            .difficulty
            .parse::<Preset>()
            .map_err(|e| bad(format!("difficulty {:?}: {e}", a.difficulty)))?,
        dynamic: a.dynamic,
        split: a
            .split
            .parse()
            .map_err(|e| bad(format!("split {:?}: {e:?}", a.split)))?,
        ..DistractionConfig::default()
    };
    Ok((task, distractions))
}

/// What to evaluate, where.
#[derive(Clone, Debug)]
pub struct EvalSpec {
    /// Who plays.
    pub player: Player,
    /// The task.
    pub task: TaskId,
    /// Distractions of the episodes.
    pub distractions: DistractionConfig,
    /// Frame side for random actions and experts (a policy brings its own).
    pub img: usize,
    /// Episodes (at least 1).
    pub episodes: usize,
    /// Environments stepped together (clamped to 1..=episodes).
    pub envs: usize,
    /// Environment i starts from seed + i.
    pub seed: u64,
    /// Steps per episode (at least 1).
    pub episode_length: usize,
    /// Return to normalise by; the published figure when None.
    pub normalizer: Option<f64>,
    /// Where a policy runs.
    pub device: tch::Device,
    /// Evaluate a policy on another task or distractions than it was
    /// trained on (refused otherwise; the result says so).
    pub allow_mismatch: bool,
    /// Also run this expert on every state visited ([`EvalResult::expert_action_mse`]).
    pub compare_expert: Option<PathBuf>,
    /// With `compare_expert`: the expert acts and the player is only
    /// compared (the returns are then the expert's).
    pub expert_drives: bool,
}

impl EvalSpec {
    /// Environments actually stepped together: `envs` within 1..=episodes.
    pub fn env_count(&self) -> usize {
        self.envs.clamp(1, self.episodes.max(1))
    }
}

/// The mean action MSE over steps `from..to` of the episodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// First step.
    pub from: usize,
    /// One past the last step.
    pub to: usize,
    /// Mean squared distance of the clipped actions.
    pub mse: f64,
}

/// The result of an evaluation (what `lam eval --out` writes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalResult {
    /// The policy run, or `random`, or the expert checkpoint.
    pub policy: PathBuf,
    /// Task name.
    pub task: String,
    /// Distraction preset.
    pub preset: String,
    /// Whether distractions moved.
    pub dynamic: bool,
    /// Background split.
    pub split: String,
    /// Episodes played.
    pub episodes: usize,
    /// Seed of the first environment.
    pub seed: u64,
    /// Return of every episode.
    pub returns: Vec<f64>,
    /// Mean return.
    pub mean_return: f64,
    /// Standard deviation of the returns (population).
    pub std_return: f64,
    /// What the score divides by.
    pub normalizer: f64,
    /// Where that number comes from.
    pub normalizer_source: String,
    /// mean_return ÷ normalizer.
    pub normalized_score: f64,
    /// What the policy was trained on (task, distractions, split), when its
    /// checkpoint records it.
    pub trained_on: Option<String>,
    /// How the evaluation differs from that, if it does.
    pub mismatch: Option<String>,
    /// With a compared expert: the action MSE against it on the states the
    /// player visited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert_action_mse: Option<Vec<Band>>,
}

/// Plays the episodes of `spec`; `on_step` hears of every vectorised step
/// (for a progress bar).
pub fn evaluate(spec: &EvalSpec, on_step: &mut dyn FnMut()) -> Result<EvalResult, TrainError> {
    let invalid =
        |setting, value: String, expected| Err(TrainError::invalid(setting, value, expected));
    if spec.episodes == 0 {
        return invalid("episodes", "0".into(), "at least 1");
    }
    if spec.episode_length == 0 {
        return invalid("episode length", "0".into(), "at least 1");
    }
    if let Some(n) = spec.normalizer.filter(|n| !(n.is_finite() && *n > 0.0)) {
        return invalid("normalizer", n.to_string(), "a positive return");
    }
    if spec.expert_drives && spec.compare_expert.is_none() {
        return invalid("expert drives", "true".into(), "an expert to compare with");
    }
    let envs = spec.env_count();
    let mut actor = Actor::load(spec)?;
    let side = actor.image(spec.img);
    let config = VecEnvConfig {
        distractions: spec.distractions.clone(),
        render: RenderConfig {
            width: side,
            height: side,
            ..RenderConfig::default()
        },
        episode_length: spec.episode_length,
        ..VecEnvConfig::new(spec.task, envs, spec.seed)
    };
    let mut vec = VecEnv::new(config)?;
    actor.check_fits(spec, &vec)?;
    let (trained_on, mismatch) = actor.trained_on(spec)?;
    let compare = match &spec.compare_expert {
        Some(path) => {
            let e = load_expert(path, COMPARED)?;
            check_expert(e.as_ref(), path, COMPARED, spec.task, &vec)?;
            Some(e)
        }
        None => None,
    };
    // Every episode lasts `episode_length` steps (the tasks never end
    // early), so the environments stay in step and one counter is the step
    // of each; the bands count every episode played, the last round's
    // extra ones too.
    let mut agreement = Agreement::new(spec.episode_length);
    let mut t = 0;
    let mut returns = Vec::new();
    while returns.len() < spec.episodes {
        let mut acted = actor.actions(&vec, spec.device)?;
        if let Some(e) = &compare {
            let n = vec.observation_size();
            let expert: Vec<f64> = vec
                .observations()
                .chunks(n)
                .flat_map(|o| e.act(o))
                .collect();
            agreement.add(t, &acted, &expert);
            if spec.expert_drives {
                acted = expert;
            }
        }
        let step = vec.step(&acted)?;
        on_step();
        t += 1;
        for end in step.finished.into_iter().flatten() {
            t = 0;
            if returns.len() < spec.episodes {
                returns.push(end.episode_return);
            }
        }
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let (normalizer, source) = normalizer(spec);
    let d = &spec.distractions;
    Ok(EvalResult {
        policy: actor.name(spec),
        task: spec.task.name().to_string(),
        preset: d.preset.name().to_string(),
        dynamic: d.dynamic,
        split: d.split.name().to_string(),
        episodes: returns.len(),
        seed: spec.seed,
        mean_return: mean,
        std_return: std,
        normalizer,
        normalizer_source: source,
        normalized_score: mean / normalizer,
        returns,
        trained_on,
        mismatch,
        expert_action_mse: compare.is_some().then(|| agreement.bands()),
    })
}

/// What the score divides by, and where that number comes from.
fn normalizer(spec: &EvalSpec) -> (f64, String) {
    if let Some(v) = spec.normalizer {
        return (v, "given (--normalizer)".to_string());
    }
    let distracted = spec.distractions.preset != Preset::Vanilla;
    let (with, without) = published_normalizer(spec.task);
    let v = if distracted { with } else { without };
    let source = format!(
        "published BC on all labels, {} distractors (Nikulin et al., ICML 2025)",
        if distracted { "with" } else { "without" }
    );
    // The published figures are 1000-step returns; shorter episodes are
    // compared with the same share of them (an approximation: the first
    // steps of an episode earn less than the average).
    if spec.episode_length == 1000 {
        (v, source)
    } else {
        let share = spec.episode_length as f64 / 1000.0;
        (
            v * share,
            format!("{source}, scaled to {} of 1000 steps", spec.episode_length),
        )
    }
}

/// The error of expert `role` at `path`.
fn expert_error<'a>(
    role: &'static str,
    path: &'a Path,
) -> impl Fn(lam_experts::ExpertError) -> TrainError + 'a {
    move |source| TrainError::Expert {
        role,
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

/// The state-based expert at `path` (the playing or the compared one).
fn load_expert(path: &Path, role: &'static str) -> Result<Box<dyn Policy>, TrainError> {
    lam_experts::load_expert(path).map_err(expert_error(role, path))
}

/// Checks that expert `e` fits the environments' task.
fn check_expert(
    e: &dyn Policy,
    path: &Path,
    role: &'static str,
    task: TaskId,
    vec: &VecEnv,
) -> Result<(), TrainError> {
    lam_experts::check_fits(e, path, task, vec.observation_size(), vec.action_size())
        .map_err(expert_error(role, path))
}

const PLAYING: &str = "the playing expert";
const COMPARED: &str = "the compared expert";

/// Squared distances between the player's and an expert's clipped actions,
/// summed by step of the episode.
struct Agreement {
    sums: Vec<f64>,
    counts: Vec<usize>,
}

impl Agreement {
    fn new(steps: usize) -> Self {
        Self {
            sums: vec![0.0; steps],
            counts: vec![0; steps],
        }
    }

    /// Adds step `t` of every environment (flattened actions of both).
    fn add(&mut self, t: usize, player: &[f64], expert: &[f64]) {
        let Some(sum) = self.sums.get_mut(t) else {
            return;
        };
        for (a, b) in player.iter().zip(expert) {
            *sum += (a.clamp(-1.0, 1.0) - b.clamp(-1.0, 1.0)).powi(2);
        }
        self.counts[t] += player.len();
    }

    /// Means over the first 10 steps, the first 100 and the whole episode.
    fn bands(&self) -> Vec<Band> {
        let steps = self.sums.len();
        let mut ends = vec![10.min(steps), 100.min(steps), steps];
        ends.dedup();
        ends.into_iter()
            .map(|to| {
                let n: usize = self.counts[..to].iter().sum();
                let s: f64 = self.sums[..to].iter().sum();
                Band {
                    from: 0,
                    to,
                    mse: s / n.max(1) as f64,
                }
            })
            .collect()
    }
}

/// Who plays the evaluation episodes, loaded.
enum Actor {
    /// A trained pixel policy (BC, or latent BC actor + decoder) and its
    /// checkpoint's metadata.
    Trained(Box<Trainer>, BTreeMap<String, String>),
    /// Uniformly random actions in [-1, 1].
    Random(Box<rand_chacha::ChaCha8Rng>),
    /// A state-based expert.
    Expert(Box<dyn Policy>),
}

impl Actor {
    fn load(spec: &EvalSpec) -> Result<Self, TrainError> {
        match &spec.player {
            Player::Random => {
                use rand::SeedableRng;
                Ok(Self::Random(Box::new(
                    rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed),
                )))
            }
            Player::Expert(path) => Ok(Self::Expert(load_expert(path, PLAYING)?)),
            Player::Policy(run) => {
                let checkpoint = RunDir::new(run).checkpoint();
                let (policy, meta) = Trainer::load(&checkpoint, spec.device).map_err(|source| {
                    TrainError::NoModel {
                        path: run.clone(),
                        source,
                    }
                })?;
                if !policy.model.is_policy() {
                    return Err(TrainError::NotAPolicy {
                        path: run.clone(),
                        method: policy.config.method,
                    });
                }
                Ok(Self::Trained(Box::new(policy), meta))
            }
        }
    }

    /// Frame side length the episodes are rendered at.
    fn image(&self, img: usize) -> usize {
        match self {
            Self::Trained(p, _) => p.shape.image as usize,
            _ => img,
        }
    }

    /// Checks that the actor's sizes fit the environment's.
    fn check_fits(&self, spec: &EvalSpec, vec: &VecEnv) -> Result<(), TrainError> {
        match (self, &spec.player) {
            (Self::Trained(p, _), Player::Policy(run))
                if vec.action_size() as i64 != p.shape.action_dim =>
            {
                return Err(TrainError::ActionSize {
                    path: run.clone(),
                    policy: p.shape.action_dim,
                    task: spec.task,
                    task_actions: vec.action_size(),
                });
            }
            (Self::Expert(p), Player::Expert(path)) => {
                check_expert(p.as_ref(), path, PLAYING, spec.task, vec)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// What a trained policy was trained on, and how this evaluation differs
    /// (another task or distractions: refused unless allowed; another
    /// background split: a note, as for unseen backgrounds).
    fn trained_on(&self, spec: &EvalSpec) -> Result<(Option<String>, Option<String>), TrainError> {
        let (Self::Trained(_, meta), Player::Policy(run)) = (self, &spec.player) else {
            return Ok((None, None));
        };
        let (Some(t), Some(difficulty), Some(dynamic), Some(split)) = (
            meta.get(provenance::TASK),
            meta.get(provenance::DIFFICULTY),
            meta.get(provenance::DYNAMIC),
            meta.get(provenance::SPLIT),
        ) else {
            return Ok((None, None));
        };
        let d = &spec.distractions;
        let motion = |dynamic: bool| if dynamic { "dynamic" } else { "static" };
        let trained = format!(
            "{t} under {difficulty} ({}), {split} backgrounds",
            motion(dynamic == "true")
        );
        let now = format!(
            "{} under {} ({}), {} backgrounds",
            spec.task,
            d.preset.name(),
            motion(d.dynamic),
            d.split.name()
        );
        let same_setting = t == spec.task.name()
            && difficulty == d.preset.name()
            && (dynamic == "true") == d.dynamic;
        if !same_setting && !spec.allow_mismatch {
            return Err(TrainError::Mismatch {
                path: run.clone(),
                trained,
                now,
            });
        }
        let mismatch =
            (trained != now).then(|| format!("trained on {trained}, evaluated on {now}"));
        Ok((Some(trained), mismatch))
    }

    /// What the result file names as the policy.
    fn name(&self, spec: &EvalSpec) -> PathBuf {
        match &spec.player {
            Player::Policy(run) => run.clone(),
            Player::Random => PathBuf::from("random"),
            Player::Expert(path) => path.clone(),
        }
    }

    /// One action per environment, flattened.
    fn actions(&mut self, vec: &VecEnv, device: tch::Device) -> Result<Vec<f64>, TrainError> {
        let envs = vec.num_envs();
        Ok(match self {
            Self::Trained(policy, _) => {
                let side = policy.shape.image;
                let frames = vec.stacked_frames();
                let obs = Tensor::from_slice(&frames)
                    .view([envs as i64, side, side, 9])
                    .to_device(device);
                let obs = lam_models::toolkit::encoder::to_input(&obs);
                let actions = tch::no_grad(|| policy.model.actions(&obs, &obs))
                    .expect("a policy")
                    .to_kind(Kind::Double)
                    .to_device(tch::Device::Cpu);
                Vec::<f64>::try_from(actions.view(-1))?
            }
            Self::Random(rng) => {
                use rand::Rng;
                (0..envs * vec.action_size())
                    .map(|_| rng.random_range(-1.0..=1.0))
                    .collect()
            }
            Self::Expert(policy) => {
                let n = vec.observation_size();
                vec.observations()
                    .chunks(n)
                    .flat_map(|o| policy.act(o))
                    .collect()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_bands_average_the_clipped_distances_by_stretch() {
        let mut a = Agreement::new(20);
        // Steps 0..10 differ by 1 per entry (after clipping 3 -> 1, 0 -> 0),
        // steps 10..20 agree.
        for t in 0..20 {
            let player = if t < 10 { [3.0, -1.0] } else { [0.5, 0.5] };
            let expert = if t < 10 { [0.0, 0.0] } else { [0.5, 0.5] };
            a.add(t, &player, &expert);
        }
        a.add(25, &[9.0], &[0.0]); // past the episode: ignored
        let b = a.bands();
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!((b[0].to, b[0].mse), (10, 1.0));
        assert_eq!((b[1].to, b[1].mse), (20, 0.5));
    }

    #[test]
    fn the_published_normaliser_scales_with_the_episode() {
        let spec = |preset, episode_length| EvalSpec {
            player: Player::Random,
            task: TaskId::CheetahRun,
            distractions: DistractionConfig {
                preset,
                ..DistractionConfig::default()
            },
            img: 16,
            episodes: 1,
            envs: 1,
            seed: 0,
            episode_length,
            normalizer: None,
            device: tch::Device::Cpu,
            allow_mismatch: false,
            compare_expert: None,
            expert_drives: false,
        };
        assert_eq!(normalizer(&spec(Preset::Vanilla, 1000)).0, 840.0);
        assert_eq!(normalizer(&spec(Preset::Easy, 1000)).0, 823.0);
        assert_eq!(normalizer(&spec(Preset::Easy, 250)).0, 823.0 / 4.0);
        let mut given = spec(Preset::Easy, 250);
        given.normalizer = Some(7.0);
        assert_eq!(
            normalizer(&given),
            (7.0, "given (--normalizer)".to_string())
        );
    }
}

//! Run configurations as TOML: the method, the model's shape and the
//! optimisation settings. The named presets are TOML files in the
//! repository's `presets/` folder, embedded in the binary: the paper's
//! settings, `-mini` versions sized for a 2-core CPU, the official code's
//! tiny configuration, and the ablation ladder of the paper (lapo-fsq →
//! lapo → +multistep → +latent-dim → +latent-fdm → +aug = laom).

use serde::{Deserialize, Serialize};

use crate::toolkit::augment::AugmentConfig;
use crate::toolkit::encoder::Depth;

/// Which model a run trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Pixel FDM, optional FSQ (METHOD.md §4).
    Lapo,
    /// Latent FDM with an EMA target encoder; with `supervision_coef > 0`,
    /// LAOM + supervision.
    Laom,
    /// Inverse dynamics trained on true actions (baseline).
    Idm,
    /// Behaviour cloning from pixels to actions (baseline).
    Bc,
    /// Latent behaviour cloning: an actor from pixels to the latent actions
    /// of a frozen LAM (the teacher).
    #[serde(rename = "latent-bc")]
    LatentBc,
    /// Action decoder: latent → true action on labeled data, behind a
    /// frozen latent BC actor (the teacher).
    Decoder,
}

impl Method {
    /// Whether the model learns latent actions (and so has a latent probe).
    pub fn is_latent(self) -> bool {
        matches!(self, Method::Lapo | Method::Laom)
    }

    /// Whether the method trains on top of another run (`--teacher`).
    pub fn needs_teacher(self) -> bool {
        matches!(self, Method::LatentBc | Method::Decoder)
    }
}

/// Arithmetic precision of the forward and backward passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Plain f32.
    F32,
    /// bf16 autocast (weights and optimizer stay f32).
    Bf16,
    /// bf16 autocast on a GPU or on a CPU that computes bf16 natively
    /// (AVX-512 BF16 or AMX: measured faster there), f32 elsewhere (where
    /// libtorch emulates bf16, several times slower than f32).
    Auto,
}

impl Precision {
    /// Whether a run on `device` uses bf16 autocast.
    pub fn uses_bf16(self, device: tch::Device) -> bool {
        match self {
            Precision::F32 => false,
            Precision::Bf16 => true,
            Precision::Auto => {
                device != tch::Device::Cpu
                    || crate::toolkit::cpu::CpuFeatures::detect().native_bf16()
            }
        }
    }
}

/// What the online linear probes read each step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeInputs {
    /// The step's own latent and embedding, detached (augmented when the
    /// run augments; computed before the update): free, and what the
    /// official code does.
    #[default]
    Step,
    /// A separate no-grad pass over the un-augmented batch after the
    /// update (one more encoder pass per frame stack when augmenting).
    Clean,
}

/// The model's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    /// Encoder layout: "shallow" (16, 32, 32) or "deep" (16, 32, 64, 128, 256).
    pub depth: Depth,
    /// Channel multiplier of the encoder.
    pub encoder_scale: i64,
    /// Residual blocks per encoder stage.
    pub num_res: usize,
    /// Latent action size (LAPO, LAOM).
    pub latent_dim: i64,
    /// FSQ levels quantizing LAPO's latent; empty for a continuous latent.
    pub fsq_levels: Vec<i64>,
    /// Width of the MLP heads (LAOM, IDM).
    pub head_width: i64,
    /// MLP blocks per head (LAOM, IDM).
    pub head_blocks: usize,
    /// EMA rate of LAOM's target encoder.
    pub tau: f64,
}

/// Optimisation and bookkeeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Updates in the whole run.
    pub steps: usize,
    /// Linear warm-up steps (then linear decay to 0 at `steps`).
    pub warmup_steps: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Samples per labeled batch (LAOM + supervision).
    pub labeled_batch_size: usize,
    /// Peak learning rate of Adam.
    pub lr: f64,
    /// Largest gradient norm: gradients are scaled down to it when larger;
    /// 0 means no clipping at all (not "clip to 0").
    pub grad_clip: f64,
    /// Largest IDM offset K: k is uniform in 1..=K (1 = plain pairs).
    pub max_offset: usize,
    /// LAOM's augmentations of every frame stack.
    pub augment: bool,
    /// How strong the augmentations are.
    #[serde(default)]
    pub augmentation: AugmentConfig,
    /// Weight of the supervised action loss; > 0 needs labeled data.
    pub supervision_coef: f64,
    /// Learning rate of the linear probes.
    pub probe_lr: f64,
    /// Steps between checkpoints (one is always written at the end).
    pub checkpoint_every: usize,
    /// Steps between held-out evaluations (with `--eval-data`).
    pub eval_every: usize,
    /// Batches in a held-out evaluation.
    pub eval_batches: usize,
    /// f32, bf16 autocast, or auto (bf16 where it is native).
    pub precision: Precision,
    /// What the online probes read: the step's own tensors or a clean pass.
    #[serde(default)]
    pub probe_inputs: ProbeInputs,
    /// Stream the dataset from disk through a cache of this many MiB
    /// instead of reading it all into memory; 0 reads it all.
    pub stream_cache_mib: usize,
    /// LAPO: the weight of background pixels (agent mask 0) in the pixel
    /// loss, agent pixels weighing 1, normalised by the weights' sum; 1
    /// (the default) is the plain MSE. Below 1 the training file must hold
    /// agent masks (`lam collect --ground-truth`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub mask_background_weight: f64,
    /// Multiply every frame the model reads (o_t, o_{t+1}, o_{t+k}, and the
    /// labeled batch's) by its agent mask before augmentation: background
    /// pixels become 0 (mid-grey in the [-1, 1] inputs). The training file
    /// (and the held-out and labeled ones) must hold agent masks.
    #[serde(default, skip_serializing_if = "is_false")]
    pub mask_inputs: bool,
}

fn one() -> f64 {
    1.0
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// Everything a run needs besides its data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The model trained.
    pub method: Method,
    /// Seed of initialisation, batches and augmentations.
    pub seed: u64,
    /// Model shape.
    pub model: ModelSettings,
    /// Optimisation.
    pub train: TrainSettings,
}

/// How big a preset is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresetSize {
    /// The paper's settings (an H100 run on 5M transitions).
    Paper,
    /// The same switches sized for a 2-core CPU (`NAME-mini`).
    Mini,
    /// A fixed configuration of its own (the official code's tiny one).
    Fixed,
}

/// A named preset: a run config written as a TOML file in the repository's
/// `presets/` folder, embedded in the binary. The file's first comment line
/// says what it is; the rest of its comment block says why.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// Name for `--preset` (the file's stem).
    pub name: &'static str,
    /// The file's text.
    pub text: &'static str,
}

impl Preset {
    /// One line about it: the file's first comment line.
    pub fn about(&self) -> &'static str {
        self.text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix('#'))
            .map(str::trim)
            .unwrap_or_default()
    }

    /// Paper scale, CPU size or a fixed configuration (from the name).
    pub fn size(&self) -> PresetSize {
        if self.name.ends_with("-mini") {
            PresetSize::Mini
        } else if self.name.starts_with("official-tiny-") {
            PresetSize::Fixed
        } else {
            PresetSize::Paper
        }
    }

    /// The run config the file holds.
    pub fn config(&self) -> RunConfig {
        RunConfig::from_toml(self.text, &format!("presets/{}.toml", self.name))
            .expect("the embedded presets are checked by the tests")
    }
}

macro_rules! preset {
    ($name:literal) => {
        Preset {
            name: $name,
            text: include_str!(concat!("../../../presets/", $name, ".toml")),
        }
    };
}

/// Every preset: the paper-scale ones (the ablation ladder lapo-fsq → lapo
/// → + multistep → + latent dim → + latent FDM → + augmentations = laom,
/// then LAOM + supervision, the baselines and the downstream stages), their
/// `-mini` twins, and the official code's tiny configuration.
pub const PRESETS: &[Preset] = &[
    preset!("lapo-fsq"),
    preset!("lapo"),
    preset!("lapo-multistep"),
    preset!("lapo-latent-dim"),
    preset!("laom-no-aug"),
    preset!("laom"),
    preset!("laom-labels"),
    preset!("lapo-mask"),
    preset!("laom-mask"),
    preset!("idm"),
    preset!("bc"),
    preset!("latent-bc"),
    preset!("decoder"),
    preset!("lapo-fsq-mini"),
    preset!("lapo-mini"),
    preset!("lapo-multistep-mini"),
    preset!("lapo-latent-dim-mini"),
    preset!("laom-no-aug-mini"),
    preset!("laom-mini"),
    preset!("laom-labels-mini"),
    preset!("lapo-mask-mini"),
    preset!("laom-mask-mini"),
    preset!("idm-mini"),
    preset!("bc-mini"),
    preset!("latent-bc-mini"),
    preset!("decoder-mini"),
    preset!("official-tiny-lapo"),
    preset!("official-tiny-laom"),
    preset!("official-tiny-laom-labels"),
];

impl RunConfig {
    /// The preset called `name` (see [`PRESETS`]).
    pub fn preset(name: &str) -> Option<Self> {
        PRESETS.iter().find(|p| p.name == name).map(Preset::config)
    }

    /// Every preset name, paper scale, then mini, then fixed.
    pub fn preset_names() -> Vec<String> {
        PRESETS.iter().map(|p| p.name.to_string()).collect()
    }

    /// Parses a TOML config; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let c: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        c.validate().map_err(|e| ConfigError::Invalid {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        Ok(c)
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a RunConfig always serialises")
    }

    /// Applies `key=value` overrides (dotted keys, TOML values; bare words
    /// are strings), e.g. `train.steps=500` or `model.depth=deep`.
    pub fn with_overrides(&self, sets: &[String]) -> Result<Self, ConfigError> {
        let bad = |set: &str, message: String| ConfigError::Set {
            set: set.to_string(),
            message,
        };
        let mut table: toml::Table = toml::from_str(&self.to_toml()).expect("our own TOML parses");
        // Settings left out of the TOML at their defaults can be set too.
        for (section, key, value) in [
            ("train", "mask_background_weight", toml::Value::Float(1.0)),
            ("train", "mask_inputs", toml::Value::Boolean(false)),
        ] {
            if let Some(t) = table.get_mut(section).and_then(toml::Value::as_table_mut) {
                t.entry(key).or_insert(value);
            }
        }
        for set in sets {
            let (key, raw) = set
                .split_once('=')
                .ok_or_else(|| bad(set, "expected key=value".into()))?;
            let key = key.trim();
            let value = parse_value(raw.trim());
            let mut parts: Vec<&str> = key.split('.').collect();
            let last = parts.pop().unwrap_or_default();
            let mut node = &mut table;
            for p in &parts {
                node = node
                    .get_mut(*p)
                    .and_then(toml::Value::as_table_mut)
                    .ok_or_else(|| bad(set, format!("there is no section {p:?}")))?;
            }
            let old = node.get(last).ok_or_else(|| {
                bad(
                    set,
                    "no such setting (see `lam train --show-config`)".into(),
                )
            })?;
            // Integers written where floats are expected are fine.
            let value = match (old, value) {
                (toml::Value::Float(_), toml::Value::Integer(i)) => toml::Value::Float(i as f64),
                (_, v) => v,
            };
            node.insert(last.to_string(), value);
        }
        let text = toml::to_string(&table).expect("a table serialises");
        Self::from_toml(&text, "--set")
    }

    /// Checks the settings fit together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check().map_err(ConfigError::Settings)
    }

    /// [`RunConfig::validate`]'s checks, each failure a sentence naming
    /// the setting.
    fn check(&self) -> Result<(), String> {
        let (m, t) = (&self.model, &self.train);
        let positive = [
            ("model.encoder_scale", m.encoder_scale as i128),
            ("model.latent_dim", m.latent_dim as i128),
            ("model.head_width", m.head_width as i128),
            ("train.steps", t.steps as i128),
            ("train.batch_size", t.batch_size as i128),
            ("train.max_offset", t.max_offset as i128),
            ("train.checkpoint_every", t.checkpoint_every as i128),
            ("train.eval_every", t.eval_every as i128),
        ];
        for (name, v) in positive {
            if v <= 0 {
                return Err(format!("{name} must be at least 1, got {v}"));
            }
        }
        if t.warmup_steps > t.steps {
            return Err(format!(
                "train.warmup_steps ({}) exceeds train.steps ({})",
                t.warmup_steps, t.steps
            ));
        }
        if !(t.lr > 0.0 && t.lr.is_finite() && t.probe_lr > 0.0 && t.probe_lr.is_finite()) {
            return Err("train.lr and train.probe_lr must be positive".into());
        }
        if !(t.grad_clip >= 0.0 && t.supervision_coef >= 0.0) {
            return Err("train.grad_clip and train.supervision_coef must be >= 0".into());
        }
        let a = &t.augmentation;
        let within = |v: f64, hi: f64| (0.0..=hi).contains(&v);
        if !(within(a.max_shift, 1.0)
            && within(a.max_rotation, 180.0)
            && within(a.max_perspective, 1.0))
        {
            return Err(format!(
                "train.augmentation: shift and perspective must be in [0, 1] and rotation in [0, 180] degrees, got {a:?}"
            ));
        }
        if !(m.tau > 0.0 && m.tau <= 1.0) {
            return Err(format!("model.tau must be in (0, 1], got {}", m.tau));
        }
        if !m.fsq_levels.is_empty() && self.method != Method::Lapo {
            return Err("model.fsq_levels only applies to method = \"lapo\"".into());
        }
        if m.fsq_levels.iter().any(|&l| l < 2) {
            return Err("model.fsq_levels: every level must be at least 2".into());
        }
        if t.supervision_coef > 0.0 && self.method != Method::Laom {
            return Err("train.supervision_coef > 0 needs method = \"laom\"".into());
        }
        if t.supervision_coef > 0.0 && t.labeled_batch_size == 0 {
            return Err("train.labeled_batch_size must be at least 1 with supervision".into());
        }
        let w = t.mask_background_weight;
        if !(0.0..=1.0).contains(&w) {
            return Err(format!(
                "train.mask_background_weight must be in [0, 1] (1: off), got {w}"
            ));
        }
        if w < 1.0 && self.method != Method::Lapo {
            return Err("train.mask_background_weight < 1 weights LAPO's pixel loss: it needs method = \"lapo\"".into());
        }
        if w < 1.0 && t.augment {
            return Err("train.mask_background_weight < 1 needs train.augment = false: the augmented target's pixels no longer line up with its agent mask".into());
        }
        if t.mask_inputs && !self.method.is_latent() {
            return Err("train.mask_inputs applies to the latent action models (method = \"lapo\" or \"laom\")".into());
        }
        Ok(())
    }

    /// Whether a run reads the agent masks of its files (a mask-guided
    /// objective is on).
    pub fn needs_masks(&self) -> bool {
        self.train.mask_background_weight < 1.0 || self.train.mask_inputs
    }

    /// Whether the run needs a labeled file (`--labeled`).
    pub fn needs_labels(&self) -> bool {
        self.train.supervision_coef > 0.0
    }
}

/// Why a run config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML does not parse as a config.
    #[error("{origin}: {message}")]
    Parse {
        /// The file (or text) it came from.
        origin: String,
        /// The parser's message, naming the line and field.
        message: String,
    },
    /// The config parses but its settings do not fit together.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file (or text) it came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A `--set KEY=VALUE` override cannot apply.
    #[error("--set {set:?}: {message}")]
    Set {
        /// The override as given.
        set: String,
        /// Why.
        message: String,
    },
    /// Settings that do not fit together, naming the setting.
    #[error("{0}")]
    Settings(String),
}

/// A `--set` value: TOML if it parses as one, else a bare string.
fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    toml::from_str::<toml::Table>(&doc)
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_round_trips_through_toml() {
        for name in RunConfig::preset_names() {
            let c = RunConfig::preset(&name).unwrap_or_else(|| panic!("{name}"));
            c.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(RunConfig::from_toml(&c.to_toml(), &name).unwrap(), c);
        }
        assert!(RunConfig::preset("nope").is_none());
        assert!(RunConfig::preset("nope-mini").is_none());
        assert!(RunConfig::preset("official-tiny-nope").is_none());
        let tiny = RunConfig::preset("official-tiny-laom-labels").unwrap();
        assert_eq!((tiny.train.steps, tiny.train.warmup_steps), (1240, 124));
        assert_eq!((tiny.model.num_res, tiny.model.head_blocks), (2, 3));
        assert_eq!(tiny.train.supervision_coef, 0.001);
    }

    #[test]
    fn every_file_in_presets_is_embedded_and_says_what_it_is() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../presets");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        let mut embedded = RunConfig::preset_names();
        on_disk.sort();
        embedded.sort();
        assert_eq!(on_disk, embedded);
        for p in PRESETS {
            let file = std::fs::read_to_string(dir.join(format!("{}.toml", p.name))).unwrap();
            assert_eq!(p.text, file, "{}", p.name);
            assert!(p.about().len() > 10, "{}: no first comment line", p.name);
        }
    }

    #[test]
    fn a_mini_preset_keeps_its_paper_twins_switches() {
        for p in PRESETS.iter().filter(|p| p.size() == PresetSize::Mini) {
            let base = p.name.strip_suffix("-mini").unwrap();
            let (mini, paper) = (p.config(), RunConfig::preset(base).unwrap());
            assert_eq!(mini.method, paper.method, "{base}");
            assert_eq!(mini.train.augment, paper.train.augment, "{base}");
            assert_eq!(mini.train.max_offset, paper.train.max_offset, "{base}");
            assert_eq!(mini.model.fsq_levels, paper.model.fsq_levels, "{base}");
            let supervised = |c: &RunConfig| c.train.supervision_coef > 0.0;
            assert_eq!(supervised(&mini), supervised(&paper), "{base}");
        }
    }

    #[test]
    fn the_ladder_adds_one_change_per_rung() {
        let p = |n: &str| RunConfig::preset(n).unwrap();
        let (fsq, lapo, ms, dim, fdm, laom) = (
            p("lapo-fsq"),
            p("lapo"),
            p("lapo-multistep"),
            p("lapo-latent-dim"),
            p("laom-no-aug"),
            p("laom"),
        );
        assert!(!fsq.model.fsq_levels.is_empty() && lapo.model.fsq_levels.is_empty());
        assert_eq!((lapo.train.max_offset, ms.train.max_offset), (1, 10));
        assert_eq!((ms.model.latent_dim, dim.model.latent_dim), (128, 8192));
        assert_eq!((dim.method, fdm.method), (Method::Lapo, Method::Laom));
        assert!(!fdm.train.augment && laom.train.augment);
        assert_eq!(p("laom-labels").train.supervision_coef, 0.01);
        assert!(p("laom-labels").needs_labels() && !laom.needs_labels());
    }

    #[test]
    fn overrides_set_values_and_name_bad_keys() {
        let c = RunConfig::preset("laom-mini").unwrap();
        let d = c
            .with_overrides(&[
                "train.steps=500".into(),
                "model.depth=deep".into(),
                "train.lr=1".into(),
                "seed=7".into(),
            ])
            .unwrap();
        assert_eq!(d.train.steps, 500);
        assert_eq!(d.model.depth, Depth::Deep);
        assert_eq!(d.train.lr, 1.0);
        assert_eq!(d.seed, 7);
        let err = c
            .with_overrides(&["train.stpes=5".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("train.stpes"), "{err}");
        let err = c
            .with_overrides(&["model.depth=wide".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("depth") || err.contains("wide"), "{err}");
        let err = c
            .with_overrides(&["train.steps".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("key=value"), "{err}");
        let err = c
            .with_overrides(&["train.warmup_steps=5000".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("warmup_steps"), "{err}");
    }

    #[test]
    fn mismatched_settings_are_refused() {
        let mut c = RunConfig::preset("bc-mini").unwrap();
        c.train.supervision_coef = 0.1;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("supervision_coef"));
        let mut c = RunConfig::preset("laom-mini").unwrap();
        c.model.fsq_levels = vec![4, 4];
        assert!(c.validate().unwrap_err().to_string().contains("fsq_levels"));
        let mut c = RunConfig::preset("laom-mini").unwrap();
        c.train.augmentation.max_shift = -0.1;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("train.augmentation"));
        // Configs written before a setting existed still read (defaults).
        let mut t: toml::Table =
            toml::from_str(&RunConfig::preset("laom-mini").unwrap().to_toml()).unwrap();
        let train = t.get_mut("train").unwrap().as_table_mut().unwrap();
        train.remove("augmentation");
        train.remove("probe_inputs");
        let old = RunConfig::from_toml(&toml::to_string(&t).unwrap(), "old.toml").unwrap();
        assert_eq!(old, RunConfig::preset("laom-mini").unwrap());
        let err = RunConfig::from_toml("method = \"laom\"", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.toml"), "{err}");
    }

    #[test]
    fn mask_switches_are_left_out_of_the_toml_when_off() {
        // Configs (and so run and cache keys) of every other preset read
        // and write exactly as before the switches existed.
        for p in PRESETS {
            let text = p.config().to_toml();
            let masked = p.name.starts_with("lapo-mask") || p.name.starts_with("laom-mask");
            assert_eq!(text.contains("mask_"), masked, "{}", p.name);
        }
        let lapo = RunConfig::preset("lapo-mini").unwrap();
        let mut masked = RunConfig::preset("lapo-mask-mini").unwrap();
        assert_eq!(masked.train.mask_background_weight, 0.1);
        assert!(masked.needs_masks() && !lapo.needs_masks());
        masked.train.mask_background_weight = 1.0;
        assert_eq!(masked, lapo, "lapo-mask-mini is lapo-mini + the weight");
        let laom = RunConfig::preset("laom-mini").unwrap();
        let mut masked = RunConfig::preset("laom-mask-mini").unwrap();
        assert!(masked.train.mask_inputs && masked.needs_masks());
        masked.train.mask_inputs = false;
        assert_eq!(masked, laom, "laom-mask-mini is laom-mini + masked inputs");
        // Settable with --set although absent from the TOML.
        let on = laom
            .with_overrides(&["train.mask_inputs=true".into()])
            .unwrap();
        assert!(on.train.mask_inputs);
        let w = lapo
            .with_overrides(&["train.mask_background_weight=0".into()])
            .unwrap();
        assert_eq!(w.train.mask_background_weight, 0.0);
        assert!(w.to_toml().contains("mask_background_weight = 0.0"));
    }

    #[test]
    fn mask_switches_that_cannot_apply_are_refused() {
        let lapo = RunConfig::preset("lapo-mini").unwrap();
        let refused = |c: &RunConfig, sets: &[&str], word: &str| {
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            let err = c.with_overrides(&sets).unwrap_err().to_string();
            assert!(err.contains(word), "{sets:?}: {err}");
        };
        refused(&lapo, &["train.mask_background_weight=1.5"], "[0, 1]");
        refused(&lapo, &["train.mask_background_weight=-0.1"], "[0, 1]");
        refused(
            &lapo,
            &["train.mask_background_weight=0.1", "train.augment=true"],
            "train.augment",
        );
        let laom = RunConfig::preset("laom-mini").unwrap();
        refused(&laom, &["train.mask_background_weight=0.1"], "lapo");
        let bc = RunConfig::preset("bc-mini").unwrap();
        refused(&bc, &["train.mask_inputs=true"], "mask_inputs");
    }
}

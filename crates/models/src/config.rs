//! Run configurations as TOML: the method, the model's shape and the
//! optimisation settings, with the named presets of METHOD.md §6 (paper
//! scale), `-mini` versions sized for a 2-core CPU, and the ablation ladder
//! of METHOD.md §8 (lapo-fsq → lapo → +multistep → +latent-dim →
//! +latent-fdm → +aug = laom).

use serde::{Deserialize, Serialize};

use crate::augment::AugmentConfig;
use crate::encoder::Depth;

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
                device != tch::Device::Cpu || crate::cpu::CpuFeatures::detect().native_bf16()
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

/// A named preset and what it is.
#[derive(Clone, Copy, Debug)]
pub struct PresetInfo {
    /// Name for `--preset`.
    pub name: &'static str,
    /// One line about it.
    pub about: &'static str,
}

/// The paper-scale presets; each also exists as `NAME-mini`.
pub const PRESETS: &[PresetInfo] = &[
    PresetInfo {
        name: "lapo-fsq",
        about: "ladder 1: LAPO with FSQ-quantized latents (K = 1)",
    },
    PresetInfo {
        name: "lapo",
        about: "ladder 2: LAPO, continuous latent, pixel FDM (K = 1)",
    },
    PresetInfo {
        name: "lapo-multistep",
        about: "ladder 3: + multi-step IDM (K = 10)",
    },
    PresetInfo {
        name: "lapo-latent-dim",
        about: "ladder 4: + large latent (8192)",
    },
    PresetInfo {
        name: "laom-no-aug",
        about: "ladder 5: + latent FDM with EMA target (LAOM without augmentations)",
    },
    PresetInfo {
        name: "laom",
        about: "ladder 6: + augmentations = LAOM",
    },
    PresetInfo {
        name: "laom-labels",
        about: "LAOM + supervision on a labeled subset (needs --labeled)",
    },
    PresetInfo {
        name: "idm",
        about: "baseline: IDM on true actions (K = 1); train on the labeled file",
    },
    PresetInfo {
        name: "bc",
        about: "baseline: behaviour cloning from pixels to actions",
    },
    PresetInfo {
        name: "latent-bc",
        about: "latent BC: pixels -> the frozen LAM's latent actions (needs --teacher LAM_RUN)",
    },
    PresetInfo {
        name: "decoder",
        about: "action decoder: MLP 256x2, the actor's latents -> actions on labeled data (needs --teacher LATENT_BC_RUN)",
    },
];

/// Presets of a fixed size (no `-mini` twin): the official code's tiny CPU
/// configuration, for comparisons on identical work.
pub const FIXED_PRESETS: &[PresetInfo] = &[
    PresetInfo {
        name: "official-tiny-lapo",
        about: "the official code's tiny CPU configuration, LAPO (shallow x1, 2 res blocks, latent 256, K = 10, batch 64, 1240 updates)",
    },
    PresetInfo {
        name: "official-tiny-laom",
        about: "the official tiny configuration, LAOM (heads 256 x 3 blocks, tau 0.001, augmentations)",
    },
    PresetInfo {
        name: "official-tiny-laom-labels",
        about: "the official tiny configuration, LAOM + labels (32 labeled per batch, coef 0.001; needs --labeled)",
    },
];

impl RunConfig {
    /// The preset called `name` (see [`PRESETS`]; add `-mini` for the CPU
    /// size; or one of [`FIXED_PRESETS`]).
    pub fn preset(name: &str) -> Option<Self> {
        if let Some(base) = name.strip_prefix("official-tiny-") {
            return Self::official_tiny(base);
        }
        let (base, mini) = match name.strip_suffix("-mini") {
            Some(b) => (b, true),
            None => (name, false),
        };
        if !PRESETS.iter().any(|p| p.name == base) {
            return None;
        }
        let mut c = if mini { Self::mini() } else { Self::paper() };
        let large = c.model.latent_dim;
        // The ladder starts from LAPO with a small latent and plain pairs.
        let small = if mini { 16 } else { 128 };
        match base {
            "lapo-fsq" | "lapo" | "lapo-multistep" | "lapo-latent-dim" => {
                c.method = Method::Lapo;
                c.train.augment = false;
                c.model.latent_dim = small;
                c.train.max_offset = 1;
                if base == "lapo-fsq" {
                    c.model.fsq_levels = vec![8, 5, 5, 5];
                }
                if base == "lapo-multistep" || base == "lapo-latent-dim" {
                    c.train.max_offset = 10;
                }
                if base == "lapo-latent-dim" {
                    c.model.latent_dim = large;
                }
            }
            "laom-no-aug" => c.train.augment = false,
            "laom" => {}
            "laom-labels" => c.train.supervision_coef = 0.01,
            "idm" | "bc" => {
                c.method = if base == "idm" {
                    Method::Idm
                } else {
                    Method::Bc
                };
                c.train.max_offset = 1;
                c.train.augment = false;
                c.train.steps = if mini { 2_000 } else { 10_000 };
                c.train.warmup_steps = c.train.steps / 10;
                c.model.encoder_scale = match (base, mini) {
                    ("idm", false) => 12,
                    ("bc", false) => 32,
                    ("idm", true) => 2,
                    _ => 4,
                };
                if base == "bc" {
                    c.model.depth = Depth::Shallow;
                }
            }
            "latent-bc" => {
                // METHOD.md §6: batch 512, 10 epochs, encoder x 32, lr 1e-4.
                c.method = Method::LatentBc;
                c.train.max_offset = 1;
                c.train.augment = false;
                c.model.depth = Depth::Shallow;
                c.model.encoder_scale = if mini { 4 } else { 32 };
            }
            "decoder" => {
                // METHOD.md §6: 2500 updates, batch 512, lr 3e-4, hidden 256.
                c.method = Method::Decoder;
                c.train.max_offset = 1;
                c.train.augment = false;
                c.model.head_width = 256;
                c.train.steps = if mini { 1_000 } else { 2_500 };
                c.train.warmup_steps = c.train.steps / 10;
                c.train.lr = 3e-4;
            }
            _ => unreachable!("checked against PRESETS"),
        }
        Some(c)
    }

    /// LAOM at paper scale (METHOD.md §6): 10 epochs over 5M transitions at
    /// batch 512, 3 warm-up epochs.
    fn paper() -> Self {
        let epoch = 5_000_000 / 512;
        Self {
            method: Method::Laom,
            seed: 0,
            model: ModelSettings {
                depth: Depth::Deep,
                encoder_scale: 6,
                num_res: 2,
                latent_dim: 8192,
                fsq_levels: Vec::new(),
                head_width: 1024,
                head_blocks: 2,
                tau: 0.001,
            },
            train: TrainSettings {
                steps: 10 * epoch,
                warmup_steps: 3 * epoch,
                batch_size: 512,
                labeled_batch_size: 128,
                lr: 1e-4,
                grad_clip: 0.0,
                max_offset: 10,
                augment: true,
                supervision_coef: 0.0,
                probe_lr: 1e-3,
                checkpoint_every: 2_000,
                eval_every: 2_000,
                eval_batches: 20,
                precision: Precision::Bf16,
                probe_inputs: ProbeInputs::Step,
                augmentation: AugmentConfig::default(),
                stream_cache_mib: 8_192,
            },
        }
    }

    /// LAOM sized to train in minutes on a 2-core CPU at 64 px.
    /// The official code's tiny CPU configuration: 8 trajectories x 1000
    /// steps make 7920 samples per epoch (K = 10), 124 batches of 64, so 10
    /// epochs are 1240 updates with one warm-up epoch; Adam at 1e-4 without
    /// clipping; probes at the model's learning rate, as the official code.
    fn official_tiny(variant: &str) -> Option<Self> {
        let mut c = Self::mini();
        c.model.num_res = 2;
        c.model.latent_dim = 256;
        c.model.head_width = 256;
        c.model.head_blocks = 3;
        c.model.tau = 0.001;
        let t = &mut c.train;
        t.steps = 1_240;
        t.warmup_steps = 124;
        t.batch_size = 64;
        t.labeled_batch_size = 32;
        t.lr = 1e-4;
        t.probe_lr = 1e-4;
        t.grad_clip = 0.0;
        t.max_offset = 10;
        t.checkpoint_every = 620;
        t.eval_every = 620;
        match variant {
            "lapo" => {
                c.method = Method::Lapo;
                c.train.augment = false;
            }
            "laom" => {}
            "laom-labels" => c.train.supervision_coef = 0.001,
            _ => return None,
        }
        Some(c)
    }

    fn mini() -> Self {
        Self {
            method: Method::Laom,
            seed: 0,
            model: ModelSettings {
                depth: Depth::Shallow,
                encoder_scale: 1,
                num_res: 1,
                latent_dim: 256,
                fsq_levels: Vec::new(),
                head_width: 256,
                head_blocks: 1,
                tau: 0.01,
            },
            train: TrainSettings {
                steps: 2_000,
                warmup_steps: 200,
                batch_size: 64,
                labeled_batch_size: 32,
                lr: 3e-4,
                grad_clip: 1.0,
                max_offset: 10,
                augment: true,
                supervision_coef: 0.0,
                probe_lr: 1e-3,
                checkpoint_every: 500,
                eval_every: 250,
                eval_batches: 8,
                precision: Precision::Auto,
                probe_inputs: ProbeInputs::Step,
                augmentation: AugmentConfig::default(),
                stream_cache_mib: 0,
            },
        }
    }

    /// Every preset name, paper scale then mini.
    pub fn preset_names() -> Vec<String> {
        let paper = PRESETS.iter().map(|p| p.name.to_string());
        let mini = PRESETS.iter().map(|p| format!("{}-mini", p.name));
        let fixed = FIXED_PRESETS.iter().map(|p| p.name.to_string());
        paper.chain(mini).chain(fixed).collect()
    }

    /// Parses a TOML config; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, String> {
        let c: Self = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        c.validate().map_err(|e| format!("{origin}: {e}"))?;
        Ok(c)
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a RunConfig always serialises")
    }

    /// Applies `key=value` overrides (dotted keys, TOML values; bare words
    /// are strings), e.g. `train.steps=500` or `model.depth=deep`.
    pub fn with_overrides(&self, sets: &[String]) -> Result<Self, String> {
        let mut table: toml::Table = toml::from_str(&self.to_toml()).expect("our own TOML parses");
        for set in sets {
            let (key, raw) = set
                .split_once('=')
                .ok_or_else(|| format!("--set {set:?}: expected key=value"))?;
            let key = key.trim();
            let value = parse_value(raw.trim());
            let mut parts: Vec<&str> = key.split('.').collect();
            let last = parts.pop().unwrap_or_default();
            let mut node = &mut table;
            for p in &parts {
                node = node
                    .get_mut(*p)
                    .and_then(toml::Value::as_table_mut)
                    .ok_or_else(|| format!("--set {key}: there is no section {p:?}"))?;
            }
            let old = node.get(last).ok_or_else(|| {
                format!("--set {key}: no such setting (see `lam train --show-config`)")
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
    pub fn validate(&self) -> Result<(), String> {
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
        Ok(())
    }

    /// Whether the run needs a labeled file (`--labeled`).
    pub fn needs_labels(&self) -> bool {
        self.train.supervision_coef > 0.0
    }
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
        let err = c.with_overrides(&["train.stpes=5".into()]).unwrap_err();
        assert!(err.contains("train.stpes"), "{err}");
        let err = c.with_overrides(&["model.depth=wide".into()]).unwrap_err();
        assert!(err.contains("depth") || err.contains("wide"), "{err}");
        let err = c.with_overrides(&["train.steps".into()]).unwrap_err();
        assert!(err.contains("key=value"), "{err}");
        let err = c
            .with_overrides(&["train.warmup_steps=5000".into()])
            .unwrap_err();
        assert!(err.contains("warmup_steps"), "{err}");
    }

    #[test]
    fn mismatched_settings_are_refused() {
        let mut c = RunConfig::preset("bc-mini").unwrap();
        c.train.supervision_coef = 0.1;
        assert!(c.validate().unwrap_err().contains("supervision_coef"));
        let mut c = RunConfig::preset("laom-mini").unwrap();
        c.model.fsq_levels = vec![4, 4];
        assert!(c.validate().unwrap_err().contains("fsq_levels"));
        let mut c = RunConfig::preset("laom-mini").unwrap();
        c.train.augmentation.max_shift = -0.1;
        assert!(c.validate().unwrap_err().contains("train.augmentation"));
        // Configs written before a setting existed still read (defaults).
        let mut t: toml::Table =
            toml::from_str(&RunConfig::preset("laom-mini").unwrap().to_toml()).unwrap();
        let train = t.get_mut("train").unwrap().as_table_mut().unwrap();
        train.remove("augmentation");
        train.remove("probe_inputs");
        let old = RunConfig::from_toml(&toml::to_string(&t).unwrap(), "old.toml").unwrap();
        assert_eq!(old, RunConfig::preset("laom-mini").unwrap());
        let err = RunConfig::from_toml("method = \"laom\"", "x.toml").unwrap_err();
        assert!(err.starts_with("x.toml"), "{err}");
    }
}

//! `lam pipeline`: methods × tasks × label budgets × seeds from one TOML
//! experiment. Every stage is a `lam` command whose output folder is named
//! by a hash of the command (inputs included, so a stage's key changes when
//! anything upstream changes, the contents of named run presets and the
//! results format too); a finished stage leaves a `.done` marker and
//! is never run again, an interrupted one resumes. `--emit-jobs` prints one
//! command per stage for an external scheduler sharing the cache folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;
use lam_env::TaskId;
use lam_models::config::{PresetSize, RunConfig, PRESETS};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Arguments of `lam pipeline`.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// The experiment (TOML; `lam pipeline --example` prints one).
    #[arg(long, required_unless_present = "example")]
    config: Option<PathBuf>,
    /// Print one command per stage, in an order that respects dependencies, and exit.
    #[arg(long)]
    emit_jobs: bool,
    /// Run only this stage (its inputs must be done): for schedulers.
    #[arg(long)]
    job: Option<String>,
    /// Print an example experiment and exit.
    #[arg(long)]
    example: bool,
    /// Plan only these arms of the experiment (repeatable; the top-level
    /// methods are the arm `main`). Stages shared with other arms are the
    /// same stages: running an arm first and the rest later reuses them.
    #[arg(long = "arm")]
    arms: Vec<String>,
}

/// The example experiment `--example` prints (examples/pipeline.toml).
const EXAMPLE: &str = include_str!("../../../../examples/pipeline.toml");

/// The version of what stages produce, part of every cache key. Bump it in
/// any change after which a stage with the same command would produce
/// different results (another random stream, a changed loss, default or
/// file format); leave it for changes that keep results (speed, messages,
/// refactors). Every cached stage would then run again. A stage made by
/// another lam build is reused while this stays the same, and reported.
const RESULTS_FORMAT: u32 = 2;

/// The lam build a stage's `.done` marker names: version and commit.
fn build_id() -> String {
    format!(
        "lam {} (commit {})",
        env!("CARGO_PKG_VERSION"),
        option_env!("LAM_BUILD_COMMIT").unwrap_or("unknown")
    )
}

/// Lower-case hexadecimal of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The experiment file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Experiment {
    #[serde(default = "default_cache")]
    cache: PathBuf,
    tasks: Vec<String>,
    /// The methods of the arm `main` (may be empty when `arms` say it all).
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    label_budgets: Vec<usize>,
    seeds: Vec<u64>,
    #[serde(default = "default_scale")]
    scale: String,
    data: DataSpec,
    eval: EvalSpec,
    #[serde(default)]
    sets: Sets,
    /// Further arms: other methods, budgets or distraction presets on the
    /// same tasks, seeds, data sizes and settings.
    #[serde(default)]
    arms: Vec<ArmSpec>,
}

/// One arm of an experiment: methods × label budgets × presets, with or
/// without the downstream stages (latent BC, decoder, evaluation).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmSpec {
    name: String,
    methods: Vec<String>,
    /// Labeled trajectories (for LAOM + supervision, BC, IDM and decoders).
    #[serde(default)]
    label_budgets: Vec<usize>,
    /// Distraction presets (default: `data.presets`).
    #[serde(default)]
    presets: Option<Vec<String>>,
    /// Policies and their evaluations too (false: LAMs and their probes only).
    #[serde(default = "yes")]
    downstream: bool,
}

fn yes() -> bool {
    true
}

/// An arm as planned.
struct Arm<'a> {
    methods: &'a [String],
    budgets: &'a [usize],
    presets: &'a [String],
    downstream: bool,
}

impl Experiment {
    /// The arms to plan: `main` (the top-level methods) and `arms`, or only
    /// those named in `only`.
    fn arms<'a>(&'a self, only: &[String]) -> Result<Vec<Arm<'a>>> {
        let mut all: Vec<(&str, Arm<'a>)> = Vec::new();
        if !self.methods.is_empty() {
            all.push((
                "main",
                Arm {
                    methods: &self.methods,
                    budgets: &self.label_budgets,
                    presets: &self.data.presets,
                    downstream: true,
                },
            ));
        }
        for a in &self.arms {
            if all.iter().any(|(n, _)| *n == a.name) {
                bail!("arms: two arms are called {:?}", a.name);
            }
            all.push((
                &a.name,
                Arm {
                    methods: &a.methods,
                    budgets: &a.label_budgets,
                    presets: a.presets.as_deref().unwrap_or(&self.data.presets),
                    downstream: a.downstream,
                },
            ));
        }
        for name in only {
            if !all.iter().any(|(n, _)| n == name) {
                bail!(
                    "--arm {name:?}: no such arm; the experiment has {}",
                    all.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                );
            }
        }
        Ok(all
            .into_iter()
            .filter(|(n, _)| only.is_empty() || only.iter().any(|o| o == n))
            .map(|(_, a)| a)
            .collect())
    }
}

fn default_cache() -> PathBuf {
    PathBuf::from("runs/pipeline")
}

fn default_scale() -> String {
    "mini".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataSpec {
    presets: Vec<String>,
    trajectories: usize,
    eval_trajectories: usize,
    episode_length: usize,
    img: usize,
    experts: PathBuf,
    /// Store actions clipped to [-1, 1] (what the environment executes)
    /// instead of the expert's raw outputs.
    #[serde(default)]
    clip_actions: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvalSpec {
    episodes: usize,
    episode_length: usize,
    /// What normalised scores divide by.
    #[serde(default)]
    normalizer: NormalizerSpec,
    /// Also play the same episodes with uniformly random actions and with
    /// the data's expert (the floor and the ceiling of the returns).
    #[serde(default = "yes")]
    yardsticks: bool,
}

/// The normaliser of scores (the paper normalises by BC on all labels).
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum NormalizerSpec {
    /// Train and evaluate BC on all labels in each setting (the paper's way).
    #[default]
    BcAllLabels,
    /// The published figures (no BC stage; for quick runs whose own BC
    /// would be too short-trained to divide by).
    Published,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sets {
    #[serde(default)]
    lam: Vec<String>,
    #[serde(default)]
    latent_bc: Vec<String>,
    #[serde(default)]
    decoder: Vec<String>,
    #[serde(default)]
    bc: Vec<String>,
    #[serde(default)]
    idm: Vec<String>,
}

/// One stage: a `lam` command writing into `cache/key`.
#[derive(Clone, Debug, Serialize)]
struct Stage {
    key: String,
    /// Arguments after `lam`, with `{out}` where the stage's output goes.
    args: Vec<String>,
    deps: Vec<String>,
    /// What the results table shows for eval stages.
    label: Option<BTreeMap<String, String>>,
}

/// The stages in dependency order.
struct Plan {
    cache: PathBuf,
    stages: Vec<Stage>,
    index: BTreeMap<String, usize>,
}

impl Plan {
    fn dir(&self, key: &str) -> PathBuf {
        self.cache.join(key)
    }

    /// Adds a stage (once per key) and returns its output path.
    fn add(
        &mut self,
        kind: &str,
        args: Vec<String>,
        deps: &[&str],
        label: Option<BTreeMap<String, String>>,
    ) -> String {
        self.add_with_inputs(kind, args, deps, label, &[])
    }

    /// [`Plan::add`] with the contents of input files (as digests) in the
    /// key too, for inputs whose path stays while the file may change.
    fn add_with_inputs(
        &mut self,
        kind: &str,
        args: Vec<String>,
        deps: &[&str],
        label: Option<BTreeMap<String, String>>,
        inputs: &[String],
    ) -> String {
        let mut h = Sha256::new();
        h.update(RESULTS_FORMAT.to_le_bytes());
        h.update(kind);
        // A named run preset stands for its file's contents: editing
        // presets/NAME.toml changes the key of every stage trained with it.
        for w in args.windows(2).filter(|w| w[0] == "--preset") {
            if let Some(preset) = PRESETS.iter().find(|p| p.name == w[1]) {
                h.update([2]);
                h.update(preset.text);
            }
        }
        for i in inputs {
            h.update([1]);
            h.update(i);
        }
        for a in &args {
            h.update([0]);
            h.update(a);
        }
        let digest = h.finalize();
        let hex = hex(&digest[..8]);
        let key = format!("{kind}-{hex}");
        if !self.index.contains_key(&key) {
            self.index.insert(key.clone(), self.stages.len());
            self.stages.push(Stage {
                key: key.clone(),
                args,
                deps: deps.iter().map(|d| d.to_string()).collect(),
                label,
            });
        }
        key
    }

    /// Names what a stage stands for in reports; `labels` is a budget,
    /// `all` (every label of the training file, or none for a LAM) or `-`
    /// (a yardstick that uses none).
    fn label(&mut self, key: &str, setting: (&str, &str), method: &str, labels: String, seed: u64) {
        let i = self.index[key];
        self.stages[i].label = Some(BTreeMap::from([
            ("task".to_string(), setting.0.to_string()),
            ("preset".to_string(), setting.1.to_string()),
            ("method".to_string(), method.to_string()),
            ("labels".to_string(), labels),
            ("seed".to_string(), seed.to_string()),
        ]));
    }

    /// A file or run folder inside a stage's output.
    fn out(&self, key: &str, file: Option<&str>) -> String {
        let d = self.dir(key);
        match file {
            Some(f) => d.join(f).display().to_string(),
            None => d.display().to_string(),
        }
    }
}

/// A label budget as stages are labelled: the number, or `all`.
fn budget_label(budget: Option<usize>) -> String {
    budget.map_or("all".into(), |b| b.to_string())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn with_sets(mut args: Vec<String>, sets: &[String], seed: u64) -> Vec<String> {
    args.extend(["--set".into(), format!("seed={seed}")]);
    for s in sets {
        args.extend(["--set".into(), s.clone()]);
    }
    args
}

/// Builds every stage of the experiment's arms (all, or those in `only`),
/// checking it first.
fn plan(x: &Experiment, only: &[String]) -> Result<Plan> {
    let suffix = match x.scale.as_str() {
        "mini" => "-mini",
        "paper" => "",
        other => bail!("scale = {other:?}: expected \"mini\" or \"paper\""),
    };
    let lam_presets: Vec<&str> = PRESETS
        .iter()
        .filter(|p| p.size() == PresetSize::Paper && p.config().method.is_latent())
        .map(|p| p.name)
        .collect();
    let arms = x.arms(only)?;
    if arms.is_empty() {
        bail!("methods: the experiment has no methods (top-level `methods` or `[[arms]]`)");
    }
    for arm in &arms {
        for m in arm.methods {
            if m != "idm" && m != "bc" && !lam_presets.contains(&m.as_str()) {
                bail!(
                    "methods: unknown method {m:?}; choose from idm, bc, {}",
                    lam_presets.join(", ")
                );
            }
        }
        let needs_labels = arm
            .methods
            .iter()
            .any(|m| matches!(m.as_str(), "laom-labels" | "idm" | "bc"))
            || arm.downstream;
        if needs_labels && arm.budgets.is_empty() {
            bail!(
                "label_budgets must list at least one value (labeled trajectories) for {:?}",
                arm.methods
            );
        }
        if arm.presets.is_empty() {
            bail!("data.presets must list at least one distraction preset");
        }
        for preset in arm.presets {
            preset
                .parse::<lam_env::distractors::Preset>()
                .map_err(|e| anyhow::anyhow!("data.presets: {e}"))?;
        }
    }
    let tasks: Vec<TaskId> = x
        .tasks
        .iter()
        .map(|t| t.parse().map_err(|e| anyhow::anyhow!("tasks: {e}")))
        .collect::<Result<_>>()?;
    for sets in [
        &x.sets.lam,
        &x.sets.latent_bc,
        &x.sets.decoder,
        &x.sets.bc,
        &x.sets.idm,
    ] {
        RunConfig::preset("laom-mini")
            .expect("a preset")
            .with_overrides(
                &sets
                    .iter()
                    .filter(|s| !s.starts_with("method"))
                    .cloned()
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| anyhow::anyhow!("sets: {e}"))?;
    }
    if x.seeds.is_empty() || tasks.is_empty() {
        bail!("tasks and seeds must each list at least one value");
    }
    let mut p = Plan {
        cache: x.cache.clone(),
        stages: Vec::new(),
        index: BTreeMap::new(),
    };
    // Each task's expert, read once: re-shipped weights under the same path
    // make new data, so its digest goes into the data stages' keys.
    let mut experts = Vec::new();
    for &task in &tasks {
        let expert = lam_experts::expert_checkpoint(&x.data.experts, task);
        if !expert.exists() {
            bail!("data.experts: no expert for {task} at {}", expert.display());
        }
        let digest = hex(&Sha256::digest(std::fs::read(&expert).with_context(
            || format!("data.experts: reading {}", expert.display()),
        )?));
        experts.push((task, expert, digest));
    }
    for arm in &arms {
        for (task, expert, digest) in &experts {
            plan_task(
                &mut p,
                x,
                arm,
                *task,
                (expert, digest),
                suffix,
                &lam_presets,
            );
        }
    }
    Ok(p)
}

/// The stages of one arm on one task whose expert is `(checkpoint,
/// content digest)` (stages shared with other arms are added once: their
/// keys are the same).
fn plan_task(
    p: &mut Plan,
    x: &Experiment,
    arm: &Arm,
    task: TaskId,
    (expert, expert_digest): (&Path, &String),
    suffix: &str,
    lam_presets: &[&str],
) {
    let is_lam = |m: &str| lam_presets.contains(&m);
    for preset in arm.presets {
        let collect = |split: &str, n: usize, seed: u64| {
            let mut args = strings(&[
                "collect",
                "--task",
                task.name(),
                "--preset",
                preset,
                "--split",
                split,
                "--expert",
                &expert.display().to_string(),
                "--trajectories",
                &n.to_string(),
                "--episode-length",
                &x.data.episode_length.to_string(),
                "--img",
                &x.data.img.to_string(),
                "--seed",
                &seed.to_string(),
                "--out",
                "{out}/data.hdf5",
            ]);
            if x.data.clip_actions {
                args.push("--clip-actions".into());
            }
            args
        };
        let data_key = p.add_with_inputs(
            "data",
            collect("train", x.data.trajectories, 0),
            &[],
            None,
            std::slice::from_ref(expert_digest),
        );
        let data = p.out(&data_key, Some("data.hdf5"));
        let val_key = p.add_with_inputs(
            "data",
            collect("val", x.data.eval_trajectories, 1_000_000),
            &[],
            None,
            std::slice::from_ref(expert_digest),
        );
        let held_out = vec![
            "--eval-data".to_string(),
            p.out(&val_key, Some("data.hdf5")),
        ];
        for &seed in &x.seeds {
            let train = |p: &mut Plan,
                         kind: &str,
                         preset: String,
                         file: &str,
                         extra: &[String],
                         deps: &[&str],
                         sets: &[String]| {
                let mut args = strings(&[
                    "train", "--preset", &preset, "--data", file, "--out", "{out}", "--device",
                    "cpu",
                ]);
                args.extend(extra.iter().cloned());
                p.add(kind, with_sets(args, sets, seed), deps, None)
            };
            // One evaluation: of a policy stage, or of a yardstick (`--random`,
            // `--expert PATH`) when `policy` is None.
            let eval = |p: &mut Plan,
                        policy: Option<&str>,
                        yardstick: &[String],
                        method: &str,
                        budget: Option<usize>|
             -> String {
                let mut args = strings(&["eval"]);
                match policy {
                    Some(key) => args.extend(["--policy".to_string(), p.out(key, None)]),
                    None => {
                        args.extend(yardstick.iter().cloned());
                        args.extend(["--img".to_string(), x.data.img.to_string()]);
                    }
                }
                args.extend(strings(&[
                    "--like",
                    &data,
                    "--episodes",
                    &x.eval.episodes.to_string(),
                    "--episode-length",
                    &x.eval.episode_length.to_string(),
                    "--seed",
                    &(seed * 1000).to_string(),
                    "--device",
                    "cpu",
                    "--out",
                    "{out}/eval.json",
                ]));
                let deps: Vec<&str> = policy.into_iter().chain([data_key.as_str()]).collect();
                let key = p.add("eval", args, &deps, None);
                let labels = match (policy, budget) {
                    (None, _) => "-".to_string(),
                    (Some(_), b) => budget_label(b),
                };
                p.label(&key, (task.name(), preset), method, labels, seed);
                key
            };
            // Closed-form probes of a LAM, fitted on the training file and
            // scored on the held-out (val-split) file, labelled as the LAM.
            let probe = |p: &mut Plan, lam: &str| {
                let args = strings(&[
                    "probe",
                    "--run",
                    &p.out(lam, None),
                    "--data",
                    &data,
                    "--eval-data",
                    &held_out[1],
                    "--device",
                    "cpu",
                    "--out",
                    "{out}/probe.json",
                ]);
                let key = p.add("probe", args, &[lam, &data_key, &val_key], None);
                let (from, to) = (p.index[lam], p.index[&key]);
                p.stages[to].label = p.stages[from].label.clone();
            };
            if arm.downstream {
                // The normaliser: BC on all labels.
                if x.eval.normalizer == NormalizerSpec::BcAllLabels {
                    let bc_all = train(
                        p,
                        "bc",
                        format!("bc{suffix}"),
                        &data,
                        &[],
                        &[&data_key],
                        &x.sets.bc,
                    );
                    eval(p, Some(&bc_all), &[], "bc-all-labels", None);
                }
                if x.eval.yardsticks {
                    eval(p, None, &strings(&["--random"]), "random", None);
                    let e = ["--expert".to_string(), expert.display().to_string()];
                    eval(p, None, &e, "expert", None);
                }
            }
            // One LAM and one latent BC actor per method and seed, shared by the budgets.
            let mut actors = BTreeMap::new();
            for m in arm
                .methods
                .iter()
                .filter(|m| is_lam(m) && *m != "laom-labels")
            {
                let lam = train(
                    p,
                    "lam",
                    format!("{m}{suffix}"),
                    &data,
                    &held_out,
                    &[&data_key, &val_key],
                    &x.sets.lam,
                );
                p.label(&lam, (task.name(), preset), m, budget_label(None), seed);
                probe(p, &lam);
                if arm.downstream {
                    let lam_ckpt = p.out(&lam, None);
                    let actor = train(
                        p,
                        "latent-bc",
                        format!("latent-bc{suffix}"),
                        &data,
                        &["--teacher".into(), lam_ckpt],
                        &[&lam],
                        &x.sets.latent_bc,
                    );
                    actors.insert(m.clone(), actor);
                }
            }
            // A probe-only arm needs labeled subsets only for LAOM + supervision.
            let budgets = if arm.downstream || arm.methods.iter().any(|m| m == "laom-labels") {
                arm.budgets
            } else {
                &[]
            };
            for &budget in budgets {
                let labeled_key = p.add(
                    "labeled",
                    strings(&[
                        "data",
                        "sample-labeled",
                        &data,
                        "--trajectories",
                        &budget.to_string(),
                        "--seed",
                        &seed.to_string(),
                        "--out",
                        "{out}/labeled.hdf5",
                    ]),
                    &[&data_key],
                    None,
                );
                let labeled = p.out(&labeled_key, Some("labeled.hdf5"));
                for m in arm.methods {
                    let policy = match m.as_str() {
                        _ if !arm.downstream && m != "laom-labels" => continue,
                        "bc" => train(
                            p,
                            "bc",
                            format!("bc{suffix}"),
                            &labeled,
                            &[],
                            &[&labeled_key],
                            &x.sets.bc,
                        ),
                        "idm" => {
                            let idm = train(
                                p,
                                "idm",
                                format!("idm{suffix}"),
                                &labeled,
                                &[],
                                &[&labeled_key],
                                &x.sets.idm,
                            );
                            let relabeled = p.add(
                                "relabel",
                                strings(&[
                                    "data",
                                    "relabel",
                                    &data,
                                    "--idm",
                                    &p.out(&idm, None),
                                    "--device",
                                    "cpu",
                                    "--out",
                                    "{out}/relabeled.hdf5",
                                ]),
                                &[&idm, &data_key],
                                None,
                            );
                            let file = p.out(&relabeled, Some("relabeled.hdf5"));
                            train(
                                p,
                                "bc",
                                format!("bc{suffix}"),
                                &file,
                                &[],
                                &[&relabeled],
                                &x.sets.bc,
                            )
                        }
                        _ => {
                            let actor = match actors.get(m) {
                                Some(a) => a.clone(),
                                None => {
                                    // LAOM + supervision: its LAM depends on the budget.
                                    let mut extra = held_out.clone();
                                    extra.extend(["--labeled".to_string(), labeled.clone()]);
                                    let lam = train(
                                        p,
                                        "lam",
                                        format!("{m}{suffix}"),
                                        &data,
                                        &extra,
                                        &[&data_key, &labeled_key, &val_key],
                                        &x.sets.lam,
                                    );
                                    p.label(
                                        &lam,
                                        (task.name(), preset),
                                        m,
                                        budget_label(Some(budget)),
                                        seed,
                                    );
                                    probe(p, &lam);
                                    if !arm.downstream {
                                        continue;
                                    }
                                    let lam_dir = p.out(&lam, None);
                                    train(
                                        p,
                                        "latent-bc",
                                        format!("latent-bc{suffix}"),
                                        &data,
                                        &["--teacher".into(), lam_dir],
                                        &[&lam],
                                        &x.sets.latent_bc,
                                    )
                                }
                            };
                            let actor_dir = p.out(&actor, None);
                            train(
                                p,
                                "decoder",
                                format!("decoder{suffix}"),
                                &labeled,
                                &["--teacher".into(), actor_dir],
                                &[&actor, &labeled_key],
                                &x.sets.decoder,
                            )
                        }
                    };
                    eval(p, Some(&policy), &[], m, Some(budget));
                }
            }
        }
    }
}

/// The command line of a stage, with its output folder filled in; train
/// stages resume when their folder already holds a run.
fn command(p: &Plan, s: &Stage) -> Vec<String> {
    let out = p.out(&s.key, None);
    let mut args: Vec<String> = s.args.iter().map(|a| a.replace("{out}", &out)).collect();
    // Only train and collect stages resume; the others just run again.
    let started = match args.first().map(String::as_str) {
        Some("train") => Path::new(&out).join("config.toml").exists(),
        Some("collect") => lam_data::partial_path(&Path::new(&out).join("data.hdf5")).exists(),
        _ => false,
    };
    if started {
        args.push("--resume".into());
        if args[0] == "train" {
            // A resumed run keeps its own config: drop the overrides.
            let mut kept = Vec::new();
            let mut skip = false;
            for a in args {
                if skip {
                    skip = false;
                    continue;
                }
                if a == "--set" || a == "--preset" {
                    skip = true;
                    continue;
                }
                kept.push(a);
            }
            args = kept;
        }
    }
    args
}

fn done_marker(p: &Plan, key: &str) -> PathBuf {
    p.dir(key).join(".done")
}

/// Runs one stage unless it is done; true when it ran.
fn run_stage(p: &Plan, s: &Stage) -> Result<bool> {
    if done_marker(p, &s.key).exists() {
        return Ok(false);
    }
    for d in &s.deps {
        if !done_marker(p, d).exists() {
            bail!("stage {} needs {} first (not done)", s.key, d);
        }
    }
    std::fs::create_dir_all(p.dir(&s.key))
        .with_context(|| format!("creating {}", p.dir(&s.key).display()))?;
    // One process per stage: a second pipeline on the same cache is refused
    // this stage (and stops) instead of writing into it at the same time.
    let _lock = lam_data::OutputLock::at(&p.dir(&s.key).join(".stage.lock"), &p.dir(&s.key))
        .with_context(|| format!("stage {}", s.key))?;
    if done_marker(p, &s.key).exists() {
        return Ok(false);
    }
    let args = command(p, s);
    let exe = std::env::current_exe().context("finding the lam executable")?;
    let status = Command::new(exe)
        .args(&args)
        .status()
        .with_context(|| format!("starting lam {}", args.join(" ")))?;
    if !status.success() {
        bail!("stage {} failed: lam {}", s.key, args.join(" "));
    }
    lam_data::atomic::write_bytes_atomic(
        &done_marker(p, &s.key),
        format!("lam {}\nmade by {}\n", args.join(" "), build_id()).as_bytes(),
    )?;
    Ok(true)
}

/// What `pipeline.json` in the cache records about the last run.
#[derive(Serialize)]
struct Record<'a> {
    stages: usize,
    /// What each labeled stage (LAMs, evaluations) stands for.
    labels: BTreeMap<&'a str, &'a BTreeMap<String, String>>,
    ran: Vec<&'a str>,
    cached: Vec<&'a str>,
    results: Vec<BTreeMap<String, serde_json::Value>>,
}

/// Runs `lam pipeline`.
pub fn run(args: PipelineArgs) -> Result<()> {
    if args.example {
        print!("{EXAMPLE}");
        return Ok(());
    }
    let file = args.config.as_ref().context("--config is required")?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let x: Experiment =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let p = plan(&x, &args.arms).with_context(|| format!("{}", file.display()))?;
    if args.emit_jobs {
        println!(
            "# {} stages for {}; run in this order (each line after the ones it names)",
            p.stages.len(),
            file.display()
        );
        for s in &p.stages {
            println!(
                "lam pipeline --config {} --job {}{}",
                file.display(),
                s.key,
                if s.deps.is_empty() {
                    String::new()
                } else {
                    format!("   # after {}", s.deps.join(" "))
                }
            );
        }
        return Ok(());
    }
    if let Some(key) = &args.job {
        let s = p
            .index
            .get(key)
            .map(|&i| &p.stages[i])
            .with_context(|| format!("no stage {key} in {}", file.display()))?;
        let ran = run_stage(&p, s)?;
        println!("{key}: {}", if ran { "done" } else { "already done" });
        return Ok(());
    }
    let (mut ran, mut cached) = (Vec::new(), Vec::new());
    for (i, s) in p.stages.iter().enumerate() {
        eprintln!("[{}/{}] {}", i + 1, p.stages.len(), s.key);
        if run_stage(&p, s)? {
            ran.push(s.key.as_str());
        } else {
            cached.push(s.key.as_str());
        }
    }
    // Results of the evaluations.
    let mut results = Vec::new();
    for s in p.stages.iter().filter(|s| s.key.starts_with("eval-")) {
        let Some(label) = &s.label else { continue };
        let file = p.dir(&s.key).join("eval.json");
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?,
        )?;
        let mut row: BTreeMap<String, serde_json::Value> = label
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        row.insert("mean_return".into(), v["mean_return"].clone());
        row.insert("std_return".into(), v["std_return"].clone());
        row.insert("episodes".into(), v["episodes"].clone());
        row.insert("stage".into(), s.key.clone().into());
        results.push(row);
    }
    println!(
        "{:<14} {:<22} {:<14} {:>6} {:>5} {:>10} {:>8}",
        "task", "preset", "method", "labels", "seed", "return", "std"
    );
    for r in &results {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        println!(
            "{:<14} {:<22} {:<14} {:>6} {:>5} {:>10.1} {:>8.1}",
            s("task"),
            s("preset"),
            s("method"),
            s("labels"),
            s("seed"),
            r["mean_return"].as_f64().unwrap_or(f64::NAN),
            r["std_return"].as_f64().unwrap_or(f64::NAN)
        );
    }
    // Cached stages another build made: reused (same results format), said.
    let ours = format!("made by {}", build_id());
    let foreign: Vec<&str> = cached
        .iter()
        .copied()
        .filter(|k| {
            let marker = std::fs::read_to_string(done_marker(&p, k)).unwrap_or_default();
            !marker.lines().any(|l| l == ours)
        })
        .collect();
    if let Some(first) = foreign.first() {
        eprintln!(
            "note: {} cached stage(s) were made by another lam build than this one ({}); reused, since their results format ({RESULTS_FORMAT}) is this build's: {first}{}",
            foreign.len(),
            build_id(),
            if foreign.len() > 1 { ", ..." } else { "" }
        );
    }
    println!(
        "{} stages: {} run, {} cached (in {})",
        p.stages.len(),
        ran.len(),
        cached.len(),
        p.cache.display()
    );
    let record = Record {
        stages: p.stages.len(),
        labels: p
            .stages
            .iter()
            .filter_map(|s| s.label.as_ref().map(|l| (s.key.as_str(), l)))
            .collect(),
        ran,
        cached,
        results,
    };
    lam_data::atomic::write_bytes_atomic(
        &p.cache.join("pipeline.json"),
        serde_json::to_string_pretty(&record)?.as_bytes(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_experiments_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let files = [
            root.join("examples/pipeline.toml"),
            root.join("examples/demo.toml"),
            root.join("experiments/mini-dcs.toml"),
        ];
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let x: Experiment =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(
                !x.tasks.is_empty() && !x.seeds.is_empty(),
                "{}",
                f.display()
            );
        }
        assert_eq!(
            EXAMPLE,
            std::fs::read_to_string(root.join("examples/pipeline.toml")).unwrap()
        );
    }
}

//! Planning: an experiment's arms × tasks × distraction presets × seeds
//! into typed stages, each added once (stages shared by arms have one key).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lam_env::distractors::Preset;
use lam_env::TaskId;
use lam_models::config::{PresetSize, RunConfig, PRESETS};
use sha2::{Digest, Sha256};

use super::experiment::{Arm, Experiment, Normalizer};
use super::stage::{Playing, Role, Stage};
use super::{Pipeline, Planned, RESULTS_FORMAT};

/// Lower-case hexadecimal of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache key of `stage`: its kind and a digest of the results format,
/// its canonical serialisation and the contents of the preset it names.
pub(super) fn key_of(stage: &Stage) -> String {
    let mut h = Sha256::new();
    h.update(RESULTS_FORMAT.to_le_bytes());
    h.update(stage.kind());
    // A named run preset stands for its file's contents: editing
    // presets/NAME.toml changes the key of every stage trained with it.
    if let Stage::Train { preset, .. } = stage {
        if let Some(p) = PRESETS.iter().find(|p| p.name == preset) {
            h.update([2]);
            h.update(p.text);
        }
    }
    h.update([0]);
    h.update(serde_json::to_vec(stage).expect("a stage serialises"));
    format!("{}-{}", stage.kind(), hex(&h.finalize()[..8]))
}

/// What a stage stands for in reports: task, preset, method, labels (a
/// budget, `all`, or `-` for a yardstick that uses none) and seed.
fn label(task: TaskId, preset: &str, method: &str, labels: String, seed: u64) -> Labels {
    BTreeMap::from([
        ("task".to_string(), task.name().to_string()),
        ("preset".to_string(), preset.to_string()),
        ("method".to_string(), method.to_string()),
        ("labels".to_string(), labels),
        ("seed".to_string(), seed.to_string()),
    ])
}

type Labels = BTreeMap<String, String>;

/// A label budget as stages are labelled: the number, or `all`.
fn budget_label(budget: Option<usize>) -> String {
    budget.map_or("all".into(), |b| b.to_string())
}

impl Pipeline {
    /// Adds `stage` (once per key) after `deps`; returns its key. A label
    /// given for a stage already planned replaces none it has.
    fn add(&mut self, stage: Stage, deps: &[&str], label: Option<Labels>) -> String {
        let key = key_of(&stage);
        match self.index.get(&key) {
            Some(&i) => {
                if self.stages[i].label.is_none() {
                    self.stages[i].label = label;
                }
            }
            None => {
                self.index.insert(key.clone(), self.stages.len());
                self.stages.push(Planned {
                    key: key.clone(),
                    stage,
                    deps: deps.iter().map(|d| d.to_string()).collect(),
                    label,
                });
            }
        }
        key
    }

    /// The output (file or run folder) of the planned stage `key`.
    fn output_of(&self, key: &str) -> PathBuf {
        self.stages[self.index[key]].stage.output(&self.dir(key))
    }
}

/// The stages of one experiment's arms (all, or those in `only`), checked
/// first; an error names the field.
pub(super) fn plan(p: &mut Pipeline, x: &Experiment, only: &[String]) -> Result<(), String> {
    x.slurm.check()?;
    let suffix = match x.scale.as_str() {
        "mini" => "-mini",
        "paper" => "",
        other => return Err(format!("scale = {other:?}: expected \"mini\" or \"paper\"")),
    };
    let lam_presets: Vec<&str> = PRESETS
        .iter()
        .filter(|p| p.size() == PresetSize::Paper && p.config().method.is_latent())
        .map(|p| p.name)
        .collect();
    let arms = x.arms(only)?;
    if arms.is_empty() {
        return Err(
            "methods: the experiment has no methods (top-level `methods` or `[[arms]]`)".into(),
        );
    }
    for arm in &arms {
        for m in arm.methods {
            if m != "idm" && m != "bc" && !lam_presets.contains(&m.as_str()) {
                return Err(format!(
                    "methods: unknown method {m:?}; choose from idm, bc, {}",
                    lam_presets.join(", ")
                ));
            }
        }
        let needs_labels = arm
            .methods
            .iter()
            .any(|m| matches!(m.as_str(), "laom-labels" | "idm" | "bc"))
            || arm.downstream;
        if needs_labels && arm.budgets.is_empty() {
            return Err(format!(
                "label_budgets must list at least one value (labeled trajectories) for {:?}",
                arm.methods
            ));
        }
        if arm.presets.is_empty() {
            return Err("data.presets must list at least one distraction preset".into());
        }
        for preset in arm.presets {
            preset
                .parse::<Preset>()
                .map_err(|e| format!("data.presets: {e}"))?;
        }
    }
    let tasks: Vec<TaskId> = x
        .tasks
        .iter()
        .map(|t| t.parse().map_err(|e| format!("tasks: {e}")))
        .collect::<Result<_, _>>()?;
    for sets in x.sets.all() {
        let checked: Vec<String> = sets
            .iter()
            .filter(|s| !s.starts_with("method"))
            .cloned()
            .collect();
        RunConfig::preset("laom-mini")
            .expect("a shipped preset")
            .with_overrides(&checked)
            .map_err(|e| format!("sets: {e}"))?;
    }
    if x.seeds.is_empty() || tasks.is_empty() {
        return Err("tasks and seeds must each list at least one value".into());
    }
    // Each task's expert, read once: re-shipped weights under the same path
    // make new data, so its digest is part of the data stages.
    let mut experts = Vec::new();
    for &task in &tasks {
        let expert = lam_experts::expert_checkpoint(&x.data.experts, task);
        let bytes = std::fs::read(&expert).map_err(|e| {
            format!(
                "data.experts: no expert for {task} at {}: {e}",
                expert.display()
            )
        })?;
        experts.push((task, expert, hex(&Sha256::digest(bytes))));
    }
    for arm in &arms {
        for (task, expert, digest) in &experts {
            let mut t = TaskPlan {
                p,
                x,
                task: *task,
                expert,
                expert_sha256: digest,
                suffix,
            };
            t.arm(arm, &lam_presets);
        }
    }
    Ok(())
}

/// Planning one arm on one task.
struct TaskPlan<'a> {
    p: &'a mut Pipeline,
    x: &'a Experiment,
    task: TaskId,
    expert: &'a Path,
    expert_sha256: &'a str,
    suffix: &'a str,
}

/// The files of one task and distraction preset: training and held-out
/// data, with their stage keys.
struct Files {
    data_key: String,
    data: PathBuf,
    val_key: String,
    val: PathBuf,
}

impl TaskPlan<'_> {
    /// A collection on `split` of `n` trajectories seeded from `seed`.
    fn collect(&mut self, preset: &str, split: &str, n: usize, seed: u64) -> (String, PathBuf) {
        let d = &self.x.data;
        let key = self.p.add(
            Stage::Collect {
                task: self.task.name().to_string(),
                preset: preset.to_string(),
                split: split.to_string(),
                expert: self.expert.to_path_buf(),
                expert_sha256: self.expert_sha256.to_string(),
                trajectories: n,
                episode_length: d.episode_length,
                img: d.img,
                seed,
                clip_actions: d.clip_actions,
            },
            &[],
            None,
        );
        let out = self.p.output_of(&key);
        (key, out)
    }

    /// A training stage of `role` from the preset `name` (scaled by the
    /// experiment) with `seed` and the role's overrides.
    #[allow(clippy::too_many_arguments)]
    fn train(
        &mut self,
        role: Role,
        name: &str,
        seed: u64,
        data: &Path,
        labeled: Option<&Path>,
        eval_data: Option<&Path>,
        teacher: Option<&str>,
        deps: &[&str],
    ) -> String {
        let s = &self.x.sets;
        let role_sets = match role {
            Role::Lam => &s.lam,
            Role::LatentBc => &s.latent_bc,
            Role::Decoder => &s.decoder,
            Role::Bc => &s.bc,
            Role::Idm => &s.idm,
        };
        let mut sets = vec![format!("seed={seed}")];
        sets.extend(role_sets.iter().cloned());
        let teacher = teacher.map(|k| self.p.output_of(k));
        self.p.add(
            Stage::Train {
                role,
                preset: format!("{name}{}", self.suffix),
                sets,
                data: data.to_path_buf(),
                labeled: labeled.map(Path::to_path_buf),
                eval_data: eval_data.map(Path::to_path_buf),
                teacher,
            },
            deps,
            None,
        )
    }

    /// An evaluation on the data's distractions of the policy stage
    /// `policy`, or of a yardstick.
    fn eval(
        &mut self,
        f: &Files,
        player: Playing,
        deps: &[&str],
        labels: (&str, &str, String, u64),
    ) -> String {
        let (preset, method, budget, seed) = labels;
        let e = &self.x.eval;
        let mut all: Vec<&str> = deps.to_vec();
        all.push(&f.data_key);
        self.p.add(
            Stage::Eval {
                player,
                like: f.data.clone(),
                episodes: e.episodes,
                episode_length: e.episode_length,
                seed: seed * 1000,
            },
            &all,
            Some(label(self.task, preset, method, budget, seed)),
        )
    }

    /// Closed-form probes of the LAM stage `lam`, fitted on the training
    /// file and scored on the held-out one, labelled as the LAM.
    fn probe(&mut self, f: &Files, lam: &str) {
        let label = self.p.stages[self.p.index[lam]].label.clone();
        let run = self.p.output_of(lam);
        self.p.add(
            Stage::Probe {
                run,
                data: f.data.clone(),
                eval_data: f.val.clone(),
            },
            &[lam, &f.data_key, &f.val_key],
            label,
        );
    }

    /// A LAM of `method` (on a labeled subset for LAOM + supervision),
    /// labelled, with its probe.
    fn lam(
        &mut self,
        f: &Files,
        preset: &str,
        method: &str,
        seed: u64,
        labeled: Option<(&str, &Path, usize)>,
    ) -> String {
        let mut deps = vec![f.data_key.as_str(), f.val_key.as_str()];
        if let Some((k, _, _)) = labeled {
            deps.push(k);
        }
        let key = self.train(
            Role::Lam,
            method,
            seed,
            &f.data,
            labeled.map(|(_, file, _)| file),
            Some(&f.val),
            None,
            &deps,
        );
        let budget = budget_label(labeled.map(|(_, _, b)| b));
        let i = self.p.index[&key];
        self.p.stages[i].label = Some(label(self.task, preset, method, budget, seed));
        self.probe(f, &key);
        key
    }

    /// A latent BC actor on the latent actions of the LAM stage `lam`.
    fn latent_bc(&mut self, f: &Files, seed: u64, lam: &str) -> String {
        let data = f.data.clone();
        self.train(
            Role::LatentBc,
            "latent-bc",
            seed,
            &data,
            None,
            None,
            Some(lam),
            &[lam],
        )
    }

    /// Every stage of `arm` on this task.
    fn arm(&mut self, arm: &Arm, lam_presets: &[&str]) {
        let x = self.x;
        let is_lam = |m: &str| lam_presets.contains(&m);
        for preset in arm.presets {
            let (data_key, data) = self.collect(preset, "train", x.data.trajectories, 0);
            let (val_key, val) = self.collect(preset, "val", x.data.eval_trajectories, 1_000_000);
            let f = Files {
                data_key,
                data,
                val_key,
                val,
            };
            for &seed in &x.seeds {
                if arm.downstream {
                    // The normaliser: BC on all labels.
                    if x.eval.normalizer == Normalizer::BcAllLabels {
                        let bc = self.train(
                            Role::Bc,
                            "bc",
                            seed,
                            &f.data,
                            None,
                            None,
                            None,
                            &[&f.data_key],
                        );
                        let run = self.p.output_of(&bc);
                        let l = (preset.as_str(), "bc-all-labels", budget_label(None), seed);
                        self.eval(&f, Playing::Policy(run), &[&bc], l);
                    }
                    if x.eval.yardsticks {
                        let img = x.data.img;
                        let l = (preset.as_str(), "random", "-".to_string(), seed);
                        self.eval(&f, Playing::Random { img }, &[], l);
                        let path = self.expert.to_path_buf();
                        let l = (preset.as_str(), "expert", "-".to_string(), seed);
                        self.eval(&f, Playing::Expert { path, img }, &[], l);
                    }
                }
                // One LAM and one latent BC actor per method and seed,
                // shared by the budgets.
                let mut actors = BTreeMap::new();
                for m in arm
                    .methods
                    .iter()
                    .filter(|m| is_lam(m) && *m != "laom-labels")
                {
                    let lam = self.lam(&f, preset, m, seed, None);
                    if arm.downstream {
                        let actor = self.latent_bc(&f, seed, &lam);
                        actors.insert(m.clone(), actor);
                    }
                }
                // A probe-only arm needs labeled subsets only for LAOM +
                // supervision.
                let budgets = if arm.downstream || arm.methods.iter().any(|m| m == "laom-labels") {
                    arm.budgets
                } else {
                    &[]
                };
                for &budget in budgets {
                    let labeled_key = self.p.add(
                        Stage::SampleLabeled {
                            data: f.data.clone(),
                            trajectories: budget,
                            seed,
                        },
                        &[&f.data_key],
                        None,
                    );
                    let labeled = self.p.output_of(&labeled_key);
                    for m in arm.methods {
                        if !arm.downstream && m != "laom-labels" {
                            continue;
                        }
                        let policy = match m.as_str() {
                            "bc" => self.train(
                                Role::Bc,
                                "bc",
                                seed,
                                &labeled,
                                None,
                                None,
                                None,
                                &[&labeled_key],
                            ),
                            "idm" => {
                                let idm = self.train(
                                    Role::Idm,
                                    "idm",
                                    seed,
                                    &labeled,
                                    None,
                                    None,
                                    None,
                                    &[&labeled_key],
                                );
                                let relabeled = self.p.add(
                                    Stage::Relabel {
                                        data: f.data.clone(),
                                        idm: self.p.output_of(&idm),
                                    },
                                    &[&idm, &f.data_key],
                                    None,
                                );
                                let file = self.p.output_of(&relabeled);
                                self.train(
                                    Role::Bc,
                                    "bc",
                                    seed,
                                    &file,
                                    None,
                                    None,
                                    None,
                                    &[&relabeled],
                                )
                            }
                            _ => {
                                let actor = match actors.get(m) {
                                    Some(a) => a.clone(),
                                    None => {
                                        // LAOM + supervision: its LAM depends
                                        // on the budget.
                                        let l =
                                            Some((labeled_key.as_str(), labeled.as_path(), budget));
                                        let lam = self.lam(&f, preset, m, seed, l);
                                        if !arm.downstream {
                                            continue;
                                        }
                                        self.latent_bc(&f, seed, &lam)
                                    }
                                };
                                self.train(
                                    Role::Decoder,
                                    "decoder",
                                    seed,
                                    &labeled,
                                    None,
                                    None,
                                    Some(&actor),
                                    &[&actor, &labeled_key],
                                )
                            }
                        };
                        let run = self.p.output_of(&policy);
                        let l = (
                            preset.as_str(),
                            m.as_str(),
                            budget_label(Some(budget)),
                            seed,
                        );
                        self.eval(&f, Playing::Policy(run), &[&policy], l);
                    }
                }
            }
        }
    }
}

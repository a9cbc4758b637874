//! Planning: an experiment's arms × tasks × distraction presets × seeds
//! into typed stages, each added once (stages shared by arms have one key).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lam_env::distractors::Preset;
use lam_env::TaskId;
use lam_models::config::{PresetSize, RunConfig, PRESETS};
use sha2::{Digest, Sha256};

use super::experiment::{Arm, Experiment, Normalizer, Pretrain};
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
    fn add(&mut self, stage: Stage, deps: &[&str], label: Option<Labels>, title: String) -> String {
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
                    title,
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
        if let Some(&b) = arm
            .budgets
            .iter()
            .find(|&&b| b == 0 || b > x.data.trajectories)
        {
            return Err(format!(
                "label_budgets: {b} labeled trajectories of {:?}, but data.trajectories is {}: \
                 a budget must be between 1 and the trajectories collected",
                arm.methods, x.data.trajectories
            ));
        }
        if arm.pretrain != Pretrain::InTask {
            if x.tasks.len() < 2 {
                return Err(format!(
                    "pretrain = {:?} needs two tasks or more in `tasks`",
                    arm.pretrain.name()
                ));
            }
            if let Some(m) = arm
                .methods
                .iter()
                .find(|m| !lam_presets.contains(&m.as_str()))
            {
                return Err(format!(
                    "methods: {m:?} in an arm with pretrain = {:?}: cross-task pre-training is for latent action models (LAPO, LAOM, LAOM + supervision and the ladder)",
                    arm.pretrain.name()
                ));
            }
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
    for (field, splits) in [
        ("data.probe_splits", &x.data.probe_splits),
        ("eval.splits", &x.eval.splits),
    ] {
        if splits.is_empty() {
            return Err(format!(
                "{field} must list at least one of \"train\", \"val\""
            ));
        }
        for (i, s) in splits.iter().enumerate() {
            if s != "train" && s != "val" {
                return Err(format!(
                    "{field}: unknown split {s:?}; expected \"train\" or \"val\""
                ));
            }
            if splits[..i].contains(s) {
                return Err(format!("{field}: {s:?} is listed twice"));
            }
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
                experts: &experts,
                pretrain: arm.pretrain,
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
    /// Every task's expert and its digest.
    experts: &'a [(TaskId, PathBuf, String)],
    /// What this arm's LAMs are trained on.
    pretrain: Pretrain,
}

/// A held-out file: its background split, stage key and path.
struct HeldOut {
    split: String,
    key: String,
    file: PathBuf,
}

/// The files of one task and distraction preset: training data, the
/// held-out file on the val split (evaluations during training) and the
/// held-out files probes are scored on, with their stage keys.
struct Files {
    preset: String,
    data_key: String,
    data: PathBuf,
    val_key: String,
    val: PathBuf,
    probe_files: Vec<HeldOut>,
}

/// Seeds of the collections: trajectory k of a file seeded s uses s + k.
const TRAIN_SEED: u64 = 0;
const VAL_SEED: u64 = 1_000_000;
const HELD_OUT_TRAIN_SEED: u64 = 2_000_000;

/// `N labels` for a budget, `all labels` without one.
fn labels_words(budget: Option<usize>) -> String {
    match budget {
        Some(b) => format!("{b} labels"),
        None => "all labels".into(),
    }
}

impl TaskPlan<'_> {
    /// `task/preset`, as titles name a setting.
    fn setting(&self, preset: &str) -> String {
        format!("{}/{preset}", self.task.name())
    }

    /// A collection on `split` of `n` trajectories seeded from `seed`.
    fn collect(&mut self, preset: &str, split: &str, n: usize, seed: u64) -> (String, PathBuf) {
        let d = &self.x.data;
        let title = format!(
            "collect {} · {split} backgrounds · {n} trajectories",
            self.setting(preset)
        );
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
                ground_truth: d.ground_truth,
            },
            &[],
            None,
            title,
        );
        let out = self.p.output_of(&key);
        (key, out)
    }

    /// The files of `preset`: training data and held-out files.
    fn files(&mut self, preset: &str) -> Files {
        let d = &self.x.data;
        let (trajectories, held_out) = (d.trajectories, d.eval_trajectories);
        let (data_key, data) = self.collect(preset, "train", trajectories, TRAIN_SEED);
        let (val_key, val) = self.collect(preset, "val", held_out, VAL_SEED);
        let mut probe_files = Vec::new();
        for split in &self.x.data.probe_splits {
            let (key, file) = match split.as_str() {
                "val" => (val_key.clone(), val.clone()),
                _ => self.collect(preset, "train", held_out, HELD_OUT_TRAIN_SEED),
            };
            probe_files.push(HeldOut {
                split: split.clone(),
                key,
                file,
            });
        }
        Files {
            preset: preset.to_string(),
            data_key,
            data,
            val_key,
            val,
            probe_files,
        }
    }

    /// The overrides of a training stage of `role`: `seed=N`, then the
    /// experiment's for the role.
    fn sets(&self, role: Role, seed: u64) -> Vec<String> {
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
        sets
    }

    /// A seeded labeled subset of `budget` trajectories of `task`'s
    /// training file in `files`: its stage key and file.
    fn sample_labeled(
        &mut self,
        task: TaskId,
        files: &Files,
        budget: usize,
        seed: u64,
    ) -> (String, PathBuf) {
        let title = format!(
            "sample {budget} labeled trajectories · {}/{} · seed {seed}",
            task.name(),
            files.preset
        );
        let key = self.p.add(
            Stage::SampleLabeled {
                data: files.data.clone(),
                trajectories: budget,
                seed,
            },
            &[&files.data_key],
            None,
            title,
        );
        let file = self.p.output_of(&key);
        (key, file)
    }

    /// A training stage of `role` from the preset `name` (scaled by the
    /// experiment) with `seed` and the role's overrides; `labels` says in
    /// its title what labels it learns from.
    #[allow(clippy::too_many_arguments)]
    fn train(
        &mut self,
        f: &Files,
        role: Role,
        name: &str,
        seed: u64,
        data: &Path,
        labeled: Option<&Path>,
        teacher: Option<&str>,
        deps: &[&str],
        labels: &str,
    ) -> String {
        let sets = self.sets(role, seed);
        let teacher = teacher.map(|k| self.p.output_of(k));
        let preset = format!("{name}{}", self.suffix);
        let mut title = format!("train {preset} · {}", self.setting(&f.preset));
        if !labels.is_empty() {
            title.push_str(&format!(" · {labels}"));
        }
        title.push_str(&format!(" · seed {seed}"));
        // LAMs are evaluated on the held-out file during training.
        let eval_data = (role == Role::Lam).then(|| f.val.clone());
        self.p.add(
            Stage::Train {
                role,
                preset,
                sets,
                data: data.to_path_buf(),
                also: Vec::new(),
                labeled: labeled.map(Path::to_path_buf),
                also_labeled: Vec::new(),
                eval_data,
                teacher,
            },
            deps,
            None,
            title,
        )
    }

    /// Evaluations on the data's distractions, on each of the
    /// experiment's background splits, of the policy stage `policy` or of
    /// a yardstick.
    fn eval(&mut self, f: &Files, player: Playing, deps: &[&str], labels: (&str, String, u64)) {
        let (method, budget, seed) = labels;
        let e = &self.x.eval;
        for split in &e.splits {
            let (like, like_key) = match split.as_str() {
                "val" => (f.val.clone(), f.val_key.as_str()),
                _ => (f.data.clone(), f.data_key.as_str()),
            };
            let mut all: Vec<&str> = deps.to_vec();
            all.push(like_key);
            let mut l = label(self.task, &f.preset, method, budget.clone(), seed);
            l.insert("split".into(), split.clone());
            let lam_policy = matches!(player, Playing::Policy(_))
                && !matches!(method, "bc" | "bc-all-labels" | "idm");
            if lam_policy && self.pretrain != Pretrain::InTask {
                l.insert("pretrain".into(), self.pretrain.name().into());
            }
            let budget_words = match budget.as_str() {
                "-" => String::new(),
                "all" => " · all labels".into(),
                b => format!(" · {b} labels"),
            };
            let pretrained = match l.get("pretrain") {
                Some(p) => format!(" ({p})"),
                None => String::new(),
            };
            let title = format!(
                "eval {method}{pretrained} · {}{budget_words} · {split} backgrounds · seed {seed}",
                self.setting(&f.preset)
            );
            self.p.add(
                Stage::Eval {
                    player: player.clone(),
                    like,
                    episodes: e.episodes,
                    episode_length: e.episode_length,
                    seed: seed * 1000,
                },
                &all,
                Some(l),
                title,
            );
        }
    }

    /// Closed-form probes of the LAM stage `lam`, fitted on the training
    /// file and scored on each held-out file, labelled as the LAM with the
    /// held-out file's background split.
    fn probe(&mut self, f: &Files, lam: &str) {
        let planned = &self.p.stages[self.p.index[lam]];
        let lam_label = planned.label.clone();
        let lam_title = planned.title.trim_start_matches("train ").to_string();
        let run = self.p.output_of(lam);
        for h in &f.probe_files {
            let label = lam_label.clone().map(|mut l| {
                l.insert("split".into(), h.split.clone());
                // A cross-task LAM is probed on this task's files.
                l.insert("task".into(), self.task.name().into());
                match self.pretrain {
                    Pretrain::InTask => l.remove("pretrain"),
                    p => l.insert("pretrain".into(), p.name().into()),
                };
                l
            });
            let on = match self.pretrain {
                Pretrain::InTask => String::new(),
                _ => format!(" · on {}", self.task.name()),
            };
            let title = format!("probe {lam_title}{on} · {} backgrounds", h.split);
            self.p.add(
                Stage::Probe {
                    run: run.clone(),
                    data: f.data.clone(),
                    eval_data: h.file.clone(),
                    leakage: self.x.data.ground_truth,
                },
                &[lam, &f.data_key, &h.key],
                label,
                title,
            );
        }
    }

    /// A LAM of `method` (on a labeled subset for LAOM + supervision),
    /// labelled, with its probes.
    fn lam(
        &mut self,
        f: &Files,
        method: &str,
        seed: u64,
        labeled: Option<(&str, &Path, usize)>,
    ) -> String {
        let budget = labeled.map(|(_, _, b)| b);
        let key = match self.pretrain {
            Pretrain::InTask => {
                let mut deps = vec![f.data_key.as_str(), f.val_key.as_str()];
                if let Some((k, _, _)) = labeled {
                    deps.push(k);
                }
                let words = budget.map(|b| labels_words(Some(b))).unwrap_or_default();
                let key = self.train(
                    f,
                    Role::Lam,
                    method,
                    seed,
                    &f.data,
                    labeled.map(|(_, file, _)| file),
                    None,
                    &deps,
                    &words,
                );
                let i = self.p.index[&key];
                let l = label(self.task, &f.preset, method, budget_label(budget), seed);
                self.p.stages[i].label = Some(l);
                key
            }
            pretrain => self.cross_task_lam(f, method, seed, pretrain, budget),
        };
        self.probe(f, &key);
        key
    }

    /// A LAM of `method` on several tasks' data at once: all the
    /// experiment's tasks, or all but this one (LAOM + supervision: on
    /// `budget` labeled trajectories of each); labelled with the tasks it
    /// trained on and how they were chosen.
    fn cross_task_lam(
        &mut self,
        f: &Files,
        method: &str,
        seed: u64,
        pretrain: Pretrain,
        budget: Option<usize>,
    ) -> String {
        let mut trained: Vec<(TaskId, Files)> = Vec::new();
        for (task, expert, digest) in self.experts {
            if pretrain == Pretrain::LeaveOneOut && *task == self.task {
                continue;
            }
            let mut other = TaskPlan {
                p: &mut *self.p,
                x: self.x,
                task: *task,
                expert,
                expert_sha256: digest,
                suffix: self.suffix,
                experts: self.experts,
                pretrain,
            };
            let files = other.files(&f.preset);
            trained.push((*task, files));
        }
        // Each task's labeled subset, drawn as for the task alone.
        let mut labeled: Vec<(String, PathBuf)> = Vec::new();
        if let Some(b) = budget {
            for (task, files) in &trained {
                labeled.push(self.sample_labeled(*task, files, b, seed));
            }
        }
        let (first, rest) = trained.split_first().expect("two tasks or more");
        let names: Vec<&str> = trained.iter().map(|(t, _)| t.name()).collect();
        let tasks = names.join("+");
        let sets = self.sets(Role::Lam, seed);
        let preset = format!("{method}{}", self.suffix);
        let mut deps: Vec<&str> = vec![&first.1.val_key];
        deps.extend(trained.iter().map(|(_, f)| f.data_key.as_str()));
        deps.extend(labeled.iter().map(|(k, _)| k.as_str()));
        let words = budget.map_or(String::new(), |b| format!(" · {b} labels each"));
        let title = format!(
            "train {preset} · {tasks}/{} ({}){words} · seed {seed}",
            f.preset,
            pretrain.name()
        );
        let key = self.p.add(
            Stage::Train {
                role: Role::Lam,
                preset,
                sets,
                data: first.1.data.clone(),
                also: rest.iter().map(|(_, f)| f.data.clone()).collect(),
                labeled: labeled.first().map(|(_, file)| file.clone()),
                also_labeled: labeled
                    .iter()
                    .skip(1)
                    .map(|(_, file)| file.clone())
                    .collect(),
                eval_data: Some(first.1.val.clone()),
                teacher: None,
            },
            &deps,
            None,
            title,
        );
        // Leave-one-out over two tasks trains on one: the same stage as
        // that task's in-task LAM, which keeps its own label (the probes
        // and evaluations say how it is used).
        let i = self.p.index[&key];
        if self.p.stages[i].label.is_none() {
            let mut l = label(self.task, &f.preset, method, budget_label(budget), seed);
            l.insert("task".into(), tasks);
            l.insert("pretrain".into(), pretrain.name().into());
            self.p.stages[i].label = Some(l);
        }
        key
    }

    /// A latent BC actor on the latent actions of the LAM stage `lam`.
    fn latent_bc(&mut self, f: &Files, seed: u64, lam: &str, method: &str) -> String {
        let data = f.data.clone();
        let of = match self.pretrain {
            Pretrain::InTask => format!("on {method}'s latents"),
            p => format!("on {method}'s latents ({})", p.name()),
        };
        self.train(
            f,
            Role::LatentBc,
            "latent-bc",
            seed,
            &data,
            None,
            Some(lam),
            &[lam],
            &of,
        )
    }

    /// Every stage of `arm` on this task.
    fn arm(&mut self, arm: &Arm, lam_presets: &[&str]) {
        let x = self.x;
        let is_lam = |m: &str| lam_presets.contains(&m);
        for preset in arm.presets {
            let f = self.files(preset);
            for &seed in &x.seeds {
                if arm.downstream {
                    // The normaliser: BC on all labels.
                    if x.eval.normalizer == Normalizer::BcAllLabels {
                        let all = labels_words(None);
                        let bc = self.train(
                            &f,
                            Role::Bc,
                            "bc",
                            seed,
                            &f.data,
                            None,
                            None,
                            &[&f.data_key],
                            &all,
                        );
                        let run = self.p.output_of(&bc);
                        let l = ("bc-all-labels", budget_label(None), seed);
                        self.eval(&f, Playing::Policy(run), &[&bc], l);
                    }
                    if x.eval.yardsticks {
                        let img = x.data.img;
                        let l = ("random", "-".to_string(), seed);
                        self.eval(&f, Playing::Random { img }, &[], l);
                        let path = self.expert.to_path_buf();
                        let l = ("expert", "-".to_string(), seed);
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
                    let lam = self.lam(&f, m, seed, None);
                    if arm.downstream {
                        let actor = self.latent_bc(&f, seed, &lam, m);
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
                    let words = labels_words(Some(budget));
                    let (labeled_key, labeled) = self.sample_labeled(self.task, &f, budget, seed);
                    for m in arm.methods {
                        if !arm.downstream && m != "laom-labels" {
                            continue;
                        }
                        let policy = match m.as_str() {
                            "bc" => self.train(
                                &f,
                                Role::Bc,
                                "bc",
                                seed,
                                &labeled,
                                None,
                                None,
                                &[&labeled_key],
                                &words,
                            ),
                            "idm" => {
                                let idm = self.train(
                                    &f,
                                    Role::Idm,
                                    "idm",
                                    seed,
                                    &labeled,
                                    None,
                                    None,
                                    &[&labeled_key],
                                    &words,
                                );
                                let title = format!(
                                    "relabel {} with the IDM of {words} · seed {seed}",
                                    self.setting(preset)
                                );
                                let relabeled = self.p.add(
                                    Stage::Relabel {
                                        data: f.data.clone(),
                                        idm: self.p.output_of(&idm),
                                    },
                                    &[&idm, &f.data_key],
                                    None,
                                    title,
                                );
                                let file = self.p.output_of(&relabeled);
                                let on = format!("on IDM labels of {words}");
                                self.train(
                                    &f,
                                    Role::Bc,
                                    "bc",
                                    seed,
                                    &file,
                                    None,
                                    None,
                                    &[&relabeled],
                                    &on,
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
                                        let lam = self.lam(&f, m, seed, l);
                                        if !arm.downstream {
                                            continue;
                                        }
                                        self.latent_bc(&f, seed, &lam, m)
                                    }
                                };
                                let of = match self.pretrain {
                                    Pretrain::InTask => format!("{m} · {words}"),
                                    p => format!("{m} ({}) · {words}", p.name()),
                                };
                                self.train(
                                    &f,
                                    Role::Decoder,
                                    "decoder",
                                    seed,
                                    &labeled,
                                    None,
                                    Some(&actor),
                                    &[&actor, &labeled_key],
                                    &of,
                                )
                            }
                        };
                        let run = self.p.output_of(&policy);
                        let l = (m.as_str(), budget_label(Some(budget)), seed);
                        self.eval(&f, Playing::Policy(run), &[&policy], l);
                    }
                }
            }
        }
    }
}

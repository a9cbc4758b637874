//! The sections of a report: normalized scores with their normalisers and
//! yardsticks, score against label budget, the summary chart, the probes
//! of the LAMs and their training curves.

use std::collections::BTreeMap;

use super::{plots, Cache, Doc, ReportError, Stat};

/// Whether a stage's labels field is a label budget (not `all` or `-`).
fn is_budget(l: &str) -> bool {
    l.parse::<usize>().is_ok()
}

/// Sort key for label budgets: numbers ascending, "all" last.
fn budget_order(l: &str) -> (u8, usize) {
    l.parse().map_or((1, 0), |n| (0, n))
}

/// `name` with characters a file name should not hold replaced.
fn file_safe(name: &str) -> String {
    name.replace('/', "-")
}

impl Cache {
    /// The settings evaluated, sorted.
    fn settings(&self) -> Vec<String> {
        let mut t: Vec<String> = self.evals.iter().map(|e| e.setting.clone()).collect();
        t.sort();
        t.dedup();
        t
    }

    /// Mean return over seeds of one method in one setting.
    fn mean_of(&self, setting: &str, method: &str) -> Option<Stat> {
        let v: Vec<f64> = self
            .evals
            .iter()
            .filter(|e| e.setting == setting && e.method == method)
            .map(|e| e.result.mean_return)
            .collect();
        (!v.is_empty()).then(|| Stat::of(&v))
    }

    /// Each setting's normaliser and where it comes from: our BC on all
    /// labels, else the published figure `lam eval` used (scaled to the
    /// episode length).
    fn normalizers(&self) -> BTreeMap<String, (f64, String)> {
        let mut out = BTreeMap::new();
        for setting in self.settings() {
            let ours = self
                .mean_of(&setting, "bc-all-labels")
                .filter(|s| s.mean > 0.0);
            let entry = match ours {
                Some(s) => (s.mean, format!("measured: BC on all labels, {}", s.show(1))),
                None => {
                    let r = &self
                        .evals
                        .iter()
                        .find(|e| e.setting == setting)
                        .expect("every setting has an evaluation")
                        .result;
                    (
                        r.normalizer,
                        format!("{:.1}: {}", r.normalizer, r.normalizer_source),
                    )
                }
            };
            out.insert(setting, entry);
        }
        out
    }
}

/// What one row of scores groups over seeds: a method at a label budget
/// in one setting. (A further grouping, such as the backgrounds' split,
/// is one more field here.)
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ScoreKey {
    /// Task and distraction preset.
    setting: String,
    method: String,
    /// A budget, `all` or `-`.
    labels: String,
}

/// Normalized scores per group, one per seed.
type Scores = BTreeMap<ScoreKey, Vec<f64>>;

/// The score tables, the yardsticks, score against label budget per
/// setting and the summary chart.
pub(super) fn scores(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let normalizers = cache.normalizers();
    let settings = cache.settings();
    doc.section("Normalized score");
    doc.text(
        "Normalized score: a policy's mean return ÷ the return of BC trained on every labeled \
         trajectory, on the same task and distractors (the paper's normaliser; the second table \
         says which return each setting used). Labeled trajectories: the label budget the policy \
         learned actions from.",
    );
    let mut by_key: Scores = BTreeMap::new();
    for e in &cache.evals {
        let norm = normalizers[&e.setting].0;
        by_key
            .entry(ScoreKey {
                setting: e.setting.clone(),
                method: e.method.clone(),
                labels: e.labels.clone(),
            })
            .or_default()
            .push(e.result.mean_return / norm);
    }
    let rows: Vec<Vec<String>> = by_key
        .iter()
        .map(
            |(
                ScoreKey {
                    setting,
                    method,
                    labels,
                },
                v,
            )| {
                let s = Stat::of(v);
                let ret = s.mean * normalizers[setting].0;
                // The floor on the same episodes: how far above random play.
                let over_random = cache
                    .mean_of(setting, "random")
                    .filter(|r| r.mean > 0.0)
                    .map_or("-".into(), |r| format!("{:.1}x", ret / r.mean));
                vec![
                    setting.clone(),
                    method.clone(),
                    labels.clone(),
                    s.show(3),
                    format!("{ret:.1}"),
                    over_random,
                ]
            },
        )
        .collect();
    doc.table(
        &[
            "task/distractors",
            "method",
            "labeled trajectories",
            "normalized score",
            "return",
            "÷ random",
        ],
        &rows,
    );
    let notes: Vec<Vec<String>> = normalizers
        .iter()
        .map(|(t, (_, src))| vec![t.clone(), src.clone()])
        .collect();
    doc.table(&["task/distractors", "normaliser"], &notes);
    yardsticks(cache, &settings, doc);
    for setting in &settings {
        score_vs_labels(setting, &by_key, doc)?;
    }
    summary(&settings, &by_key, doc)
}

/// The same episodes played by the expert and at random, beside BC on all
/// labels.
fn yardsticks(cache: &Cache, settings: &[String], doc: &mut Doc) {
    let rows: Vec<Vec<String>> = settings
        .iter()
        .filter_map(|t| {
            let expert = cache.mean_of(t, "expert")?;
            let random = cache.mean_of(t, "random");
            let bc = cache.mean_of(t, "bc-all-labels");
            Some(vec![
                t.clone(),
                expert.show(1),
                random.map_or("-".into(), |r| r.show(1)),
                bc.map_or("-".into(), |b| b.show(1)),
                bc.map_or("-".into(), |b| format!("{:.2}", b.mean / expert.mean)),
            ])
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    doc.text("Returns on the same evaluation episodes (mean over seeds of each seed's mean):");
    doc.table(
        &[
            "task/distractors",
            "expert (state-based)",
            "uniformly random actions",
            "BC on all labels",
            "BC ÷ expert",
        ],
        &rows,
    );
}

/// One line per method over the label budgets of `setting` (mean and
/// spread over seeds), the methods without a budget (BC on all labels and
/// the yardsticks) as levels across.
fn score_vs_labels(setting: &str, by_key: &Scores, doc: &mut Doc) -> Result<(), ReportError> {
    let mut series: Vec<plots::BudgetSeries> = Vec::new();
    let mut levels: Vec<plots::Level> = Vec::new();
    for (key, v) in by_key.iter().filter(|(k, _)| k.setting == setting) {
        match key.labels.parse::<usize>() {
            Ok(budget) => match series.iter_mut().find(|s| s.method == key.method) {
                Some(s) => s.points.push((budget, v.clone())),
                None => series.push(plots::BudgetSeries {
                    method: key.method.clone(),
                    name: key.method.clone(),
                    points: vec![(budget, v.clone())],
                }),
            },
            Err(_) => levels.push(plots::Level {
                method: key.method.clone(),
                name: key.method.clone(),
                value: Stat::of(v).mean,
            }),
        }
    }
    if series.is_empty() {
        return Ok(());
    }
    for s in &mut series {
        s.points.sort_by_key(|p| p.0);
    }
    series.sort_by_key(|s| (plots::method_rank(&s.method), s.method.clone()));
    levels.sort_by_key(|l| (plots::method_rank(&l.method), l.method.clone()));
    let file = format!("score_vs_labels_{}.png", file_safe(setting));
    plots::score_vs_labels(
        &doc.chart(&file),
        &format!("{setting}: normalized score (mean ± std over seeds)"),
        "normalized score",
        &series,
        &levels,
    )?;
    doc.image(&file);
    Ok(())
}

/// Summary bars: each method at its largest budget, averaged over tasks
/// (per distraction preset).
fn summary(settings: &[String], by_key: &Scores, doc: &mut Doc) -> Result<(), ReportError> {
    // (method, preset) -> the scores of every task's seeds.
    let mut summary: BTreeMap<(String, Option<&str>), Vec<f64>> = BTreeMap::new();
    for setting in settings {
        let mut best: BTreeMap<&str, (&str, &Vec<f64>)> = BTreeMap::new();
        for (k, v) in by_key {
            if k.setting == *setting && is_budget(&k.labels) {
                let e = best.entry(&k.method).or_insert((&k.labels, v));
                if budget_order(&k.labels) > budget_order(e.0) {
                    *e = (&k.labels, v);
                }
            }
        }
        let preset = setting.split('/').nth(1);
        for (m, (_, v)) in best {
            summary
                .entry((m.to_string(), preset))
                .or_default()
                .extend(v);
        }
    }
    if summary.is_empty() {
        return Ok(());
    }
    let mut bars: Vec<plots::Bar> = summary
        .into_iter()
        .map(|((method, preset), values)| plots::Bar {
            name: preset.map_or(method.clone(), |p| format!("{method} ({p})")),
            method,
            values,
        })
        .collect();
    bars.sort_by_key(|b| (plots::method_rank(&b.method), b.name.clone()));
    plots::bars(
        &doc.chart("summary.png"),
        "normalized score at the largest label budget",
        "normalized score",
        &bars,
    )?;
    doc.section("Summary");
    doc.image("summary.png");
    Ok(())
}

/// What one row of probes groups over seeds: a LAM in one setting. (A
/// further grouping, such as the backgrounds' split, is one more field
/// here.)
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ProbeKey {
    /// Task and distraction preset.
    setting: String,
    /// The LAM's name: its method, with the label budget of LAOM +
    /// supervision.
    name: String,
}

/// One group's probes over seeds.
#[derive(Default)]
struct ProbeRow {
    method: String,
    /// The closed-form probe's held-out MSE.
    fitted: Vec<f64>,
    /// The online probe's held-out MSE.
    held: Vec<f64>,
    /// The online probe's training MSE.
    train: Vec<f64>,
}

type Probes = BTreeMap<ProbeKey, ProbeRow>;

/// The probe table (each LAM beside LAPO) and chart.
pub(super) fn probes(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let mut probes: Probes = BTreeMap::new();
    for lam in &cache.lams {
        let e = probes
            .entry(ProbeKey {
                setting: lam.setting.clone(),
                name: lam.name.clone(),
            })
            .or_default();
        e.method.clone_from(&lam.method);
        e.fitted.extend(lam.probe);
        if let Some(s) = &lam.summary {
            e.held.extend(s.eval.as_ref().map(|m| m.action_mse));
            e.train.extend(s.final_action_probe);
        }
    }
    probes.retain(|_, r| !(r.fitted.is_empty() && r.held.is_empty() && r.train.is_empty()));
    if probes.is_empty() {
        return Ok(());
    }
    doc.section("Latent action quality (linear probe MSE, raw actions)");
    doc.text(
        "Probe MSE: a linear map from each LAM's latent action to the true action, fitted in \
         closed form and scored on held-out trajectories (lower is better; the paper's measure \
         of latent action quality). ÷ LAPO's: each LAM's MSE beside LAPO's in the same setting, \
         the comparison the paper's ablation ladder makes.",
    );
    let show = |v: &[f64]| {
        if v.is_empty() {
            "-".into()
        } else {
            Stat::of(v).show(3)
        }
    };
    let rows: Vec<Vec<String>> = probes
        .iter()
        .map(|(k, r)| {
            // The paper's yardstick: each LAM's closed-form MSE ÷ LAPO's.
            let lapo = probes
                .get(&ProbeKey {
                    setting: k.setting.clone(),
                    name: "lapo".to_string(),
                })
                .filter(|p| !p.fitted.is_empty() && !r.fitted.is_empty());
            let ratio = lapo.map_or("-".into(), |p| {
                format!("{:.2}", Stat::of(&r.fitted).mean / Stat::of(&p.fitted).mean)
            });
            vec![
                k.setting.clone(),
                k.name.clone(),
                show(&r.fitted),
                ratio,
                show(&r.held),
                show(&r.train),
            ]
        })
        .collect();
    doc.table(
        &[
            "task/distractors",
            "LAM",
            "held-out probe MSE (closed-form fit)",
            "÷ LAPO's",
            "held-out MSE of the online probe",
            "training MSE of the online probe (last 100 steps)",
        ],
        &rows,
    );
    probe_chart(&probes, doc)
}

/// Bars of each LAM's held-out probe MSE (the closed-form fit where the
/// pipeline ran it), named by setting when the probes span several.
fn probe_chart(probes: &Probes, doc: &mut Doc) -> Result<(), ReportError> {
    let mut settings: Vec<&String> = probes.keys().map(|k| &k.setting).collect();
    settings.dedup();
    let mut tasks: Vec<&str> = probes
        .keys()
        .map(|k| k.setting.split('/').next().unwrap_or(""))
        .collect();
    tasks.dedup();
    let mut bars: Vec<(&String, plots::Bar)> = probes
        .iter()
        .filter_map(|(k, r)| {
            let v = if r.fitted.is_empty() {
                &r.held
            } else {
                &r.fitted
            };
            (!v.is_empty()).then_some((k, r, v))
        })
        .map(|(k, r, v)| {
            // With and without distractors: the preset, or task/preset.
            let short = match k.setting.split_once('/') {
                Some((_, preset)) if tasks.len() == 1 => preset.to_string(),
                _ => k.setting.clone(),
            };
            let name = if settings.len() > 1 {
                format!("{} ({short})", k.name)
            } else {
                k.name.clone()
            };
            let bar = plots::Bar {
                method: r.method.clone(),
                name,
                values: v.clone(),
            };
            (&k.setting, bar)
        })
        .collect();
    if bars.is_empty() {
        return Ok(());
    }
    bars.sort_by_key(|(setting, b)| {
        (
            *setting,
            plots::method_rank(&b.method),
            budget_of(&b.name),
            b.name.clone(),
        )
    });
    let bars: Vec<plots::Bar> = bars.into_iter().map(|(_, b)| b).collect();
    plots::bars(
        &doc.chart("probe.png"),
        "held-out latent → action probe MSE (closed-form; lower is better)",
        "MSE (mean ± std over seeds)",
        &bars,
    )?;
    doc.image("probe.png");
    Ok(())
}

/// The label budget in a LAM's name (`laom-labels (8 labels)`), for
/// ordering budgets by number; 0 without one.
pub(super) fn budget_of(name: &str) -> usize {
    name.split_once(" (")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The LAMs' training losses, one chart per setting: every seed's curve,
/// coloured by method.
pub(super) fn curves(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let mut curves: BTreeMap<&str, Vec<(&str, plots::Curve)>> = BTreeMap::new();
    for lam in cache.lams.iter().filter(|l| l.summary.is_some()) {
        curves.entry(&lam.setting).or_default().push((
            &lam.seed,
            plots::Curve {
                method: lam.method.clone(),
                name: lam.name.clone(),
                points: lam.curve.clone(),
            },
        ));
    }
    if curves.is_empty() {
        return Ok(());
    }
    doc.section("Training curves");
    let seeds = |series: &[(&str, plots::Curve)]| {
        let mut s: Vec<&str> = series.iter().map(|(seed, _)| *seed).collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    for (setting, mut series) in curves {
        // By method, name and seed, not by stage key (a digest): the same
        // order every time.
        series.sort_by(|(sa, a), (sb, b)| {
            (
                plots::method_rank(&a.method),
                budget_of(&a.name),
                &a.name,
                *sa,
            )
                .cmp(&(
                    plots::method_rank(&b.method),
                    budget_of(&b.name),
                    &b.name,
                    *sb,
                ))
        });
        let n = seeds(&series);
        let file = format!("curves_{}.png", file_safe(setting));
        let curves: Vec<plots::Curve> = series.into_iter().map(|(_, c)| c).collect();
        plots::curves(
            &doc.chart(&file),
            &format!(
                "{setting}: LAM training loss ({n} seed{}; faint: as logged)",
                if n == 1 { "" } else { "s" }
            ),
            "step",
            "loss (smoothed)",
            &curves,
        )?;
        doc.image(&file);
    }
    Ok(())
}

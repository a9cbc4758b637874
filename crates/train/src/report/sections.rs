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

/// Normalized scores per (setting, method, labels) over seeds.
type Scores = BTreeMap<(String, String, String), Vec<f64>>;

/// The score tables, the yardsticks, score against label budget per
/// setting and the summary chart.
pub(super) fn scores(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let normalizers = cache.normalizers();
    let settings = cache.settings();
    doc.section("Normalized score");
    let mut by_key: Scores = BTreeMap::new();
    for e in &cache.evals {
        let norm = normalizers[&e.setting].0;
        by_key
            .entry((e.setting.clone(), e.method.clone(), e.labels.clone()))
            .or_default()
            .push(e.result.mean_return / norm);
    }
    let rows: Vec<Vec<String>> = by_key
        .iter()
        .map(|((setting, method, labels), v)| {
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
        })
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

/// One line per method over the label budgets of `setting`.
fn score_vs_labels(setting: &str, by_key: &Scores, doc: &mut Doc) -> Result<(), ReportError> {
    let at_budgets = || {
        by_key
            .keys()
            .filter(move |k| k.0 == setting && is_budget(&k.2))
    };
    let mut budgets: Vec<String> = at_budgets().map(|k| k.2.clone()).collect();
    budgets.sort_by_key(|b| budget_order(b));
    budgets.dedup();
    let mut methods: Vec<String> = at_budgets().map(|k| k.1.clone()).collect();
    methods.dedup();
    let series: Vec<(String, Vec<Option<f64>>)> = methods
        .iter()
        .map(|m| {
            let values = budgets
                .iter()
                .map(|b| {
                    by_key
                        .get(&(setting.to_string(), m.clone(), b.clone()))
                        .map(|v| Stat::of(v).mean)
                })
                .collect();
            (m.clone(), values)
        })
        .collect();
    let file = format!("score_vs_labels_{}.png", file_safe(setting));
    plots::lines(
        &doc.chart(&file),
        &format!("{setting}: normalized score"),
        "labeled trajectories",
        "normalized score",
        &budgets,
        &series,
    )?;
    doc.image(&file);
    Ok(())
}

/// Summary bars: each method at its largest budget, averaged over tasks
/// (per distraction preset).
fn summary(settings: &[String], by_key: &Scores, doc: &mut Doc) -> Result<(), ReportError> {
    let mut summary: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for setting in settings {
        let mut best: BTreeMap<String, (String, Vec<f64>)> = BTreeMap::new();
        for ((t, m, l), v) in by_key {
            if t == setting && is_budget(l) {
                let e = best.entry(m.clone()).or_insert((l.clone(), v.clone()));
                if budget_order(l) > budget_order(&e.0) {
                    *e = (l.clone(), v.clone());
                }
            }
        }
        let preset = setting.split('/').nth(1);
        for (m, (_, v)) in best {
            let name = preset.map_or(m.clone(), |p| format!("{m} ({p})"));
            summary.entry(name).or_default().extend(v);
        }
    }
    let bars: Vec<(String, f64, f64)> = summary
        .iter()
        .map(|(m, v)| {
            let s = Stat::of(v);
            (m.clone(), s.mean, s.std)
        })
        .collect();
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

/// Per LAM name and setting: the closed-form probe's held-out MSE, the
/// online probe's held-out MSE and its training MSE, over seeds.
type Probes = BTreeMap<(String, String), [Vec<f64>; 3]>;

/// The probe table (each LAM beside LAPO) and chart.
pub(super) fn probes(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let mut probes: Probes = BTreeMap::new();
    for lam in &cache.lams {
        let e = probes
            .entry((lam.setting.clone(), lam.name.clone()))
            .or_default();
        e[0].extend(lam.probe);
        if let Some(s) = &lam.summary {
            e[1].extend(s.eval.as_ref().map(|m| m.action_mse));
            e[2].extend(s.final_action_probe);
        }
    }
    probes.retain(|_, v| v.iter().any(|x| !x.is_empty()));
    if probes.is_empty() {
        return Ok(());
    }
    doc.section("Latent action quality (linear probe MSE, raw actions)");
    let show = |v: &[f64]| {
        if v.is_empty() {
            "-".into()
        } else {
            Stat::of(v).show(3)
        }
    };
    let rows: Vec<Vec<String>> = probes
        .iter()
        .map(|((t, m), [fitted, held, train])| {
            // The paper's yardstick: each LAM's closed-form MSE ÷ LAPO's.
            let lapo = probes
                .get(&(t.clone(), "lapo".to_string()))
                .filter(|p| !p[0].is_empty() && !fitted.is_empty());
            let ratio = lapo.map_or("-".into(), |p| {
                format!("{:.2}", Stat::of(fitted).mean / Stat::of(&p[0]).mean)
            });
            vec![
                t.clone(),
                m.clone(),
                show(fitted),
                ratio,
                show(held),
                show(train),
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
    let mut settings: Vec<&String> = probes.keys().map(|(t, _)| t).collect();
    settings.dedup();
    let mut tasks: Vec<&str> = probes
        .keys()
        .map(|(t, _)| t.split('/').next().unwrap_or(""))
        .collect();
    tasks.dedup();
    let bars: Vec<(String, f64, f64)> = probes
        .iter()
        .filter_map(|(k, [fitted, held, _])| {
            let v = if fitted.is_empty() { held } else { fitted };
            (!v.is_empty()).then_some((k, v))
        })
        .map(|((t, m), v)| {
            let s = Stat::of(v);
            // With and without distractors: the preset, or task/preset.
            let short = match t.split_once('/') {
                Some((_, preset)) if tasks.len() == 1 => preset.to_string(),
                _ => t.clone(),
            };
            let name = if settings.len() > 1 {
                format!("{m} ({short})")
            } else {
                m.clone()
            };
            (name, s.mean, s.std)
        })
        .collect();
    if bars.is_empty() {
        return Ok(());
    }
    plots::bars(
        &doc.chart("probe.png"),
        "held-out latent -> action probe MSE (closed-form; lower is better)",
        "MSE",
        &bars,
    )?;
    doc.image("probe.png");
    Ok(())
}

/// A named training curve: (step, loss) points.
type Curve = (String, Vec<(f64, f64)>);

/// The LAMs' training losses, one chart per setting.
pub(super) fn curves(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let mut curves: BTreeMap<&str, Vec<Curve>> = BTreeMap::new();
    for lam in cache.lams.iter().filter(|l| l.summary.is_some()) {
        curves
            .entry(&lam.setting)
            .or_default()
            .push((format!("{} seed {}", lam.name, lam.seed), lam.curve.clone()));
    }
    if curves.is_empty() {
        return Ok(());
    }
    doc.section("Training curves");
    for (setting, series) in &mut curves {
        // By name, not by stage key (a digest): the same order every time.
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let file = format!("curves_{}.png", file_safe(setting));
        plots::curves(
            &doc.chart(&file),
            &format!("{setting}: LAM training loss"),
            "step",
            "loss",
            series,
        )?;
        doc.image(&file);
    }
    Ok(())
}

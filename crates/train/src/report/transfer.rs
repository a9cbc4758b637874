//! The report's side-by-side sections: the same LAMs and policies on the
//! training backgrounds and on unseen (val-split) ones, and LAMs
//! pre-trained on the task itself beside those pre-trained on all tasks or
//! on the other tasks only (cross-embodiment).

use std::collections::BTreeMap;

use super::{plots, Cache, Doc, ProbeRow, ReportError, Stat};

/// `a ± s (n=N)`, or `-` when there is nothing.
fn cell(v: Option<&Vec<f64>>, digits: usize) -> String {
    match v {
        Some(v) if !v.is_empty() => Stat::of(v).show(digits),
        _ => "-".into(),
    }
}

/// The ratio of two means, or `-`.
fn ratio(num: Option<&Vec<f64>>, den: Option<&Vec<f64>>) -> String {
    match (num, den) {
        (Some(n), Some(d)) if !n.is_empty() && !d.is_empty() => {
            let (n, d) = (Stat::of(n).mean, Stat::of(d).mean);
            if d.abs() > 0.0 {
                format!("{:.2}", n / d)
            } else {
                "-".into()
            }
        }
        _ => "-".into(),
    }
}

/// Values grouped by a row key and a column.
type Grid = BTreeMap<Vec<String>, BTreeMap<String, Vec<f64>>>;

/// The grid of the (row, column, value) triples `cells`.
fn grid(cells: impl Iterator<Item = (Vec<String>, String, f64)>) -> Grid {
    let mut g = Grid::new();
    for (row, column, value) in cells {
        g.entry(row)
            .or_default()
            .entry(column)
            .or_default()
            .push(value);
    }
    g
}

/// The probes of `cache` kept by `keep`, a row per setting and LAM, a
/// column by `column`.
fn probe_grid(
    cache: &Cache,
    keep: impl Fn(&ProbeRow) -> bool,
    column: impl Fn(&ProbeRow) -> &str,
) -> Grid {
    grid(cache.probes.iter().filter(|p| keep(p)).map(|p| {
        let row = vec![p.setting.clone(), p.name.clone()];
        (row, column(p).to_string(), p.mse)
    }))
}

/// The returns of `cache`'s evaluations on `split` backgrounds pre-trained
/// as `pretrain` (either `None`: any), a row per setting, method and
/// labels, a column by `column` (given split and pre-training).
fn return_grid(
    cache: &Cache,
    split: Option<&str>,
    pretrain: Option<&str>,
    column: impl Fn(&str, &str) -> String,
) -> Grid {
    grid(
        cache
            .all_evals
            .iter()
            .filter(|(s, p, _)| split.is_none_or(|x| x == s) && pretrain.is_none_or(|x| x == p))
            .map(|(s, p, e)| {
                let row = vec![e.setting.clone(), e.method.clone(), e.labels.clone()];
                (row, column(s, p), e.result.mean_return)
            }),
    )
}

/// Whether a row has values on both background splits.
fn has_both(columns: &BTreeMap<String, Vec<f64>>) -> bool {
    columns.contains_key("train") && columns.contains_key("val")
}

/// Table rows of the grid's rows with both splits: the row's key, the
/// training and unseen cells with `digits` decimals, and unseen ÷ training.
fn side_by_side(g: &Grid, digits: usize) -> Vec<Vec<String>> {
    g.iter()
        .filter(|(_, c)| has_both(c))
        .map(|(k, c)| {
            let mut row = k.clone();
            row.push(cell(c.get("train"), digits));
            row.push(cell(c.get("val"), digits));
            row.push(ratio(c.get("val"), c.get("train")));
            row
        })
        .collect()
}

/// Probes and returns on training backgrounds beside unseen ones.
pub(super) fn unseen(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let probes = probe_grid(cache, |p| p.pretrain == "in-task", |p| &p.split);
    let returns = return_grid(cache, None, Some("in-task"), |s, _| s.to_string());
    let both = |g: &Grid| g.values().any(has_both);
    if !both(&probes) && !both(&returns) {
        return Ok(());
    }
    doc.section("Unseen distractors: training backgrounds beside held-out videos");
    doc.text(
        "The paper's held-out distractors are background videos never seen in training (the val split of the Distracting Control Suite's videos; Nikulin et al., ICML 2025). Each row shows the same LAMs or policies on held-out trajectories with the training split's backgrounds and with the val split's; a ratio far from 1 means what was learned does not carry over to new backgrounds.",
    );
    if both(&probes) {
        let rows = side_by_side(&probes, 4);
        doc.table(
            &[
                "setting",
                "LAM",
                "probe MSE, training backgrounds",
                "probe MSE, unseen backgrounds",
                "unseen ÷ training",
            ],
            &rows,
        );
        let mut bars = Vec::new();
        for (k, c) in probes.iter().filter(|(_, c)| has_both(c)) {
            for (split, words) in [("train", "training bg"), ("val", "unseen bg")] {
                bars.push(plots::Bar {
                    method: k[1].clone(),
                    name: format!("{} · {} · {words}", k[0], k[1]),
                    values: c[split].clone(),
                });
            }
        }
        plots::bars(
            &doc.chart("probe_unseen.png"),
            "held-out probe MSE: training vs unseen backgrounds",
            "MSE (mean ± std over seeds)",
            &bars,
        )?;
        doc.image("probe_unseen.png");
    }
    if both(&returns) {
        let rows = side_by_side(&returns, 1);
        doc.table(
            &[
                "setting",
                "method",
                "labels",
                "return, training backgrounds",
                "return, unseen backgrounds",
                "unseen ÷ training",
            ],
            &rows,
        );
    }
    Ok(())
}

/// The pre-training modes, in the order shown.
const MODES: [&str; 3] = ["in-task", "all-tasks", "leave-one-out"];

/// In-task LAMs beside LAMs pre-trained on all tasks or on the others.
pub(super) fn pretraining(cache: &Cache, doc: &mut Doc) -> Result<(), ReportError> {
    let crossed = cache.probes.iter().any(|p| p.pretrain != "in-task")
        || cache.all_evals.iter().any(|(_, p, _)| p != "in-task");
    if !crossed {
        return Ok(());
    }
    // Probes on unseen backgrounds where there are any, else on training ones.
    let split = if cache.probes.iter().any(|p| p.split == "val") {
        "val"
    } else {
        "train"
    };
    let probes = probe_grid(cache, |p| p.split == split, |p| &p.pretrain);
    let returns = return_grid(cache, Some("train"), None, |_, p| p.to_string());
    let crossed_row = |c: &BTreeMap<String, Vec<f64>>| c.keys().any(|m| m != "in-task");
    doc.section("Cross-embodiment pre-training");
    doc.text(&format!(
        "LAMs pre-trained on the task itself (in-task), on every task of the experiment at once (all-tasks) or on every task but the one they are probed and decoded on (leave-one-out), with mixed batches of the tasks' frames. Probe MSE on the task's held-out file ({} backgrounds); returns of policies decoded from each LAM on the task's own labels. `-`: not in this experiment.",
        if split == "val" { "unseen" } else { "training" }
    ));
    let mut header = vec!["task/preset".to_string(), "LAM".to_string()];
    header.extend(MODES.iter().map(|m| format!("probe MSE, {m}")));
    let rows: Vec<Vec<String>> = probes
        .iter()
        .filter(|(_, c)| crossed_row(c))
        .map(|(k, c)| {
            let mut row = k.clone();
            row.extend(MODES.iter().map(|m| cell(c.get(*m), 4)));
            row
        })
        .collect();
    if !rows.is_empty() {
        let h: Vec<&str> = header.iter().map(String::as_str).collect();
        doc.table(&h, &rows);
        let mut bars = Vec::new();
        for (k, c) in probes.iter().filter(|(_, c)| crossed_row(c)) {
            for mode in MODES {
                if let Some(v) = c.get(mode) {
                    bars.push(plots::Bar {
                        method: k[1].clone(),
                        name: format!("{} · {} · {mode}", k[0], k[1]),
                        values: v.clone(),
                    });
                }
            }
        }
        plots::bars(
            &doc.chart("probe_pretraining.png"),
            "held-out probe MSE by pre-training data",
            "MSE (mean ± std over seeds)",
            &bars,
        )?;
        doc.image("probe_pretraining.png");
    }
    let mut header = vec![
        "task/preset".to_string(),
        "method".to_string(),
        "labels".to_string(),
    ];
    header.extend(MODES.iter().map(|m| format!("return, {m}")));
    let rows: Vec<Vec<String>> = returns
        .iter()
        .filter(|(_, c)| crossed_row(c))
        .map(|(k, c)| {
            let mut row = k.clone();
            row.extend(MODES.iter().map(|m| cell(c.get(*m), 1)));
            row
        })
        .collect();
    if !rows.is_empty() {
        let h: Vec<&str> = header.iter().map(String::as_str).collect();
        doc.table(&h, &rows);
    }
    Ok(())
}

//! `lam report`: tables and plots from a pipeline's cache folder — probe
//! MSE per LAM method, normalized score against label budget per task, the
//! summary bar chart, training curves — as Markdown and HTML with PNGs.
//! Every number carries its seed count and spread.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::plots;

/// Arguments of `lam report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A pipeline cache folder (holding pipeline.json).
    runs: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "report")]
    out: PathBuf,
}

/// Mean, sample standard deviation and count.
#[derive(Clone, Copy, Debug)]
struct Stat {
    mean: f64,
    std: f64,
    n: usize,
}

impl Stat {
    fn of(v: &[f64]) -> Self {
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n.max(1) as f64;
        let var = if n > 1 {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Self {
            mean,
            std: var.sqrt(),
            n,
        }
    }

    fn show(&self, digits: usize) -> String {
        format!(
            "{:.*} ± {:.*} (n={})",
            digits, self.mean, digits, self.std, self.n
        )
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// One evaluated policy.
struct Eval {
    task: String,
    method: String,
    labels: String,
    mean_return: f64,
    /// What `lam eval` divided by (the published figure, scaled to the
    /// episode length) and why.
    normalizer: (f64, String),
}

/// A named training curve: (step, loss) points.
type Curve = (String, Vec<(f64, f64)>);

/// Whether a stage's labels field is a label budget (not `all` or `-`).
fn is_budget(l: &str) -> bool {
    l.parse::<usize>().is_ok()
}

/// Sort key for label budgets: numbers ascending, "all" last.
fn budget_order(l: &str) -> (u8, usize) {
    l.parse().map_or((1, 0), |n| (0, n))
}

/// Runs `lam report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let record = read_json(&args.runs.join("pipeline.json")).with_context(|| {
        format!(
            "{} is not a pipeline cache (run `lam pipeline` first)",
            args.runs.display()
        )
    })?;
    let labels = record["labels"]
        .as_object()
        .context("pipeline.json has no labels")?;
    let label = |key: &str, field: &str| labels[key][field].as_str().unwrap_or("").to_string();
    // A setting: task and distraction preset, e.g. "cheetah-run/easy".
    let setting = |key: &str| match label(key, "preset").as_str() {
        "" => label(key, "task"),
        preset => format!("{}/{preset}", label(key, "task")),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    // Evaluations.
    let mut evals = Vec::new();
    for key in labels.keys().filter(|k| k.starts_with("eval-")) {
        let v = read_json(&args.runs.join(key).join("eval.json"))?;
        evals.push(Eval {
            task: setting(key),
            method: label(key, "method"),
            labels: label(key, "labels"),
            mean_return: v["mean_return"]
                .as_f64()
                .context("eval.json: mean_return")?,
            normalizer: (
                v["normalizer"].as_f64().context("eval.json: normalizer")?,
                v["normalizer_source"].as_str().unwrap_or("").to_string(),
            ),
        });
    }
    if evals.is_empty() && !labels.keys().any(|k| k.starts_with("lam-")) {
        bail!(
            "{}: no evaluations and no LAMs to report",
            args.runs.display()
        );
    }
    // Normalisers: our BC on all labels, else the published figure.
    let mut normalizers: BTreeMap<String, (f64, String)> = BTreeMap::new();
    let tasks: Vec<String> = {
        let mut t: Vec<String> = evals.iter().map(|e| e.task.clone()).collect();
        t.sort();
        t.dedup();
        t
    };
    // Mean return over seeds of one method in one setting.
    let mean_of = |task: &str, method: &str| -> Option<Stat> {
        let v: Vec<f64> = evals
            .iter()
            .filter(|e| e.task == task && e.method == method)
            .map(|e| e.mean_return)
            .collect();
        (!v.is_empty()).then(|| Stat::of(&v))
    };
    for task in &tasks {
        let ours = mean_of(task, "bc-all-labels").filter(|s| s.mean > 0.0);
        let entry = if let Some(s) = ours {
            (s.mean, format!("measured: BC on all labels, {}", s.show(1)))
        } else {
            // The one `lam eval` used: published, scaled to the episode length.
            let (v, source) = &evals
                .iter()
                .find(|e| &e.task == task)
                .expect("every task has an evaluation")
                .normalizer;
            (*v, format!("{v:.1}: {source}"))
        };
        normalizers.insert(task.clone(), entry);
    }

    let mut md = String::new();
    let mut html = String::from("<!doctype html><meta charset=\"utf-8\"><title>lam report</title><style>body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}</style>\n");
    let section = |title: &str, md: &mut String, html: &mut String| {
        let _ = writeln!(md, "\n## {title}\n");
        let _ = writeln!(html, "<h2>{title}</h2>");
    };
    let table = |header: &[&str], rows: &[Vec<String>], md: &mut String, html: &mut String| {
        let _ = writeln!(md, "| {} |", header.join(" | "));
        let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
        let _ = write!(
            html,
            "<table><tr>{}</tr>",
            header
                .iter()
                .map(|h| format!("<th>{h}</th>"))
                .collect::<String>()
        );
        for r in rows {
            let _ = writeln!(md, "| {} |", r.join(" | "));
            let _ = write!(
                html,
                "<tr>{}</tr>",
                r.iter()
                    .map(|c| format!("<td>{c}</td>"))
                    .collect::<String>()
            );
        }
        let _ = writeln!(md);
        let _ = writeln!(html, "</table>");
    };
    let image = |file: &str, md: &mut String, html: &mut String| {
        let _ = writeln!(md, "\n![{file}]({file})\n");
        let _ = writeln!(html, "<p><img src=\"{file}\" alt=\"{file}\"></p>");
    };
    let _ = writeln!(
        md,
        "# lam report\n\nFrom `{}`. Spread is the standard deviation over seeds (n = seeds).",
        args.runs.display()
    );
    let _ = writeln!(html, "<h1>lam report</h1><p>From <code>{}</code>. Spread is the standard deviation over seeds (n = seeds).</p>", args.runs.display());

    // Scores (a probe-only pipeline has none).
    if !evals.is_empty() {
        // Normalized scores.
        section("Normalized score", &mut md, &mut html);
        let mut rows = Vec::new();
        let mut by_key: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
        for e in &evals {
            let norm = normalizers[&e.task].0;
            by_key
                .entry((e.task.clone(), e.method.clone(), e.labels.clone()))
                .or_default()
                .push(e.mean_return / norm);
        }
        for ((task, method, labels), v) in &by_key {
            let s = Stat::of(v);
            rows.push(vec![
                task.clone(),
                method.clone(),
                labels.clone(),
                s.show(3),
                format!("{:.1}", s.mean * normalizers[task].0),
            ]);
        }
        table(
            &[
                "task/distractors",
                "method",
                "labeled trajectories",
                "normalized score",
                "return",
            ],
            &rows,
            &mut md,
            &mut html,
        );
        let notes: Vec<Vec<String>> = normalizers
            .iter()
            .map(|(t, (_, src))| vec![t.clone(), src.clone()])
            .collect();
        table(
            &["task/distractors", "normaliser"],
            &notes,
            &mut md,
            &mut html,
        );

        // Yardsticks: the same episodes played by the expert and at random.
        let yard: Vec<Vec<String>> = tasks
            .iter()
            .filter_map(|t| {
                let expert = mean_of(t, "expert")?;
                let random = mean_of(t, "random");
                let bc = mean_of(t, "bc-all-labels");
                Some(vec![
                    t.clone(),
                    expert.show(1),
                    random.map_or("-".into(), |r| r.show(1)),
                    bc.map_or("-".into(), |b| b.show(1)),
                    bc.map_or("-".into(), |b| format!("{:.2}", b.mean / expert.mean)),
                ])
            })
            .collect();
        if !yard.is_empty() {
            let _ = writeln!(
                md,
                "Returns on the same evaluation episodes (mean over seeds of each seed's mean):"
            );
            table(
                &[
                    "task/distractors",
                    "expert (state-based)",
                    "uniformly random actions",
                    "BC on all labels",
                    "BC ÷ expert",
                ],
                &yard,
                &mut md,
                &mut html,
            );
        }

        // Score against label budget, per task.
        for task in &tasks {
            let mut budgets: Vec<String> = by_key
                .keys()
                .filter(|k| &k.0 == task && is_budget(&k.2))
                .map(|k| k.2.clone())
                .collect();
            budgets.sort_by_key(|b| budget_order(b));
            budgets.dedup();
            let methods: Vec<String> = {
                let mut m: Vec<String> = by_key
                    .keys()
                    .filter(|k| &k.0 == task && is_budget(&k.2))
                    .map(|k| k.1.clone())
                    .collect();
                m.dedup();
                m
            };
            let series: Vec<(String, Vec<Option<f64>>)> = methods
                .iter()
                .map(|m| {
                    let values = budgets
                        .iter()
                        .map(|b| {
                            by_key
                                .get(&(task.clone(), m.clone(), b.clone()))
                                .map(|v| Stat::of(v).mean)
                        })
                        .collect();
                    (m.clone(), values)
                })
                .collect();
            let file = format!("score_vs_labels_{}.png", task.replace('/', "-"));
            plots::lines(
                &args.out.join(&file),
                &format!("{task}: normalized score"),
                "labeled trajectories",
                "normalized score",
                &budgets,
                &series,
            )?;
            image(&file, &mut md, &mut html);
        }

        // Summary bars: each method at its largest budget, averaged over tasks.
        let mut summary: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for task in &tasks {
            let mut best: BTreeMap<String, (String, Vec<f64>)> = BTreeMap::new();
            for ((t, m, l), v) in &by_key {
                if t == task && is_budget(l) {
                    let e = best.entry(m.clone()).or_insert((l.clone(), v.clone()));
                    if budget_order(l) > budget_order(&e.0) {
                        *e = (l.clone(), v.clone());
                    }
                }
            }
            let preset = task.split('/').nth(1);
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
            &args.out.join("summary.png"),
            "normalized score at the largest label budget",
            "normalized score",
            &bars,
        )?;
        section("Summary", &mut md, &mut html);
        image("summary.png", &mut md, &mut html);
    }

    // Probes of the LAMs.
    // Per LAM: the closed-form probe stage's held-out MSE, then the online
    // probe's held-out and training MSE.
    let mut probes: BTreeMap<(String, String), [Vec<f64>; 3]> = BTreeMap::new();
    let mut curves: BTreeMap<String, Vec<Curve>> = BTreeMap::new();
    let lam_name = |key: &str| {
        let method = label(key, "method");
        match label(key, "labels").as_str() {
            "all" => method,
            b => format!("{method} ({b} labels)"),
        }
    };
    for key in labels.keys().filter(|k| k.starts_with("probe-")) {
        let Ok(v) = read_json(&args.runs.join(key).join("probe.json")) else {
            continue;
        };
        if let Some(mse) = v["latent_action"]["mse"].as_f64() {
            let e = probes.entry((setting(key), lam_name(key))).or_default();
            e[0].push(mse);
        }
    }
    for key in labels.keys().filter(|k| k.starts_with("lam-")) {
        let dir = args.runs.join(key);
        let Ok(summary) = read_json(&dir.join("summary.json")) else {
            continue;
        };
        let (task, name) = (setting(key), lam_name(key));
        let e = probes.entry((task.clone(), name.clone())).or_default();
        if let Some(v) = summary["eval"]["action_mse"].as_f64() {
            e[1].push(v);
        }
        if let Some(v) = summary["final_action_probe"].as_f64() {
            e[2].push(v);
        }
        let points: Vec<(f64, f64)> = std::fs::read_to_string(dir.join("metrics.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| Some((v["step"].as_f64()?, v["loss"].as_f64()?)))
            .collect();
        curves
            .entry(task)
            .or_default()
            .push((format!("{name} seed {}", label(key, "seed")), points));
    }
    if !probes.is_empty() {
        section(
            "Latent action quality (linear probe MSE, raw actions)",
            &mut md,
            &mut html,
        );
        let rows: Vec<Vec<String>> = probes
            .iter()
            .map(|((t, m), [fitted, held, train])| {
                let show = |v: &[f64]| {
                    if v.is_empty() {
                        "-".into()
                    } else {
                        Stat::of(v).show(3)
                    }
                };
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
        table(
            &[
                "task/distractors",
                "LAM",
                "held-out probe MSE (closed-form fit)",
                "÷ LAPO's",
                "held-out MSE of the online probe",
                "training MSE of the online probe (last 100 steps)",
            ],
            &rows,
            &mut md,
            &mut html,
        );
        let settings = {
            let mut s: Vec<&String> = probes.keys().map(|(t, _)| t).collect();
            s.dedup();
            s.len()
        };
        let one_task = {
            let mut t: Vec<&str> = probes
                .keys()
                .map(|(t, _)| t.split('/').next().unwrap_or(""))
                .collect();
            t.dedup();
            t.len() == 1
        };
        let bars: Vec<(String, f64, f64)> = probes
            .iter()
            .filter_map(|(k, [fitted, held, _])| {
                // The closed-form fit where the pipeline ran it.
                let v = if fitted.is_empty() { held } else { fitted };
                (!v.is_empty()).then_some((k, v))
            })
            .map(|((t, m), v)| {
                let s = Stat::of(v);
                // Name the setting when the probes span several (e.g.
                // with and without distractors): its preset, or task/preset.
                let short = match t.split_once('/') {
                    Some((_, preset)) if one_task => preset.to_string(),
                    _ => t.clone(),
                };
                (
                    if settings > 1 {
                        format!("{m} ({short})")
                    } else {
                        m.clone()
                    },
                    s.mean,
                    s.std,
                )
            })
            .collect();
        if !bars.is_empty() {
            plots::bars(
                &args.out.join("probe.png"),
                "held-out latent -> action probe MSE (closed-form; lower is better)",
                "MSE",
                &bars,
            )?;
            image("probe.png", &mut md, &mut html);
        }
    }
    if !curves.is_empty() {
        section("Training curves", &mut md, &mut html);
        for (task, series) in &curves {
            let file = format!("curves_{}.png", task.replace('/', "-"));
            plots::curves(
                &args.out.join(&file),
                &format!("{task}: LAM training loss"),
                "step",
                "loss",
                series,
            )?;
            image(&file, &mut md, &mut html);
        }
    }
    let write = |name: &str, text: &str| {
        let path = args.out.join(name);
        lam_data::atomic::write_bytes_atomic(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    };
    write("report.md", &md)?;
    write("report.html", &html)?;
    println!(
        "wrote {} and {}",
        args.out.join("report.md").display(),
        args.out.join("report.html").display()
    );
    Ok(())
}

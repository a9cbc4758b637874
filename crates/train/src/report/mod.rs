//! Reports of a pipeline's cache folder: probe MSE per LAM, normalized
//! score against label budget per setting, yardsticks, the summary bar
//! chart, what each LAM's latent action encodes (leakage probes) and
//! training curves, as Markdown and HTML beside PNG and SVG charts
//! ([`plots`]). Every number carries its seed count and spread.
//!
//! [`write`] reads what the pipeline recorded (`pipeline.json`: what each
//! stage stands for) and each stage's typed result (`eval.json`,
//! `probe.json`, a run's `summary.json` and `metrics.jsonl`).

mod leakage;
pub mod plots;
mod sections;
mod transfer;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use plots::PlotError;

use crate::eval::EvalResult;
use crate::probe::ProbeResult;
use crate::run::RunSummary;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder holds no pipeline record.
    #[error("{}: not a pipeline cache (run `lam pipeline` first): {source}", folder.display())]
    NotACache {
        /// The folder given.
        folder: PathBuf,
        /// Why its pipeline.json could not be read.
        source: Box<ReportError>,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A stage's result is not what that stage writes.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the field.
        message: String,
    },
    /// Nothing to report.
    #[error("{}: no evaluations and no LAMs to report", folder.display())]
    Empty {
        /// The cache folder.
        folder: PathBuf,
    },
    /// A chart failed.
    #[error(transparent)]
    Plot(#[from] PlotError),
}

/// Mean, sample standard deviation and count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one value).
    pub std: f64,
    /// Count.
    pub n: usize,
}

impl Stat {
    /// The statistics of `v`.
    pub fn of(v: &[f64]) -> Self {
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

    /// `mean ± std (n=N)` with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        format!(
            "{:.*} ± {:.*} (n={})",
            digits, self.mean, digits, self.std, self.n
        )
    }
}

/// What the pipeline recorded: the labels of its stages.
#[derive(Deserialize)]
struct Record {
    labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// Reads a JSON file as `T`.
fn read<T: DeserializeOwned>(path: &Path) -> Result<T, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ReportError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// One evaluated policy (or yardstick) of the cache.
#[derive(Clone)]
struct Eval {
    /// Task and distraction preset, e.g. `cheetah-run/easy`.
    setting: String,
    method: String,
    /// A budget, `all` or `-`.
    labels: String,
    result: EvalResult,
}

/// One probe of a LAM, on one task's held-out file.
struct ProbeRow {
    /// Task probed on (for a cross-task LAM: the task left out, or one of
    /// those trained on), and distraction preset.
    setting: String,
    /// Method, with the label budget of LAOM + supervision.
    name: String,
    /// The LAM's method (its colour and place in lists).
    method: String,
    /// `train` or `val` backgrounds of the held-out file.
    split: String,
    /// `in-task`, `all-tasks` or `leave-one-out`.
    pretrain: String,
    /// Held-out latent → action MSE.
    mse: f64,
    /// What the latent and the embedding encode (held-out files with
    /// ground truth).
    leakage: Option<crate::leakage::Leakage>,
}

/// One LAM of the cache with its probe and training run.
struct Lam {
    setting: String,
    /// The LAM's method (a preset of the ablation ladder).
    method: String,
    /// Method, with the label budget of LAOM + supervision.
    name: String,
    seed: String,
    /// The closed-form probe's held-out latent → action MSE.
    probe: Option<f64>,
    summary: Option<RunSummary>,
    /// (step, loss) of every logged step.
    curve: Vec<(f64, f64)>,
}

/// Everything a report shows, read from one cache folder.
struct Cache {
    folder: PathBuf,
    /// Evaluations on the data's own backgrounds of in-task policies and
    /// yardsticks.
    evals: Vec<Eval>,
    /// In-task LAMs, with their probes on unseen backgrounds.
    lams: Vec<Lam>,
    /// Every evaluation with its split and pre-training: (split,
    /// pretrain, evaluation).
    all_evals: Vec<(String, String, Eval)>,
    /// Every probe.
    probes: Vec<ProbeRow>,
}

impl Cache {
    fn read(folder: &Path) -> Result<Self, ReportError> {
        let record: Record =
            read(&folder.join("pipeline.json")).map_err(|e| ReportError::NotACache {
                folder: folder.to_path_buf(),
                source: Box::new(e),
            })?;
        let field = |l: &BTreeMap<String, String>, f: &str| l.get(f).cloned().unwrap_or_default();
        let setting = |l: &BTreeMap<String, String>| match field(l, "preset").as_str() {
            "" => field(l, "task"),
            preset => format!("{}/{preset}", field(l, "task")),
        };
        let lam_name = |l: &BTreeMap<String, String>| match field(l, "labels").as_str() {
            "all" => field(l, "method"),
            b => format!("{} ({b} labels)", field(l, "method")),
        };
        // A field older caches do not record, as what they did.
        let or = |l: &BTreeMap<String, String>, f: &str, default: &str| {
            l.get(f).cloned().unwrap_or_else(|| default.to_string())
        };
        let pretrain_of = |l: &BTreeMap<String, String>| or(l, "pretrain", "in-task");
        // Evaluations: those on the data's own backgrounds of in-task
        // policies for the score sections (older caches name no split:
        // their evaluations are on the data's backgrounds), every one for
        // the side-by-side sections.
        let (mut evals, mut all_evals) = (Vec::new(), Vec::new());
        for (key, l) in record.labels.iter().filter(|(k, _)| k.starts_with("eval-")) {
            let split = or(l, "split", "train");
            let e = Eval {
                setting: setting(l),
                method: field(l, "method"),
                labels: field(l, "labels"),
                result: read(&folder.join(key).join("eval.json"))?,
            };
            let pretrain = pretrain_of(l);
            if split == "train" && pretrain == "in-task" {
                evals.push(e.clone());
            }
            all_evals.push((split, pretrain, e));
        }
        // Probes by the LAM they probe (same labels), on unseen (val)
        // backgrounds (older caches name no split: theirs are on val).
        let mut by_lam: BTreeMap<Vec<String>, f64> = BTreeMap::new();
        let mut probes = Vec::new();
        for (key, l) in record
            .labels
            .iter()
            .filter(|(k, _)| k.starts_with("probe-"))
        {
            // A probe stage not (yet) run is left out.
            let Ok(p) = read::<ProbeResult>(&folder.join(key).join("probe.json")) else {
                continue;
            };
            let Some(score) = p.latent_action else {
                continue;
            };
            // (Older caches probed on the val split only.)
            let split = or(l, "split", "val");
            probes.push(ProbeRow {
                setting: setting(l),
                name: lam_name(l),
                method: field(l, "method"),
                split: split.clone(),
                pretrain: pretrain_of(l),
                mse: score.mse,
                leakage: p.leakage,
            });
            if split == "val" {
                let mut l = l.clone();
                l.remove("split");
                by_lam.insert(l.values().cloned().collect(), score.mse);
            }
        }
        let mut lams = Vec::new();
        for (key, l) in record
            .labels
            .iter()
            .filter(|(k, l)| k.starts_with("lam-") && pretrain_of(l) == "in-task")
        {
            let dir = folder.join(key);
            let curve = std::fs::read_to_string(dir.join("metrics.jsonl"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| Some((v["step"].as_f64()?, v["loss"].as_f64()?)))
                .collect();
            lams.push(Lam {
                setting: setting(l),
                method: field(l, "method"),
                name: lam_name(l),
                seed: field(l, "seed"),
                probe: by_lam
                    .get(&l.values().cloned().collect::<Vec<_>>())
                    .copied(),
                summary: read(&dir.join("summary.json")).ok(),
                curve,
            });
        }
        if all_evals.is_empty() && probes.is_empty() && lams.is_empty() {
            return Err(ReportError::Empty {
                folder: folder.to_path_buf(),
            });
        }
        Ok(Self {
            folder: folder.to_path_buf(),
            evals,
            lams,
            all_evals,
            probes,
        })
    }
}

/// A report being written: Markdown and HTML side by side, charts in `out`.
struct Doc<'a> {
    out: &'a Path,
    md: String,
    html: String,
}

impl Doc<'_> {
    fn section(&mut self, title: &str) {
        let _ = writeln!(self.md, "\n## {title}\n");
        let _ = writeln!(self.html, "<h2>{title}</h2>");
    }

    fn text(&mut self, line: &str) {
        // A blank line after: a table right after a paragraph is a table.
        let _ = writeln!(self.md, "{line}\n");
        let _ = writeln!(self.html, "<p>{line}</p>");
    }

    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        let _ = writeln!(self.md, "| {} |", header.join(" | "));
        let _ = writeln!(self.md, "|{}", "---|".repeat(header.len()));
        let cells = |tag: &str, r: &mut dyn Iterator<Item = &str>| -> String {
            r.map(|c| format!("<{tag}>{c}</{tag}>")).collect()
        };
        let _ = write!(
            self.html,
            "<table><tr>{}</tr>",
            cells("th", &mut header.iter().copied())
        );
        for r in rows {
            let _ = writeln!(self.md, "| {} |", r.join(" | "));
            let _ = write!(
                self.html,
                "<tr>{}</tr>",
                cells("td", &mut r.iter().map(String::as_str))
            );
        }
        let _ = writeln!(self.md);
        let _ = writeln!(self.html, "</table>");
    }

    /// Shows the chart `file` (in `out`), with a link to its SVG.
    fn image(&mut self, file: &str) {
        let svg = plots::svg_of(Path::new(file));
        let svg = svg.display();
        let _ = writeln!(self.md, "\n![{file}]({file})\n\n[SVG]({svg})\n");
        let _ = writeln!(
            self.html,
            "<p><a href=\"{svg}\"><img src=\"{file}\" alt=\"{file}\"></a><br><a href=\"{svg}\">SVG</a></p>"
        );
    }

    /// Where chart `file` goes.
    fn chart(&self, file: &str) -> PathBuf {
        self.out.join(file)
    }
}

/// The paper whose methods and metrics a report follows, cited in full
/// (a report stands alone: it names no file a reader may not have).
pub const PAPER: &str = "Nikulin et al., \"Latent Action Learning Requires Supervision in the Presence of Distractors\", ICML 2025 (arXiv 2502.00379)";

/// The files a report wrote.
#[derive(Debug)]
pub struct Written {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.html` (charts beside it).
    pub html: PathBuf,
}

/// Writes the report of the pipeline cache `folder` into `out`:
/// `report.md`, `report.html` and each chart as PNG and SVG.
pub fn write(folder: &Path, out: &Path) -> Result<Written, ReportError> {
    let cache = Cache::read(folder)?;
    std::fs::create_dir_all(out).map_err(|source| ReportError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut doc = Doc {
        out,
        md: String::new(),
        html: String::from("<!doctype html><meta charset=\"utf-8\"><title>lam report</title><style>body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}</style>\n"),
    };
    let spread = format!(
        "Methods and metrics follow {PAPER}. Spread is the standard deviation over seeds (n = seeds)."
    );
    let from = cache.folder.display();
    let _ = writeln!(doc.md, "# lam report\n\nFrom `{from}`. {spread}");
    let _ = writeln!(
        doc.html,
        "<h1>lam report</h1><p>From <code>{from}</code>. {spread}</p>"
    );
    // Scores (a probe-only pipeline has none), then probes and curves.
    if !cache.evals.is_empty() {
        sections::scores(&cache, &mut doc)?;
    }
    sections::probes(&cache, &mut doc)?;
    leakage::encodes(&cache, &mut doc)?;
    transfer::unseen(&cache, &mut doc)?;
    transfer::pretraining(&cache, &mut doc)?;
    sections::curves(&cache, &mut doc)?;
    let save = |name: &str, text: &str| {
        let path = out.join(name);
        lam_data::atomic::write_bytes_atomic(&path, text.as_bytes())
            .map_err(|source| ReportError::Io {
                path: path.clone(),
                source,
            })
            .map(|()| path)
    };
    Ok(Written {
        markdown: save("report.md", &doc.md)?,
        html: save("report.html", &doc.html)?,
    })
}

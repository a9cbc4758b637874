//! Charts for reports, each written as PNG and as SVG from the same
//! drawing code (plotters, generic over the backend): score against label
//! budget on a log2 axis with a band over seeds, bars with the seed spread,
//! and training curves smoothed over the faint raw curve.
//!
//! Every chart colours a method the same way ([`colour_of`]), draws a light
//! major grid only, and labels integer axes (label budgets, steps) with
//! integers.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Why a chart could not be drawn or saved.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// No TrueType font for the text.
    #[error("no font for chart text at {0} (install fonts-dejavu-core)")]
    NoFont(String),
    /// Drawing failed.
    #[error("drawing {}: {message}", path.display())]
    Draw {
        /// The chart's file.
        path: PathBuf,
        /// The drawing library's message.
        message: String,
    },
    /// Writing the PNG or SVG failed.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The chart's file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, String>;

/// A drawing library error as a message.
fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The pixel size of every chart.
pub const SIZE: (u32, u32) = (800, 480);
const FONTS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];
/// Text sizes: title, axis names, tick labels and legend.
const TITLE: u32 = 20;
const AXIS: u32 = 16;
const TICKS: u32 = 14;

/// Registers a TrueType font for chart text (once per process).
fn fonts() -> std::result::Result<(), PlotError> {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        FONTS.iter().any(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
        })
    });
    if !found {
        return Err(PlotError::NoFont(FONTS.join(" or ")));
    }
    Ok(())
}

/// The colour of each method the pipeline knows, the same in every chart,
/// in the order charts list them: the ablation ladder from LAPO with FSQ to
/// LAOM, LAOM + supervision, the baselines and the two yardsticks.
const METHOD_COLOURS: [(&str, RGBColor); 12] = [
    ("lapo-fsq", RGBColor(120, 80, 40)),
    ("lapo", RGBColor(0, 114, 178)),
    ("lapo-multistep", RGBColor(86, 180, 233)),
    ("lapo-latent-dim", RGBColor(150, 150, 20)),
    ("laom-no-aug", RGBColor(23, 190, 207)),
    ("laom", RGBColor(230, 159, 0)),
    ("laom-labels", RGBColor(213, 40, 40)),
    ("idm", RGBColor(0, 158, 115)),
    ("bc", RGBColor(204, 121, 167)),
    ("bc-all-labels", RGBColor(110, 50, 140)),
    ("random", RGBColor(135, 135, 135)),
    ("expert", RGBColor(30, 30, 30)),
];

/// Where `method` comes in a chart's list: the known methods in the order
/// of the ablation ladder, then the baselines and yardsticks; other names
/// after them.
pub fn method_rank(method: &str) -> usize {
    let method = method_of(method);
    METHOD_COLOURS
        .iter()
        .position(|(m, _)| *m == method)
        .unwrap_or(METHOD_COLOURS.len())
}

/// Colours for methods outside [`METHOD_COLOURS`], chosen by a hash of
/// the name (none of them repeats a known method's colour).
const OTHER_COLOURS: [RGBColor; 6] = [
    RGBColor(128, 0, 0),
    RGBColor(0, 0, 128),
    RGBColor(0, 128, 128),
    RGBColor(220, 0, 220),
    RGBColor(100, 200, 100),
    RGBColor(90, 60, 200),
];

/// The method a name stands for: a preset's `-mini` twin and the official
/// code's tiny configurations colour as the method itself.
fn method_of(name: &str) -> &str {
    let name = name.strip_prefix("official-tiny-").unwrap_or(name);
    name.strip_suffix("-mini").unwrap_or(name)
}

/// The colour of `method` in every chart: fixed for the methods the
/// pipeline knows (`lapo`, `laom`, `laom-labels`, the ladder's rungs,
/// `idm`, `bc`, `bc-all-labels`, `random`, `expert`, and their `-mini`
/// presets), and for any other name a colour picked by a hash of it, the
/// same on every run.
pub fn colour_of(method: &str) -> RGBColor {
    let method = method_of(method);
    if let Some((_, c)) = METHOD_COLOURS.iter().find(|(m, _)| *m == method) {
        return *c;
    }
    // FNV-1a: stable across runs and Rust releases.
    let hash = method.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    OTHER_COLOURS[(hash % OTHER_COLOURS.len() as u64) as usize]
}

/// The `k`-th variant of a method's colour, for several series of one
/// method in one chart (LAOM + supervision at two label budgets): the
/// colour itself, then darker and lighter in turn.
fn variant(c: RGBColor, k: usize) -> RGBColor {
    if k == 0 {
        return c;
    }
    let step = 0.3 * k.div_ceil(2) as f64;
    let (toward, share) = if k % 2 == 1 {
        (0.0, step.min(0.7))
    } else {
        (255.0, step.min(0.7))
    };
    let mix = |v: u8| (f64::from(v) * (1.0 - share) + toward * share).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// The PNG of a chart and the SVG beside it.
pub fn svg_of(png: &Path) -> PathBuf {
    png.with_extension("svg")
}

/// A chart drawn the same way on any plotters backend.
trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Draws `figure` as PNG at `png` and as SVG beside it ([`svg_of`]).
fn save(png: &Path, figure: &impl Figure) -> std::result::Result<(), PlotError> {
    fonts()?;
    let drawn = |path: &Path| {
        let path = path.to_path_buf();
        move |message| PlotError::Draw { path, message }
    };
    let written = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PlotError::Write { path, source }
    };
    let mut buffer = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(msg).map_err(drawn(png))?;
        figure.draw(&root).map_err(drawn(png))?;
        root.present().map_err(msg).map_err(drawn(png))?;
    }
    let image =
        image::RgbImage::from_raw(SIZE.0, SIZE.1, buffer).expect("the buffer holds SIZE pixels");
    lam_data::atomic::write_atomic(png, |tmp| {
        image
            .save_with_format(tmp, image::ImageFormat::Png)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(written(png))?;
    let svg = svg_of(png);
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(msg).map_err(drawn(&svg))?;
        figure.draw(&root).map_err(drawn(&svg))?;
        root.present().map_err(msg).map_err(drawn(&svg))?;
    }
    lam_data::atomic::write_bytes_atomic(&svg, text.as_bytes()).map_err(written(&svg))
}

/// The range of `values` with zero in it and a margin above (and below,
/// where values are negative); (0, 1) when there are none.
fn range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let pad = ((hi - lo) * 0.08).max(1e-3);
    (if lo < 0.0 { lo - pad } else { lo })..hi + pad
}

/// Integer ticks over `lo..hi`: a step of 1, 2 or 5 times a power of ten,
/// at most about six ticks.
fn integer_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1.0);
    let mut step = 1.0_f64;
    'find: loop {
        for m in [1.0, 2.0, 5.0] {
            if span / (step * m) <= 6.0 {
                step *= m;
                break 'find;
            }
        }
        step *= 10.0;
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// An integer tick's label.
fn integer_label(v: f64) -> String {
    format!("{}", v.round() as i64)
}

/// Where label budget `b` sits on the x axis: log2 of it.
fn budget_x(b: usize) -> f64 {
    (b.max(1) as f64).log2()
}

/// The x range of label budgets on a log2 axis (half a doubling beyond
/// the extremes) and its ticks: every power of two in it.
fn budget_axis(budgets: &[usize]) -> (Range<f64>, Vec<f64>) {
    let xs = budgets.iter().map(|&b| budget_x(b));
    let lo = xs.clone().fold(f64::INFINITY, f64::min);
    let hi = xs.fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() {
        (lo - 0.4, hi + 0.4)
    } else {
        (0.6, 7.4)
    };
    let ticks = (lo.ceil() as i64..=hi.floor() as i64)
        .map(|k| k as f64)
        .collect();
    (lo..hi, ticks)
}

/// A legend entry: what the swatch shows.
#[derive(Clone, Copy)]
enum Swatch {
    /// A line with a band behind it.
    Band,
    /// A line.
    Line,
    /// A dashed line.
    Dashed,
    /// A filled box (a bar).
    Filled,
    /// An outlined box (a hollow bar).
    Outline,
}

/// A chart's title above, its legend right of the plot (as wide as the
/// longest entry; none without entries): the area left for the plot.
fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[(String, RGBColor, Swatch)],
) -> Result<DrawingArea<DB, Shift>> {
    let body = root
        .titled(title, ("sans-serif", TITLE).into_font().color(&BLACK))
        .map_err(msg)?;
    if legend.is_empty() {
        return Ok(body);
    }
    let widest = legend
        .iter()
        .map(|(name, _, _)| {
            body.estimate_text_size(name, &("sans-serif", TICKS).into_text_style(&body))
                .map_or(name.chars().count() as u32 * 8, |(w, _)| w)
        })
        .max()
        .unwrap_or(0);
    let width = (widest + 52).min(SIZE.0 / 2);
    let (plot, side) = body.split_horizontally(SIZE.0 - width);
    let text = ("sans-serif", TICKS).into_font().color(&BLACK);
    for (i, (name, colour, swatch)) in legend.iter().enumerate() {
        let y = 40 + 24 * i as i32;
        let (x0, x1) = (8, 36);
        match swatch {
            Swatch::Band => {
                side.draw(&Rectangle::new(
                    [(x0, y - 6), (x1, y + 6)],
                    colour.mix(0.2).filled(),
                ))
                .map_err(msg)?;
                side.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    colour.stroke_width(2),
                ))
                .map_err(msg)?;
            }
            Swatch::Line => {
                side.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    colour.stroke_width(2),
                ))
                .map_err(msg)?;
            }
            Swatch::Filled => {
                side.draw(&Rectangle::new(
                    [(x0, y - 6), (x1, y + 6)],
                    colour.mix(0.85).filled(),
                ))
                .map_err(msg)?;
            }
            Swatch::Outline => {
                side.draw(&Rectangle::new(
                    [(x0, y - 6), (x1, y + 6)],
                    colour.stroke_width(2),
                ))
                .map_err(msg)?;
            }
            Swatch::Dashed => {
                for x in [x0, x0 + 11, x0 + 22] {
                    side.draw(&PathElement::new(
                        vec![(x, y), (x + 6, y)],
                        colour.stroke_width(2),
                    ))
                    .map_err(msg)?;
                }
            }
        }
        side.draw(&Text::new(
            name.clone(),
            (x1 + 8, y),
            text.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(msg)?;
    }
    Ok(plot)
}

/// A linear axis ticked exactly at the values given (a grid line at each,
/// none between them).
struct Ticked {
    axis: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.axis.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light (minor) points: none.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.axis.range()
    }
}

/// A chart whose x axis has the given ticks (nothing between them).
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticked, RangedCoordf64>>;

/// The axes on `area`: x over `x` with ticks `x_ticks` labelled by
/// `x_label`, y over `y`; a light major grid only.
#[allow(clippy::too_many_arguments)]
fn axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: Range<f64>,
    x_ticks: Vec<f64>,
    x_label: &dyn Fn(&f64) -> String,
    x_name: &str,
    y: Range<f64>,
    y_name: &str,
) -> Result<Chart<'a, DB>> {
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_right(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(
            Ticked {
                axis: x.into(),
                ticks: x_ticks,
            },
            y,
        )
        .map_err(msg)?;
    chart
        .configure_mesh()
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.mix(0.8))
        .x_desc(x_name)
        .y_desc(y_name)
        .axis_desc_style(("sans-serif", AXIS))
        .label_style(("sans-serif", TICKS))
        .x_label_formatter(x_label)
        .y_labels(6)
        .draw()
        .map_err(msg)?;
    Ok(chart)
}

/// One method's scores at its label budgets, each over seeds.
#[derive(Clone, Debug)]
pub struct BudgetSeries {
    /// The method (its colour).
    pub method: String,
    /// The legend's name.
    pub name: String,
    /// (label budget, one score per seed), budgets ascending.
    pub points: Vec<(usize, Vec<f64>)>,
}

/// A level drawn across a chart as a dashed line (a yardstick).
#[derive(Clone, Debug)]
pub struct Level {
    /// The method (its colour).
    pub method: String,
    /// The legend's name.
    pub name: String,
    /// Where the line sits.
    pub value: f64,
}

/// Mean and sample standard deviation (0 for one value).
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

struct ScoreChart<'s> {
    title: &'s str,
    y_name: &'s str,
    series: &'s [BudgetSeries],
    levels: &'s [Level],
}

impl Figure for ScoreChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let colours = series_colours(self.series.iter().map(|s| (&s.method, &s.name)));
        let mut legend: Vec<(String, RGBColor, Swatch)> = self
            .series
            .iter()
            .zip(&colours)
            .map(|(s, &c)| {
                let several = s.points.iter().any(|(_, v)| v.len() > 1);
                let swatch = if several { Swatch::Band } else { Swatch::Line };
                (s.name.clone(), c, swatch)
            })
            .collect();
        let values: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .flat_map(|(_, v)| {
                let (m, sd) = mean_std(v);
                v.iter().copied().chain([m - sd, m + sd])
            })
            .collect();
        let (shown, off) = on_chart(&values, self.levels);
        legend.extend(
            shown
                .iter()
                .map(|l| (l.name.clone(), colour_of(&l.method), Swatch::Dashed)),
        );
        // A level far from every score would squash them: named with its
        // value instead of drawn.
        legend.extend(off.iter().map(|l| {
            let name = format!("{} ({:.2}, off chart)", l.name, l.value);
            (name, colour_of(&l.method), Swatch::Dashed)
        }));
        let area = frame(root, self.title, &legend)?;
        let budgets: Vec<usize> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        let (x, ticks) = budget_axis(&budgets);
        let y = range(values.iter().copied().chain(shown.iter().map(|l| l.value)));
        let label = |x: &f64| integer_label(x.exp2());
        let mut chart = axes(
            &area,
            x.clone(),
            ticks,
            &label,
            "labeled trajectories (log2 scale)",
            y,
            self.y_name,
        )?;
        for l in &shown {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x.start, l.value), (x.end, l.value)],
                    8,
                    5,
                    colour_of(&l.method).stroke_width(2),
                ))
                .map_err(msg)?;
        }
        // Bands first, so no band covers another method's line.
        for (s, &c) in self.series.iter().zip(&colours) {
            let stats: Vec<(f64, f64, f64)> = s
                .points
                .iter()
                .map(|(b, v)| {
                    let (m, sd) = mean_std(v);
                    (budget_x(*b), m, sd)
                })
                .collect();
            if stats.iter().any(|p| p.2 > 0.0) {
                let upper = stats.iter().map(|&(x, m, sd)| (x, m + sd));
                let lower = stats.iter().rev().map(|&(x, m, sd)| (x, m - sd));
                chart
                    .draw_series([Polygon::new(
                        upper.chain(lower).collect::<Vec<_>>(),
                        c.mix(0.18).filled(),
                    )])
                    .map_err(msg)?;
            }
        }
        for (s, &c) in self.series.iter().zip(&colours) {
            let seeds = s
                .points
                .iter()
                .filter(|(_, v)| v.len() > 1)
                .flat_map(|(b, v)| v.iter().map(move |&y| (budget_x(*b), y)));
            chart
                .draw_series(seeds.map(|p| Circle::new(p, 3, c.mix(0.45).filled())))
                .map_err(msg)?;
            let means: Vec<(f64, f64)> = s
                .points
                .iter()
                .map(|(b, v)| (budget_x(*b), mean_std(v).0))
                .collect();
            chart
                .draw_series(LineSeries::new(means.clone(), c.stroke_width(2)))
                .map_err(msg)?;
            chart
                .draw_series(means.into_iter().map(|p| Circle::new(p, 5, c.filled())))
                .map_err(msg)?;
        }
        Ok(())
    }
}

/// The levels drawn beside `values` (those within the values' span of
/// them, zero included) and those left off the chart.
fn on_chart<'l>(values: &[f64], levels: &'l [Level]) -> (Vec<&'l Level>, Vec<&'l Level>) {
    let lo = values.iter().copied().fold(0.0, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let span = (hi - lo).max(1e-3);
    levels
        .iter()
        .partition(|l| l.value >= lo - span && l.value <= hi + span)
}

/// Each series' colour: its method's, in a darker or lighter variant for
/// the second and later series of one method.
fn series_colours<'s>(series: impl Iterator<Item = (&'s String, &'s String)>) -> Vec<RGBColor> {
    let mut seen: Vec<(&String, &String)> = Vec::new();
    series
        .map(|(method, name)| {
            let mut names: Vec<&String> = seen
                .iter()
                .filter(|(m, _)| *m == method)
                .map(|(_, n)| *n)
                .collect();
            if !names.contains(&name) {
                seen.push((method, name));
                names.push(name);
            }
            let k = names.iter().position(|n| *n == name).unwrap_or(0);
            variant(colour_of(method), k)
        })
        .collect()
}

/// Score against label budget: per series the mean over seeds as a line
/// with a band of ± one standard deviation (where there are several
/// seeds) and each seed's score as a faint dot; `levels` as dashed lines.
/// The x axis is log2 of the budget, ticked at powers of two.
pub fn score_vs_labels(
    png: &Path,
    title: &str,
    y_name: &str,
    series: &[BudgetSeries],
    levels: &[Level],
) -> std::result::Result<(), PlotError> {
    save(
        png,
        &ScoreChart {
            title,
            y_name,
            series,
            levels,
        },
    )
}

/// A bar: one value per seed.
#[derive(Clone, Debug)]
pub struct Bar {
    /// The method (its colour).
    pub method: String,
    /// The name beside the bar.
    pub name: String,
    /// One value per seed.
    pub values: Vec<f64>,
}

struct BarChart<'s> {
    title: &'s str,
    x_name: &'s str,
    bars: &'s [Bar],
}

impl Figure for BarChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = frame(root, self.title, &[])?;
        let n = self.bars.len().max(1);
        // Top to bottom: the first bar at the top.
        let names: Vec<String> = self.bars.iter().rev().map(|b| b.name.clone()).collect();
        let font = ("sans-serif", TICKS).into_text_style(&area);
        let widest = names
            .iter()
            .map(|s| {
                area.estimate_text_size(s, &font)
                    .map_or(s.chars().count() as u32 * 8, |(w, _)| w)
            })
            .max()
            .unwrap_or(0);
        let x = range(self.bars.iter().flat_map(|b| {
            let (m, sd) = mean_std(&b.values);
            b.values.iter().copied().chain([m - sd, m + sd])
        }));
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .margin_right(24)
            .x_label_area_size(48)
            .y_label_area_size((widest + 20).clamp(60, SIZE.0 / 2))
            .build_cartesian_2d(x, -0.5..(n as f64 - 0.5))
            .map_err(msg)?;
        let category = |y: &f64| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.mix(0.8))
            .x_desc(self.x_name)
            .axis_desc_style(("sans-serif", AXIS))
            .label_style(("sans-serif", TICKS))
            .x_labels(6)
            .y_labels(n)
            .y_label_formatter(&category)
            .disable_y_mesh()
            .draw()
            .map_err(msg)?;
        for (i, b) in self.bars.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let c = colour_of(&b.method);
            let (m, sd) = mean_std(&b.values);
            chart
                .draw_series([Rectangle::new([(0.0, y - 0.32), (m, y + 0.32)], c.filled())])
                .map_err(msg)?;
            if sd > 0.0 {
                let whisker = BLACK.stroke_width(2);
                let cap = |x: f64| PathElement::new(vec![(x, y - 0.12), (x, y + 0.12)], whisker);
                chart
                    .draw_series([
                        PathElement::new(vec![(m - sd, y), (m + sd, y)], whisker),
                        cap(m - sd),
                        cap(m + sd),
                    ])
                    .map_err(msg)?;
            }
            if b.values.len() > 1 {
                chart
                    .draw_series(
                        b.values
                            .iter()
                            .map(|&v| Circle::new((v, y + 0.2), 3, BLACK.mix(0.6).filled())),
                    )
                    .map_err(msg)?;
            }
        }
        Ok(())
    }
}

/// Horizontal bars, the first at the top, each the mean over its seeds
/// with an error bar of ± one standard deviation and a dot per seed (where
/// there are several); names sit left of their bar, however long.
pub fn bars(
    png: &Path,
    title: &str,
    x_name: &str,
    bars: &[Bar],
) -> std::result::Result<(), PlotError> {
    save(
        png,
        &BarChart {
            title,
            x_name,
            bars,
        },
    )
}

/// One group of a [`grouped_bars`] chart (a LAM): per category two
/// values over seeds, drawn as a filled bar and as a hollow bar over it;
/// None leaves the bar out (nothing to show).
#[derive(Clone, Debug)]
pub struct BarGroup {
    /// The name under the group.
    pub name: String,
    /// The filled bars' values per category, one per seed.
    pub filled: Vec<Option<Vec<f64>>>,
    /// The hollow bars' values per category, one per seed.
    pub hollow: Vec<Option<Vec<f64>>>,
}

/// Colours of the categories of a grouped bar chart (colour-blind safe,
/// none a method's).
const CATEGORY_COLOURS: [RGBColor; 6] = [
    RGBColor(0, 90, 181),
    RGBColor(26, 133, 90),
    RGBColor(220, 50, 32),
    RGBColor(153, 79, 136),
    RGBColor(230, 140, 20),
    RGBColor(90, 90, 90),
];

struct GroupedChart<'s> {
    title: &'s str,
    y_name: &'s str,
    categories: &'s [&'s str],
    kinds: (&'s str, &'s str),
    groups: &'s [BarGroup],
}

impl Figure for GroupedChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let colour = |c: usize| CATEGORY_COLOURS[c % CATEGORY_COLOURS.len()];
        let mut legend: Vec<(String, RGBColor, Swatch)> = self
            .categories
            .iter()
            .enumerate()
            .map(|(c, name)| (name.to_string(), colour(c), Swatch::Filled))
            .collect();
        legend.push((self.kinds.0.to_string(), BLACK, Swatch::Filled));
        legend.push((self.kinds.1.to_string(), BLACK, Swatch::Outline));
        let area = frame(root, self.title, &legend)?;
        let values = self
            .groups
            .iter()
            .flat_map(|g| g.filled.iter().chain(&g.hollow))
            .flatten()
            .flat_map(|v| {
                let (m, sd) = mean_std(v);
                v.iter().copied().chain([m - sd, m + sd])
            });
        // R² tops out at 1: every chart of it on the same top.
        let y = range(values.chain([1.0]));
        let n = self.groups.len().max(1);
        let names: Vec<String> = self.groups.iter().map(|g| g.name.clone()).collect();
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let ticks = (0..n).map(|i| i as f64).collect();
        let mut chart = axes(
            &area,
            -0.5..(n as f64 - 0.5),
            ticks,
            &label,
            "",
            y,
            self.y_name,
        )?;
        let k = self.categories.len().max(1) as f64;
        let slot = 0.84 / k;
        for (i, g) in self.groups.iter().enumerate() {
            for c in 0..self.categories.len() {
                let x = i as f64 - 0.42 + slot * (c as f64 + 0.5);
                let (x0, x1) = (x - slot * 0.4, x + slot * 0.4);
                let col = colour(c);
                let whiskers = |v: &[f64]| {
                    let (m, sd) = mean_std(v);
                    let mut out = Vec::new();
                    if sd > 0.0 {
                        let s = BLACK.stroke_width(1);
                        out.push(PathElement::new(vec![(x, m - sd), (x, m + sd)], s));
                    }
                    out
                };
                // A dot per seed, where there are several.
                let dots = |v: &[f64]| {
                    let several = v.len() > 1;
                    v.iter()
                        .filter(|_| several)
                        .map(|&y| Circle::new((x, y), 2, BLACK.mix(0.6).filled()))
                        .collect::<Vec<_>>()
                };
                if let Some(Some(v)) = g.filled.get(c) {
                    let m = mean_std(v).0;
                    chart
                        .draw_series([Rectangle::new([(x0, 0.0), (x1, m)], col.mix(0.85).filled())])
                        .map_err(msg)?;
                    chart.draw_series(whiskers(v)).map_err(msg)?;
                    chart.draw_series(dots(v)).map_err(msg)?;
                }
                if let Some(Some(v)) = g.hollow.get(c) {
                    let m = mean_std(v).0;
                    chart
                        .draw_series([Rectangle::new([(x0, 0.0), (x1, m)], col.stroke_width(2))])
                        .map_err(msg)?;
                    chart.draw_series(whiskers(v)).map_err(msg)?;
                    chart.draw_series(dots(v)).map_err(msg)?;
                }
            }
        }
        Ok(())
    }
}

/// Vertical bars in groups (one per [`BarGroup`], named under it), a bar
/// per category coloured by category (legend right): the mean over seeds
/// of the first kind of value filled, of the second as a hollow bar over
/// it, each with ± one standard deviation and a dot per seed (where there
/// are several). The y axis reaches 1 at least (for R²).
pub fn grouped_bars(
    png: &Path,
    title: &str,
    y_name: &str,
    categories: &[&str],
    kinds: (&str, &str),
    groups: &[BarGroup],
) -> std::result::Result<(), PlotError> {
    save(
        png,
        &GroupedChart {
            title,
            y_name,
            categories,
            kinds,
            groups,
        },
    )
}

/// One run's curve.
#[derive(Clone, Debug)]
pub struct Curve {
    /// The method (its colour).
    pub method: String,
    /// The legend's name; the seeds of one name share it and its colour.
    pub name: String,
    /// (step, value) points, steps ascending.
    pub points: Vec<(f64, f64)>,
}

/// `points` smoothed by an exponential moving average over about a
/// tenth of them, bias-corrected so the first points are not pulled
/// toward zero.
pub fn smooth(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let span = (points.len() as f64 / 10.0).max(1.0);
    let keep = 1.0 - 2.0 / (span + 1.0);
    let (mut avg, mut weight) = (0.0, 0.0);
    points
        .iter()
        .map(|&(x, y)| {
            avg = keep * avg + (1.0 - keep) * y;
            weight = keep * weight + (1.0 - keep);
            (x, avg / weight)
        })
        .collect()
}

struct CurveChart<'s> {
    title: &'s str,
    x_name: &'s str,
    y_name: &'s str,
    curves: &'s [Curve],
}

impl Figure for CurveChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let colours = series_colours(self.curves.iter().map(|c| (&c.method, &c.name)));
        let mut legend: Vec<(String, RGBColor, Swatch)> = Vec::new();
        for (c, &colour) in self.curves.iter().zip(&colours) {
            if !legend.iter().any(|(n, _, _)| *n == c.name) {
                legend.push((c.name.clone(), colour, Swatch::Line));
            }
        }
        let area = frame(root, self.title, &legend)?;
        let smoothed: Vec<Vec<(f64, f64)>> =
            self.curves.iter().map(|c| smooth(&c.points)).collect();
        let xs = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0));
        let x_lo = xs.clone().fold(f64::INFINITY, f64::min);
        let x_hi = xs.fold(f64::NEG_INFINITY, f64::max);
        let (x_lo, x_hi) = if x_lo.is_finite() && x_hi > x_lo {
            (x_lo, x_hi)
        } else {
            (0.0, 1.0)
        };
        let y = range(
            self.curves
                .iter()
                .flat_map(|c| c.points.iter().map(|p| p.1)),
        );
        let ticks = integer_ticks(x_lo, x_hi);
        let label = |x: &f64| integer_label(*x);
        let mut chart = axes(
            &area,
            x_lo..x_hi,
            ticks,
            &label,
            self.x_name,
            y,
            self.y_name,
        )?;
        // Every raw curve, faint, below every smoothed one.
        for (c, &colour) in self.curves.iter().zip(&colours) {
            chart
                .draw_series(LineSeries::new(
                    c.points.clone(),
                    colour.mix(0.25).stroke_width(1),
                ))
                .map_err(msg)?;
        }
        for (points, &colour) in smoothed.into_iter().zip(&colours) {
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(msg)?;
        }
        Ok(())
    }
}

/// Training curves: each curve faint as logged, and smoothed ([`smooth`])
/// in full colour over it; x ticks are integers (steps).
pub fn curves(
    png: &Path,
    title: &str,
    x_name: &str,
    y_name: &str,
    curves: &[Curve],
) -> std::result::Result<(), PlotError> {
    save(
        png,
        &CurveChart {
            title,
            x_name,
            y_name,
            curves,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text element of an SVG: (x, y, content).
    fn text_elements(svg: &str) -> Vec<(f64, f64, String)> {
        let attr = |attrs: &str, name: &str| -> Option<f64> {
            let after = attrs.split_once(&format!(" {name}=\""))?.1;
            after.split_once('"')?.0.parse().ok()
        };
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let (attrs, rest) = t.split_once('>')?;
                let text = rest.split_once("</text>")?.0.trim().to_string();
                Some((attr(attrs, "x")?, attr(attrs, "y")?, text))
            })
            .collect()
    }

    /// The x positions of the SVG's text elements reading exactly `label`.
    fn text_x(svg: &str, label: &str) -> Vec<f64> {
        text_elements(svg)
            .into_iter()
            .filter(|(_, _, t)| t == label)
            .map(|(x, _, _)| x)
            .collect()
    }

    /// The x axis's tick labels, left to right: the numbers lowest in the
    /// picture.
    fn x_ticks(svg: &str) -> Vec<(f64, String)> {
        let numbers: Vec<(f64, f64, String)> = text_elements(svg)
            .into_iter()
            .filter(|(_, _, t)| t.parse::<f64>().is_ok())
            .collect();
        let lowest = numbers.iter().map(|n| n.1).fold(f64::MIN, f64::max);
        let mut ticks: Vec<(f64, String)> = numbers
            .into_iter()
            .filter(|n| n.1 == lowest)
            .map(|(x, _, t)| (x, t))
            .collect();
        ticks.sort_by(|a, b| a.0.total_cmp(&b.0));
        ticks
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lam-plots-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn core_methods_have_fixed_distinct_colours() {
        let core = [
            "lapo",
            "laom",
            "laom-labels",
            "idm",
            "bc",
            "bc-all-labels",
            "random",
            "expert",
            "lapo-fsq",
            "lapo-multistep",
            "lapo-latent-dim",
            "laom-no-aug",
        ];
        let colours: Vec<RGBColor> = core.iter().map(|m| colour_of(m)).collect();
        for (i, a) in colours.iter().enumerate() {
            for (j, b) in colours.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "{} and {} share a colour", core[i], core[j]);
            }
        }
        assert_eq!(colour_of("lapo"), RGBColor(0, 114, 178));
        // The mini presets colour as their method.
        assert_eq!(colour_of("laom-labels-mini"), colour_of("laom-labels"));
        assert_eq!(colour_of("official-tiny-lapo"), colour_of("lapo"));
        // Unknown names: the same colour every time, never a core method's.
        for other in ["my-lam", "lapo-vq", "x"] {
            assert_eq!(colour_of(other), colour_of(other));
            assert!(!colours.contains(&colour_of(other)), "{other}");
        }
        let spread: Vec<RGBColor> = ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .map(|m| colour_of(m))
            .collect();
        assert!(spread.iter().any(|c| *c != spread[0]), "{spread:?}");
    }

    #[test]
    fn variants_of_one_colour_differ() {
        let c = colour_of("laom-labels");
        let v: Vec<RGBColor> = (0..4).map(|k| variant(c, k)).collect();
        assert_eq!(v[0], c);
        for (i, a) in v.iter().enumerate() {
            for b in &v[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn budgets_double_at_equal_spacing_with_integer_ticks() {
        let dir = scratch("budgets");
        let png = dir.join("score.png");
        let series = [
            BudgetSeries {
                method: "laom-labels".into(),
                name: "laom-labels".into(),
                points: vec![
                    (2, vec![0.1, 0.2]),
                    (4, vec![0.3, 0.25]),
                    (8, vec![0.4, 0.5]),
                    (32, vec![0.6]),
                ],
            },
            BudgetSeries {
                method: "bc".into(),
                name: "bc".into(),
                points: vec![(2, vec![0.05]), (32, vec![0.3])],
            },
        ];
        let levels = [
            Level {
                method: "random".into(),
                name: "random actions".into(),
                value: 0.02,
            },
            Level {
                method: "expert".into(),
                name: "expert".into(),
                value: 50.0,
            },
        ];
        score_vs_labels(&png, "t", "normalized score", &series, &levels).unwrap();
        assert!(png.exists());
        let svg = std::fs::read_to_string(svg_of(&png)).unwrap();
        // Ticks at the powers of two only, each doubling the same distance on.
        let ticks = x_ticks(&svg);
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["2", "4", "8", "16", "32"]);
        let gap = ticks[1].0 - ticks[0].0;
        assert!(gap > 50.0, "{ticks:?}");
        for pair in ticks.windows(2) {
            assert!((pair[1].0 - pair[0].0 - gap).abs() <= 1.0, "{ticks:?}");
        }
        // The legend names every series and level.
        for name in ["laom-labels", "bc", "random actions"] {
            assert_eq!(text_x(&svg, name).len(), 1, "{name}");
        }
        // A level far above every score is named, not drawn: the y axis
        // stays on the scores.
        assert_eq!(text_x(&svg, "expert (50.00, off chart)").len(), 1);
        let top = text_elements(&svg)
            .iter()
            .filter_map(|t| t.2.parse::<f64>().ok())
            .fold(0.0, f64::max);
        assert_eq!(top, 32.0, "the largest number shown is the largest budget");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_chart_writes_png_and_svg() {
        let dir = scratch("both");
        let bars_png = dir.join("bars.png");
        bars(
            &bars_png,
            "probe",
            "MSE",
            &[
                Bar {
                    method: "lapo".into(),
                    name: "lapo".into(),
                    values: vec![2.0, 3.0],
                },
                Bar {
                    method: "laom".into(),
                    name: "laom (a long name that still fits)".into(),
                    values: vec![1.0],
                },
            ],
        )
        .unwrap();
        let curves_png = dir.join("curves.png");
        let points = |k: f64| (0..300).map(|s| (s as f64, k / (1.0 + s as f64))).collect();
        curves(
            &curves_png,
            "loss",
            "step",
            "loss",
            &[
                Curve {
                    method: "lapo".into(),
                    name: "lapo".into(),
                    points: points(1.0),
                },
                Curve {
                    method: "laom".into(),
                    name: "laom".into(),
                    points: points(2.0),
                },
            ],
        )
        .unwrap();
        for png in [&bars_png, &curves_png] {
            let img = image::open(png).unwrap();
            assert_eq!((img.width(), img.height()), SIZE, "{}", png.display());
            let svg = std::fs::read_to_string(svg_of(png)).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        }
        // Steps are ticked with round integers.
        let svg = std::fs::read_to_string(svg_of(&curves_png)).unwrap();
        let labels: Vec<String> = x_ticks(&svg).into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0", "50", "100", "150", "200", "250"]);
        // The bar names sit left of the plot, none clipped.
        let svg = std::fs::read_to_string(svg_of(&bars_png)).unwrap();
        assert!(text_x(&svg, "laom (a long name that still fits)")[0] > 0.0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn grouped_bars_name_every_group_and_category() {
        let dir = scratch("grouped");
        let png = dir.join("grouped.png");
        let group = |name: &str| BarGroup {
            name: name.into(),
            filled: vec![Some(vec![0.9, 0.8]), None, Some(vec![-0.1])],
            hollow: vec![Some(vec![0.95, 0.9]), None, Some(vec![0.2])],
        };
        grouped_bars(
            &png,
            "what the latent encodes",
            "R²",
            &["action", "state", "camera"],
            ("linear probe", "MLP probe"),
            &[group("lapo"), group("laom-labels (2 labels)")],
        )
        .unwrap();
        let svg = std::fs::read_to_string(svg_of(&png)).unwrap();
        for name in [
            "lapo",
            "laom-labels (2 labels)",
            "action",
            "camera",
            "MLP probe",
        ] {
            assert_eq!(text_x(&svg, name).len(), 1, "{name}");
        }
        assert!(image::open(&png).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn smoothing_keeps_levels_and_damps_noise() {
        let flat: Vec<(f64, f64)> = (0..100).map(|s| (s as f64, 3.0)).collect();
        assert!(smooth(&flat).iter().all(|p| (p.1 - 3.0).abs() < 1e-9));
        let noisy: Vec<(f64, f64)> = (0..200)
            .map(|s| (s as f64, if s % 2 == 0 { 1.0 } else { -1.0 }))
            .collect();
        let s = smooth(&noisy);
        assert_eq!(s.len(), noisy.len());
        assert!(
            s[100..].iter().all(|p| p.1.abs() < 0.2),
            "{:?}",
            &s[100..110]
        );
        assert_eq!(s[0], noisy[0]);
    }

    #[test]
    fn integer_ticks_are_round() {
        assert_eq!(
            integer_ticks(0.0, 10.0),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(integer_ticks(0.0, 3.0), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(
            integer_ticks(0.0, 3000.0),
            vec![0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0]
        );
        assert_eq!(integer_label(3000.0), "3000");
    }
}

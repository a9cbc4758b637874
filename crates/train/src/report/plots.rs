//! PNG charts for reports (plotters drawing into a buffer, saved with
//! `image`): lines over categories, bars with error bars, training curves.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

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
        path: std::path::PathBuf,
        /// The drawing library's message.
        message: String,
    },
    /// Writing the PNG failed.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The chart's file.
        path: std::path::PathBuf,
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

fn palette(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

/// Draws with `draw` into an RGB buffer and saves it as PNG at `path`.
fn save(
    path: &Path,
    draw: impl FnOnce(DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<()>,
) -> std::result::Result<(), PlotError> {
    fonts()?;
    let drawn = |message| PlotError::Draw {
        path: path.to_path_buf(),
        message,
    };
    let mut buffer = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(msg).map_err(drawn)?;
        draw(root.clone()).map_err(drawn)?;
        root.present().map_err(msg).map_err(drawn)?;
    }
    let image =
        image::RgbImage::from_raw(SIZE.0, SIZE.1, buffer).expect("the buffer holds SIZE pixels");
    lam_data::atomic::write_atomic(path, |tmp| {
        image
            .save_with_format(tmp, image::ImageFormat::Png)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let lo = lo.min(0.0);
    let pad = ((hi - lo) * 0.1).max(1e-3);
    (lo, hi + pad)
}

/// A chart with the common frame: title, margins, label areas, f64 axes.
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Chart<'a, 'b>> {
    ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)
        .map_err(msg)
}

/// The label of category `x` (categories sit at 0, 1, 2, …; none between).
fn category(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 {
        labels.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// A line of colour `i` with a legend entry.
fn line<'b>(
    chart: &mut Chart<'_, 'b>,
    name: &str,
    i: usize,
    points: Vec<(f64, f64)>,
) -> Result<()> {
    let color = palette(i);
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(2)))
        .map_err(msg)?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    Ok(())
}

/// The legend box of the lines drawn.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(msg)
}

/// One line per series over categorical x positions (None: no point).
pub fn lines(
    path: &Path,
    title: &str,
    x_name: &str,
    y_name: &str,
    xs: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> std::result::Result<(), PlotError> {
    let (lo, hi) = range(series.iter().flat_map(|(_, v)| v.iter().flatten().copied()));
    save(path, |root| {
        let n = xs.len().max(1);
        let mut chart = chart(&root, title, -0.5..(n as f64 - 0.5), lo..hi)?;
        chart
            .configure_mesh()
            .x_desc(x_name)
            .y_desc(y_name)
            .x_labels(n)
            .x_label_formatter(&|x| category(xs, *x))
            .draw()
            .map_err(msg)?;
        for (i, (name, values)) in series.iter().enumerate() {
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(j, v)| v.map(|v| (j as f64, v)))
                .collect();
            line(&mut chart, name, i, points.clone())?;
            let color = palette(i);
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(msg)?;
        }
        legend(&mut chart)
    })
}

/// Horizontal bars (one per named value, top to bottom in order) with
/// error bars of ± the third value; names sit left of their bar, however long.
pub fn bars(
    path: &Path,
    title: &str,
    x_name: &str,
    bars: &[(String, f64, f64)],
) -> std::result::Result<(), PlotError> {
    let (lo, hi) = range(bars.iter().map(|b| b.1 + b.2));
    // Top to bottom: the first bar at the top.
    let n = bars.len().max(1);
    let names: Vec<String> = bars.iter().rev().map(|b| b.0.clone()).collect();
    let longest = names.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    save(path, |root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size((longest as u32 * 7 + 16).clamp(60, 360))
            .build_cartesian_2d(lo..hi, -0.5..(n as f64 - 0.5))
            .map_err(msg)?;
        chart
            .configure_mesh()
            .x_desc(x_name)
            .y_labels(n)
            .y_label_formatter(&|y| category(&names, *y))
            .disable_y_mesh()
            .draw()
            .map_err(msg)?;
        for (i, (_, v, err)) in bars.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            chart
                .draw_series([Rectangle::new(
                    [(0.0, y - 0.35), (*v, y + 0.35)],
                    palette(i).filled(),
                )])
                .map_err(msg)?;
            if *err > 0.0 {
                chart
                    .draw_series([PathElement::new(
                        vec![(v - err, y), (v + err, y)],
                        BLACK.stroke_width(2),
                    )])
                    .map_err(msg)?;
            }
        }
        Ok(())
    })
}

/// Curves of (x, y) points, one per series.
pub fn curves(
    path: &Path,
    title: &str,
    x_name: &str,
    y_name: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> std::result::Result<(), PlotError> {
    let (x_lo, x_hi) = range(series.iter().flat_map(|(_, v)| v.iter().map(|p| p.0)));
    let (y_lo, y_hi) = range(series.iter().flat_map(|(_, v)| v.iter().map(|p| p.1)));
    save(path, |root| {
        let mut chart = chart(&root, title, x_lo..x_hi, y_lo..y_hi)?;
        chart
            .configure_mesh()
            .x_desc(x_name)
            .y_desc(y_name)
            .draw()
            .map_err(msg)?;
        for (i, (name, points)) in series.iter().enumerate() {
            line(&mut chart, name, i, points.clone())?;
        }
        legend(&mut chart)
    })
}

//! `lam render`: an episode of a task with its distractions, as an animated
//! GIF or a PNG strip, so a person can look at it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbImage, RgbaImage};
use lam_env::distractors::DistractorState;
use lam_env::render::{RenderConfig, Renderer};
use lam_env::{Environment, PixelEnv, TaskId};

use crate::args::DistractionArgs;
use crate::progress;
use lam_data::atomic::write_atomic;

/// Arguments of `lam render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Task: cheetah-run, walker-run, hopper-hop or humanoid-walk.
    #[arg(long)]
    task: TaskId,
    #[command(flatten)]
    distractions: DistractionArgs,
    /// Control steps after the first frame.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Expert checkpoint to act with (default: smooth pseudo-random actions).
    #[arg(long)]
    expert: Option<PathBuf>,
    /// Image side in pixels (the environment's resolution).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Enlarge each pixel to zoom x zoom for viewing (1 = exact pixels).
    #[arg(long, default_value_t = 4)]
    zoom: usize,
    /// Rays per pixel side on geometry edges (1 = no anti-aliasing).
    #[arg(long, default_value_t = 2)]
    supersample: usize,
    /// Seed of the episode (physics and distractions).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: .gif for an animation of every frame, .png for a strip.
    #[arg(long)]
    out: PathBuf,
    /// Also write a PNG strip of frames here.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// Frames in a PNG strip (evenly spaced over the episode; 1 = the last frame).
    #[arg(long, default_value_t = 10)]
    strip_frames: usize,
    /// Also show the simulator's ground truth: strips and animations get a
    /// second row with the agent mask and a third in false colour (agent
    /// pixels in orange over the greyed frame, scenery in blue), and
    /// OUT.ground-truth.csv lists the distractor state of every frame
    /// (camera offsets, background video and frame, mean colour offset).
    #[arg(long)]
    ground_truth: bool,
}

/// Renders the episode and writes the files.
pub fn run(args: RenderArgs) -> Result<()> {
    if args.size == 0 || args.zoom == 0 {
        bail!("--size and --zoom must be at least 1");
    }
    let kind = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
    };
    let out_kind = kind(&args.out);
    if !matches!(out_kind.as_deref(), Some("gif" | "png")) {
        bail!(
            "--out {}: expected a .gif (animation) or .png (strip) file name",
            args.out.display()
        );
    }
    if let Some(p) = &args.png {
        if kind(p).as_deref() != Some("png") {
            bail!("--png {}: expected a .png file name", p.display());
        }
    }
    let episode = episode_frames(&args)?;
    let frames = &episode.frames;
    let images: Vec<RgbImage> = frames
        .iter()
        .enumerate()
        .map(|(t, f)| {
            let frame = zoomed(f, args.size, args.zoom);
            match episode.masks.get(t) {
                Some(mask) => with_ground_truth(&frame, f, mask, args.size, args.zoom),
                None => frame,
            }
        })
        .collect();
    let csv = args.ground_truth.then(|| {
        let mut name = args.out.file_stem().unwrap_or_default().to_os_string();
        name.push(".ground-truth.csv");
        args.out.with_file_name(name)
    });
    if let Some(path) = &csv {
        write_atomic(path, |tmp| {
            std::fs::write(tmp, states_csv(&episode.states))
                .with_context(|| format!("writing {}", path.display()))
        })?;
    }
    if out_kind.as_deref() == Some("gif") {
        write_gif(&args.out, &images)?;
    } else {
        write_strip(&args.out, &pick(&images, args.strip_frames))?;
    }
    if let Some(p) = &args.png {
        write_strip(p, &pick(&images, args.strip_frames))?;
    }
    println!(
        "{} {} ({}, {}): {} frames to {}{}",
        args.task,
        args.distractions.preset,
        if args.distractions.frozen {
            "static"
        } else {
            "dynamic"
        },
        args.distractions.split.name(),
        frames.len(),
        args.out.display(),
        args.png
            .iter()
            .chain(&csv)
            .map(|p| format!(" and {}", p.display()))
            .collect::<String>()
    );
    Ok(())
}

/// An episode's frames and, with `--ground-truth`, its agent masks and
/// distractor states (one per frame).
struct Episode {
    frames: Vec<Vec<u8>>,
    masks: Vec<Vec<u8>>,
    states: Vec<DistractorState>,
}

/// A zoomed frame with two rows below: the agent mask (white on black) and
/// the false-colour view (agent orange over the greyed frame, scenery blue).
fn with_ground_truth(
    frame: &RgbImage,
    rgb: &[u8],
    mask: &[u8],
    size: usize,
    zoom: usize,
) -> RgbImage {
    let s = (size * zoom) as u32;
    let mut out = RgbImage::new(s, 3 * s);
    image::imageops::replace(&mut out, frame, 0, 0);
    for y in 0..s {
        for x in 0..s {
            let p = (y as usize / zoom) * size + x as usize / zoom;
            let agent = mask[p] == 1;
            let v = if agent { 255 } else { 0 };
            out.put_pixel(x, s + y, image::Rgb([v, v, v]));
            let grey = (rgb[p * 3] as u32 + rgb[p * 3 + 1] as u32 + rgb[p * 3 + 2] as u32) / 3;
            let tint = |c: [u32; 3]| image::Rgb(c.map(|c| ((c + grey) / 2) as u8));
            let colour = if agent {
                tint([255, 140, 0])
            } else {
                tint([30, 60, 160])
            };
            out.put_pixel(x, 2 * s + y, colour);
        }
    }
    out
}

/// One line per frame: step, camera offsets, background video and frame
/// (-1 without a background) and the mean absolute colour offset.
fn states_csv(states: &[DistractorState]) -> String {
    let mut csv =
        String::from("step,azimuth,elevation,radius,roll,video,frame,mean_abs_colour_offset\n");
    for (t, s) in states.iter().enumerate() {
        let c = s.camera;
        let (video, frame) = s.background.map_or((-1, -1), |(v, f)| (v as i64, f as i64));
        let n = (s.colour.len() * 3).max(1) as f32;
        let colour = s.colour.iter().flatten().map(|v| v.abs()).sum::<f32>() / n;
        csv.push_str(&format!(
            "{t},{:.6},{:.6},{:.6},{:.6},{video},{frame},{colour:.6}\n",
            c.azimuth, c.elevation, c.radius, c.roll
        ));
    }
    csv
}

/// Steps an episode and returns every frame (the first after reset, then
/// one per step), with its ground truth when asked for.
fn episode_frames(args: &RenderArgs) -> Result<Episode> {
    let probe = Environment::new(args.task, args.seed)?;
    let policy = match &args.expert {
        Some(path) => {
            let p = lam_experts::load_expert(path)?;
            lam_experts::check_fits(
                p.as_ref(),
                path,
                args.task,
                probe.observation_size(),
                probe.action_size(),
            )?;
            Some(p)
        }
        None => None,
    };
    let config = RenderConfig {
        width: args.size,
        height: args.size,
        supersample: args.supersample,
        ..RenderConfig::default()
    };
    let renderer = Arc::new(Renderer::new(probe.physics().model(), config)?);
    let distractions = args.distractions.config();
    let library = distractions
        .library(args.size, args.size)
        .context("loading background videos")?;
    let mut env = PixelEnv::new(args.task, args.seed, renderer, &distractions, library)?;
    env.record_masks(args.ground_truth);
    let nu = probe.action_size();
    let mut observation = env.reset()?;
    let mut episode = Episode {
        frames: Vec::new(),
        masks: Vec::new(),
        states: Vec::new(),
    };
    let mut keep = |env: &PixelEnv| {
        episode.frames.push(env.frame().to_vec());
        if let Some(mask) = env.mask() {
            episode.masks.push(mask.to_vec());
            episode.states.push(env.distractor_state());
        }
    };
    keep(&env);
    let bar = progress::bar(args.steps as u64, "steps");
    bar.set_message(format!("rendering {}", args.task));
    for t in 0..args.steps {
        let action = match &policy {
            Some(p) => p.act(&observation),
            None => (0..nu)
                .map(|i| (0.05 * t as f64 + 1.3 * i as f64).sin())
                .collect(),
        };
        let step = env.step(&action)?;
        observation = step.observation;
        keep(&env);
        if step.done {
            observation = env.reset()?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(episode)
}

/// An RGB frame enlarged by `zoom` (nearest neighbour).
fn zoomed(frame: &[u8], size: usize, zoom: usize) -> RgbImage {
    let s = size * zoom;
    RgbImage::from_fn(s as u32, s as u32, |x, y| {
        let at = ((y as usize / zoom) * size + x as usize / zoom) * 3;
        image::Rgb([frame[at], frame[at + 1], frame[at + 2]])
    })
}

/// `n` frames evenly spaced from first to last (just the last when `n` is 1).
fn pick(images: &[RgbImage], n: usize) -> Vec<&RgbImage> {
    let n = n.clamp(1, images.len());
    if n == 1 {
        return vec![&images[images.len() - 1]];
    }
    (0..n)
        .map(|i| &images[i * (images.len() - 1) / (n - 1)])
        .collect()
}

fn write_strip(path: &Path, images: &[&RgbImage]) -> Result<()> {
    let (w, h) = images.first().map_or((1, 1), |i| i.dimensions());
    let mut strip = RgbImage::new(w * images.len() as u32, h);
    for (i, img) in images.iter().enumerate() {
        image::imageops::replace(&mut strip, *img, i as i64 * w as i64, 0);
    }
    write_atomic(path, |tmp| {
        strip
            .save_with_format(tmp, image::ImageFormat::Png)
            .with_context(|| format!("writing {}", path.display()))
    })
}

fn write_gif(path: &Path, images: &[RgbImage]) -> Result<()> {
    write_atomic(path, |tmp| {
        let file =
            std::fs::File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut encoder = GifEncoder::new_with_speed(std::io::BufWriter::new(file), 10);
        encoder.set_repeat(Repeat::Infinite)?;
        for img in images {
            let rgba: RgbaImage = image::DynamicImage::ImageRgb8(img.clone()).to_rgba8();
            let frame = Frame::from_parts(rgba, 0, 0, Delay::from_numer_denom_ms(50, 1));
            encoder
                .encode_frame(frame)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    })
}

//! Puts PNG images side by side (each scaled to 256 px high, nearest
//! neighbour), for the renderer comparisons under docs/:
//! `cargo run --release -p lam-env --example beside -- OUT.png A.png B.png ...`.

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

const HEIGHT: u32 = 256;
const GAP: u32 = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, inputs @ ..] = &args[..] else {
        return Err("usage: beside OUT.png A.png B.png ...".into());
    };
    if inputs.is_empty() {
        return Err("usage: beside OUT.png A.png B.png ...".into());
    }
    let images = inputs
        .iter()
        .map(|p| {
            let img = image::open(p).map_err(|e| format!("{p}: {e}"))?.to_rgb8();
            let w = img.width() * HEIGHT / img.height();
            Ok(imageops::resize(&img, w, HEIGHT, FilterType::Nearest))
        })
        .collect::<Result<Vec<RgbImage>, String>>()?;
    let width = images.iter().map(|i| i.width()).sum::<u32>() + GAP * (images.len() as u32 - 1);
    let mut canvas = RgbImage::from_pixel(width, HEIGHT, Rgb([255, 255, 255]));
    let mut x = 0;
    for img in &images {
        imageops::replace(&mut canvas, img, x as i64, 0);
        x += img.width() + GAP;
    }
    canvas.save(out)?;
    println!("wrote {out}");
    Ok(())
}

//! DAVIS-style video folders: one sub-folder of JPEG frames per video, and
//! the DAVIS 2017 train/val split names the Distracting Control Suite uses.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use super::background::{BackgroundError, Video};

/// DAVIS 2017 training videos (60), in the order the suite takes them.
pub const TRAIN: [&str; 60] = [
    "bear",
    "bmx-bumps",
    "boat",
    "boxing-fisheye",
    "breakdance-flare",
    "bus",
    "car-turn",
    "cat-girl",
    "classic-car",
    "color-run",
    "crossing",
    "dance-jump",
    "dancing",
    "disc-jockey",
    "dog-agility",
    "dog-gooses",
    "dogs-scale",
    "drift-turn",
    "drone",
    "elephant",
    "flamingo",
    "hike",
    "hockey",
    "horsejump-low",
    "kid-football",
    "kite-walk",
    "koala",
    "lady-running",
    "lindy-hop",
    "longboard",
    "lucia",
    "mallard-fly",
    "mallard-water",
    "miami-surf",
    "motocross-bumps",
    "motorbike",
    "night-race",
    "paragliding",
    "planes-water",
    "rallye",
    "rhino",
    "rollerblade",
    "schoolgirls",
    "scooter-board",
    "scooter-gray",
    "sheep",
    "skate-park",
    "snowboard",
    "soccerball",
    "stroller",
    "stunt",
    "surf",
    "swing",
    "tennis",
    "tractor-sand",
    "train",
    "tuk-tuk",
    "upside-down",
    "varanus-cage",
    "walking",
];

/// DAVIS 2017 validation videos (30).
pub const VAL: [&str; 30] = [
    "bike-packing",
    "blackswan",
    "bmx-trees",
    "breakdance",
    "camel",
    "car-roundabout",
    "car-shadow",
    "cows",
    "dance-twirl",
    "dog",
    "dogs-jump",
    "drift-chicane",
    "drift-straight",
    "goat",
    "gold-fish",
    "horsejump-high",
    "india",
    "judo",
    "kite-surf",
    "lab-coat",
    "libby",
    "loading",
    "mbike-trick",
    "motocross-jump",
    "paragliding-launch",
    "parkour",
    "pigs",
    "scooter-black",
    "shooting",
    "soapbox",
];

/// The folder holding the video folders: `root` itself, or
/// `root/JPEGImages/480p` when `root` is a DAVIS download.
pub fn video_root(root: &Path) -> Result<PathBuf, BackgroundError> {
    if !root.is_dir() {
        return Err(BackgroundError::Folder {
            path: root.to_path_buf(),
            reason: "does not exist or is not a folder".into(),
        });
    }
    let davis = root.join("JPEGImages").join("480p");
    Ok(if davis.is_dir() {
        davis
    } else {
        root.to_path_buf()
    })
}

/// The JPEG frames of a video folder, sorted by name; errors for a missing
/// folder, no frames, or a zero-byte file.
pub fn frame_files(dir: &Path) -> Result<Vec<PathBuf>, BackgroundError> {
    let listing = std::fs::read_dir(dir).map_err(|e| BackgroundError::Folder {
        path: dir.to_path_buf(),
        reason: format!("cannot list the video's frames ({e})"),
    })?;
    let mut files: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    if files.is_empty() {
        return Err(BackgroundError::EmptyVideo(dir.to_path_buf()));
    }
    files.sort();
    for f in &files {
        let len = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            return Err(BackgroundError::Frame {
                path: f.clone(),
                reason: "empty file (0 bytes)".into(),
            });
        }
    }
    Ok(files)
}

/// Decodes every frame and resizes it to `width x height`.
pub fn load(
    dir: &Path,
    files: &[PathBuf],
    width: usize,
    height: usize,
) -> Result<Video, BackgroundError> {
    let frames = files
        .iter()
        .map(|f| {
            let img = image::open(f).map_err(|e| BackgroundError::Frame {
                path: f.clone(),
                reason: format!("not a readable JPEG ({e})"),
            })?;
            let small = img
                .resize_exact(width as u32, height as u32, FilterType::Triangle)
                .to_rgb8();
            Ok(small.into_raw())
        })
        .collect::<Result<Vec<_>, BackgroundError>>()?;
    if frames.is_empty() {
        return Err(BackgroundError::EmptyVideo(dir.to_path_buf()));
    }
    Ok(Video {
        width,
        height,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::distractors::{Split, VideoLibrary};

    /// A fresh folder under the system temp dir.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lam-davis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write_jpeg(path: &Path, shade: u8) {
        let img = image::RgbImage::from_fn(40, 30, |x, _| image::Rgb([shade, (x * 6) as u8, 100]));
        img.save(path).unwrap();
    }

    #[test]
    fn a_davis_folder_reads_resized_frames_in_order() {
        let root = scratch("ok");
        let videos = root.join("JPEGImages").join("480p");
        for (name, shades) in [("bear", [10u8, 200]), ("boat", [90, 90])] {
            std::fs::create_dir_all(videos.join(name)).unwrap();
            for (i, s) in shades.iter().enumerate() {
                write_jpeg(&videos.join(name).join(format!("{i:05}.jpg")), *s);
            }
        }
        let split = Split::Videos(vec!["bear".into(), "boat".into()]);
        let library = VideoLibrary::from_folder(&root, &split, 8, 6).unwrap();
        assert_eq!(library.len(), 2);
        library.load_all().unwrap();
        let bear = library.video(0).unwrap();
        assert_eq!((bear.width, bear.height, bear.frames.len()), (8, 6, 2));
        assert_eq!(bear.frames[0].len(), 8 * 6 * 3);
        // Frame order follows file names: dark first, then bright.
        assert!(bear.frames[0][0] < 60 && bear.frames[1][0] > 150);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn missing_empty_and_broken_folders_are_named_in_errors() {
        let root = scratch("bad");
        let err = VideoLibrary::from_folder(&root.join("nope"), &Split::Train, 8, 8).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        // The train split needs "bear" first: missing.
        let err = VideoLibrary::from_folder(&root, &Split::Train, 8, 8).unwrap_err();
        assert!(err.to_string().contains("bear"), "{err}");
        std::fs::create_dir_all(root.join("empty")).unwrap();
        let split = |n: &str| Split::Videos(vec![n.to_string()]);
        let err = VideoLibrary::from_folder(&root, &split("empty"), 8, 8).unwrap_err();
        assert!(err.to_string().contains("no .jpg"), "{err}");
        std::fs::create_dir_all(root.join("zero")).unwrap();
        std::fs::write(root.join("zero").join("00000.jpg"), b"").unwrap();
        let err = VideoLibrary::from_folder(&root, &split("zero"), 8, 8).unwrap_err();
        assert!(
            err.to_string().contains("00000.jpg") && err.to_string().contains("0 bytes"),
            "{err}"
        );
        std::fs::create_dir_all(root.join("junk")).unwrap();
        std::fs::write(root.join("junk").join("00000.jpg"), b"not a jpeg at all").unwrap();
        let library = VideoLibrary::from_folder(&root, &split("junk"), 8, 8).unwrap();
        // Loading everything up front reports the same broken file.
        let err = library.load_all().unwrap_err();
        assert!(err.to_string().contains("junk/00000.jpg"), "{err}");
        let err = library.video(0).unwrap_err();
        assert!(err.to_string().contains("junk/00000.jpg"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn split_names_are_distinct_and_disjoint() {
        let all: std::collections::HashSet<_> = TRAIN.iter().chain(VAL.iter()).collect();
        assert_eq!(all.len(), 90);
    }
}

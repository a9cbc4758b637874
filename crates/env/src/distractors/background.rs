//! Background videos: a library (built-in generated videos or a DAVIS-style
//! folder of JPEG frames), loaded lazily and shared between environments,
//! and the per-environment playback (forward one frame per step, bouncing
//! at the ends; or one still frame).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rand::Rng;

use super::davis;
use super::procedural;

/// One background video, every frame resized to the render size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Video {
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// RGB frames, each `height x width x 3`.
    pub frames: Vec<Vec<u8>>,
}

/// Which videos of a source: DAVIS 2017's 60-video train or 30-video val
/// split, or an explicit list of names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// The training split.
    Train,
    /// The validation split (held-out backgrounds for evaluation).
    Val,
    /// These videos, in this order.
    Videos(Vec<String>),
}

impl Split {
    /// "train", "val", or "custom".
    pub fn name(&self) -> &str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Videos(_) => "custom",
        }
    }
}

impl std::str::FromStr for Split {
    type Err = BackgroundError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "train" => Ok(Split::Train),
            "val" => Ok(Split::Val),
            other => Err(BackgroundError::UnknownSplit(other.to_string())),
        }
    }
}

/// Errors of background sources.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackgroundError {
    /// The folder does not exist or cannot be listed.
    #[error("background folder {path}: {reason}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A video folder has no JPEG frames.
    #[error("background video folder {0} has no .jpg/.jpeg frames")]
    EmptyVideo(PathBuf),
    /// A frame file cannot be used.
    #[error("background frame {path}: {reason}")]
    Frame {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A split name other than train/val.
    #[error("unknown background split {0:?}: expected train or val")]
    UnknownSplit(String),
}

/// Where the videos of a library come from.
#[derive(Clone, Debug)]
enum VideoSource {
    Generated { seed: u64 },
    Frames { dir: PathBuf, files: Vec<PathBuf> },
}

#[derive(Debug)]
struct Entry {
    name: String,
    source: VideoSource,
    video: OnceLock<Result<Arc<Video>, BackgroundError>>,
}

/// The videos a preset draws from, at one frame size. Videos are produced
/// (generated or decoded) on first use and shared by every environment that
/// holds the library.
#[derive(Debug)]
pub struct VideoLibrary {
    width: usize,
    height: usize,
    entries: Vec<Entry>,
}

impl VideoLibrary {
    /// Built-in generated videos: as many as DAVIS has in `split` (60 train,
    /// 30 val; distinct seeds per split), or one per name of an explicit list.
    pub fn builtin(split: &Split, width: usize, height: usize) -> Self {
        let names: Vec<String> = match split {
            Split::Train => (0..davis::TRAIN.len())
                .map(|i| format!("builtin-train-{i:02}"))
                .collect(),
            Split::Val => (0..davis::VAL.len())
                .map(|i| format!("builtin-val-{i:02}"))
                .collect(),
            Split::Videos(names) => names.clone(),
        };
        let entries = names
            .into_iter()
            .map(|name| Entry {
                source: VideoSource::Generated {
                    seed: name_seed(&name),
                },
                name,
                video: OnceLock::new(),
            })
            .collect();
        Self {
            width,
            height,
            entries,
        }
    }

    /// Videos of `split` from a DAVIS-style folder: one sub-folder of JPEG
    /// frames per video (`root` may also be the DAVIS root holding
    /// `JPEGImages/480p`). Every listed folder must exist and hold non-empty
    /// JPEG files; frames are decoded on first use.
    pub fn from_folder(
        root: &Path,
        split: &Split,
        width: usize,
        height: usize,
    ) -> Result<Self, BackgroundError> {
        let root = davis::video_root(root)?;
        let names: Vec<String> = match split {
            Split::Train => davis::TRAIN.iter().map(|s| s.to_string()).collect(),
            Split::Val => davis::VAL.iter().map(|s| s.to_string()).collect(),
            Split::Videos(names) => names.clone(),
        };
        let entries = names
            .into_iter()
            .map(|name| {
                let dir = root.join(&name);
                let files = davis::frame_files(&dir)?;
                Ok(Entry {
                    name,
                    source: VideoSource::Frames { dir, files },
                    video: OnceLock::new(),
                })
            })
            .collect::<Result<Vec<_>, BackgroundError>>()?;
        Ok(Self {
            width,
            height,
            entries,
        })
    }

    /// Keeps the first `n` videos (the presets' "first 4 of the split").
    pub fn truncate(mut self, n: usize) -> Self {
        self.entries.truncate(n);
        self
    }

    /// Number of videos.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no videos.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Name of video `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.entries[i].name
    }

    /// Frame size (width, height).
    pub fn frame_size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Produces every video now, in parallel on the current rayon pool
    /// (otherwise each is produced on first use, inside some reset).
    pub fn load_all(&self) -> Result<(), BackgroundError> {
        use rayon::prelude::*;
        (0..self.len())
            .into_par_iter()
            .try_for_each(|i| self.video(i).map(drop))
    }

    /// Video `i`, generated or decoded on first use.
    pub fn video(&self, i: usize) -> Result<Arc<Video>, BackgroundError> {
        let e = &self.entries[i];
        e.video
            .get_or_init(|| {
                match &e.source {
                    VideoSource::Generated { seed } => {
                        Ok(procedural::generate(*seed, self.width, self.height))
                    }
                    VideoSource::Frames { dir, files } => {
                        davis::load(dir, files, self.width, self.height)
                    }
                }
                .map(Arc::new)
            })
            .clone()
    }
}

/// A stable seed from a video name (FNV-1a).
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Playback of one video in one environment.
#[derive(Clone, Debug)]
pub struct Playback {
    video: Arc<Video>,
    index: usize,
    /// Video number in the library.
    pub video_id: usize,
    forward: bool,
    dynamic: bool,
}

impl Playback {
    /// Picks a random video of `library` and a random start frame.
    pub fn start(
        library: &VideoLibrary,
        dynamic: bool,
        rng: &mut impl Rng,
    ) -> Result<Self, BackgroundError> {
        let video_id = rng.random_range(0..library.len());
        let video = library.video(video_id)?;
        let index = rng.random_range(0..video.frames.len());
        Ok(Self {
            video,
            index,
            video_id,
            forward: true,
            dynamic,
        })
    }

    /// Playback of video `video_id` of `library` standing at frame `index`
    /// (a recorded state played back).
    pub fn at(
        library: &VideoLibrary,
        video_id: usize,
        index: usize,
        dynamic: bool,
    ) -> Result<Self, BackgroundError> {
        let video = library.video(video_id)?;
        let index = index.min(video.frames.len().saturating_sub(1));
        Ok(Self {
            video,
            index,
            video_id,
            forward: true,
            dynamic,
        })
    }

    /// The frame shown now.
    pub fn frame(&self) -> &[u8] {
        &self.video.frames[self.index]
    }

    /// Index of the frame shown now.
    pub fn frame_index(&self) -> usize {
        self.index
    }

    /// The video played.
    pub fn video(&self) -> &Video {
        &self.video
    }

    /// Advances one frame (dynamic only), bouncing at either end.
    pub fn step(&mut self) {
        let n = self.video.frames.len();
        if !self.dynamic || n < 2 {
            return;
        }
        if self.forward && self.index + 1 >= n {
            self.forward = false;
        } else if !self.forward && self.index == 0 {
            self.forward = true;
        }
        if self.forward {
            self.index += 1;
        } else {
            self.index -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn builtin_splits_have_davis_sizes_and_distinct_videos() {
        let train = VideoLibrary::builtin(&Split::Train, 8, 8);
        let val = VideoLibrary::builtin(&Split::Val, 8, 8);
        assert_eq!((train.len(), val.len()), (60, 30));
        assert_ne!(
            train.video(0).unwrap().frames[0],
            val.video(0).unwrap().frames[0]
        );
        assert_eq!(train.truncate(4).len(), 4);
    }

    #[test]
    fn playback_bounces_and_static_stands_still() {
        let library = VideoLibrary::builtin(&Split::Val, 4, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut p = Playback::start(&library, true, &mut rng).unwrap();
        let n = p.video().frames.len();
        let mut seen = Vec::new();
        for _ in 0..3 * n {
            seen.push(p.frame_index());
            p.step();
        }
        assert!(seen.windows(2).all(|w| w[0].abs_diff(w[1]) == 1));
        assert!(seen.contains(&0) && seen.contains(&(n - 1)));
        let mut still = Playback::start(&library, false, &mut rng).unwrap();
        let first = still.frame().to_vec();
        for _ in 0..10 {
            still.step();
        }
        assert_eq!(still.frame(), &first[..]);
    }
}

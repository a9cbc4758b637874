//! The Distracting Control Suite's difficulty presets.

use std::fmt;
use std::str::FromStr;

/// A difficulty preset: the scale of camera and colour changes and how many
/// background videos of the split are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// No distractions: the plain Control Suite look.
    Vanilla,
    /// Scale 0.1, the first 4 videos of the split.
    Easy,
    /// Scale 0.2, the first 8 videos.
    Medium,
    /// Scale 0.3, every video of the split.
    Hard,
    /// Scale 0.1, every video of the split (the paper's setting).
    ScaleEasyVideoHard,
}

impl Preset {
    /// Every preset, mildest first.
    pub const ALL: [Preset; 5] = [
        Preset::Vanilla,
        Preset::Easy,
        Preset::Medium,
        Preset::Hard,
        Preset::ScaleEasyVideoHard,
    ];

    /// The preset's name as written on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Vanilla => "vanilla",
            Preset::Easy => "easy",
            Preset::Medium => "medium",
            Preset::Hard => "hard",
            Preset::ScaleEasyVideoHard => "scale_easy_video_hard",
        }
    }

    /// Scale of camera and colour distractions.
    pub fn scale(self) -> f64 {
        match self {
            Preset::Vanilla => 0.0,
            Preset::Easy | Preset::ScaleEasyVideoHard => 0.1,
            Preset::Medium => 0.2,
            Preset::Hard => 0.3,
        }
    }

    /// How many videos of the split are used: `None` for no background,
    /// `Some(usize::MAX)` for all of them.
    pub fn videos(self) -> Option<usize> {
        match self {
            Preset::Vanilla => None,
            Preset::Easy => Some(4),
            Preset::Medium => Some(8),
            Preset::Hard | Preset::ScaleEasyVideoHard => Some(usize::MAX),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown preset name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown distraction preset {0:?}: expected one of vanilla, easy, medium, hard, scale_easy_video_hard")]
pub struct UnknownPreset(pub String);

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s || p.name().replace('_', "-") == s)
            .ok_or_else(|| UnknownPreset(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for p in Preset::ALL {
            assert_eq!(p.name().parse::<Preset>(), Ok(p));
        }
        assert_eq!(
            "scale-easy-video-hard".parse::<Preset>(),
            Ok(Preset::ScaleEasyVideoHard)
        );
        let err = "harder".parse::<Preset>().unwrap_err();
        assert!(err.to_string().contains("harder"));
        assert!(err.to_string().contains("medium"));
    }

    #[test]
    fn table_of_distractors_md() {
        assert_eq!(Preset::Vanilla.scale(), 0.0);
        assert_eq!(Preset::Vanilla.videos(), None);
        assert_eq!(Preset::Easy.videos(), Some(4));
        assert_eq!(Preset::Medium.scale(), 0.2);
        assert_eq!(Preset::Hard.scale(), 0.3);
        assert_eq!(Preset::ScaleEasyVideoHard.scale(), 0.1);
        assert_eq!(Preset::ScaleEasyVideoHard.videos(), Some(usize::MAX));
    }
}

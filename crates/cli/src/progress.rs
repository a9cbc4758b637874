//! Progress bars in one style.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` items with a message, rate and ETA; hidden when stderr is not a terminal.
pub fn bar(len: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

/// Prints `line` above `bar`, or to stderr when the bar is hidden (no
/// terminal: a log file), where indicatif's `println` would drop it.
pub fn println(bar: &ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        eprintln!("{}", line.as_ref());
    } else {
        bar.println(line);
    }
}

/// Draws the reports of library work ([`lam_train::progress::Progress`]):
/// one bar per piece of work, lines printed above it.
#[derive(Default)]
pub struct Bars {
    bar: Option<ProgressBar>,
}

impl Bars {
    /// Shows one report.
    pub fn report(&mut self, p: lam_train::progress::Progress<'_>) {
        use lam_train::progress::Progress;
        match p {
            Progress::Begin {
                total,
                at,
                unit,
                what,
            } => {
                if let Some(old) = self.bar.take() {
                    old.finish_and_clear();
                }
                let b = bar(total, unit);
                b.set_position(at);
                b.reset_eta();
                b.set_message(what.to_string());
                self.bar = Some(b);
            }
            Progress::At(n) => {
                if let Some(b) = &self.bar {
                    b.set_position(n);
                }
            }
            Progress::Status(s) => {
                if let Some(b) = &self.bar {
                    b.set_message(s.to_string());
                }
            }
            Progress::Line(l) => match &self.bar {
                Some(b) => println(b, l),
                None => eprintln!("{l}"),
            },
            Progress::End => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

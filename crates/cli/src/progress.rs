//! Progress bars in one style.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

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
/// one bar per piece of work, lines printed above it, and optionally an
/// overall bar below it (a pipeline's stages).
#[derive(Default)]
pub struct Bars {
    bar: Option<ProgressBar>,
    overall: Option<(MultiProgress, ProgressBar)>,
}

impl Bars {
    /// Bars with an overall bar of `len` stages below the work's own bar.
    pub fn with_overall(len: u64) -> Self {
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(len));
        overall.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} stages run (eta {eta})")
                .expect("valid template")
                .progress_chars("#> "),
        );
        Self {
            bar: None,
            overall: Some((multi, overall)),
        }
    }

    /// The overall bar, when there is one.
    pub fn overall(&self) -> Option<&ProgressBar> {
        self.overall.as_ref().map(|(_, b)| b)
    }

    /// Prints `line` above every bar (to stderr when they are hidden).
    pub fn line(&self, line: impl AsRef<str>) {
        match (&self.bar, &self.overall) {
            (Some(b), _) => println(b, line),
            (None, Some((_, o))) => println(o, line),
            (None, None) => eprintln!("{}", line.as_ref()),
        }
    }

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
                let b = match &self.overall {
                    Some((multi, o)) => multi.insert_before(o, bar(total, unit)),
                    None => bar(total, unit),
                };
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
            Progress::Line(l) => self.line(l),
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
        if let Some((_, o)) = self.overall.take() {
            o.finish_and_clear();
        }
    }
}

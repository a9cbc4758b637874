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

//! The one progress display of the streamed commands (`key rotate`, `backup create`,
//! `backup verify`, `app migrate`, `app import-cache-manager`): an indicatif bar when stderr is
//! a terminal (a byte bar for `bytes`, a count bar otherwise), a few plain lines a second when
//! it is not (logs, CI), and nothing with `--json`, whose promise is a clean stdout and stderr.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use cachectl::Progress;
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::format_bytes;

/// Least time between two plain progress lines of the same label.
const LINE_EVERY: Duration = Duration::from_millis(500);

/// Shows the progress reports of one streamed request.
pub struct Reporter {
    mode: Mode,
}

enum Mode {
    /// `--json`: nothing.
    Quiet,
    /// A terminal: the bar of the current label.
    Bar(Option<(String, ProgressBar)>),
    /// Not a terminal: throttled plain lines.
    Lines(LineThrottle),
}

impl Reporter {
    /// The display fitting the output: none for `json`, a bar on a terminal, else lines.
    pub fn new(json: bool) -> Self {
        let mode = if json {
            Mode::Quiet
        } else if io::stderr().is_terminal() {
            Mode::Bar(None)
        } else {
            Mode::Lines(LineThrottle::default())
        };
        Self { mode }
    }

    /// A bar on a terminal and nothing otherwise: `key rotate` has always kept logs and pipes
    /// free of progress, and scripts may rely on an empty stderr when it succeeds.
    pub fn terminal_only(json: bool) -> Self {
        let mode = if !json && io::stderr().is_terminal() { Mode::Bar(None) } else { Mode::Quiet };
        Self { mode }
    }

    /// Shows one report; a new label (namespace, app, backup) starts a new bar.
    pub fn update(&mut self, progress: &Progress) {
        match &mut self.mode {
            Mode::Quiet => {}
            Mode::Bar(current) => {
                if !matches!(current, Some((label, _)) if *label == progress.ns) {
                    if let Some((_, ended)) = current.take() {
                        ended.finish();
                    }
                    *current = Some((progress.ns.clone(), new_bar(progress)));
                }
                if let Some((_, bar)) = current {
                    // Each setter redraws, so only what changed is set.
                    if bar.length() != Some(progress.total) {
                        bar.set_length(progress.total);
                    }
                    bar.set_position(progress.done);
                }
            }
            Mode::Lines(throttle) => {
                if throttle.should_print(progress, Instant::now()) {
                    // A failed write to stderr only loses a line of decoration.
                    let _ = writeln!(io::stderr().lock(), "{}", plain_line(progress));
                }
            }
        }
    }

    /// Leaves the last bar drawn as it ended, so the result on stdout follows it cleanly.
    pub fn finish(self) {
        if let Mode::Bar(Some((_, bar))) = self.mode {
            bar.finish();
        }
    }
}

/// The indicatif template of a bar: bytes with rate and time left, or a count of what the
/// unit names; the track takes the width the rest leaves, so a long backup name never wraps.
fn bar_template(unit: Option<&str>) -> String {
    match unit {
        Some("bytes") => {
            "{msg} [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} \
             {eta}"
                .to_owned()
        }
        unit => format!("{{msg}} [{{wide_bar}}] {{pos}}/{{len}} {}", unit_name(unit)),
    }
}

/// A bar for one label, styled for its unit.
fn new_bar(progress: &Progress) -> ProgressBar {
    // The templates are tested below; should one ever be refused, a plain bar still works.
    let style = ProgressStyle::with_template(&bar_template(progress.unit.as_deref()))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#>.");
    let bar = ProgressBar::new(progress.total).with_style(style);
    bar.set_message(progress.ns.clone());
    bar
}

/// What a count is of; only the protocol's names, so nothing odd reaches a template.
fn unit_name(unit: Option<&str>) -> &'static str {
    match unit {
        None => "entries",
        Some("files") => "files",
        Some("steps") => "steps",
        Some("bytes") => "bytes",
        Some(_) => "",
    }
}

/// One plain progress line: `sd_20261121_101500.enc: 45% (1.2 MiB/2.6 MiB)` or
/// `verify: 30% (3/10 files)`; the percentage is rounded down so that 100% means done.
pub fn plain_line(progress: &Progress) -> String {
    let percent = (progress.fraction() * 100.0).floor();
    let amount = match progress.unit.as_deref() {
        Some("bytes") => {
            format!("{}/{}", format_bytes(progress.done), format_bytes(progress.total))
        }
        unit => format!("{}/{} {}", progress.done, progress.total, unit_name(unit))
            .trim_end()
            .to_owned(),
    };
    format!("{}: {percent}% ({amount})", progress.ns)
}

/// Decides which reports become plain lines: the first of each label, the one that
/// completes it, and otherwise at most one per [`LINE_EVERY`].
#[derive(Debug, Default)]
pub struct LineThrottle {
    /// The label and time of the last line printed.
    last: Option<(String, Instant)>,
}

impl LineThrottle {
    /// Whether `progress`, arriving at `now`, is worth a line.
    pub fn should_print(&mut self, progress: &Progress, now: Instant) -> bool {
        let print = match &self.last {
            Some((label, at)) if *label == progress.ns => {
                progress.done >= progress.total || now.duration_since(*at) >= LINE_EVERY
            }
            _ => true,
        };
        if print {
            self.last = Some((progress.ns.clone(), now));
        }
        print
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ns: &str, done: u64, total: u64, unit: Option<&str>) -> Progress {
        Progress { ns: ns.into(), done, total, unit: unit.map(str::to_owned) }
    }

    #[test]
    fn plain_lines_per_unit() {
        let bytes = report("sd.enc", 1_258_291, 2_726_297, Some("bytes"));
        assert_eq!(plain_line(&bytes), "sd.enc: 46% (1.2 MiB/2.6 MiB)");
        assert_eq!(plain_line(&report("verify", 3, 10, Some("files"))), "verify: 30% (3/10 files)");
        assert_eq!(plain_line(&report("import", 2, 2, Some("steps"))), "import: 100% (2/2 steps)");
        assert_eq!(plain_line(&report("web", 999, 1000, None)), "web: 99% (999/1000 entries)");
        assert_eq!(plain_line(&report("x", 0, 0, Some("odd"))), "x: 100% (0/0)");
    }

    #[test]
    fn every_bar_template_is_valid() {
        for unit in [Some("bytes"), Some("files"), Some("steps"), None, Some("{odd}")] {
            let template = bar_template(unit);
            assert!(ProgressStyle::with_template(&template).is_ok(), "{template}");
        }
    }

    #[test]
    fn lines_are_throttled_but_never_lose_the_end() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut throttle = LineThrottle::default();
        assert!(throttle.should_print(&report("a", 0, 10, None), at(0)), "first of a label");
        assert!(!throttle.should_print(&report("a", 1, 10, None), at(100)));
        assert!(!throttle.should_print(&report("a", 2, 10, None), at(499)));
        assert!(throttle.should_print(&report("a", 3, 10, None), at(500)));
        assert!(throttle.should_print(&report("a", 10, 10, None), at(510)), "the end");
        assert!(throttle.should_print(&report("b", 1, 10, None), at(520)), "a new label");
    }
}

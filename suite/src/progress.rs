//! Progress lines for people watching a run.
//!
//! Lines go to stderr so that `--format json` on stdout stays machine
//! readable. Colour is used only when stderr is a terminal and `NO_COLOR` is
//! unset.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Prints timestamped phase lines (`[  3.2s] starting paperclip@2026.707.0 …`).
pub struct Progress {
    started: Instant,
    color: bool,
    quiet: bool,
}

impl Progress {
    /// A progress printer writing to stderr.
    pub fn stderr(quiet: bool) -> Self {
        Progress {
            started: Instant::now(),
            color: colors_enabled(std::io::stderr().is_terminal()),
            quiet,
        }
    }

    /// A printer that prints nothing (tests, embedding).
    pub fn silent() -> Self {
        Progress {
            started: Instant::now(),
            color: false,
            quiet: true,
        }
    }

    /// Whether colour escapes may be written.
    pub fn color(&self) -> bool {
        self.color
    }

    /// One phase line.
    pub fn step(&self, message: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64();
        let stamp = format!("[{secs:6.1}s]");
        let stamp = if self.color {
            format!("\x1b[2m{stamp}\x1b[0m")
        } else {
            stamp
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{stamp} {}", message.as_ref());
    }
}

/// Colour is on for terminals unless `NO_COLOR` is set (any value).
pub fn colors_enabled(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none()
}

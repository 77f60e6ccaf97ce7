//! Reading the log files of the processes the suite starts.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The last `lines` lines of a (possibly large) file, without ANSI escapes.
pub fn tail_of_file(path: &Path, lines: usize) -> String {
    const MAX: u64 = 64 * 1024;
    let Ok(mut file) = std::fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX {
        let _ = file.seek(SeekFrom::Start(len - MAX));
    }
    let mut raw = Vec::new();
    let _ = file.read_to_end(&mut raw);
    let text = strip_ansi(&String::from_utf8_lossy(&raw));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Removes terminal escape sequences (`ESC [ … letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_escapes_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[32mINFO\u{1b}[39m: \u{1b}[36mServer listening\u{1b}[39m"),
            "INFO: Server listening"
        );
    }

    #[test]
    fn tails_keep_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "a\nb\n\u{1b}[31mc\u{1b}[0m\n").unwrap();
        assert_eq!(tail_of_file(&path, 2), "b\nc");
        assert!(tail_of_file(&dir.path().join("none"), 2).starts_with("(no log at"));
    }
}

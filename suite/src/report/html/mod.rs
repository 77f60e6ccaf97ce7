//! The HTML report: one self-contained page (inline CSS, no script, no
//! external URL) for a reviewer.
//!
//! The page is built from a generic [`Page`] — facts, counts and sections
//! of items or matrices — so that anything with results to show (a run's
//! checks, an audit's findings) renders through the same code: build a
//! `Page`, call [`render`]. [`run::page`] builds one from a [`RunReport`],
//! [`audit::page`] from an audit's findings.
//!
//! Every text that reaches the page goes through [`escape`]; the only markup
//! is the page's own.

pub mod audit;
mod escape;
mod exchange;
pub mod matrix;
mod page;
pub mod run;

pub use escape::{anchor, escape};
pub use matrix::Matrix;

use std::path::Path;

use crate::error::{Error, Result};
use crate::report::RunReport;

/// How a status or count is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Warn,
    /// Known and accepted (baselined), or informational.
    Info,
    Muted,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Warn => "warn",
            Tone::Info => "info",
            Tone::Muted => "muted",
        }
    }
}

/// A whole page.
#[derive(Debug, Clone)]
pub struct Page {
    /// The `<title>` and the heading.
    pub title: String,
    /// Label and value pairs under the heading (host, version, date, …).
    pub facts: Vec<(String, String)>,
    /// The summary tiles.
    pub counts: Vec<Count>,
    /// Lines shown in a box under the summary (warnings about the run).
    pub notices: Vec<String>,
    pub sections: Vec<Section>,
}

/// One summary tile; `key` becomes `data-count` for tools reading the page.
#[derive(Debug, Clone)]
pub struct Count {
    pub key: String,
    pub label: String,
    pub value: usize,
    pub tone: Tone,
}

#[derive(Debug, Clone)]
pub struct Section {
    /// The anchor of the section (`#id`).
    pub id: String,
    pub title: String,
    /// A sentence under the title.
    pub intro: Option<String>,
    pub body: SectionBody,
}

#[derive(Debug, Clone)]
pub enum SectionBody {
    Matrix(Matrix),
    Items(Vec<Item>),
}

/// One check, finding, … : a line that opens to its details.
#[derive(Debug, Clone)]
pub struct Item {
    /// Stable id (the check id, a finding's rule and location): the anchor
    /// and `data-id`.
    pub id: String,
    pub title: String,
    /// The status word on the badge (`failed`, `error`, …); `data-status`.
    pub status: String,
    pub tone: Tone,
    /// Short words beside the title (level, severity, family).
    pub tags: Vec<String>,
    /// Label and value lines (step, message, rule, …).
    pub fields: Vec<(String, String)>,
    /// Preformatted blocks (expected, actual, exchange, replay command).
    pub blocks: Vec<Block>,
    /// Opened when the page loads (failures are).
    pub open: bool,
}

/// A preformatted text with a label.
#[derive(Debug, Clone)]
pub struct Block {
    pub label: String,
    pub text: String,
    /// Spans the item's whole width instead of sitting beside another
    /// block (expected and actual sit side by side; an exchange does not).
    pub wide: bool,
    /// The block's role for tools reading the page (`data-block`).
    pub kind: &'static str,
}

impl Block {
    pub fn new(kind: &'static str, label: impl Into<String>, text: impl Into<String>) -> Self {
        Block {
            label: label.into(),
            text: text.into(),
            wide: false,
            kind,
        }
    }

    pub fn wide(mut self) -> Self {
        self.wide = true;
        self
    }
}

/// The page as one HTML document.
pub fn render(page: &Page) -> String {
    page::render(page)
}

/// A run's report as one HTML document; `generated` is the date shown.
pub fn render_run(report: &RunReport, generated: &str) -> String {
    render(&run::page(report, generated))
}

/// Refuses, before the run starts, a path the report could not be written
/// to: a missing directory or a directory itself.
pub fn check_destination(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "--html {} is a directory; give the path of a file to write",
            path.display()
        )));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(Error::Usage(format!(
            "--html {}: the directory {} does not exist; create it or give another path",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

/// Writes any page to `path` (after [`check_destination`] accepted it).
pub fn write(page: &Page, path: &Path) -> Result<()> {
    std::fs::write(path, render(page)).map_err(|e| Error::io("writing the HTML report to", path, e))
}

/// Now, as the pages show their date.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Writes the run's report to `path`, dated now.
pub fn write_run(report: &RunReport, path: &Path) -> Result<()> {
    write(&run::page(report, &now()), path)
}

/// An audit's report as one HTML document, dated now.
pub fn render_audit(report: &crate::audit::AuditReport) -> String {
    render(&audit::page(report, &now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_or_a_directory_is_refused_with_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_destination(&dir.path().join("report.html")).is_ok());
        assert!(check_destination(Path::new("report.html")).is_ok());
        let missing = check_destination(&dir.path().join("nope/report.html"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("does not exist"), "{missing}");
        let is_dir = check_destination(dir.path()).unwrap_err().to_string();
        assert!(is_dir.contains("is a directory"), "{is_dir}");
    }
}

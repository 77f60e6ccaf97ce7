//! Accepted findings (`--accept FILE`): findings a reviewer has judged, each
//! with its reason. Modelled on baselines: an accepted finding no longer
//! fails the audit, and an entry that matches no finding of the run — the
//! host fixed it, or the probe or rule is gone — fails it as stale, so an
//! accept file cannot rot.
//!
//! ```toml
//! # audit-accepted-paperclip-2026.707.0.toml
//! [[accepted]]
//! finding = "host-services.db-query-other-company"   # a probe id, or a rule id for all its probes
//! reason = "docs/findings.md F9: ctx.db.query is not company-scoped; plugins are vetted before install"
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::catalog::Catalog;
use super::grade::{ProbeResult, Verdict};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptFile {
    #[serde(default, rename = "accepted")]
    pub entries: Vec<Entry>,
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// A probe id, or a rule id (every probe of the rule).
    pub finding: String,
    pub reason: String,
}

/// An accept entry that matched nothing.
#[derive(Debug, Clone, Serialize)]
pub struct Stale {
    pub finding: String,
    pub message: String,
}

impl AcceptFile {
    pub fn load(path: &Path) -> Result<AcceptFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the accept file", path, e))?;
        let mut file: AcceptFile = toml::from_str(&text).map_err(|e| Error::Scenario {
            path: path.to_path_buf(),
            message: format!("not an accept file: {}", e.message()),
        })?;
        file.path = path.to_path_buf();
        Ok(file)
    }

    /// Marks the accepted findings; returns the stale entries. `catalog` is
    /// the whole catalog (an entry may name a probe `--only` left out:
    /// that is not stale).
    pub fn apply(&self, results: &mut [ProbeResult], catalog: &Catalog) -> Vec<Stale> {
        let mut stale = Vec::new();
        for entry in &self.entries {
            let known = catalog.rule(&entry.finding).is_some()
                || catalog.probes.iter().any(|p| p.id() == entry.finding);
            if !known {
                stale.push(Stale {
                    finding: entry.finding.clone(),
                    message: format!(
                        "{} accepts '{}', which is neither a probe nor a rule of the catalog; remove the entry",
                        self.path.display(),
                        entry.finding
                    ),
                });
                continue;
            }
            let mut ran = false;
            let mut matched = false;
            for r in results
                .iter_mut()
                .filter(|r| r.probe == entry.finding || r.rule == entry.finding)
            {
                ran |= matches!(r.verdict, Verdict::Held | Verdict::Finding);
                if r.verdict == Verdict::Finding {
                    matched = true;
                    r.accepted = Some(entry.reason.clone());
                }
            }
            if ran && !matched {
                stale.push(Stale {
                    finding: entry.finding.clone(),
                    message: format!(
                        "stale accept entry: '{}' is no longer a finding on this host; remove it from {}",
                        entry.finding,
                        self.path.display()
                    ),
                });
            }
        }
        stale
    }
}

//! Baselines: known failures of a host that must not fail the run.
//!
//! A baseline file lists check ids with the reason each is expected to fail
//! (a documented finding about that host version). A listed check that fails
//! is reported as `baselined`; a listed check that *passes* fails the run as
//! stale, and so does an entry naming a check that does not exist — a
//! baseline can only shrink by being edited, never rot silently.
//!
//! ```toml
//! # baselines/paperclip-2026.916.1.toml
//! [[expected_failure]]
//! check = "authz"
//! reason = "docs/findings.md F1: unknown bearer tokens are rejected with 401"
//! ```
//!
//! Without `--baseline`, the suite looks for `baselines/<kind>-<version>.toml`
//! (`paperclip-2026.916.1.toml`, `mock.toml`) beside the scenarios.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::check::{CheckResult, Failure, Status};
use crate::error::{Error, Result};

/// A parsed baseline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default, rename = "expected_failure")]
    pub entries: Vec<Entry>,
    #[serde(skip)]
    pub path: PathBuf,
}

/// One expected failure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub check: String,
    pub reason: String,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::io("reading baseline", path, e))?;
        let mut baseline: Baseline = toml::from_str(&text).map_err(|e| Error::Scenario {
            path: path.to_path_buf(),
            message: format!("not a baseline file: {}", e.message()),
        })?;
        baseline.path = path.to_path_buf();
        Ok(baseline)
    }

    /// The default baseline of a host, if the file exists.
    pub fn discover(baselines_dir: &Path, kind: &str, version: Option<&str>) -> Option<PathBuf> {
        let name = match version {
            Some(v) if kind == "paperclip" => format!("{kind}-{v}.toml"),
            _ => format!("{kind}.toml"),
        };
        let path = baselines_dir.join(name);
        path.is_file().then_some(path)
    }

    /// Applies the baseline to the results of a run. `known` are the ids of
    /// every check the suite has (selected or not).
    pub fn apply(&self, checks: &mut Vec<CheckResult>, known: &[String]) {
        for entry in &self.entries {
            if !known.iter().any(|k| k == &entry.check) {
                checks.push(stale(
                    &entry.check,
                    &self.path,
                    format!(
                        "the baseline names '{}', which is not a check of this suite",
                        entry.check
                    ),
                ));
                continue;
            }
            let Some(check) = checks.iter_mut().find(|c| c.id == entry.check) else {
                continue; // not selected in this run
            };
            match check.status {
                Status::Failed | Status::Warning => {
                    check.status = Status::Baselined;
                    check.reason = Some(format!(
                        "expected failure ({}): {}",
                        self.path.display(),
                        entry.reason
                    ));
                }
                Status::Passed => {
                    check.status = Status::Failed;
                    check.failure = Some(Failure {
                        step: "baseline".into(),
                        message: format!(
                            "stale baseline entry: '{}' passes now; remove it from {}",
                            entry.check,
                            self.path.display()
                        ),
                        expected: None,
                        actual: None,
                        exchange: None,
                    });
                }
                Status::Skipped | Status::Baselined => {}
            }
        }
    }
}

fn stale(id: &str, path: &Path, message: String) -> CheckResult {
    let meta = crate::check::CheckMeta::new(
        crate::check::CheckKind::Scenario,
        &format!("baseline.{id}"),
        &format!("baseline entry for '{id}'"),
        &path.display().to_string(),
    );
    let mut result = meta.result("");
    result.repro = format!("edit {}", path.display());
    result.fail(Failure::new("baseline", message));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Level;

    fn result(id: &str, status: Status) -> CheckResult {
        CheckResult {
            id: id.into(),
            title: id.into(),
            level: Level::Must,
            status,
            duration_ms: 0,
            source: String::new(),
            failure: None,
            reason: None,
            exchanges: vec![],
            rows: Vec::new(),
            repro: String::new(),
            seed: None,
            cases: None,
            details: None,
        }
    }

    fn baseline(ids: &[&str]) -> Baseline {
        Baseline {
            entries: ids
                .iter()
                .map(|id| Entry {
                    check: id.to_string(),
                    reason: "finding".into(),
                })
                .collect(),
            path: PathBuf::from("baselines/x.toml"),
        }
    }

    #[test]
    fn listed_failures_are_baselined_and_stale_entries_fail() {
        let known: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut checks = vec![
            result("a", Status::Failed),
            result("b", Status::Passed),
            result("c", Status::Failed),
        ];
        baseline(&["a", "b", "nope"]).apply(&mut checks, &known);
        assert_eq!(checks[0].status, Status::Baselined);
        assert_eq!(
            checks[1].status,
            Status::Failed,
            "a listed check that passes is stale"
        );
        assert!(checks[1]
            .failure
            .as_ref()
            .unwrap()
            .message
            .contains("stale baseline entry"));
        assert_eq!(
            checks[2].status,
            Status::Failed,
            "unlisted failures still fail"
        );
        assert_eq!(checks[3].id, "baseline.nope");
        assert_eq!(checks[3].status, Status::Failed);
    }

    #[test]
    fn parses_the_documented_format() {
        let b: Baseline =
            toml::from_str("[[expected_failure]]\ncheck = \"authz\"\nreason = \"F1\"\n").unwrap();
        assert_eq!(b.entries[0].check, "authz");
        assert!(
            toml::from_str::<Baseline>("[[expected_failure]]\ncheck = \"x\"\n").is_err(),
            "a reason is required"
        );
    }
}

//! `conformance diff BASE.json HEAD.json`: what changed, check by check,
//! between two JSON reports — what a pull-request gate wants from "main vs
//! this branch".

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// How one check changed between the two reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// It held on BASE and fails on HEAD.
    Regression {
        id: String,
        from: String,
        to: String,
    },
    /// It failed on BASE and holds on HEAD.
    Fix {
        id: String,
        from: String,
        to: String,
    },
    /// Another status that neither fails nor fixes (e.g. passed → skipped).
    Other {
        id: String,
        from: String,
        to: String,
    },
    /// Only HEAD has it.
    New { id: String, status: String },
    /// Only BASE has it.
    Removed { id: String, status: String },
}

/// The changes, ordered: regressions, fixes, new, removed, others.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub changes: Vec<Change>,
}

impl Diff {
    pub fn regressions(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| matches!(c, Change::Regression { .. }))
            .count()
    }

    /// One line per change, and a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            let line = match c {
                Change::Regression { id, from, to } => format!("REGRESSION  {id}: {from} → {to}"),
                Change::Fix { id, from, to } => format!("FIXED       {id}: {from} → {to}"),
                Change::New { id, status } => format!("NEW         {id}: {status}"),
                Change::Removed { id, status } => format!("REMOVED     {id}: was {status}"),
                Change::Other { id, from, to } => format!("CHANGED     {id}: {from} → {to}"),
            };
            out.push_str(&line);
            out.push('\n');
        }
        let count = |f: fn(&Change) -> bool| self.changes.iter().filter(|c| f(c)).count();
        out.push_str(&format!(
            "{} regressions, {} fixed, {} new, {} removed, {} other changes\n",
            self.regressions(),
            count(|c| matches!(c, Change::Fix { .. })),
            count(|c| matches!(c, Change::New { .. })),
            count(|c| matches!(c, Change::Removed { .. })),
            count(|c| matches!(c, Change::Other { .. })),
        ));
        out
    }
}

/// Whether a status means the rule did not hold.
fn fails(status: &str) -> bool {
    status == "failed"
}

/// Compares two reports (the `checks` arrays of `--format json` output).
pub fn diff(base: &Value, head: &Value) -> Diff {
    let statuses = |r: &Value| -> BTreeMap<String, String> {
        r["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some((
                    c["id"].as_str()?.to_string(),
                    c["status"].as_str()?.to_string(),
                ))
            })
            .collect()
    };
    let (base, head) = (statuses(base), statuses(head));
    let mut changes = Vec::new();
    for (id, to) in &head {
        match base.get(id) {
            None => changes.push(Change::New {
                id: id.clone(),
                status: to.clone(),
            }),
            Some(from) if from == to => {}
            Some(from) => {
                let (id, from, to) = (id.clone(), from.clone(), to.clone());
                changes.push(if fails(&to) {
                    Change::Regression { id, from, to }
                } else if fails(&from) {
                    Change::Fix { id, from, to }
                } else {
                    Change::Other { id, from, to }
                });
            }
        }
    }
    for (id, status) in &base {
        if !head.contains_key(id) {
            changes.push(Change::Removed {
                id: id.clone(),
                status: status.clone(),
            });
        }
    }
    let rank = |c: &Change| match c {
        Change::Regression { .. } => 0,
        Change::Fix { .. } => 1,
        Change::New { .. } => 2,
        Change::Removed { .. } => 3,
        Change::Other { .. } => 4,
    };
    changes.sort_by_key(rank);
    Diff { changes }
}

/// Reads a JSON report written by `--json` or `--format json`.
pub fn read_report(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("reading the report", path, e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{} is not a JSON report ({e}); write one with --json PATH or --format json",
            path.display()
        ))
    })?;
    if !value["checks"].is_array() {
        return Err(Error::Usage(format!(
            "{} has no \"checks\" array; it is not a report of conformance run",
            path.display()
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(checks: &[(&str, &str)]) -> Value {
        json!({ "checks": checks.iter().map(|(id, s)| json!({"id": id, "status": s})).collect::<Vec<_>>() })
    }

    #[test]
    fn regressions_fixes_new_and_removed_checks() {
        let base = report(&[
            ("a", "passed"),
            ("b", "failed"),
            ("c", "passed"),
            ("d", "passed"),
        ]);
        let head = report(&[
            ("a", "failed"),
            ("b", "passed"),
            ("c", "skipped"),
            ("e", "passed"),
        ]);
        let d = diff(&base, &head);
        assert_eq!(d.regressions(), 1);
        assert_eq!(
            d.changes,
            vec![
                Change::Regression {
                    id: "a".into(),
                    from: "passed".into(),
                    to: "failed".into()
                },
                Change::Fix {
                    id: "b".into(),
                    from: "failed".into(),
                    to: "passed".into()
                },
                Change::New {
                    id: "e".into(),
                    status: "passed".into()
                },
                Change::Removed {
                    id: "d".into(),
                    status: "passed".into()
                },
                Change::Other {
                    id: "c".into(),
                    from: "passed".into(),
                    to: "skipped".into()
                },
            ]
        );
        assert!(d
            .render()
            .contains("1 regressions, 1 fixed, 1 new, 1 removed, 1 other changes"));
    }

    #[test]
    fn a_new_failing_check_is_new_not_a_regression_and_equal_reports_have_no_changes() {
        let base = report(&[("a", "passed")]);
        assert!(diff(&base, &base).changes.is_empty());
        let head = report(&[("a", "passed"), ("z", "failed")]);
        assert_eq!(diff(&base, &head).regressions(), 0);
    }

    #[test]
    fn a_file_that_is_not_a_report_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, "{\"hello\":1}").unwrap();
        assert!(matches!(read_report(&p), Err(Error::Usage(_))));
        assert!(matches!(
            read_report(&dir.path().join("none.json")),
            Err(Error::Io { .. })
        ));
    }
}

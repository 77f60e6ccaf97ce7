//! The attack catalog: `scenarios/audit/*.toml`, rules and the probes that
//! test them.
//!
//! A probe is written in the scenario language (fixtures, actors, `${…}`
//! variables, `[[probe.step]]` steps with their expectations) and is loaded
//! through the scenario loader, so every name is resolved before a host
//! starts and a mistake is exit 2 with its file and line. What differs is
//! what its expectations mean: they describe the *secure* answer. A probe
//! whose attack step meets them holds; one that does not is a finding of
//! its rule. Steps named `setup: …` prepare the attack (revoke a key,
//! disable a plugin): when one of those fails the probe is inconclusive,
//! not a finding.
//!
//! ```toml
//! [[rule]]
//! id = "leak.internals-in-errors"
//! title = "Error answers carry no SQL, stack traces or server paths"
//! family = "leakage-in-errors"
//! severity = "medium"
//! source = "contract-http.md §4.5; docs/findings.md F17"
//! reference_findings = ["leak.checkout-identifier"]  # its findings on 2026.707.0
//! leaks = ["sql", "stack", "path"]
//! help = "…"
//!
//! [[probe]]
//! id = "leak.checkout-identifier"
//! rule = "leak.internals-in-errors"
//! title = "An issue identifier on a checkout route"
//! [[probe.agent]]
//! name = "owner"
//! [[probe.step]]
//! request = "POST /api/plugins/${plugin.key}/api/issues/${issue.work.identifier}/smoke"
//! expect.status = { "$one_of" = [400, 404] }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::rule::{Family, Leak, Rule, Severity};
use crate::error::{Error, Result};
use crate::scenario::Scenario;

/// A probe: one attack, as a scenario, tied to its rule.
#[derive(Debug, Clone)]
pub struct Probe {
    pub rule: String,
    pub scenario: Scenario,
    /// Line of the probe's `[[probe]]` header.
    pub line: usize,
    /// Whether the reference host (paperclip@2026.707.0) has this finding:
    /// its rule lists the probe in `reference_findings`.
    pub reference_finding: bool,
}

impl Probe {
    pub fn id(&self) -> &str {
        self.scenario.id()
    }
}

/// Every rule and probe of the catalog directory.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub rules: Vec<Rule>,
    pub probes: Vec<Probe>,
    /// Each rule's `reference_findings` (probe ids), by rule id.
    pub reference_findings: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
    #[serde(default, rename = "probe")]
    probes: Vec<RawProbeHead>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: String,
    family: Family,
    severity: Severity,
    help: String,
    source: String,
    reference_findings: Vec<String>,
    #[serde(default)]
    leaks: Vec<Leak>,
}

/// The audit-only key of a probe; the rest is read by the scenario loader.
#[derive(Debug, Deserialize)]
struct RawProbeHead {
    rule: Option<String>,
    source: Option<toml::Value>,
}

impl Catalog {
    /// Loads every `*.toml` of `dir`, sorted by name.
    pub fn load(dir: &Path) -> Result<Catalog> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| Error::io("reading the audit catalog", dir, e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        paths.sort();
        let mut catalog = Catalog::default();
        for path in &paths {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("reading the audit catalog file", path, e))?;
            catalog.add_file(&text, path)?;
        }
        catalog.check()?;
        Ok(catalog)
    }

    /// Parses one catalog file into this catalog.
    pub fn add_file(&mut self, text: &str, path: &Path) -> Result<()> {
        let err = |line: Option<usize>, message: String| Error::Scenario {
            path: path.to_path_buf(),
            message: match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            },
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            err(
                e.span().map(|s| line_of(text, s.start)),
                e.message().to_string(),
            )
        })?;
        let rule_lines = header_lines(text, "[[rule]]");
        for (i, r) in raw.rules.into_iter().enumerate() {
            let line = rule_lines.get(i).copied().unwrap_or(1);
            self.reference_findings
                .insert(r.id.clone(), r.reference_findings.clone());
            self.rules.push(Rule {
                id: r.id,
                title: r.title,
                family: r.family,
                severity: r.severity,
                help: r.help.trim().to_string(),
                source: r.source,
                reference_shares: !r.reference_findings.is_empty(),
                leaks: r.leaks,
                file: display_path(path),
                line,
            });
        }
        let chunks = probe_chunks(text);
        for (head, (start, chunk)) in raw.probes.iter().zip(chunks) {
            if head.source.is_some() {
                return Err(err(
                    find_line(text, "source", start),
                    "a probe takes its source from its rule; remove `source`".into(),
                ));
            }
            let Some(rule_id) = &head.rule else {
                return Err(err(
                    Some(start),
                    "a probe needs `rule = \"<rule id>\"`".into(),
                ));
            };
            let rule_line = find_line(text, "rule", start).unwrap_or(start);
            let Some(rule) = self.rules.iter().find(|r| &r.id == rule_id) else {
                return Err(err(
                    Some(rule_line),
                    format!(
                        "unknown rule '{rule_id}' (declare it with [[rule]] before its probes)"
                    ),
                ));
            };
            for (offset, line) in chunk.lines().enumerate() {
                if let Some(unknown) = super::actors::markers(line)
                    .into_iter()
                    .find(|m| !super::actors::MARKERS.contains(&m.as_str()))
                {
                    return Err(err(
                        Some(start + offset),
                        format!(
                            "unknown audit marker '@{unknown}@' (known: {})",
                            super::actors::MARKERS.map(|m| format!("@{m}@")).join(", ")
                        ),
                    ));
                }
            }
            let scenario_text =
                as_scenario(&chunk, start, rule_line, &rule.source, rule.family.as_str());
            let mut scenario = Scenario::parse(&scenario_text, path)?;
            scenario.meta.tags.push("audit".into());
            let reference_finding = self
                .reference_findings
                .get(rule_id)
                .is_some_and(|ids| ids.iter().any(|id| id == scenario.id()));
            self.probes.push(Probe {
                rule: rule_id.clone(),
                scenario,
                line: start,
                reference_finding,
            });
        }
        Ok(())
    }

    /// Ids are unique and every rule has a probe.
    pub(super) fn check(&self) -> Result<()> {
        let mut seen: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
        for r in &self.rules {
            if let Some((file, line)) = seen.insert(&r.id, (&r.file, r.line)) {
                return Err(Error::Scenario {
                    path: PathBuf::from(&r.file),
                    message: format!(
                        "line {}: rule id '{}' is already used at {file}:{line}",
                        r.line, r.id
                    ),
                });
            }
        }
        let mut probes: BTreeMap<&str, &Probe> = BTreeMap::new();
        for p in &self.probes {
            if let Some(first) = probes.insert(p.id(), p) {
                return Err(Error::Scenario {
                    path: p.scenario.path.clone(),
                    message: format!(
                        "line {}: probe id '{}' is already used at {}:{}",
                        p.line,
                        p.id(),
                        first.scenario.path.display(),
                        first.line
                    ),
                });
            }
            if seen.contains_key(p.id()) {
                return Err(Error::Scenario {
                    path: p.scenario.path.clone(),
                    message: format!(
                        "line {}: probe id '{}' is also a rule id; give the probe its own",
                        p.line,
                        p.id()
                    ),
                });
            }
        }
        for r in &self.rules {
            if let Some(stray) = self.reference_findings[&r.id]
                .iter()
                .find(|id| !self.probes.iter().any(|p| p.id() == *id && p.rule == r.id))
            {
                return Err(Error::Scenario {
                    path: PathBuf::from(&r.file),
                    message: format!(
                        "line {}: rule '{}' lists '{stray}' in reference_findings, which is not one of its probes",
                        r.line, r.id
                    ),
                });
            }
            if !self.probes.iter().any(|p| p.rule == r.id) {
                return Err(Error::Scenario {
                    path: PathBuf::from(&r.file),
                    message: format!("line {}: rule '{}' has no probe", r.line, r.id),
                });
            }
        }
        Ok(())
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Keeps the probes `--only` selects: a probe id, a rule id, a family,
    /// an id prefix, or `severity:LEVEL` (that level and above).
    pub fn select(mut self, only: &[String]) -> Result<Catalog> {
        if only.is_empty() {
            return Ok(self);
        }
        let rules = self.rules.clone();
        let keep = |p: &Probe| {
            let rule = rules.iter().find(|r| r.id == p.rule);
            only.iter().any(|pattern| {
                if let Some(level) = pattern.strip_prefix("severity:") {
                    return rule.is_some_and(|r| r.severity.as_str() == level);
                }
                let prefix = |id: &str| {
                    id == pattern
                        || id.starts_with(&format!("{pattern}."))
                        || id.starts_with(&format!("{pattern}-"))
                };
                prefix(p.id())
                    || prefix(&p.rule)
                    || rule.is_some_and(|r| r.family.as_str() == pattern)
            })
        };
        self.probes.retain(keep);
        if self.probes.is_empty() {
            return Err(Error::Usage(format!(
                "--only {} selects no audit probe (use a probe id, a rule id, a family such as cross-tenant-access, or severity:high)",
                only.join(", ")
            )));
        }
        Ok(self)
    }
}

/// The probe as a scenario text with the file's line numbers: the lines
/// before it blank, its header replaced by the rule's source (a scenario
/// needs one), its `rule` line blank, its sub-tables renamed.
fn as_scenario(chunk: &str, start: usize, rule_line: usize, source: &str, family: &str) -> String {
    let mut out = "\n".repeat(start.saturating_sub(1));
    for (i, line) in chunk.lines().enumerate() {
        let n = start + i;
        let trimmed = line.trim_start();
        let text = if n == start {
            format!("source = {}", toml_string(source))
        } else if n == rule_line {
            format!("tags = [{}]", toml_string(family))
        } else if let Some(rest) = trimmed.strip_prefix("[[probe.") {
            format!("[[{rest}")
        } else {
            line.to_string()
        };
        out.push_str(&text);
        out.push('\n');
    }
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Each `[[probe]]` table's text, with the line of its header: up to the
/// next top-level `[[probe]]` or `[[rule]]` header.
fn probe_chunks(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed == "[[probe]]" || trimmed == "[[rule]]" {
            out.extend(current.take());
            if trimmed == "[[probe]]" {
                current = Some((i + 1, String::new()));
            }
        }
        if let Some((_, chunk)) = current.as_mut() {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    out.extend(current);
    out
}

fn header_lines(text: &str, header: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .map(|(i, _)| i + 1)
        .collect()
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// The first line at or after `from` whose text starts with `key` and `=`.
fn find_line(text: &str, key: &str, from: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
}

/// A catalog path as reports show it: relative to the working directory
/// when it is below it.
pub(super) fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

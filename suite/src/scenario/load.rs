//! Reading scenario files: TOML → [`Scenario`], with every mistake reported
//! as `file (line N): what is wrong` before anything runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::model::{
    parse_actor, Action, ActorRef, AgentFixture, HttpStep, IssueFixture, Retry, Scenario, SqlStep,
    Step, StepBody,
};
use super::validate;
use crate::check::{CheckKind, CheckMeta, Level, VersionGate};
use crate::error::{Error, Result};
use crate::target::DeploymentMode;

/// A scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: String,
    title: String,
    #[serde(default)]
    level: Level,
    source: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    modes: Vec<DeploymentMode>,
    /// A semver requirement on the host's version, e.g. `">=2026.916.0"`.
    versions: Option<String>,
    #[serde(default, rename = "agent")]
    agents: Vec<AgentFixture>,
    #[serde(default, rename = "issue")]
    issues: Vec<IssueFixture>,
    #[serde(rename = "step")]
    steps: Vec<RawStep>,
}

/// A step as written: an HTTP call (`request`) or an SQL query (`sql`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Option<String>,
    request: Option<String>,
    actor: Option<String>,
    run: Option<String>,
    json: Option<toml::Value>,
    body: Option<String>,
    /// A body too large or too deep to write out: parts repeated and joined.
    body_parts: Option<Vec<BodyPart>>,
    content_type: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    sql: Option<String>,
    #[serde(default)]
    params: Vec<toml::Value>,
    #[serde(default)]
    expect: RawExpect,
    #[serde(default)]
    save: BTreeMap<String, String>,
    retry: Option<Retry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    status: Option<toml::Value>,
    body: Option<toml::Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    rows: Option<toml::Value>,
}

/// One piece of a generated body: `text` repeated `times` times.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyPart {
    text: String,
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

/// Generated bodies stay below this size (a scenario is not a disk filler).
const MAX_GENERATED_BODY: usize = 64 * 1024 * 1024;

fn generated_body(parts: &[BodyPart]) -> std::result::Result<String, String> {
    let size = parts
        .iter()
        .try_fold(0usize, |n, p| {
            n.checked_add(p.text.len().checked_mul(p.times)?)
        })
        .filter(|n| *n <= MAX_GENERATED_BODY)
        .ok_or_else(|| format!("body_parts make more than {MAX_GENERATED_BODY} bytes"))?;
    let mut out = String::with_capacity(size);
    for part in parts {
        for _ in 0..part.times {
            out.push_str(&part.text);
        }
    }
    Ok(out)
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Converts TOML data to JSON (TOML has no null: use the `$null` matcher).
pub fn to_json(value: &toml::Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl Scenario {
    /// Parses and validates one scenario from TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario> {
        let err = |line: Option<usize>, message: String| Error::Scenario {
            path: path.to_path_buf(),
            message: match line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            },
        };
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            err(
                e.span().map(|s| line_of(text, s.start)),
                e.message().to_string(),
            )
        })?;
        let step_lines = step_lines(text);
        let id_ok = !raw.id.is_empty()
            && raw.id.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
            });
        if !id_ok {
            return Err(err(
                find_line(text, "id", 0),
                format!(
                    "id '{}' must be lowercase letters, digits, '.', '-' or '_'",
                    raw.id
                ),
            ));
        }
        if raw.steps.is_empty() {
            return Err(err(None, "a scenario needs at least one [[step]]".into()));
        }
        let versions = raw
            .versions
            .as_deref()
            .map(VersionGate::parse)
            .transpose()
            .map_err(|m| err(find_line(text, "versions", 0), m))?;
        let mut steps = Vec::with_capacity(raw.steps.len());
        for (i, raw_step) in raw.steps.into_iter().enumerate() {
            let line = step_lines.get(i).copied().unwrap_or(1);
            let name = raw_step.name.clone();
            let step = convert_step(raw_step, line).map_err(|m| {
                let label = match &name {
                    Some(n) => format!("step {} ({n})", i + 1),
                    None => format!("step {}", i + 1),
                };
                err(Some(line), format!("{label}: {m}"))
            })?;
            steps.push(step);
        }
        let mut meta = CheckMeta::new(CheckKind::Scenario, &raw.id, &raw.title, &raw.source);
        meta.level = raw.level;
        meta.tags = raw.tags;
        meta.modes = raw.modes;
        meta.versions = versions;
        let scenario = Scenario {
            meta,
            agents: raw.agents,
            issues: raw.issues,
            steps,
            path: path.to_path_buf(),
        };
        validate::names(&scenario, text).map_err(|(line, m)| err(line, m))?;
        Ok(scenario)
    }
}

fn convert_step(raw: RawStep, line: usize) -> std::result::Result<Step, String> {
    let action = match (raw.request, raw.sql) {
        (Some(_), Some(_)) => return Err("has both request and sql".into()),
        (None, None) => return Err("needs either request or sql".into()),
        (Some(request), None) => {
            let parts: Vec<&str> = request.split_whitespace().collect();
            if parts.len() != 2
                || !METHODS.contains(&parts[0].to_ascii_uppercase().as_str())
                || !parts[1].starts_with('/')
            {
                return Err("request must be 'METHOD /path', e.g. 'GET /api/health'".into());
            }
            if raw.expect.rows.is_some() || !raw.params.is_empty() {
                return Err("expect.rows and params are for sql steps".into());
            }
            let text = match (raw.body, raw.body_parts) {
                (Some(_), Some(_)) => return Err("use either body or body_parts, not both".into()),
                (Some(text), None) => Some(text),
                (None, Some(parts)) => Some(generated_body(&parts)?),
                (None, None) => None,
            };
            let body = match (raw.json, text) {
                (Some(_), Some(_)) => return Err("use either json or body, not both".into()),
                (Some(j), None) => StepBody::Json(to_json(&j)),
                (None, Some(text)) => StepBody::Raw {
                    content_type: raw.content_type.unwrap_or_else(|| "text/plain".into()),
                    text,
                },
                (None, None) => StepBody::None,
            };
            let actor = match &raw.actor {
                Some(a) => parse_actor(a)?,
                None => ActorRef::Board,
            };
            Action::Http(HttpStep {
                // Sent as written: a lower-case method is a case of its own.
                method: parts[0].to_string(),
                path: parts[1].to_string(),
                actor,
                run: raw.run,
                body,
                headers: raw.headers,
                expect_status: raw.expect.status.as_ref().map(to_json),
                expect_headers: raw.expect.headers,
                expect_body: raw.expect.body.as_ref().map(to_json),
            })
        }
        (None, Some(sql)) => {
            let http_only = raw.expect.status.is_some()
                || raw.expect.body.is_some()
                || !raw.expect.headers.is_empty()
                || raw.actor.is_some()
                || raw.run.is_some()
                || raw.json.is_some()
                || raw.body.is_some()
                || raw.body_parts.is_some()
                || !raw.headers.is_empty();
            if http_only {
                return Err(
                    "sql steps take params and expect.rows, not HTTP fields (status, body, headers, actor, run, json)".into(),
                );
            }
            Action::Sql(SqlStep {
                sql,
                params: raw.params.iter().map(to_json).collect(),
                expect_rows: raw.expect.rows.as_ref().map(to_json),
            })
        }
    };
    Ok(Step {
        name: raw.name,
        action,
        save: raw.save,
        retry: raw.retry,
        line,
    })
}

/// 1-based line of byte offset `at`.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Lines of the `[[step]]` headers, in order.
fn step_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[step]]"))
        .map(|(i, _)| i + 1)
        .collect()
}

/// The first line at or after `from` (1-based; 0 = anywhere) that contains
/// `needle`.
pub(super) fn find_line(text: &str, needle: &str, from: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
}

/// Loads every `*.toml` in `dir` (not recursive), sorted by file name, and
/// checks that ids are unique.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io("reading scenario directory", dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    paths.sort();
    let mut scenarios = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in paths {
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io("reading scenario", &path, e))?;
        let scenario = Scenario::parse(&text, &path)?;
        if let Some(first) = seen.insert(scenario.id().to_string(), path.clone()) {
            return Err(Error::Scenario {
                path,
                message: format!(
                    "id '{}' is already used by {}",
                    scenario.id(),
                    first.display()
                ),
            });
        }
        scenarios.push(scenario);
    }
    if scenarios.is_empty() {
        return Err(Error::Scenario {
            path: dir.to_path_buf(),
            message: "no *.toml scenario files found; pass --scenarios DIR".into(),
        });
    }
    Ok(scenarios)
}

/// Names declared twice among a scenario's fixtures.
pub(super) fn duplicate_fixture(scenario: &Scenario) -> Option<String> {
    let mut names = BTreeSet::new();
    for agent in &scenario.agents {
        if !names.insert(format!("agent:{}", agent.name)) {
            return Some(format!("agent '{}' is declared twice", agent.name));
        }
    }
    for issue in &scenario.issues {
        if !names.insert(format!("issue:{}", issue.name)) {
            return Some(format!("issue '{}' is declared twice", issue.name));
        }
    }
    None
}

//! Scenarios: checks written as data.
//!
//! A scenario file (`scenarios/*.toml`) is one check. It declares the
//! fixtures it needs (agents and issues, created fresh for it so scenarios are
//! independent and can run in parallel) and a list of steps. A step is either
//! an HTTP call made as a named actor, or an SQL query on the host's
//! database; each has expectations, and may save values for later steps.
//!
//! ```toml
//! id = "smoke.initialize-board"
//! title = "Board initializes the smoke on an issue: 201 and the summary shape"
//! level = "must"
//! source = "contract-http.md §4.4; real-host.md §7 #2"
//!
//! [[agent]]
//! name = "worker"
//! company = "a"
//!
//! [[issue]]
//! name = "root"
//! company = "a"
//! status = "todo"
//!
//! [[step]]
//! request = "POST /api/plugins/${plugin.key}/api/issues/${issue.root.id}/smoke"
//! actor = "board"
//! json = { assigneeAgentId = "${agent.worker.id}" }
//! expect.status = 201
//! expect.body = { rootIssueId = "${issue.root.id}", childIssueId = "$uuid" }
//! save = { child = "/childIssueId" }
//!
//! [[step]]
//! sql = "select origin_kind from issues where id = $1"
//! params = ["${child}"]
//! expect.rows = [{ origin_kind = "plugin:${plugin.key}:child" }]
//! ```
//!
//! See `scenarios/README.md` for the full reference (actors, variables,
//! matchers).

pub mod matcher;
pub mod runner;
pub mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::check::Level;
use crate::error::{Error, Result};
use crate::target::DeploymentMode;

/// A parsed, validated scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Stable check id, e.g. `smoke.initialize-board`.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub level: Level,
    /// Where the rule comes from (contract section, real-host observation).
    pub source: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Deployment modes this scenario applies to; empty means all.
    #[serde(default)]
    pub modes: Vec<DeploymentMode>,
    #[serde(default, rename = "agent")]
    pub agents: Vec<AgentFixture>,
    #[serde(default, rename = "issue")]
    pub issues: Vec<IssueFixture>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
    /// The file it came from (set by the loader).
    #[serde(skip)]
    pub path: PathBuf,
}

/// An agent created for this scenario only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFixture {
    pub name: String,
    /// World company name (`a` or `b`).
    #[serde(default = "default_company")]
    pub company: String,
}

/// An issue created for this scenario only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueFixture {
    pub name: String,
    #[serde(default = "default_company")]
    pub company: String,
    pub title: Option<String>,
    /// Initial status (default `todo`). With `checkout`, the issue is created
    /// as `backlog` and ends `in_progress`.
    #[serde(default = "default_status")]
    pub status: String,
    /// Agent (world or fixture name) the issue is assigned to.
    pub assignee: Option<String>,
    /// Check the issue out as its assignee with a real heartbeat run, so it is
    /// `in_progress` with `checkoutRunId` = that run (`${issue.NAME.run}`).
    #[serde(default)]
    pub checkout: bool,
}

fn default_company() -> String {
    "a".into()
}

fn default_status() -> String {
    "todo".into()
}

/// One step: an HTTP call or an SQL query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: Option<String>,
    /// `METHOD /path` with `${…}` references.
    pub request: Option<String>,
    /// `board` (default), `none`, `bogus`, or `agent:NAME`.
    pub actor: Option<String>,
    /// Value of `X-Paperclip-Run-Id`.
    pub run: Option<String>,
    /// JSON body.
    pub json: Option<toml::Value>,
    /// Raw body, sent with `content_type`.
    pub body: Option<String>,
    pub content_type: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// SQL query on the host's database (rows are compared as JSON objects).
    pub sql: Option<String>,
    /// Values for `$1`, `$2`… in `sql`, quoted as SQL literals.
    #[serde(default)]
    pub params: Vec<toml::Value>,
    #[serde(default)]
    pub expect: Expect,
    /// Saves values for later steps: name → JSON pointer into the response
    /// body (HTTP) or into the array of rows (SQL, e.g. `/0/id`).
    #[serde(default)]
    pub save: BTreeMap<String, String>,
    /// Repeat the step until its expectations hold (for asynchronous effects).
    pub retry: Option<Retry>,
}

/// What a step must produce.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: Option<u16>,
    /// Subset match on the JSON response body (see [`matcher`]).
    pub body: Option<toml::Value>,
    /// Response headers that must be present with these values (names are
    /// case-insensitive); `"$absent"` requires the header to be missing.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// SQL: the rows, in order, each matched as a subset.
    pub rows: Option<toml::Value>,
}

/// Retry policy for a step.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    #[serde(default = "default_retry_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "default_retry_interval")]
    pub interval_ms: u64,
}

fn default_retry_timeout() -> u64 {
    10_000
}

fn default_retry_interval() -> u64 {
    200
}

/// What a step does, once validated.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Http { method: String, path: String },
    Sql,
}

impl Step {
    /// The step's kind; validated at load time, so this cannot fail later.
    pub fn kind(&self) -> StepKind {
        match &self.request {
            Some(r) => {
                let (method, path) = r
                    .trim()
                    .split_once(char::is_whitespace)
                    .unwrap_or(("GET", r));
                StepKind::Http {
                    method: method.to_ascii_uppercase(),
                    path: path.trim().to_string(),
                }
            }
            None => StepKind::Sql,
        }
    }

    /// A label for reports: the name, else the request line or the SQL.
    pub fn label(&self, index: usize) -> String {
        if let Some(name) = &self.name {
            return format!("step {} ({name})", index + 1);
        }
        match (&self.request, &self.sql) {
            (Some(r), _) => format!("step {} ({r})", index + 1),
            (None, Some(sql)) => format!(
                "step {} (sql: {})",
                index + 1,
                crate::health::truncate(sql.trim(), 60)
            ),
            _ => format!("step {}", index + 1),
        }
    }

    /// Whether this step needs the host's database.
    pub fn needs_database(&self) -> bool {
        self.sql.is_some()
    }
}

impl Scenario {
    /// Parses and validates one scenario from TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario> {
        let err = |message: String| Error::Scenario {
            path: path.to_path_buf(),
            message,
        };
        let mut scenario: Scenario = toml::from_str(text)
            .map_err(|e| err(e.message().to_string() + &location(text, e.span())))?;
        scenario.path = path.to_path_buf();
        scenario.validate().map_err(err)?;
        Ok(scenario)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
            });
        if !id_ok {
            return Err(format!(
                "id '{}' must be lowercase letters, digits, '.', '-' or '_'",
                self.id
            ));
        }
        if self.steps.is_empty() {
            return Err("a scenario needs at least one [[step]]".into());
        }
        let mut names = BTreeSet::new();
        for agent in &self.agents {
            if !names.insert(format!("agent:{}", agent.name)) {
                return Err(format!("agent '{}' is declared twice", agent.name));
            }
        }
        for issue in &self.issues {
            if !names.insert(format!("issue:{}", issue.name)) {
                return Err(format!("issue '{}' is declared twice", issue.name));
            }
            if issue.checkout && issue.assignee.is_none() {
                return Err(format!(
                    "issue '{}': checkout = true needs an assignee",
                    issue.name
                ));
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            match (&step.request, &step.sql) {
                (Some(_), Some(_)) => {
                    return Err(format!("{}: has both request and sql", step.label(i)))
                }
                (None, None) => {
                    return Err(format!("{}: needs either request or sql", step.label(i)))
                }
                (Some(r), None) => {
                    let parts: Vec<&str> = r.split_whitespace().collect();
                    const METHODS: [&str; 7] =
                        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
                    if parts.len() != 2
                        || !METHODS.contains(&parts[0].to_ascii_uppercase().as_str())
                        || !parts[1].starts_with('/')
                    {
                        return Err(format!(
                            "{}: request must be 'METHOD /path', e.g. 'GET /api/health'",
                            step.label(i)
                        ));
                    }
                    if step.json.is_some() && step.body.is_some() {
                        return Err(format!(
                            "{}: use either json or body, not both",
                            step.label(i)
                        ));
                    }
                    if step.expect.rows.is_some() {
                        return Err(format!("{}: expect.rows is for sql steps", step.label(i)));
                    }
                    if let Some(actor) = &step.actor {
                        parse_actor(actor).map_err(|e| format!("{}: {e}", step.label(i)))?;
                    }
                }
                (None, Some(_)) => {
                    if step.expect.status.is_some()
                        || step.expect.body.is_some()
                        || step.actor.is_some()
                    {
                        return Err(format!(
                            "{}: sql steps take expect.rows, not status/body/actor",
                            step.label(i)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether any step needs the host's database.
    pub fn needs_database(&self) -> bool {
        self.steps.iter().any(Step::needs_database)
    }

    /// Whether the scenario applies in `mode`.
    pub fn applies_to(&self, mode: DeploymentMode) -> bool {
        self.modes.is_empty() || self.modes.contains(&mode)
    }
}

/// A named actor of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorRef {
    /// The board: implicit in `local_trusted`, a board API key otherwise.
    Board,
    /// No credentials at all.
    Nobody,
    /// A bearer token no host issued.
    Bogus,
    /// An agent's API key (world or fixture agent).
    Agent(String),
}

/// Parses `board`, `none`, `bogus` or `agent:NAME`.
pub fn parse_actor(s: &str) -> std::result::Result<ActorRef, String> {
    match s {
        "board" => Ok(ActorRef::Board),
        "none" => Ok(ActorRef::Nobody),
        "bogus" => Ok(ActorRef::Bogus),
        other => match other.strip_prefix("agent:") {
            Some(name) if !name.is_empty() => Ok(ActorRef::Agent(name.to_string())),
            _ => Err(format!(
                "unknown actor '{other}': use board, none, bogus or agent:NAME"
            )),
        },
    }
}

/// Converts TOML data to JSON (TOML has no null: use the `$null` matcher).
pub fn to_json(value: &toml::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
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
        if let Some(first) = seen.insert(scenario.id.clone(), path.clone()) {
            return Err(Error::Scenario {
                path,
                message: format!(
                    "id '{}' is already used by {}",
                    scenario.id,
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

/// Keeps the scenarios selected by `--only` patterns: an exact id, a prefix
/// ending in `.` or `*` (`smoke.` / `smoke.*`), or a tag (`tag:smoke`).
pub fn select(scenarios: Vec<Scenario>, only: &[String]) -> Vec<Scenario> {
    if only.is_empty() {
        return scenarios;
    }
    scenarios
        .into_iter()
        .filter(|s| only.iter().any(|pat| selects(pat, &s.id, &s.tags)))
        .collect()
}

/// Whether `--only` pattern selects the check `id` with `tags`: an exact id,
/// a prefix ending in `.` or `*`, a first segment (`smoke` selects
/// `smoke.x`), or `tag:NAME`.
pub fn selects(pattern: &str, id: &str, tags: &[String]) -> bool {
    if let Some(tag) = pattern.strip_prefix("tag:") {
        return tags.iter().any(|t| t == tag);
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return id.starts_with(prefix);
    }
    if pattern.ends_with('.') {
        return id.starts_with(pattern);
    }
    id == pattern || id.starts_with(&format!("{pattern}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "smoke.example"
title = "Example"
source = "contract-http.md §4"
tags = ["smoke"]

[[issue]]
name = "root"

[[step]]
request = "POST /api/plugins/${plugin.key}/api/issues/${issue.root.id}/smoke"
json = { a = 1 }
expect.status = 201
save = { child = "/childIssueId" }

[[step]]
sql = "select 1 as one"
expect.rows = [{ one = 1 }]
"#;

    fn parse(text: &str) -> Result<Scenario> {
        Scenario::parse(text, Path::new("x.toml"))
    }

    #[test]
    fn parses_a_scenario() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.id, "smoke.example");
        assert_eq!(s.level, Level::Must);
        assert_eq!(s.issues[0].status, "todo");
        assert_eq!(s.issues[0].company, "a");
        assert!(matches!(s.steps[0].kind(), StepKind::Http { ref method, .. } if method == "POST"));
        assert_eq!(s.steps[1].kind(), StepKind::Sql);
        assert!(s.needs_database());
    }

    #[rstest::rstest]
    #[case("id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n", "missing field `step`")]
    #[case(
        "id = \"Bad Id\"\ntitle = \"t\"\nsource = \"s\"\n[[step]]\nrequest = \"GET /\"\n",
        "must be lowercase"
    )]
    #[case(
        "id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n[[step]]\nrequest = \"FETCH /\"\n",
        "METHOD /path"
    )]
    #[case(
        "id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n[[step]]\nname = \"n\"\n",
        "either request or sql"
    )]
    #[case("id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n[[step]]\nrequest = \"GET /\"\nactor = \"root\"\n", "unknown actor")]
    #[case(
        "id = \"x\"\ntitle = \"t\"\nsource = \"s\"\nbogus = 1\n[[step]]\nrequest = \"GET /\"\n",
        "unknown field `bogus`"
    )]
    #[case("id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n[[issue]]\nname = \"i\"\ncheckout = true\n[[step]]\nrequest = \"GET /\"\n", "needs an assignee")]
    #[case("id = \"x\"\ntitle = \"t\"\nsource = \"s\"\nlevel = \"may\"\n[[step]]\nrequest = \"GET /\"\n", "unknown variant")]
    fn rejects_malformed_scenarios(#[case] text: &str, #[case] needle: &str) {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }

    #[test]
    fn selection_by_id_prefix_and_tag() {
        let s = parse(GOOD).unwrap();
        let all = vec![s];
        assert_eq!(select(all.clone(), &["smoke.example".into()]).len(), 1);
        assert_eq!(select(all.clone(), &["smoke".into()]).len(), 1);
        assert_eq!(select(all.clone(), &["smoke.*".into()]).len(), 1);
        assert_eq!(select(all.clone(), &["tag:smoke".into()]).len(), 1);
        assert_eq!(select(all.clone(), &["smok".into()]).len(), 0);
        assert_eq!(select(all, &["authz".into()]).len(), 0);
    }

    #[test]
    fn actors() {
        assert_eq!(
            parse_actor("agent:a1").unwrap(),
            ActorRef::Agent("a1".into())
        );
        assert!(parse_actor("agent:").is_err());
    }
}

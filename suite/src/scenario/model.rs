//! A scenario once loaded: every step is an HTTP call or an SQL query, every
//! actor and fixture name is resolved, every `${…}` reference is known.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::check::CheckMeta;

/// A parsed, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario as a check: id, title, level, source, tags, the modes
    /// and host versions it applies to.
    pub meta: CheckMeta,
    pub agents: Vec<AgentFixture>,
    pub issues: Vec<IssueFixture>,
    pub steps: Vec<Step>,
    /// The file it came from.
    pub path: PathBuf,
}

impl Scenario {
    /// Stable check id, e.g. `smoke.initialize-board`.
    pub fn id(&self) -> &str {
        &self.meta.id
    }

    /// Whether any step needs the host's database.
    pub fn needs_database(&self) -> bool {
        self.steps.iter().any(Step::needs_database)
    }
}

/// An agent created for this scenario only.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFixture {
    pub name: String,
    /// World company name (`a` or `b`).
    #[serde(default = "default_company")]
    pub company: String,
}

/// An issue created for this scenario only.
#[derive(Debug, Clone, serde::Deserialize)]
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

/// One step of a scenario.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: Option<String>,
    pub action: Action,
    /// Saves values for later steps: name → JSON pointer into the response
    /// body (HTTP) or into the array of rows (SQL, e.g. `/0/id`).
    pub save: BTreeMap<String, String>,
    /// Repeat the step until its expectations hold (asynchronous effects).
    pub retry: Option<Retry>,
    /// Line of the step's `[[step]]` header in its file, for messages.
    pub line: usize,
}

/// What a step does. Steps are loaded once per run: the variants' sizes do
/// not matter, and boxing would only add noise where steps are matched.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Action {
    Http(HttpStep),
    Sql(SqlStep),
}

/// An HTTP call made as one actor.
#[derive(Debug, Clone)]
pub struct HttpStep {
    /// Upper-case method (`GET`, `POST`, …).
    pub method: String,
    /// Path with `${…}` references.
    pub path: String,
    pub actor: ActorRef,
    /// Value of `X-Paperclip-Run-Id`.
    pub run: Option<String>,
    pub body: StepBody,
    pub headers: BTreeMap<String, String>,
    /// Expected status: a number or a matcher (`{ "$one_of" = [200, 201] }`).
    pub expect_status: Option<Value>,
    /// Response headers that must be present with these values (names are
    /// case-insensitive); `"$absent"` requires the header to be missing.
    pub expect_headers: BTreeMap<String, String>,
    /// Subset match on the JSON response body.
    pub expect_body: Option<Value>,
}

/// The body an HTTP step sends.
#[derive(Debug, Clone)]
pub enum StepBody {
    None,
    Json(Value),
    Raw { content_type: String, text: String },
}

/// An SQL query on the host's database.
#[derive(Debug, Clone)]
pub struct SqlStep {
    pub sql: String,
    /// Values for `$1`, `$2`…, quoted as SQL literals.
    pub params: Vec<Value>,
    /// The rows, in order, each matched as a subset.
    pub expect_rows: Option<Value>,
}

/// Retry policy for a step.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
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

impl Step {
    /// A label for reports: the name, else the request line or the SQL.
    pub fn label(&self, index: usize) -> String {
        if let Some(name) = &self.name {
            return format!("step {} ({name})", index + 1);
        }
        match &self.action {
            Action::Http(h) => format!("step {} ({} {})", index + 1, h.method, h.path),
            Action::Sql(s) => format!(
                "step {} (sql: {})",
                index + 1,
                crate::health::truncate(s.sql.trim(), 60)
            ),
        }
    }

    /// Whether this step needs the host's database.
    pub fn needs_database(&self) -> bool {
        matches!(self.action, Action::Sql(_))
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

//! Check results: what the reports are made of.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exchange::Exchange;

/// How binding a rule is. A failed `must` fails the run; a failed `should`
/// is reported as a warning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Must,
    Should,
}

impl Level {
    /// The status of a check of this level whose rule did not hold: a
    /// `must` fails the run, a `should` only warns.
    pub fn failed_status(self) -> Status {
        match self {
            Level::Must => Status::Failed,
            Level::Should => Status::Warning,
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    /// A `should` rule that did not hold.
    Warning,
    /// Not applicable to this host or run (the reason says why).
    Skipped,
    /// Failed, but listed in the baseline of known failures.
    Baselined,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Warning => "warning",
            Status::Skipped => "skipped",
            Status::Baselined => "baselined",
        }
    }
}

/// Why a check failed, with everything needed to understand and replay it.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Which step failed, e.g. `step 2 (POST /api/…)`.
    pub step: String,
    /// One sentence: what differed.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
    /// The HTTP exchange of the failing step, if it was an HTTP step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
}

impl Failure {
    /// A failure described by a message alone (no expected/actual values,
    /// no exchange).
    pub fn new(step: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            step: step.into(),
            message: message.into(),
            expected: None,
            actual: None,
            exchange: None,
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub status: Status,
    pub duration_ms: u64,
    /// Contract section or observation the rule comes from.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Why the check was skipped or baselined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every HTTP exchange the check made, in order.
    pub exchanges: Vec<Exchange>,
    /// Rows returned by the check's SQL steps, in order (for comparing hosts).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub rows: Vec<RowsObserved>,
    /// A command that re-runs just this check.
    pub repro: String,
    /// Property checks: the seed of the case generator, in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// Property checks: how many cases ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cases: Option<u32>,
    /// Check-specific facts for reports (e.g. a property's case counts per
    /// domain cell, the steps a scenario skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl CheckResult {
    /// Whether this result makes the run fail.
    pub fn fails_run(&self) -> bool {
        self.status == Status::Failed
    }

    /// Records `failure` and grades it by the check's level.
    pub fn fail(&mut self, failure: Failure) {
        self.status = self.level.failed_status();
        self.failure = Some(failure);
    }
}

/// The rows one SQL step saw.
#[derive(Debug, Clone, Serialize)]
pub struct RowsObserved {
    pub step: String,
    pub rows: Value,
}

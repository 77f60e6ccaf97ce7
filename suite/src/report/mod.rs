//! Reports of a run: for people (`human`), for scripts (`json`) and for CI
//! systems (`junit`).

pub mod diff;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;

use serde::Serialize;

use crate::check::{CheckResult, Status};
use crate::target::HostInfo;

/// Counts over all checks.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub warnings: usize,
    pub skipped: usize,
    pub baselined: usize,
    pub duration_ms: u64,
}

/// Everything a report is made from.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub host: HostReport,
    /// Property settings of the run (seed, cases, version profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
    pub summary: Summary,
    pub checks: Vec<CheckResult>,
    /// What the teardown could not remove from a host the suite did not
    /// start (`url=`), one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_on_host: Vec<String>,
}

/// Settings that replay a run's property cases.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub seed: String,
    pub cases: u32,
    pub profile: String,
    /// The host versions the profile was verified on.
    pub profile_verified_on: Vec<String>,
    /// Set when the host's version is not one of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_warning: Option<String>,
}

/// The host as reported (the stable `host` object of the JSON report).
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub kind: String,
    pub version: Option<String>,
    pub mode: String,
    /// The spec given on the command line, e.g. `paperclip@2026.707.0`.
    pub spec: String,
}

impl RunReport {
    pub fn new(
        host: &HostInfo,
        mode: &str,
        spec: &str,
        checks: Vec<CheckResult>,
        duration_ms: u64,
    ) -> Self {
        let summary = summarize(&checks, duration_ms);
        RunReport {
            host: HostReport {
                kind: host.kind.clone(),
                version: host.version.clone(),
                mode: mode.to_string(),
                spec: spec.to_string(),
            },
            run: None,
            summary,
            checks,
            left_on_host: Vec::new(),
        }
    }

    /// Whether any check fails the run.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(CheckResult::fails_run)
    }
}

/// Counts check statuses.
pub fn summarize(checks: &[CheckResult], duration_ms: u64) -> Summary {
    let mut s = Summary {
        duration_ms,
        ..Summary::default()
    };
    for c in checks {
        match c.status {
            Status::Passed => s.passed += 1,
            Status::Failed => s.failed += 1,
            Status::Warning => s.warnings += 1,
            Status::Skipped => s.skipped += 1,
            Status::Baselined => s.baselined += 1,
        }
    }
    s
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Check results shaped like real ones, for report tests.
    use crate::check::{CheckResult, Failure, Level, Status};
    use crate::exchange::{Exchange, RecordedRequest, RecordedResponse};
    use serde_json::json;

    pub fn exchange() -> Exchange {
        Exchange {
            request: RecordedRequest {
                method: "POST".into(),
                url: "http://127.0.0.1:3100/api/plugins/p/api/issues/i/smoke".into(),
                headers: vec![("Authorization".into(), "Bearer pcp_84…".into())],
                body: Some(json!({})),
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: vec![],
                body: json!({"error": "nope"}),
                json: true,
            }),
            error: None,
            duration_ms: 12,
        }
    }

    pub fn checks() -> Vec<CheckResult> {
        let base = |id: &str, status: Status| CheckResult {
            id: id.into(),
            title: format!("title of {id}"),
            level: Level::Must,
            status,
            duration_ms: 5,
            source: "contract-http.md §4".into(),
            failure: None,
            reason: None,
            exchanges: vec![],
            rows: Vec::new(),
            repro: format!("conformance run --host mock --only {id}"),
            seed: None,
            cases: None,
            details: None,
        };
        let mut failed = base("smoke.failing", Status::Failed);
        failed.failure = Some(Failure {
            step: "step 1 (POST …)".into(),
            message: "expected status 401, got 200".into(),
            expected: Some(json!({"status": 401})),
            actual: Some(json!({"status": 200})),
            exchange: Some(exchange()),
        });
        failed.exchanges = vec![exchange()];
        let mut skipped = base("smoke.skipped", Status::Skipped);
        skipped.reason = Some("needs the database".into());
        vec![base("smoke.passing", Status::Passed), failed, skipped]
    }
}

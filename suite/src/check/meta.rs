//! What every check is, whatever its kind.

use serde::Serialize;

use super::{CheckResult, Level, Status};
use crate::target::DeploymentMode;

/// The kind of a check: decides how the run executes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Scenario,
    Property,
    Restart,
    /// Compares a database across a host upgrade (`--upgrade-from`).
    Upgrade,
}

/// The host versions a check applies to, as a semver requirement
/// (`">=2026.916.0"`, `"<2026.831.0"`). Paperclip's calendar versions are
/// valid semver, so the crate's comparison is exact for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionGate {
    pub text: String,
    req: semver::VersionReq,
}

impl VersionGate {
    /// Parses a requirement; the error says what a valid one looks like.
    pub fn parse(text: &str) -> Result<Self, String> {
        semver::VersionReq::parse(text.trim())
            .map(|req| VersionGate {
                text: text.trim().to_string(),
                req,
            })
            .map_err(|e| {
                format!("versions = '{text}' is not a version requirement ({e}); write e.g. \">=2026.916.0\"")
            })
    }

    /// Whether `version` satisfies the gate. A host that reports no version,
    /// or one that is not semver, is given the benefit of the doubt: the
    /// check runs, and a wrong guess shows as a failure, not as silence.
    pub fn admits(&self, version: Option<&str>) -> bool {
        match version.and_then(|v| semver::Version::parse(v.trim()).ok()) {
            Some(v) => self.req.matches(&v),
            None => true,
        }
    }
}

/// Everything the run needs to know about a check before running it.
#[derive(Debug, Clone)]
pub struct CheckMeta {
    /// Stable id, e.g. `smoke.initialize-board`, `authz`.
    pub id: String,
    /// One line for reports.
    pub title: String,
    pub level: Level,
    /// Contract section or observation the rule comes from.
    pub source: String,
    pub tags: Vec<String>,
    /// Deployment modes the check applies to; empty means all.
    pub modes: Vec<DeploymentMode>,
    /// Host versions the check applies to; `None` means all.
    pub versions: Option<VersionGate>,
    /// Runs after every other check, with nothing else talking to the host.
    pub runs_alone: bool,
    pub kind: CheckKind,
}

impl CheckMeta {
    /// A check that applies everywhere and runs beside others.
    pub fn new(kind: CheckKind, id: &str, title: &str, source: &str) -> Self {
        CheckMeta {
            id: id.to_string(),
            title: title.to_string(),
            level: Level::Must,
            source: source.to_string(),
            tags: Vec::new(),
            modes: Vec::new(),
            versions: None,
            runs_alone: false,
            kind,
        }
    }

    /// The result of this check before anything ran: passed, no evidence,
    /// with the command that replays just this check.
    pub fn result(&self, repro_prefix: &str) -> CheckResult {
        CheckResult {
            id: self.id.clone(),
            title: self.title.clone(),
            level: self.level,
            status: Status::Passed,
            duration_ms: 0,
            source: self.source.clone(),
            failure: None,
            reason: None,
            exchanges: Vec::new(),
            rows: Vec::new(),
            repro: format!("{repro_prefix} --only {}", self.id),
            seed: None,
            cases: None,
            details: None,
        }
    }

    /// The result of this check when it did not run, with the reason.
    pub fn skipped(&self, repro_prefix: &str, reason: impl Into<String>) -> CheckResult {
        let mut result = self.result(repro_prefix);
        result.status = Status::Skipped;
        result.reason = Some(reason.into());
        result
    }

    /// Why the check does not apply to a host in `mode` at `version`, or
    /// `None` when it does.
    pub fn not_applicable(&self, mode: DeploymentMode, version: Option<&str>) -> Option<String> {
        if !self.modes.is_empty() && !self.modes.contains(&mode) {
            let modes: Vec<&str> = self.modes.iter().map(|m| m.as_str()).collect();
            return Some(format!(
                "applies to {} mode only; this host runs {}",
                modes.join(", "),
                mode.as_str()
            ));
        }
        if let Some(gate) = &self.versions {
            if !gate.admits(version) {
                return Some(format!(
                    "applies to host versions {} only; this host is {}",
                    gate.text,
                    version.unwrap_or("of unknown version")
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_gates_compare_calendar_versions() {
        let gate = VersionGate::parse(">=2026.916.0").unwrap();
        assert!(gate.admits(Some("2026.916.1")));
        assert!(!gate.admits(Some("2026.831.1")));
        assert!(gate.admits(None));
        assert!(VersionGate::parse("newest").is_err());
    }

    #[test]
    fn modes_and_versions_gate_a_check() {
        let mut meta = CheckMeta::new(CheckKind::Scenario, "x", "t", "s");
        assert!(meta
            .not_applicable(DeploymentMode::LocalTrusted, None)
            .is_none());
        meta.modes = vec![DeploymentMode::Authenticated];
        assert!(meta
            .not_applicable(DeploymentMode::LocalTrusted, None)
            .unwrap()
            .contains("authenticated mode only"));
        meta.modes.clear();
        meta.versions = Some(VersionGate::parse("<2026.800.0").unwrap());
        assert!(meta
            .not_applicable(DeploymentMode::LocalTrusted, Some("2026.916.1"))
            .unwrap()
            .contains("versions <2026.800.0"));
    }

    #[test]
    fn one_result_constructor() {
        let meta = CheckMeta::new(CheckKind::Restart, "restart.x", "t", "s");
        let r = meta.skipped("conformance run --host mock", "why");
        assert_eq!(r.status, Status::Skipped);
        assert_eq!(r.repro, "conformance run --host mock --only restart.x");
    }
}

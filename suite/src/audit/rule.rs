//! Security rules: what an audit probe is graded against.
//!
//! A conformance check asks "does the host behave like the reference host?";
//! a rule asks "can a caller or a plugin reach what it should not?", on any
//! host, the reference one included. Each rule has a severity and belongs to
//! a family a reviewer knows from API fuzzers.

use serde::{Deserialize, Serialize};

/// How bad a finding of a rule is. Ordered: `Info < Low < … < Critical`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The CVSS-like score code-scanning tools sort SARIF results by
    /// (`security-severity`): the middle of each qualitative band.
    pub fn score(self) -> &'static str {
        match self {
            Severity::Info => "0.0",
            Severity::Low => "2.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

/// Families of rules, named as API fuzzers' checkers name them, so that a
/// reviewer can map a finding to what they already know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Who the caller is: missing, bogus or malformed credentials, and
    /// requests a browser can be made to send (foreign `Origin`).
    Authentication,
    /// One company's caller or plugin reaching another company's data.
    CrossTenantAccess,
    /// A child reached through a parent it does not belong to (an issue of
    /// B under company A, a run of another agent).
    ResourceHierarchy,
    /// A credential, agent, run or plugin that was ended still granting
    /// what it granted.
    UseAfterFree,
    /// Internals (SQL, stack traces, paths, credentials) in answers or
    /// forwarded to code that should not see them.
    LeakageInErrors,
    /// Malformed, non-canonical or duplicated ids and paths.
    InvalidObjectIds,
    /// Bodies: size, depth, primitives, charsets, prototype keys.
    PayloadBody,
}

impl Family {
    pub const ALL: [Family; 7] = [
        Family::Authentication,
        Family::CrossTenantAccess,
        Family::ResourceHierarchy,
        Family::UseAfterFree,
        Family::LeakageInErrors,
        Family::InvalidObjectIds,
        Family::PayloadBody,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Authentication => "authentication",
            Family::CrossTenantAccess => "cross-tenant-access",
            Family::ResourceHierarchy => "resource-hierarchy",
            Family::UseAfterFree => "use-after-free",
            Family::LeakageInErrors => "leakage-in-errors",
            Family::InvalidObjectIds => "invalid-object-ids",
            Family::PayloadBody => "payload-body",
        }
    }

    /// A heading for people.
    pub fn title(self) -> &'static str {
        match self {
            Family::Authentication => "Authentication",
            Family::CrossTenantAccess => "Cross-tenant access",
            Family::ResourceHierarchy => "Resource hierarchy",
            Family::UseAfterFree => "Use after free",
            Family::LeakageInErrors => "Leakage in errors",
            Family::InvalidObjectIds => "Invalid object ids",
            Family::PayloadBody => "Payload body",
        }
    }
}

/// What a rule's probes look for in every answer besides their own
/// expectations: internals that must never reach a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Leak {
    /// SQL text or a query's parameters (`Failed query:`, `select … from`).
    Sql,
    /// A JavaScript or Rust stack trace.
    Stack,
    /// An absolute file path of the server (`/home/…`, `node_modules/`).
    Path,
    /// The text of a runtime error of the host's own code (a TypeError's
    /// `Cannot read properties of null`).
    Runtime,
}

impl Leak {
    /// The first line of `text` that shows this leak, if any.
    pub fn find(self, text: &str) -> Option<String> {
        let lower = text.to_ascii_lowercase();
        let hit = match self {
            Leak::Sql => [
                "failed query:",
                "\nparams:",
                "select \"",
                " for update",
                "syntax error at or near",
            ]
            .iter()
            .find_map(|n| lower.find(n)),
            Leak::Stack => [
                "\n    at ",
                "    at async ",
                "stack backtrace",
                "at node:internal",
            ]
            .iter()
            .find_map(|n| lower.find(n)),
            Leak::Path => [
                "/node_modules/",
                "/home/",
                "/usr/lib/node",
                "file:///",
                "/tmp/conformance-run-",
            ]
            .iter()
            .find_map(|n| lower.find(n)),
            Leak::Runtime => [
                "cannot read properties of",
                "is not a function",
                "typeerror:",
                "referenceerror:",
                "panicked at",
            ]
            .iter()
            .find_map(|n| lower.find(n)),
        }?;
        let start = text[..hit].rfind('\n').map_or(0, |i| i + 1);
        let end = text[hit..].find('\n').map_or(text.len(), |i| hit + i);
        Some(crate::health::truncate(text[start..end].trim(), 160))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Leak::Sql => "SQL text",
            Leak::Stack => "a stack trace",
            Leak::Path => "a server file path",
            Leak::Runtime => "a runtime error of the host's code",
        }
    }
}

/// A security rule as the catalog declares it.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Stable id, e.g. `cross-tenant.worker-db-query`.
    pub id: String,
    /// One line: what must hold.
    pub title: String,
    pub family: Family,
    pub severity: Severity,
    /// What the rule protects, why it matters and how to fix a finding.
    pub help: String,
    /// Where the rule or the observation comes from (contract section,
    /// finding number).
    pub source: String,
    /// Whether the reference host (paperclip@2026.707.0) has any finding
    /// of this rule (the catalog's `reference_findings`, per probe on
    /// [`super::catalog::Probe::reference_finding`]).
    pub reference_shares: bool,
    /// Internals no answer of the rule's probes may show.
    pub leaks: Vec<Leak>,
    /// The catalog file and line that declare it.
    pub file: String,
    pub line: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_ordered_and_leaks_are_found() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        let sql = "Failed query: select \"issues\".\"id\" from \"issues\" where \"issues\".\"id\" = $1 for update\nparams: CON-3";
        assert!(Leak::Sql.find(sql).unwrap().starts_with("Failed query"));
        assert!(Leak::Sql.find("Issue run ownership conflict").is_none());
        assert!(Leak::Stack
            .find("TypeError: x\n    at foo (/srv/app/node_modules/a.js:1:2)")
            .is_some());
        assert!(Leak::Path.find("Plugin API route not found").is_none());
    }
}

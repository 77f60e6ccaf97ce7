//! The audit report: JSON (`--json`), and a summary per family for people.

use std::collections::BTreeMap;

use serde::Serialize;

use super::accept::Stale;
use super::grade::{ProbeResult, Verdict};
use super::rule::{Family, Rule, Severity};
use crate::report::HostReport;

/// Everything an audit found, in a stable shape (fields are only added).
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub host: HostReport,
    pub fail_on: Severity,
    pub summary: Summary,
    pub families: Vec<FamilySummary>,
    pub rules: Vec<Rule>,
    pub results: Vec<ProbeResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stale_accepts: Vec<Stale>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_on_host: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub probes: usize,
    pub findings: usize,
    /// Findings per severity, accepted ones included.
    pub by_severity: BTreeMap<&'static str, usize>,
    pub accepted: usize,
    pub held: usize,
    pub not_applicable: usize,
    pub inconclusive: usize,
    /// Findings at or above `--fail-on` that are not accepted.
    pub failing: usize,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FamilySummary {
    pub family: Family,
    pub probes: usize,
    pub findings: usize,
    pub held: usize,
    /// The worst severity among its findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<Severity>,
}

impl AuditReport {
    pub fn new(
        host: HostReport,
        fail_on: Severity,
        rules: Vec<Rule>,
        results: Vec<ProbeResult>,
        stale_accepts: Vec<Stale>,
        duration_ms: u64,
    ) -> AuditReport {
        let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
        let mut by_severity = BTreeMap::new();
        for r in results.iter().filter(|r| r.verdict == Verdict::Finding) {
            *by_severity.entry(r.severity.as_str()).or_insert(0) += 1;
        }
        let summary = Summary {
            probes: results.len(),
            findings: count(Verdict::Finding),
            by_severity,
            accepted: results.iter().filter(|r| r.accepted.is_some()).count(),
            held: count(Verdict::Held),
            not_applicable: count(Verdict::NotApplicable),
            inconclusive: count(Verdict::Inconclusive),
            failing: results.iter().filter(|r| r.fails_at(fail_on)).count(),
            duration_ms,
        };
        let families = Family::ALL
            .iter()
            .map(|&family| {
                let of: Vec<&ProbeResult> = results
                    .iter()
                    .filter(|r| rules.iter().any(|x| x.id == r.rule && x.family == family))
                    .collect();
                let findings: Vec<&&ProbeResult> = of
                    .iter()
                    .filter(|r| r.verdict == Verdict::Finding)
                    .collect();
                FamilySummary {
                    family,
                    probes: of.len(),
                    findings: findings.len(),
                    held: of.iter().filter(|r| r.verdict == Verdict::Held).count(),
                    worst: findings.iter().map(|r| r.severity).max(),
                }
            })
            .collect();
        AuditReport {
            host,
            fail_on,
            summary,
            families,
            rules,
            results,
            stale_accepts,
            left_on_host: Vec::new(),
        }
    }

    /// Exit code 1 when a finding reaches `--fail-on` unaccepted or an
    /// accept entry is stale.
    pub fn failed(&self) -> bool {
        self.summary.failing > 0 || !self.stale_accepts.is_empty()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The human summary: findings per family, worst first, then totals.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let host = format!(
            "{} {} ({})",
            self.host.spec,
            self.host.version.as_deref().unwrap_or(""),
            self.host.mode
        );
        out.push_str(&format!("\naudit of {}\n", host.replace("  ", " ")));
        for fam in &self.families {
            if fam.probes == 0 {
                continue;
            }
            out.push_str(&format!(
                "\n{} — {} probes, {} findings{}\n",
                fam.family.title(),
                fam.probes,
                fam.findings,
                fam.worst
                    .map(|s| format!(" (worst: {})", s.as_str()))
                    .unwrap_or_default()
            ));
            let mut findings: Vec<&ProbeResult> = self
                .results
                .iter()
                .filter(|r| {
                    matches!(r.verdict, Verdict::Finding | Verdict::Inconclusive)
                        && self
                            .rules
                            .iter()
                            .any(|x| x.id == r.rule && x.family == fam.family)
                })
                .collect();
            findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.probe.cmp(&b.probe)));
            for r in findings {
                out.push_str(&render_result(r));
            }
        }
        for s in &self.stale_accepts {
            out.push_str(&format!("\nSTALE {}\n  {}\n", s.finding, s.message));
        }
        for line in &self.left_on_host {
            out.push_str(&format!("left on the host: {line}\n"));
        }
        let sev: Vec<String> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ]
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                self.summary.by_severity.get(s.as_str()).unwrap_or(&0),
                s.as_str()
            )
        })
        .collect();
        out.push_str(&format!(
            "\n{} probes: {} findings ({}), {} accepted, {} held, {} not applicable, {} inconclusive; {} at or above --fail-on {} ({:.1} s)\n",
            self.summary.probes,
            self.summary.findings,
            sev.join(", "),
            self.summary.accepted,
            self.summary.held,
            self.summary.not_applicable,
            self.summary.inconclusive,
            self.summary.failing,
            self.fail_on.as_str(),
            self.summary.duration_ms as f64 / 1000.0
        ));
        out
    }
}

fn render_result(r: &ProbeResult) -> String {
    let tag = match (r.verdict, &r.accepted) {
        (Verdict::Inconclusive, _) => "INCONCLUSIVE".to_string(),
        (_, Some(_)) => format!("ACCEPTED {}", r.severity.as_str().to_uppercase()),
        _ => r.severity.as_str().to_uppercase(),
    };
    let mut out = format!("  {tag} {} [{}] {}\n", r.probe, r.rule, r.title);
    if let Some(m) = &r.message {
        out.push_str(&format!(
            "    {}\n",
            crate::health::truncate(&m.replace('\n', "\\n"), 300)
        ));
    }
    if let Some(e) = &r.exchange {
        out.push_str(&format!(
            "    {}\n",
            crate::health::truncate(&e.summary(), 300)
        ));
    }
    if let Some(reason) = &r.accepted {
        out.push_str(&format!("    accepted: {reason}\n"));
    }
    out.push_str(&format!(
        "    reference host (2026.707.0) {}; {}\n    replay: {}\n",
        if r.reference_shares {
            "shares it"
        } else {
            "does not"
        },
        r.location,
        r.replay
    ));
    out
}

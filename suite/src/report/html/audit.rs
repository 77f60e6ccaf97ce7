//! An audit's report as a [`Page`]: findings per severity as the summary,
//! one section per rule family, findings first (worst first) with their
//! rule, evidence (expected, actual, exchange) and replay command — the same
//! page code as a run's report.

use std::cmp::Reverse;

use super::exchange;
use super::{Block, Count, Item, Page, Section, SectionBody, Tone};
use crate::audit::{AuditReport, Family, ProbeResult, Severity, Verdict};

/// The page of `report`; `generated` is the date shown.
pub fn page(report: &AuditReport, generated: &str) -> Page {
    let host = &report.host;
    let s = &report.summary;
    let facts = vec![
        ("Host".to_string(), host.spec.clone()),
        (
            "Version".to_string(),
            host.version.clone().unwrap_or_else(|| "unknown".into()),
        ),
        ("Mode".to_string(), host.mode.clone()),
        ("Fails on".to_string(), report.fail_on.as_str().to_string()),
        ("Probes".to_string(), s.probes.to_string()),
        (
            "Took".to_string(),
            format!("{:.1} s", s.duration_ms as f64 / 1000.0),
        ),
        ("Date".to_string(), generated.to_string()),
    ];
    let severity_tone = |sev: Severity| {
        if sev >= report.fail_on {
            Tone::Bad
        } else {
            Tone::Warn
        }
    };
    let mut counts: Vec<Count> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ]
    .into_iter()
    .map(|sev| Count {
        key: sev.as_str().into(),
        label: sev.as_str().into(),
        value: s.by_severity.get(sev.as_str()).copied().unwrap_or(0),
        tone: severity_tone(sev),
    })
    .collect();
    let count = |key: &str, value: usize, tone: Tone| Count {
        key: key.replace(' ', "_"),
        label: key.into(),
        value,
        tone,
    };
    counts.extend([
        count("failing", s.failing, Tone::Bad),
        count("accepted", s.accepted, Tone::Info),
        count("held", s.held, Tone::Good),
        count("not applicable", s.not_applicable, Tone::Muted),
        count("inconclusive", s.inconclusive, Tone::Warn),
    ]);
    let mut notices: Vec<String> = report
        .stale_accepts
        .iter()
        .map(|st| format!("stale accept entry {}: {}", st.finding, st.message))
        .collect();
    notices.extend(
        report
            .left_on_host
            .iter()
            .map(|l| format!("left on the host: {l}")),
    );
    let sections = Family::ALL
        .into_iter()
        .filter_map(|family| family_section(report, family))
        .collect();
    Page {
        title: format!("Security audit: {}", host.spec),
        facts,
        counts,
        notices,
        sections,
    }
}

fn family_section(report: &AuditReport, family: Family) -> Option<Section> {
    let summary = report.families.iter().find(|f| f.family == family)?;
    if summary.probes == 0 {
        return None;
    }
    let mut results: Vec<&ProbeResult> = report
        .results
        .iter()
        .filter(|r| {
            report
                .rules
                .iter()
                .any(|rule| rule.id == r.rule && rule.family == family)
        })
        .collect();
    // Findings first, worst first; then what could not be decided; then
    // what held.
    results.sort_by_key(|r| {
        let rank = match r.verdict {
            Verdict::Finding => 0,
            Verdict::Inconclusive => 1,
            Verdict::Held => 2,
            Verdict::NotApplicable => 3,
        };
        (rank, Reverse(r.severity), r.probe.clone())
    });
    Some(Section {
        id: format!("family-{}", family.as_str()),
        title: format!(
            "{} — {} probes, {} findings",
            family.title(),
            summary.probes,
            summary.findings
        ),
        intro: None,
        body: SectionBody::Items(results.into_iter().map(|r| item(report, r)).collect()),
    })
}

fn item(report: &AuditReport, r: &ProbeResult) -> Item {
    let failing = r.fails_at(report.fail_on);
    let (status, tone) = match (r.verdict, &r.accepted) {
        (Verdict::Finding, Some(_)) => ("accepted".to_string(), Tone::Info),
        (Verdict::Finding, None) if failing => (r.severity.as_str().to_string(), Tone::Bad),
        (Verdict::Finding, None) => (r.severity.as_str().to_string(), Tone::Warn),
        (Verdict::Inconclusive, _) => ("inconclusive".to_string(), Tone::Warn),
        (Verdict::Held, _) => ("held".to_string(), Tone::Good),
        (Verdict::NotApplicable, _) => ("n/a".to_string(), Tone::Muted),
    };
    let rule = report.rules.iter().find(|x| x.id == r.rule);
    let mut fields = vec![(
        "rule".to_string(),
        match rule {
            Some(rule) => format!("{} — {}", rule.id, rule.title),
            None => r.rule.clone(),
        },
    )];
    for (label, value) in [
        ("message", &r.message),
        ("step", &r.step),
        ("accepted", &r.accepted),
    ] {
        if let Some(v) = value {
            fields.push((label.to_string(), v.clone()));
        }
    }
    if r.verdict == Verdict::Finding {
        fields.push((
            "reference host".into(),
            if r.reference_shares {
                "has this finding too (paperclip@2026.707.0)".into()
            } else {
                "does not have this finding".into()
            },
        ));
    }
    if let Some(rule) = rule {
        fields.push(("why".into(), rule.help.clone()));
        fields.push(("source".into(), rule.source.clone()));
    }
    fields.push(("probe".into(), r.location.clone()));
    let mut blocks = Vec::new();
    if let Some(e) = &r.expected {
        blocks.push(Block::new("expected", "expected", exchange::pretty(e)));
    }
    if let Some(a) = &r.actual {
        blocks.push(Block::new("actual", "actual", exchange::pretty(a)));
    }
    if let Some(x) = &r.exchange {
        blocks.push(Block::new("exchange", "exchange", exchange::text(x)).wide());
    }
    if !r.replay.is_empty() {
        blocks.push(Block::new("replay", "replay", r.replay.clone()).wide());
    }
    Item {
        id: r.probe.clone(),
        title: r.title.clone(),
        status,
        tone,
        // The badge of a finding already names its severity.
        tags: if r.verdict == Verdict::Finding && r.accepted.is_none() {
            vec![r.rule.clone()]
        } else {
            vec![r.severity.as_str().to_string(), r.rule.clone()]
        },
        fields,
        blocks,
        open: matches!(r.verdict, Verdict::Finding | Verdict::Inconclusive) && r.accepted.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Rule;
    use crate::report::html::render;
    use crate::report::HostReport;

    fn result(probe: &str, verdict: Verdict, severity: Severity) -> ProbeResult {
        ProbeResult {
            probe: probe.into(),
            rule: "cross-tenant.route".into(),
            title: format!("title of {probe}"),
            severity,
            verdict,
            message: Some("agent of B got 200 on A's issue".into()),
            step: Some("step 1".into()),
            expected: Some(serde_json::json!({"status": 403})),
            actual: Some(serde_json::json!({"status": 200})),
            exchange: Some(crate::report::fixtures::exchange()),
            rows: Vec::new(),
            accepted: None,
            reference_shares: false,
            location: "scenarios/audit/x.toml:3".into(),
            duration_ms: 4,
            replay: format!("conformance audit --only {probe}"),
        }
    }

    #[test]
    fn findings_render_through_the_same_page() {
        let rule = Rule {
            id: "cross-tenant.route".into(),
            title: "B cannot reach A".into(),
            family: Family::CrossTenantAccess,
            severity: Severity::High,
            help: "check the company".into(),
            source: "contract-http.md §2".into(),
            reference_shares: false,
            leaks: Vec::new(),
            file: "scenarios/audit/x.toml".into(),
            line: 1,
        };
        let report = AuditReport::new(
            HostReport {
                kind: "mock".into(),
                version: None,
                mode: "local_trusted".into(),
                spec: "mock".into(),
            },
            Severity::High,
            vec![rule],
            vec![
                result("held.one", Verdict::Held, Severity::High),
                result("found.one", Verdict::Finding, Severity::High),
            ],
            Vec::new(),
            1500,
        );
        let html = render(&page(&report, "2026-12-07 07:00 UTC"));
        assert!(html.contains("<title>Security audit: mock</title>"));
        assert!(html.contains(r#"data-count="high"><div class="v">1</div>"#));
        assert!(html.contains(r#"data-count="failing"><div class="v">1</div>"#));
        assert!(html.contains(r#"id="family-cross-tenant-access""#));
        let found = html.find(r#"data-id="found.one" data-status="high" open>"#);
        let held = html.find(r#"data-id="held.one" data-status="held">"#);
        assert!(found.unwrap() < held.unwrap(), "findings first");
        assert!(html.contains("conformance audit --only found.one"));
        assert!(html.contains("check the company"));
    }
}

//! A run's report as a [`Page`]: the host and run facts, the summary, a
//! picture for every check that provides a matrix, then every check —
//! failures first and open, with their step, message, expected and actual
//! values, exchange and replay command.

use serde_json::Value;

use super::exchange;
use super::{Block, Count, Item, Matrix, Page, Section, SectionBody, Tone};
use crate::check::{CheckResult, Level, Status};
use crate::report::RunReport;

/// The page of `report`; `generated` is the date shown (the caller's clock,
/// so tests can fix it).
pub fn page(report: &RunReport, generated: &str) -> Page {
    let host = &report.host;
    let mut facts = vec![
        ("Host".to_string(), host.spec.clone()),
        (
            "Version".to_string(),
            host.version.clone().unwrap_or_else(|| "unknown".into()),
        ),
        ("Mode".to_string(), host.mode.clone()),
    ];
    let mut notices = Vec::new();
    if let Some(run) = &report.run {
        facts.push(("Profile".into(), run.profile.clone()));
        facts.push(("Seed".into(), run.seed.clone()));
        facts.push(("Cases".into(), run.cases.to_string()));
        notices.extend(run.profile_warning.clone());
    }
    facts.push(("Checks".into(), report.checks.len().to_string()));
    facts.push((
        "Took".into(),
        format!("{:.1} s", report.summary.duration_ms as f64 / 1000.0),
    ));
    facts.push(("Date".into(), generated.to_string()));
    notices.extend(
        report
            .left_on_host
            .iter()
            .map(|l| format!("left on the host: {l}")),
    );

    let s = &report.summary;
    let count = |key: &str, label: &str, value: usize, tone: Tone| Count {
        key: key.into(),
        label: label.into(),
        value,
        tone,
    };
    let counts = vec![
        count("passed", "passed", s.passed, Tone::Good),
        count("failed", "failed", s.failed, Tone::Bad),
        count("warnings", "warnings", s.warnings, Tone::Warn),
        count("baselined", "baselined", s.baselined, Tone::Info),
        count("skipped", "skipped", s.skipped, Tone::Muted),
    ];

    let mut sections: Vec<Section> = report
        .checks
        .iter()
        .filter_map(|c| {
            let matrix = Matrix::from_details(c.details.as_ref()?)?;
            Some(Section {
                id: format!("matrix-{}", c.id),
                title: format!("{} (check {})", matrix.title, c.id),
                intro: Some(format!(
                    "Each cell is a route declaration called by one caller, coloured by the status the host answered over the cases of this run that drew it (every declaration runs twice as fixed cases, random cases add more). A marked cell got a status the model did not expect; hover a cell for its cases. The check is {}.",
                    c.status.as_str()
                )),
                body: SectionBody::Matrix(matrix),
            })
        })
        .collect();

    let mut checks: Vec<&CheckResult> = report.checks.iter().collect();
    // Failures first; the run's order otherwise (a stable sort).
    checks.sort_by_key(|c| match c.status {
        Status::Failed => 0,
        Status::Warning => 1,
        Status::Baselined => 2,
        Status::Passed => 3,
        Status::Skipped => 4,
    });
    sections.push(Section {
        id: "checks".into(),
        title: "Checks".into(),
        intro: Some(
            "Failed checks first, opened; click any check for its rule, cases and replay command."
                .into(),
        ),
        body: SectionBody::Items(checks.into_iter().map(item).collect()),
    });
    Page {
        title: format!("Conformance report: {}", host.spec),
        facts,
        counts,
        notices,
        sections,
    }
}

fn tone(status: Status) -> Tone {
    match status {
        Status::Passed => Tone::Good,
        Status::Failed => Tone::Bad,
        Status::Warning => Tone::Warn,
        Status::Baselined => Tone::Info,
        Status::Skipped => Tone::Muted,
    }
}

fn pretty(v: &Value) -> String {
    exchange::pretty(v)
}

fn item(c: &CheckResult) -> Item {
    let mut fields = vec![("rule".to_string(), c.source.clone())];
    if let Some(f) = &c.failure {
        fields.push(("failed at".into(), f.step.clone()));
        fields.push(("message".into(), f.message.clone()));
    }
    if let Some(reason) = &c.reason {
        fields.push(("reason".into(), reason.clone()));
    }
    if let (Some(seed), Some(cases)) = (&c.seed, c.cases) {
        fields.push(("cases".into(), format!("{cases} (seed {seed})")));
    }
    fields.push(("took".into(), format!("{} ms", c.duration_ms)));

    let mut blocks = Vec::new();
    if let Some(f) = &c.failure {
        if let Some(e) = &f.expected {
            blocks.push(Block::new("expected", "expected", pretty(e)));
        }
        if let Some(a) = &f.actual {
            blocks.push(Block::new("actual", "actual", pretty(a)));
        }
        if let Some(x) = &f.exchange {
            blocks.push(Block::new("exchange", "exchange", exchange::text(x)).wide());
        }
    }
    if !c.repro.is_empty() && c.status != Status::Skipped {
        blocks.push(Block::new("replay", "replay", c.repro.clone()).wide());
    }
    let failing = matches!(c.status, Status::Failed | Status::Warning);
    Item {
        id: c.id.clone(),
        title: c.title.clone(),
        status: c.status.as_str().to_string(),
        tone: tone(c.status),
        tags: vec![match c.level {
            Level::Must => "must".into(),
            Level::Should => "should".into(),
        }],
        fields,
        blocks,
        open: failing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::checks;
    use crate::report::html::render;
    use crate::target::HostInfo;
    use serde_json::json;

    fn report() -> RunReport {
        let host = HostInfo {
            kind: "mock".into(),
            version: Some("mock-0.1.0".into()),
        };
        let mut checks = checks();
        checks[0].details = Some(json!({"matrix": {
            "title": "Route declarations × callers",
            "dimensions": ["auth", "checkoutPolicy", "companyResolution"],
            "rows": [["board", "none", "issue"], ["agent", "none", "issue"]],
            "columns": ["board", "agent B"],
            "cells": [{"row": 1, "column": 1, "expected": 403, "actual": 200, "cases": 1}]
        }}));
        RunReport::new(&host, "local_trusted", "mock", checks, 4200)
    }

    #[test]
    fn the_page_has_the_summary_the_matrix_and_the_failure() {
        let html = render(&page(&report(), "2026-12-07 06:30 UTC"));
        assert!(html.contains("<title>Conformance report: mock</title>"));
        assert!(html.contains("2026-12-07 06:30 UTC"));
        assert!(html.contains(r#"data-count="failed"><div class="v">1</div>"#));
        assert!(html.contains(r#"data-count="passed"><div class="v">1</div>"#));
        assert!(html.contains(r#"data-section="matrix""#));
        assert_eq!(html.matches(r#"<td class="m "#).count(), 4);
        assert!(html.contains(r#"data-mismatch="true""#));
        // The failing check comes first, open, with its exchange and replay.
        let failing = html.find(r#"data-id="smoke.failing""#).unwrap();
        assert!(failing < html.find(r#"data-id="smoke.passing""#).unwrap());
        assert!(html.contains(r#"data-status="failed" open>"#));
        assert!(html.contains("POST http://127.0.0.1:3100/api/plugins/p/api/issues/i/smoke"));
        assert!(html.contains("&quot;error&quot;: &quot;nope&quot;"));
        assert!(html.contains("conformance run --host mock --only smoke.failing"));
        // Skipped checks show why, and no replay.
        assert!(html.contains("needs the database"));
        assert!(!html.contains("--only smoke.skipped"));
    }
}

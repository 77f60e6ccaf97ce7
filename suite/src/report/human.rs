//! The report for people: one line per check as it completes, then the
//! details of every failure, then a summary line.
//!
//! A failure shows the rule (id, title, source), what differed, expected vs
//! actual, the HTTP exchange of the failing step and a command that re-runs
//! just that check.

use crate::check::{CheckResult, Status};
use crate::exchange::compact;

use super::{RunReport, Summary};

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn badge(status: Status, color: bool) -> String {
    let (text, code) = match status {
        Status::Passed => ("PASS", "32"),
        Status::Failed => ("FAIL", "31;1"),
        Status::Warning => ("WARN", "33"),
        Status::Skipped => ("SKIP", "2"),
        Status::Baselined => ("BASE", "36"),
    };
    paint(color, code, text)
}

/// `PASS  smoke.initialize-board  Board initializes … (231 ms)`.
pub fn check_line(check: &CheckResult, color: bool) -> String {
    let mut line = format!(
        "{}  {:<40} {} ({} ms)",
        badge(check.status, color),
        check.id,
        check.title,
        check.duration_ms
    );
    if let Some(reason) = &check.reason {
        line.push_str(&format!(" — {reason}"));
    }
    line
}

/// The explanation of a failed (or warned, or baselined) check.
pub fn failure_details(check: &CheckResult, color: bool) -> String {
    let Some(failure) = &check.failure else {
        return String::new();
    };
    let mut out = String::new();
    out.push_str(&format!(
        "{} {} [{}] {}\n",
        badge(check.status, color),
        paint(color, "1", &check.id),
        serde_json::to_value(check.level)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        check.title
    ));
    out.push_str(&format!("  rule:     {}\n", check.source));
    out.push_str(&format!(
        "  failed:   {}: {}\n",
        failure.step, failure.message
    ));
    if let Some(expected) = &failure.expected {
        out.push_str(&format!("  expected: {}\n", compact(expected, 1500)));
    }
    if let Some(actual) = &failure.actual {
        out.push_str(&format!("  actual:   {}\n", compact(actual, 1500)));
    }
    if let Some(exchange) = &failure.exchange {
        out.push_str("  exchange:\n");
        out.push_str(&exchange.render("    "));
    }
    if let Some(reason) = &check.reason {
        out.push_str(&format!("  note:     {reason}\n"));
    }
    out.push_str(&format!("  replay:   {}\n", check.repro));
    out
}

/// `12 passed, 1 failed, 0 warnings, 2 skipped` — alone on its line so CI
/// log readers can find it.
pub fn summary_line(summary: &Summary) -> String {
    let mut line = format!(
        "{} passed, {} failed, {} warnings, {} skipped",
        summary.passed, summary.failed, summary.warnings, summary.skipped
    );
    if summary.baselined > 0 {
        line.push_str(&format!(", {} baselined", summary.baselined));
    }
    line
}

/// The whole report after the run.
pub fn render(report: &RunReport, color: bool) -> String {
    let mut out = String::new();
    let problems: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.failure.is_some() && c.status != Status::Passed)
        .collect();
    if !problems.is_empty() {
        out.push_str(&format!("\n{}\n\n", paint(color, "1", "Failures")));
        for check in problems {
            out.push_str(&failure_details(check, color));
            out.push('\n');
        }
    }
    let host = match &report.host.version {
        Some(v) => format!("{} {v} ({})", report.host.kind, report.host.mode),
        None => format!("{} ({})", report.host.kind, report.host.mode),
    };
    out.push_str(&format!(
        "host: {host}; {} checks in {:.1}s\n",
        report.checks.len(),
        report.summary.duration_ms as f64 / 1000.0
    ));
    if let Some(run) = &report.run {
        out.push_str(&format!(
            "properties: seed {}, {} cases each, profile {} (replay with --seed {} --cases {})\n",
            run.seed, run.cases, run.profile, run.seed, run.cases
        ));
        if let Some(warning) = &run.profile_warning {
            out.push_str(&format!(
                "{}\n",
                paint(color, "33", &format!("warning: {warning}"))
            ));
        }
    }
    if let Some(line) = without_database_line(&report.checks) {
        out.push_str(&line);
    }
    for line in &report.left_on_host {
        out.push_str(&format!("left on the host: {line}\n"));
    }
    out.push_str(&summary_line(&report.summary));
    out.push('\n');
    out
}

/// A passing run that skipped checks for want of the host's database must
/// say so next to its summary, not only in each check's reason.
fn without_database_line(checks: &[CheckResult]) -> Option<String> {
    let (mut skipped, mut partly) = (0, 0);
    for check in checks {
        if !check
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("--host-database-url"))
        {
            continue;
        }
        if check.status == Status::Skipped {
            skipped += 1;
        } else {
            partly += 1;
        }
    }
    (skipped + partly > 0).then(|| {
        format!(
            "without the host's database: {skipped} checks skipped, {partly} run without their SQL steps; pass --host-database-url to run them all\n"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::checks;
    use crate::target::HostInfo;

    #[test]
    fn failure_shows_rule_expected_actual_exchange_and_replay() {
        let report = RunReport::new(
            &HostInfo {
                kind: "mock".into(),
                version: None,
            },
            "local_trusted",
            "mock",
            checks(),
            10,
        );
        let text = render(&report, false);
        assert!(text.contains("smoke.failing"), "{text}");
        assert!(text.contains("rule:     contract-http.md §4"), "{text}");
        assert!(text.contains("expected: {\"status\":401}"), "{text}");
        assert!(text.contains("actual:   {\"status\":200}"), "{text}");
        assert!(
            text.contains("POST http://127.0.0.1:3100/api/plugins/p/api/issues/i/smoke"),
            "{text}"
        );
        assert!(text.contains("Authorization: Bearer pcp_84…"), "{text}");
        assert!(
            text.contains("replay:   conformance run --host mock --only smoke.failing"),
            "{text}"
        );
        assert!(
            text.ends_with("1 passed, 1 failed, 0 warnings, 1 skipped\n"),
            "{text}"
        );
        assert!(!text.contains('\x1b'), "no colour when asked for none");
    }

    #[test]
    fn check_lines_have_badges_and_reasons() {
        let c = checks();
        assert!(check_line(&c[0], false).starts_with("PASS  smoke.passing"));
        assert!(check_line(&c[2], false).contains("— needs the database"));
        assert!(check_line(&c[1], true).contains("\x1b[31;1mFAIL\x1b[0m"));
    }
}

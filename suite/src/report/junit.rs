//! JUnit XML, for CI systems that render test results.
//!
//! One test suite per run (named after the host), one test case per check.
//! Failed checks are failures, warnings are passed cases with the warning in
//! system-out, skipped and baselined checks are skipped cases.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::check::Status;

use super::{human, RunReport};

/// The report as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let name = match &report.host.version {
        Some(v) => format!("conformance {} {v} {}", report.host.kind, report.host.mode),
        None => format!("conformance {} {}", report.host.kind, report.host.mode),
    };
    let mut suite = TestSuite::new(name.clone());
    for check in &report.checks {
        let details = human::failure_details(check, false);
        let status = match check.status {
            Status::Passed => TestCaseStatus::success(),
            Status::Warning => TestCaseStatus::success(),
            Status::Failed => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                if let Some(f) = &check.failure {
                    s.set_message(format!("{}: {}", f.step, f.message));
                }
                s.set_description(details.clone());
                s
            }
            Status::Skipped | Status::Baselined => {
                let mut s = TestCaseStatus::skipped();
                if let Some(reason) = &check.reason {
                    s.set_message(reason.clone());
                }
                s
            }
        };
        let mut case = TestCase::new(check.id.clone(), status);
        case.set_classname(
            check
                .id
                .split('.')
                .next()
                .unwrap_or("conformance")
                .to_string(),
        );
        case.set_time(std::time::Duration::from_millis(check.duration_ms));
        if check.status == Status::Warning {
            case.set_system_out(format!("WARNING (should-level rule)\n{details}"));
        }
        case.add_property(quick_junit::Property::new("source", check.source.clone()));
        case.add_property(quick_junit::Property::new("repro", check.repro.clone()));
        suite.add_test_case(case);
    }
    let mut junit = Report::new("conformance");
    junit.add_test_suite(suite);
    junit.set_time(std::time::Duration::from_millis(report.summary.duration_ms));
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- JUnit serialisation failed: {e} -->"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::checks;
    use crate::target::HostInfo;

    #[test]
    fn one_case_per_check_with_failures_and_skips() {
        let report = RunReport::new(
            &HostInfo {
                kind: "paperclip".into(),
                version: Some("2026.707.0".into()),
            },
            "local_trusted",
            "paperclip@2026.707.0",
            checks(),
            100,
        );
        let xml = render(&report);
        assert!(xml.contains("tests=\"3\""), "{xml}");
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert_eq!(xml.matches("<skipped").count(), 1, "{xml}");
        assert!(xml.contains("<testcase name=\"smoke.failing\""), "{xml}");
        assert!(xml.contains("expected status 401, got 200"), "{xml}");
        assert!(
            xml.contains("conformance paperclip 2026.707.0 local_trusted"),
            "{xml}"
        );
    }
}

//! The JSON report: a stable interface for CI scripts.
//!
//! Shape (fields are only ever added, never renamed or removed):
//! `{"host":{"kind","version","mode","spec"},
//!   "summary":{"passed","failed","warnings","skipped","baselined","duration_ms"},
//!   "checks":[{"id","title","level","status","duration_ms","source","repro",
//!              "failure"?,"reason"?,"exchanges"}]}`

use super::RunReport;

/// The report as pretty-printed JSON.
pub fn render(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::checks;
    use crate::target::HostInfo;

    #[test]
    fn has_the_documented_shape() {
        let host = HostInfo {
            kind: "paperclip".into(),
            version: Some("2026.707.0".into()),
        };
        let report = RunReport::new(
            &host,
            "local_trusted",
            "paperclip@2026.707.0",
            checks(),
            1234,
        );
        let v: serde_json::Value = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(v["host"]["kind"], "paperclip");
        assert_eq!(v["host"]["version"], "2026.707.0");
        for key in ["passed", "failed", "warnings", "skipped", "duration_ms"] {
            assert!(v["summary"][key].is_number(), "summary.{key}");
        }
        assert_eq!(v["summary"]["failed"], 1);
        let check = &v["checks"][1];
        for key in ["id", "title", "level", "status", "duration_ms"] {
            assert!(!check[key].is_null(), "checks[].{key}");
        }
        assert_eq!(check["status"], "failed");
        assert_eq!(check["level"], "must");
        assert_eq!(check["failure"]["exchange"]["response"]["status"], 200);
    }
}

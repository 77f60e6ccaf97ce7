//! Unit tests of the audit: the catalog loads and names its mistakes by
//! file and line, `--only`, accept files, grading, the report and SARIF.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::accept::AcceptFile;
use super::catalog::Catalog;
use super::grade::{grade, Verdict};
use super::report::AuditReport;
use super::rule::{Family, Severity};
use crate::check::{CheckKind, CheckMeta, Failure};
use crate::report::HostReport;

fn catalog_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/audit")
}

const RULE: &str = r#"
[[rule]]
id = "r.one"
title = "t"
family = "cross-tenant-access"
severity = "high"
reference_findings = []
source = "s"
help = "h"
"#;

fn parse(text: &str) -> crate::Result<Catalog> {
    let mut c = Catalog::default();
    c.add_file(text, Path::new("x.toml"))?;
    Ok(c)
}

#[test]
fn the_repository_catalog_loads_and_covers_every_family() {
    let catalog = Catalog::load(&catalog_dir()).unwrap();
    assert!(catalog.probes.len() >= 40, "{}", catalog.probes.len());
    for family in Family::ALL {
        assert!(
            catalog.rules.iter().any(|r| r.family == family),
            "no rule of family {}",
            family.as_str()
        );
    }
    // Probes are scenarios: their source is their rule's, their tags name
    // the family, and the scenario loader left nothing unresolved.
    let p = catalog
        .probes
        .iter()
        .find(|p| p.id() == "tenant.db-query-issues-of-b")
        .unwrap();
    let rule = catalog.rule(&p.rule).unwrap();
    assert_eq!(p.scenario.meta.source, rule.source);
    assert!(p
        .scenario
        .meta
        .tags
        .contains(&"cross-tenant-access".to_string()));
}

#[test]
fn probes_keep_the_file_lines() {
    let text = format!(
        "{RULE}\n[[probe]]\nid = \"p.one\"\nrule = \"r.one\"\ntitle = \"t\"\n\n[[probe.step]]\nrequest = \"GET /x\"\nactor = \"agent:ghost\"\n"
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("x.toml") && err.contains("line 18"), "{err}");
    assert!(err.contains("unknown actor 'agent:ghost'"), "{err}");
}

#[rstest::rstest]
#[case("\n[[probe]]\nid = \"p\"\nrule = \"nope\"\ntitle = \"t\"\n[[probe.step]]\nrequest = \"GET /x\"\n", "line 13: unknown rule 'nope'")]
#[case(
    "\n[[probe]]\nid = \"p\"\ntitle = \"t\"\n[[probe.step]]\nrequest = \"GET /x\"\n",
    "needs `rule"
)]
#[case("\n[[probe]]\nid = \"p\"\nrule = \"r.one\"\ntitle = \"t\"\n[[probe.issue]]\nname = \"i\"\nassignee = \"ghost\"\n[[probe.step]]\nrequest = \"GET /x\"\n", "unknown assignee 'ghost'")]
#[case("\n[[probe]]\nid = \"p\"\nrule = \"r.one\"\ntitle = \"t\"\n[[probe.step]]\nrequest = \"GET /${issue.nope.id}\"\n", "line 16: step 1 (GET /${issue.nope.id}): unknown variable")]
#[case("\n[[probe]]\nid = \"p\"\nrule = \"r.one\"\ntitle = \"t\"\nsource = \"x\"\n[[probe.step]]\nrequest = \"GET /x\"\n", "takes its source from its rule")]
fn mistakes_name_the_line(#[case] rest: &str, #[case] needle: &str) {
    let err = parse(&format!("{RULE}{rest}")).unwrap_err().to_string();
    assert!(err.contains(needle), "{err}");
}

#[test]
fn reference_findings_must_be_probes_of_the_rule() {
    let text = RULE.replace("reference_findings = []", "reference_findings = [\"p.other\"]")
        + "\n[[probe]]\nid = \"p.one\"\nrule = \"r.one\"\ntitle = \"t\"\n[[probe.step]]\nrequest = \"GET /x\"\n";
    let mut c = Catalog::default();
    c.add_file(&text, Path::new("x.toml")).unwrap();
    let err = c.check().unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("'p.other'"), "{err}");
}

#[test]
fn unknown_families_and_severities_are_refused_with_their_line() {
    let err = parse(&RULE.replace("\"high\"", "\"severe\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 6") && err.contains("severe"), "{err}");
    let err = parse(&RULE.replace("cross-tenant-access", "tenancy"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 5") && err.contains("tenancy"), "{err}");
}

#[test]
fn only_selects_probes_rules_families_and_severities() {
    let all = Catalog::load(&catalog_dir()).unwrap();
    let count = |pattern: &str| {
        all.clone()
            .select(&[pattern.to_string()])
            .map(|c| c.probes.len())
            .unwrap_or(0)
    };
    assert_eq!(count("tenant.db-query-issues-of-b"), 1);
    assert_eq!(count("tenant.worker-db-read-other-company"), 2);
    assert!(count("cross-tenant-access") > 5);
    assert!(count("severity:critical") > 3);
    assert_eq!(count("nothing-like-this"), 0);
}

fn result_of(
    failure: Option<Failure>,
    exchanges: Vec<crate::exchange::Exchange>,
) -> crate::check::CheckResult {
    let meta = CheckMeta::new(CheckKind::Scenario, "p", "t", "s");
    let mut r = meta.result("conformance audit");
    r.exchanges = exchanges;
    if let Some(f) = failure {
        r.fail(f);
    }
    r
}

fn exchange(status: u16, body: serde_json::Value) -> crate::exchange::Exchange {
    crate::exchange::Exchange {
        request: crate::exchange::RecordedRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:1/api/plugins/k/api/issues/CON-1/smoke".into(),
            headers: vec![("Authorization".into(), "Bearer pcp_12…".into())],
            body: Some(json!({})),
        },
        response: Some(crate::exchange::RecordedResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
            json: true,
        }),
        error: None,
        duration_ms: 3,
    }
}

fn probe_and_rule(id: &str) -> (super::catalog::Probe, super::rule::Rule) {
    let all = Catalog::load(&catalog_dir()).unwrap();
    let p = all.probes.iter().find(|p| p.id() == id).unwrap().clone();
    let r = all.rule(&p.rule).unwrap().clone();
    (p, r)
}

#[test]
fn grading_tells_findings_from_setup_failures_and_finds_leaks() {
    let (p, r) = probe_and_rule("after-free.revoked-key");
    let setup = Failure::new(
        "step 2 (setup: the board revokes the key)",
        "expected status 200, got 404",
    );
    let g = grade(&p, &r, result_of(Some(setup), vec![]), "replay".into());
    assert_eq!(g.verdict, Verdict::Inconclusive);
    let attack = Failure::new("step 3 (GET /api/…)", "expected status 401, got 200");
    let g = grade(&p, &r, result_of(Some(attack), vec![]), "replay".into());
    assert_eq!(g.verdict, Verdict::Finding);
    assert_eq!(g.severity, Severity::High);
    let (p, r) = probe_and_rule("leak.checkout-identifier");
    let sql = exchange(
        500,
        json!({"error": "Failed query: select \"issues\".\"id\" from \"issues\" where \"issues\".\"id\" = $1 for update\nparams: CON-1"}),
    );
    let g = grade(&p, &r, result_of(None, vec![sql]), "replay".into());
    assert_eq!(g.verdict, Verdict::Finding);
    assert!(g.message.unwrap().contains("shows SQL text: Failed query"));
    let clean = exchange(404, json!({"error": "Issue not found"}));
    let g = grade(&p, &r, result_of(None, vec![clean]), "replay".into());
    assert_eq!(g.verdict, Verdict::Held);
}

fn sample_report(accept: Option<&str>) -> AuditReport {
    let all = Catalog::load(&catalog_dir()).unwrap();
    let (p, r) = probe_and_rule("leak.checkout-identifier");
    let sql = exchange(
        500,
        json!({"error": "Failed query: select 1\nparams: CON-1"}),
    );
    let mut results = vec![grade(&p, &r, result_of(None, vec![sql]), "replay".into())];
    let (p, r) = probe_and_rule("tenant.db-query-issues-of-b");
    let f = Failure::new("step 1 (POST …)", "rows of company B came back");
    results.push(grade(&p, &r, result_of(Some(f), vec![]), "replay".into()));
    let stale = match accept {
        Some(text) => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("accept.toml");
            std::fs::write(&path, text).unwrap();
            AcceptFile::load(&path).unwrap().apply(&mut results, &all)
        }
        None => Vec::new(),
    };
    let host = HostReport {
        kind: "mock".into(),
        version: Some("0.1.0".into()),
        mode: "local_trusted".into(),
        spec: "mock".into(),
    };
    AuditReport::new(host, Severity::High, all.rules, results, stale, 10)
}

#[test]
fn accept_files_accept_and_go_stale() {
    let report = sample_report(None);
    assert!(report.failed());
    assert_eq!(report.summary.by_severity.get("high"), Some(&1));
    let report = sample_report(Some(
        "[[accepted]]\nfinding = \"tenant.worker-db-read-other-company\"\nreason = \"F9\"\n",
    ));
    assert!(!report.failed(), "{:?}", report.summary);
    assert_eq!(report.summary.accepted, 1);
    let report = sample_report(Some(
        "[[accepted]]\nfinding = \"tenant.db-query-issues-of-b\"\nreason = \"F9\"\n\
         [[accepted]]\nfinding = \"tenant.db-query-companies\"\nreason = \"not run here\"\n\
         [[accepted]]\nfinding = \"no.such.probe\"\nreason = \"x\"\n",
    ));
    assert_eq!(report.stale_accepts.len(), 1, "{:?}", report.stale_accepts);
    assert!(report.failed());
    let text = report.render();
    assert!(
        text.contains("Leakage in errors") && text.contains("STALE no.such.probe"),
        "{text}"
    );
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let report = sample_report(Some(
        "[[accepted]]\nfinding = \"tenant.db-query-issues-of-b\"\nreason = \"F9\"\n",
    ));
    let sarif: serde_json::Value = serde_json::from_str(&super::sarif::to_json(&report)).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator does look: a wrong version is refused.
    let mut broken = sarif.clone();
    broken["version"] = json!("2.0.0");
    assert!(!validator.is_valid(&broken));
    let run = &sarif["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        report.rules.len()
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let leak = results
        .iter()
        .find(|r| r["ruleId"] == "leak.internals-in-errors")
        .unwrap();
    assert_eq!(leak["level"], "warning");
    assert_eq!(leak["webResponse"]["statusCode"], 500);
    assert!(leak["properties"]["exchange"]["request"]["url"].is_string());
    let accepted = results
        .iter()
        .find(|r| r["ruleId"] == "tenant.worker-db-read-other-company")
        .unwrap();
    assert_eq!(accepted["suppressions"][0]["justification"], "F9");
}

#[test]
fn keys_in_answers_are_cut() {
    assert_eq!(
        super::grade::scrub("got Bearer pcp_a0c06c45f31b4a09b1cda3dceba672826437f, ok"),
        "got Bearer pcp_a0…, ok"
    );
    assert_eq!(super::grade::scrub("pcp_3f2a"), "pcp_3f2a");
}

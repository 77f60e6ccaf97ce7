//! Params of the wrong type and oversized values (in the main phase, at
//! once). B2.2 names each method's params but not what a wrong one does,
//! so these answers are the real hosts' (2026.707.0 and 916.1,
//! docs/findings.md F29): a string where a list of ids belongs is iterated
//! character by character, a number where text belongs is stored as its
//! digits or fails a `.trim()`, an id that is no UUID fails the blockers'
//! lock query (whose text is the answer), and 200 000 characters of
//! document body, comment or state value are stored as they are.

use serde_json::{json, Value};

use super::calls::{Case, Kind};
use super::cases::{activity, issue_params, with};
use super::model::INTERNAL;
use super::rows::Effect;
use crate::profile::{CompanyGetWithoutId, Profile};
use crate::property::host_methods::expected::{COMPANIES_GET_707, COMPANIES_GET_817};

use Kind::Invalid;

/// What the blockers' lock query says for `issue` and `ids`.
fn lock_failed(issue: &str, ids: &[&str]) -> String {
    let placeholders: Vec<String> = (2..ids.len() + 3).map(|n| format!("${n}")).collect();
    format!(
        "Failed query: SELECT \"issues\".\"id\" FROM \"issues\"\n            WHERE (\"issues\".\"company_id\" = $1 and \"issues\".\"id\" in ({}))\n            ORDER BY \"issues\".\"id\"\n            FOR UPDATE\nparams: {{companyA}},{{{issue}}},{}",
        placeholders.join(", "),
        ids.join(",")
    )
}

/// The cases.
pub fn cases(profile: &Profile) -> Vec<Case> {
    // Three of them travel in one request, under the route's 1 MB body limit.
    let big = "x".repeat(200_000);
    let case = |m: &'static str, label: &str, p: Value| Case::new(m, label.to_string(), Invalid, p);
    let title = case(
        "issues.create",
        "title not a string",
        json!({"companyId": "{companyA}", "title": 5}),
    );
    let title = if profile.plugin_issue_title_trimmed {
        title.err(INTERNAL, "title.trim is not a function")
    } else {
        title
            .ok(json!({"title": "5"}))
            .bind("titled")
            .leaves(Effect::Issue {
                name: "titled".into(),
                workspace: None,
            })
            .leaves(activity("issue.created", "titled", None))
    };
    // Without an id, 2026.707.0's query builder fails (a column more from
    // 817.0); from 824.0 the answer is `null` (docs/findings.md F28).
    let company = case("companies.get", "no companyId", json!({}));
    let company = match profile.company_get_without_id {
        CompanyGetWithoutId::QueryFails => company.err(INTERNAL, COMPANIES_GET_707),
        CompanyGetWithoutId::QueryFailsWithGovernance => company.err(INTERNAL, COMPANIES_GET_817),
        CompanyGetWithoutId::Null => company.ok(Value::Null),
    };
    // A method the host has no handler for (B1: −32601 before any gate).
    let misspelled = |m: &'static str, wire: &'static str, p: Value| {
        case(m, &format!("misspelled {wire}"), p)
            .sent_as(wire)
            .err(-32601, format!("Host does not handle method \"{wire}\""))
    };
    vec![
        misspelled("issues.getSubtree", "issues.getSubTree", issue_params("root")),
        misspelled("state.set", "state.put", json!({"scopeKind": "company", "scopeId": "{companyA}", "stateKey": "hs-put", "value": 1})),
        title,
        company,
        case("issues.create", "status unknown", json!({"companyId": "{companyA}", "title": "HS odd", "status": "sleeping"}))
            .ok(json!({"status": "sleeping", "title": "HS odd"}))
            .bind("odd")
            .leaves(Effect::Issue { name: "odd".into(), workspace: None })
            .leaves(activity("issue.created", "odd", None)),
        case("issues.get", "issueId not a string", json!({"companyId": "{companyA}", "issueId": 5}))
            .err(INTERNAL, "raw.trim is not a function"),
        case("issues.list", "limit not a number", json!({"companyId": "{companyA}", "originKind": "plugin:{keyAll}:plain", "limit": "x"}))
            .ok(json!([{"id": "{plain}"}])),
        case("issues.update", "patch not an object", with(issue_params("blocker"), json!({"patch": "x"})))
            .ok(json!({"id": "{blocker}", "status": "done"}))
            .leaves(activity("issue.updated", "blocker", None)),
        case("issues.relations.setBlockedBy", "ids not an array", with(issue_params("r1"), json!({"blockedByIssueIds": "x"})))
            .err(INTERNAL, lock_failed("r1", &["x"])),
        case("issues.relations.addBlockers", "an id not a uuid", with(issue_params("r1"), json!({"blockerIssueIds": ["nope"]})))
            .err(INTERNAL, lock_failed("r1", &["nope"])),
        case("issues.documents.upsert", "key not a string", with(issue_params("plain"), json!({"key": 5, "body": "x"})))
            .err(INTERNAL, "key.trim is not a function"),
        case("issues.documents.upsert", "oversized body", with(issue_params("backlog"), json!({"key": "hs-big", "body": big.clone()})))
            .ok(json!({"key": "hs-big", "latestRevisionNumber": 1}))
            .leaves(Effect::Document { issue: "backlog".into(), key: "hs-big".into(), present: true })
            .leaves(activity("issue.document_upserted", "backlog", None)),
        case("issues.documents.get", "no key", issue_params("plain"))
            .err(INTERNAL, "Cannot read properties of undefined (reading 'trim')"),
        case("issues.requestWakeups", "ids not an array", json!({"companyId": "{companyA}", "issueIds": "x"}))
            .err(INTERNAL, "Issue not found"),
        case("issues.createComment", "body not a string", with(issue_params("backlog"), json!({"body": 5})))
            .ok(json!({"body": "5", "issueId": "{backlog}"}))
            .leaves(Effect::Comment { issue: "backlog".into(), body: "5".into() })
            .leaves(activity("issue.comment.created", "backlog", None)),
        case("issues.createComment", "oversized body", with(issue_params("backlog"), json!({"body": big.clone()})))
            .ok(json!({"issueId": "{backlog}"}))
            .leaves(Effect::Comment { issue: "backlog".into(), body: big.clone() })
            .leaves(activity("issue.comment.created", "backlog", None)),
        case("issues.listComments", "issueId not a uuid", with(issue_params("root"), json!({"issueId": "nope"})))
            .ok(json!([])),
        case("issues.getSubtree", "issueId not a uuid", with(issue_params("root"), json!({"issueId": "nope"})))
            .err(INTERNAL, "Issue not found"),
        case("issues.assertCheckoutOwner", "no actor", issue_params("checked"))
            .err(INTERNAL, "Issue run ownership conflict"),
        case("state.set", "oversized value", json!({"scopeKind": "company", "scopeId": "{companyA}", "stateKey": "hs-big", "value": big.clone()}))
            .ok(Value::Null)
            .leaves(Effect::State { key: "hs-big".into(), kind: "company".into(), value: Some(json!(big)) }),
        case("agents.list", "limit not a number", json!({"companyId": "{companyA}", "limit": "x"}))
            .ok(json!({"$contains": [{"id": "{agentHS}"}]})),
        case("issues.summaries.getOrchestration", "billingCode not a string", with(issue_params("root"), json!({"billingCode": 5})))
            .ok(json!({"issueId": "{root}", "subtreeIssueIds": ["{root}"], "costs": {"billingCode": 5, "costCents": 0}})),
    ]
}

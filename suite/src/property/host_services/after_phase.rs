//! Phase 3 of the `host-services` check, one call after the other: what
//! depends on order — blocker sets and their cycles, a second upsert of a
//! key, deletes, a repeated wakeup key — and the reads after them.

use serde_json::{json, Value};

use super::calls::{Case, Kind};
use super::cases::{activity, issue_params, with, Phase};
use super::model::{self, INTERNAL};
use super::rows::Effect;
use crate::profile::Profile;

use Kind::{Invalid, Valid};

/// Phase 3, one after the other: blocker sets (cycles need the edges
/// before them), a second upsert of a key, deletes and the reads after.
pub fn phase_after(profile: &Profile) -> Phase {
    let rel = |m: &'static str, label: &str, issue: &str, key: &str, ids: &[&str]| {
        let ids: Vec<String> = ids.iter().map(|i| format!("{{{i}}}")).collect();
        Case::new(
            m,
            label.to_string(),
            Valid,
            with(issue_params(issue), json!({ key: ids })),
        )
    };
    let blockers = |issue: &str, list: &[&str]| Effect::Blockers {
        issue: issue.into(),
        blockers: list.iter().map(|s| s.to_string()).collect(),
    };
    let updated = |issue: &str| activity("issue.relations.updated", issue, None);
    let mut c = vec![
        rel(
            "issues.relations.setBlockedBy",
            "set",
            "r2",
            "blockedByIssueIds",
            &["r1"],
        )
        .ok(json!({"blockedBy": [{"id": "{r1}"}], "blocks": []}))
        .leaves(blockers("r2", &["r1"]))
        .leaves(updated("r2")),
        rel(
            "issues.relations.addBlockers",
            "add",
            "r3",
            "blockerIssueIds",
            &["r2"],
        )
        .ok(json!({"blockedBy": [{"id": "{r2}"}], "blocks": []}))
        .leaves(blockers("r3", &["r2"]))
        .leaves(updated("r3")),
        rel(
            "issues.relations.setBlockedBy",
            "a cycle",
            "r1",
            "blockedByIssueIds",
            &["r3"],
        )
        .err(INTERNAL, "Blocking relations cannot contain cycles"),
        rel(
            "issues.relations.addBlockers",
            "a cycle",
            "r1",
            "blockerIssueIds",
            &["r2"],
        )
        .err(INTERNAL, "Blocking relations cannot contain cycles"),
        rel(
            "issues.relations.setBlockedBy",
            "itself",
            "r1",
            "blockedByIssueIds",
            &["r1"],
        )
        .err(INTERNAL, "Issue cannot be blocked by itself"),
        rel(
            "issues.relations.setBlockedBy",
            "a blocker of company B",
            "r1",
            "blockedByIssueIds",
            &["issueB"],
        )
        .err(INTERNAL, model::BLOCKERS_OTHER_COMPANY),
        rel(
            "issues.relations.addBlockers",
            "a blocker of company B",
            "r1",
            "blockerIssueIds",
            &["issueB"],
        )
        .err(INTERNAL, model::BLOCKERS_OTHER_COMPANY),
        rel(
            "issues.relations.removeBlockers",
            "remove",
            "r3",
            "blockerIssueIds",
            &["r2"],
        )
        .ok(json!({"blockedBy": [], "blocks": []}))
        .leaves(blockers("r3", &[]))
        .leaves(updated("r3")),
        rel(
            "issues.relations.removeBlockers",
            "not a blocker",
            "r2",
            "blockerIssueIds",
            &["r3"],
        )
        .ok(json!({"blockedBy": [{"id": "{r1}"}], "blocks": []}))
        .leaves(updated("r2")),
        Case::new(
            "issues.relations.get",
            "after the changes",
            Valid,
            issue_params("r1"),
        )
        .ok(json!({"blockedBy": [], "blocks": [{"id": "{r2}"}]})),
        Case::new(
            "issues.documents.upsert",
            "an existing key",
            Invalid,
            with(
                issue_params("plain"),
                json!({"key": "hs-doc", "body": "again"}),
            ),
        )
        .err(INTERNAL, model::document_conflict(profile)),
        Case::new(
            "issues.documents.list",
            "one document",
            Valid,
            issue_params("plain"),
        )
        .ok(json!([{"key": "hs-doc", "latestRevisionNumber": 1, "body": "# HS\n\nbody"}])),
        Case::new(
            "issues.documents.get",
            "an existing key",
            Valid,
            with(issue_params("plain"), json!({"key": "hs-doc"})),
        )
        .ok(json!({"key": "hs-doc", "title": "HS Doc", "latestRevisionNumber": 1})),
        Case::new(
            "issues.documents.delete",
            "an existing key",
            Valid,
            with(issue_params("child"), json!({"key": "hs-del"})),
        )
        .ok(Value::Null)
        .leaves(Effect::Document {
            issue: "child".into(),
            key: "hs-del".into(),
            present: false,
        })
        .leaves(activity("issue.document_deleted", "child", None)),
        Case::new(
            "issues.documents.get",
            "a deleted key",
            Valid,
            with(issue_params("child"), json!({"key": "hs-del"})),
        )
        .ok(Value::Null),
    ];
    // The key wake1 was woken with, on another issue: keys are only
    // stored, never de-duplicated (B2.2 wakeup semantics).
    c.push(
        Case::new(
            "issues.requestWakeup",
            "a key used before",
            Valid,
            with(issue_params("wake5"), json!({"idempotencyKey": "hs-key"})),
        )
        .ok(json!({"queued": true, "runId": "$uuid"}))
        .leaves(Effect::Wakeup {
            issue: "wake5".into(),
            key: Some("hs-key".into()),
        })
        .leaves(activity("issue.assignment_wakeup_requested", "wake5", None)),
    );
    let state =
        |key: &str| json!({"scopeKind": "company", "scopeId": "{companyA}", "stateKey": key});
    c.extend([
        Case::new("state.get", "a set key", Valid, state("hs-k1")).ok(json!({"n": 1})),
        Case::new("state.delete", "a set key", Valid, state("hs-k2"))
            .ok(Value::Null)
            .leaves(Effect::State {
                key: "hs-k2".into(),
                kind: "company".into(),
                value: None,
            }),
        Case::new("state.get", "a deleted key", Valid, state("hs-k2")).ok(Value::Null),
        Case::new(
            "issues.listComments",
            "one comment",
            Valid,
            issue_params("root"),
        )
        .ok(json!([{"body": "HS comment", "issueId": "{root}"}])),
        Case::new(
            "issues.get",
            "after the update",
            Valid,
            issue_params("child"),
        )
        .ok(json!({"title": "HS child renamed", "projectWorkspaceId": "{workspace}"})),
    ]);
    Phase {
        name: "after",
        sequential: true,
        cases: c,
    }
}

//! Phase 2 of the `host-services` check, all at once: reads of what phase
//! 1 made, writes on issues no other call of the phase touches, and every
//! refusal (unknown ids, issues of company B, missing company, wrong
//! checks in order). In names, like every case (`cases`).

use serde_json::{json, Value};

use super::calls::{Case, Kind};
use super::cases::{activity, company_required, issue_params, issue_refusals, with, Phase};
use super::model::{self, INTERNAL};
use super::rows::Effect;

use Kind::{Invalid, OtherCompany, Valid};

/// Phase 2, all at once: reads of what phase 1 made, independent writes,
/// and every refusal.
pub fn phase_main() -> Phase {
    let mut c: Vec<Case> = Vec::new();
    // issues.get
    c.push(Case::new("issues.get", "the root", Valid, issue_params("root")).ok(json!({
        "id": "{root}", "companyId": "{companyA}", "projectWorkspaceId": "{workspace}", "projectId": "{project}"})));
    c.push(
        Case::new(
            "issues.get",
            "unknown issue",
            Invalid,
            issue_params("unknown"),
        )
        .ok(Value::Null),
    );
    c.push(
        Case::new(
            "issues.get",
            "not an id",
            Invalid,
            with(issue_params("root"), json!({"issueId": "not-an-id"})),
        )
        .ok(Value::Null),
    );
    c.push(
        Case::new(
            "issues.get",
            "issue of company B",
            OtherCompany,
            issue_params("issueB"),
        )
        .ok(Value::Null),
    );
    c.push(company_required("issues.get", json!({"issueId": "{root}"})));
    // issues.list
    c.push(
        Case::new(
            "issues.list",
            "by origin",
            Valid,
            json!({"companyId": "{companyA}", "originKind": "plugin:{keyAll}:plain"}),
        )
        .ok(json!([{"id": "{plain}", "originId": "hs-plain"}])),
    );
    c.push(
        Case::new(
            "issues.list",
            "origin of another plugin",
            Invalid,
            json!({"companyId": "{companyA}", "originKind": "plugin:other.plugin"}),
        )
        .err(INTERNAL, model::ORIGIN_FOREIGN),
    );
    c.push(company_required("issues.list", json!({})));
    // issues.update
    c.push(
        Case::new("issues.update", "title and priority", Valid,
            with(issue_params("child"), json!({"patch": {"title": "HS child renamed", "priority": "high", "actorAgentId": "{agentHS}"}})))
            .ok(json!({"id": "{child}", "title": "HS child renamed", "priority": "high"}))
            .leaves(activity("issue.updated", "child", Some("agentHS"))),
    );
    c.push(
        Case::new(
            "issues.update",
            "originKind of another plugin",
            Invalid,
            with(
                issue_params("plain"),
                json!({"patch": {"originKind": "plugin:other.plugin:x"}}),
            ),
        )
        .err(INTERNAL, model::ORIGIN_FOREIGN),
    );
    c.extend(issue_refusals(
        "issues.update",
        json!({"patch": {"title": "HS nope"}}),
    ));
    // issues.getSubtree
    c.push(
        Case::new("issues.getSubtree", "the root", Valid, issue_params("root"))
            .ok(json!({"rootIssueId": "{root}", "companyId": "{companyA}", "issueIds": {"$set": ["{root}", "{child}"]}})),
    );
    c.extend(issue_refusals("issues.getSubtree", json!({})));
    // issues.relations.get
    c.push(
        Case::new("issues.relations.get", "a blocked issue", Valid, issue_params("wake3"))
            .ok(json!({"blockedBy": [{"id": "{plain}", "title": "HS plain", "status": "todo"}], "blocks": []})),
    );
    c.extend(issue_refusals("issues.relations.get", json!({})));
    for (m, key) in [
        ("issues.relations.setBlockedBy", "blockedByIssueIds"),
        ("issues.relations.addBlockers", "blockerIssueIds"),
        ("issues.relations.removeBlockers", "blockerIssueIds"),
    ] {
        c.extend(issue_refusals(m, json!({ key: ["{r1}"] })));
    }
    // issues.documents.*
    c.push(
        Case::new("issues.documents.upsert", "a new key", Valid,
            with(issue_params("plain"), json!({"key": "hs-doc", "body": "# HS\n\nbody", "title": "HS Doc", "changeSummary": "first"})))
            .ok(json!({"issueId": "{plain}", "key": "hs-doc", "title": "HS Doc", "format": "markdown", "body": "# HS\n\nbody",
                       "latestRevisionNumber": 1, "latestRevisionId": "$uuid"}))
            .leaves(Effect::Document { issue: "plain".into(), key: "hs-doc".into(), present: true })
            .leaves(activity("issue.document_upserted", "plain", None)),
    );
    c.push(
        Case::new(
            "issues.documents.upsert",
            "a key to delete",
            Valid,
            with(
                issue_params("child"),
                json!({"key": " HS-Del ", "body": "to delete"}),
            ),
        )
        .ok(json!({"key": "hs-del", "title": null, "latestRevisionNumber": 1}))
        .leaves(Effect::Document {
            issue: "child".into(),
            key: "hs-del".into(),
            present: true,
        })
        .leaves(activity("issue.document_upserted", "child", None)),
    );
    c.push(
        Case::new(
            "issues.documents.upsert",
            "invalid key",
            Invalid,
            with(
                issue_params("plain"),
                json!({"key": "bad key!", "body": "x"}),
            ),
        )
        .err(INTERNAL, "Invalid document key"),
    );
    c.extend(issue_refusals(
        "issues.documents.upsert",
        json!({"key": "hs-x", "body": "x"}),
    ));
    c.push(
        Case::new(
            "issues.documents.list",
            "no documents",
            Valid,
            issue_params("root"),
        )
        .ok(json!([])),
    );
    c.extend(issue_refusals("issues.documents.list", json!({})));
    c.push(
        Case::new(
            "issues.documents.get",
            "unknown key",
            Valid,
            with(issue_params("root"), json!({"key": "none"})),
        )
        .ok(Value::Null),
    );
    c.extend(issue_refusals(
        "issues.documents.get",
        json!({"key": "none"}),
    ));
    c.push(
        Case::new(
            "issues.documents.delete",
            "unknown key",
            Valid,
            with(issue_params("root"), json!({"key": "none"})),
        )
        .ok(Value::Null)
        // A key without a document still writes its activity row (F30).
        .leaves(activity("issue.document_deleted", "root", None)),
    );
    c.extend(issue_refusals(
        "issues.documents.delete",
        json!({"key": "none"}),
    ));
    // Wakeups (B2.2 requestWakeup, checks in order).
    c.push(
        Case::new(
            "issues.requestWakeup",
            "an assigned issue",
            Valid,
            with(
                issue_params("wake1"),
                json!({"reason": "hs", "idempotencyKey": "hs-key"}),
            ),
        )
        .ok(json!({"queued": true, "runId": "$uuid"}))
        .leaves(Effect::Wakeup {
            issue: "wake1".into(),
            key: Some("hs-key".into()),
        })
        .leaves(activity("issue.assignment_wakeup_requested", "wake1", None)),
    );
    c.push(
        Case::new(
            "issues.requestWakeup",
            "no assignee",
            Invalid,
            issue_params("root"),
        )
        .err(INTERNAL, "Issue has no assigned agent to wake"),
    );
    c.push(
        Case::new(
            "issues.requestWakeup",
            "in backlog",
            Invalid,
            issue_params("backlog"),
        )
        .err(INTERNAL, "Issue is not wakeable in status: backlog"),
    );
    c.push(
        Case::new(
            "issues.requestWakeup",
            "unresolved blocker",
            Invalid,
            issue_params("wake3"),
        )
        .err(INTERNAL, "Issue is blocked by unresolved blockers"),
    );
    c.extend(issue_refusals("issues.requestWakeup", json!({})));
    c.push(
        Case::new("issues.requestWakeups", "a repeated id", Valid,
            json!({"companyId": "{companyA}", "issueIds": ["{wake2}", "{wake2}", "{wake4}"], "idempotencyKeyPrefix": "hs"}))
            .ok(json!([{"issueId": "{wake2}", "queued": true, "runId": "$uuid"}, {"issueId": "{wake4}", "queued": true, "runId": "$uuid"}]))
            .leaves(Effect::Wakeup { issue: "wake2".into(), key: Some("hs:{wake2}".into()) })
            .leaves(Effect::Wakeup { issue: "wake4".into(), key: Some("hs:{wake4}".into()) })
            .leaves(activity("issue.assignment_wakeup_requested", "wake2", None))
            .leaves(activity("issue.assignment_wakeup_requested", "wake4", None)),
    );
    c.push(
        Case::new(
            "issues.requestWakeups",
            "issue of company B",
            OtherCompany,
            json!({"companyId": "{companyA}", "issueIds": ["{issueB}"]}),
        )
        .err(INTERNAL, model::ISSUE_NOT_FOUND),
    );
    c.push(
        Case::new(
            "issues.requestWakeups",
            "no issue ids",
            Invalid,
            json!({"companyId": "{companyA}"}),
        )
        .ok(json!([])),
    );
    c.push(company_required(
        "issues.requestWakeups",
        json!({"issueIds": ["{wake2}"]}),
    ));
    // Summaries.
    c.push(
        Case::new("issues.summaries.getOrchestration", "the root's subtree", Valid,
            with(issue_params("root"), json!({"includeSubtree": true})))
            .ok(json!({"issueId": "{root}", "companyId": "{companyA}", "subtreeIssueIds": {"$set": ["{root}", "{child}"]},
                       "costs": {"billingCode": null, "costCents": 0}})),
    );
    c.extend(issue_refusals(
        "issues.summaries.getOrchestration",
        json!({}),
    ));
    // Checkout.
    c.push(
        Case::new(
            "issues.assertCheckoutOwner",
            "the owner's run",
            Valid,
            with(
                issue_params("checked"),
                json!({"actorAgentId": "{agentHS}", "actorRunId": "{checkedRun}"}),
            ),
        )
        .ok(
            json!({"issueId": "{checked}", "status": "in_progress", "assigneeAgentId": "{agentHS}",
                       "checkoutRunId": "{checkedRun}", "adoptedFromRunId": null}),
        ),
    );
    c.push(
        Case::new(
            "issues.assertCheckoutOwner",
            "another run",
            Invalid,
            with(
                issue_params("checked"),
                json!({"actorAgentId": "{agentHS}", "actorRunId": "{unknown}"}),
            ),
        )
        .err(INTERNAL, "Issue run ownership conflict"),
    );
    c.extend(issue_refusals(
        "issues.assertCheckoutOwner",
        json!({"actorAgentId": "{agentHS}", "actorRunId": "{checkedRun}"}),
    ));
    // Comments.
    c.push(
        Case::new(
            "issues.listComments",
            "none yet",
            Valid,
            issue_params("child"),
        )
        .ok(json!([])),
    );
    c.push(
        Case::new(
            "issues.listComments",
            "issue of company B",
            OtherCompany,
            issue_params("issueB"),
        )
        .ok(json!([])),
    );
    c.push(company_required(
        "issues.listComments",
        json!({"issueId": "{root}"}),
    ));
    c.push(
        Case::new(
            "issues.createComment",
            "a comment",
            Valid,
            with(issue_params("root"), json!({"body": "HS comment"})),
        )
        .ok(json!({"issueId": "{root}", "companyId": "{companyA}", "body": "HS comment"}))
        .leaves(Effect::Comment {
            issue: "root".into(),
            body: "HS comment".into(),
        })
        .leaves(activity("issue.comment.created", "root", None)),
    );
    c.extend(issue_refusals(
        "issues.createComment",
        json!({"body": "HS nope"}),
    ));
    // activity.log
    c.push(
        Case::new("activity.log", "a message", Valid,
            json!({"companyId": "{companyA}", "message": "hs.logged", "entityType": "issue", "entityId": "{root}", "metadata": {"n": 1}}))
            .ok(Value::Null)
            .leaves(activity("hs.logged", "root", None)),
    );
    c.push(company_required(
        "activity.log",
        json!({"message": "hs.nope"}),
    ));
    // db.* without a namespace (the all-capabilities fixture declares none).
    for (m, p) in [
        ("db.namespace", json!({})),
        ("db.query", json!({"sql": "SELECT 1"})),
        ("db.execute", json!({"sql": "SELECT 1"})),
    ] {
        c.push(Case::new(m, "no namespace", Invalid, p).err(INTERNAL, model::NO_NAMESPACE));
    }
    // state.*
    let state =
        |key: &str| json!({"scopeKind": "company", "scopeId": "{companyA}", "stateKey": key});
    c.push(
        Case::new(
            "state.set",
            "a company key",
            Valid,
            with(state("hs-k1"), json!({"value": {"n": 1}})),
        )
        .ok(Value::Null)
        .leaves(Effect::State {
            key: "hs-k1".into(),
            kind: "company".into(),
            value: Some(json!({"n": 1})),
        }),
    );
    c.push(
        Case::new(
            "state.set",
            "a key to delete",
            Valid,
            with(state("hs-k2"), json!({"value": "two"})),
        )
        .ok(Value::Null)
        .leaves(Effect::State {
            key: "hs-k2".into(),
            kind: "company".into(),
            value: Some(json!("two")),
        }),
    );
    c.push(Case::new("state.get", "an unset key", Valid, state("hs-none")).ok(Value::Null));
    c.push(Case::new("state.delete", "an unset key", Valid, state("hs-none")).ok(Value::Null));
    // Neither version checks the scope kind (F29): the row is kept under it.
    c.push(
        Case::new(
            "state.set",
            "unknown scope kind",
            Invalid,
            json!({"scopeKind": "galaxy", "stateKey": "hs-galaxy", "value": 1}),
        )
        .ok(Value::Null)
        .leaves(Effect::State {
            key: "hs-galaxy".into(),
            kind: "galaxy".into(),
            value: Some(json!(1)),
        }),
    );
    for m in ["state.get", "state.delete"] {
        c.push(
            Case::new(
                m,
                "unknown scope kind",
                Invalid,
                json!({"scopeKind": "galaxy", "stateKey": "hs-galaxy-none"}),
            )
            .ok(Value::Null),
        );
    }
    // companies.*, agents.*
    c.push(
        Case::new(
            "companies.list",
            "offset past the end",
            Invalid,
            json!({"offset": 1000}),
        )
        .ok(json!([])),
    );
    c.push(
        Case::new("companies.get", "unknown company", Invalid, json!({"companyId": "{unknown}"}))
            .err(
                model::SCOPE,
                "Plugin \"{pluginAll}\" is not allowed to perform \"companies.get\": requested company \"{unknown}\" but the current invocation is scoped to company \"{companyA}\"",
            ),
    );
    c.push(
        Case::new(
            "companies.list",
            "the invocation's company",
            Valid,
            json!({}),
        )
        .ok(json!([{"id": "{companyA}"}])),
    );
    c.push(
        Case::new(
            "companies.get",
            "company A",
            Valid,
            json!({"companyId": "{companyA}"}),
        )
        .ok(json!({"id": "{companyA}"})),
    );
    c.push(
        Case::new(
            "agents.list",
            "company A",
            Valid,
            json!({"companyId": "{companyA}"}),
        )
        .ok(json!({"$contains": [{"id": "{agentHS}", "companyId": "{companyA}"}]})),
    );
    c.push(company_required("agents.list", json!({})));
    c.push(
        Case::new(
            "agents.get",
            "an agent of A",
            Valid,
            json!({"companyId": "{companyA}", "agentId": "{agentHS}"}),
        )
        .ok(json!({"id": "{agentHS}", "companyId": "{companyA}", "role": "engineer"})),
    );
    c.push(
        Case::new(
            "agents.get",
            "an agent of company B",
            OtherCompany,
            json!({"companyId": "{companyA}", "agentId": "{agentB}"}),
        )
        .ok(Value::Null),
    );
    c.push(
        Case::new(
            "agents.get",
            "unknown agent",
            Invalid,
            json!({"companyId": "{companyA}", "agentId": "{unknown}"}),
        )
        .ok(Value::Null),
    );
    Phase {
        name: "main",
        sequential: false,
        cases: c,
    }
}

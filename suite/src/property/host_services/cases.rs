//! The fixed cases of the `host-services` check: every method of
//! [`METHODS`] with valid params, invalid ones, ids of company B, and —
//! derived from its first valid case — through the fixture without
//! capabilities and naming company B inside the invocation of A.
//!
//! Params and expected answers are written in names (`{companyA}`, `{root}`,
//! …, see `calls::Names`); the runner fills the ids in just before it sends
//! a phase, so later phases can use the issues earlier ones created. What
//! each call must answer follows contract-db-worker.md B2.2 (methods and
//! their checks, in order) and B3 (capability and invocation scope gates);
//! where the contract is silent, what 2026.707.0 and 916.1 answer
//! (docs/findings.md F29–F31, `model.rs`).

use serde_json::{json, Value};

use super::calls::{Case, Kind};
use super::model::{self, INTERNAL};
use super::rows::Effect;
use crate::profile::Profile;
use crate::property::host_methods::fixture::Variant;

/// The methods the check covers, in the report's order.
pub const METHODS: &[&str] = &[
    "issues.create",
    "issues.get",
    "issues.list",
    "issues.update",
    "issues.getSubtree",
    "issues.relations.get",
    "issues.relations.setBlockedBy",
    "issues.relations.addBlockers",
    "issues.relations.removeBlockers",
    "issues.documents.list",
    "issues.documents.get",
    "issues.documents.upsert",
    "issues.documents.delete",
    "issues.requestWakeup",
    "issues.requestWakeups",
    "issues.summaries.getOrchestration",
    "issues.assertCheckoutOwner",
    "issues.listComments",
    "issues.createComment",
    "activity.log",
    "db.namespace",
    "db.query",
    "db.execute",
    "state.get",
    "state.set",
    "state.delete",
    "companies.list",
    "companies.get",
    "agents.list",
    "agents.get",
];

/// A batch of calls made in one request through one fixture.
#[derive(Debug, Clone)]
pub struct Phase {
    pub name: &'static str,
    /// One after the other (later calls use what earlier ones made).
    pub sequential: bool,
    pub cases: Vec<Case>,
}

use Kind::{Invalid, OtherCompany, Valid};

fn activity(action: &str, entity: &str, agent: Option<&str>) -> Effect {
    Effect::Activity {
        action: action.into(),
        entity: entity.into(),
        agent: agent.map(String::from),
        attributed: true,
    }
}

fn company_required(method: &'static str, params: Value) -> Case {
    Case::new(method, "no companyId", Invalid, params).err(INTERNAL, model::COMPANY_REQUIRED)
}

/// Phase 1, one after the other: the issues the later phases work on,
/// and the creates that must be refused.
pub fn phase_create() -> Vec<Phase> {
    let create = |name: &str, extra: Value| {
        let mut p =
            json!({"companyId": "{companyA}", "title": format!("HS {name}"), "status": "todo"});
        if let (Some(o), Value::Object(e)) = (p.as_object_mut(), extra) {
            o.extend(e);
        }
        p
    };
    let issue = |name: &str, workspace: Option<&str>| Effect::Issue {
        name: name.into(),
        workspace: workspace.map(String::from),
    };
    let made = |name: &str, extra: Value, pattern: Value, agent: Option<&str>| {
        Case::new(
            "issues.create",
            name.to_string(),
            Valid,
            create(name, extra),
        )
        .ok(pattern)
        .bind(name)
        .leaves(issue(name, None))
        .leaves(activity("issue.created", name, agent))
    };
    let mut cases = vec![
        // Workspace inheritance from the parent (B2.2 issues.create).
        Case::new(
            "issues.create",
            "child of the root",
            Valid,
            create("child", json!({"parentId": "{root}", "actorAgentId": "{agentHS}"})),
        )
        .ok(json!({"companyId": "{companyA}", "parentId": "{root}", "projectId": "{project}",
                   "projectWorkspaceId": "{workspace}", "originKind": "plugin:{keyAll}",
                   "createdByAgentId": "{agentHS}", "status": "todo", "title": "HS child"}))
        .bind("child")
        .leaves(issue("child", Some("workspace")))
        .leaves(activity("issue.created", "child", Some("agentHS"))),
        // … and from the issue named to inherit from, without a parent.
        Case::new(
            "issues.create",
            "inheriting the root's workspace",
            Valid,
            create("blocker", json!({"inheritExecutionWorkspaceFromIssueId": "{root}", "status": "done"})),
        )
        .ok(json!({"parentId": null, "projectId": "{project}", "projectWorkspaceId": "{workspace}", "status": "done"}))
        .bind("blocker")
        .leaves(issue("blocker", Some("workspace")))
        .leaves(activity("issue.created", "blocker", None)),
        made(
            "plain",
            json!({"billingCode": "hs:plain", "originId": "hs-plain", "originKind": "plugin:{keyAll}:plain", "priority": "low"}),
            json!({"originKind": "plugin:{keyAll}:plain", "originId": "hs-plain", "billingCode": "hs:plain",
                   "priority": "low", "projectWorkspaceId": null, "parentId": null}),
            None,
        ),
    ];
    for wake in ["wake1", "wake2", "wake4", "wake5"] {
        cases.push(made(
            wake,
            json!({"assigneeAgentId": "{agentHS}"}),
            json!({"assigneeAgentId": "{agentHS}", "status": "todo"}),
            None,
        ));
    }
    let first = std::mem::take(&mut cases);
    cases.push(
        made(
            "wake3",
            json!({"assigneeAgentId": "{agentHS}", "blockedByIssueIds": ["{plain}"]}),
            json!({"assigneeAgentId": "{agentHS}"}),
            None,
        )
        .leaves(Effect::Blockers {
            issue: "wake3".into(),
            blockers: vec!["plain".into()],
        }),
    );
    cases.push(made(
        "backlog",
        json!({"assigneeAgentId": "{agentHS}", "status": "backlog"}),
        json!({"status": "backlog"}),
        None,
    ));
    for r in ["r1", "r2", "r3"] {
        cases.push(made(
            r,
            json!({}),
            json!({"title": format!("HS {r}")}),
            None,
        ));
    }
    let refused = |label: &str, extra: Value, message: &str| {
        Case::new(
            "issues.create",
            label.to_string(),
            Invalid,
            create("refused", extra),
        )
        .err(INTERNAL, message)
    };
    cases.extend([
        company_required("issues.create", json!({"title": "HS refused"})),
        refused(
            "originKind of another plugin",
            json!({"originKind": "plugin:other.plugin"}),
            model::ORIGIN_FOREIGN,
        ),
        refused(
            "originKind not a string",
            json!({"originKind": 5}),
            "Plugin issue originKind must be a string",
        ),
        Case::new(
            "issues.create",
            "parent of company B",
            OtherCompany,
            create("refused", json!({"parentId": "{issueB}"})),
        )
        .err(INTERNAL, "Workspace inheritance issue not found"),
        Case::new(
            "issues.create",
            "inherit from an issue of company B",
            OtherCompany,
            create(
                "refused",
                json!({"inheritExecutionWorkspaceFromIssueId": "{issueB}"}),
            ),
        )
        .err(INTERNAL, "Workspace inheritance issue not found"),
        Case::new(
            "issues.create",
            "blocker of company B",
            OtherCompany,
            create("refused", json!({"blockedByIssueIds": ["{issueB}"]})),
        )
        .err(INTERNAL, model::BLOCKERS_OTHER_COMPANY),
        Case::new(
            "issues.create",
            "assignee of company B",
            OtherCompany,
            create("refused", json!({"assigneeAgentId": "{agentB}"})),
        )
        .err(INTERNAL, "Assignee must belong to same company"),
        refused(
            "unknown assignee",
            json!({"assigneeAgentId": "{unknown}"}),
            "Assignee agent not found",
        ),
    ]);
    vec![
        Phase {
            name: "create",
            sequential: true,
            cases: first,
        },
        // What names issues of the first phase (ids are filled in per phase).
        Phase {
            name: "create more",
            sequential: true,
            cases,
        },
    ]
}

fn issue_params(issue: &str) -> Value {
    json!({"issueId": format!("{{{issue}}}"), "companyId": "{companyA}"})
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(o), Value::Object(e)) = (base.as_object_mut(), extra) {
        o.extend(e);
    }
    base
}

/// The usual trio for a method on one issue: not found for an unknown id
/// and for an issue of company B, companyId required.
fn issue_refusals(method: &'static str, extra: Value) -> Vec<Case> {
    vec![
        Case::new(
            method,
            "unknown issue",
            Invalid,
            with(issue_params("unknown"), extra.clone()),
        )
        .err(INTERNAL, model::ISSUE_NOT_FOUND),
        Case::new(
            method,
            "issue of company B",
            OtherCompany,
            with(issue_params("issueB"), extra.clone()),
        )
        .err(INTERNAL, model::ISSUE_NOT_FOUND),
        company_required(method, with(json!({"issueId": "{root}"}), extra)),
    ]
}

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

/// The database namespace fixture: `db.*` with a namespace.
pub fn phase_database() -> Phase {
    let db = |m: &'static str, label: &str, kind: Kind, p: Value| {
        Case::new(m, label.to_string(), kind, p).via(Variant::Database)
    };
    let cases = vec![
        db("db.namespace", "the namespace", Valid, json!({})).ok(json!("{namespace}")),
        db("db.query", "a select", Valid, json!({"sql": "SELECT 1 AS one"})).ok(json!([{"one": 1}])),
        db("db.query", "a core table", Valid, json!({"sql": "SELECT id FROM public.companies WHERE id = $1", "params": ["{companyA}"]}))
            .ok(json!([{"id": "{companyA}"}])),
        db("db.query", "a table it may not read", Invalid, json!({"sql": "SELECT id FROM public.agents"}))
            .err(INTERNAL, "Plugin SQL references public.agents, which is not whitelisted"),
        db("db.query", "no sql", Invalid, json!({})).err(INTERNAL, model::NO_SQL),
        db("db.execute", "an insert", Valid, json!({"sql": "INSERT INTO {namespace}.calls (id) VALUES (1)"}))
            .ok(json!({"rowCount": 1})),
        db("db.execute", "a core table", Invalid, json!({"sql": "DELETE FROM public.issues"}))
            .err(INTERNAL, "ctx.db.execute target must be inside plugin namespace \"{namespace}\""),
    ];
    Phase {
        name: "database",
        sequential: false,
        cases,
    }
}

/// For every method's first valid case: the same call through the fixture
/// without capabilities (−32001) and, where it names a company, naming
/// company B inside the invocation of company A (−32005).
pub fn derived(phases: &[Phase]) -> (Phase, Vec<Case>) {
    let mut denied = Vec::new();
    let mut scoped = Vec::new();
    for method in METHODS {
        let Some(first) = phases
            .iter()
            .flat_map(|p| &p.cases)
            .find(|c| c.method == *method && c.kind == Valid)
        else {
            continue;
        };
        let mut cap = Case::new(
            method,
            "valid params, no capability",
            Kind::CapabilityDenied,
            first.params.clone(),
        )
        .via(Variant::NoCapabilities);
        cap.want = model::capability_denied(method);
        denied.push(cap);
        if let Some(params) = model::naming_company_b(&first.params) {
            let mut c =
                Case::new(method, "company B named", OtherCompany, params).via(first.variant);
            c.want = model::scope_denied(method, first.variant);
            scoped.push(c);
        }
    }
    (
        Phase {
            name: "capability",
            sequential: false,
            cases: denied,
        },
        scoped,
    )
}

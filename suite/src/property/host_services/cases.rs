//! The fixed cases of the `host-services` check: every method of
//! [`METHODS`] with valid params, invalid ones, ids of company B, and —
//! derived from its first valid case — through the fixture without
//! capabilities and naming company B inside the invocation of A.
//!
//! Params and expected answers are written in names (`{companyA}`, `{root}`,
//! …, see `names::Names`); the runner fills the ids in just before it sends
//! a phase, so later phases can use the issues earlier ones created. What
//! each call must answer follows contract-db-worker.md B2.2 (methods and
//! their checks, in order) and B3 (capability and invocation scope gates);
//! where the contract is silent, what 2026.707.0 and 916.1 answer
//! (docs/findings.md F29–F31, `model.rs`).

use serde_json::{json, Value};

use super::calls::{Case, Kind};
use super::model::{self, INTERNAL};
use super::rows::Effect;
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

pub(super) fn activity(action: &str, entity: &str, agent: Option<&str>) -> Effect {
    Effect::Activity {
        action: action.into(),
        entity: entity.into(),
        agent: agent.map(String::from),
        attributed: true,
    }
}

pub(super) fn company_required(method: &'static str, params: Value) -> Case {
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
            // No explicit id, acting user, run or parent: nobody is made
            // responsible (2026.707.0's resolution; not the company's default).
            json!({"originKind": "plugin:{keyAll}:plain", "originId": "hs-plain", "billingCode": "hs:plain",
                   "priority": "low", "projectWorkspaceId": null, "parentId": null,
                   "responsibleUserId": null}),
            None,
        ),
        // An explicit responsible user is trusted from a plugin, trimmed.
        made(
            "owned",
            json!({"responsibleUserId": "  hs-owner  "}),
            json!({"responsibleUserId": "hs-owner"}),
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

pub(super) fn issue_params(issue: &str) -> Value {
    json!({"issueId": format!("{{{issue}}}"), "companyId": "{companyA}"})
}

pub(super) fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(o), Value::Object(e)) = (base.as_object_mut(), extra) {
        o.extend(e);
    }
    base
}

/// The usual trio for a method on one issue: not found for an unknown id
/// and for an issue of company B, companyId required.
pub(super) fn issue_refusals(method: &'static str, extra: Value) -> Vec<Case> {
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

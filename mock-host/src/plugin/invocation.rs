//! Invocation scopes (contract-db-worker.md B3 "[HEAD] invocation scope";
//! observed on 2026.707.0, docs/findings.md F10).
//!
//! A host→worker request whose params name a company (top-level `companyId`,
//! `performAction.actorContext.companyId`, `executeTool.runContext.companyId`,
//! `onEvent.event.companyId`) opens an invocation: the envelope carries
//! `paperclipInvocation: {id, scope: {companyId}}`, the SDK keeps it in
//! async-local storage and echoes `paperclipInvocationId` on the worker's
//! nested host calls. The invocation ends when the worker answers (or the
//! call fails). Each worker→host call is then checked, after the capability
//! gate, against the company it asks for:
//!
//! | invocation id on the call | any invocation active | outcome |
//! |---|---|---|
//! | none | no | allowed, unchecked (2026.707.0, finding F11; refused with "company context is required" from 2026.722.0, which the mock does only as defect `unscoped-calls-refused`) |
//! | none | yes | −32005 "missing, expired, or unknown invocation scope" |
//! | unknown / ended | – | −32005, same text |
//! | active, scoped to A | – | the requested company must be A |
//!
//! Requests without a company are never checked; `companies.list` is allowed
//! and its result filtered to the scoped company.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use uuid::Uuid;

/// What a worker→host call is allowed to see, decided when it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeContext {
    /// No invocation id and no invocation of the worker active.
    Unscoped,
    /// The same, on a host that refuses such calls when they name a company
    /// (2026.722.0 and later, docs/findings.md F11). The mock behaves as
    /// 2026.707.0 and only gets here through a deliberate defect.
    Outside,
    /// An id that names no active invocation, or no id while one is active.
    Invalid,
    /// The call belongs to an invocation scoped to this company.
    Company(String),
}

/// The company a call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requested {
    None,
    All,
    Single(String),
}

/// `readNonEmptyString`: a string with something besides whitespace, trimmed.
fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The company scope of a host→worker request, if it carries one.
pub fn derive_scope(method: &str, params: &Value) -> Option<String> {
    let p = params.as_object()?;
    if let Some(c) = non_empty(p.get("companyId")) {
        return Some(c);
    }
    let nested = match method {
        "performAction" => "actorContext",
        "executeTool" => "runContext",
        "onEvent" => "event",
        _ => return None,
    };
    p.get(nested)
        .filter(|v| v.is_object())
        .and_then(|v| non_empty(v.get("companyId")))
}

fn requested(method: &str, params: &Value) -> Requested {
    if method == "companies.list" {
        return Requested::All;
    }
    let Some(p) = params.as_object() else {
        return Requested::None;
    };
    if let Some(c) = non_empty(p.get("companyId")) {
        return Requested::Single(c);
    }
    if p.get("scopeKind").and_then(Value::as_str) == Some("company") {
        return match non_empty(p.get("scopeId")) {
            Some(c) => Requested::Single(c),
            None => Requested::All,
        };
    }
    if method == "events.subscribe" {
        if let Some(c) = p
            .get("filter")
            .filter(|f| f.is_object())
            .and_then(|f| non_empty(f.get("companyId")))
        {
            return Requested::Single(c);
        }
    }
    Requested::None
}

/// The gate: `Err(message)` is an invocation-scope denial
/// (`rpc_code::INVOCATION_SCOPE_DENIED`, −32005).
pub fn check(
    plugin_id: &str,
    method: &str,
    params: &Value,
    scope: &ScopeContext,
) -> Result<(), String> {
    let denied = |why: String| {
        Err(format!(
            "Plugin \"{plugin_id}\" is not allowed to perform \"{method}\": {why}"
        ))
    };
    let requested = requested(method, params);
    if requested == Requested::None {
        return Ok(());
    }
    let allowed = match scope {
        ScopeContext::Invalid => {
            return denied(
                "the worker referenced a missing, expired, or unknown invocation scope".into(),
            )
        }
        ScopeContext::Unscoped => return Ok(()),
        // Hosts that refuse these still serve an unfiltered companies.list.
        ScopeContext::Outside if method == "companies.list" => return Ok(()),
        ScopeContext::Outside => return denied("company context is required".into()),
        ScopeContext::Company(c) => c,
    };
    match requested {
        Requested::All if method == "companies.list" => Ok(()),
        Requested::All => denied(format!(
            "the current invocation is scoped to company \"{allowed}\""
        )),
        Requested::Single(c) if c != *allowed => denied(format!(
            "requested company \"{c}\" but the current invocation is scoped to company \"{allowed}\""
        )),
        _ => Ok(()),
    }
}

/// `companies.list` inside an invocation lists only the scoped company.
pub fn filter_companies(result: Value, scope: &ScopeContext) -> Value {
    match (result, scope) {
        (Value::Array(rows), ScopeContext::Company(c)) => Value::Array(
            rows.into_iter()
                .filter(|r| r.get("id").and_then(Value::as_str) == Some(c.as_str()))
                .collect(),
        ),
        (other, _) => other,
    }
}

/// The active invocations of one worker: invocation id → (company, id of
/// the host→worker request that opened it).
#[derive(Debug, Default, Clone)]
pub struct Invocations {
    active: Arc<Mutex<HashMap<String, (String, u64)>>>,
}

/// An open invocation; it ends when this is dropped.
pub struct Invocation {
    id: String,
    company_id: String,
    registry: Invocations,
}

impl Invocation {
    /// The `paperclipInvocation` envelope field.
    pub fn envelope(&self) -> Value {
        json!({ "id": self.id, "scope": { "companyId": self.company_id } })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for Invocation {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

impl Invocations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, u64)>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens an invocation for host→worker request `request_id` if it
    /// carries a company.
    pub fn open(&self, request_id: u64, method: &str, params: &Value) -> Option<Invocation> {
        let company_id = derive_scope(method, params)?;
        let id = Uuid::new_v4().to_string();
        self.lock()
            .insert(id.clone(), (company_id.clone(), request_id));
        Some(Invocation {
            id,
            company_id,
            registry: self.clone(),
        })
    }

    /// The context of a worker→host message (its `paperclipInvocationId`).
    pub fn context(&self, message: &Value) -> ScopeContext {
        let active = self.lock();
        match non_empty(message.get("paperclipInvocationId")) {
            None if active.is_empty() => ScopeContext::Unscoped,
            None => ScopeContext::Invalid,
            Some(id) => match active.get(&id) {
                Some((c, _)) => ScopeContext::Company(c.clone()),
                None => ScopeContext::Invalid,
            },
        }
    }

    /// Ends the invocation of a host→worker request the moment its answer
    /// is read, before the worker's next message is looked at.
    pub fn end_request(&self, request_id: u64) {
        self.lock().retain(|_, (_, r)| *r != request_id);
    }

    pub fn active_count(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const P: &str = "11111111-1111-1111-1111-111111111111";
    const A: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
    const B: &str = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";

    fn mismatch(method: &str) -> Result<(), String> {
        Err(format!(
            "Plugin \"{P}\" is not allowed to perform \"{method}\": requested company \"{B}\" but the current invocation is scoped to company \"{A}\""
        ))
    }

    fn missing(method: &str) -> Result<(), String> {
        Err(format!(
            "Plugin \"{P}\" is not allowed to perform \"{method}\": the worker referenced a missing, expired, or unknown invocation scope"
        ))
    }

    fn a() -> ScopeContext {
        ScopeContext::Company(A.into())
    }

    /// The scope-probe table of 2026.707.0 (scenarios/plugins/scope-probe/README.md).
    #[rstest]
    #[case::c1_own_issue("issues.get", json!({"issueId": "x", "companyId": A}), a(), Ok(()))]
    #[case::a1_target_issue("issues.get", json!({"issueId": "x", "companyId": B}), a(), mismatch("issues.get"))]
    #[case::a2_request_company("issues.get", json!({"issueId": "y", "companyId": A}), a(), Ok(()))]
    #[case::a3_list("issues.list", json!({"companyId": B, "limit": 100}), a(), mismatch("issues.list"))]
    #[case::a6_relations("issues.relations.get", json!({"issueId": "x", "companyId": B}), a(), mismatch("issues.relations.get"))]
    #[case::a9_summary("issues.summaries.getOrchestration", json!({"issueId": "x", "companyId": B, "includeSubtree": true}), a(), mismatch("issues.summaries.getOrchestration"))]
    #[case::a9b_subtree("issues.getSubtree", json!({"issueId": "x", "companyId": B}), a(), mismatch("issues.getSubtree"))]
    #[case::a9c_comments("issues.listComments", json!({"issueId": "x", "companyId": B}), a(), mismatch("issues.listComments"))]
    #[case::a9d_documents("issues.documents.list", json!({"issueId": "x", "companyId": B}), a(), mismatch("issues.documents.list"))]
    #[case::a10a_companies_list("companies.list", json!({"limit": 100}), a(), Ok(()))]
    #[case::a10b_company("companies.get", json!({"companyId": B}), a(), mismatch("companies.get"))]
    #[case::a10c_agents("agents.list", json!({"companyId": B}), a(), mismatch("agents.list"))]
    #[case::a10d_agent("agents.get", json!({"agentId": "z", "companyId": B}), a(), mismatch("agents.get"))]
    #[case::a11_db_query("db.query", json!({"sql": "SELECT 1", "params": [B]}), a(), Ok(()))]
    #[case::a13_unscoped_get("issues.get", json!({"issueId": "x", "companyId": B}), ScopeContext::Invalid, missing("issues.get"))]
    #[case::a4_create("issues.create", json!({"companyId": B, "title": "t"}), a(), mismatch("issues.create"))]
    #[case::a5_update("issues.update", json!({"issueId": "x", "companyId": B, "patch": {}}), a(), mismatch("issues.update"))]
    #[case::a7_document("issues.documents.upsert", json!({"issueId": "x", "companyId": B, "key": "k"}), a(), mismatch("issues.documents.upsert"))]
    #[case::a8_comment("issues.createComment", json!({"issueId": "x", "companyId": B, "body": "b"}), a(), mismatch("issues.createComment"))]
    #[case::a14_unscoped_update("issues.update", json!({"issueId": "x", "companyId": B}), ScopeContext::Invalid, missing("issues.update"))]
    #[case::w_wakeup("issues.requestWakeup", json!({"issueId": "x", "companyId": B}), a(), mismatch("issues.requestWakeup"))]
    #[case::a15_db_execute("db.execute", json!({"sql": "UPDATE public.issues SET x = 1"}), a(), Ok(()))]
    #[case::a12a_parent("issues.create", json!({"companyId": A, "parentId": "x"}), a(), Ok(()))]
    #[case::a12c_add_blockers("issues.relations.addBlockers", json!({"issueId": "o", "companyId": A, "blockerIssueIds": ["x"]}), a(), Ok(()))]
    #[case::c2_own_namespace("db.execute", json!({"sql": "INSERT INTO ns.t VALUES (1)"}), a(), Ok(()))]
    #[case::d1_deferred_get("issues.get", json!({"issueId": "x", "companyId": B}), ScopeContext::Unscoped, Ok(()))]
    #[case::d2_deferred_update("issues.update", json!({"issueId": "x", "companyId": B}), ScopeContext::Unscoped, Ok(()))]
    #[case::d3_deferred_create("issues.create", json!({"companyId": B}), ScopeContext::Unscoped, Ok(()))]
    #[case::d1_refused_from_722("issues.get", json!({"issueId": "x", "companyId": B}), ScopeContext::Outside, Err(format!("Plugin \"{P}\" is not allowed to perform \"issues.get\": company context is required")))]
    #[case::outside_companies_list("companies.list", json!({}), ScopeContext::Outside, Ok(()))]
    #[case::outside_all_companies("state.get", json!({"scopeKind": "company"}), ScopeContext::Outside, Err(format!("Plugin \"{P}\" is not allowed to perform \"state.get\": company context is required")))]
    #[case::outside_without_company("db.execute", json!({"sql": "INSERT INTO ns.t VALUES (1)"}), ScopeContext::Outside, Ok(()))]
    #[case::invalid_without_company("db.query", json!({"sql": "SELECT 1"}), ScopeContext::Invalid, Ok(()))]
    #[case::invalid_companies_list("companies.list", json!({}), ScopeContext::Invalid, missing("companies.list"))]
    #[case::company_scope_kind("activity.log", json!({"scopeKind": "company", "scopeId": B}), a(), mismatch("activity.log"))]
    #[case::all_companies("state.get", json!({"scopeKind": "company"}), a(), Err(format!("Plugin \"{P}\" is not allowed to perform \"state.get\": the current invocation is scoped to company \"{A}\"")))]
    #[case::subscribe_filter("events.subscribe", json!({"filter": {"companyId": B}}), a(), mismatch("events.subscribe"))]
    #[case::trimmed_company("issues.get", json!({"companyId": format!(" {A} ")}), a(), Ok(()))]
    #[case::blank_company("issues.get", json!({"companyId": "  "}), a(), Ok(()))]
    fn gate(
        #[case] method: &str,
        #[case] params: Value,
        #[case] scope: ScopeContext,
        #[case] expected: Result<(), String>,
    ) {
        assert_eq!(check(P, method, &params, &scope), expected);
    }

    #[rstest]
    #[case("handleApiRequest", json!({"companyId": A, "routeKey": "r"}), Some(A))]
    #[case("handleApiRequest", json!({"companyId": ""}), None)]
    #[case("performAction", json!({"actorContext": {"companyId": A}}), Some(A))]
    #[case("executeTool", json!({"runContext": {"companyId": A}}), Some(A))]
    #[case("onEvent", json!({"event": {"companyId": A}}), Some(A))]
    #[case("getData", json!({"actorContext": {"companyId": A}}), None)]
    #[case("initialize", json!({"manifest": {}}), None)]
    #[case("health", Value::Null, None)]
    fn scope_of_host_requests(
        #[case] method: &str,
        #[case] params: Value,
        #[case] expected: Option<&str>,
    ) {
        assert_eq!(derive_scope(method, &params).as_deref(), expected);
    }

    #[test]
    fn registry_tracks_open_invocations() {
        let reg = Invocations::default();
        assert_eq!(reg.context(&json!({})), ScopeContext::Unscoped);
        assert_eq!(
            reg.context(&json!({"paperclipInvocationId": "nope"})),
            ScopeContext::Invalid
        );
        assert!(reg.open(1, "health", &json!({})).is_none());
        let inv = reg
            .open(2, "handleApiRequest", &json!({"companyId": A}))
            .unwrap();
        assert_eq!(inv.envelope()["scope"], json!({"companyId": A}));
        assert_eq!(
            reg.context(&json!({"paperclipInvocationId": inv.id()})),
            a()
        );
        assert_eq!(reg.context(&json!({})), ScopeContext::Invalid);
        assert_eq!(
            reg.context(&json!({"paperclipInvocationId": "nope"})),
            ScopeContext::Invalid
        );
        let id = inv.id().to_string();
        drop(inv);
        assert_eq!(reg.active_count(), 0);
        // An ended invocation is "expired"; no id is unchecked again.
        assert_eq!(
            reg.context(&json!({"paperclipInvocationId": id})),
            ScopeContext::Invalid
        );
        assert_eq!(reg.context(&json!({})), ScopeContext::Unscoped);
        // The answer ends it too, before the guard is dropped.
        let inv = reg
            .open(3, "onEvent", &json!({"event": {"companyId": B}}))
            .unwrap();
        reg.end_request(2);
        assert_eq!(reg.active_count(), 1);
        reg.end_request(3);
        assert_eq!(reg.context(&json!({})), ScopeContext::Unscoped);
        drop(inv);
    }

    #[test]
    fn companies_list_is_filtered_in_scope() {
        let rows = json!([{"id": A}, {"id": B}]);
        assert_eq!(filter_companies(rows.clone(), &a()), json!([{"id": A}]));
        assert_eq!(
            filter_companies(rows.clone(), &ScopeContext::Unscoped),
            rows
        );
    }
}

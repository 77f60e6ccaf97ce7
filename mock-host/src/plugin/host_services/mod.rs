//! Worker→host methods (contract-db-worker.md B2.2/B3). A request's method
//! string is parsed once into a [`Method`]; the call then passes the
//! capability gate and the invocation-scope gate (`plugin::invocation`) and
//! runs in the handler of its domain (one module each below). As on
//! 2026.707.0, the two gates answer with their own codes (`-32001`,
//! `-32005`); handler failures go back as JSON-RPC `-32603` with the
//! error's message. Every method 2026.707.0 serves passes the gates; the
//! ones the mock has no data behind answer as `not_implemented` says (707's
//! answer where their params are missing, else an explicit `-32004`).

mod activity;
mod agents;
mod checkout;
mod comments;
mod companies;
mod config;
mod db;
mod documents;
mod issues;
pub mod method;
mod not_implemented;
mod orchestration;
mod params;
mod relations;
mod state;
mod wakeups;

use std::sync::Arc;

use deadpool_postgres::Pool;
use serde_json::Value;
use uuid::Uuid;

use crate::config::{Defect, Defects};
use crate::db::{pg, Client};
use crate::error::{rpc_code, Error, Result};
use crate::plugin::invocation::{self, ScopeContext};
pub use method::Method;
use relations::BlockerChange;

/// Who a worker's host calls act for.
#[derive(Clone)]
pub struct ServiceCtx {
    pub pool: Pool,
    pub plugin_id: Uuid,
    pub plugin_key: String,
    pub capabilities: Arc<Vec<String>>,
    pub defects: Defects,
    /// The release whose answers the services give where they changed.
    pub plays: crate::plays::Plays,
    /// What `db.*` calls check, read when the worker starts.
    pub database: Arc<RuntimeDatabase>,
}

/// What a worker's `db.*` calls are checked against: the plugin's active
/// namespace and the persisted manifest's `coreReadTables`. Read once when
/// the worker starts, as its capabilities are: both change only through an
/// install, an upgrade or a re-activation, and each of those starts a new
/// worker. Reading them per call cost a database round trip on every
/// `db.query` of a scoped request.
#[derive(Clone, Debug, Default)]
pub struct RuntimeDatabase {
    /// `None` when the plugin has no active namespace.
    pub namespace: Option<String>,
    pub core_read_tables: Vec<String>,
}

impl RuntimeDatabase {
    /// Reads the facts of `plugin_id` as a call would have read them.
    pub async fn load(client: &Client, plugin_id: Uuid, manifest: &Value) -> Result<Self> {
        Ok(RuntimeDatabase {
            namespace: crate::plugin::namespace::active_namespace(client, plugin_id).await?,
            core_read_tables: crate::plugin::namespace::core_read_tables(manifest),
        })
    }
}

/// Serves one worker→host request; `scope` is the invocation context the
/// request arrived in. The error is the JSON-RPC `(code, message)`.
pub async fn dispatch(
    ctx: &ServiceCtx,
    method: &str,
    params: Value,
    scope: &ScopeContext,
) -> std::result::Result<Value, (i64, String)> {
    let unserved = |m: Method| !m.served();
    let parsed = Method::parse(method).filter(|m| {
        // Defect unserved-method-not-found: only what the mock serves has a
        // handler, as before it knew every method 2026.707.0 serves.
        !(unserved(*m) && ctx.defects.has(Defect::UnservedMethodNotFound))
    });
    let Some(parsed) = parsed else {
        return Err((
            rpc_code::METHOD_NOT_FOUND,
            format!("Host does not handle method \"{method}\""),
        ));
    };
    // Defect unserved-method-ungated: the gate only guards served methods.
    let ungated_unserved = unserved(parsed) && ctx.defects.has(Defect::UnservedMethodUngated);
    // Defect host-call-capability-unchecked: one method is not gated.
    let ungated_blockers = parsed == Method::RelationsAddBlockers
        && ctx.defects.has(Defect::HostCallCapabilityUnchecked);
    let gated = !(ungated_unserved || ungated_blockers);
    if let Some(cap) = parsed.capability().filter(|_| gated) {
        if !ctx.capabilities.iter().any(|c| c == cap) {
            return Err((
                rpc_code::CAPABILITY_DENIED,
                format!(
                    "Plugin \"{}\" is missing required capability \"{cap}\" for method \"{method}\"",
                    ctx.plugin_id
                ),
            ));
        }
    }
    // Defect host-call-scope-unchecked: one method skips the scope gate.
    let scoped =
        !(parsed == Method::DocumentsUpsert && ctx.defects.has(Defect::HostCallScopeUnchecked));
    // Defect host-call-wrong-error-code: the gate's refusal loses its code.
    let scope_code = if ctx.defects.has(Defect::HostCallWrongErrorCode) {
        rpc_code::INTERNAL_ERROR
    } else {
        rpc_code::INVOCATION_SCOPE_DENIED
    };
    if scoped {
        invocation::check(&ctx.plugin_id.to_string(), method, &params, scope)
            .map_err(|m| (scope_code, m))?;
    }
    let result = handle(ctx, parsed, &params).await.map_err(|e| match e {
        Error::Rpc { code, message } => (code, message),
        other => (rpc_code::INTERNAL_ERROR, other.message()),
    })?;
    Ok(match parsed {
        Method::CompaniesList => invocation::filter_companies(result, scope),
        _ => result,
    })
}

/// Runs the method's handler; exhaustive, so a new [`Method`] needs one.
/// Handlers that touch the database get a pooled connection of their own.
async fn handle(ctx: &ServiceCtx, method: Method, p: &Value) -> Result<Value> {
    match method {
        // Plugin log lines arrive as notifications (see `plugin::worker`);
        // as requests, like the event bus calls, they only need an answer.
        Method::Log | Method::EventsSubscribe => Ok(Value::Null),
        // The bus refuses a nameless event (2026.707.0 names the plugin by
        // its key there); otherwise there is nobody to deliver it to.
        Method::EventsEmit => match p.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => Ok(Value::Null),
            Some(Value::String(_)) | None | Some(Value::Null) => Err(Error::internal(format!(
                "Plugin \"{}\" must provide a non-empty event name.",
                ctx.plugin_key
            ))),
            Some(_) => Ok(Value::Null),
        },
        // What the mock has no data behind (`not_implemented`).
        Method::EntitiesUpsert
        | Method::EntitiesList
        | Method::LocalFoldersDeclarations
        | Method::LocalFoldersConfigure
        | Method::LocalFoldersStatus
        | Method::LocalFoldersList
        | Method::LocalFoldersReadText
        | Method::LocalFoldersWriteTextAtomic
        | Method::LocalFoldersDeleteFile
        | Method::HttpFetch
        | Method::SecretsResolve
        | Method::MetricsWrite
        | Method::TelemetryTrack
        | Method::ProjectsList
        | Method::ProjectsGet
        | Method::ProjectsListWorkspaces
        | Method::ProjectsGetPrimaryWorkspace
        | Method::ProjectsGetWorkspaceForIssue
        | Method::ExecutionWorkspacesGet
        | Method::ProjectsManagedGet
        | Method::ProjectsManagedReconcile
        | Method::ProjectsManagedReset
        | Method::RoutinesManagedGet
        | Method::RoutinesManagedReconcile
        | Method::RoutinesManagedReset
        | Method::RoutinesManagedUpdate
        | Method::RoutinesManagedRun
        | Method::SkillsManagedGet
        | Method::SkillsManagedReconcile
        | Method::SkillsManagedReset
        | Method::IssuesCreateInteraction
        | Method::AgentsPause
        | Method::AgentsResume
        | Method::AgentsInvoke
        | Method::AgentsManagedGet
        | Method::AgentsManagedReconcile
        | Method::AgentsManagedReset
        | Method::AgentsSessionsCreate
        | Method::AgentsSessionsList
        | Method::AgentsSessionsSendMessage
        | Method::AgentsSessionsClose
        | Method::GoalsList
        | Method::GoalsGet
        | Method::GoalsCreate
        | Method::GoalsUpdate
        | Method::AccessMembersList
        | Method::AccessMembersGet
        | Method::AccessMembersUpdate
        | Method::AccessInvitesList
        | Method::AccessInvitesCreate
        | Method::AccessInvitesRevoke
        | Method::AuthorizationGrantsList
        | Method::AuthorizationGrantsSet
        | Method::AuthorizationPoliciesSummary
        | Method::AuthorizationPoliciesGet
        | Method::AuthorizationPoliciesUpdate
        | Method::AuthorizationPoliciesPreviewAssignment
        | Method::AuthorizationPoliciesExplainAssignment
        | Method::AuthorizationAuditSearch => not_implemented::answer(ctx, method, p),
        Method::StateGet => state::get(ctx, &conn(ctx).await?, p).await,
        Method::StateSet => state::set(ctx, &conn(ctx).await?, p).await,
        Method::StateDelete => state::delete(ctx, &conn(ctx).await?, p).await,
        Method::ConfigGet => config::get(ctx, &conn(ctx).await?).await,
        Method::DbNamespace => db::namespace(ctx),
        Method::DbQuery => db::query(ctx, &conn(ctx).await?, p).await,
        Method::DbExecute => db::execute(ctx, &conn(ctx).await?, p).await,
        Method::ActivityLog => activity::log(ctx, pg(&conn(ctx).await?), p).await,
        Method::CompaniesList => companies::list(&conn(ctx).await?, p).await,
        Method::CompaniesGet => companies::get(ctx, &conn(ctx).await?, p).await,
        Method::AgentsList => agents::list(&conn(ctx).await?, p).await,
        Method::AgentsGet => agents::get(&conn(ctx).await?, p).await,
        Method::IssuesGet => issues::get(ctx, &conn(ctx).await?, p).await,
        Method::IssuesList => issues::list(ctx, &conn(ctx).await?, p).await,
        Method::IssuesCreate => issues::create(ctx, &mut conn(ctx).await?, p).await,
        Method::IssuesUpdate => issues::update(ctx, &mut conn(ctx).await?, p).await,
        Method::RelationsGet => relations::get(&conn(ctx).await?, p).await,
        Method::RelationsSetBlockedBy => {
            relations::mutate(ctx, &mut conn(ctx).await?, BlockerChange::Set, p).await
        }
        Method::RelationsAddBlockers => {
            relations::mutate(ctx, &mut conn(ctx).await?, BlockerChange::Add, p).await
        }
        Method::RelationsRemoveBlockers => {
            relations::mutate(ctx, &mut conn(ctx).await?, BlockerChange::Remove, p).await
        }
        Method::DocumentsUpsert => documents::upsert(ctx, &mut conn(ctx).await?, p).await,
        Method::DocumentsList => documents::list(&conn(ctx).await?, p).await,
        Method::DocumentsGet => documents::get(&conn(ctx).await?, p).await,
        Method::DocumentsDelete => documents::delete(ctx, &mut conn(ctx).await?, p).await,
        Method::RequestWakeup => wakeups::request_one(ctx, &conn(ctx).await?, p).await,
        Method::RequestWakeups => wakeups::request_many(ctx, &conn(ctx).await?, p).await,
        Method::GetOrchestration => orchestration::summary(&conn(ctx).await?, p).await,
        Method::GetSubtree => orchestration::get_subtree(&conn(ctx).await?, p).await,
        Method::AssertCheckoutOwner => checkout::assert_owner(ctx, &conn(ctx).await?, p).await,
        Method::ListComments => comments::list(&conn(ctx).await?, p).await,
        Method::CreateComment => comments::create(ctx, &conn(ctx).await?, p).await,
    }
}

async fn conn(ctx: &ServiceCtx) -> Result<Client> {
    Ok(ctx.pool.get().await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    const A: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
    const B: &str = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";

    /// A context whose pool is never connected: every case answers before
    /// a handler would need the database.
    fn ctx(capabilities: &[&str]) -> ServiceCtx {
        ServiceCtx {
            pool: crate::db::pool("postgres://nobody@127.0.0.1:1/none").unwrap(),
            plugin_id: Uuid::nil(),
            plugin_key: "conformance.test".into(),
            capabilities: Arc::new(capabilities.iter().map(|c| c.to_string()).collect()),
            defects: Defects::none(),
            plays: Default::default(),
            database: Default::default(),
        }
    }

    /// Unknown method, then capability, then invocation scope (2026.707.0).
    #[rstest]
    #[case::unknown_method("issues.nope", &["issues.read"], ScopeContext::Invalid, rpc_code::METHOD_NOT_FOUND)]
    #[case::capability_before_scope("issues.get", &[], ScopeContext::Invalid, rpc_code::CAPABILITY_DENIED)]
    #[case::missing_scope("issues.get", &["issues.read"], ScopeContext::Invalid, rpc_code::INVOCATION_SCOPE_DENIED)]
    #[case::other_company("issues.get", &["issues.read"], ScopeContext::Company(A.into()), rpc_code::INVOCATION_SCOPE_DENIED)]
    #[case::comment_capability("issues.createComment", &["issue.comments.read"], ScopeContext::Company(A.into()), rpc_code::CAPABILITY_DENIED)]
    #[case::comment_scope("issues.createComment", &["issue.comments.create"], ScopeContext::Company(A.into()), rpc_code::INVOCATION_SCOPE_DENIED)]
    #[tokio::test]
    async fn gates_answer_in_order(
        #[case] method: &str,
        #[case] capabilities: &[&str],
        #[case] scope: ScopeContext,
        #[case] code: i64,
    ) {
        let params = json!({"issueId": "x", "companyId": B, "body": "b"});
        let (got, message) = dispatch(&ctx(capabilities), method, params, &scope)
            .await
            .unwrap_err();
        assert_eq!(got, code, "{message}");
        let expected_prefix = match code {
            rpc_code::METHOD_NOT_FOUND => format!("Host does not handle method \"{method}\""),
            rpc_code::CAPABILITY_DENIED => {
                format!("Plugin \"{}\" is missing required capability", Uuid::nil())
            }
            _ => format!(
                "Plugin \"{}\" is not allowed to perform \"{method}\": ",
                Uuid::nil()
            ),
        };
        assert!(message.starts_with(&expected_prefix), "{message}");
    }

    /// Unserved methods pass the gates like every method; given the params
    /// their handler reads, they answer the explicit -32004 (not the
    /// catch-all -32603).
    #[rstest]
    #[case::entities_upsert("entities.upsert", &[])]
    #[case::goals_list("goals.list", &["goals.read"])]
    #[case::sessions_close("agents.sessions.close", &["agent.sessions.close"])]
    #[tokio::test]
    async fn unimplemented_methods_say_so(#[case] method: &str, #[case] capabilities: &[&str]) {
        let params = json!({"companyId": A, "scopeKind": "instance", "stateKey": "k"});
        let (code, message) = dispatch(&ctx(capabilities), method, params, &ScopeContext::Unscoped)
            .await
            .unwrap_err();
        assert_eq!(code, rpc_code::METHOD_NOT_IMPLEMENTED, "{message}");
        assert_eq!(
            message,
            format!("Host method \"{method}\" is not implemented by the mock host")
        );
    }

    #[tokio::test]
    async fn state_needs_its_capability_first() {
        let (code, message) = dispatch(
            &ctx(&["plugin.state.read"]),
            "state.set",
            json!({}),
            &ScopeContext::Unscoped,
        )
        .await
        .unwrap_err();
        assert_eq!(code, rpc_code::CAPABILITY_DENIED, "{message}");
        assert!(
            message.ends_with("\"plugin.state.write\" for method \"state.set\""),
            "{message}"
        );
    }

    /// Without params they answer what 2026.707.0 answers (the
    /// `host-methods` property compares them all with the real hosts).
    #[rstest]
    #[case::company_first("projects.list", &["projects.read"], "companyId is required for this operation")]
    #[case::local_folder("localFolders.status", &["local.folders"], "Local folder key is not declared by this plugin manifest")]
    #[case::fetch("http.fetch", &["http.outbound"], "Invalid URL: undefined")]
    #[case::secret("secrets.resolve", &["secrets.read-ref"], "Invalid secret reference: <empty>")]
    #[case::event_name("events.emit", &["events.emit"], "Plugin \"conformance.test\" must provide a non-empty event name.")]
    #[tokio::test]
    async fn empty_params_answer_like_707(
        #[case] method: &str,
        #[case] capabilities: &[&str],
        #[case] expected: &str,
    ) {
        let (code, message) = dispatch(
            &ctx(capabilities),
            method,
            json!({}),
            &ScopeContext::Unscoped,
        )
        .await
        .unwrap_err();
        assert_eq!(
            (code, message.as_str()),
            (rpc_code::INTERNAL_ERROR, expected)
        );
    }

    #[tokio::test]
    async fn every_707_method_has_a_handler_and_its_gate() {
        use strum::IntoEnumIterator;
        assert_eq!(Method::iter().count(), 93);
        let (code, message) = dispatch(
            &ctx(&[]),
            "skills.managed.reset",
            json!({}),
            &ScopeContext::Unscoped,
        )
        .await
        .unwrap_err();
        assert_eq!(code, rpc_code::CAPABILITY_DENIED, "{message}");
        let list = dispatch(
            &ctx(&[]),
            "entities.list",
            json!({"entityType": "x"}),
            &ScopeContext::Unscoped,
        )
        .await;
        assert_eq!(list, Ok(json!([])));
    }
}

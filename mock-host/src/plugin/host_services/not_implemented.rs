//! Methods 2026.707.0 serves that the mock has no data behind: `state.*`,
//! `entities.*` and the 57 methods of projects, workspaces, routines,
//! skills, local folders, sessions, goals, access, authorization, http,
//! secrets, metrics and telemetry ([`rule`] lists them). The contract names
//! them and their capabilities but not their storage or answers, so the mock
//! does not guess: they pass the same gates as every method and answer what
//! 707.0 answers when the params its handler reads first are missing — the
//! `host-methods` property compares every one with the real hosts — and
//! otherwise `-32004` with a sentence saying so (mock-host/README.md, "Known
//! differences"; docs/host-methods.md). Where the answer needs no data (the
//! mock's plugins declare no local folders and can store no entities), the
//! mock answers like 707.0 for every params.

use serde_json::{json, Value};

use super::method::Method;
use super::ServiceCtx;
use crate::config::Defect;
use crate::error::{rpc_code, Error, Result};

/// What 707.0's handler does first with the params.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    /// `ensureCompanyId`: a missing or empty `companyId` is refused with
    /// `companyId is required for this operation`.
    CompanyFirst,
    /// A local folder of a plugin that declares none: the key's pattern,
    /// then "not declared" (after `ensureCompanyId` when `company`).
    LocalFolder { company: bool },
    /// Always this success (nothing stored, nothing to say).
    Always(Constant),
    /// With none of its params, the query builder's failure of 707.0;
    /// with any, `-32004`.
    EmptyQuery(&'static [&'static str], &'static str),
    /// `http.fetch`: a missing `url` is an invalid URL.
    FetchUrl,
    /// `secrets.resolve`: a missing `secretRef` is an invalid reference.
    SecretRef,
    /// `telemetry.track`: the event name must be a lowercase slug; the
    /// mock, like a host with telemetry off, then drops it.
    TelemetryName,
}

/// A constant answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Constant {
    Null,
    EmptyList,
}

// The query builder's texts of 707.0 for `{}` (docs/host-methods.md);
// `{pluginId}` and `{now}` are filled in per call.
const STATE_GET: &str = r#"Failed query: select "id", "plugin_id", "scope_kind", "scope_id", "namespace", "state_key", "value_json", "updated_at" from "plugin_state" where ("plugin_state"."plugin_id" = $1 and "plugin_state"."scope_kind" = $2 and "plugin_state"."namespace" = $3 and "plugin_state"."state_key" = $4 and "plugin_state"."scope_id" is null)
params: {pluginId},,default,"#;
const STATE_SET: &str = r#"Failed query: insert into "plugin_state" ("id", "plugin_id", "scope_kind", "scope_id", "namespace", "state_key", "value_json", "updated_at") values (default, $1, default, $2, $3, default, default, $4) on conflict ("plugin_id","scope_kind","scope_id","namespace","state_key") do update set "updated_at" = $5
params: {pluginId},,default,{now},{now}"#;
const STATE_DELETE: &str = r#"Failed query: delete from "plugin_state" where ("plugin_state"."plugin_id" = $1 and "plugin_state"."scope_kind" = $2 and "plugin_state"."namespace" = $3 and "plugin_state"."state_key" = $4 and "plugin_state"."scope_id" is null)
params: {pluginId},,default,"#;
const ENTITIES_UPSERT: &str = r#"Failed query: select "id", "plugin_id", "company_id", "entity_type", "scope_kind", "scope_id", "external_id", "title", "status", "data", "created_at", "updated_at" from "plugin_entities" where ("plugin_entities"."company_id" is null and "plugin_entities"."plugin_id" = $1 and "plugin_entities"."entity_type" = $2 and "plugin_entities"."external_id" = $3)
params: {pluginId},,"#;
const STATE_KEYS: &[&str] = &["scopeKind", "scopeId", "namespace", "stateKey", "value"];
const ENTITY_KEYS: &[&str] = &["entityType", "externalId", "companyId", "scopeKind"];

/// The rule of an unserved method; `None` for the methods the mock serves.
pub(super) fn rule(method: Method) -> Option<Rule> {
    use Method::*;
    Some(match method {
        ConfigGet
        | Log
        | DbNamespace
        | DbQuery
        | DbExecute
        | EventsEmit
        | EventsSubscribe
        | ActivityLog
        | CompaniesList
        | CompaniesGet
        | IssuesList
        | IssuesGet
        | IssuesCreate
        | IssuesUpdate
        | RelationsGet
        | RelationsSetBlockedBy
        | RelationsAddBlockers
        | RelationsRemoveBlockers
        | AssertCheckoutOwner
        | GetSubtree
        | RequestWakeup
        | RequestWakeups
        | GetOrchestration
        | ListComments
        | CreateComment
        | DocumentsList
        | DocumentsGet
        | DocumentsUpsert
        | DocumentsDelete
        | AgentsList
        | AgentsGet => return None,
        // Served (`state`), but with none of their params they answer
        // through here: 707.0's query failure.
        StateGet => Rule::EmptyQuery(STATE_KEYS, STATE_GET),
        StateSet => Rule::EmptyQuery(STATE_KEYS, STATE_SET),
        StateDelete => Rule::EmptyQuery(STATE_KEYS, STATE_DELETE),
        EntitiesUpsert => Rule::EmptyQuery(ENTITY_KEYS, ENTITIES_UPSERT),
        EntitiesList | LocalFoldersDeclarations => Rule::Always(Constant::EmptyList),
        MetricsWrite => Rule::Always(Constant::Null),
        LocalFoldersStatus | LocalFoldersList | LocalFoldersReadText => {
            Rule::LocalFolder { company: false }
        }
        LocalFoldersConfigure | LocalFoldersWriteTextAtomic | LocalFoldersDeleteFile => {
            Rule::LocalFolder { company: true }
        }
        HttpFetch => Rule::FetchUrl,
        SecretsResolve => Rule::SecretRef,
        TelemetryTrack => Rule::TelemetryName,
        _ => Rule::CompanyFirst,
    })
}

/// The sentence of the `-32004` answer.
pub(super) fn message(method: Method) -> String {
    format!(
        "Host method \"{}\" is not implemented by the mock host",
        method.as_str()
    )
}

/// The answer of an unserved method to `p`.
pub(super) fn answer(ctx: &ServiceCtx, method: Method, p: &Value) -> Result<Value> {
    // Defect unserved-method-internal-error: a catch-all answers every
    // unserved call alike, whatever its params.
    if ctx.defects.has(Defect::UnservedMethodInternalError) {
        return Err(Error::internal(message(method)));
    }
    let not_implemented = || Error::Rpc {
        code: rpc_code::METHOD_NOT_IMPLEMENTED,
        message: message(method),
    };
    match rule(method).unwrap_or(Rule::CompanyFirst) {
        Rule::CompanyFirst => {
            require_company(p)?;
            Err(not_implemented())
        }
        Rule::LocalFolder { company } => {
            if company {
                require_company(p)?;
            }
            Err(Error::internal(local_folder_error(p.get("folderKey"))))
        }
        Rule::Always(Constant::Null) => Ok(Value::Null),
        Rule::Always(Constant::EmptyList) => Ok(json!([])),
        Rule::EmptyQuery(keys, text) if keys.iter().all(|k| absent(p, k)) => {
            let now = chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            Err(Error::internal(
                text.replace("{pluginId}", &ctx.plugin_id.to_string())
                    .replace("{now}", &now),
            ))
        }
        Rule::EmptyQuery(..) => Err(not_implemented()),
        // `new URL(undefined)` fails; `String(undefined)` names it.
        Rule::FetchUrl if absent(p, "url") => Err(Error::internal("Invalid URL: undefined")),
        // From 2026.722.0 the text shows the shape it expects (F28).
        Rule::SecretRef if absent(p, "secretRef") && ctx.plays.secret_ref_error_shows_shape() => {
            Err(Error::internal(
                "Invalid secret reference for plugin: <empty>. Use { type: \"secret_ref\", secretId, version? }",
            ))
        }
        Rule::SecretRef if absent(p, "secretRef") => {
            Err(Error::internal("Invalid secret reference: <empty>"))
        }
        Rule::FetchUrl | Rule::SecretRef => Err(not_implemented()),
        Rule::TelemetryName => {
            let name = match p.get("eventName") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.trim().to_string(),
                Some(other) => other.to_string(),
            };
            if is_slug(&name, &['_', '-']) {
                Ok(Value::Null)
            } else {
                Err(Error::internal(
                    "Plugin telemetry event names must be lowercase slugs using letters, numbers, \"_\" or \"-\".",
                ))
            }
        }
    }
}

/// `ensureCompanyId`: any truthy `companyId` passes.
fn require_company(p: &Value) -> Result<()> {
    let given = match p.get("companyId") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(_) => true,
    };
    if given {
        Ok(())
    } else {
        Err(Error::internal("companyId is required for this operation"))
    }
}

/// Missing or `null`.
fn absent(p: &Value, key: &str) -> bool {
    matches!(p.get(key), None | Some(Value::Null))
}

/// 707.0 tests the key's pattern on `String(folderKey)` (so a missing key
/// passes as "undefined"), then finds no declaration.
fn local_folder_error(key: Option<&Value>) -> &'static str {
    let text = match key {
        None => "undefined".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) => "null".to_string(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => "[object]".to_string(),
        Some(other) => other.to_string(),
    };
    if is_slug(&text, &['.', ':', '_', '-']) {
        "Local folder key is not declared by this plugin manifest"
    } else {
        "folderKey must start with a lowercase alphanumeric and contain only lowercase letters, digits, dots, colons, underscores, or hyphens"
    }
}

/// `^[a-z0-9][a-z0-9<extra>]*$`.
fn is_slug(text: &str, extra: &[char]) -> bool {
    let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut chars = text.chars();
    chars.next().is_some_and(lower) && chars.all(|c| lower(c) || extra.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_keys_follow_707s_pattern_test() {
        let not_declared = "Local folder key is not declared by this plugin manifest";
        assert_eq!(local_folder_error(None), not_declared);
        assert_eq!(
            local_folder_error(Some(&json!("docs.v1:a_b-c"))),
            not_declared
        );
        assert_eq!(local_folder_error(Some(&json!(5))), not_declared);
        assert!(local_folder_error(Some(&json!("Docs"))).starts_with("folderKey must"));
        assert!(local_folder_error(Some(&json!({}))).starts_with("folderKey must"));
    }

    #[test]
    fn telemetry_names_are_slugs() {
        assert!(is_slug("a-b_1", &['_', '-']));
        assert!(!is_slug("", &['_', '-']));
        assert!(!is_slug("A", &['_', '-']));
        assert!(!is_slug("a.b", &['_', '-']));
    }
}

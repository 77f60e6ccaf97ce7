//! The UI bridge: the routes a plugin's UI calls through the host
//! (contract-http.md §3.4; observed on 2026.707.0 and 2026.916.1, see the
//! `ui-bridge.*` scenarios).
//!
//! * `GET /api/plugins/ui-contributions`: the UI slots and launchers of the
//!   ready plugins that declare any.
//! * `POST /api/plugins/:pluginId/data/:key`: the worker's `getData`.
//! * `POST /api/plugins/:pluginId/actions/:key`: the worker's `performAction`.
//!
//! The order on the bridge routes is the real host's: the caller first
//! (board for data, anyone authenticated for actions), then the plugin
//! (404) and its readiness (502), then the company of the body, then the
//! worker. Refusals before the worker answer `{"error": …}` through the
//! global error handler; what goes wrong in or around the worker answers
//! 502 with the bridge error shape `{code, message}`.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::config::Defect;
use crate::db::rows;
use crate::error::{error_response, json_response, rpc_code, Error, Result};
use crate::host::AppState;
use crate::http::actor::Actor;
use crate::http::authz;
use crate::http::pipeline::JsonBody;
use crate::http::scoped::decode_component;
use crate::plugin::lifecycle::{self, PluginRow};
use crate::plugin::worker::DEFAULT_RPC_TIMEOUT;

/// What the host bundles a plugin's UI as; the real host names no other.
const UI_ENTRY_FILE: &str = "index.js";

/// GET /api/plugins/ui-contributions
pub async fn contributions(State(state): State<AppState>, actor: Actor) -> Result<Response> {
    authz::assert_board_org_access(&actor)?;
    let client = state.pool.get().await?;
    let ready = rows::query_entities(
        &**client,
        "SELECT id, plugin_key, version, manifest_json, updated_at FROM plugins
         WHERE status = 'ready' ORDER BY install_order",
        &[],
    )
    .await?;
    let unfiltered = state.config.defects.has(Defect::UiContributionsUnfiltered);
    let list: Vec<Value> = ready
        .iter()
        .filter_map(|plugin| contribution(plugin, unfiltered))
        .collect();
    Ok(json_response(200, &Value::Array(list)))
}

/// One plugin's entry, or `None` when its manifest declares no slot and no
/// launcher (defect ui-contributions-unfiltered: listed all the same).
fn contribution(plugin: &Value, unfiltered: bool) -> Option<Value> {
    let manifest = plugin.get("manifestJson").filter(|m| m.is_object())?;
    let slots = array_at(manifest, "/ui/slots");
    // Launchers come from the older top-level field first, then from `ui`.
    let mut launchers = array_at(manifest, "/launchers");
    launchers.extend(array_at(manifest, "/ui/launchers"));
    if slots.is_empty() && launchers.is_empty() && !unfiltered {
        return None;
    }
    let mut entry = Map::new();
    entry.insert("pluginId".into(), plugin["id"].clone());
    entry.insert("pluginKey".into(), plugin["pluginKey"].clone());
    // An absent display name stays absent, as `JSON.stringify` drops it.
    if let Some(name) = manifest.get("displayName") {
        entry.insert("displayName".into(), name.clone());
    }
    entry.insert("version".into(), plugin["version"].clone());
    entry.insert("updatedAt".into(), plugin["updatedAt"].clone());
    entry.insert("uiEntryFile".into(), json!(UI_ENTRY_FILE));
    entry.insert("slots".into(), Value::Array(slots));
    entry.insert("launchers".into(), Value::Array(launchers));
    Some(Value::Object(entry))
}

fn array_at(v: &Value, pointer: &str) -> Vec<Value> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Which bridge route a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bridge {
    Data,
    Action,
}

impl Bridge {
    fn segment(self) -> &'static str {
        match self {
            Bridge::Data => "data",
            Bridge::Action => "actions",
        }
    }
}

/// POST /api/plugins/:pluginId/data/:key
pub async fn data(State(state): State<AppState>, req: Request) -> Response {
    bridge(&state, Bridge::Data, req).await
}

/// POST /api/plugins/:pluginId/actions/:key
pub async fn action(State(state): State<AppState>, req: Request) -> Response {
    bridge(&state, Bridge::Action, req).await
}

async fn bridge(state: &AppState, route: Bridge, req: Request) -> Response {
    let (actor, body) = crate::http::pipeline::actor_and_body(&req);
    match serve(state, route, req.uri().path(), &actor, &body).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

/// Everything up to the worker's answer; `Err` is what the global error
/// handler turns into `{"error": …}`.
async fn serve(
    state: &AppState,
    route: Bridge,
    path: &str,
    actor: &Actor,
    body: &JsonBody,
) -> Result<Response> {
    let defects = &state.config.defects;
    // Express decodes both path params before any handler runs; a
    // malformed escape is its error, which the global handler makes a 500.
    let (plugin_ref, key) = split_path(path, route)
        .ok_or_else(|| Error::internal("malformed percent-escape in the path"))?;
    // 1. the caller: data needs board access, actions only a caller.
    match route {
        // Defect ui-data-agents-allowed: agents pass as they do on actions.
        Bridge::Data if defects.has(Defect::UiDataAgentsAllowed) => {
            if !matches!(actor, Actor::Agent(_)) {
                authz::assert_board_org_access(actor)?;
            }
        }
        Bridge::Data => {
            authz::assert_board_org_access(actor)?;
        }
        // Defect ui-action-lookup-before-auth: the caller is checked after
        // the plugin lookup, so nobody learns which plugins exist (404).
        Bridge::Action if defects.has(Defect::UiActionLookupBeforeAuth) => {}
        Bridge::Action => authz::assert_authenticated(actor)?,
    }
    // 2. the plugin.
    let plugin = {
        let client = state.pool.get().await?;
        lifecycle::resolve(&**client, &plugin_ref)
            .await?
            .ok_or_else(|| Error::not_found("Plugin not found"))?
    };
    if route == Bridge::Action && defects.has(Defect::UiActionLookupBeforeAuth) {
        authz::assert_authenticated(actor)?;
    }
    // 3. readiness, answered in the bridge error shape.
    if plugin.status != "ready" {
        return Ok(bridge_error(
            "WORKER_UNAVAILABLE",
            &format!("Plugin is not ready (current status: {})", plugin.status),
        ));
    }
    // 4. the company the UI names, if any.
    let company = bridge_scope(state, route, actor, body.get("companyId"))?;
    // 5. the worker.
    let (method, params) = match route {
        Bridge::Data => ("getData", data_params(&key, company.as_deref(), body)),
        Bridge::Action => (
            "performAction",
            action_params(state, &key, company.as_deref(), actor, body),
        ),
    };
    Ok(match call_worker(state, &plugin, method, params).await {
        Ok(result) => json_response(200, &json!({ "data": result })),
        Err(e) => {
            let (code, message) = bridge_code(&e);
            // Defect ui-bridge-error-500: the global handler's shape instead.
            if defects.has(Defect::UiBridgeError500) {
                error_response(500, &message)
            } else {
                bridge_error(code, &message)
            }
        }
    })
}

/// (decoded plugin id, decoded key) of `/api/plugins/<id>/<segment>/<key>`;
/// `None` when an escape is malformed.
fn split_path(path: &str, route: Bridge) -> Option<(String, String)> {
    let rest = path.strip_prefix("/api/plugins/")?;
    let mut parts = rest.splitn(3, '/');
    let (id, segment, key) = (parts.next()?, parts.next()?, parts.next()?);
    debug_assert_eq!(segment, route.segment());
    Some((decode_component(id)?, decode_component(key)?))
}

/// The bridge's company rule: no `companyId` (or null) needs an instance
/// admin; anything else must be a non-blank string the caller may access.
/// Returns the company to hand to the worker.
fn bridge_scope(
    state: &AppState,
    route: Bridge,
    actor: &Actor,
    company: Option<&Value>,
) -> Result<Option<String>> {
    let unchecked = match route {
        Bridge::Data => state.config.defects.has(Defect::UiDataNoCompanyCheck),
        Bridge::Action => state.config.defects.has(Defect::UiActionNoCompanyCheck),
    };
    let company = match company {
        None | Some(Value::Null) => {
            // Defects ui-data-no-company-check, ui-action-no-company-check.
            if !unchecked {
                authz::assert_instance_admin(actor)?;
            }
            return Ok(None);
        }
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            return Err(Error::bad_request(
                "\"companyId\" must be a non-empty string when provided",
            ))
        }
    };
    if !unchecked {
        // Ids are compared as strings: only the canonical spelling of a
        // company's id names it, any other string belongs to no company.
        let id = Uuid::parse_str(&company)
            .ok()
            .filter(|id| id.to_string() == company)
            .unwrap_or(Uuid::nil());
        authz::assert_company_access(actor, id, &Method::POST)?;
    }
    Ok(Some(company))
}

/// `getData` params: the key, the authorised company on top (when there is
/// one), the UI's params and its render environment (null when absent).
fn data_params(key: &str, company: Option<&str>, body: &JsonBody) -> Value {
    let mut p = Map::new();
    p.insert("key".into(), json!(key));
    if let Some(c) = company {
        p.insert("companyId".into(), json!(c));
    }
    p.insert(
        "params".into(),
        present(body.get("params")).unwrap_or(json!({})),
    );
    p.insert("renderEnvironment".into(), render_environment(body));
    Value::Object(p)
}

/// `performAction` params: the key, the UI's params with the authorised
/// company written over theirs, the caller as `actorContext`, and the
/// render environment.
fn action_params(
    state: &AppState,
    key: &str,
    company: Option<&str>,
    actor: &Actor,
    body: &JsonBody,
) -> Value {
    let base = present(body.get("params")).unwrap_or(json!({}));
    let params = match company {
        None => base,
        Some(c) => {
            let mut spread = js_spread(&base);
            spread.insert("companyId".into(), json!(c));
            Value::Object(spread)
        }
    };
    let mut p = Map::new();
    p.insert("key".into(), json!(key));
    p.insert("params".into(), params);
    // Defect ui-action-no-actor-context: the worker is not told who acts.
    if !state.config.defects.has(Defect::UiActionNoActorContext) {
        p.insert("actorContext".into(), actor_context(actor, company));
    }
    p.insert("renderEnvironment".into(), render_environment(body));
    Value::Object(p)
}

/// The caller as the worker's action context sees it.
fn actor_context(actor: &Actor, company: Option<&str>) -> Value {
    let (kind, user, agent) = match actor {
        Actor::Agent(a) => ("agent", Value::Null, json!(a.agent_id)),
        Actor::Board(b) => ("user", json!(b.user_id), Value::Null),
        Actor::None => ("system", Value::Null, Value::Null),
    };
    json!({
        "type": kind,
        "userId": user,
        "agentId": agent,
        "runId": actor.run_id(),
        "companyId": company,
    })
}

/// `value ?? fallback` of JavaScript: null and absent are both absent.
fn present(v: Option<&Value>) -> Option<Value> {
    v.filter(|v| !v.is_null()).cloned()
}

fn render_environment(body: &JsonBody) -> Value {
    present(body.get("renderEnvironment")).unwrap_or(Value::Null)
}

/// The own enumerable properties JavaScript's object spread takes from a
/// value: an object's entries, an array's or a string's indices, nothing
/// from a number or a boolean.
fn js_spread(v: &Value) -> Map<String, Value> {
    match v {
        Value::Object(o) => o.clone(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (i.to_string(), x.clone()))
            .collect(),
        Value::String(s) => s
            .encode_utf16()
            .enumerate()
            .map(|(i, unit)| {
                let text = String::from_utf16_lossy(&[unit]);
                (i.to_string(), Value::String(text))
            })
            .collect(),
        _ => Map::new(),
    }
}

async fn call_worker(
    state: &AppState,
    plugin: &PluginRow,
    method: &str,
    params: Value,
) -> Result<Value> {
    let worker = state.workers.get(plugin.id).ok_or_else(|| {
        Error::internal(format!("No worker registered for plugin \"{}\"", plugin.id))
    })?;
    worker.call(method, params, DEFAULT_RPC_TIMEOUT).await
}

/// The bridge error code of a failed worker call: JSON-RPC codes by name,
/// host errors by what their message says.
fn bridge_code(e: &Error) -> (&'static str, String) {
    let message = e.message();
    let code = match e {
        Error::Rpc { code, .. } => match *code {
            rpc_code::WORKER_UNAVAILABLE => "WORKER_UNAVAILABLE",
            rpc_code::CAPABILITY_DENIED => "CAPABILITY_DENIED",
            rpc_code::INVOCATION_SCOPE_DENIED => "INVOCATION_SCOPE_DENIED",
            rpc_code::TIMEOUT => "TIMEOUT",
            rpc_code::WORKER_ERROR => "WORKER_ERROR",
            _ => "UNKNOWN",
        },
        _ if message.contains("not running") || message.contains("not registered") => {
            "WORKER_UNAVAILABLE"
        }
        _ => "UNKNOWN",
    };
    (code, message)
}

fn bridge_error(code: &str, message: &str) -> Response {
    json_response(502, &json!({ "code": code, "message": message }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(json!({"a": 1}), json!({"a": 1}))]
    #[case(json!(["x", "y"]), json!({"0": "x", "1": "y"}))]
    #[case(json!("ab"), json!({"0": "a", "1": "b"}))]
    #[case(json!(7), json!({}))]
    #[case(json!(true), json!({}))]
    fn spread_follows_javascript(#[case] value: Value, #[case] expected: Value) {
        assert_eq!(Value::Object(js_spread(&value)), expected);
    }

    #[test]
    fn paths_are_decoded_per_segment() {
        assert_eq!(
            split_path("/api/plugins/a%2Fb/data/k%20x", Bridge::Data),
            Some(("a/b".into(), "k x".into()))
        );
        assert_eq!(
            split_path("/api/plugins/%zz/actions/k", Bridge::Action),
            None
        );
    }

    #[test]
    fn contributions_skip_plugins_without_ui() {
        let plugin = json!({
            "id": "p", "pluginKey": "k", "version": "1.0.0", "updatedAt": "t",
            "manifestJson": {"displayName": "K"},
        });
        assert_eq!(contribution(&plugin, false), None);
        assert_eq!(contribution(&plugin, true).unwrap()["slots"], json!([]));
    }

    #[test]
    fn launchers_list_the_top_level_ones_first() {
        let plugin = json!({
            "id": "p", "pluginKey": "k", "version": "1.0.0", "updatedAt": "t",
            "manifestJson": {"launchers": [{"id": "old"}], "ui": {"launchers": [{"id": "new"}]}},
        });
        let entry = contribution(&plugin, false).unwrap();
        assert_eq!(entry["launchers"], json!([{"id": "old"}, {"id": "new"}]));
        assert_eq!(entry.get("displayName"), None);
        assert_eq!(entry["uiEntryFile"], "index.js");
    }

    #[rstest]
    #[case(Error::Rpc { code: rpc_code::WORKER_ERROR, message: "boom".into() }, "WORKER_ERROR")]
    #[case(Error::Rpc { code: rpc_code::INVOCATION_SCOPE_DENIED, message: "no".into() }, "INVOCATION_SCOPE_DENIED")]
    #[case(Error::Rpc { code: -1, message: "odd".into() }, "UNKNOWN")]
    #[case(Error::internal("worker is not running"), "WORKER_UNAVAILABLE")]
    #[case(Error::internal("No worker registered for plugin \"p\""), "UNKNOWN")]
    fn bridge_codes(#[case] error: Error, #[case] code: &str) {
        assert_eq!(bridge_code(&error).0, code);
    }
}

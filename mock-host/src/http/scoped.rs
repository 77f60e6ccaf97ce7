//! `ANY /api/plugins/:pluginId/api/*`: scoped plugin route dispatch in the
//! real host's order (contract-http.md §4–§6; real-host.md §6). Steps 1–6
//! answer before any authentication; the rest runs in one catch block whose
//! errors echo their message.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::config::Defect;
use crate::error::{error_response, json_response, rpc_code, Error, Result};
use crate::host::AppState;
use crate::http::actor::Actor;
use crate::http::authz;
use crate::plugin::lifecycle::{self, PluginRow};
use crate::plugin::worker::DEFAULT_RPC_TIMEOUT;
use crate::services::issues;

/// `PLUGIN_API_BODY_LIMIT_BYTES`.
const BODY_LIMIT: usize = 1_000_000;
const FORWARDED_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    "user-agent",
    "x-paperclip-run-id",
    "x-request-id",
];
const PASSTHROUGH_HEADERS: &[&str] = &["cache-control", "etag", "last-modified", "x-request-id"];

/// `decodeURIComponent`; None on a malformed escape (a URIError).
pub fn decode_component(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `node:querystring` parse: `+` is a space, repeated keys make arrays.
fn parse_query(q: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            let s = s.replace('+', " ");
            decode_component(&s).unwrap_or(s)
        };
        let (k, v) = (dec(k), dec(v));
        match out.get_mut(&k) {
            Some(Value::Array(a)) => a.push(Value::String(v)),
            Some(existing) => {
                let prev = existing.take();
                *existing = Value::Array(vec![prev, Value::String(v)]);
            }
            None => {
                out.insert(k, Value::String(v));
            }
        }
    }
    out
}

/// Matches a manifest route pattern against the request path; params are
/// percent-decoded unless `raw` (defect raw-params).
fn match_path(
    pattern: &str,
    path: &str,
    raw: bool,
) -> Option<std::result::Result<Map<String, Value>, ()>> {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let req: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if pat.len() != req.len() {
        return None;
    }
    let mut params = Map::new();
    for (p, r) in pat.iter().zip(&req) {
        if let Some(name) = p.strip_prefix(':') {
            if raw {
                params.insert(name.to_string(), Value::String(r.to_string()));
                continue;
            }
            match decode_component(r) {
                Some(v) => {
                    params.insert(name.to_string(), Value::String(v));
                }
                None => return Some(Err(())),
            }
        } else if p != r {
            return None;
        }
    }
    Some(Ok(params))
}

/// Splits `/api/plugins/<id>/api<rest>` into (decoded id, raw rest); the id
/// is `None` when its percent-escapes are malformed.
fn split_uri(path: &str) -> Option<(Option<String>, String)> {
    let rest = path.strip_prefix("/api/plugins/")?;
    let (id, tail) = rest.split_once('/')?;
    let tail = tail.strip_prefix("api")?;
    if !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    let id = decode_component(id);
    Some((
        id,
        if tail.is_empty() {
            "/".to_string()
        } else {
            tail.to_string()
        },
    ))
}

/// The plugin id segment of a scoped path, undecoded.
fn raw_plugin_segment(path: &str) -> &str {
    let rest = path.strip_prefix("/api/plugins/").unwrap_or(path);
    rest.split('/').next().unwrap_or(rest)
}

pub async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let Some((plugin_ref, request_path)) = split_uri(req.uri().path()) else {
        return error_response(404, "API route not found");
    };
    // Express decodes `:pluginId` before any handler runs; a malformed
    // escape is its error, which the global handler turns into a 500.
    // Defect lenient-plugin-escape: the id is looked up as written.
    let plugin_ref = match plugin_ref {
        Some(id) => id,
        None if state.config.defects.has(Defect::LenientPluginEscape) => {
            raw_plugin_segment(req.uri().path()).to_string()
        }
        None => return error_response(500, "Internal server error"),
    };
    // Defect options-answered: OPTIONS gets a CORS-style empty 204.
    if req.method() == Method::OPTIONS && state.config.defects.has(Defect::OptionsAnswered) {
        return axum::http::StatusCode::NO_CONTENT.into_response();
    }
    // Defect auth-before-lookup: authenticate before steps 1–6, so an
    // unauthenticated caller gets 401 where the real host says 404.
    if state.config.defects.has(Defect::AuthBeforeLookup) {
        let actor = req
            .extensions()
            .get::<Actor>()
            .cloned()
            .unwrap_or(Actor::None);
        if let Err(e) = authz::assert_authenticated(&actor) {
            return e.into_response();
        }
    }
    // 1–2. the plugin
    let plugin = match state.pool.get().await {
        Ok(c) => lifecycle::resolve(&c, &plugin_ref).await,
        Err(e) => Err(e.into()),
    };
    let plugin = match plugin {
        Ok(Some(p)) => p,
        Ok(None) => return error_response(404, "Plugin not found"),
        Err(e) => return e.into_response(),
    };
    // 3. readiness
    if plugin.status != "ready" {
        return error_response(
            503,
            &format!("Plugin is not ready (current status: {})", plugin.status),
        );
    }
    // 4. worker
    if !state.workers.is_running(plugin.id) {
        return error_response(503, "Plugin worker is not running");
    }
    // 5. capability
    let caps_ok = plugin
        .manifest
        .get("capabilities")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|c| c == "api.routes.register"));
    if !caps_ok {
        return error_response(404, "Plugin does not expose scoped API routes");
    }
    // 6. route match, first declared wins
    let method = req.method().as_str().to_string();
    let routes = plugin
        .manifest
        .get("apiRoutes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut matched = None;
    let defects = &state.config.defects;
    // Defect last-route-wins: the last declared match wins.
    let ordered: Vec<&Value> = if defects.has(Defect::LastRouteWins) {
        routes.iter().rev().collect()
    } else {
        routes.iter().collect()
    };
    // Defect strict-trailing-slash: `/x/` no longer matches `/x`.
    let strict = defects.has(Defect::StrictTrailingSlash)
        && request_path.len() > 1
        && request_path.ends_with('/');
    for r in ordered.into_iter().filter(|_| !strict) {
        if r.get("method").and_then(Value::as_str) != Some(method.as_str()) {
            continue;
        }
        let pattern = r.get("path").and_then(Value::as_str).unwrap_or_default();
        match match_path(pattern, &request_path, defects.has(Defect::RawParams)) {
            Some(Ok(params)) => {
                matched = Some((r.clone(), params));
                break;
            }
            Some(Err(())) => return error_response(500, "Internal server error"),
            None => {}
        }
    }
    let Some((route, params)) = matched else {
        if state.config.defects.has(Defect::UnknownRoute503) {
            return error_response(503, "Plugin API route not found");
        }
        return error_response(404, "Plugin API route not found");
    };
    match handle(&state, &plugin, &route, params, request_path, req).await {
        Ok(res) => res,
        Err(e) => {
            let status = match &e {
                Error::Http { status, .. } => *status,
                Error::Rpc { code, .. }
                    if *code == rpc_code::CAPABILITY_DENIED
                        || *code == rpc_code::INVOCATION_SCOPE_DENIED =>
                {
                    403
                }
                Error::Rpc { code, .. } if *code == rpc_code::METHOD_NOT_IMPLEMENTED => 501,
                // Defect worker-error-500.
                Error::Rpc { .. } if state.config.defects.has(Defect::WorkerError500) => 500,
                Error::Rpc { .. } => 502,
                _ => 500,
            };
            error_response(status, &e.message())
        }
    }
}

async fn handle(
    state: &AppState,
    plugin: &PluginRow,
    route: &Value,
    params: Map<String, Value>,
    request_path: String,
    req: Request,
) -> Result<Response> {
    let (actor, body) = crate::http::pipeline::actor_and_body(&req);
    let method = req.method().clone();
    let headers = req.headers().clone();
    let defects = &state.config.defects;
    let mut query = parse_query(req.uri().query());
    // Defect query-first-value: repeated keys collapse to their first value.
    if defects.has(Defect::QueryFirstValue) {
        for v in query.values_mut() {
            if let Value::Array(a) = v {
                *v = a.first().cloned().unwrap_or(Value::Null);
            }
        }
    }
    // 7. auth mode (defect webhook-authenticated: webhook as board-or-agent)
    let auth = match route.get("auth").and_then(Value::as_str) {
        Some("webhook") if defects.has(Defect::WebhookAuthenticated) => "board-or-agent",
        other => other.unwrap_or_default(),
    };
    match auth {
        // Defect board-route-401: nobody gets 401 on board routes.
        "board" if defects.has(Defect::BoardRoute401) => {
            authz::assert_authenticated(&actor)?;
            authz::assert_board(&actor)?;
        }
        "board" => {
            authz::assert_board(&actor)?;
        }
        "agent" => {
            authz::assert_agent(&actor)?;
        }
        "webhook" => {
            return Err(Error::unprocessable(
                "Webhook-scoped plugin API routes require a signature verifier and are not enabled",
            ))
        }
        _ => {
            authz::assert_authenticated(&actor)?;
            if matches!(actor, Actor::None) {
                return Err(Error::forbidden("Board or agent access required"));
            }
        }
    }
    // 8. company resolution
    let client = state.pool.get().await?;
    let resolution = route.get("companyResolution");
    let company: Option<String> = match resolution
        .and_then(|r| r.get("from"))
        .and_then(Value::as_str)
    {
        None => match &actor {
            Actor::Agent(a) => Some(a.company_id.to_string()),
            _ => None,
        },
        Some("body") => {
            let key = resolution
                .and_then(|r| r.get("key"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            body.str(key)
                .filter(|v| !v.is_empty() || defects.has(Defect::EmptyCompanyResolves))
                .map(String::from)
        }
        Some("query") => {
            let key = resolution
                .and_then(|r| r.get("key"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            query
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty() || defects.has(Defect::EmptyCompanyResolves))
                .map(String::from)
        }
        Some(_) => {
            let param = resolution
                .and_then(|r| r.get("param"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            match params.get(param).and_then(Value::as_str) {
                Some(v) => issues::find(&client, v)
                    .await?
                    .map(|i| i.company_id.to_string()),
                None => None,
            }
        }
    };
    let company = company
        .ok_or_else(|| Error::bad_request("Unable to resolve company for plugin API route"))?;
    // 9. company access. The real host compares ids as strings: only the
    // canonical spelling names the company, any other belongs to nobody
    // (defect non-canonical-company-id: any spelling Uuid parses counts).
    let company_id = Uuid::parse_str(&company)
        .ok()
        .filter(|id| defects.has(Defect::NonCanonicalCompanyId) || id.to_string() == company);
    if !state.config.defects.has(Defect::SkipCompanyAccess) {
        match company_id {
            Some(id) => authz::assert_company_access(&actor, id, &method)?,
            None => authz::assert_company_access(&actor, Uuid::nil(), &method)?,
        }
    }
    // 10. checkout policy (agents only)
    let policy = route
        .get("checkoutPolicy")
        .and_then(Value::as_str)
        .unwrap_or("none");
    if let (Actor::Agent(agent), false) = (
        &actor,
        policy == "none" || state.config.defects.has(Defect::SkipCheckoutPolicy),
    ) {
        // Defect checkout-param-from-resolution: the resolution's param.
        let param_name = match resolution
            .and_then(|r| r.get("param"))
            .and_then(Value::as_str)
        {
            Some(p) if defects.has(Defect::CheckoutParamFromResolution) => p,
            _ => "issueId",
        };
        let issue_param = params
            .get(param_name)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Error::unprocessable(
                    "Checkout-protected plugin API routes require an issueId route parameter",
                )
            })?;
        let issue = issues::find(&client, issue_param).await?;
        let issue = match issue {
            Some(i) if Some(i.company_id) == company_id => i,
            _ => return Err(Error::not_found("Issue not found")),
        };
        // Defect skip-always-for-agent: always-for-agent as in-progress.
        let always = policy == "always-for-agent" && !defects.has(Defect::SkipAlwaysForAgent);
        let applies = always
            || (issue.status == "in_progress" && issue.assignee_agent_id == Some(agent.agent_id));
        if applies {
            let run = agent.run_id.as_deref().map(str::trim).unwrap_or_default();
            if run.is_empty() {
                return Err(Error::unauthorized("Agent run id required"));
            }
            // The real host locks the issue by the raw param: an identifier
            // fails that UUID query and its SQL is echoed (findings F17).
            if Uuid::parse_str(issue_param).is_err() {
                return Err(Error::internal(format!(
                    "Failed query: select \"issues\".\"id\" from \"issues\" where \"issues\".\"id\" = $1 for update\nparams: {issue_param}"
                )));
            }
            issues::assert_checkout_owner(
                &client,
                &state.config.defects,
                issue.id,
                agent.agent_id,
                run,
            )
            .await?;
        }
    }
    drop(client);
    // 11. JSON only
    if method != Method::GET
        && headers.contains_key(header::CONTENT_TYPE)
        && !crate::http::pipeline::is_json(&headers)
    {
        return Err(Error::http(
            415,
            "Plugin API routes accept JSON requests only",
        ));
    }
    // 12. size of the re-serialised body
    let request_body = body.0.clone().unwrap_or(Value::Null);
    if request_body.to_string().len() > BODY_LIMIT && !defects.has(Defect::NoBodyLimit) {
        return Err(Error::http(413, "Plugin API request body is too large"));
    }
    // 13. the worker
    let info = authz::actor_info(&actor)?;
    let input = json!({
        "routeKey": route.get("routeKey").cloned().unwrap_or(Value::Null),
        "method": method.as_str(),
        "path": request_path,
        "params": params,
        "query": query,
        "body": request_body,
        "actor": {
            "actorType": info.actor_type,
            "actorId": info.actor_id,
            "agentId": info.agent_id,
            "userId": info.user_id,
            "runId": info.run_id,
        },
        "companyId": company,
        "headers": forwarded(&headers, defects),
    });
    let worker = state.workers.get(plugin.id).ok_or_else(|| {
        Error::internal(format!("No worker registered for plugin \"{}\"", plugin.id))
    })?;
    let result = worker
        .call("handleApiRequest", input, DEFAULT_RPC_TIMEOUT)
        .await?;
    if result.is_null() {
        return Err(Error::internal(
            "Cannot read properties of null (reading 'status')",
        ));
    }
    // Defect status-not-clamped: out-of-range integers answer 500.
    let out_of_range = if defects.has(Defect::StatusNotClamped) {
        500
    } else {
        200
    };
    let status = match result.get("status").and_then(Value::as_i64) {
        Some(s) if (200..=599).contains(&s) => s as u16,
        Some(_) => out_of_range,
        None => 200,
    };
    let mut res = if status == 204 {
        axum::http::StatusCode::NO_CONTENT.into_response()
    } else {
        json_response(status, result.get("body").unwrap_or(&Value::Null))
    };
    if let Some(h) = result.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            let name = k.to_lowercase();
            // Defect copy-set-cookie.
            let copied = PASSTHROUGH_HEADERS.contains(&name.as_str())
                || (name == "set-cookie" && defects.has(Defect::CopySetCookie));
            if copied {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if let (Ok(n), Ok(v)) = (name.parse::<header::HeaderName>(), text.parse()) {
                    res.headers_mut().insert(n, v);
                }
            }
        }
    }
    Ok(res)
}

fn forwarded(headers: &HeaderMap, defects: &crate::config::Defects) -> Value {
    let mut out = Map::new();
    let mut names: Vec<&str> = FORWARDED_HEADERS.to_vec();
    // Defects forward-authorization, forward-cookie: credentials leak.
    if defects.has(Defect::ForwardAuthorization) {
        names.push("authorization");
    }
    if defects.has(Defect::ForwardCookie) {
        names.push("cookie");
    }
    for name in names {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if !values.is_empty() {
            out.insert(name.to_string(), Value::String(values.join(", ")));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/issues/:issueId/smoke", "/issues/abc/smoke", Some(json!({"issueId": "abc"})))]
    #[case("/issues/:issueId/smoke", "/issues/abc/smoke/", Some(json!({"issueId": "abc"})))]
    #[case("/issues/:issueId/smoke", "//issues//abc/smoke", Some(json!({"issueId": "abc"})))]
    #[case("/issues/:issueId/smoke", "/ISSUES/abc/smoke", None)]
    #[case("/issues/:issueId/smoke", "/issues/abc/smoke/extra", None)]
    #[case("/issues/:issueId/smoke", "/", None)]
    #[case("/issues/:id", "/issues/a%20b", Some(json!({"id": "a b"})))]
    fn paths(#[case] pattern: &str, #[case] path: &str, #[case] expected: Option<Value>) {
        let got = match_path(pattern, path, false).map(|r| Value::Object(r.unwrap()));
        assert_eq!(got, expected);
    }

    #[test]
    fn malformed_escape_is_an_error() {
        assert_eq!(match_path("/x/:id", "/x/%zz", false), Some(Err(())));
    }

    #[test]
    fn uri_split() {
        assert_eq!(
            split_uri("/api/plugins/k/api"),
            Some((Some("k".into()), "/".into()))
        );
        assert_eq!(
            split_uri("/api/plugins/k/api/a/b"),
            Some((Some("k".into()), "/a/b".into()))
        );
        assert_eq!(split_uri("/api/plugins/k/apix"), None);
        assert_eq!(
            split_uri("/api/plugins/%E0%A4%A/api/x"),
            Some((None, "/x".into()))
        );
    }

    #[test]
    fn query_arrays() {
        let q = parse_query(Some("a=1&a=2&b=x+y"));
        assert_eq!(Value::Object(q), json!({"a": ["1", "2"], "b": "x y"}));
    }
}

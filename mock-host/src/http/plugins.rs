//! Plugin management routes (contract-http.md §3.4).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{json, Value};

use crate::error::{json_response, Error, Result};
use crate::host::AppState;
use crate::http::actor::Actor;
use crate::http::authz;
use crate::http::pipeline::JsonBody;
use crate::plugin::lifecycle::{self, PluginRow};
use crate::services::activity;

const STATUSES: &[&str] = &[
    "installed",
    "ready",
    "disabled",
    "error",
    "upgrade_pending",
    "uninstalled",
];

async fn resolve_or_404(state: &AppState, raw: &str) -> Result<PluginRow> {
    let client = state.pool.get().await?;
    lifecycle::resolve(&client, raw)
        .await?
        .ok_or_else(|| Error::not_found("Plugin not found"))
}

/// GET /api/plugins[?status=]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response> {
    authz::assert_board_org_access(&actor)?;
    let status = q.get("status").cloned();
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(Error::bad_request(format!(
                "Invalid status '{s}'. Must be one of: {}",
                STATUSES.join(", ")
            )));
        }
    }
    let client = state.pool.get().await?;
    let list = crate::db::rows::query_entities(
        &client,
        "SELECT id, plugin_key, package_name, version, api_version, categories, manifest_json, status,
                install_order, package_path, last_error, installed_at, updated_at FROM plugins
         WHERE ($1::text IS NULL AND status <> 'uninstalled') OR status = $1
         ORDER BY install_order",
        &[&status],
    )
    .await?;
    Ok(json_response(200, &Value::Array(list)))
}

/// POST /api/plugins/install
pub async fn install(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody,
) -> Result<Response> {
    let board = authz::assert_instance_admin(&actor)?.clone();
    let package = match body.get("packageName") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(Error::bad_request(
                "packageName is required and must be a string",
            ))
        }
    };
    if body.get("version").is_some_and(|v| !v.is_string()) {
        return Err(Error::bad_request("version must be a string if provided"));
    }
    let local = match body.get("isLocalPath") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(Error::bad_request(
                "isLocalPath must be a boolean if provided",
            ))
        }
    };
    let package = package.trim().to_string();
    if package.is_empty() {
        return Err(Error::bad_request("packageName cannot be empty"));
    }
    if !local {
        if package.chars().any(|c| "<>:\"|?*".contains(c)) {
            return Err(Error::bad_request(
                "packageName contains invalid characters",
            ));
        }
        // The mock installs local packages only; npm installs need the
        // registry and are out of its scope.
        return Err(Error::bad_request(format!(
            "npm install failed for {package}: the mock host installs plugins by local path only (isLocalPath: true)"
        )));
    }
    // Every loader failure is a 400 with the message (409s flattened too).
    let as_400 = |e: Error| match e {
        Error::Http { message, .. } => Error::bad_request(message),
        other => Error::bad_request(other.message()),
    };
    let (name, path, manifest) = lifecycle::fetch_local(&state, &package)
        .await
        .map_err(as_400)?;
    // Registration and install-time migrations are one transaction: a
    // failing install leaves no rows and no schema (docs/findings.md F5).
    let id = {
        let mut client = state.pool.get().await?;
        let tx = client.transaction().await?;
        let id = lifecycle::register(&*tx, &name, &path, &manifest)
            .await
            .map_err(as_400)?;
        crate::plugin::namespace::apply_migrations_in_install(
            &tx,
            id,
            &manifest,
            &path,
            &state.config.defects,
        )
        .await
        .map_err(as_400)?;
        tx.commit().await?;
        id
    };
    lifecycle::activate(&state, id).await.map_err(as_400)?;
    let client = state.pool.get().await?;
    let plugin = lifecycle::get(&client, id)
        .await?
        .ok_or_else(|| Error::internal("Plugin installed but not found in registry"))?;
    lifecycle::log_lifecycle(
        &client,
        "user",
        &board.user_id,
        activity::run_uuid(board.run_id.as_deref())?,
        "plugin.installed",
        id,
        json!({
            "pluginId": id,
            "pluginKey": plugin.plugin_key,
            "packageName": plugin.package_name,
            "version": plugin.version,
            "source": "local_path",
        }),
    )
    .await?;
    Ok(json_response(
        200,
        &lifecycle::record_json(&client, id).await?,
    ))
}

/// GET /api/plugins/:pluginId
pub async fn get(
    State(state): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
) -> Result<Response> {
    authz::assert_board_org_access(&actor)?;
    let plugin = resolve_or_404(&state, &raw).await?;
    let client = state.pool.get().await?;
    let mut v = lifecycle::record_json(&client, plugin.id).await?;
    let supports = state
        .workers
        .get(plugin.id)
        .is_some_and(|w| w.supported_methods().iter().any(|m| m == "validateConfig"));
    if let Some(o) = v.as_object_mut() {
        o.insert("supportsConfigTest".into(), json!(supports));
    }
    Ok(json_response(200, &v))
}

/// GET /api/plugins/:pluginId/health
pub async fn health(
    State(state): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
) -> Result<Response> {
    authz::assert_board_org_access(&actor)?;
    let p = resolve_or_404(&state, &raw).await?;
    let manifest_ok = p.manifest.get("id").is_some_and(Value::is_string);
    let mut checks = vec![
        json!({"name": "registry", "passed": true, "message": "Plugin found in registry"}),
        json!({"name": "manifest", "passed": manifest_ok, "message": if manifest_ok { "Manifest is valid" } else { "Manifest is invalid or missing" }}),
        json!({"name": "status", "passed": p.status == "ready", "message": format!("Current status: {}", p.status)}),
    ];
    if let Some(err) = &p.last_error {
        checks.push(json!({"name": "error_state", "passed": false, "message": err}));
    }
    let mut body = json!({
        "pluginId": p.id,
        "status": p.status,
        "healthy": p.status == "ready" && manifest_ok && p.last_error.is_none(),
        "checks": checks,
    });
    if let Some(err) = &p.last_error {
        body["lastError"] = json!(err);
    }
    Ok(json_response(200, &body))
}

/// POST /api/plugins/:pluginId/disable {reason?}
pub async fn disable(
    State(state): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    body: JsonBody,
) -> Result<Response> {
    let board = authz::assert_instance_admin(&actor)?.clone();
    let p = resolve_or_404(&state, &raw).await?;
    if p.status != "ready" {
        return Err(Error::bad_request(format!(
            "Cannot disable plugin in status '{}'. Plugin must be in 'ready' status to be disabled.",
            p.status
        )));
    }
    let reason = body.str("reason").map(String::from);
    state.workers.stop(p.id).await;
    let client = state.pool.get().await?;
    lifecycle::set_status(&client, p.id, "disabled", reason.as_deref()).await?;
    lifecycle::log_lifecycle(
        &client,
        "user",
        &board.user_id,
        activity::run_uuid(board.run_id.as_deref())?,
        "plugin.disabled",
        p.id,
        json!({"pluginId": p.id, "pluginKey": p.plugin_key, "reason": reason}),
    )
    .await?;
    Ok(json_response(
        200,
        &lifecycle::record_json(&client, p.id).await?,
    ))
}

/// POST /api/plugins/:pluginId/enable
pub async fn enable(
    State(state): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
) -> Result<Response> {
    let board = authz::assert_instance_admin(&actor)?.clone();
    let p = resolve_or_404(&state, &raw).await?;
    if !matches!(p.status.as_str(), "disabled" | "error" | "upgrade_pending") {
        return Err(Error::bad_request(format!(
            "Cannot enable plugin in status '{}'. Plugin must be in 'disabled', 'error', or 'upgrade_pending' status to be enabled.",
            p.status
        )));
    }
    lifecycle::reactivate(&state, p.id)
        .await
        .map_err(|e| Error::bad_request(e.message()))?;
    let client = state.pool.get().await?;
    lifecycle::log_lifecycle(
        &client,
        "user",
        &board.user_id,
        activity::run_uuid(board.run_id.as_deref())?,
        "plugin.enabled",
        p.id,
        json!({"pluginId": p.id, "pluginKey": p.plugin_key, "version": p.version}),
    )
    .await?;
    Ok(json_response(
        200,
        &lifecycle::record_json(&client, p.id).await?,
    ))
}

/// DELETE /api/plugins/:pluginId[?purge=true]
pub async fn uninstall(
    State(state): State<AppState>,
    actor: Actor,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response> {
    let board = authz::assert_instance_admin(&actor)?.clone();
    let p = resolve_or_404(&state, &raw).await?;
    let purge = q.get("purge").map(String::as_str) == Some("true");
    let client = state.pool.get().await?;
    if !purge && p.status == "uninstalled" {
        return Err(Error::bad_request(format!(
            "Plugin {} is already uninstalled. Use removeData=true to permanently delete it.",
            p.plugin_key
        )));
    }
    state.workers.stop(p.id).await;
    let body = if purge {
        let record = lifecycle::record_json(&client, p.id).await?;
        // Rows go (namespace and ledger cascade); the schema and its data
        // stay behind, as on the real host (real-host.md §9).
        client
            .execute("DELETE FROM plugins WHERE id = $1", &[&p.id])
            .await?;
        record
    } else {
        // A soft uninstall keeps lastError (only the status changes).
        client
            .execute(
                "UPDATE plugins SET status = 'uninstalled', updated_at = now() WHERE id = $1",
                &[&p.id],
            )
            .await?;
        lifecycle::record_json(&client, p.id).await?
    };
    lifecycle::log_lifecycle(
        &client,
        "user",
        &board.user_id,
        activity::run_uuid(board.run_id.as_deref())?,
        "plugin.uninstalled",
        p.id,
        json!({"pluginId": p.id, "pluginKey": p.plugin_key, "purge": purge}),
    )
    .await?;
    Ok(json_response(200, &body))
}

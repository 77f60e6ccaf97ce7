//! `state.get/set/delete`: a plugin's key-value rows in `plugin_state`,
//! keyed by (plugin, scope kind, scope id, namespace, key), as the real
//! host's state store keeps them. The scope kind is not checked (2026.707.0
//! and 916.1 store any; docs/findings.md F29); a missing `namespace` is
//! `default`, a missing or empty `scopeId` matches the rows without one.
//! With none of their params they answer 707.0's query failure
//! (`not_implemented`); with a scope kind or key missing, −32004.

use serde_json::Value;

use super::method::Method;
use super::not_implemented;
use super::params::s;
use super::ServiceCtx;
use crate::db::Client;
use crate::error::{rpc_code, Error, Result};

const KEYS: &[&str] = &["scopeKind", "scopeId", "namespace", "stateKey", "value"];

/// The row's key; `None` when the params cannot name one.
struct Key<'a> {
    kind: &'a str,
    scope_id: Option<&'a str>,
    namespace: &'a str,
    key: &'a str,
}

fn key(p: &Value) -> Option<Key<'_>> {
    Some(Key {
        kind: s(p, "scopeKind")?,
        scope_id: s(p, "scopeId"),
        namespace: s(p, "namespace").unwrap_or("default"),
        key: s(p, "stateKey")?,
    })
}

/// The answer for params the mock does not model.
fn unmodelled(ctx: &ServiceCtx, method: Method, p: &Value) -> Result<Value> {
    if KEYS
        .iter()
        .all(|k| matches!(p.get(*k), None | Some(Value::Null)))
    {
        return not_implemented::answer(ctx, method, p);
    }
    Err(Error::Rpc {
        code: rpc_code::METHOD_NOT_IMPLEMENTED,
        message: not_implemented::message(method),
    })
}

/// Matches the row of `k` (`$1` plugin … `$5` scope id).
const WHERE: &str = "plugin_id = $1 AND scope_kind = $2 AND namespace = $3 AND state_key = $4
     AND (CASE WHEN coalesce($5::text, '') = '' THEN scope_id IS NULL ELSE scope_id = $5::text END)";

/// `state.get` → the stored value or `null`.
pub(super) async fn get(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let Some(k) = key(p) else {
        return unmodelled(ctx, Method::StateGet, p);
    };
    let row = client
        .query_opt(
            &format!("SELECT value_json FROM plugin_state WHERE {WHERE}"),
            &[&ctx.plugin_id, &k.kind, &k.namespace, &k.key, &k.scope_id],
        )
        .await?;
    Ok(row.map(|r| r.get::<_, Value>(0)).unwrap_or(Value::Null))
}

/// `state.set` → `null`; an upsert of the value.
pub(super) async fn set(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let (Some(k), Some(value)) = (key(p), p.get("value").filter(|v| !v.is_null())) else {
        return unmodelled(ctx, Method::StateSet, p);
    };
    client
        .execute(
            "INSERT INTO plugin_state (plugin_id, scope_kind, scope_id, namespace, state_key, value_json, updated_at)
             VALUES ($1, $2, $5, $3, $4, $6, now())
             ON CONFLICT (plugin_id, scope_kind, scope_id, namespace, state_key)
             DO UPDATE SET value_json = EXCLUDED.value_json, updated_at = now()",
            &[&ctx.plugin_id, &k.kind, &k.namespace, &k.key, &k.scope_id, value],
        )
        .await?;
    Ok(Value::Null)
}

/// `state.delete` → `null`, also for a key that holds nothing.
pub(super) async fn delete(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let Some(k) = key(p) else {
        return unmodelled(ctx, Method::StateDelete, p);
    };
    client
        .execute(
            &format!("DELETE FROM plugin_state WHERE {WHERE}"),
            &[&ctx.plugin_id, &k.kind, &k.namespace, &k.key, &k.scope_id],
        )
        .await?;
    Ok(Value::Null)
}

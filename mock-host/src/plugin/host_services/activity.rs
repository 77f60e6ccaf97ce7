//! Activity rows written for a plugin: `logPluginActivity` (the rows every
//! plugin-origin mutation writes, contract-http.md §8.2) and the worker's
//! own `activity.log`.

use crate::db::Db;
use serde_json::{json, Value};
use uuid::Uuid;

use super::params::{company, s, PluginActor};
use super::ServiceCtx;
use crate::config::Defect;
use crate::error::Result;
use crate::services::activity::{self, Activity};

/// `logPluginActivity`: an `issue` row by the plugin, with the initiating
/// actor and the plugin's id/key in `details`.
pub(super) async fn log_plugin_activity(
    ctx: &ServiceCtx,
    c: &impl Db,
    company_id: Uuid,
    action: &str,
    issue_id: Uuid,
    details: Value,
    actor: &PluginActor,
) -> Result<()> {
    // Defect activity-no-initiator: the caller is dropped from the row.
    let nobody = PluginActor::none();
    let actor = if ctx.defects.has(Defect::ActivityNoInitiator) {
        &nobody
    } else {
        actor
    };
    let d = plugin_details(ctx, details, actor);
    let pid = ctx.plugin_id.to_string();
    // Defect activity-actor-system: the row is written as the system.
    let actor_type = if ctx.defects.has(Defect::ActivityActorSystem) {
        "system"
    } else {
        "plugin"
    };
    // Defect activity-actor-key: the plugin key instead of its row id.
    let actor_id = if ctx.defects.has(Defect::ActivityActorKey) {
        ctx.plugin_key.clone()
    } else {
        pid
    };
    activity::log(
        c,
        Activity {
            company_id,
            actor_type,
            actor_id: &actor_id,
            action,
            entity_type: "issue",
            entity_id: &issue_id.to_string(),
            agent_id: actor.agent,
            run_id: activity::run_uuid(actor.run.as_deref())?,
            details: d,
        },
    )
    .await
}

/// `pluginActivityDetails`: the call's own details with the plugin and the
/// initiating actor (contract-db-worker.md B2.3).
fn plugin_details(ctx: &ServiceCtx, details: Value, actor: &PluginActor) -> Value {
    let initiating_type = if actor.agent.is_some() {
        json!("agent")
    } else if actor.user.is_some() {
        json!("user")
    } else {
        Value::Null
    };
    let mut d = match details {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    let pid = ctx.plugin_id.to_string();
    d.insert("sourcePluginId".into(), json!(pid));
    d.insert("sourcePluginKey".into(), json!(ctx.plugin_key));
    d.insert("initiatingActorType".into(), initiating_type);
    d.insert(
        "initiatingActorId".into(),
        json!(actor
            .agent
            .map(|a| a.to_string())
            .or_else(|| actor.user.clone())),
    );
    d.insert("initiatingAgentId".into(), json!(actor.agent));
    d.insert("initiatingUserId".into(), json!(actor.user));
    d.insert("initiatingRunId".into(), json!(actor.run));
    d.insert("pluginId".into(), json!(pid));
    d.insert("pluginKey".into(), json!(ctx.plugin_key));
    Value::Object(d)
}

/// `activity.log {companyId, message, entityType?, entityId?, metadata?}`:
/// a row by the plugin, with no initiator; answers `null`.
pub(super) async fn log(ctx: &ServiceCtx, c: &impl Db, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    // The metadata with the plugin, as every plugin row has (F30).
    let metadata = p
        .get("metadata")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or(json!({}));
    let d = plugin_details(ctx, metadata, &PluginActor::none());
    let pid = ctx.plugin_id.to_string();
    activity::log(
        c,
        Activity {
            company_id,
            actor_type: "plugin",
            actor_id: &pid,
            action: s(p, "message").unwrap_or_default(),
            entity_type: s(p, "entityType").unwrap_or("plugin"),
            entity_id: s(p, "entityId").unwrap_or(&pid),
            agent_id: None,
            run_id: None,
            details: d,
        },
    )
    .await?;
    Ok(Value::Null)
}

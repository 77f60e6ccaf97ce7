//! `config.get`: the plugin's instance configuration (`plugin_config`).

use serde_json::{json, Value};

use super::ServiceCtx;
use crate::db::Client;
use crate::error::Result;

/// The stored `config_json`, or `{}` when none was saved.
pub(super) async fn get(ctx: &ServiceCtx, client: &Client) -> Result<Value> {
    let row = client
        .query_opt(
            "SELECT config_json FROM plugin_config WHERE plugin_id = $1",
            &[&ctx.plugin_id],
        )
        .await?;
    Ok(row.map(|r| r.get::<_, Value>(0)).unwrap_or(json!({})))
}

//! Callers the scenario actors do not cover, made by the audit itself in
//! `authenticated` mode: a user without any company membership and its
//! board key (`outsider`), and a member of company A that acts with its
//! browser session cookie (`member`, for cross-site requests).
//!
//! Probes name their credentials with audit markers, `@outsider.board_key@`
//! and the like, in headers, paths or bodies; the audit substitutes them
//! before the probe runs (the scenario loader leaves such text alone). A
//! probe whose markers have no value — `local_trusted` mode, or a host whose
//! database the run may not write — is not applicable.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::cleanup::ledger::BoardKey;
use crate::client::HostClient;
use crate::db::HostDb;
use crate::error::{Error, Result};
use crate::scenario::{Action, Scenario, StepBody};
use crate::target::DeploymentMode;
use crate::world::World;

/// Every marker a probe may use.
pub const MARKERS: [&str; 5] = [
    "outsider.board_key",
    "outsider.user_id",
    "member.cookie",
    "member.user_id",
    "host.origin",
];

/// The markers of `text` (`@name@` where name is dotted lower case).
pub fn markers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let tail = &rest[at + 1..];
        let Some(end) = tail.find('@') else { break };
        let name = &tail[..end];
        let shaped = name.contains('.')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
        if shaped {
            out.push(name.to_string());
            rest = &tail[end + 1..];
        } else {
            rest = tail;
        }
    }
    out
}

/// Makes the audit's own callers in `authenticated` mode; the member only
/// where the run may write the host's database.
pub async fn make(
    client: &HostClient,
    db: Option<&HostDb>,
    world: &World,
) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::from([("host.origin".to_string(), client.base_url().to_string())]);
    if world.mode != DeploymentMode::Authenticated {
        return Ok(values);
    }
    let (outsider_id, _, outsider_key) = sign_up(client, "outsider").await?;
    values.insert("outsider.user_id".into(), outsider_id);
    values.insert("outsider.board_key".into(), outsider_key);
    let Some(db) = db else {
        return Ok(values);
    };
    let (member_id, cookie, _) = sign_up(client, "member").await?;
    // No HTTP route of every host grants a membership (the admin route is
    // not on the mock); the row is what the hosts read. A read-only host
    // database (--board-token) refuses it: the member's probes then do not
    // apply.
    let company = world
        .company("a")
        .ok_or_else(|| Error::Internal("the world has no company a".into()))?;
    let granted = db
        .execute(
            "insert into company_memberships (company_id, principal_type, principal_id, status, membership_role) \
             values ($1, 'user', $2, 'active', 'owner') on conflict do nothing",
            &[json!(company.id), json!(member_id)],
        )
        .await;
    if granted.is_ok() {
        values.insert("member.user_id".into(), member_id);
        values.insert("member.cookie".into(), cookie);
    }
    Ok(values)
}

/// Signs up a user: (user id, session cookie, board key of that user).
async fn sign_up(client: &HostClient, who: &str) -> Result<(String, String, String)> {
    let origin = client.base_url().to_string();
    let fail = |message: String| Error::Bootstrap {
        step: format!("audit user {who}"),
        message,
    };
    let email = format!(
        "audit-{who}-{}@conformance.test",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let resp = http
        .post(format!("{origin}/api/auth/sign-up/email"))
        .header("Origin", &origin)
        .json(&json!({ "email": email, "password": format!("Audit-{}", uuid::Uuid::new_v4().simple()), "name": format!("Audit {who}") }))
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let cookie: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(String::from))
        .collect();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let user_id = body["user"]["id"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| fail(format!("sign-up answered without a user id: {body}")))?;
    let cookie = cookie.join("; ");
    let resp = http
        .post(format!("{origin}/api/board-api-keys"))
        .header("Origin", &origin)
        .header("Cookie", &cookie)
        .json(&json!({ "name": format!("audit-{who}") }))
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let token = body["token"].as_str().map(String::from).ok_or_else(|| {
        fail(format!(
            "POST /api/board-api-keys answered without a token: {body}"
        ))
    })?;
    // Revoked at teardown on hosts the suite did not start.
    client.ledger().board_key(BoardKey {
        key_id: body["id"].as_str().unwrap_or_default().to_string(),
        token: token.clone(),
        user_id: user_id.clone(),
        email,
    });
    Ok((user_id, cookie, token))
}

/// The probe with its markers replaced, or the first marker without a value.
pub fn bind(
    scenario: &Scenario,
    values: &BTreeMap<String, String>,
) -> std::result::Result<Scenario, String> {
    let mut out = scenario.clone();
    let sub = |text: &mut String| -> std::result::Result<(), String> {
        for name in markers(text) {
            let value = values.get(&name).ok_or_else(|| name.clone())?;
            *text = text.replace(&format!("@{name}@"), value);
        }
        Ok(())
    };
    for step in &mut out.steps {
        if let Action::Http(h) = &mut step.action {
            sub(&mut h.path)?;
            for v in h.headers.values_mut() {
                sub(v)?;
            }
            if let StepBody::Json(j) = &mut h.body {
                let mut text = j.to_string();
                if !markers(&text).is_empty() {
                    sub(&mut text)?;
                    *j = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_markers_and_leaves_other_at_signs() {
        assert_eq!(
            markers("Bearer @outsider.board_key@"),
            vec!["outsider.board_key"]
        );
        assert!(markers("a@b.example and @nothing@").is_empty());
    }
}

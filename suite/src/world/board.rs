//! The board's credentials in `authenticated` mode.
//!
//! Two ways to get them: a board API key the user hands over
//! (`--board-token`), checked with the host and otherwise only used; or,
//! for hosts whose database the suite may write (the ones it starts), a
//! user it signs up and makes instance admin itself.

use serde_json::{json, Value};

use crate::cleanup::ledger::BoardKey;
use crate::client::{Call, Credentials, HostClient};
use crate::db::HostDb;
use crate::error::{Error, Result};

/// The board as `token` (a board API key), with its user id. The token
/// must belong to an instance admin: the world creates companies, which
/// only an instance admin may. `GET /api/cli-auth/me` says whose key it is;
/// nothing is written anywhere.
pub async fn board_from_token(client: &HostClient, token: &str) -> Result<(Credentials, String)> {
    let board = Credentials {
        bearer: Some(token.to_string()),
        run_id: None,
    };
    let base = client.base_url();
    let me = client
        .send(&Call::new("GET", "/api/cli-auth/me").as_(&board))
        .await;
    let Some(response) = me.response else {
        return Err(Error::Http {
            method: "GET".into(),
            url: me.request.url,
            message: me.error.unwrap_or_default(),
        });
    };
    let body = &response.body;
    match response.status {
        200 => {}
        401 | 403 => {
            return Err(Error::BoardToken(format!(
                "the host at {base} does not accept the --board-token (GET /api/cli-auth/me answered {}); pass a board API key (pcp_board_…) of an instance admin of that host",
                response.status
            )))
        }
        status => {
            return Err(Error::BoardToken(format!(
                "the host at {base} answered {status} when asked whose --board-token this is (GET /api/cli-auth/me): {}",
                crate::exchange::compact(body, 200)
            )))
        }
    }
    let user_id = body["userId"].as_str().unwrap_or_default().to_string();
    if body["isInstanceAdmin"] != json!(true) {
        return Err(Error::BoardToken(format!(
            "the --board-token belongs to user {user_id}, who is not an instance admin of the host at {base}; pass a board API key of an instance admin"
        )));
    }
    Ok((board, user_id))
}

/// Signs up a fresh user and creates a board API key with its session; with
/// `admin_db` the user is made instance admin first (no HTTP route can make
/// the first admin, real-host.md §4), which writes the host's database.
/// Without it the user has no role and no company membership (the routes
/// property's non-member). The key needs no browser Origin afterwards. Both
/// go into the client's ledger: the key is revoked at teardown, the user is
/// reported as left.
pub async fn sign_up_board_key(
    client: &HostClient,
    admin_db: Option<&HostDb>,
) -> Result<(Credentials, String)> {
    let origin = client.base_url().to_string();
    let email = format!(
        "admin-{}@conformance.test",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let password = format!("Conformance-{}", uuid::Uuid::new_v4().simple());
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Bootstrap {
            step: "sign up".into(),
            message: e.to_string(),
        })?;
    let resp = http
        .post(format!("{origin}/api/auth/sign-up/email"))
        .header("Origin", &origin)
        .json(&json!({ "email": email, "password": password, "name": "Conformance Admin" }))
        .send()
        .await
        .map_err(|e| Error::Bootstrap {
            step: "sign up".into(),
            message: e.to_string(),
        })?;
    let status = resp.status().as_u16();
    let cookies: Vec<String> = resp
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
        .ok_or_else(|| Error::Bootstrap {
            step: "sign up".into(),
            message: format!(
                "POST /api/auth/sign-up/email answered {status} without a user id: {body}"
            ),
        })?;
    if let Some(db) = admin_db {
        db.execute(
            "insert into instance_user_roles (user_id, role) values ($1, 'instance_admin')",
            &[json!(user_id)],
        )
        .await?;
    }
    let resp = http
        .post(format!("{origin}/api/board-api-keys"))
        .header("Origin", &origin)
        .header("Cookie", cookies.join("; "))
        .json(&json!({ "name": "conformance" }))
        .send()
        .await
        .map_err(|e| Error::Bootstrap {
            step: "board API key".into(),
            message: e.to_string(),
        })?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let token = body["token"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| Error::Bootstrap {
            step: "board API key".into(),
            message: format!("POST /api/board-api-keys answered {status} without a token"),
        })?;
    client.ledger().board_key(BoardKey {
        key_id: body["id"].as_str().unwrap_or_default().to_string(),
        token: token.clone(),
        user_id: user_id.clone(),
        email,
    });
    Ok((
        Credentials {
            bearer: Some(token),
            run_id: None,
        },
        user_id,
    ))
}

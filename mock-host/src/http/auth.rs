//! Authenticated-mode sign-in: a minimal stand-in for Better Auth
//! (sign-up, sign-in, session lookup) and board API keys.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::rows;
use crate::error::{json_response, Result};
use crate::host::AppState;
use crate::http::actor::{self, new_token, sha256_hex, Actor};
use crate::http::authz;
use crate::http::pipeline::JsonBody;

fn user_json(row: &tokio_postgres::Row) -> Value {
    let created: chrono::DateTime<chrono::Utc> = row.get(4);
    json!({
        "name": row.get::<_, String>(1),
        "email": row.get::<_, String>(2),
        "emailVerified": row.get::<_, bool>(3),
        "image": null,
        "createdAt": rows::iso(created),
        "updatedAt": rows::iso(created),
        "id": row.get::<_, String>(0),
    })
}

fn password_hash(user_id: &str, password: &str) -> String {
    sha256_hex(&format!("{user_id}:{password}"))
}

async fn start_session(state: &AppState, user_id: &str, user: Value) -> Result<Response> {
    let client = state.pool.get().await?;
    let token = new_token("");
    client
        .execute(
            "INSERT INTO sessions (id, token, user_id, expires_at) VALUES ($1, $2, $3, now() + interval '7 days')",
            &[&Uuid::new_v4().to_string(), &token, &user_id],
        )
        .await?;
    let mut res = json_response(200, &json!({ "token": token, "user": user }));
    let cookie = format!(
        "{}={token}; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax",
        actor::session_cookie_name(&state.config.instance_id)
    );
    if let Ok(v) = cookie.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// POST /api/auth/sign-up/email (a minimal stand-in for Better Auth).
pub async fn sign_up(State(state): State<AppState>, body: JsonBody) -> Result<Response> {
    let email = body.str("email").unwrap_or_default().trim().to_lowercase();
    let password = body.str("password").unwrap_or_default();
    let name = body.str("name").unwrap_or_default().to_string();
    if email.is_empty() || password.len() < 8 {
        return Ok(json_response(
            400,
            &json!({"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}),
        ));
    }
    let id: String = Uuid::new_v4().simple().to_string()[..32].to_string();
    let client = state.pool.get().await?;
    let row = client
        .query_opt(
            "INSERT INTO users (id, name, email, password_hash) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO NOTHING
             RETURNING id, name, email, email_verified, created_at",
            &[&id, &name, &email, &password_hash(&id, password)],
        )
        .await?;
    let Some(row) = row else {
        return Ok(json_response(
            422,
            &json!({"code": "USER_ALREADY_EXISTS", "message": "User already exists"}),
        ));
    };
    start_session(&state, &id, user_json(&row)).await
}

/// POST /api/auth/sign-in/email
pub async fn sign_in(State(state): State<AppState>, body: JsonBody) -> Result<Response> {
    let email = body.str("email").unwrap_or_default().trim().to_lowercase();
    let password = body.str("password").unwrap_or_default();
    let client = state.pool.get().await?;
    let row = client
        .query_opt(
            "SELECT id, name, email, email_verified, created_at, password_hash FROM users WHERE email = $1",
            &[&email],
        )
        .await?;
    match row {
        Some(row)
            if row.get::<_, String>(5) == password_hash(&row.get::<_, String>(0), password) =>
        {
            let id: String = row.get(0);
            start_session(&state, &id, user_json(&row)).await
        }
        _ => Ok(json_response(
            401,
            &json!({"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}),
        )),
    }
}

/// GET /api/auth/get-session
pub async fn get_session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let name = actor::session_cookie_name(&state.config.instance_id);
    let token = actor::cookie(&headers, &name);
    let client = state.pool.get().await?;
    if let Some(token) = token {
        let row = client
            .query_opt(
                "SELECT u.id, u.email, u.name FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token = $1 AND s.expires_at > now()",
                &[&token],
            )
            .await?;
        if let Some(r) = row {
            let id: String = r.get(0);
            return Ok(json_response(
                200,
                &json!({
                    "session": {"id": format!("paperclip:session:{id}"), "userId": id},
                    "user": {"id": id, "email": r.get::<_, String>(1), "name": r.get::<_, String>(2), "image": null},
                }),
            ));
        }
    }
    Ok(json_response(200, &Value::Null))
}

/// POST /api/board-api-keys (session boards mint a key for themselves).
pub async fn create_board_key(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody,
) -> Result<Response> {
    let board = authz::assert_board(&actor)?;
    let name = body.str("name").unwrap_or("default").to_string();
    let token = new_token("pcp_board_");
    let client = state.pool.get().await?;
    let id: Uuid = client
        .query_one(
            "INSERT INTO board_api_keys (user_id, name, key_hash, expires_at)
             VALUES ($1, $2, $3, now() + interval '30 days') RETURNING id",
            &[&board.user_id, &name, &sha256_hex(&token)],
        )
        .await?
        .get(0);
    let value = rows::query_entity(
        &client,
        "SELECT id, name, created_at, last_used_at, revoked_at, expires_at FROM board_api_keys WHERE id = $1",
        &[&id],
    )
    .await?
    .unwrap_or(Value::Null);
    // Field order as the real host answers: id, name, token, then the rest.
    let mut out = serde_json::Map::new();
    if let Value::Object(o) = value {
        for (k, v) in o {
            out.insert(k.clone(), v);
            if k == "name" {
                out.insert("token".into(), json!(token));
            }
        }
    }
    let out = Value::Object(out);
    Ok(json_response(201, &out))
}

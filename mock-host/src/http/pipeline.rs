//! The request pipeline in the real host's order (contract-http.md §0):
//! JSON body parsing → private hostname guard → actor → board mutation
//! guard → routes → `API route not found`.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::config::Defect;
use crate::error::error_response;
use crate::host::AppState;
use crate::http::actor::Actor;

/// Body limit of the real host's `express.json` (10 MB).
const JSON_LIMIT: usize = 10 * 1024 * 1024;

/// The parsed JSON body: `None` when the request was not JSON (or had no
/// body), as `req.body` stays undefined there.
#[derive(Debug, Clone, Default)]
pub struct JsonBody(pub Option<Value>);

/// The actor and the parsed body the pipeline attached to a request
/// (nobody and no body when it attached none).
pub fn actor_and_body(req: &axum::extract::Request) -> (Actor, JsonBody) {
    let ext = req.extensions();
    (
        ext.get::<Actor>().cloned().unwrap_or(Actor::None),
        ext.get::<JsonBody>().cloned().unwrap_or_default(),
    )
}

impl JsonBody {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.as_ref().and_then(|v| v.get(key))
    }
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for JsonBody {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<JsonBody>()
            .cloned()
            .unwrap_or_default())
    }
}

/// Whether the content type is `application/json` (parameters allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().parse::<u64>().is_ok())
}

/// `express.json({limit: "10mb"})` with strict mode: a parse failure, a
/// primitive body or an oversized body all end in the error handler's 500.
pub async fn json_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let parse = is_json(&parts.headers) && has_body(&parts.headers);
    let bytes = match to_bytes(body, JSON_LIMIT + 1).await {
        Ok(b) if b.len() <= JSON_LIMIT => b,
        _ => return error_response(500, "Internal server error"),
    };
    let mut parsed = JsonBody(None);
    if parse {
        let text = String::from_utf8_lossy(&bytes);
        // The real host decodes bodies with a BOM-stripping decoder before
        // parsing: a leading UTF-8 byte order mark is skipped. Defect
        // bom-refused: the mark is left for the parser, which refuses it.
        let text = if state.config.defects.has(Defect::BomRefused) {
            &text
        } else {
            text.strip_prefix('\u{feff}').unwrap_or(&text)
        };
        if text.trim().is_empty() {
            parsed = JsonBody(Some(Value::Object(Default::default())));
        } else {
            // Defect shallow-json: serde_json's default depth limit.
            let parsed_value = if state.config.defects.has(Defect::ShallowJson) {
                serde_json::from_str::<Value>(text)
            } else {
                parse_nested(text)
            };
            match parsed_value {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => parsed = JsonBody(Some(v)),
                _ => {
                    if state.config.defects.has(Defect::MalformedJson400) {
                        return error_response(400, "Malformed JSON body");
                    }
                    return error_response(500, "Internal server error");
                }
            }
        }
    }
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(parsed);
    next.run(req).await
}

/// How deep the mock parses bodies. `JSON.parse` has no fixed limit (the
/// real host takes arrays nested 100,000 deep); serde_json stops at 128 by
/// default, and past a few thousand levels its recursion would overflow a
/// worker thread's stack. Deeper bodies are a known difference (README).
const MAX_JSON_DEPTH: usize = 4_000;

fn parse_nested(text: &str) -> serde_json::Result<Value> {
    use serde::de::Error as _;
    if nesting_depth(text) > MAX_JSON_DEPTH {
        return Err(serde_json::Error::custom("nested too deep for the mock"));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let value = serde::Deserialize::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The deepest bracket nesting outside strings (no recursion: this runs
/// before anything that recurses).
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn is_allowed_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]") || host.ends_with(".localhost")
}

/// `privateHostnameGuard` (local_trusted is always private exposure).
pub async fn hostname_guard(req: Request, next: Next) -> Response {
    let raw = req
        .headers()
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        })
        .or_else(|| req.uri().host().map(String::from));
    let Some(raw) = raw else {
        return error_response(
            403,
            "Missing Host header. If you want to allow a hostname, please run pnpm paperclipai allowed-hostname <host>",
        );
    };
    let host = if raw.starts_with('[') {
        raw.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or(raw.clone())
    } else {
        raw.split(':').next().unwrap_or("").to_string()
    };
    let host = host.to_lowercase();
    if !is_allowed_host(&host) {
        return error_response(
            403,
            &format!("Hostname '{host}' is not allowed for this Paperclip instance. If you want to allow this hostname, please run pnpm paperclipai allowed-hostname {host}"),
        );
    }
    next.run(req).await
}

fn origin_of(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!(
        "{}://{}",
        scheme.to_lowercase(),
        host.to_lowercase()
    ))
}

/// `boardMutationGuard`: session boards need a trusted Origin/Referer for
/// mutations under `/api` (auth routes excluded).
pub async fn mutation_guard(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let guarded = path.starts_with("/api/")
        && !path.starts_with("/api/auth/")
        && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if guarded {
        if let Some(actor) = req.extensions().get::<Actor>() {
            if actor.is_session_board() {
                let headers = req.headers();
                let host = headers
                    .get("x-forwarded-host")
                    .or_else(|| headers.get(header::HOST))
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_lowercase();
                let trusted = [
                    "http://localhost:3100".to_string(),
                    "http://127.0.0.1:3100".to_string(),
                    format!("http://{host}"),
                    format!("https://{host}"),
                ];
                let origin = headers
                    .get(header::ORIGIN)
                    .or_else(|| headers.get(header::REFERER))
                    .and_then(|v| v.to_str().ok())
                    .and_then(origin_of);
                if !origin.is_some_and(|o| trusted.contains(&o)) {
                    return error_response(403, "Board mutation requires trusted browser origin");
                }
            }
        }
    }
    next.run(req).await
}

/// Express' `X-Powered-By` header, so header-level comparisons line up.
pub async fn powered_by(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert("x-powered-by", HeaderValue::from_static("Express"));
    res
}

/// Unmatched routes: `/api/*` → the JSON 404; other paths → Express' HTML.
pub async fn not_found(req: Request) -> Response {
    let path = req.uri().path();
    // Express mounts `/api` in any case.
    let mount = path.get(..4).unwrap_or(path);
    if mount.eq_ignore_ascii_case("/api") && (path.len() == 4 || path.as_bytes()[4] == b'/') {
        return error_response(404, "API route not found");
    }
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot {} {}</pre>\n</body>\n</html>\n",
        req.method(),
        path
    );
    (
        axum::http::StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

//! One HTTP request and its response, as kept for reports.
//!
//! Every request a scenario makes is recorded so that a failing check can show
//! exactly what was sent and what came back. Secrets are redacted when the
//! exchange is recorded, not when it is printed, so no report format can leak
//! them by accident.

use serde::Serialize;
use serde_json::Value;

/// A request as sent.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    /// Headers the suite set explicitly, secrets redacted.
    pub headers: Vec<(String, String)>,
    /// JSON body, or a raw body as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// A response as received.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Parsed JSON, or the raw text as a JSON string when it is not JSON.
    pub body: Value,
    /// Whether `body` holds parsed JSON (false: raw text, or empty).
    pub json: bool,
}

/// A request, its response (or transport error) and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub request: RecordedRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl Exchange {
    /// A one-line summary, e.g. `POST /api/… → 201`.
    pub fn summary(&self) -> String {
        let outcome = match (&self.response, &self.error) {
            (Some(r), _) => r.status.to_string(),
            (None, Some(e)) => format!("error: {e}"),
            (None, None) => "no response".into(),
        };
        format!("{} {} → {}", self.request.method, self.request.url, outcome)
    }

    /// Multi-line rendering for people: request line, headers, body, status
    /// and body of the response.
    pub fn render(&self, indent: &str) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{indent}{} {}\n",
            self.request.method, self.request.url
        ));
        for (k, v) in &self.request.headers {
            out.push_str(&format!("{indent}  {k}: {v}\n"));
        }
        if let Some(body) = &self.request.body {
            out.push_str(&format!("{indent}  body: {}\n", compact(body, 2000)));
        }
        match (&self.response, &self.error) {
            (Some(r), _) => {
                out.push_str(&format!(
                    "{indent}→ {} {}\n",
                    r.status,
                    compact(&r.body, 2000)
                ));
            }
            (None, Some(e)) => out.push_str(&format!("{indent}→ transport error: {e}\n")),
            (None, None) => {}
        }
        out
    }
}

/// JSON on one line, cut to `max` characters.
pub fn compact(value: &Value, max: usize) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    crate::health::truncate(&text, max)
}

/// Redacts a header value when the header carries a credential.
pub fn redact_header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "authorization" {
        match value.split_once(' ') {
            Some((scheme, token)) => format!("{scheme} {}", redact_token(token)),
            None => redact_token(value),
        }
    } else if lower == "cookie" || lower == "set-cookie" {
        "<redacted>".into()
    } else {
        value.to_string()
    }
}

/// Keeps a recognisable prefix of a token (`pcp_84…`) and drops the rest.
pub fn redact_token(token: &str) -> String {
    let keep: String = token.chars().take(6).collect();
    if token.chars().count() <= 6 {
        "…".into()
    } else {
        format!("{keep}…")
    }
}

/// Redacts token-bearing fields (`token`, `boardApiToken`, …) in a JSON body.
pub fn redact_body(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let lower = k.to_ascii_lowercase();
                if (lower == "token" || lower.ends_with("token") || lower == "password")
                    && v.is_string()
                {
                    let s = v.as_str().unwrap_or_default().to_string();
                    *v = Value::String(redact_token(&s));
                } else {
                    redact_body(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_body),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn authorization_keeps_only_a_prefix() {
        assert_eq!(
            redact_header("Authorization", "Bearer pcp_0123456789abcdef"),
            "Bearer pcp_01…"
        );
        assert_eq!(redact_header("x-paperclip-run-id", "abc"), "abc");
        assert_eq!(redact_header("Cookie", "a=b"), "<redacted>");
    }

    #[test]
    fn tokens_in_bodies_are_redacted() {
        let mut body = json!({"id": "k1", "token": "pcp_0123456789", "nested": [{"boardApiToken": "pcp_board_1234567"}]});
        redact_body(&mut body);
        assert_eq!(body["token"], "pcp_01…");
        assert_eq!(body["nested"][0]["boardApiToken"], "pcp_bo…");
        assert_eq!(body["id"], "k1");
    }
}

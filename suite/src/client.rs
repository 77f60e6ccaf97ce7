//! HTTP client for the host under test.
//!
//! [`HostClient::send`] performs one request and always returns an
//! [`Exchange`] — HTTP error statuses and transport failures are data for the
//! checks, not errors. The typed helpers used by the world bootstrap
//! ([`HostClient::expect_json`]) turn unexpected answers into
//! [`Error::Bootstrap`] with the status and body in the message.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use serde_json::Value;

use crate::cleanup::Ledger;
use crate::error::{Error, Result};
use crate::exchange::{
    compact, redact_body, redact_header, Exchange, RecordedRequest, RecordedResponse,
};

/// Who a request is made as, in HTTP terms.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// `Authorization: Bearer <token>`.
    pub bearer: Option<String>,
    /// `X-Paperclip-Run-Id`.
    pub run_id: Option<String>,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(Value),
    /// Sent verbatim with this content type (for 415 / malformed-JSON cases).
    Raw {
        content_type: String,
        text: String,
    },
}

/// Raw bodies as reports show them: large ones by size and first bytes.
fn recorded_text(text: &str) -> Value {
    const SHOWN: usize = 256;
    if text.len() <= 4096 {
        return Value::String(text.to_string());
    }
    let mut cut = SHOWN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Value::String(format!(
        "<{} bytes, starting {:?}…>",
        text.len(),
        &text[..cut]
    ))
}

/// One request to make.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Path below the base URL, starting with `/`.
    pub path: String,
    pub credentials: Credentials,
    pub body: Body,
    /// Extra headers, sent as given.
    pub headers: Vec<(String, String)>,
}

impl Call {
    pub fn new(method: &str, path: impl Into<String>) -> Self {
        Call {
            // As given: callers write methods in upper case, and a scenario
            // may send another spelling on purpose.
            method: method.to_string(),
            path: path.into(),
            credentials: Credentials::default(),
            body: Body::None,
            headers: Vec::new(),
        }
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub fn as_(mut self, credentials: &Credentials) -> Self {
        self.credentials = credentials.clone();
        self
    }
}

/// A client bound to one host.
#[derive(Clone)]
pub struct HostClient {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
    /// Shared by every clone: the run stops when the host stops answering.
    hang: Arc<HangWatch>,
    /// What the run created on the host, for the teardown of hosts the
    /// suite did not start (shared by every clone).
    ledger: Arc<Ledger>,
}

/// Requests that timed out one after the other. A host that has stopped
/// answering would otherwise make every remaining check wait out its own
/// timeout (minutes for a whole run); after [`HANG_LIMIT`] timeouts in a
/// row with no answer in between, requests are no longer sent and the run
/// ends with a set-up error naming `--request-timeout`.
#[derive(Default)]
struct HangWatch {
    timeouts_in_a_row: AtomicU32,
    tripped: AtomicBool,
}

/// Timeouts in a row after which the host counts as no longer answering.
const HANG_LIMIT: u32 = 3;

impl HostClient {
    /// A client for `base_url`; every request times out after `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            // Only loopback is ever contacted; never route through a proxy.
            .no_proxy()
            .build()
            .map_err(|e| Error::HostStart(format!("could not build the HTTP client: {e}")))?;
        Ok(HostClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            timeout,
            hang: Arc::default(),
            ledger: Arc::default(),
        })
    }

    /// When the host stopped answering (see [`HangWatch`]): the sentence
    /// that ends the run.
    pub fn stopped_answering(&self) -> Option<String> {
        self.hang.tripped.load(Ordering::Relaxed).then(|| {
            format!(
                "the host at {} stopped answering: {HANG_LIMIT} requests in a row got no answer within {} s; \
                 check the host (its log), or pass a larger --request-timeout if it is only slow",
                self.base_url,
                self.timeout.as_secs()
            )
        })
    }

    /// Counts a finished request: a timeout adds to the run of timeouts,
    /// anything the host answered ends it.
    fn watch(&self, outcome: &std::result::Result<reqwest::Response, reqwest::Error>) {
        match outcome {
            Err(e) if e.is_timeout() => {
                let n = self.hang.timeouts_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
                if n >= HANG_LIMIT {
                    self.hang.tripped.store(true, Ordering::Relaxed);
                }
            }
            Ok(_) => self.hang.timeouts_in_a_row.store(0, Ordering::Relaxed),
            Err(_) => {}
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What the run created through this client (and its clones).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Performs `call` and records it. Never fails: transport errors end up
    /// in [`Exchange::error`].
    pub async fn send(&self, call: &Call) -> Exchange {
        let url = format!("{}{}", self.base_url, call.path);
        let method =
            reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut headers = HeaderMap::new();
        let mut recorded_headers = Vec::new();
        let mut add = |name: &str, value: &str| {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
                recorded_headers.push((name.to_string(), redact_header(name, value)));
            }
        };
        if let Some(token) = &call.credentials.bearer {
            add("Authorization", &format!("Bearer {token}"));
        }
        if let Some(run) = &call.credentials.run_id {
            add("X-Paperclip-Run-Id", run);
        }
        let (body_bytes, recorded_body) = match &call.body {
            Body::None => (None, None),
            Body::Json(v) => {
                add("Content-Type", "application/json");
                let mut shown = v.clone();
                redact_body(&mut shown);
                (Some(v.to_string().into_bytes()), Some(shown))
            }
            Body::Raw { content_type, text } => {
                add("Content-Type", content_type);
                (Some(text.clone().into_bytes()), Some(recorded_text(text)))
            }
        };
        for (k, v) in &call.headers {
            add(k, v);
        }
        let request = RecordedRequest {
            method: call.method.clone(),
            url: url.clone(),
            headers: recorded_headers,
            body: recorded_body,
        };
        let mut builder = self.http.request(method, &url).headers(headers);
        if let Some(bytes) = body_bytes {
            builder = builder.body(bytes);
        }
        let started = Instant::now();
        if let Some(why) = self.stopped_answering() {
            return Exchange {
                request,
                response: None,
                error: Some(format!("not sent: {why}")),
                duration_ms: 0,
            };
        }
        let outcome = builder.send().await;
        self.watch(&outcome);
        let (response, error) = match outcome {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers: Vec<(String, String)> = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            redact_header(k.as_str(), v.to_str().unwrap_or("<binary>")),
                        )
                    })
                    .collect();
                let is_json_type = headers
                    .iter()
                    .any(|(k, v)| k == CONTENT_TYPE.as_str() && v.contains("json"));
                match resp.text().await {
                    Ok(text) => {
                        let parsed = if text.is_empty() {
                            None
                        } else {
                            serde_json::from_str::<Value>(&text).ok()
                        };
                        let (body, json) = match parsed {
                            Some(mut v) if is_json_type || !text.is_empty() => {
                                redact_body(&mut v);
                                (v, true)
                            }
                            _ => (Value::String(text), false),
                        };
                        self.ledger.observe(
                            &call.method,
                            &call.path,
                            status,
                            &body,
                            &call.credentials,
                        );
                        (
                            Some(RecordedResponse {
                                status,
                                headers,
                                body,
                                json,
                            }),
                            None,
                        )
                    }
                    Err(e) => (None, Some(describe_reqwest_error(&e))),
                }
            }
            Err(e) => (None, Some(describe_reqwest_error(&e))),
        };
        Exchange {
            request,
            response,
            error,
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// Sends `call` for bootstrap step `step`; the answer must have status
    /// `want` and a JSON body, which is returned *unredacted* (bootstrap needs
    /// the tokens it creates).
    pub async fn expect_json(&self, step: &str, call: &Call, want: u16) -> Result<Value> {
        let url = format!("{}{}", self.base_url, call.path);
        let method =
            reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self.http.request(method, &url);
        if let Some(token) = &call.credentials.bearer {
            builder = builder.bearer_auth(token);
        }
        if let Some(run) = &call.credentials.run_id {
            builder = builder.header("X-Paperclip-Run-Id", run);
        }
        for (k, v) in &call.headers {
            builder = builder.header(k, v);
        }
        if let Body::Json(v) = &call.body {
            builder = builder.json(v);
        }
        let resp = builder.send().await.map_err(|e| Error::Bootstrap {
            step: step.into(),
            message: format!("{} {url}: {}", call.method, describe_reqwest_error(&e)),
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| Error::Bootstrap {
            step: step.into(),
            message: format!(
                "{} {url}: reading the body failed: {}",
                call.method,
                describe_reqwest_error(&e)
            ),
        })?;
        let body: Option<Value> = serde_json::from_str(&text).ok();
        if status != want {
            let shown = body
                .clone()
                .map(|mut b| {
                    redact_body(&mut b);
                    compact(&b, 400)
                })
                .unwrap_or_else(|| crate::health::truncate(&text, 400));
            return Err(Error::UnexpectedStatus {
                step: step.into(),
                request: format!("{} {}", call.method, call.path),
                status,
                expected: want,
                body: body.map(Box::new),
                shown,
            });
        }
        if let Some(body) = &body {
            self.ledger
                .observe(&call.method, &call.path, status, body, &call.credentials);
        }
        body.ok_or_else(|| Error::Bootstrap {
            step: step.into(),
            message: format!(
                "{} {} answered {status} with a body that is not JSON: {}",
                call.method,
                call.path,
                crate::health::truncate(&text, 200)
            ),
        })
    }
}

/// A reqwest error as one phrase a person can act on.
fn describe_reqwest_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the host did not answer in time (timed out)".into()
    } else if e.is_connect() {
        "could not connect (is the host running on that port?)".into()
    } else if e.is_body() || e.is_decode() {
        format!("the connection broke while reading the response ({e})")
    } else {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        msg
    }
}

//! The crate's one error type.
//!
//! The variants mirror the error classes the real host distinguishes when it
//! picks an HTTP status: `HttpError`s carry their own status, JSON-RPC call
//! errors keep their code (the scoped route maps them to 403/501/502), and
//! everything else is an "internal" error whose message the scoped route
//! echoes but the global handler hides behind "Internal server error".

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The real host's `HttpError` (badRequest, forbidden, …).
    #[error("{message}")]
    Http { status: u16, message: String },
    /// A JSON-RPC error from (or about) a plugin worker.
    #[error("{message}")]
    Rpc { code: i64, message: String },
    /// A plain `Error` thrown inside the host (no status).
    #[error("{0}")]
    Internal(String),
    /// A Postgres error; the message is Postgres' own.
    #[error("{}", db_message(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Bad configuration or CLI input.
    #[error("{0}")]
    Config(String),
    /// A request body that fails schema validation: `400 {"error":
    /// "Validation error", "details": [zod-like issues]}`.
    #[error("Validation error")]
    Validation(serde_json::Value),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// JSON-RPC / plugin RPC error codes (contract-db-worker.md B1).
pub mod rpc_code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INTERNAL_ERROR: i64 = -32603;
    pub const WORKER_UNAVAILABLE: i64 = -32000;
    pub const CAPABILITY_DENIED: i64 = -32001;
    pub const WORKER_ERROR: i64 = -32002;
    pub const TIMEOUT: i64 = -32003;
    pub const METHOD_NOT_IMPLEMENTED: i64 = -32004;
    pub const INVOCATION_SCOPE_DENIED: i64 = -32005;
}

fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

impl Error {
    pub fn http(status: u16, message: impl Into<String>) -> Self {
        Error::Http {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::http(400, m)
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::http(401, m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::http(403, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::http(404, m)
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::http(409, m)
    }
    pub fn unprocessable(m: impl Into<String>) -> Self {
        Self::http(422, m)
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Error::Internal(m.into())
    }

    /// A zod-like "Required"/"Invalid" issue at `path`.
    pub fn validation(path: &str, message: &str) -> Self {
        Error::Validation(json!([{ "code": "custom", "path": [path], "message": message }]))
    }

    /// The message as the real host would echo it (`err.message`).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// A JSON error body `{"error": message}` with a status.
pub fn error_response(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// A JSON answer as Express' `res.json` writes it (charset included).
pub fn json_response(status: u16, body: &serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body.to_string(),
    )
        .into_response()
}

/// The global error handler: `HttpError`s keep status and message, anything
/// else is `500 {"error":"Internal server error"}` (contract-http.md intro).
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::Http { status, message } => error_response(*status, message),
            Error::Validation(details) => json_response(
                400,
                &json!({ "error": "Validation error", "details": details }),
            ),
            other => {
                tracing::error!(error = %other, "internal error");
                error_response(500, "Internal server error")
            }
        }
    }
}

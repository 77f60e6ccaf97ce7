//! The crate's one error type.
//!
//! Every variant carries enough context to print one sentence that says what
//! went wrong and what to do about it. Set-up failures (Postgres, npm, the host
//! process, bootstrap) make the CLI exit with code 2; check failures are not
//! errors at all, they are results (see [`crate::check`]).

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Postgres could be provisioned by any of the supported routes.
    #[error("no PostgreSQL available: {0}")]
    PostgresUnavailable(String),

    /// A Postgres operation failed (connect, create/drop database, query).
    #[error("PostgreSQL {action} failed: {source}")]
    Postgres {
        action: String,
        #[source]
        source: tokio_postgres::Error,
    },

    /// npm (or node) is missing or an npm command failed.
    #[error("{0}")]
    Npm(String),

    /// The host under test could not be started or did not become healthy.
    #[error("host start failed: {0}")]
    HostStart(String),

    /// An HTTP request to the host failed at the transport level.
    #[error("HTTP {method} {url} failed: {message}")]
    Http {
        method: String,
        url: String,
        message: String,
    },

    /// A REST call during world bootstrap answered something unexpected.
    #[error("bootstrap step '{step}' failed: {message}")]
    Bootstrap { step: String, message: String },

    /// A set-up call answered another status than the one it needs. The
    /// host's body is kept as data, so callers can act on it without
    /// parsing this message.
    #[error(
        "bootstrap step '{step}' failed: {request} answered {status}, expected {expected}: {shown}"
    )]
    UnexpectedStatus {
        step: String,
        /// `METHOD /path`.
        request: String,
        status: u16,
        expected: u16,
        /// The JSON body, unredacted (callers may need its fields); boxed
        /// to keep every `Result` of the crate small.
        body: Option<Box<serde_json::Value>>,
        /// The body as shown to people: redacted and truncated.
        shown: String,
    },

    /// A bug of the suite itself (a state it never expects to be in).
    #[error("internal error: {0}; please report it")]
    Internal(String),

    /// A plugin package could not be prepared or installed.
    #[error("plugin {0}")]
    Plugin(String),

    /// A scenario file is malformed.
    #[error("scenario {path}: {message}")]
    Scenario { path: PathBuf, message: String },

    /// The host stopped answering in the middle of the run.
    #[error("{0}")]
    HostStoppedAnswering(String),

    /// The board credential given with `--board-token` is refused, or is
    /// not an instance admin's.
    #[error("{0}")]
    BoardToken(String),

    /// A command-line value is invalid.
    #[error("{0}")]
    Usage(String),

    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The run was interrupted (Ctrl-C / SIGTERM).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The sentence of a host-start error without its "host start failed"
    /// prefix, for wrapping it in another host-start error (one prefix).
    pub fn host_start_reason(self) -> String {
        match self {
            Error::HostStart(m) => m,
            other => other.to_string(),
        }
    }

    /// Builds an [`Error::Io`] with the action and path it concerns.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Postgres`] for the given action.
    pub fn pg(action: impl Into<String>, source: tokio_postgres::Error) -> Self {
        Error::Postgres {
            action: action.into(),
            source,
        }
    }
}

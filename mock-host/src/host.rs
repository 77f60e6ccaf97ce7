//! The running host's shared state: what both the HTTP layer (`http::*`
//! handlers) and the plugin layer (`plugin::lifecycle`) work on. It lives
//! outside both so neither layer imports the other.

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::config::Config;
use crate::plugin::manifest::ManifestLoader;
use crate::plugin::worker::Workers;

pub struct Host {
    pub pool: Pool,
    pub config: Config,
    pub workers: Workers,
    /// Evaluates manifest modules for installs (one warm node process).
    pub manifests: ManifestLoader,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
}

/// The handle every handler and background task holds.
pub type AppState = Arc<Host>;

//! State shared by all handlers.

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::config::Config;
use crate::plugin::worker::Workers;

pub struct Host {
    pub pool: Pool,
    pub config: Config,
    pub workers: Workers,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
}

pub type AppState = Arc<Host>;

//! Postgres access.
//!
//! Why tokio-postgres + deadpool-postgres rather than sqlx: the host runs
//! plugin SQL it has never seen (migrations, `ctx.db.query`), so it needs
//! the simple-query protocol for multi-statement-free raw DDL, server-side
//! parameter type inference for `$n` values that arrive as JSON, and
//! per-column type dispatch when turning arbitrary rows into JSON. Those are
//! first-class in tokio-postgres; sqlx's compile-time-checked queries buy
//! nothing here and would add a macro toolchain and an offline query cache.
//! deadpool is the small pool tokio-postgres is commonly paired with.

pub mod params;
pub mod rows;
pub mod schema;

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::error::{Error, Result};

pub type Client = deadpool_postgres::Object;

/// Opens a pool on `url`. Every connection runs in UTC so that timestamps
/// rendered by Postgres are stable.
pub fn pool(url: &str) -> Result<Pool> {
    let mut cfg = tokio_postgres::Config::from_str(url)
        .map_err(|e| Error::Config(format!("invalid --database-url: {e}")))?;
    cfg.options("-c TimeZone=UTC");
    if cfg.get_application_name().is_none() {
        cfg.application_name("paperclip-mock-host");
    }
    let mgr = Manager::from_config(
        cfg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(16)
        .build()
        .map_err(|e| Error::Config(format!("database pool: {e}")))
}

/// Applies the core schema (idempotent, serialised by an advisory lock).
pub async fn apply_schema(pool: &Pool) -> Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&schema::SCHEMA_LOCK_KEY],
    )
    .await?;
    tx.batch_execute(schema::CORE_SCHEMA).await?;
    tx.commit().await?;
    Ok(())
}

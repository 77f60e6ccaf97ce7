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

mod cached;
pub mod params;
pub mod rows;
pub mod schema;

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::error::{Error, Result};

pub use cached::{Db, Params};

pub type Client = deadpool_postgres::Object;

/// A pooled connection as the services take it ([`Db`], with its
/// statement cache).
pub fn pg(c: &Client) -> &Client {
    c
}

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
    journal_core_migration(&tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The time the real host's journal gives migration 0059 (plugin namespaces).
const MIGRATION_0059_WHEN: i64 = 1_776_542_246_000;

/// Keeps a drizzle-style journal entry for the plugin-namespace tables, as
/// the real host does for its migration 0059. The tables are (re)created
/// idempotently at every start, so a removed entry is simply written again —
/// with the latest time + 1, as the real host journals a re-applied
/// migration (docs/findings.md F12).
async fn journal_core_migration(tx: &tokio_postgres::Transaction<'_>) -> Result<()> {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(b"mock-host:0059_plugin_database_namespaces"));
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS drizzle;
         CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);",
    )
    .await?;
    tx.execute(
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at)
         SELECT $1::text, COALESCE((SELECT max(created_at) + 1 FROM drizzle.__drizzle_migrations), $2::bigint)
         WHERE NOT EXISTS (SELECT 1 FROM drizzle.__drizzle_migrations WHERE hash = $1::text)",
        &[&hash, &MIGRATION_0059_WHEN],
    )
    .await?;
    Ok(())
}

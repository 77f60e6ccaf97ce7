//! Postgres for a run.
//!
//! STUB: to be implemented (see the contract below).
//!
//! One server per run, provisioned by the first route that works:
//! 1. `DATABASE_URL` (or `--database-url`): an *admin* URL of a server that is
//!    already running; the suite only creates and drops its own databases there;
//! 2. testcontainers' Postgres, when built with the `docker` feature and a
//!    Docker daemon answers;
//! 3. an ephemeral cluster from local PostgreSQL binaries (`PATH` or
//!    `/usr/lib/postgresql/*/bin`): `initdb` + `pg_ctl` on a free 127.0.0.1
//!    port with the socket in the run dir, run as the `postgres` OS user when
//!    the suite runs as root; stopped and deleted at the end.
//!
//! If none works: [`crate::Error::PostgresUnavailable`] naming all three.
//!
//! Each run then gets its own database ([`PostgresServer::create_database`])
//! which is dropped (`WITH (FORCE)`) at the end of the run.

pub mod ephemeral;
pub mod url;

use std::path::Path;

use crate::error::Result;
use crate::progress::Progress;

/// How the suite should find Postgres.
#[derive(Debug, Clone, Default)]
pub struct PostgresOptions {
    /// Admin URL from `--database-url` / `DATABASE_URL`.
    pub admin_url: Option<String>,
    /// Skip testcontainers even when a daemon answers.
    pub no_docker: bool,
}

/// Which route provided the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresSource {
    Url,
    Container,
    Ephemeral,
}

/// A Postgres server the run can create databases on.
pub struct PostgresServer {
    source: PostgresSource,
    admin_url: String,
    description: String,
}

impl PostgresServer {
    /// Provisions a server by the first route that works (see module docs).
    /// `run_dir` holds the ephemeral cluster's data directory and socket.
    pub async fn provision(
        options: &PostgresOptions,
        run_dir: &Path,
        progress: &Progress,
    ) -> Result<PostgresServer> {
        let _ = (options, run_dir, progress);
        unimplemented!("PostgresServer::provision")
    }

    pub fn source(&self) -> PostgresSource {
        self.source
    }

    /// An admin connection URL (superuser or CREATEDB role).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Human description for progress lines.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Creates a fresh, uniquely named database for the run.
    pub async fn create_database(&self, name_prefix: &str) -> Result<RunDatabase> {
        let _ = name_prefix;
        unimplemented!("PostgresServer::create_database")
    }

    /// Drops a database created by [`Self::create_database`], disconnecting any
    /// sessions still attached to it.
    pub async fn drop_database(&self, db: RunDatabase) -> Result<()> {
        let _ = db;
        unimplemented!("PostgresServer::drop_database")
    }

    /// Stops the server if the suite started it (container, ephemeral cluster).
    pub async fn shutdown(self) -> Result<()> {
        unimplemented!("PostgresServer::shutdown")
    }
}

/// A database created for one run.
#[derive(Debug, Clone)]
pub struct RunDatabase {
    /// The database name, e.g. `conformance_1a2b3c4d`.
    pub name: String,
    /// A connection URL for it, with the admin credentials.
    pub url: String,
}

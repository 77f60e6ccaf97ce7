//! Postgres for a run.
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
//! A given admin URL that does not work is an error of its own: the user
//! asked for that server, so the suite does not silently use another one.
//!
//! Each run then gets its own database ([`PostgresServer::create_database`])
//! which is dropped (`WITH (FORCE)`) at the end of the run.

#[cfg(feature = "docker")]
pub mod container;
pub mod ephemeral;
pub mod url;

use std::path::Path;

use crate::error::{Error, Result};
use crate::progress::Progress;

/// How the suite should find Postgres.
#[derive(Debug, Clone, Default)]
pub struct PostgresOptions {
    /// Admin URL from `--database-url` / `DATABASE_URL`.
    pub admin_url: Option<String>,
    /// Skip testcontainers even when a daemon answers.
    pub no_docker: bool,
    /// Where a freshly initialised data directory is kept per server
    /// version, so later ephemeral clusters copy it instead of running
    /// `initdb` again (about half a second of every run).
    pub template_cache: Option<std::path::PathBuf>,
}

/// Which route provided the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresSource {
    Url,
    Container,
    Ephemeral,
}

/// What the suite has to stop at the end.
enum Backend {
    /// Someone else's server: nothing to stop.
    External,
    /// Boxed: the container handle is large and there is one per run.
    #[cfg(feature = "docker")]
    Container(Box<container::PgContainer>),
    Ephemeral(ephemeral::EphemeralCluster),
}

/// A Postgres server the run can create databases on.
pub struct PostgresServer {
    source: PostgresSource,
    admin_url: String,
    description: String,
    backend: Backend,
}

/// The sentence for "no route worked".
const NO_ROUTE: &str = "set DATABASE_URL (or --database-url) to an admin URL such as postgres://postgres@127.0.0.1:5432/postgres, run a Docker daemon with a build that has the `docker` feature, or install the PostgreSQL server binaries (e.g. apt-get install postgresql) so the suite can start a throw-away cluster";

impl PostgresServer {
    /// Provisions a server by the first route that works (see module docs).
    /// `run_dir` holds the ephemeral cluster's data directory and socket; it
    /// must be reachable by the `postgres` OS user when the suite is root.
    pub async fn provision(
        options: &PostgresOptions,
        run_dir: &Path,
        progress: &Progress,
    ) -> Result<PostgresServer> {
        if let Some(admin_url) = options.admin_url.as_deref().filter(|u| !u.is_empty()) {
            let description = url::check_admin_url(admin_url).await?;
            return Ok(PostgresServer {
                source: PostgresSource::Url,
                admin_url: admin_url.to_string(),
                description,
                backend: Backend::External,
            });
        }

        #[cfg(feature = "docker")]
        if !options.no_docker && container::docker_available() {
            progress.step("a Docker daemon answers: starting PostgreSQL with testcontainers");
            match container::PgContainer::start().await {
                Ok(c) => {
                    return Ok(PostgresServer {
                        source: PostgresSource::Container,
                        admin_url: c.admin_url(),
                        description: c.description(),
                        backend: Backend::Container(Box::new(c)),
                    })
                }
                // A daemon that answers but cannot run the image (no
                // network, no pull rights) should not end the run while
                // local binaries may still work.
                Err(e) => progress.step(format!("{e}; trying local PostgreSQL binaries")),
            }
        }
        #[cfg(not(feature = "docker"))]
        let _ = options.no_docker;

        match ephemeral::find_binaries() {
            Some(binaries) => {
                let cluster = ephemeral::EphemeralCluster::start(
                    run_dir,
                    &binaries,
                    options.template_cache.as_deref(),
                    progress,
                )
                .await?;
                Ok(PostgresServer {
                    source: PostgresSource::Ephemeral,
                    admin_url: cluster.admin_url(),
                    description: format!(
                        "ephemeral PostgreSQL {} cluster on 127.0.0.1:{} ({})",
                        cluster.version(),
                        cluster.port(),
                        binaries.bindir.display()
                    ),
                    backend: Backend::Ephemeral(cluster),
                })
            }
            None => Err(Error::PostgresUnavailable(format!(
                "no DATABASE_URL, no Docker daemon{} and no PostgreSQL server binaries on PATH or in /usr/lib/postgresql/*/bin; {NO_ROUTE}",
                if cfg!(feature = "docker") { "" } else { " support in this build" }
            ))),
        }
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

    /// The ephemeral cluster's directory (data, socket, log), when that route
    /// provided the server.
    pub fn cluster_dir(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Ephemeral(c) => Some(c.dir()),
            _ => None,
        }
    }

    /// Creates a fresh, uniquely named database for the run:
    /// `<name_prefix>_<8 random hex digits>`.
    pub async fn create_database(&self, name_prefix: &str) -> Result<RunDatabase> {
        if name_prefix.is_empty()
            || !name_prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(Error::Usage(format!(
                "database name prefix '{name_prefix}' must be lowercase letters, digits and '_'"
            )));
        }
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{name_prefix}_{}", &suffix[..8]);
        let client = url::connect(&self.admin_url)
            .await
            .map_err(|e| Error::pg(format!("connecting to {}", url::redact(&self.admin_url)), e))?;
        // The name is generated from a checked prefix and hex digits, so
        // quoting it is enough (CREATE DATABASE takes no parameters).
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .map_err(|e| Error::pg(format!("creating database {name}"), e))?;
        Ok(RunDatabase {
            url: url::with_database(&self.admin_url, &name)?,
            name,
        })
    }

    /// Drops a database created by [`Self::create_database`], disconnecting any
    /// sessions still attached to it.
    pub async fn drop_database(&self, db: RunDatabase) -> Result<()> {
        let name = &db.name;
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(Error::Usage(format!(
                "refusing to drop '{name}': not a database this suite created"
            )));
        }
        let client = url::connect(&self.admin_url)
            .await
            .map_err(|e| Error::pg(format!("connecting to {}", url::redact(&self.admin_url)), e))?;
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .map_err(|e| Error::pg(format!("dropping database {name}"), e))
    }

    /// Stops the server if the suite started it (container, ephemeral cluster).
    pub async fn shutdown(self) -> Result<()> {
        match self.backend {
            Backend::External => Ok(()),
            #[cfg(feature = "docker")]
            Backend::Container(c) => c.stop().await,
            Backend::Ephemeral(c) => c.stop().await,
        }
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

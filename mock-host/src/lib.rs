//! A Paperclip plugin host on Postgres that answers like the real host
//! (2026.707.0) wherever the conformance suite looks: the REST subset the
//! suite bootstraps with, plugin install and lifecycle, per-plugin database
//! namespaces and migrations, the worker JSON-RPC protocol with the host
//! services the smoke plugin uses, and scoped plugin route dispatch.
//!
//! Start it in-process with [`serve`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), mock_host::Error> {
//! let handle = mock_host::serve(mock_host::Config::new("postgres://postgres@127.0.0.1/mock")).await?;
//! println!("{}", handle.base_url());
//! handle.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Database access uses tokio-postgres with a deadpool pool; see [`db`] for
//! why that was preferred over sqlx.

pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod host;
pub mod http;
pub mod plays;
pub mod plugin;
pub mod services;

use std::net::SocketAddr;
use std::sync::Arc;

use plugin::manifest::ManifestLoader;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{defect_names, Config, Defect, Defects, DeploymentMode};
pub use error::{Error, Result};

use host::Host;

/// A running host.
pub struct HostHandle {
    base_url: String,
    addr: SocketAddr,
    host: Arc<Host>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl HostHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Process ids of the running plugin workers (for tests).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.host
            .workers
            .all()
            .iter()
            .filter_map(|w| w.pid())
            .collect()
    }

    /// Stops accepting requests, then stops every plugin worker.
    pub async fn shutdown(mut self) {
        self.shutdown_inner().await;
    }

    async fn shutdown_inner(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.host.workers.stop_all().await;
    }

    /// Waits until the server stops (it runs until `shutdown` or an error).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.host.workers.stop_all().await;
    }
}

/// Applies the schema, binds 127.0.0.1:`config.port` and starts serving.
/// Plugins left `ready` by a previous run are re-activated in the
/// background, so the host answers health checks at once.
pub async fn serve(config: Config) -> Result<HostHandle> {
    let pool = db::pool(&config.database_url)?;
    db::apply_schema(&pool).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let host = Arc::new(Host {
        pool,
        manifests: ManifestLoader::new(config.node.clone()),
        config,
        workers: Default::default(),
        base_url: base_url.clone(),
    });
    let app = http::app(Arc::clone(&host));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    tokio::spawn(plugin::lifecycle::load_all(Arc::clone(&host)));
    tracing::info!("Server listening on {addr}");
    Ok(HostHandle {
        base_url,
        addr,
        host,
        stop: Some(tx),
        task: Some(task),
    })
}

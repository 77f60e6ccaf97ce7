//! `url=http://…`: a host that is already running. The suite neither starts
//! nor stops it; it only checks that it is healthy and reads its version.

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{DeploymentMode, HostInfo, HostTarget, RunningHost, StartContext};
use crate::error::{Error, Result};
use crate::health;

/// An already-running host.
pub struct ExternalTarget {
    pub base_url: String,
    /// The host's database, when the user supplied it (`--host-database-url`).
    pub database_url: Option<String>,
    /// The version the user gave (`--host-version`): used when the health
    /// body has none (2026.707.0 in authenticated mode, docs/findings.md F8),
    /// for the version profile and the plugin SDK pin.
    pub version: Option<String>,
    /// A board API key (`--board-token`): health is asked with it, since an
    /// authenticated host hides its version from anonymous callers.
    pub board_token: Option<String>,
}

impl HostTarget for ExternalTarget {
    fn label(&self) -> String {
        format!("url={}", self.base_url)
    }

    fn needs_database(&self) -> bool {
        false
    }

    fn start<'a>(&'a self, ctx: &'a StartContext<'a>) -> BoxFuture<'a, Result<RunningHost>> {
        async move {
            let health = health::wait_until_ready_as(
                &self.base_url,
                std::time::Duration::from_secs(15),
                None,
                self.board_token.as_deref(),
            )
            .await
            .map_err(|e| {
                Error::HostStart(format!(
                    "{}; is the host at {} running?",
                    e.host_start_reason(),
                    self.base_url
                ))
            })?;
            let mode = health
                .get("deploymentMode")
                .and_then(|m| m.as_str())
                .map(str::parse::<DeploymentMode>)
                .transpose()?
                .unwrap_or(ctx.mode);
            Ok(RunningHost {
                info: HostInfo {
                    kind: "url".into(),
                    version: health
                        .get("version")
                        .and_then(|v| v.as_str())
                        .map(String::from)
                        .or_else(|| self.version.clone()),
                },
                base_url: self.base_url.clone(),
                mode,
                database_url: self.database_url.clone(),
                node_bin: None,
                process: None,
                health,
                relaunch: None,
                sdk_version: self.version.clone(),
                // A long-lived host may keep the installed copy: prepare it
                // where it outlives the run directory.
                plugin_home: ctx
                    .cache_dir
                    .join("external-hosts")
                    .join(super::sanitize(&self.base_url)),
            })
        }
        .boxed()
    }
}

//! Hosts under test.
//!
//! A [`HostTarget`] knows how to bring one kind of host up on loopback against
//! the run's database and hand back a [`RunningHost`]: where it listens, what
//! version and deployment mode it runs, and how to stop it. Everything that
//! happens *after* the host is healthy (auth bootstrap, world, plugin install,
//! scenarios) is common to all targets and lives elsewhere.
//!
//! Host specs on the command line:
//! - `paperclip@VERSION`: install `paperclipai@VERSION` from npm (cached) and start it;
//! - `url=http://127.0.0.1:PORT`: a host that is already running;
//! - `mock`: the bundled Rust mock host.

pub mod external;
pub mod local_package;
pub mod mock;
pub mod npm;
pub mod paperclip;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use futures::future::BoxFuture;

use crate::error::{Error, Result};
use crate::process::HostProcess;

/// The deployment mode of the host under test.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentMode {
    /// No credentials means the local board, an instance admin.
    #[value(name = "local_trusted")]
    LocalTrusted,
    /// Sessions, board API keys and agent keys; no credentials means nobody.
    Authenticated,
}

impl DeploymentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentMode::LocalTrusted => "local_trusted",
            DeploymentMode::Authenticated => "authenticated",
        }
    }
}

impl FromStr for DeploymentMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "local_trusted" => Ok(DeploymentMode::LocalTrusted),
            "authenticated" => Ok(DeploymentMode::Authenticated),
            other => Err(Error::Usage(format!(
                "unknown deployment mode '{other}': use local_trusted or authenticated"
            ))),
        }
    }
}

/// A parsed `--host` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    /// The real Paperclip server from npm at this version.
    Paperclip { version: String },
    /// An already-running host at this base URL.
    Url { base_url: String },
    /// The bundled mock host, with optional defects switched on, playing
    /// a later release's host services when `plays` names one.
    Mock {
        defects: Vec<String>,
        plays: Option<String>,
    },
}

impl FromStr for HostSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if let Some(version) = s.strip_prefix("paperclip@") {
            // A local package (`paperclip@./paperclipai-x.tgz`, a directory).
            if local_package::is_local_package(version) {
                return Ok(HostSpec::Paperclip {
                    version: version.to_string(),
                });
            }
            let ok = !version.is_empty()
                && version
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !ok {
                return Err(Error::Usage(format!(
                    "'{s}' is not a valid host: the version after 'paperclip@' must look like 2026.707.0"
                )));
            }
            return Ok(HostSpec::Paperclip {
                version: version.to_string(),
            });
        }
        if let Some(url) = s.strip_prefix("url=") {
            let parsed = url::Url::parse(url).map_err(|e| {
                Error::Usage(format!(
                    "'{url}' is not a valid URL ({e}): use url=http://127.0.0.1:PORT"
                ))
            })?;
            if parsed.scheme() != "http" && parsed.scheme() != "https" {
                return Err(Error::Usage(format!(
                    "'{url}' must be an http:// URL, e.g. url=http://127.0.0.1:3100"
                )));
            }
            return Ok(HostSpec::Url {
                base_url: url.trim_end_matches('/').to_string(),
            });
        }
        if s == "mock" || s.starts_with("mock:") {
            let mut defects = Vec::new();
            let mut plays = None;
            if let Some(rest) = s.strip_prefix("mock:") {
                for part in rest.split(',').filter(|p| !p.is_empty()) {
                    if let Some(name) = part.strip_prefix("defect=").filter(|n| !n.is_empty()) {
                        defects.push(name.to_string());
                    } else if let Some(v) = part.strip_prefix("plays=").filter(|v| !v.is_empty()) {
                        plays = Some(v.to_string());
                    } else {
                        return Err(Error::Usage(format!(
                            "'{part}' in '{s}' is not understood: use mock:defect=NAME[,defect=NAME][,plays=VERSION]"
                        )));
                    }
                }
            }
            return Ok(HostSpec::Mock { defects, plays });
        }
        Err(Error::Usage(format!(
            "unknown host '{s}': use paperclip@VERSION, url=http://127.0.0.1:PORT or mock"
        )))
    }
}

/// What a target needs to start a host for one run.
pub struct StartContext<'a> {
    /// The run's private directory; the host's HOME, cwd and logs go below it.
    pub run_dir: &'a Path,
    /// Cache shared across runs (npm installs of hosts and node).
    pub cache_dir: &'a Path,
    /// The run's own database, created for this run and dropped after it.
    pub database_url: Option<&'a str>,
    /// The deployment mode to start the host in.
    pub mode: DeploymentMode,
    /// Port to bind on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
    /// Where progress lines go.
    pub progress: &'a crate::progress::Progress,
}

/// Identity of the host under test, as reported in the results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HostInfo {
    /// `paperclip`, `url` or `mock`.
    pub kind: String,
    /// The version the host reports in `/api/health` (or the requested one).
    pub version: Option<String>,
}

/// A host that is up and healthy.
pub struct RunningHost {
    pub info: HostInfo,
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:3107`.
    pub base_url: String,
    pub mode: DeploymentMode,
    /// The database the host runs on, when the suite knows it (needed for DB
    /// assertions and the authenticated-mode admin bootstrap).
    pub database_url: Option<String>,
    /// The node binary that runs the host; plugin preparation uses the same one.
    pub node_bin: Option<PathBuf>,
    /// The process the suite started, if any; `None` for `url=` hosts.
    pub process: Option<HostProcess>,
    /// Body of the `/api/health` answer that declared the host ready.
    pub health: serde_json::Value,
    /// How to start the same server again (same command, environment,
    /// secrets, port and database); `None` for hosts the suite did not start.
    pub relaunch: Option<Relaunch>,
    /// The plugin SDK version that belongs to this host, when it has one
    /// (the real host's SDK is published under the host's own version).
    pub sdk_version: Option<String>,
    /// Where plugin packages for this host are prepared: the run directory
    /// for hosts the suite started; a per-URL cache directory for a `url=`
    /// host, which may keep the installed copy after the run.
    pub plugin_home: PathBuf,
}

/// A recipe for starting a host's process again, for restart checks.
#[derive(Debug, Clone)]
pub struct Relaunch {
    program: PathBuf,
    args: Vec<std::ffi::OsString>,
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    clear_env: bool,
    cwd: Option<PathBuf>,
    log: PathBuf,
    adapter_pid_file: Option<PathBuf>,
    /// How long the host may take to become ready: the same bound as its
    /// first start, since a restart does the same work.
    ready_timeout: std::time::Duration,
}

impl Relaunch {
    /// Captures `command` as spawned. `clear_env` says whether it was built
    /// with `env_clear()`, which a `Command` cannot report.
    pub fn capture(
        command: &std::process::Command,
        clear_env: bool,
        log: &Path,
        adapter_pid_file: Option<PathBuf>,
        ready_timeout: std::time::Duration,
    ) -> Self {
        Relaunch {
            program: PathBuf::from(command.get_program()),
            args: command.get_args().map(|a| a.to_os_string()).collect(),
            env: command
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_os_string(), v.to_os_string())))
                .collect(),
            clear_env,
            cwd: command.get_current_dir().map(Path::to_path_buf),
            log: log.to_path_buf(),
            adapter_pid_file,
            ready_timeout,
        }
    }

    fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command.args(&self.args);
        if self.clear_env {
            command.env_clear();
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
    }
}

impl RunningHost {
    /// Stops the host's process and starts it again with the same recipe,
    /// then waits for it to be ready. Returns how long the restart took.
    pub async fn restart(&mut self) -> Result<std::time::Duration> {
        let relaunch = self.relaunch.clone().ok_or_else(|| {
            Error::HostStart(
                "this host was not started by the suite and cannot be restarted".into(),
            )
        })?;
        let started = std::time::Instant::now();
        if let Some(process) = self.process.take() {
            process.stop().await?;
        }
        let mut process = HostProcess::spawn(relaunch.command(), &relaunch.log)?;
        if let Some(pids) = &relaunch.adapter_pid_file {
            process = process.with_adapter_pid_file(pids.clone());
        }
        let alive = || process.is_alive();
        let health =
            crate::health::wait_until_ready(&self.base_url, relaunch.ready_timeout, Some(&alive))
                .await;
        match health {
            Ok(h) => {
                self.health = h;
                self.process = Some(process);
                Ok(started.elapsed())
            }
            Err(e) => {
                let tail = process.log_tail(30);
                let _ = process.stop().await;
                Err(Error::HostStart(format!(
                    "restart failed: {e}; log:\n{tail}"
                )))
            }
        }
    }

    /// Stops whatever the suite started for this host (server, plugin workers,
    /// agent adapter processes). A `url=` host is left alone.
    pub async fn stop(mut self) -> Result<()> {
        match self.process.take() {
            Some(process) => process.stop().await,
            None => Ok(()),
        }
    }
}

/// The target that brings up the host `spec` describes.
/// What the user told about a `url=` host that it may not tell itself.
#[derive(Debug, Clone, Default)]
pub struct ExternalFacts {
    /// Its database (`--host-database-url`), for row assertions.
    pub database_url: Option<String>,
    /// Its version (`--host-version`), when `/api/health` hides it.
    pub version: Option<String>,
    /// A board API key of an instance admin (`--board-token`).
    pub board_token: Option<String>,
}

pub fn target_for(spec: &HostSpec, facts: &ExternalFacts) -> Box<dyn HostTarget> {
    match spec {
        HostSpec::Paperclip { version } => Box::new(paperclip::PaperclipTarget {
            version: version.clone(),
        }),
        HostSpec::Url { base_url } => Box::new(external::ExternalTarget {
            base_url: base_url.clone(),
            database_url: facts.database_url.clone(),
            version: facts.version.clone(),
            board_token: facts.board_token.clone(),
        }),
        HostSpec::Mock { defects, plays } => Box::new(mock::MockTarget {
            defects: defects.clone(),
            plays: plays.clone(),
            program: None,
        }),
    }
}

/// A file-name-safe form of a URL.
fn sanitize(url: &str) -> String {
    url.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// One kind of host the suite can run against.
pub trait HostTarget: Send + Sync {
    /// Short label for progress lines, e.g. `paperclip@2026.707.0`.
    fn label(&self) -> String;

    /// Whether the suite must provision a database for this target.
    fn needs_database(&self) -> bool;

    /// Brings the host up and waits until it is ready to serve.
    fn start<'a>(&'a self, ctx: &'a StartContext<'a>) -> BoxFuture<'a, Result<RunningHost>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("paperclip@2026.707.0", HostSpec::Paperclip { version: "2026.707.0".into() })]
    #[case("url=http://127.0.0.1:3100/", HostSpec::Url { base_url: "http://127.0.0.1:3100".into() })]
    #[case("mock", HostSpec::Mock { defects: vec![], plays: None })]
    #[case("mock:defect=a,defect=b", HostSpec::Mock { defects: vec!["a".into(), "b".into()], plays: None })]
    #[case("mock:plays=2026.916.1,defect=a", HostSpec::Mock { defects: vec!["a".into()], plays: Some("2026.916.1".into()) })]
    fn parses_host_specs(#[case] input: &str, #[case] expected: HostSpec) {
        assert_eq!(input.parse::<HostSpec>().unwrap(), expected);
    }

    #[rstest]
    #[case("paperclip@")]
    #[case("paperclip@1.0;rm")]
    #[case("url=not a url")]
    #[case("url=ftp://127.0.0.1")]
    #[case("mock:bogus")]
    #[case("real")]
    fn rejects_bad_host_specs(#[case] input: &str) {
        let err = input.parse::<HostSpec>().unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
    }
}

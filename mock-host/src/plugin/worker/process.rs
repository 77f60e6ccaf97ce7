//! The worker process: spawning it with a clean environment, reading its
//! stdout and stderr, and what happens when it exits (pending calls fail,
//! then a restart with backoff unless it was stopped on purpose).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdout, Command};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::framing::{self, Frame};
use super::{Status, WorkerHandle, MAX_CONSECUTIVE_CRASHES, STDERR_TAIL};
use crate::error::{rpc_code, Error, Result};

impl WorkerHandle {
    pub(super) fn spawn(self: &Arc<Self>, generation: u64) -> Result<()> {
        let mut cmd = Command::new(&self.spec.node);
        cmd.arg(&self.spec.entry)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NODE_PATH", std::env::var("NODE_PATH").unwrap_or_default())
            .env("PAPERCLIP_PLUGIN_ID", self.spec.plugin_id.to_string())
            .env(
                "NODE_ENV",
                std::env::var("NODE_ENV").unwrap_or_else(|_| "production".into()),
            )
            .env("TZ", std::env::var("TZ").unwrap_or_else(|_| "UTC".into()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The worker must not outlive the host, even if the host is killed.
        #[cfg(target_os = "linux")]
        // SAFETY: the closure runs in the forked child before exec, where
        // only async-signal-safe calls are allowed; it makes one prctl(2)
        // call, allocates nothing and touches no lock. A failure is
        // ignored: the worker then merely lacks the parent-death signal.
        unsafe {
            cmd.pre_exec(|| {
                let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::internal(format!(
                "Failed to spawn worker {}: {e}",
                self.spec.entry.display()
            ))
        })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        {
            let mut g = self.lock();
            g.pid = child.id();
            g.stdin = Some(tx);
        }
        if let Some(mut stdin) = stdin {
            tokio::spawn(async move {
                while let Some(line) = rx.recv().await {
                    if stdin.write_all(line.as_bytes()).await.is_err() {
                        break;
                    }
                    let _ = stdin.flush().await;
                }
            });
        }
        if let Some(stdout) = stdout {
            let me = Arc::clone(self);
            tokio::spawn(async move { me.read_stdout(stdout, generation).await });
        }
        if let Some(stderr) = stderr {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::debug!(plugin = %me.spec.plugin_id, "worker stderr: {line}");
                    let mut g = me.lock();
                    g.stderr_tail.push_str(&line);
                    g.stderr_tail.push('\n');
                    if g.stderr_tail.len() > STDERR_TAIL {
                        let cut = g.stderr_tail.len() - STDERR_TAIL;
                        let cut = (cut..g.stderr_tail.len())
                            .find(|i| g.stderr_tail.is_char_boundary(*i))
                            .unwrap_or(0);
                        g.stderr_tail.drain(..cut);
                    }
                }
            });
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let status = child.wait().await;
            me.on_exit(generation, status.ok());
        });
        Ok(())
    }

    fn on_exit(self: &Arc<Self>, generation: u64, status: Option<std::process::ExitStatus>) {
        use std::os::unix::process::ExitStatusExt;
        let (code, signal) = match status {
            Some(s) => (
                s.code().map(|c| c.to_string()).unwrap_or("null".into()),
                s.signal().map(signal_name).unwrap_or("null".into()),
            ),
            None => ("null".into(), "null".into()),
        };
        let restart = {
            let mut g = self.lock();
            if g.generation != generation {
                return;
            }
            let mut message = format!("Worker process exited (code={code}, signal={signal})");
            if !g.stderr_tail.trim().is_empty() {
                message.push_str("\n\nWorker stderr:\n");
                message.push_str(g.stderr_tail.trim_end());
            }
            for (_, tx) in g.pending.drain() {
                let _ = tx.send(Err((rpc_code::WORKER_UNAVAILABLE, message.clone())));
            }
            g.stdin = None;
            g.pid = None;
            if g.stopping || g.status == Status::Stopped {
                g.status = Status::Stopped;
                None
            } else {
                tracing::warn!(plugin = %self.spec.plugin_id, "{message}");
                // The crash counter resets after 10 quiet minutes.
                if g.last_crash
                    .is_some_and(|t| t.elapsed() > Duration::from_secs(600))
                {
                    g.crashes = 0;
                }
                g.crashes += 1;
                g.last_crash = Some(Instant::now());
                if g.crashes > MAX_CONSECUTIVE_CRASHES {
                    g.status = Status::Crashed;
                    None
                } else {
                    g.status = Status::Backoff;
                    Some(backoff(g.crashes))
                }
            }
        };
        if let Some(delay) = restart {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if me.lock().status != Status::Backoff {
                    return;
                }
                if let Err(e) = me.start().await {
                    tracing::warn!(plugin = %me.spec.plugin_id, error = %e, "worker restart failed");
                    let mut g = me.lock();
                    if g.status == Status::Stopped && !g.stopping {
                        g.status = Status::Crashed;
                    }
                }
            });
        }
    }

    /// Feeds stdout lines to the JSON-RPC layer until the stream ends. A line
    /// over the ceiling ([`framing::MAX_LINE_BYTES`]) means the worker is
    /// broken: it is killed and handled like any crash.
    async fn read_stdout(self: Arc<Self>, stdout: ChildStdout, generation: u64) {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            match framing::read_line(&mut reader, &mut buf, self.max_line).await {
                Ok(Frame::Line) => match std::str::from_utf8(&buf) {
                    Ok(line) => self.on_line(line),
                    // Not UTF-8: stdout stops being read, as with `lines()`.
                    Err(_) => return,
                },
                Ok(Frame::Eof) | Err(_) => return,
                Ok(Frame::TooLong) => {
                    self.kill_broken(generation);
                    return;
                }
            }
        }
    }

    /// Kills a worker whose stdout broke the framing; the exit that follows
    /// fails its pending calls and schedules the restart, like a crash.
    fn kill_broken(&self, generation: u64) {
        let mut g = self.lock();
        if g.generation != generation {
            return;
        }
        let note = format!(
            "host: worker stdout line exceeded {} bytes; killing the worker",
            self.max_line
        );
        tracing::warn!(plugin = %self.spec.plugin_id, "{note}");
        g.stderr_tail.push_str(&note);
        g.stderr_tail.push('\n');
        if let Some(pid) = g.pid {
            send_signal(pid, Signal::SIGKILL);
        }
    }
}

/// Sends `signal` to the worker process. An error (it already exited) is
/// fine: the exit handler runs either way.
pub(super) fn send_signal(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
    }
}

/// The signal's name as node prints it in `Worker process exited (…)`.
fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{sig}"))
}

/// `1000 ms × 2^(n−1)` with ±25 % jitter, at most 5 minutes.
fn backoff(n: u32) -> Duration {
    let base = 1000f64 * 2f64.powi(n.saturating_sub(1).min(20) as i32);
    let jitter = (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0 * 0.5 - 0.25;
    Duration::from_millis((base * (1.0 + jitter)).min(300_000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b1 = backoff(1).as_millis();
        assert!((750..=1250).contains(&b1), "{b1}");
        let b3 = backoff(3).as_millis();
        assert!((3000..=5000).contains(&b3), "{b3}");
        assert!(backoff(30).as_millis() <= 300_000);
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(1000), "SIG1000");
    }
}

//! Tearing a host process down: the graceful [`HostProcess::stop`] and the
//! synchronous `Drop` safety net (see the contract in the module above).

use std::collections::BTreeSet;
use std::future::ready;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::signal::{exited_unreaped, signal_group, ProcId};
use super::table;
use super::{HostProcess, MARK_VAR};
use crate::error::{Error, Result};
use crate::wait::{poll_until, poll_until_blocking, probe, Interval, Probe};

/// How long recorded descendants get between SIGTERM and SIGKILL (they are
/// agent adapters idling in `sleep`, which die at once).
const DESCENDANT_GRACE: Duration = Duration::from_secs(3);
/// How long to wait for a SIGKILLed process to disappear.
const KILL_WAIT: Duration = Duration::from_secs(5);
const POLL: Interval = Interval::fixed(Duration::from_millis(100));

impl HostProcess {
    /// Stops the process, its group, its descendants and the adapter PIDs.
    pub async fn stop(mut self) -> Result<()> {
        let result = self.stop_inner().await;
        // Whatever happened, Drop must not start over.
        self.child = None;
        result
    }

    async fn stop_inner(&mut self) -> Result<()> {
        let pgid = self.pid;
        // Snapshot first: detached adapters are only findable through their
        // parent while it is alive.
        self.record_descendants();
        signal_group(pgid, Signal::SIGTERM);
        let this = &*self;
        let terminated = poll_until(self.grace, POLL, || {
            if !exited_unreaped(this.pid) {
                this.record_descendants();
            }
            ready(probe(table::live_group_members(pgid).is_empty()))
        })
        .await;
        if terminated.is_err() {
            tracing::warn!(
                pid = self.pid,
                "host group still alive after SIGTERM, sending SIGKILL"
            );
            signal_group(pgid, Signal::SIGKILL);
            // Whatever is left is looked at again below, PID by PID.
            let _ = poll_until(KILL_WAIT, POLL, || {
                ready(probe(table::live_group_members(pgid).is_empty()))
            })
            .await;
        }
        // Only now reap the main process (see the module docs).
        if let Some(mut child) = self.child.take() {
            let reaped = poll_until(KILL_WAIT, POLL, || {
                ready(probe(!matches!(child.try_wait(), Ok(None))))
            })
            .await;
            if reaped.is_err() {
                return Err(still_running(self.pid));
            }
        }

        let targets = self.stray_targets();
        for p in &targets {
            p.signal_if_same(Signal::SIGTERM);
        }
        let _ = poll_until(DESCENDANT_GRACE, POLL, || {
            ready(probe(!targets.iter().any(|p| p.is_same_and_alive())))
        })
        .await;
        for p in &targets {
            p.signal_if_same(Signal::SIGKILL);
        }
        poll_until(KILL_WAIT, POLL, || {
            ready(match targets.iter().find(|p| p.is_same_and_alive()) {
                None => Probe::Done(()),
                Some(p) => Probe::NotYet(p.pid),
            })
        })
        .await
        .map_err(|timeout| still_running(timeout.last))
    }

    /// Recorded descendants plus adapter PIDs that carry our marker, each
    /// with the identity it has now.
    fn stray_targets(&self) -> Vec<ProcId> {
        let mut targets: BTreeSet<ProcId> = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .filter(|p| p.is_same_and_alive())
            .collect();
        for pid in self.adapter_pids() {
            if let Some(id) = ProcId::of_running(pid) {
                if table::has_env(pid, MARK_VAR, &self.mark) {
                    targets.insert(id);
                }
            }
        }
        targets.into_iter().collect()
    }

    fn adapter_pids(&self) -> Vec<u32> {
        let Some(path) = &self.adapter_pid_file else {
            return Vec::new();
        };
        parse_pid_lines(&std::fs::read_to_string(path).unwrap_or_default())
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Synchronous and unconditional: this runs on panics and on futures
        // dropped half-way (Ctrl-C during start-up), where nobody will await
        // a graceful stop.
        self.record_descendants();
        signal_group(self.pid, Signal::SIGKILL);
        for p in &self.stray_targets() {
            p.signal_if_same(Signal::SIGKILL);
        }
        let _ = poll_until_blocking(
            Duration::from_secs(2),
            Interval::fixed(Duration::from_millis(20)),
            || probe(!matches!(child.try_wait(), Ok(None))),
        );
    }
}

fn still_running(pid: u32) -> Error {
    let cmd = table::cmdline(pid);
    Error::io(
        "stopping process",
        format!("/proc/{pid}"),
        std::io::Error::other(format!(
            "'{cmd}' is still running after SIGKILL; kill it by hand (kill -9 {pid})"
        )),
    )
}

/// PIDs listed one per line, junk and PIDs 0 and 1 left out.
fn parse_pid_lines(text: &str) -> Vec<u32> {
    let mut pids: Vec<u32> = text
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|p| *p > 1)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::table::{descendants_of, is_running};
    use std::path::Path;
    use std::time::Instant;

    #[test]
    fn pid_file_lines_ignore_junk_and_init() {
        assert_eq!(parse_pid_lines("12\n\n 7 \nabc\n1\n12\n0\n"), vec![7, 12]);
    }

    fn spawn_tree(dir: &Path) -> HostProcess {
        // The shell starts a child in its own group (like the host's detached
        // adapters) and one in the shell's group (like plugin workers), then
        // waits.
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg("setsid sleep 300 & sleep 300 & echo started; wait");
        HostProcess::spawn(cmd, &dir.join("log")).unwrap()
    }

    fn wait_for_descendants(p: &HostProcess, n: usize) -> Vec<u32> {
        let found = poll_until_blocking(
            Duration::from_secs(5),
            Interval::fixed(Duration::from_millis(20)),
            || {
                let found = descendants_of(p.pid(), &table::all());
                if found.len() >= n {
                    Probe::Done(found)
                } else {
                    Probe::NotYet(found)
                }
            },
        );
        found.unwrap_or_else(|timeout| timeout.last)
    }

    fn assert_all_gone(pids: &[u32]) {
        for pid in pids {
            assert!(!is_running(*pid), "process {pid} survived stop");
        }
    }

    #[tokio::test]
    async fn stop_kills_the_group_and_detached_descendants() {
        let dir = tempfile::tempdir().unwrap();
        let p = spawn_tree(dir.path());
        let mut kids = wait_for_descendants(&p, 2);
        assert_eq!(kids.len(), 2, "{kids:?}");
        assert!(p.is_alive());
        kids.push(p.pid());
        p.stop().await.unwrap();
        assert_all_gone(&kids);
    }

    #[tokio::test]
    async fn a_group_that_ignores_sigterm_is_killed_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        // Ignored signals stay ignored across fork and exec: both the shell
        // and its sleep shrug off SIGTERM.
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c").arg("trap '' TERM; sleep 300 & wait");
        let p = HostProcess::spawn(cmd, &dir.path().join("log"))
            .unwrap()
            .with_grace(Duration::from_millis(500));
        let mut kids = wait_for_descendants(&p, 1);
        assert_eq!(kids.len(), 1, "{kids:?}");
        kids.push(p.pid());
        let started = Instant::now();
        p.stop().await.unwrap();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(500), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_all_gone(&kids);
    }

    #[tokio::test]
    async fn drop_kills_everything_synchronously() {
        let dir = tempfile::tempdir().unwrap();
        let p = spawn_tree(dir.path());
        let mut kids = wait_for_descendants(&p, 2);
        assert_eq!(kids.len(), 2, "{kids:?}");
        kids.push(p.pid());
        drop(p);
        let survivors = poll_until_blocking(
            Duration::from_secs(3),
            Interval::fixed(Duration::from_millis(20)),
            || {
                let left: Vec<u32> = kids.iter().copied().filter(|p| is_running(*p)).collect();
                if left.is_empty() {
                    Probe::Done(())
                } else {
                    Probe::NotYet(left)
                }
            },
        );
        assert!(survivors.is_ok(), "survivors: {survivors:?}");
    }

    #[tokio::test]
    async fn adapter_pids_are_killed_only_when_they_carry_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("adapter-pids");
        // The "host" starts an adapter that detaches completely (double fork
        // + setsid, so it is not a descendant any more) and records its PID.
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c").arg(format!(
            "(setsid sh -c 'echo $$ >> {f}; exec sleep 300' &) ; exec sleep 300",
            f = pid_file.display()
        ));
        let p = HostProcess::spawn(cmd, &dir.path().join("log"))
            .unwrap()
            .with_adapter_pid_file(pid_file.clone());
        // A stranger the suite did not start, listed in the file too.
        let mut stranger = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .unwrap();
        let adapter = poll_until_blocking(
            Duration::from_secs(5),
            Interval::fixed(Duration::from_millis(20)),
            || match parse_pid_lines(&std::fs::read_to_string(&pid_file).unwrap_or_default())
                .first()
            {
                Some(pid) => Probe::Done(*pid),
                None => Probe::NotYet(()),
            },
        )
        .expect("adapter never wrote its PID");
        std::fs::write(&pid_file, format!("{adapter}\n{}\n", stranger.id())).unwrap();
        p.stop().await.unwrap();
        assert!(!is_running(adapter), "adapter {adapter} survived");
        assert!(
            stranger.try_wait().unwrap().is_none(),
            "a process without the mark was killed"
        );
        stranger.kill().unwrap();
        stranger.wait().unwrap();
    }
}

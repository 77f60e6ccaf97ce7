//! Processes the suite starts, and how it makes sure none outlive the run.
//!
//! Contract:
//! - [`HostProcess::spawn`] starts a command in its own process group (so a
//!   terminal Ctrl-C reaches only the suite, which then tears down in order),
//!   with stdout+stderr appended to a log file.
//! - [`HostProcess::stop`] records every descendant PID first (plugin workers,
//!   agent adapters that detach into their own groups), sends SIGTERM to the
//!   group, waits up to a grace period, SIGKILLs what is left, then kills the
//!   recorded descendants and every PID listed in the adapter PID file, each
//!   only if it is still alive and still ours.
//! - Dropping a `HostProcess` that was not stopped SIGKILLs the group and the
//!   known descendants synchronously (panic / early-return safety net).
//!
//! "Still ours" is decided per PID before every signal, because PIDs are
//! reused: a recorded descendant must have the start time it had when it was
//! recorded; a PID from the adapter file must carry this process's marker
//! variable ([`MARK_VAR`]) in its environment, which the host passes on to the
//! adapters it runs.
//!
//! The main process is never reaped before the group signals are sent: while
//! it is an unreaped zombie its PID (which is also the group id) cannot be
//! handed to anyone else, so `kill(-pgid)` cannot hit a stranger's group.
//!
//! Modules, one job each: `spawn` (starting), `stop` (teardown and the
//! `Drop` safety net), [`table`] (reading `/proc`), `signal` (signals to
//! identities that survive PID reuse), `net` (ports), `log` (log tails).

mod log;
mod net;
mod signal;
mod spawn;
mod stop;
pub mod table;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Mutex;
use std::time::Duration;

pub use log::{strip_ansi, tail_of_file};
pub use net::{free_port, port_in_use};

use signal::{exited_unreaped, ProcId};

/// Whether `pid` names a running process (not a zombie).
pub(crate) fn is_running(pid: u32) -> bool {
    ProcId::of_running(pid).is_some()
}

/// Stops an agent adapter of a host the suite did not start, found in the
/// run's adapter PID file: only while the PID still runs the script's
/// `sleep` (the script execs it), so a reused PID is never signalled.
/// Returns whether it was signalled.
pub(crate) fn stop_adapter(pid: u32) -> bool {
    let Some(proc_id) = ProcId::of_running(pid) else {
        return false;
    };
    if !table::cmdline(pid).starts_with("sleep ") {
        return false;
    }
    proc_id.signal_if_same(nix::sys::signal::Signal::SIGKILL);
    true
}

/// Environment variable set on every process the suite spawns; its value is
/// unique per spawn. The host hands its environment down to agent adapters,
/// so a PID found in the adapter PID file is only signalled when its
/// environment carries this exact marker.
pub const MARK_VAR: &str = "CONFORMANCE_PROCESS_MARK";

/// How long the group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// A server process started by the suite.
pub struct HostProcess {
    pid: u32,
    log_path: PathBuf,
    adapter_pid_file: Option<PathBuf>,
    mark: String,
    /// Time between SIGTERM and SIGKILL for the group.
    grace: Duration,
    /// `None` once the child has been reaped (after `stop`).
    child: Option<Child>,
    /// Descendants seen so far; only grows. A mutex because `is_alive` (which
    /// runs during health polling, through a shared reference) records them
    /// too: adapters that detach are only findable while their parent lives.
    known: Mutex<BTreeSet<ProcId>>,
}

impl HostProcess {
    /// Also kill every PID listed (one per line) in this file on stop; agent
    /// adapter scripts append their PID there.
    pub fn with_adapter_pid_file(mut self, path: PathBuf) -> Self {
        self.adapter_pid_file = Some(path);
        self
    }

    /// How long `stop` waits after SIGTERM before SIGKILL (default 10 s).
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The marker value this process and everything it starts carry in
    /// [`MARK_VAR`].
    pub fn mark(&self) -> &str {
        &self.mark
    }

    /// Whether the main process is still running.
    pub fn is_alive(&self) -> bool {
        if self.child.is_none() {
            return false;
        }
        let alive = !exited_unreaped(self.pid);
        if alive {
            self.record_descendants();
        }
        alive
    }

    /// Last `lines` lines of the log, for error messages, with terminal
    /// colour codes removed (the host colours its log even into a file).
    pub fn log_tail(&self, lines: usize) -> String {
        tail_of_file(&self.log_path, lines)
    }

    /// Adds the current descendants of the main process to `known`.
    fn record_descendants(&self) {
        let all = table::all();
        let found = table::descendants_of(self.pid, &all);
        if found.is_empty() {
            return;
        }
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        for pid in found {
            if let Some(stat) = all.get(&pid) {
                known.insert(ProcId {
                    pid,
                    start_time: stat.start_time,
                });
            }
        }
    }
}

//! Processes the suite starts, and how it makes sure none outlive the run.
//!
//! STUB: to be implemented (see the module contract below).
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

use std::path::{Path, PathBuf};

use crate::error::Result;

/// A server process started by the suite.
pub struct HostProcess {
    pid: u32,
    log_path: PathBuf,
    adapter_pid_file: Option<PathBuf>,
}

impl HostProcess {
    /// Spawns `command` in a new process group, logging to `log_path`.
    pub fn spawn(command: std::process::Command, log_path: &Path) -> Result<HostProcess> {
        let _ = (command, log_path);
        unimplemented!("HostProcess::spawn")
    }

    /// Also kill every PID listed (one per line) in this file on stop; agent
    /// adapter scripts append their PID there.
    pub fn with_adapter_pid_file(mut self, path: PathBuf) -> Self {
        self.adapter_pid_file = Some(path);
        self
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Whether the main process is still running.
    pub fn is_alive(&self) -> bool {
        unimplemented!("HostProcess::is_alive")
    }

    /// Last `lines` lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let _ = lines;
        unimplemented!("HostProcess::log_tail")
    }

    /// Stops the process, its group, its descendants and the adapter PIDs.
    pub async fn stop(self) -> Result<()> {
        unimplemented!("HostProcess::stop")
    }
}

/// Picks a free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    unimplemented!("free_port")
}

/// True when something already accepts connections on 127.0.0.1:`port`.
pub fn port_in_use(port: u16) -> bool {
    let _ = port;
    unimplemented!("port_in_use")
}

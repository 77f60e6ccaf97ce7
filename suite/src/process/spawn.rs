//! Starting a host process: own process group, log file, marker variable.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;

use super::{HostProcess, GRACE, MARK_VAR};
use crate::error::{Error, Result};

impl HostProcess {
    /// Spawns `command` in a new process group, logging to `log_path`.
    pub fn spawn(mut command: std::process::Command, log_path: &Path) -> Result<HostProcess> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| Error::io("opening the log file", log_path, e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io("opening the log file", log_path, e))?;
        let mark = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        command
            .env(MARK_VAR, &mark)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            // Own group: a terminal Ctrl-C goes to the suite only, which then
            // stops the host in order; and the whole group can be signalled.
            // (std's setpgid in the child: no pre_exec, no unsafe.)
            .process_group(0);
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command.spawn().map_err(|e| {
            Error::HostStart(format!(
                "could not run {program}: {e}; check that it exists and is executable"
            ))
        })?;
        Ok(HostProcess {
            pid: child.id(),
            log_path: log_path.to_path_buf(),
            adapter_pid_file: None,
            mark,
            grace: GRACE,
            child: Some(child),
            known: Mutex::new(BTreeSet::new()),
        })
    }
}

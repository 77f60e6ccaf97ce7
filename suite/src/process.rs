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

use std::collections::{BTreeSet, HashMap};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Environment variable set on every process the suite spawns; its value is
/// unique per spawn. The host hands its environment down to agent adapters,
/// so a PID found in the adapter PID file is only signalled when its
/// environment carries this exact marker.
pub const MARK_VAR: &str = "CONFORMANCE_PROCESS_MARK";

/// How long the group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(10);
/// How long recorded descendants get between SIGTERM and SIGKILL (they are
/// agent adapters idling in `sleep`, which die at once).
const DESCENDANT_GRACE: Duration = Duration::from_secs(3);
/// How long to wait for a SIGKILLed process to disappear.
const KILL_WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);

/// A process identity that survives PID reuse: the PID plus the start time
/// (clock ticks since boot) the kernel reports for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ProcId {
    pid: u32,
    start_time: u64,
}

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

    /// Stops the process, its group, its descendants and the adapter PIDs.
    pub async fn stop(mut self) -> Result<()> {
        let result = self.stop_inner().await;
        // Whatever happened, Drop must not start over.
        self.child = None;
        result
    }

    async fn stop_inner(&mut self) -> Result<()> {
        let pgid = self.pid as i32;
        // Snapshot first: detached adapters are only findable through their
        // parent while it is alive.
        self.record_descendants();
        signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline {
            if !exited_unreaped(self.pid) {
                self.record_descendants();
            }
            if live_group_members(pgid).is_empty() {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        if !live_group_members(pgid).is_empty() {
            tracing::warn!(
                pid = self.pid,
                "host group still alive after SIGTERM, sending SIGKILL"
            );
            signal_group(pgid, libc::SIGKILL);
            let deadline = Instant::now() + KILL_WAIT;
            while !live_group_members(pgid).is_empty() && Instant::now() < deadline {
                tokio::time::sleep(POLL).await;
            }
        }
        // Only now reap the main process (see the module docs).
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + KILL_WAIT;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        return Err(still_running(self.pid));
                    }
                    Ok(None) => tokio::time::sleep(POLL).await,
                }
            }
        }

        let targets = self.stray_targets();
        for p in &targets {
            signal_if_same(*p, libc::SIGTERM);
        }
        let deadline = Instant::now() + DESCENDANT_GRACE;
        while targets.iter().any(|p| is_same_and_alive(*p)) && Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
        for p in &targets {
            signal_if_same(*p, libc::SIGKILL);
        }
        let deadline = Instant::now() + KILL_WAIT;
        while Instant::now() < deadline {
            match targets.iter().find(|p| is_same_and_alive(**p)) {
                None => return Ok(()),
                Some(_) => tokio::time::sleep(POLL).await,
            }
        }
        match targets.iter().find(|p| is_same_and_alive(**p)) {
            Some(p) => Err(still_running(p.pid)),
            None => Ok(()),
        }
    }

    /// Adds the current descendants of the main process to `known`.
    fn record_descendants(&self) {
        let table = proc_table();
        let found = descendants_of(self.pid, &table);
        if found.is_empty() {
            return;
        }
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        for pid in found {
            if let Some(stat) = table.get(&pid) {
                known.insert(ProcId {
                    pid,
                    start_time: stat.start_time,
                });
            }
        }
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
            .filter(|p| is_same_and_alive(*p))
            .collect();
        for pid in self.adapter_pids() {
            if let Some(stat) = read_stat(pid) {
                if !stat.is_zombie() && has_mark(pid, &self.mark) {
                    targets.insert(ProcId {
                        pid,
                        start_time: stat.start_time,
                    });
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
        signal_group(self.pid as i32, libc::SIGKILL);
        let targets = self.stray_targets();
        for p in &targets {
            signal_if_same(*p, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) | Err(_) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn still_running(pid: u32) -> Error {
    let cmd = read_cmdline(pid);
    Error::io(
        "stopping process",
        format!("/proc/{pid}"),
        std::io::Error::other(format!(
            "'{cmd}' is still running after SIGKILL; kill it by hand (kill -9 {pid})"
        )),
    )
}

/// Picks a free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::io("binding a free port on", "127.0.0.1", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("reading the free port of", "127.0.0.1", e))
}

/// True when something already accepts connections on 127.0.0.1:`port`.
pub fn port_in_use(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    if TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
        return true;
    }
    // A listener that does not accept (full backlog) or one bound elsewhere
    // on the same port still makes a bind fail, which is what the host's
    // own port probe sees.
    matches!(
        TcpListener::bind(addr),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse
    )
}

// ----------------------------------------------------------------- /proc

/// What the suite needs from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    state: char,
    ppid: u32,
    pgrp: u32,
    start_time: u64,
}

impl Stat {
    /// Zombies and dead tasks cannot be signalled usefully and hold nothing.
    fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/PID/stat`. The command name (field 2) is in
/// parentheses and may itself contain spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process on the machine with its stat fields.
fn proc_table() -> HashMap<u32, Stat> {
    let mut table = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return table;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some(stat) = read_stat(pid) {
            table.insert(pid, stat);
        }
    }
    table
}

/// All descendants of `root` in `table` (by parent links), breadth first.
fn descendants_of(root: u32, table: &HashMap<u32, Stat>) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, stat) in table {
        if *pid != stat.ppid {
            children.entry(stat.ppid).or_default().push(*pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    let mut seen = BTreeSet::from([root]);
    while let Some(pid) = queue.pop() {
        for child in children.get(&pid).into_iter().flatten() {
            if seen.insert(*child) {
                found.push(*child);
                queue.push(*child);
            }
        }
    }
    found.sort_unstable();
    found
}

/// Members of process group `pgid` that are not zombies.
fn live_group_members(pgid: i32) -> Vec<u32> {
    proc_table()
        .into_iter()
        .filter(|(_, s)| s.pgrp as i32 == pgid && !s.is_zombie())
        .map(|(pid, _)| pid)
        .collect()
}

fn is_same_and_alive(p: ProcId) -> bool {
    read_stat(p.pid).is_some_and(|s| s.start_time == p.start_time && !s.is_zombie())
}

fn signal_if_same(p: ProcId, signal: libc::c_int) {
    if is_same_and_alive(p) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(p.pid as libc::pid_t, signal);
        }
    }
}

fn signal_group(pgid: i32, signal: libc::c_int) {
    if pgid > 1 {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative PID
        // addresses the process group.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// True when our child `pid` has exited but is not reaped yet (or is gone).
/// `WNOWAIT` leaves it a zombie, which keeps its PID and group id reserved.
fn exited_unreaped(pid: u32) -> bool {
    // SAFETY: siginfo_t is plain data; zeroed is a valid initial value and
    // waitid only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        // ECHILD: not our child any more, so certainly not running for us.
        return true;
    }
    // SAFETY: waitid succeeded, so si_pid is initialised (0 = still running).
    unsafe { info.si_pid() != 0 }
}

fn has_mark(pid: u32, mark: &str) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{MARK_VAR}={mark}");
    environ
        .split(|b| *b == 0)
        .any(|entry| entry == wanted.as_bytes())
}

fn read_cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw)
        .split('\0')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

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

// ----------------------------------------------------------------- logs

/// The last `lines` lines of a (possibly large) file, without ANSI escapes.
pub fn tail_of_file(path: &Path, lines: usize) -> String {
    const MAX: u64 = 64 * 1024;
    let Ok(mut file) = std::fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX {
        let _ = file.seek(SeekFrom::Start(len - MAX));
    }
    let mut raw = Vec::new();
    let _ = file.read_to_end(&mut raw);
    let text = strip_ansi(&String::from_utf8_lossy(&raw));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Removes terminal escape sequences (`ESC [ … letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn stat(ppid: u32) -> Stat {
        Stat {
            state: 'S',
            ppid,
            pgrp: 0,
            start_time: 0,
        }
    }

    #[test]
    fn descendants_follow_parent_links_through_every_level() {
        // 10 ─┬─ 11 ── 13 ── 14
        //     └─ 12
        // 20 ── 21 (unrelated)
        let table: HashMap<u32, Stat> = [
            (1, stat(0)),
            (10, stat(1)),
            (11, stat(10)),
            (12, stat(10)),
            (13, stat(11)),
            (14, stat(13)),
            (20, stat(1)),
            (21, stat(20)),
        ]
        .into_iter()
        .collect();
        assert_eq!(descendants_of(10, &table), vec![11, 12, 13, 14]);
        assert_eq!(descendants_of(14, &table), Vec::<u32>::new());
        assert_eq!(descendants_of(99, &table), Vec::<u32>::new());
    }

    #[rstest]
    #[case::plain("42 (node) S 1 42 42 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 11 0 12345 0 0")]
    #[case::spaces_and_parens(
        "42 (a (b) c) S 1 42 42 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 11 0 12345 9"
    )]
    fn parses_stat_lines(#[case] line: &str) {
        let s = parse_stat(line).unwrap();
        assert_eq!(
            s,
            Stat {
                state: 'S',
                ppid: 1,
                pgrp: 42,
                start_time: 12345
            }
        );
    }

    #[test]
    fn pid_file_lines_ignore_junk_and_init() {
        assert_eq!(parse_pid_lines("12\n\n 7 \nabc\n1\n12\n0\n"), vec![7, 12]);
    }

    #[test]
    fn ansi_escapes_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[32mINFO\u{1b}[39m: \u{1b}[36mServer listening\u{1b}[39m"),
            "INFO: Server listening"
        );
    }

    #[test]
    fn free_ports_are_free_and_listeners_are_seen() {
        let port = free_port().unwrap();
        assert!(!port_in_use(port));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        assert!(port_in_use(port));
        drop(listener);
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
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = descendants_of(p.pid(), &proc_table());
            if found.len() >= n || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[tokio::test]
    async fn stop_kills_the_group_and_detached_descendants() {
        let dir = tempfile::tempdir().unwrap();
        let p = spawn_tree(dir.path());
        let kids = wait_for_descendants(&p, 2);
        assert_eq!(kids.len(), 2, "{kids:?}");
        assert!(p.is_alive());
        let main = p.pid();
        p.stop().await.unwrap();
        for pid in kids.iter().chain([&main]) {
            assert!(
                !matches!(read_stat(*pid), Some(s) if !s.is_zombie()),
                "process {pid} survived stop"
            );
        }
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
        let kids = wait_for_descendants(&p, 1);
        assert_eq!(kids.len(), 1, "{kids:?}");
        let main = p.pid();
        let started = Instant::now();
        p.stop().await.unwrap();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(500), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        for pid in kids.iter().chain([&main]) {
            assert!(
                !matches!(read_stat(*pid), Some(s) if !s.is_zombie()),
                "process {pid} survived stop"
            );
        }
    }

    #[tokio::test]
    async fn drop_kills_everything_synchronously() {
        let dir = tempfile::tempdir().unwrap();
        let p = spawn_tree(dir.path());
        let kids = wait_for_descendants(&p, 2);
        assert_eq!(kids.len(), 2, "{kids:?}");
        let main = p.pid();
        drop(p);
        let deadline = Instant::now() + Duration::from_secs(3);
        let survivors = loop {
            let left: Vec<u32> = kids
                .iter()
                .chain([&main])
                .copied()
                .filter(|pid| read_stat(*pid).is_some_and(|s| !s.is_zombie()))
                .collect();
            if left.is_empty() || Instant::now() > deadline {
                break left;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(survivors.is_empty(), "survivors: {survivors:?}");
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
        let deadline = Instant::now() + Duration::from_secs(5);
        while parse_pid_lines(&std::fs::read_to_string(&pid_file).unwrap_or_default()).is_empty() {
            assert!(Instant::now() < deadline, "adapter never wrote its PID");
            std::thread::sleep(Duration::from_millis(20));
        }
        let adapter = parse_pid_lines(&std::fs::read_to_string(&pid_file).unwrap())[0];
        std::fs::write(&pid_file, format!("{adapter}\n{}\n", stranger.id())).unwrap();
        p.stop().await.unwrap();
        assert!(
            !matches!(read_stat(adapter), Some(s) if !s.is_zombie()),
            "adapter {adapter} survived"
        );
        assert!(
            stranger.try_wait().unwrap().is_none(),
            "a process without the mark was killed"
        );
        stranger.kill().unwrap();
        stranger.wait().unwrap();
    }
}

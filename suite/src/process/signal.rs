//! Signalling processes the suite started, and only those.
//!
//! Every signal to a single PID goes through [`ProcId`]: the PID together
//! with the start time it had when it was recorded, checked again right
//! before the signal, because PIDs are reused.

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::table::read_stat;

/// A process identity that survives PID reuse: the PID plus the start time
/// (clock ticks since boot) the kernel reports for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ProcId {
    pub pid: u32,
    pub start_time: u64,
}

impl ProcId {
    /// The identity `pid` has now, if it is running.
    pub fn of_running(pid: u32) -> Option<ProcId> {
        read_stat(pid).filter(|s| !s.is_zombie()).map(|s| ProcId {
            pid,
            start_time: s.start_time,
        })
    }

    /// Still the same process, and not a zombie.
    pub fn is_same_and_alive(self) -> bool {
        read_stat(self.pid).is_some_and(|s| s.start_time == self.start_time && !s.is_zombie())
    }

    /// Sends `signal` if the PID still names this process.
    pub fn signal_if_same(self, signal: Signal) {
        if self.is_same_and_alive() {
            // ESRCH (it exited in between) is what we wanted anyway.
            let _ = kill(pid(self.pid), signal);
        }
    }
}

fn pid(pid: u32) -> Pid {
    Pid::from_raw(pid as i32)
}

/// Sends `signal` to process group `pgid`. Groups 0 and 1 are refused: they
/// would mean "our own group" and "init's".
pub(crate) fn signal_group(pgid: u32, signal: Signal) {
    if pgid > 1 {
        // ESRCH (the group is empty) is what we wanted anyway.
        let _ = killpg(pid(pgid), signal);
    }
}

/// True when our child `pid` has exited but is not reaped yet (or is gone).
/// `WNOWAIT` leaves it a zombie, which keeps its PID and group id reserved.
pub(crate) fn exited_unreaped(child: u32) -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(pid(child)), flags) {
        Ok(WaitStatus::StillAlive) => false,
        Ok(_) => true,
        // ECHILD: not our child any more, so certainly not running for us.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_identity_stops_matching_once_the_process_is_gone() {
        let mut child = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .unwrap();
        let id = ProcId::of_running(child.id()).unwrap();
        assert!(id.is_same_and_alive());
        assert!(!exited_unreaped(child.id()));
        let reused = ProcId {
            start_time: id.start_time + 1,
            ..id
        };
        reused.signal_if_same(Signal::SIGKILL);
        assert!(
            id.is_same_and_alive(),
            "a different start time was signalled"
        );
        id.signal_if_same(Signal::SIGKILL);
        child.wait().unwrap();
        assert!(!id.is_same_and_alive());
    }
}

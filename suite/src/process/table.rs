//! The machine's process table, read from `/proc`: the one place the suite
//! (and its tests) scans it.
//!
//! Plain `std::fs` reads rather than the `procfs` crate: the suite needs
//! four fields of `/proc/PID/stat` plus `environ` and `cmdline`, which a
//! short, tested parser covers, and `procfs` would add a dependency tree
//! for that.

use std::collections::{BTreeSet, HashMap};

/// What the suite needs from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    /// One-letter state (`S`, `R`, `Z`, …).
    pub state: char,
    pub ppid: u32,
    /// Process group id.
    pub pgrp: u32,
    /// Clock ticks since boot when the process started: with the PID, an
    /// identity that survives PID reuse.
    pub start_time: u64,
}

impl Stat {
    /// Zombies and dead tasks cannot be signalled usefully and hold nothing.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/PID/stat`. The command name (field 2) is in
/// parentheses and may itself contain spaces and parentheses, so fields are
/// counted from the last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let pid = text.split_whitespace().next()?.parse().ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// The stat of one process, `None` when it is gone.
pub fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// True when `pid` exists and is not a zombie.
pub fn is_running(pid: u32) -> bool {
    read_stat(pid).is_some_and(|s| !s.is_zombie())
}

/// Every process on the machine, by PID.
pub fn all() -> HashMap<u32, Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter_map(read_stat)
        .map(|stat| (stat.pid, stat))
        .collect()
}

/// All descendants of `root` in `table` (by parent links), sorted.
pub fn descendants_of(root: u32, table: &HashMap<u32, Stat>) -> Vec<u32> {
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
pub fn live_group_members(pgid: u32) -> Vec<u32> {
    all()
        .into_values()
        .filter(|s| s.pgrp == pgid && !s.is_zombie())
        .map(|s| s.pid)
        .collect()
}

/// The raw `environ` of a process (NUL-separated), empty when unreadable.
pub fn environ(pid: u32) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default()
}

/// The command line of a process, arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw)
        .split('\0')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when the environment of `pid` holds exactly `NAME=value`.
pub fn has_env(pid: u32, name: &str, value: &str) -> bool {
    let wanted = format!("{name}={value}");
    environ(pid)
        .split(|b| *b == 0)
        .any(|entry| entry == wanted.as_bytes())
}

/// Processes (other than this one) whose environment or command line
/// contains `needle`, with their command lines, sorted by PID. Tests use it
/// to find what a run left behind: everything a run starts carries its run
/// directory in its environment or arguments.
pub fn mentioning(needle: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut found: Vec<(u32, String)> = all()
        .into_keys()
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let cmdline = cmdline(pid);
            let hit =
                String::from_utf8_lossy(&environ(pid)).contains(needle) || cmdline.contains(needle);
            hit.then_some((pid, cmdline))
        })
        .collect();
    found.sort_unstable();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn stat(pid: u32, ppid: u32) -> (u32, Stat) {
        let stat = Stat {
            pid,
            state: 'S',
            ppid,
            pgrp: 0,
            start_time: 0,
        };
        (pid, stat)
    }

    #[test]
    fn descendants_follow_parent_links_through_every_level() {
        // 10 ─┬─ 11 ── 13 ── 14
        //     └─ 12
        // 20 ── 21 (unrelated)
        let table: HashMap<u32, Stat> = [
            stat(1, 0),
            stat(10, 1),
            stat(11, 10),
            stat(12, 10),
            stat(13, 11),
            stat(14, 13),
            stat(20, 1),
            stat(21, 20),
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
                pid: 42,
                state: 'S',
                ppid: 1,
                pgrp: 42,
                start_time: 12345
            }
        );
    }

    #[test]
    fn this_process_is_in_the_table_and_not_mentioning_itself() {
        let me = std::process::id();
        assert!(all().contains_key(&me));
        assert!(is_running(me));
        assert!(!cmdline(me).is_empty());
        let needle = format!("no-process-mentions-{}", uuid::Uuid::new_v4());
        assert!(mentioning(&needle).is_empty());
    }
}

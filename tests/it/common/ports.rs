//! Whether a port listens for a given process group: a free port picked with `bind(0)` and
//! released can be taken by another test's server before the tool binds it, so "the port
//! accepts" does not say whose it is. Linux only: `/proc/net/tcp{,6}` LISTEN sockets matched
//! against the socket inodes the group's processes hold.

use std::collections::HashSet;

/// The socket inodes held by the processes of process group `pgid`.
fn group_sockets(pgid: u32) -> HashSet<String> {
    let mut inodes = HashSet::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return inodes;
    };
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // `stat`: pid (comm) state ppid pgrp ...; comm may hold spaces, so read after ')'.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let group = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|g| g.parse::<u32>().ok());
        if group != Some(pgid) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = std::fs::read_link(fd.path()) {
                if let Some(inode) = link
                    .to_str()
                    .and_then(|l| l.strip_prefix("socket:["))
                    .and_then(|l| l.strip_suffix(']'))
                {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    inodes
}

/// Whether a process of group `pgid` holds a TCP socket listening on `port`.
pub fn group_listens(pgid: u32, port: u16) -> bool {
    let inodes = group_sockets(pgid);
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|line| {
                let c: Vec<&str> = line.split_whitespace().collect();
                c.len() > 9
                    && c[3] == "0A"
                    && c[1]
                        .rsplit(':')
                        .next()
                        .and_then(|p| u16::from_str_radix(p, 16).ok())
                        == Some(port)
                    && inodes.contains(c[9])
            })
    })
}

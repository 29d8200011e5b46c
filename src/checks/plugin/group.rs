//! A plugin's process group: killing it as a whole and reaping every member,
//! so a plugin that hangs with children leaves neither processes nor zombies.
//!
//! Why not `tokio::process`: it kills and reaps the direct child only. A shell
//! script's `sleep` (or `git`'s `git-remote-https`) would survive the kill,
//! and once orphaned it is reaped by PID 1 — which in a container is often
//! something that never reaps. So labwatch:
//!
//! - starts each plugin as the leader of a new process group;
//! - is a *child subreaper* (Linux `PR_SET_CHILD_SUBREAPER`), so the
//!   plugin's orphaned children are re-parented to labwatch, not PID 1. The
//!   flag is process-wide, so the executable sets it at start
//!   (`src/bin/labwatch/process/subreaper.rs`); a process that runs plugins
//!   without it still kills the group, and leaves the orphans to PID 1;
//! - waits for the leader's exit *without* reaping it (`waitid` with
//!   `WNOWAIT`): while the leader is a zombie its pid, and so the group id,
//!   cannot be reused — then SIGKILLs the group (whatever the plugin left
//!   running) and reaps the leader and every other member.
//!
//! A plugin that leaves its process group (`setsid`, daemonising) escapes
//! this; the protocol forbids it.
//!
//! std offers none of these calls; they come from the `libc` crate. Each is a
//! plain syscall wrapper with integer arguments and, for `waitid`/`waitpid`,
//! a pointer to a local buffer that outlives the call.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};

use libc::{ECHILD, EINTR, P_PID, SIGKILL, WEXITED, WNOWAIT, kill, waitid, waitpid};

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A running plugin's group. `kill` is safe to call at any time: once the
/// leader is reaped (and its pid free for reuse) it does nothing.
#[derive(Clone)]
pub struct Group {
    leader: i32,
    /// True once the leader was reaped; guards `kill` against pid reuse.
    reaped: Arc<Mutex<bool>>,
}

impl Group {
    pub fn new(leader: u32) -> Group {
        Group {
            leader: i32::try_from(leader).unwrap_or(i32::MAX),
            reaped: Arc::new(Mutex::new(false)),
        }
    }

    /// SIGKILL to every process of the group, unless it is gone already.
    pub fn kill(&self) {
        let reaped = self.reaped.lock().unwrap_or_else(|e| e.into_inner());
        if !*reaped {
            // SAFETY: plain syscall with integer arguments; the leader is not
            // reaped (we hold the lock that reaping takes), so the group id
            // still names this plugin's group.
            unsafe { kill(-self.leader, SIGKILL) };
        }
    }

    /// Blocks until the leader exits, kills what it left in its group and
    /// reaps the leader; returns its status. Runs on a thread of its own
    /// (it blocks in `waitid`/`waitpid`); [`Group::reap_members`] follows.
    pub fn wait_leader(&self) -> std::io::Result<ExitStatus> {
        // SAFETY: siginfo_t is plain data; all-zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: `info` is a live, writable, correctly sized buffer for
            // the duration of the call.
            let rc = unsafe { waitid(P_PID, self.leader.unsigned_abs(), &mut info, WEXITED | WNOWAIT) };
            if rc == 0 {
                break;
            }
            if errno() != EINTR {
                return Err(std::io::Error::last_os_error());
            }
        }
        let mut reaped = self.reaped.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: integer syscall; the leader is an unreaped zombie, so the
        // group id cannot have been reused.
        unsafe { kill(-self.leader, SIGKILL) };
        let status = reap(self.leader)?;
        *reaped = true;
        Ok(status)
    }

    /// Reaps the group's other members, which the subreaper flag made
    /// labwatch's children when the leader died; blocks until none is left
    /// (at once, without the flag: they are not labwatch's to reap).
    pub fn reap_members(&self) {
        let mut raw = 0;
        loop {
            // SAFETY: `raw` is a live local the call writes one int into.
            let rc = unsafe { waitpid(-self.leader, &mut raw, 0) };
            // ECHILD (or any error but EINTR): no member is left to reap.
            if rc < 0 && errno() != EINTR {
                break;
            }
        }
    }
}

fn reap(pid: i32) -> std::io::Result<ExitStatus> {
    let mut raw = 0;
    loop {
        // SAFETY: `raw` is a live local the call writes one int into.
        let rc = unsafe { waitpid(pid, &mut raw, 0) };
        if rc == pid {
            return Ok(ExitStatus::from_raw(raw));
        }
        let e = errno();
        if e == ECHILD {
            return Err(std::io::Error::other("the plugin process was reaped elsewhere"));
        }
        if e != EINTR {
            return Err(std::io::Error::last_os_error());
        }
    }
}

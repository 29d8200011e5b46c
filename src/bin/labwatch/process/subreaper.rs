//! labwatch as the *child subreaper* of its plugins' processes.
//!
//! A plugin runs as the leader of its own process group, and labwatch kills
//! and reaps the whole group when the plugin exits or times out (the
//! library's `checks::plugin::group`). A member the plugin left behind is
//! orphaned when the leader dies; without this flag it is re-parented to
//! PID 1, which in a container is often a process that never reaps, so
//! zombies pile up. Marked a subreaper (Linux `PR_SET_CHILD_SUBREAPER`),
//! labwatch adopts those orphans instead and reaps them itself.
//!
//! A process-wide flag, so the executable sets it once at start; tests that
//! run plugins inside the test process set it there.

/// Makes this process the reaper of its descendants' orphans. A failure
/// (not Linux, or forbidden) is logged, and orphans go to PID 1 instead.
#[cfg(target_os = "linux")]
pub fn become_subreaper() {
    // SAFETY: prctl with an integer option and one integer argument has no
    // memory effects; it only sets a flag on this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) };
    if rc != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "Cannot become the child subreaper; children of killed plugins are left to PID 1"
        );
    }
}

#[cfg(not(target_os = "linux"))]
pub fn become_subreaper() {}

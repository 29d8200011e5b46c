//! Giving memory back after a round. A round over thousands of repositories
//! allocates tens of megabytes for a moment (pages of GitLab JSON, the
//! decoded listing); glibc's allocator keeps what was freed in its per-thread
//! arenas, so without this a daemon's resident size ratchets up round after
//! round. `malloc_trim` returns the free pages to the kernel; it costs well
//! under a millisecond per round.

/// Returns freed heap pages to the kernel, where the allocator keeps them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists, under
    // its own locks; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators (musl, other systems) manage this themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}

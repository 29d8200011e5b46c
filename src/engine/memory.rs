//! Keeping the daemon's resident memory close to what it uses. A round over
//! thousands of repositories allocates megabytes for a moment (pages of
//! GitLab JSON, the outcomes it replaces); glibc's allocator keeps what was
//! freed, so without care a daemon's resident size ratchets up round after
//! round. Two measures, both glibc-specific (other allocators manage this
//! themselves):
//!
//! - [`tune_allocator`], once at start: few arenas, and large blocks always
//!   come from their own mappings, which go back to the kernel when freed.
//! - [`release_free_memory`], after every pass: `malloc_trim` returns the
//!   free pages inside the heap; it costs well under a millisecond.

/// Blocks from this size up get a mapping of their own: a `/metrics` body,
/// the listing's table. A page of listing JSON (about 470 KiB) stays below,
/// so the next page reuses its memory instead of faulting in fresh pages.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;

/// Heaps ("arenas") glibc may create. Its default is eight per core, one
/// per thread that meets contention, and each keeps its own free memory.
/// The daemon's few threads spend little time in the allocator (small
/// blocks come from per-thread caches first): one heap is enough, and
/// measured no slower in a 10,000-repository round.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_MAX: libc::c_int = 1;

/// Caps glibc's arenas and pins its mmap threshold. Left alone, glibc
/// raises the threshold to the size of every mapped block that is freed (up
/// to 32 MiB), so after the first round a page of listing JSON or a
/// `/metrics` body comes from the heap instead, where freeing it leaves
/// holes the process keeps. Setting the threshold turns that adjustment off.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune_allocator() {
    // SAFETY: mallopt only sets the allocator's parameters, under its lock;
    // it has no preconditions, and a refused value changes nothing.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Returns freed heap pages to the kernel, where the allocator keeps them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists, under
    // its own locks; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}

//! Keeping the daemon's resident memory close to what it uses. A round over
//! thousands of repositories allocates megabytes for a moment (pages of
//! GitLab JSON, the outcomes it replaces); glibc's allocator keeps what was
//! freed, so without care a daemon's resident size ratchets up round after
//! round. Two measures, both glibc-specific (other allocators manage this
//! themselves):
//!
//! - [`tune`], once at start: few arenas, and large blocks always come from
//!   their own mappings, which go back to the kernel when freed.
//! - [`IdleTrim`], from the async runtime's "worker is going idle" hook:
//!   when enough memory was freed since the last time, `malloc_trim`
//!   returns the free pages inside the heap. The cost of a trim grows with
//!   the heap, so it runs when work ends and at most a few times a second,
//!   never once per workspace.

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
/// Call it first thing in `main`, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    // SAFETY: mallopt only sets the allocator's parameters, under its lock;
    // it has no preconditions, and a refused value changes nothing.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

/// Gives freed heap pages back to the kernel when a runtime worker goes
/// idle, if at least [`IdleTrim::ENOUGH`] more bytes are free in the heap
/// than after the last trim, and at most once per [`IdleTrim::SPACING`].
#[derive(Default)]
pub struct IdleTrim {
    state: std::sync::Mutex<Trimmed>,
}

#[derive(Default)]
struct Trimmed {
    /// When the heap was last looked at.
    checked: Option<std::time::Instant>,
    /// Free bytes left in the heap by the last trim: fragments between
    /// blocks in use, which no trim can return.
    left_free: usize,
}

impl IdleTrim {
    /// Freed memory worth a trim: below this, a trim costs more than it
    /// returns.
    const ENOUGH: usize = 256 * 1024;
    /// Parking is frequent while a round waits on GitLab; the heap is looked
    /// at no more often than this.
    const SPACING: std::time::Duration = std::time::Duration::from_millis(250);

    /// For the runtime's `on_thread_park` hook.
    pub fn on_idle(&self) {
        // Another worker is looking already: nothing to add.
        let Ok(mut state) = self.state.try_lock() else { return };
        let now = std::time::Instant::now();
        if state.checked.is_some_and(|at| now.duration_since(at) < Self::SPACING) {
            return;
        }
        state.checked = Some(now);
        if free_in_heap() >= state.left_free + Self::ENOUGH {
            release_free_memory();
            state.left_free = free_in_heap();
        }
    }
}

/// Bytes in free blocks of the heap (not counting separately mapped blocks).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn free_in_heap() -> usize {
    // SAFETY: mallinfo2 reads the allocator's statistics under its locks and
    // returns them by value; it has no preconditions.
    unsafe { libc::mallinfo2() }.fordblks
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_in_heap() -> usize {
    0
}

/// Returns freed heap pages to the kernel, where the allocator keeps them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists, under
    // its own locks; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn memory_freed_while_busy_is_returned_when_the_worker_idles() {
        let trim = IdleTrim::default();
        // Many small blocks, freed: they stay in the heap until a trim.
        let blocks: Vec<Vec<u8>> = (0..4096).map(|_| vec![1u8; 4096]).collect();
        drop(blocks);
        let before = free_in_heap();
        assert!(before >= IdleTrim::ENOUGH, "{before} bytes free before the trim");
        trim.on_idle();
        let left = trim.state.lock().unwrap().left_free;
        assert!(left < before, "the trim returned memory: {before} -> {left}");
        // Right after, nothing new was freed: the next idle moment does not trim.
        trim.on_idle();
        assert_eq!(trim.state.lock().unwrap().left_free, left);
    }
}

//! Keeping the daemon's resident memory close to what it uses. A round over
//! thousands of repositories allocates megabytes for a moment (pages of
//! GitLab JSON, the outcomes it replaces); glibc's allocator keeps what was
//! freed, so without care a daemon's resident size ratchets up round after
//! round. Two measures, both glibc-specific (other allocators manage this
//! themselves):
//!
//! - [`tune`], once at start: few arenas, and large blocks always come from
//!   their own mappings, which go back to the kernel when freed.
//! - [`trim_when_quiet`], a task of the executable's runtime: when enough
//!   memory was freed and the heap stopped growing, `malloc_trim` returns
//!   the free pages inside the heap to the kernel. A trim costs time in
//!   proportion to the heap, so it runs at most once a second, when work
//!   has ended, never once per workspace: the engine used to trim after
//!   every workspace's pass, which a fleet of workspaces paid for N times a
//!   round.

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

/// How often [`trim_when_quiet`] looks at the heap.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Freed memory worth a trim: below this, a trim costs more than it returns.
const ENOUGH: usize = 256 * 1024;

/// Runs until the runtime stops: every [`LOOK_EVERY`], trims the heap when
/// at least [`ENOUGH`] more bytes are free in it than the last trim left,
/// and the bytes in use did not grow since the last look (so a round that
/// is still allocating is not trimmed under its feet, only to fault the
/// same pages back in).
pub async fn trim_when_quiet() {
    let mut ticks = tokio::time::interval(LOOK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heap = Heap::default();
    loop {
        ticks.tick().await;
        heap.look();
    }
}

/// What the last look at the heap saw.
#[derive(Default)]
struct Heap {
    /// Bytes in use at the last look.
    in_use: usize,
    /// Free bytes the last trim left: fragments between blocks in use,
    /// which no trim can return.
    left_free: usize,
}

impl Heap {
    /// Trims when worth it; true when it did.
    fn look(&mut self) -> bool {
        let (in_use, free) = usage();
        let quiet = in_use <= self.in_use;
        self.in_use = in_use;
        if !(quiet && free >= self.left_free + ENOUGH) {
            return false;
        }
        release_free_memory();
        (self.in_use, self.left_free) = usage();
        true
    }
}

/// Bytes in use and bytes free in the heap (separately mapped blocks are
/// not counted: they go back to the kernel when freed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn usage() -> (usize, usize) {
    // SAFETY: mallinfo2 reads the allocator's statistics under its locks and
    // returns them by value; it has no preconditions.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks, info.fordblks)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn usage() -> (usize, usize) {
    (0, 0)
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

    /// The process's resident memory, from `/proc/self/statm` (in pages).
    fn resident_bytes() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    /// One test, not two: the heap is the process's, and tests run in
    /// parallel threads.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_memory_goes_back_to_the_kernel_once_the_heap_stops_growing() {
        const MIB: usize = 1024 * 1024;
        let mut heap = Heap::default();
        // 32 MiB of small blocks, written to, so resident.
        let blocks: Vec<Vec<u8>> = (0..8192).map(|_| vec![1u8; 4096]).collect();
        // Keeps the freed blocks off the top of the heap, where free()
        // alone would give them back.
        let fence = vec![1u8; 4096];
        assert!(!heap.look(), "the heap grew since the last look: work is under way");
        drop(blocks);
        let before = resident_bytes();
        assert!(heap.look(), "the heap shrank and enough of it is free: trimmed");
        let after = resident_bytes();
        assert!(
            before.saturating_sub(after) >= 16 * MIB,
            "resident {} MiB before the trim, {} MiB after",
            before / MIB,
            after / MIB
        );
        assert!(!heap.look(), "nothing was freed since the last trim");
        drop(fence);
    }
}

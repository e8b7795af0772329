//! Greenlet stacks: mmap'd with a guard region below, pooled per hub.
//!
//! ```text
//!   high addresses
//!   +---------------------+  <- top (corosensei `base()`), 16-byte aligned
//!   |                     |
//!   |   usable stack      |  PROT_READ | PROT_WRITE, MAP_NORESERVE: pages
//!   |   (grows down)      |  cost memory only once touched
//!   |                     |
//!   +---------------------+  <- guard_hi
//!   |   guard region      |  PROT_NONE: touching it raises SIGSEGV, which
//!   +---------------------+  <- bottom (corosensei `limit()`) = guard_lo
//!   low addresses
//! ```
//!
//! Each stack costs two kernel memory maps (the guard and the usable part
//! differ in protection), so the number of live greenlets in a process is
//! bounded by `vm.max_map_count / 2` (about 32 000 at Linux's default of
//! 65 530). When a map cannot be made, the error says which limit ran out.
//!
//! The pool keeps finished stacks for reuse, so spawning in the steady state
//! costs no system call. Stacks that stay unused for a second, beyond the
//! [`HOT_STACKS`] most recently used, have their pages handed back to the
//! kernel (`madvise(MADV_DONTNEED)`), and those of them beyond a quarter of
//! `vm.max_map_count` stacks are unmapped.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use corosensei::stack::{Stack, StackPointer};

/// Stacks kept in the pool with their pages resident however long idle.
pub(crate) const HOT_STACKS: usize = 1024;

/// Stacks kept in the pool at most (the cold ones with their pages
/// released): a quarter of `vm.max_map_count` (each takes two maps), so the
/// pool holds at most half of the process's map budget, within
/// `[HOT_STACKS, 1 048 576]`. Pooled stacks are reused before any new one
/// is mapped, so they never keep this hub from reaching the limit.
fn pooled_stacks() -> usize {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(65_530);
    (limit / 4).clamp(HOT_STACKS, 1 << 20)
}
/// Size of the guard region below every stack.
pub(crate) const GUARD_SIZE: usize = 16 * 1024;
/// The smallest stack a greenlet can have.
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;

fn page_size() -> usize {
    // Asked once: sysconf is a library call of some hundred instructions,
    // and spawning asks for every stack.
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let page = PAGE.load(Ordering::Relaxed);
    if page != 0 {
        return page;
    }
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = if n > 0 { n as usize } else { 4096 };
    PAGE.store(page, Ordering::Relaxed);
    page
}

/// A guarded stack made with mmap. Unmapped on drop.
#[derive(Debug)]
pub(crate) struct GreenStack {
    bottom: usize,
    len: usize,
}

impl GreenStack {
    /// Maps a stack with `size` usable bytes (rounded up to whole pages) and a
    /// guard region below it.
    pub(crate) fn new(size: usize) -> io::Result<GreenStack> {
        let page = page_size();
        let size = size.max(MIN_STACK_SIZE).next_multiple_of(page);
        let guard = GUARD_SIZE.next_multiple_of(page);
        let len = size + guard;
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(map_error(io::Error::last_os_error(), size));
        }
        let bottom = ptr as usize;
        // From here on, dropping `stack` unmaps the whole region.
        let stack = GreenStack { bottom, len };
        // SAFETY: the range lies inside the mapping just made, which nothing
        // else refers to yet.
        let rc = unsafe {
            libc::mprotect(
                (bottom + guard) as *mut libc::c_void,
                size,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(map_error(io::Error::last_os_error(), size));
        }
        Ok(stack)
    }

    /// Usable size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.len - GUARD_SIZE.next_multiple_of(page_size())
    }

    /// The guard region, `[lo, hi)`.
    pub(crate) fn guard(&self) -> (usize, usize) {
        (self.bottom, self.bottom + self.len - self.size())
    }

    /// Hands the usable pages back to the kernel; the mapping stays.
    fn release_pages(&self) {
        let (_, hi) = self.guard();
        // SAFETY: the range is this stack's own usable mapping, and the stack
        // is not in use (it is in the pool), so discarding its contents is
        // harmless; the pages read back as zeros when touched again.
        unsafe {
            libc::madvise(hi as *mut libc::c_void, self.size(), libc::MADV_DONTNEED);
        }
    }
}

impl Drop for GreenStack {
    fn drop(&mut self) {
        // SAFETY: `bottom..bottom+len` is the mapping this value owns, and no
        // coroutine runs on it any more (corosensei hands a stack back only
        // once its coroutine finished, and we never drop one in use).
        unsafe {
            libc::munmap(self.bottom as *mut libc::c_void, self.len);
        }
    }
}

// SAFETY: the stack is a mapping of `len` bytes with a guard region of at
// least a page at its bottom; `base` is the page-aligned top (so aligned to
// STACK_ALIGNMENT) and `limit` the page-aligned bottom including the guard.
// The usable size is at least MIN_STACK_SIZE (16 KiB), above corosensei's own
// minimum of 4 KiB.
unsafe impl Stack for GreenStack {
    fn base(&self) -> StackPointer {
        StackPointer::new(self.bottom + self.len).expect("stack top is not null")
    }

    fn limit(&self) -> StackPointer {
        StackPointer::new(self.bottom).expect("stack bottom is not null")
    }
}

/// Turns a failed mmap/mprotect into an error that says what ran out.
fn map_error(err: io::Error, size: usize) -> io::Error {
    if err.raw_os_error() != Some(libc::ENOMEM) {
        return io::Error::new(
            err.kind(),
            format!("failed to map a greenlet stack of {size} bytes: {err}"),
        );
    }
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    let used = std::fs::read_to_string("/proc/self/maps")
        .map(|s| s.lines().count())
        .ok();
    match (limit, used) {
        (Some(limit), Some(used)) if used + 16 >= limit => io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "failed to map a greenlet stack: the process uses {used} memory maps and the \
                 kernel's limit vm.max_map_count is {limit}; each live greenlet takes 2 maps. \
                 Raise the limit (as root: `sysctl -w vm.max_map_count=2100000`) or run fewer \
                 greenlets at once"
            ),
        ),
        _ => io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "failed to map a greenlet stack of {size} bytes: out of memory ({err}); lower \
                 the stack size (`Builder::stack_size`) or raise the address-space limit \
                 (`ulimit -v`)"
            ),
        ),
    }
}

/// How often the pool hands back the pages of stacks that stayed unused.
const TRIM_INTERVAL: Duration = Duration::from_secs(1);

/// Finished stacks kept for reuse.
///
/// The stacks of the pool's size form a LIFO: the most recently finished
/// on top, reused first. The bottom `released` of them have had their pages
/// handed back. Once per [`TRIM_INTERVAL`] (from the hub, between polls),
/// the stacks that were not reused during the whole interval (those below
/// the lowest the LIFO sank to), except the [`HOT_STACKS`] on top, have their
/// pages handed back, and those of them beyond the pool's bound are
/// unmapped. Reusing a stack thus
/// costs no system call, and an idle pool costs no memory after a second.
#[derive(Debug)]
pub(crate) struct StackPool {
    free: Vec<GreenStack>,
    /// `free[..released]` have had their pages handed back.
    released: usize,
    /// The lowest `free.len()` since the last trim.
    low: usize,
    last_trim: Instant,
    /// Stacks of other sizes than the pool's (from `Builder::stack_size`).
    other: Vec<GreenStack>,
    size: usize,
    /// Stacks mapped so far (for statistics and tests).
    mapped: usize,
    /// Bound on `free.len()` after a trim.
    bound: usize,
}

impl StackPool {
    pub(crate) fn new(size: usize) -> StackPool {
        StackPool {
            free: Vec::new(),
            released: 0,
            low: 0,
            last_trim: Instant::now(),
            other: Vec::new(),
            size: size.max(MIN_STACK_SIZE).next_multiple_of(page_size()),
            mapped: 0,
            bound: pooled_stacks(),
        }
    }

    /// Usable size of the pool's stacks.
    pub(crate) fn default_size(&self) -> usize {
        self.size
    }

    pub(crate) fn set_default_size(&mut self, size: usize) {
        let size = size.max(MIN_STACK_SIZE).next_multiple_of(page_size());
        if size != self.size {
            self.size = size;
            self.other.append(&mut self.free);
            self.other.truncate(HOT_STACKS);
            self.released = 0;
            self.low = 0;
        }
    }

    fn rounded(&self, size: Option<usize>) -> usize {
        size.map(|s| s.max(MIN_STACK_SIZE).next_multiple_of(page_size()))
            .unwrap_or(self.size)
    }

    fn pop(&mut self) -> Option<GreenStack> {
        let stack = self.free.pop()?;
        let len = self.free.len();
        self.released = self.released.min(len);
        self.low = self.low.min(len);
        Some(stack)
    }

    /// A stack of at least `size` usable bytes (`None`: the pool's size).
    pub(crate) fn get(&mut self, size: Option<usize>) -> io::Result<GreenStack> {
        let want = self.rounded(size);
        if want == self.size {
            if let Some(s) = self.pop() {
                return Ok(s);
            }
        } else if let Some(i) = self.other.iter().position(|s| s.size() == want) {
            return Ok(self.other.swap_remove(i));
        }
        let stack = GreenStack::new(want)?;
        self.mapped += 1;
        Ok(stack)
    }

    /// Makes sure a stack of `size` can be had without mapping one, mapping
    /// it now if needed, so that running out is reported early.
    pub(crate) fn reserve(&mut self, size: Option<usize>) -> io::Result<()> {
        let want = self.rounded(size);
        let have = if want == self.size {
            !self.free.is_empty()
        } else {
            self.other.iter().any(|s| s.size() == want)
        };
        if !have {
            let stack = GreenStack::new(want)?;
            self.mapped += 1;
            self.put(stack);
        }
        Ok(())
    }

    /// Takes back the stack of a finished greenlet.
    pub(crate) fn put(&mut self, stack: GreenStack) {
        if stack.size() != self.size {
            if self.other.len() < HOT_STACKS {
                self.other.push(stack);
            }
            return;
        }
        self.free.push(stack);
    }

    /// Once per interval: hands back the pages of the stacks that stayed
    /// unused, and unmaps those beyond the bound.
    pub(crate) fn maybe_trim(&mut self, now: Instant) {
        if now.saturating_duration_since(self.last_trim) < TRIM_INTERVAL {
            return;
        }
        self.last_trim = now;
        let len = self.free.len();
        // Unused all interval, and not among the hottest.
        let idle_end = self.low.min(len.saturating_sub(HOT_STACKS));
        for stack in &self.free[self.released.min(idle_end)..idle_end] {
            stack.release_pages();
        }
        self.released = self.released.max(idle_end);
        if len > self.bound {
            // The oldest stacks are at the bottom. Only idle ones go: a
            // workload that keeps needing more stacks than the bound, second
            // after second, keeps them rather than mapping them again.
            let excess = (len - self.bound).min(idle_end);
            self.free.drain(..excess);
            self.released = self.released.saturating_sub(excess);
        }
        self.low = self.free.len();
    }

    /// Stacks currently in the pool.
    pub(crate) fn pooled(&self) -> usize {
        self.free.len() + self.other.len()
    }

    /// Stacks mapped since the pool was made.
    pub(crate) fn mapped(&self) -> usize {
        self.mapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_reuses_then_trims_idle_stacks() {
        let mut pool = StackPool::new(64 * 1024);
        let stacks: Vec<_> = (0..HOT_STACKS + 10)
            .map(|_| pool.get(None).unwrap())
            .collect();
        assert_eq!(pool.mapped(), HOT_STACKS + 10);
        for s in stacks {
            pool.put(s);
        }
        // Reuse maps nothing.
        let s = pool.get(None).unwrap();
        pool.put(s);
        assert_eq!(pool.mapped(), HOT_STACKS + 10);
        // First trim: the low-water mark was 0 before the puts, so nothing
        // counts as idle yet.
        let t0 = pool.last_trim;
        pool.maybe_trim(t0 + TRIM_INTERVAL);
        assert_eq!(pool.released, 0);
        // A whole interval without use: all but the hottest are released.
        pool.maybe_trim(t0 + 2 * TRIM_INTERVAL);
        assert_eq!(pool.released, 10);
        assert_eq!(pool.pooled(), HOT_STACKS + 10);
        // Taking a released stack lowers the mark.
        let taken: Vec<_> = (0..HOT_STACKS + 5)
            .map(|_| pool.get(None).unwrap())
            .collect();
        assert_eq!(pool.released, 5);
        assert_eq!(pool.mapped(), HOT_STACKS + 10);
        drop(taken);
    }
}

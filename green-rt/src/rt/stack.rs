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
    let limit = max_map_count().unwrap_or(65_530);
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
    /// The stack's id with valgrind (0 when not running under it).
    valgrind_id: usize,
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
        let mut stack = GreenStack {
            bottom,
            len,
            valgrind_id: 0,
        };
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
        // Under valgrind, a switch onto this stack is then taken for one,
        // not for a frame of hundreds of kilobytes on the thread's stack.
        stack.valgrind_id = valgrind::stack_register(bottom + guard, bottom + len);
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
        if self.valgrind_id != 0 {
            valgrind::stack_deregister(self.valgrind_id);
        }
        // SAFETY: `bottom..bottom+len` is the mapping this value owns, and no
        // coroutine runs on it any more (corosensei hands a stack back only
        // once its coroutine finished, and we never drop one in use).
        unsafe {
            libc::munmap(self.bottom as *mut libc::c_void, self.len);
        }
    }
}

/// valgrind's client requests for stacks (`VALGRIND_STACK_REGISTER` and
/// `VALGRIND_STACK_DEREGISTER` of valgrind.h), so that memcheck knows the
/// greenlet stacks; outside valgrind they do nothing.
mod valgrind {
    const STACK_REGISTER: usize = 0x1501;
    const STACK_DEREGISTER: usize = 0x1502;

    /// Registers `[start, end)` as a stack; returns valgrind's id for it,
    /// or 0 when not running under valgrind.
    pub(super) fn stack_register(start: usize, end: usize) -> usize {
        request(0, [STACK_REGISTER, start, end, 0, 0, 0])
    }

    /// Forgets the stack registered as `id`.
    pub(super) fn stack_deregister(id: usize) {
        request(0, [STACK_DEREGISTER, id, 0, 0, 0, 0]);
    }

    #[cfg(target_arch = "x86_64")]
    fn request(default: usize, args: [usize; 6]) -> usize {
        let mut result = default;
        // SAFETY: valgrind's "special instruction" sequence for amd64: four
        // rotations of rdi by 3 + 13 + 61 + 51 = 128 bits leave it as it was
        // and `xchg rbx, rbx` changes nothing, so on a real CPU only the
        // flags change (not declared preserved) and rdx keeps `default`.
        // Under valgrind, rdx receives the result of the request described
        // by the six words at rax, which stay alive across the asm block.
        unsafe {
            std::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                inout("rdx") result,
                in("rax") args.as_ptr(),
                inout("rdi") 0usize => _,
                options(nostack),
            );
        }
        result
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn request(default: usize, _args: [usize; 6]) -> usize {
        default
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

/// How long a count of the process's memory maps is reused. Counting
/// reads all of `/proc/self/maps` (some 27 ms at 65 000 maps), and at the
/// limit every spawn fails in turn: one count serves the whole burst.
const MAP_COUNT_TTL: Duration = Duration::from_millis(250);

/// Maps counted at most [`MAP_COUNT_TTL`] ago, with when.
static MAP_COUNT: std::sync::Mutex<Option<(Instant, usize)>> = std::sync::Mutex::new(None);

/// Counts the lines of `/proc/self/maps` without allocating (at the map
/// limit, growing a buffer may itself fail: large allocations are maps).
fn count_maps() -> Option<usize> {
    use std::io::Read;
    let mut f = std::fs::File::open("/proc/self/maps").ok()?;
    let mut buf = [0u8; 2048];
    let mut lines = 0;
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Some(lines),
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// The number of memory maps in use, counted at most once per
/// [`MAP_COUNT_TTL`] (a failing burst shares one count).
fn maps_in_use() -> Option<usize> {
    let now = Instant::now();
    let mut cached = MAP_COUNT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, n)) = *cached
        && now.saturating_duration_since(at) < MAP_COUNT_TTL
    {
        return Some(n);
    }
    let n = count_maps()?;
    *cached = Some((now, n));
    Some(n)
}

/// The first whitespace-separated number in a short `/proc` file, read
/// without allocating.
fn read_number(path: &str) -> Option<usize> {
    use std::io::Read;
    let mut buf = [0u8; 128];
    let n = std::fs::File::open(path).ok()?.read(&mut buf).ok()?;
    std::str::from_utf8(&buf[..n])
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `vm.max_map_count` (a short read).
fn max_map_count() -> Option<usize> {
    read_number("/proc/sys/vm/max_map_count")
}

/// The address-space limit (`ulimit -v`, RLIMIT_AS) in bytes, if one is
/// set.
fn address_space_limit() -> Option<usize> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limit into the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut rl) };
    (rc == 0 && rl.rlim_cur != libc::RLIM_INFINITY)
        .then(|| usize::try_from(rl.rlim_cur).unwrap_or(usize::MAX))
}

/// The process's virtual size in bytes (`/proc/self/statm`, a short read).
fn virtual_size() -> Option<usize> {
    Some(read_number("/proc/self/statm")? * page_size())
}

/// Maps within this many of `vm.max_map_count` count as "at the limit":
/// other threads map and unmap (malloc arenas, other hubs' stacks) between
/// the failure and the count, and the count may be up to
/// [`MAP_COUNT_TTL`] old.
fn map_margin(limit: usize) -> usize {
    (limit / 64).max(256)
}

/// What made a map fail with `ENOMEM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// `vm.max_map_count`: maps in use and the limit.
    MapCount(usize, usize),
    /// RLIMIT_AS (`ulimit -v`): virtual size and the limit, in bytes.
    AddressSpace(usize, usize),
    /// Neither is near: memory itself (overcommit accounting).
    Memory,
}

/// Decides why a map of `len` bytes failed with `ENOMEM`, from the map
/// count (`None`: it could not be read) and the limits. A map count that
/// cannot be read at all counts as at the limit: reading it fails when the
/// process cannot make one more map.
fn cause(
    used: Option<usize>,
    map_limit: Option<usize>,
    vsize: Option<usize>,
    as_limit: Option<usize>,
    len: usize,
) -> Cause {
    if let Some(limit) = map_limit {
        match used {
            Some(used) if used + map_margin(limit) >= limit => return Cause::MapCount(used, limit),
            None => return Cause::MapCount(limit, limit),
            Some(_) => {}
        }
    }
    if let (Some(vsize), Some(as_limit)) = (vsize, as_limit)
        && vsize.saturating_add(len) >= as_limit.saturating_sub(as_limit / 64)
    {
        return Cause::AddressSpace(vsize, as_limit);
    }
    Cause::Memory
}

/// Turns a failed mmap/mprotect into an error that says what ran out.
///
/// Cheap on the failure path: at the limit every spawn fails, so the map
/// count is shared by a burst of failures ([`maps_in_use`]) and everything
/// else is a short read or a system call.
fn map_error(err: io::Error, size: usize) -> io::Error {
    if err.raw_os_error() != Some(libc::ENOMEM) {
        return io::Error::new(
            err.kind(),
            format!("failed to map a greenlet stack of {size} bytes: {err}"),
        );
    }
    let len = size + GUARD_SIZE;
    let as_limit = address_space_limit();
    let vsize = if as_limit.is_some() {
        virtual_size()
    } else {
        None
    };
    let msg = match cause(maps_in_use(), max_map_count(), vsize, as_limit, len) {
        Cause::MapCount(used, limit) => format!(
            "failed to map a greenlet stack: the process uses {used} memory maps and the \
             kernel's limit vm.max_map_count is {limit}; each live greenlet takes 2 maps. \
             Raise the limit (as root: `sysctl -w vm.max_map_count=2100000`) or run fewer \
             greenlets at once"
        ),
        Cause::AddressSpace(vsize, limit) => format!(
            "failed to map a greenlet stack of {size} bytes: the process's address space \
             ({} MiB) is at its limit (`ulimit -v`, RLIMIT_AS: {} MiB); raise the limit or \
             lower the stack size (`Builder::stack_size`)",
            vsize >> 20,
            limit >> 20,
        ),
        Cause::Memory => format!(
            "failed to map a greenlet stack of {size} bytes: out of memory ({err}); lower \
             the stack size (`Builder::stack_size`) or run fewer greenlets at once (with \
             `vm.overcommit_memory=2`, every stack counts in full against the commit limit)"
        ),
    };
    io::Error::new(io::ErrorKind::OutOfMemory, msg)
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

    #[test]
    fn enomem_blames_the_limit_that_is_near() {
        const GIB: usize = 1 << 30;
        // At the map limit: vm.max_map_count, whatever RLIMIT_AS says.
        assert_eq!(
            cause(Some(65_531), Some(65_530), Some(GIB), Some(GIB), 1),
            Cause::MapCount(65_531, 65_530)
        );
        // Near it (other threads unmapped a few since the failure).
        assert_eq!(
            cause(Some(65_000), Some(65_530), None, None, 1),
            Cause::MapCount(65_000, 65_530)
        );
        // The maps could not be counted: that itself takes a map.
        assert_eq!(
            cause(None, Some(65_530), None, None, 1),
            Cause::MapCount(65_530, 65_530)
        );
        // Far from it: RLIMIT_AS only when set and near.
        assert_eq!(
            cause(
                Some(100),
                Some(65_530),
                Some(GIB),
                Some(GIB + 4096),
                64 * 1024
            ),
            Cause::AddressSpace(GIB, GIB + 4096)
        );
        assert_eq!(
            cause(
                Some(100),
                Some(65_530),
                Some(GIB),
                Some(64 * GIB),
                64 * 1024
            ),
            Cause::Memory
        );
        assert_eq!(
            cause(Some(100), Some(65_530), None, None, 64 * 1024),
            Cause::Memory
        );
    }

    #[test]
    fn map_count_is_shared_by_a_burst() {
        let n = count_maps().unwrap();
        assert!(n > 10, "{n}");
        let first = maps_in_use().unwrap();
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(maps_in_use(), Some(first));
            if t0.elapsed() >= MAP_COUNT_TTL / 2 {
                break;
            }
        }
        let err = map_error(io::Error::from_raw_os_error(libc::ENOMEM), 64 * 1024);
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
    }
}

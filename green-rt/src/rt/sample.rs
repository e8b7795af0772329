//! Sampling a hub's thread from another thread: which waiter runs there,
//! and the backtrace of the code it runs, taken by that thread itself.
//!
//! A hub that has stopped switching cannot answer a question: it is stuck
//! in the code being asked about. Reading its greenlet slab from another
//! thread would be a data race. So the monitor sends the hub's thread a
//! signal ([`SIGNAL`], SIGURG, which nothing else uses by default: its
//! default action is to ignore it, and Go uses it the same way); the
//! handler, on the stalled thread, copies the running waiter's id, name and
//! spawn site and walks its own stack into a static buffer, then marks the
//! sample done. The monitor waits for that mark (with a timeout), then
//! turns the addresses into symbols, which is slow and not
//! async-signal-safe, on its own thread.
//!
//! Limits, and why this is sound enough: the handler does no allocation,
//! takes no lock of ours and reads only what the interrupted thread owns
//! (plain reads of the thread-local hub, as the overflow handler does). The
//! stack walk (`backtrace::trace_unsynchronized`, libgcc's unwinder) is not
//! formally async-signal-safe: it may take the dynamic loader's lock to
//! find unwind tables, so a thread stalled *inside* the loader (`dlopen`)
//! would deadlock its handler; the monitor then gives up after its timeout
//! and reports the stall without a backtrace (the handler finishes when
//! the loader lock is released). Profilers (pprof-rs, Go's runtime) walk
//! stacks from signal handlers the same way. The handler is installed with
//! `SA_RESTART`, so a system call it interrupts is restarted (a `sleep`
//! resumes for its remaining time).

use std::ffi::c_void;
use std::panic::Location;
use std::sync::Mutex;
use std::sync::Once;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::context;

/// The signal that asks a thread for a sample.
pub(crate) const SIGNAL: libc::c_int = libc::SIGURG;
/// Frames kept per sample.
const MAX_FRAMES: usize = 96;
/// Bytes of the waiter's name kept.
const NAME_LEN: usize = 64;

const IDLE: u8 = 0;
const REQUESTED: u8 = 1;
const DONE: u8 = 2;

/// The one sample in flight, written by the handler, read by the sampler
/// once `state` is [`DONE`].
struct Slot {
    state: AtomicU8,
    /// The `pthread_t` asked.
    target: AtomicU64,
    id: AtomicU64,
    name_len: AtomicUsize,
    frames: AtomicUsize,
    buf: std::cell::UnsafeCell<Buffers>,
}

struct Buffers {
    name: [u8; NAME_LEN],
    site: Option<&'static Location<'static>>,
    ips: [usize; MAX_FRAMES],
}

// SAFETY: `buf` is written only by the handler on the target thread while
// `state` is REQUESTED for that thread, and read only by the sampler (which
// holds `SAMPLER`) after it saw `state == DONE` with Acquire, which the
// handler stores with Release after its writes; a late handler (after the
// sampler gave up) finds `state` no longer REQUESTED and writes nothing.
unsafe impl Sync for Slot {}

static SLOT: Slot = Slot {
    state: AtomicU8::new(IDLE),
    target: AtomicU64::new(0),
    id: AtomicU64::new(0),
    name_len: AtomicUsize::new(0),
    frames: AtomicUsize::new(0),
    buf: std::cell::UnsafeCell::new(Buffers {
        name: [0; NAME_LEN],
        site: None,
        ips: [0; MAX_FRAMES],
    }),
};

/// One sampler at a time.
static SAMPLER: Mutex<()> = Mutex::new(());

/// A sample of a thread: its running waiter and the backtrace of the code
/// it runs (innermost frame first).
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// The running waiter's id (0 if none could be read).
    pub(crate) id: u64,
    /// Its name.
    pub(crate) name: Option<String>,
    /// Where it was spawned.
    pub(crate) site: Option<&'static Location<'static>>,
    /// The return addresses of its stack, innermost first (see
    /// [`Sample::frames`]).
    ips: Vec<usize>,
}

/// A `pthread_t` as the slot stores it (an integer or a pointer,
/// depending on the platform).
#[allow(clippy::unnecessary_cast)]
fn key(t: libc::pthread_t) -> u64 {
    t as u64
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: an all-zero sigaction is valid (SIG_DFL, empty mask); it
        // is filled in before use.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action` is initialised; the handler only does
        // async-signal-safe work besides the stack walk (see the module
        // docs).
        unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(SIGNAL, &action, std::ptr::null_mut());
        }
    });
}

extern "C" fn handler(_sig: libc::c_int) {
    // SAFETY: pthread_self has no preconditions.
    let me = key(unsafe { libc::pthread_self() });
    if SLOT.state.load(Ordering::Acquire) != REQUESTED || SLOT.target.load(Ordering::Acquire) != me
    {
        return;
    }
    // SAFETY: errno is a thread-local int; the handler restores it so the
    // interrupted code does not see our calls' errors.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: see `Slot`: the state is REQUESTED for this thread, so only
    // this handler touches the buffers until it stores DONE.
    let buf = unsafe { &mut *SLOT.buf.get() };
    let mut id = 0;
    let mut name_len = 0;
    buf.site = None;
    if let Some(hub) = context::try_hub() {
        // Plain reads of this thread's hub: its running waiter's task is
        // alive while it runs (it is running: it was interrupted).
        let task = hub.current_task();
        id = task.id;
        buf.site = task.site;
        if let Some(name) = task.name.as_deref() {
            name_len = name.len().min(NAME_LEN);
            buf.name[..name_len].copy_from_slice(&name.as_bytes()[..name_len]);
        }
    }
    let mut n = 0;
    // SAFETY: `trace_unsynchronized` requires that no other thread walks a
    // stack with it at the same time through the same unwinder state; the
    // SAMPLER lock makes this the only sample in flight, and nothing else
    // in green walks stacks this way. See the module docs for its limits.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            buf.ips[n] = frame.ip() as usize;
            n += 1;
            n < MAX_FRAMES
        });
    }
    SLOT.id.store(id, Ordering::Relaxed);
    SLOT.name_len.store(name_len, Ordering::Relaxed);
    SLOT.frames.store(n, Ordering::Relaxed);
    SLOT.state.store(DONE, Ordering::Release);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Samples the thread `thread` (a hub's), waiting at most `timeout` for
/// its handler; `None` if it did not answer (or the signal could not be
/// sent).
pub(crate) fn sample(thread: libc::pthread_t, timeout: Duration) -> Option<Sample> {
    install();
    let _one = SAMPLER.lock().unwrap_or_else(|e| e.into_inner());
    SLOT.target.store(key(thread), Ordering::Release);
    SLOT.state.store(REQUESTED, Ordering::Release);
    // SAFETY: `thread` is the pthread_t a live hub published; the hub's
    // handle is held by the caller, and a hub's thread outlives it.
    if unsafe { libc::pthread_kill(thread, SIGNAL) } != 0 {
        SLOT.state.store(IDLE, Ordering::Release);
        return None;
    }
    let deadline = Instant::now() + timeout;
    while SLOT.state.load(Ordering::Acquire) != DONE {
        if Instant::now() >= deadline {
            // A handler still running finds the state changed and stops
            // writing only at its end; it never reads it again, and the
            // next sample waits for SAMPLER, so a late DONE is harmless.
            SLOT.state.store(IDLE, Ordering::Release);
            return None;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    // SAFETY: DONE seen with Acquire (see `Slot`).
    let buf = unsafe { &*SLOT.buf.get() };
    let n = SLOT.frames.load(Ordering::Relaxed);
    let name_len = SLOT.name_len.load(Ordering::Relaxed);
    let ips: Vec<usize> = buf.ips[..n].to_vec();
    let sample = Sample {
        id: SLOT.id.load(Ordering::Relaxed),
        name: (name_len > 0).then(|| String::from_utf8_lossy(&buf.name[..name_len]).into_owned()),
        site: buf.site,
        ips: Vec::new(),
    };
    SLOT.state.store(IDLE, Ordering::Release);
    Some(Sample { ips, ..sample })
}

impl Sample {
    /// The frames of the sampled code, innermost first: `function at
    /// file:line`, the handler's own and the signal frame dropped (slow:
    /// symbols are looked up).
    pub(crate) fn frames(&self) -> Vec<String> {
        symbolize(&self.ips)
    }
}

/// Resolves an address of this binary and one of the C library, so that
/// their symbols are loaded (which takes a good part of a second) before
/// the first sample needs them.
pub(crate) fn warm_up() {
    let _ = symbolize(&[
        warm_up as *const () as usize + 1,
        libc::nanosleep as *const () as usize + 1,
    ]);
}

/// The frames of the interrupted code, innermost first: those above the
/// signal frame (the handler's own and the kernel's trampoline) dropped.
fn symbolize(ips: &[usize]) -> Vec<String> {
    let mut frames: Vec<(String, bool)> = Vec::new();
    for &ip in ips {
        let mut names = Vec::new();
        backtrace::resolve(ip as *mut c_void, |sym| {
            // `#[green::main]` runs a patched copy of the crate in a module
            // `__green_crate`: name the user's items as they wrote them.
            let name = sym
                .name()
                .map(|n| format!("{n:#}").replace("::__green_crate", ""))
                .unwrap_or_else(|| format!("{ip:#x}"));
            let at = match (sym.filename(), sym.lineno()) {
                (Some(f), Some(l)) => format!(" at {}:{l}", f.display()),
                _ => String::new(),
            };
            names.push(format!("{name}{at}"));
        });
        if names.is_empty() {
            names.push(format!("{ip:#x}"));
        }
        for n in names {
            let ours = n.contains("green_rt::rt::sample")
                || n.starts_with("backtrace::")
                || n.contains("__restore_rt");
            frames.push((n, ours));
        }
    }
    // The signal frame: everything up to the last of our own frames, and
    // the kernel's return trampoline after it (unnamed in most libcs).
    let cut = frames
        .iter()
        .rposition(|(_, ours)| *ours)
        .map_or(0, |i| i + 1);
    let mut frames: Vec<String> = frames.into_iter().skip(cut).map(|(n, _)| n).collect();
    if frames.first().is_some_and(|f| f.starts_with("0x")) {
        frames.remove(0);
    }
    // Below the greenlet's body only green's own frames follow (the entry
    // of the greenlet, the coroutine, the loop): cut them.
    if let Some(end) = frames
        .iter()
        .position(|f| f.contains("as green_rt::rt::handle::Start>::run"))
    {
        frames.truncate(end);
        frames.push("... (green's runtime)".into());
    }
    frames
}

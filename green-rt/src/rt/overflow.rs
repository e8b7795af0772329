//! Stack overflow in a greenlet: a clear message naming it, then abort.
//!
//! std's own SIGSEGV handler knows only the guard pages of OS threads, so
//! an overflow on a greenlet stack would end as a bare "Segmentation fault".
//! green installs a handler (on the alternate signal stack, since the
//! faulting stack is full) that checks the faulting address against the
//! guard region of the greenlet running on this thread. Inside it: print
//!
//! ```text
//! thread '<name>' (greenlet <id>) has overflowed its stack
//! fatal runtime error: stack overflow, aborting
//! ```
//!
//! and abort, as std does for threads. Anywhere else: hand the signal to the
//! handler that was installed before (std's, or the default action).

use std::cell::Cell;
use std::sync::OnceLock;

use super::task::Task;

/// Finds the guard region and task of the greenlet running on this thread
/// (given by the hub's context; async-signal-safe: plain reads).
pub(crate) type RunningGuard = fn() -> Option<((usize, usize), *const Task)>;

thread_local! {
    static ALTSTACK: Cell<bool> = const { Cell::new(false) };
}

/// The handlers that were in place before ours, for SIGSEGV and SIGBUS,
/// and how to find the running greenlet.
struct Previous([libc::sigaction; 2], RunningGuard);

// SAFETY: `sigaction` is plain data (a handler address, flags and a signal
// mask); it is written once before being shared and only read afterwards.
unsafe impl Sync for Previous {}
// SAFETY: as above.
unsafe impl Send for Previous {}

static PREVIOUS: OnceLock<Previous> = OnceLock::new();

/// Installs the handler (once per process) and an alternate signal stack
/// for this thread (if it has none).
pub(crate) fn install(running: RunningGuard) {
    ensure_altstack();
    PREVIOUS.get_or_init(|| {
        let mut prev = [empty_sigaction(), empty_sigaction()];
        for (i, sig) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
            let mut action = empty_sigaction();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `action` is fully initialised; `prev[i]` receives the
            // old action. The handler is async-signal-safe (see below).
            unsafe {
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, &mut prev[i]);
            }
        }
        Previous(prev, running)
    });
}

fn empty_sigaction() -> libc::sigaction {
    // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, no flags,
    // empty mask).
    unsafe { std::mem::zeroed() }
}

fn ensure_altstack() {
    if ALTSTACK.with(|a| a.replace(true)) {
        return;
    }
    // SAFETY: querying the current alternate stack into a zeroed struct.
    let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: a null new stack only queries.
    unsafe { libc::sigaltstack(std::ptr::null(), &mut old) };
    if old.ss_flags & libc::SS_DISABLE == 0 {
        return; // std (or the user) already set one up.
    }
    let size = 64 * 1024;
    // SAFETY: a fresh anonymous mapping; it is deliberately never unmapped
    // (the thread may take a signal until it ends).
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return; // Overflow then ends as a plain SIGSEGV; nothing else breaks.
    }
    let st = libc::stack_t {
        ss_sp: p,
        ss_flags: 0,
        ss_size: size,
    };
    // SAFETY: `st` describes the mapping made above.
    unsafe { libc::sigaltstack(&st, std::ptr::null_mut()) };
}

/// Writes `bytes` to stderr, async-signal-safely.
fn write_stderr(bytes: &[u8]) {
    // SAFETY: `bytes` is a valid buffer of its length; write(2) is
    // async-signal-safe.
    unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
}

fn write_u64(mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    write_stderr(&buf[i..]);
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers, and
    // si_addr is defined for SIGSEGV and SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    // The hub's record of the running greenlet: plain reads of a
    // thread-local pointer and of cells only the faulting thread writes.
    if let Some(((lo, hi), task)) = PREVIOUS.get().and_then(|p| (p.1)())
        && lo <= addr
        && addr < hi
    {
        // SAFETY: the task of the running greenlet, which its hub keeps
        // alive while the greenlet runs (and it is running: it faulted).
        let task = unsafe { &*task };
        let name = task.name.as_deref().unwrap_or("<unnamed>");
        write_stderr(b"\nthread '");
        write_stderr(name.as_bytes());
        write_stderr(b"' (greenlet ");
        write_u64(task.id);
        write_stderr(
            b") has overflowed its stack\nfatal runtime error: stack overflow, aborting\n",
        );
        // SAFETY: abort is async-signal-safe.
        unsafe { libc::abort() };
    }
    let idx = if sig == libc::SIGSEGV { 0 } else { 1 };
    let Some(prev) = PREVIOUS.get().map(|p| p.0[idx]) else {
        return;
    };
    if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction
        // runs again and the kernel ends the process as it would have.
        let mut dfl = empty_sigaction();
        dfl.sa_sigaction = libc::SIG_DFL;
        // SAFETY: installs the default action for this signal.
        unsafe { libc::sigaction(sig, &dfl, std::ptr::null_mut()) };
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it
        // has this signature; we pass on the kernel's arguments unchanged.
        unsafe {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(prev.sa_sigaction);
            f(sig, info, ctx);
        }
    } else {
        // SAFETY: a handler installed without SA_SIGINFO takes the signal
        // number only.
        unsafe {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(prev.sa_sigaction);
            f(sig);
        }
    }
}

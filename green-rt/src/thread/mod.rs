//! Green threads ("greenlets"): a mirror of [`std::thread`].
//!
//! **Implements** green, with std's signatures and semantics: [`spawn`],
//! [`Builder`] (`name`, `stack_size`, `spawn`, `spawn_scoped`),
//! [`JoinHandle`] (`join`, `is_finished`, `thread`), [`Thread`]
//! (`id`, `name`, `unpark`), [`ThreadId`], [`current`], [`sleep`],
//! [`yield_now`], [`park`], [`park_timeout`], [`scope`] with [`Scope`] and
//! [`ScopedJoinHandle`], [`LocalKey`] and [`AccessError`] (greenlet-local
//! storage, made by [`thread_local!`](crate::thread_local)), [`panicking`]
//! (per greenlet: std's answer is per OS thread, shared by its greenlets).
//!
//! **Adds** (gevent's names): [`spawn_local`] (no `Send` bound; the
//! greenlet stays on this hub), [`spawn_later`], [`JoinHandle::kill`] with
//! its payload [`GreenletExit`] and [`is_greenlet_exit`].
//!
//! **Re-exports** from std unchanged: [`available_parallelism`],
//! [`Result`].
//!
//! A greenlet runs on the hub of the OS thread that spawned it (or, with
//! several hubs, [`runtime::Builder::workers`](crate::runtime::Builder::workers), on the hub `spawn` placed
//! it on) and never moves. It runs while other greenlets wait: each green
//! blocking call (`sleep`, `join`, a socket read, a lock) switches to the
//! next ready one.
//! A panic in a greenlet is reported as std reports a thread's and returned
//! by `join`; the other greenlets carry on.

use std::any::Any;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use std::thread::{Result, available_parallelism};

use crate::rt::handle::{Spawn, Start};
use crate::rt::spin::SpinLock;
pub use crate::rt::task::GreenletExit;
use crate::rt::task::{HubHandle, PENDING, Task};
use crate::rt::wait::{self, Wait};
use crate::rt::{context, unwind, workers};
pub use local::{AccessError, LocalKey};

/// A handle to a greenlet (or to an OS thread's root context); mirrors
/// [`std::thread::Thread`].
#[derive(Clone)]
pub struct Thread {
    task: Arc<Task>,
}

impl Thread {
    /// The greenlet's unique identifier.
    pub fn id(&self) -> ThreadId {
        ThreadId(NonZeroU64::new(self.task.id).expect("ids start at 1"))
    }

    /// The greenlet's name, if it was given one. The root context of an OS
    /// thread has that thread's name (`"main"` for the main thread).
    pub fn name(&self) -> Option<&str> {
        self.task.name.as_deref()
    }

    /// Wakes the greenlet if it is in [`park`], or makes its next `park`
    /// return at once. Callable from any thread.
    pub fn unpark(&self) {
        self.task.unpark();
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// A unique identifier of a greenlet; mirrors [`std::thread::ThreadId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(NonZeroU64);

impl ThreadId {
    /// The identifier as a number (std's unstable `as_u64`).
    pub fn as_u64(&self) -> NonZeroU64 {
        self.0
    }
}

/// The running greenlet (or the OS thread's root context).
pub fn current() -> Thread {
    Thread {
        task: wait::current(),
    }
}

/// Whether the current greenlet (or root context) is unwinding because of a
/// panic, a kill or a timeout; mirrors [`std::thread::panicking`].
///
/// std keeps one panic count per OS thread, which every greenlet on it
/// shares: while greenlet A is parked in a destructor during its unwind,
/// `std::thread::panicking()` is `true` in greenlet B as well. This
/// function answers for the caller alone (green's `Mutex` poisons with it).
/// It recognises the unwinds that start in green's panic hook or at a green
/// blocking point (kill, timeout); a panic that bypasses green's hook (a
/// hook installed after the runtime started, or `resume_unwind`) is
/// attributed by elimination: to the caller if no other greenlet on its hub
/// is known to be unwinding.
#[inline]
pub fn panicking() -> bool {
    if !std::thread::panicking() {
        return false;
    }
    match context::try_hub() {
        Some(hub) => unwind::is_unwinding(hub.current_task()),
        None => true,
    }
}

/// `catch_unwind` that records, for [`panicking`], that the current waiter
/// stopped unwinding when it catches a payload.
pub(crate) fn catch_unwind<R>(f: impl FnOnce() -> R) -> Result<R> {
    match context::try_hub() {
        Some(hub) => unwind::catch_unwind(hub.current_task(), f),
        None => panic::catch_unwind(AssertUnwindSafe(f)),
    }
}

/// `resume_unwind` that records, for [`panicking`], that the current waiter
/// unwinds (no hook runs for it).
pub(crate) fn resume_unwind(payload: Box<dyn Any + Send>) -> ! {
    match context::try_hub() {
        Some(hub) => unwind::resume_unwind(hub.current_task(), payload),
        None => panic::resume_unwind(payload),
    }
}

/// Panics as std's `join` does on a thread's own handle (EDEADLK) if
/// `task` is the caller.
fn check_self_join(task: &Arc<Task>) {
    if let Some(hub) = context::try_hub()
        && Arc::ptr_eq(hub.current_task(), task)
    {
        panic!(
            "failed to join thread: {}",
            io::Error::from_raw_os_error(libc::EDEADLK)
        );
    }
}

/// Puts the current greenlet to sleep for at least `dur`, running others
/// meanwhile. `sleep(Duration::ZERO)` yields, as gevent's `sleep(0)` does.
pub fn sleep(dur: Duration) {
    if dur.is_zero() {
        yield_now();
        return;
    }
    match Instant::now().checked_add(dur) {
        Some(deadline) => sleep_until(deadline),
        None => loop {
            wait::park();
        },
    }
}

/// Puts the current greenlet to sleep until `deadline`.
pub fn sleep_until(deadline: Instant) {
    while Instant::now() < deadline {
        wait::park_until(deadline);
    }
}

/// Sleeps for `ms` milliseconds; std's deprecated `sleep_ms`.
#[deprecated(note = "replaced by `green::thread::sleep`, as in std")]
pub fn sleep_ms(ms: u32) {
    sleep(Duration::from_millis(ms.into()));
}

/// Parks for at most `ms` milliseconds; std's deprecated
/// `park_timeout_ms`.
#[deprecated(note = "replaced by `green::thread::park_timeout`, as in std")]
pub fn park_timeout_ms(ms: u32) {
    park_timeout(Duration::from_millis(ms.into()));
}

/// Lets every other ready greenlet run once before the current one
/// continues.
#[inline]
pub fn yield_now() {
    // A kill that arrived before is seen on the way out as well.
    context::hub().yield_now();
    wait::check_interrupt();
}

/// Blocks the current greenlet until its [`Thread::unpark`] is called (or
/// spuriously, as with std).
#[inline]
pub fn park() {
    wait::park();
}

/// As [`park`], for at most `dur`.
pub fn park_timeout(dur: Duration) {
    match Instant::now().checked_add(dur) {
        Some(deadline) => wait::park_until(deadline),
        None => wait::park(),
    }
}

/// Whether `payload` (from [`JoinHandle::join`]'s `Err`) says the greenlet
/// was killed rather than panicked.
pub fn is_greenlet_exit(payload: &(dyn Any + Send)) -> bool {
    payload.is::<GreenletExit>()
}

mod builder;
mod join;
mod local;
mod scoped;

pub use builder::{Builder, spawn, spawn_later, spawn_local};
pub(crate) use join::FinishLog;
pub use join::JoinHandle;
use join::{Packet, PacketState};
use scoped::ScopeData;
pub use scoped::{Scope, ScopedJoinHandle, scope};

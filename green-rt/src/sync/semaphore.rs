//! gevent's `Semaphore` and `BoundedSemaphore` (`gevent.lock`).

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::rt::spin::SpinLock;
use crate::rt::waiter::{self, WaitQueue, Waiter};

#[derive(Debug)]
struct State {
    permits: usize,
    waiters: WaitQueue,
}

/// A counting semaphore whose `acquire` parks the greenlet (gevent's
/// `Semaphore`). FIFO: a release hands its permit straight to the longest
/// waiter.
///
/// ```
/// let sem = green_rt::sync::Semaphore::new(2);
/// let _a = sem.access();
/// let _b = sem.access();
/// assert!(!sem.try_acquire());
/// ```
pub struct Semaphore {
    state: SpinLock<State>,
    bound: Option<usize>,
}

/// Releases the permit of [`Semaphore::access`] on drop (Python's
/// `with sem:`).
#[must_use = "the permit is released when the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
}

/// A [`Semaphore`] that refuses to be released above its initial value
/// (gevent's `BoundedSemaphore`); it derefs to the semaphore for
/// `acquire` and friends.
pub struct BoundedSemaphore {
    sem: Semaphore,
}

/// Error of [`BoundedSemaphore::release`]: more releases than acquires
/// (gevent raises `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseError;

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore released too many times")
    }
}

impl Error for ReleaseError {}

impl Semaphore {
    /// A semaphore with `permits` permits. `const`.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: SpinLock::new(State {
                permits,
                waiters: WaitQueue::new("Semaphore"),
            }),
            bound: None,
        }
    }

    /// Takes a permit, parking until one is free.
    pub fn acquire(&self) {
        crate::rt::context::coop();
        self.acquire_inner(None);
    }

    /// Takes a permit if one frees up within `timeout`; returns whether it
    /// did.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_inner(Some(timeout))
    }

    /// Takes a permit if one is free now (and no one is queued).
    pub fn try_acquire(&self) -> bool {
        crate::rt::context::coop();
        let mut s = waiter::lock(&self.state);
        if s.permits > 0 && s.waiters.is_empty() {
            s.permits -= 1;
            true
        } else {
            false
        }
    }

    /// Takes a permit and returns a guard that gives it back.
    pub fn access(&self) -> SemaphoreGuard<'_> {
        self.acquire();
        SemaphoreGuard { sem: self }
    }

    fn acquire_inner(&self, timeout: Option<Duration>) -> bool {
        let w = {
            let mut s = waiter::lock(&self.state);
            if s.permits > 0 && s.waiters.is_empty() {
                s.permits -= 1;
                return true;
            }
            if timeout.is_some_and(|t| t.is_zero()) {
                return false;
            }
            s.waiters.push_current()
        };
        let deadline = timeout.and_then(waiter::deadline_after);
        self.wait(&w, deadline)
    }

    fn wait(&self, w: &Arc<Waiter>, deadline: Option<std::time::Instant>) -> bool {
        waiter::wait_grant(
            w,
            deadline,
            &|| !waiter::lock(&self.state).waiters.remove(w),
            &|| {
                let _ = self.release_inner();
            },
        )
    }

    /// Gives a permit back, to the longest waiter if there is one.
    pub fn release(&self) {
        let _ = self.release_inner();
    }

    fn release_inner(&self) -> Result<(), ReleaseError> {
        let mut s = waiter::lock(&self.state);
        if let Some(w) = s.waiters.pop() {
            // Hand-off: the permit goes to w without touching the count.
            w.wake();
            return Ok(());
        }
        if self.bound.is_some_and(|b| s.permits >= b) {
            return Err(ReleaseError);
        }
        s.permits += 1;
        Ok(())
    }

    /// Free permits (gevent's `counter`).
    pub fn available(&self) -> usize {
        waiter::lock(&self.state).permits
    }

    /// Whether `acquire` would park (gevent's `locked()`).
    pub fn locked(&self) -> bool {
        let s = waiter::lock(&self.state);
        s.permits == 0 || !s.waiters.is_empty()
    }

    /// Greenlets parked in `acquire`.
    pub fn waiting(&self) -> usize {
        waiter::lock(&self.state).waiters.len()
    }
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, which is also its maximum.
    pub const fn new(permits: usize) -> BoundedSemaphore {
        let mut sem = Semaphore::new(permits);
        sem.bound = Some(permits);
        BoundedSemaphore { sem }
    }

    /// Gives a permit back.
    ///
    /// # Errors
    ///
    /// [`ReleaseError`] if that would exceed the initial value.
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.sem.release_inner()
    }
}

impl std::ops::Deref for BoundedSemaphore {
    type Target = Semaphore;
    fn deref(&self) -> &Semaphore {
        &self.sem
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        let _ = self.sem.release_inner();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("available", &self.available())
            .field("bound", &self.sem.bound)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}

//! The green `Condvar`.

use std::fmt;
use std::sync::{Arc, LockResult, PoisonError};
use std::time::{Duration, Instant};

use super::mutex::MutexGuard;
use crate::rt::spin::SpinLock;
use crate::rt::waiter::{self, WaitQueue, Waiter};

/// A condition variable whose waits park the greenlet; mirrors
/// [`std::sync::Condvar`]. Use it with a green [`Mutex`](super::Mutex).
///
/// Waiters are woken in FIFO order. A waiter that is killed (or whose
/// [`Timeout`](crate::timeout::Timeout) fires) after `notify_one` chose it
/// passes the notification on to the next waiter, so it is not lost.
pub struct Condvar {
    waiters: SpinLock<WaitQueue>,
}

/// Whether a timed wait timed out; mirrors
/// [`std::sync::WaitTimeoutResult`] (whose values cannot be built outside
/// std).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the wait ended because the timeout elapsed.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl Condvar {
    /// A new condition variable. `const`.
    pub const fn new() -> Condvar {
        Condvar {
            waiters: SpinLock::new(WaitQueue::new("Condvar")),
        }
    }

    /// Unlocks `guard`'s mutex, waits for a notification, and locks it
    /// again. May wake spuriously, as std's.
    ///
    /// # Errors
    ///
    /// If the mutex is poisoned when it is locked again.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        let mutex = guard.mutex();
        let w = waiter::lock(&self.waiters).push_current();
        drop(guard);
        self.park(&w, None);
        mutex.lock()
    }

    /// Waits while `condition` holds for the protected data.
    ///
    /// # Errors
    ///
    /// If the mutex is poisoned when it is locked again.
    pub fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// As [`wait`](Self::wait), for at most `dur`.
    ///
    /// # Errors
    ///
    /// If the mutex is poisoned when it is locked again.
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let deadline = waiter::deadline_after(dur);
        let mutex = guard.mutex();
        let w = waiter::lock(&self.waiters).push_current();
        drop(guard);
        let notified = self.park(&w, deadline);
        let r = WaitTimeoutResult(!notified);
        match mutex.lock() {
            Ok(g) => Ok((g, r)),
            Err(e) => Err(PoisonError::new((e.into_inner(), r))),
        }
    }

    /// Waits while `condition` holds, for at most `dur` in total.
    ///
    /// # Errors
    ///
    /// If the mutex is poisoned when it is locked again.
    pub fn wait_timeout_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let deadline = waiter::deadline_after(dur);
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            let left = match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Ok((guard, WaitTimeoutResult(true)));
                    }
                    d - now
                }
                None => Duration::MAX,
            };
            guard = match self.wait_timeout(guard, left) {
                Ok((g, _)) => g,
                Err(e) => {
                    let (g, _) = e.into_inner();
                    return Err(PoisonError::new((g, WaitTimeoutResult(false))));
                }
            };
        }
    }

    /// Wakes one waiter, the longest waiting.
    pub fn notify_one(&self) {
        waiter::lock(&self.waiters).notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        waiter::lock(&self.waiters).notify_all();
    }

    /// Parks until notified or `deadline`; returns whether notified.
    fn park(&self, w: &Arc<Waiter>, deadline: Option<Instant>) -> bool {
        waiter::wait_grant(
            w,
            deadline,
            &|| !waiter::lock(&self.waiters).remove(w),
            &|| self.notify_one(),
        )
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

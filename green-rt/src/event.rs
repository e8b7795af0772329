//! Events and one-shot results (gevent's `gevent.event`: `Event`,
//! `AsyncResult`; eventlet's `Event`).
//!
//! Both are handles: cloning gives another handle to the same event, so
//! one can be moved into a greenlet and the other kept.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::{PoisonError, TryLockError};
use std::time::Duration;

use crate::rt::spin::SpinLock;
use crate::sync::Mutex;

use crate::rt::waiter::{self, WaitQueue};

/// A flag greenlets can wait for (gevent's `Event`): `set` wakes every
/// waiter, and later waits return at once until `clear`.
///
/// ```
/// use green_rt::event::Event;
///
/// let ev = Event::new();
/// let ev2 = ev.clone();
/// let h = green_rt::thread::spawn(move || ev2.wait());
/// ev.set();
/// assert!(h.join().unwrap());
/// ```
#[derive(Clone, Default)]
pub struct Event {
    inner: Arc<EventInner>,
}

struct EventInner {
    flag: AtomicBool,
    waiters: SpinLock<WaitQueue>,
}

impl Default for EventInner {
    fn default() -> EventInner {
        EventInner {
            flag: AtomicBool::new(false),
            waiters: SpinLock::new(WaitQueue::new("Event")),
        }
    }
}

impl Event {
    /// A new, unset event.
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        let mut q = waiter::lock(&self.inner.waiters);
        self.inner.flag.store(true, Ordering::Release);
        q.notify_all();
    }

    /// Resets the flag.
    pub fn clear(&self) {
        self.inner.flag.store(false, Ordering::Release);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        crate::rt::context::coop();
        self.inner.flag.load(Ordering::Acquire)
    }

    /// Parks until the flag is set; returns `true` (gevent returns the
    /// flag).
    pub fn wait(&self) -> bool {
        self.wait_inner(None)
    }

    /// Parks until the flag is set or `timeout` passes; returns the flag.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_inner(Some(timeout))
    }

    fn wait_inner(&self, timeout: Option<Duration>) -> bool {
        if self.is_set() {
            return true;
        }
        let flag = &self.inner.flag;
        waiter::wait_until(
            &self.inner.waiters,
            |q| q,
            |_| flag.load(Ordering::Acquire).then_some(()),
            timeout.and_then(waiter::deadline_after),
        )
        .is_some()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

/// The error type [`AsyncResult`] carries by default.
pub type BoxError = Arc<dyn std::error::Error + Send + Sync>;

/// A one-shot value or error that greenlets can wait for (gevent's
/// `AsyncResult`, eventlet's `Event.send`/`send_exception`).
///
/// The first `set` or `set_error` wins; later ones are ignored (their value
/// is dropped). Every waiter gets a clone of the outcome.
///
/// No user code runs under the internal lock: the outcome is cloned (and a
/// losing value dropped) outside it, so a `Clone` or `Drop` that makes a
/// green blocking call parks only its own greenlet. Clones of the outcome
/// are made one at a time (so `T` need not be `Sync`); a party that wants
/// the outcome while another greenlet's `Clone` is parked parks too.
pub struct AsyncResult<T, E = BoxError> {
    inner: Arc<ResultInner<T, E>>,
}

struct ResultInner<T, E> {
    state: SpinLock<ResultState>,
    /// The outcome: written once, by the `set` that won, before `ready` is
    /// published; read (cloned) afterwards. A green lock, not the spin
    /// lock, because `T::clone` runs under it.
    value: Mutex<Option<Result<T, E>>>,
}

struct ResultState {
    /// A `set` won (its value may not be stored yet).
    claimed: bool,
    /// `Some(is_ok)` once the outcome is stored.
    ready: Option<bool>,
    waiters: WaitQueue,
}

impl<T, E> AsyncResult<T, E> {
    /// A new, empty result.
    pub fn new() -> AsyncResult<T, E> {
        AsyncResult {
            inner: Arc::new(ResultInner {
                state: SpinLock::new(ResultState {
                    claimed: false,
                    ready: None,
                    waiters: WaitQueue::new("AsyncResult"),
                }),
                value: Mutex::new(None),
            }),
        }
    }

    fn settle(&self, r: Result<T, E>) {
        let mut s = waiter::lock(&self.inner.state);
        if s.claimed {
            drop(s);
            // The losing value is dropped outside the lock.
            drop(r);
            return;
        }
        s.claimed = true;
        drop(s);
        let ok = r.is_ok();
        // Nobody else takes `value` before `ready` is published below, so
        // this never waits (and so is no blocking point a kill could
        // unwind from, leaving the result claimed but never ready).
        match self.inner.value.try_lock() {
            Ok(mut v) => *v = Some(r),
            Err(TryLockError::Poisoned(p)) => *p.into_inner() = Some(r),
            Err(TryLockError::WouldBlock) => unreachable!("AsyncResult: value locked before set"),
        }
        let mut s = waiter::lock(&self.inner.state);
        s.ready = Some(ok);
        s.waiters.notify_all();
    }

    /// Stores a value and wakes every waiter.
    pub fn set(&self, value: T) {
        self.settle(Ok(value));
    }

    /// Stores an error and wakes every waiter.
    pub fn set_error(&self, error: E) {
        self.settle(Err(error));
    }

    /// Whether a value or error is stored.
    pub fn ready(&self) -> bool {
        waiter::lock(&self.inner.state).ready.is_some()
    }

    /// Whether a value (not an error) is stored.
    pub fn successful(&self) -> bool {
        waiter::lock(&self.inner.state).ready == Some(true)
    }

    /// Parks until the result is ready.
    pub fn wait(&self) {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.waiters,
            |s| s.ready.map(drop),
            None,
        );
    }

    /// Parks until the result is ready or `timeout` passes; returns
    /// whether it is ready.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.waiters,
            |s| s.ready.map(drop),
            waiter::deadline_after(timeout),
        )
        .is_some()
    }
}

impl<T: Clone, E: Clone> AsyncResult<T, E> {
    /// A clone of the stored outcome; the caller saw it ready. The clone is
    /// made under the green `value` lock only.
    fn cloned(&self) -> Result<T, E> {
        let v = self
            .inner
            .value
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        v.as_ref()
            .expect("AsyncResult: ready without a value")
            .clone()
    }

    /// Parks until ready and returns the outcome.
    ///
    /// # Errors
    ///
    /// The error given to [`set_error`](Self::set_error).
    pub fn get(&self) -> Result<T, E> {
        self.wait();
        self.cloned()
    }

    /// As [`get`](Self::get), for at most `timeout`: `None` if it did not
    /// become ready in time.
    pub fn get_timeout(&self, timeout: Duration) -> Option<Result<T, E>> {
        self.wait_timeout(timeout).then(|| self.cloned())
    }

    /// The outcome if ready, without waiting (gevent's `get(block=False)`).
    pub fn peek(&self) -> Option<Result<T, E>> {
        self.ready().then(|| self.cloned())
    }
}

impl<T, E> Clone for AsyncResult<T, E> {
    fn clone(&self) -> AsyncResult<T, E> {
        AsyncResult {
            inner: self.inner.clone(),
        }
    }
}

impl<T, E> Default for AsyncResult<T, E> {
    fn default() -> AsyncResult<T, E> {
        AsyncResult::new()
    }
}

impl<T, E> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.ready())
            .finish_non_exhaustive()
    }
}

//! Events and one-shot results (gevent's `gevent.event`: `Event`,
//! `AsyncResult`; eventlet's `Event`).
//!
//! Both are handles: cloning gives another handle to the same event, so
//! one can be moved into a greenlet and the other kept.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sync::spin::SpinLock;
use std::time::Duration;

use crate::sync::waiter::{self, WaitQueue};

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

#[derive(Default)]
struct EventInner {
    flag: AtomicBool,
    waiters: SpinLock<WaitQueue>,
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
/// The first `set` or `set_error` wins; later ones are ignored. Every
/// waiter gets a clone of the outcome.
pub struct AsyncResult<T, E = BoxError> {
    inner: Arc<ResultInner<T, E>>,
}

struct ResultInner<T, E> {
    state: SpinLock<ResultState<T, E>>,
}

struct ResultState<T, E> {
    outcome: Option<Result<T, E>>,
    waiters: WaitQueue,
}

impl<T, E> AsyncResult<T, E> {
    /// A new, empty result.
    pub fn new() -> AsyncResult<T, E> {
        AsyncResult {
            inner: Arc::new(ResultInner {
                state: SpinLock::new(ResultState {
                    outcome: None,
                    waiters: WaitQueue::new(),
                }),
            }),
        }
    }

    fn settle(&self, r: Result<T, E>) {
        let mut s = waiter::lock(&self.inner.state);
        if s.outcome.is_none() {
            s.outcome = Some(r);
            s.waiters.notify_all();
        }
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
        waiter::lock(&self.inner.state).outcome.is_some()
    }

    /// Whether a value (not an error) is stored.
    pub fn successful(&self) -> bool {
        matches!(waiter::lock(&self.inner.state).outcome, Some(Ok(_)))
    }

    /// Parks until the result is ready.
    pub fn wait(&self) {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.waiters,
            |s| s.outcome.is_some().then_some(()),
            None,
        );
    }

    /// Parks until the result is ready or `timeout` passes; returns
    /// whether it is ready.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.waiters,
            |s| s.outcome.is_some().then_some(()),
            waiter::deadline_after(timeout),
        )
        .is_some()
    }
}

impl<T: Clone, E: Clone> AsyncResult<T, E> {
    /// Parks until ready and returns the outcome.
    ///
    /// # Errors
    ///
    /// The error given to [`set_error`](Self::set_error).
    pub fn get(&self) -> Result<T, E> {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.waiters,
            |s| s.outcome.clone(),
            None,
        )
        .expect("no deadline")
    }

    /// As [`get`](Self::get), for at most `timeout`: `None` if it did not
    /// become ready in time.
    pub fn get_timeout(&self, timeout: Duration) -> Option<Result<T, E>> {
        waiter::wait_until(
            &self.inner.state,
            |s| &mut s.waiters,
            |s| s.outcome.clone(),
            waiter::deadline_after(timeout),
        )
    }

    /// The outcome if ready, without waiting (gevent's `get(block=False)`).
    pub fn peek(&self) -> Option<Result<T, E>> {
        waiter::lock(&self.inner.state).outcome.clone()
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

//! Timeouts for any blocking code (gevent's `Timeout`, eventlet's
//! `Timeout` and `with_timeout`).
//!
//! [`Timeout::start`] arms a deadline for the current greenlet. When it
//! passes, the greenlet's current (or next) green blocking call — a lock, a
//! channel, a socket, a sleep, a join — stops waiting and unwinds with an
//! [`Elapsed`] payload, running destructors on the way, exactly like
//! gevent raising `Timeout` inside the greenlet. Dropping the guard first
//! disarms it. [`with_timeout`] runs a closure under a deadline and turns
//! *its own* expiry into `Err(Elapsed)`; an inner or outer timeout's payload
//! keeps unwinding to its owner.
//!
//! ```
//! use std::time::Duration;
//! use green_rt::timeout::{with_timeout, Elapsed};
//!
//! let r = with_timeout(Duration::from_millis(10), || {
//!     green_rt::thread::sleep(Duration::from_secs(10));
//! });
//! assert!(matches!(r, Err(Elapsed { .. })));
//! ```
//!
//! A greenlet that never blocks cannot be interrupted (as in gevent): the
//! timeout fires at its next blocking call. An unwinding timeout poisons a
//! green `Mutex` held across it, as any unwind does.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::rt::context;
use crate::rt::task::Task;
use crate::rt::timer::TimerKey;
use crate::rt::wait;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The payload a blocking call unwinds with when a [`Timeout`] expires, and
/// the error of [`with_timeout`]. Each `Timeout` has its own, so nested
/// timeouts can tell theirs apart ([`Timeout::is_mine`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed {
    id: u64,
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// An armed deadline for the current greenlet; disarmed when dropped.
/// Not `Send`: it belongs to the greenlet (and hub) that started it.
#[must_use = "the timeout is cancelled when the guard is dropped"]
pub struct Timeout {
    armed: Option<(TimerKey, Arc<Task>)>,
    id: u64,
    deadline: Option<Instant>,
    _not_send: PhantomData<*const ()>,
}

impl Timeout {
    /// Arms a timeout `dur` from now for the current greenlet (or root
    /// context).
    pub fn start(dur: Duration) -> Timeout {
        match Instant::now().checked_add(dur) {
            Some(d) => Timeout::start_at(d),
            None => Timeout::never(),
        }
    }

    /// Arms a timeout at `deadline`.
    pub fn start_at(deadline: Instant) -> Timeout {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let task = wait::current();
        let target = task.clone();
        let key = context::hub().add_timer_fn(
            deadline,
            Box::new(move || {
                // A pending kill (or an outer timeout that fired first)
                // wins; do not overwrite it.
                target.interrupt_unless_pending(Box::new(Elapsed { id }));
            }),
        );
        Timeout {
            armed: Some((key, task)),
            id,
            deadline: Some(deadline),
            _not_send: PhantomData,
        }
    }

    /// A timeout that never fires (gevent's `Timeout(None)`).
    pub fn never() -> Timeout {
        Timeout {
            armed: None,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            deadline: None,
            _not_send: PhantomData,
        }
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The payload this timeout unwinds with.
    pub fn elapsed(&self) -> Elapsed {
        Elapsed { id: self.id }
    }

    /// Whether `payload` (caught with `catch_unwind`, or returned by
    /// `join`) is this timeout's expiry.
    pub fn is_mine(&self, payload: &(dyn Any + Send)) -> bool {
        payload
            .downcast_ref::<Elapsed>()
            .is_some_and(|e| e.id == self.id)
    }

    /// Disarms the timeout (as dropping it does).
    pub fn cancel(self) {}
}

impl Drop for Timeout {
    fn drop(&mut self) {
        let Some((key, task)) = self.armed.take() else {
            return;
        };
        if let Some(hub) = context::try_hub() {
            hub.cancel_timer(key);
        }
        // Fired but not yet delivered: withdraw our payload.
        let id = self.id;
        task.withdraw_interrupt(|p| p.downcast_ref::<Elapsed>().is_some_and(|e| e.id == id));
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Runs `f` with a deadline `dur` from now (eventlet's `with_timeout`).
///
/// # Errors
///
/// `Err(Elapsed)` if `f` was interrupted by this deadline. Other panics,
/// kills and other timeouts' payloads keep unwinding.
pub fn with_timeout<T, F: FnOnce() -> T>(dur: Duration, f: F) -> Result<T, Elapsed> {
    let t = Timeout::start(dur);
    match crate::thread::catch_unwind(f) {
        Ok(v) => Ok(v),
        Err(p) if t.is_mine(&*p) => Err(t.elapsed()),
        Err(p) => {
            drop(t);
            crate::thread::resume_unwind(p)
        }
    }
}

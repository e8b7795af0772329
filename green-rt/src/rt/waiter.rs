//! Wait queues: how every green primitive parks and wakes.
//!
//! A primitive keeps its state and one or more [`WaitQueue`]s behind an
//! internal [`SpinLock`] that is never held across a park. A waiter
//! that cannot proceed pushes a [`Waiter`] (its [`Task`] and a `notified`
//! flag), unlocks and parks; a waker pops waiters in FIFO order, sets their
//! flag and unparks them. Two disciplines build on that:
//!
//! - **condition waits** ([`wait_until`]): the flag is a hint, the waiter
//!   re-checks its condition under the lock. A waiter that unwinds (killed,
//!   timed out) after being notified passes the notification on, so no
//!   wake-up is lost.
//! - **hand-off** ([`wait_grant`]): the waker performs the state change on
//!   the waiter's behalf (gives it the lock, a permit) before setting the
//!   flag, which makes locks FIFO-fair. A waiter that unwinds after the
//!   grant releases what it was given.
//!
//! The loom model `green-rt/tests/loom_waiter.rs` compiles this file as it
//! is, with loom's atomics (see [`super::loom`]) and, in place of
//! `super::task` and `super::wait`, a stand-in whose waiters are loom threads (parked through
//! the real `ParkState` of `rt/park.rs`, timed out by a timer thread,
//! killed with an unwind), so what it checks is this code: that a grant
//! racing an abandon is kept or passed on exactly once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::loom::{AtomicBool, Ordering};
use super::spin::{SpinGuard, SpinLock};
use super::task::Task;
use super::wait;

/// One parked waiter.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub(crate) task: Arc<Task>,
    notified: AtomicBool,
    /// The primitive it waits on (see `runtime::dump`).
    what: &'static str,
}

impl Waiter {
    /// A waiter for the current task, not yet notified, waiting on the
    /// primitive named `what`.
    pub(crate) fn current(what: &'static str) -> Waiter {
        Waiter {
            task: wait::current(),
            notified: AtomicBool::new(false),
            what,
        }
    }

    /// Parks until woken, or until `deadline`.
    fn park(&self, deadline: Option<Instant>) {
        let why = wait::Wait::Queue(self.what);
        match deadline {
            Some(d) => wait::park_until_on(d, why),
            None => wait::park_on(why),
        }
    }

    /// Whether a waker popped this waiter (and, for hand-off, granted it).
    #[inline]
    pub(crate) fn is_notified(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// Marks the waiter notified and wakes it.
    #[inline]
    pub(crate) fn wake(&self) {
        self.notified.store(true, Ordering::Release);
        self.task.unpark();
    }
}

/// A FIFO queue of waiters, kept inside a primitive's locked state.
#[derive(Debug)]
pub(crate) struct WaitQueue {
    q: VecDeque<Arc<Waiter>>,
    /// The primitive (and operation) its waiters wait on, as
    /// `runtime::dump` names it: "Mutex", "Queue::get", ...
    what: &'static str,
}

impl WaitQueue {
    /// An empty queue of the primitive named `what`.
    pub(crate) const fn new(what: &'static str) -> WaitQueue {
        WaitQueue {
            q: VecDeque::new(),
            what,
        }
    }

    /// Queues the current waiter at the back.
    #[inline]
    pub(crate) fn push_current(&mut self) -> Arc<Waiter> {
        let w = Arc::new(Waiter::current(self.what));
        self.q.push_back(w.clone());
        w
    }

    /// Pops the first waiter without waking it.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Arc<Waiter>> {
        self.q.pop_front()
    }

    /// Wakes the first waiter; returns whether there was one.
    #[inline]
    pub(crate) fn notify_one(&mut self) -> bool {
        match self.q.pop_front() {
            Some(w) => {
                w.wake();
                true
            }
            None => false,
        }
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&mut self) {
        for w in self.q.drain(..) {
            w.wake();
        }
    }

    /// Removes `w` if it is still queued; returns whether it was.
    pub(crate) fn remove(&mut self, w: &Arc<Waiter>) -> bool {
        match self.q.iter().position(|x| Arc::ptr_eq(x, w)) {
            Some(i) => {
                self.q.remove(i);
                true
            }
            None => false,
        }
    }

    /// Whether no one waits.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Number of waiters.
    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }
}

/// Locks a primitive's internal state (see [`SpinLock`]).
#[inline]
pub(crate) fn lock<S: ?Sized>(m: &SpinLock<S>) -> SpinGuard<'_, S> {
    m.lock()
}

/// `now + dur`, or `None` (wait forever) when that overflows.
pub(crate) fn deadline_after(dur: Duration) -> Option<Instant> {
    Instant::now().checked_add(dur)
}

/// Selects a wait queue inside a primitive's state.
pub(crate) type QueueOf<S> = for<'a> fn(&'a mut S) -> &'a mut WaitQueue;

/// Waits until `poll` returns `Some` under `lock`, or until `deadline`
/// (then `None`). `queue` picks the wait queue that wakers of this
/// condition notify. Kill and timeout payloads unwind from here; a waiter
/// that unwinds after being notified passes the notification on.
pub(crate) fn wait_until<S, R>(
    lock: &SpinLock<S>,
    queue: QueueOf<S>,
    mut poll: impl FnMut(&mut S) -> Option<R>,
    deadline: Option<Instant>,
) -> Option<R> {
    let mut g = self::lock(lock);
    if let Some(r) = poll(&mut g) {
        return Some(r);
    }
    if deadline.is_some_and(wait::expired) {
        return None;
    }
    let w = queue(&mut g).push_current();
    drop(g);
    let mut cleanup = Cleanup {
        lock,
        queue,
        waiter: w,
        armed: true,
    };
    loop {
        cleanup.waiter.park(deadline);
        let mut g = self::lock(lock);
        let w = &cleanup.waiter;
        if let Some(r) = poll(&mut g) {
            if !w.is_notified() {
                queue(&mut g).remove(w);
            }
            cleanup.armed = false;
            return Some(r);
        }
        if deadline.is_some_and(wait::expired) {
            if !w.is_notified() {
                queue(&mut g).remove(w);
            }
            cleanup.armed = false;
            return None;
        }
        if w.is_notified() {
            // Woken, but someone else got there first: queue again.
            cleanup.waiter = queue(&mut g).push_current();
        }
    }
}

/// Leaves the wait queue when a condition wait unwinds.
struct Cleanup<'a, S> {
    lock: &'a SpinLock<S>,
    queue: QueueOf<S>,
    waiter: Arc<Waiter>,
    armed: bool,
}

impl<S> Drop for Cleanup<'_, S> {
    fn drop(&mut self) {
        if self.armed {
            let mut g = lock(self.lock);
            let q = (self.queue)(&mut g);
            if !q.remove(&self.waiter) {
                // We were notified but will not act on it: pass it on.
                q.notify_one();
            }
        }
    }
}

/// Waits until a waker grants `w` (hand-off discipline), or until
/// `deadline`. Returns whether it was granted.
///
/// `abandon` is called (from a timeout or an unwind) to leave the queue: it
/// locks the state and returns `false` if it removed `w` before a grant, or
/// `true` if `w` had been granted meanwhile. On a timeout a late grant is
/// kept (the call returns `true`); on an unwind it is given back with
/// `release`.
pub(crate) fn wait_grant(
    w: &Waiter,
    deadline: Option<Instant>,
    abandon: &dyn Fn() -> bool,
    release: &dyn Fn(),
) -> bool {
    struct Unwind<'a> {
        abandon: &'a dyn Fn() -> bool,
        release: &'a dyn Fn(),
        armed: bool,
    }
    impl Drop for Unwind<'_> {
        fn drop(&mut self) {
            if self.armed && (self.abandon)() {
                (self.release)();
            }
        }
    }
    let mut guard = Unwind {
        abandon,
        release,
        armed: true,
    };
    loop {
        if w.is_notified() {
            guard.armed = false;
            return true;
        }
        if let Some(d) = deadline
            && wait::expired(d)
        {
            guard.armed = false;
            return abandon();
        }
        w.park(deadline);
    }
}

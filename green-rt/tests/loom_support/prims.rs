//! Primitives for the wait-queue models, built on `src/rt/waiter.rs` as
//! the runtime's are, and a helper to start a waiter on a loom thread.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use ::loom::sync::atomic::{AtomicUsize, Ordering};
use ::loom::thread;

use crate::sync::spin::SpinLock;
use crate::sync::waiter::{self, WaitQueue, wait_grant, wait_until};
use crate::task::{self, Killed, Task};

/// A counting semaphore with hand-off, as the runtime's `Semaphore`.
pub(crate) struct Semaphore {
    state: SpinLock<State>,
    /// Permits held right now (checked: never more than exist).
    held: AtomicUsize,
    /// Permits in existence.
    total: usize,
}

struct State {
    permits: usize,
    waiters: WaitQueue,
}

/// How an `acquire` ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Acquired {
    Yes,
    TimedOut,
    Killed,
}

impl Semaphore {
    pub(crate) fn new(permits: usize) -> Arc<Semaphore> {
        Arc::new(Semaphore {
            state: SpinLock::new(State {
                permits,
                waiters: WaitQueue::new("Semaphore"),
            }),
            held: AtomicUsize::new(0),
            total: permits,
        })
    }

    fn take(&self) {
        let held = self.held.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(held <= self.total, "a permit granted twice");
    }

    pub(crate) fn acquire(&self, deadline: Option<Instant>) -> Acquired {
        let w = {
            let mut s = waiter::lock(&self.state);
            if s.permits > 0 && s.waiters.is_empty() {
                s.permits -= 1;
                drop(s);
                self.take();
                return Acquired::Yes;
            }
            s.waiters.push_current()
        };
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            wait_grant(
                &w,
                deadline,
                &|| !waiter::lock(&self.state).waiters.remove(&w),
                &|| self.release_grant(),
            )
        }));
        match r {
            Ok(true) => {
                self.take();
                Acquired::Yes
            }
            Ok(false) => Acquired::TimedOut,
            Err(payload) => {
                assert!(payload.is::<Killed>());
                Acquired::Killed
            }
        }
    }

    /// Gives a held permit back.
    pub(crate) fn release(&self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
        self.release_grant();
    }

    /// The permit goes to the first waiter (hand-off), or back to the count.
    fn release_grant(&self) {
        let mut s = waiter::lock(&self.state);
        match s.waiters.pop() {
            Some(w) => {
                // As `RawMutex::unlock_slow`: woken after the lock is
                // dropped (the semaphore wakes under it; both are fine).
                drop(s);
                w.wake();
            }
            None => s.permits += 1,
        }
    }

    /// Every permit is back and no one waits.
    pub(crate) fn assert_settled(&self) {
        let s = waiter::lock(&self.state);
        assert_eq!(s.permits, self.total, "a permit was lost");
        assert!(s.waiters.is_empty(), "a waiter was left queued");
        assert_eq!(self.held.load(Ordering::Relaxed), 0);
    }
}

/// Spawns a loom thread that runs `f` as a waiter; returns its task too.
pub(crate) fn spawn_waiter<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> (thread::JoinHandle<R>, Arc<Task>) {
    let t = Task::new();
    let h = {
        let t = t.clone();
        thread::spawn(move || {
            task::enter(&t);
            f()
        })
    };
    (h, t)
}

/// Tokens under a condition wait, as the runtime's queues and events: a
/// waiter takes one when there is one, a giver adds one and notifies one
/// waiter.
pub(crate) struct Tokens {
    pub(crate) state: SpinLock<TokenState>,
}

pub(crate) struct TokenState {
    pub(crate) tokens: usize,
    pub(crate) waiters: WaitQueue,
}

impl Tokens {
    pub(crate) fn new() -> Arc<Tokens> {
        Arc::new(Tokens {
            state: SpinLock::new(TokenState {
                tokens: 0,
                waiters: WaitQueue::new("Tokens"),
            }),
        })
    }

    pub(crate) fn take(&self) -> Option<()> {
        wait_until(
            &self.state,
            |s| &mut s.waiters,
            |s| {
                (s.tokens > 0).then(|| {
                    s.tokens -= 1;
                })
            },
            None,
        )
    }

    pub(crate) fn give(&self) {
        let mut s = waiter::lock(&self.state);
        s.tokens += 1;
        s.waiters.notify_one();
    }
}

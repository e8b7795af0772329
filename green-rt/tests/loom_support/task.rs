//! Stand-in for green-rt's `task` module in the loom models.
//!
//! `sync/waiter.rs` reaches the runtime only through `crate::task`: the
//! current waiter, `park`, `park_until`, `expired` and `Task::unpark`. Here
//! a waiter is a loom thread. Its park/notify state is the runtime's own
//! [`ParkState`] (`src/rt/park.rs`, compiled in as it is); what the hub
//! does around it is played by loom: suspending is `loom::thread::park`,
//! resuming a parked waiter is `Thread::unpark` (the hub's ready or remote
//! queue resumes a greenlet once per push, as a park token does). A timer
//! thread times a waiter out as the hub's timer does (mark it, unpark it),
//! and a kill unwinds from the waiter's next blocking point with
//! `resume_unwind`, as the runtime's interrupts do.

#[path = "../../src/rt/park.rs"]
mod park;

use std::cell::RefCell;
use std::panic;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use ::loom::sync::atomic::{AtomicBool, Ordering};

/// `park.rs` reaches the primitives as `super::loom`.
use crate::loom;
pub(crate) use park::ParkState;

/// The payload a killed stand-in waiter unwinds with.
#[derive(Debug)]
pub(crate) struct Killed;

/// A waiter: its park state, its loom thread, a timer and a kill flag.
#[derive(Debug)]
pub(crate) struct Task {
    state: ParkState,
    /// Set by [`enter`] on the waiter's own thread, before it can park.
    thread: OnceLock<::loom::thread::Thread>,
    timed_out: AtomicBool,
    killed: AtomicBool,
}

::loom::thread_local! {
    static CURRENT: RefCell<Option<Arc<Task>>> = RefCell::new(None);
}

impl Task {
    /// A waiter that a loom thread will [`enter`].
    pub(crate) fn new() -> Arc<Task> {
        Arc::new(Task {
            state: ParkState::new(),
            thread: OnceLock::new(),
            timed_out: AtomicBool::new(false),
            killed: AtomicBool::new(false),
        })
    }

    /// As the runtime's `Task::unpark`: if the waiter is parked, resume it
    /// (the hub's `schedule`).
    pub(crate) fn unpark(self: &Arc<Self>) {
        if self.state.unpark() {
            self.thread
                .get()
                .expect("a parked waiter has entered")
                .unpark();
        }
    }

    /// The waiter's timer fires: its deadline has passed, and it is
    /// unparked (the hub's `Action::Unpark`).
    pub(crate) fn time_out(self: &Arc<Self>) {
        self.timed_out.store(true, Ordering::Release);
        self.unpark();
    }

    /// Kills the waiter: it unwinds with [`Killed`] from its current or
    /// next blocking point.
    pub(crate) fn kill(self: &Arc<Self>) {
        // A read-modify-write, as the waiter's take of it is: loom orders a
        // plain store only after what its thread has seen, and would let
        // the waiter keep reading its own earlier `false`.
        self.killed.swap(true, Ordering::AcqRel);
        self.unpark();
    }
}

/// Makes `task` the current waiter of this loom thread.
pub(crate) fn enter(task: &Arc<Task>) {
    task.thread
        .set(::loom::thread::current())
        .expect("a waiter enters once");
    CURRENT.with(|c| *c.borrow_mut() = Some(task.clone()));
}

/// The current waiter (see [`enter`]).
pub(crate) fn current() -> Arc<Task> {
    CURRENT.with(|c| c.borrow().clone().expect("the thread entered a waiter"))
}

fn unwind_if_killed(task: &Task) {
    if task.killed.swap(false, Ordering::AcqRel) {
        panic::resume_unwind(Box::new(Killed));
    }
}

/// As the runtime's `task::park`: a pending kill unwinds from here, before
/// or after the wait.
pub(crate) fn park() {
    let task = current();
    unwind_if_killed(&task);
    task.state.park(::loom::thread::park);
    unwind_if_killed(&task);
}

/// As `park`; the deadline is the stand-in timer's (see
/// [`Task::time_out`]).
pub(crate) fn park_until(_deadline: Instant) {
    park();
}

/// Whether the current waiter's timer has fired.
pub(crate) fn expired(_deadline: Instant) -> bool {
    current().timed_out.load(Ordering::Acquire)
}

/// What a waiter waits for (the runtime records it for `runtime::dump`;
/// the models only need the type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// A primitive's wait queue, by name.
    Queue(&'static str),
}

/// [`park`], recording what the waiter waits for (ignored here).
pub(crate) fn park_on(_why: Wait) {
    park();
}

/// [`park_until`], recording what the waiter waits for (ignored here).
pub(crate) fn park_until_on(deadline: Instant, _why: Wait) {
    park_until(deadline);
}

//! Parking the current waiter: the one way every green primitive waits.
//!
//! [`park`] suspends the running greenlet (or, on the root context, runs
//! the hub's loop) until its [`Task`] is unparked; [`park_until`] adds a
//! timer. Interrupts (a kill, a `Timeout`) are delivered here, as an
//! unwind from the blocking point, before or after the wait.

use std::panic;
use std::sync::Arc;
use std::time::Instant;

use super::context;
pub(crate) use super::greenlet::Wait;
use super::hub::Hub;
use super::task::Task;
use super::unwind;

/// The current waiter.
pub(crate) fn current() -> Arc<Task> {
    context::hub().current_task().clone()
}

/// Unwinds with a pending interrupt (kill, timeout) of the current waiter.
#[inline]
pub(crate) fn check_interrupt() {
    unwind_if_interrupted(context::hub().current_task());
}

#[inline(always)]
fn unwind_if_interrupted(task: &Task) {
    if task.is_interrupted() {
        deliver_interrupt(task);
    }
}

/// Unwinds with `task`'s pending interrupt, unless it is unwinding already:
/// a second unwind from a destructor that runs during an unwind would abort
/// the process ("panic in a destructor during cleanup"), so the interrupt
/// stays pending until the unwind is over (it is then delivered at the next
/// blocking point, if the greenlet caught the first one and carries on).
#[cold]
#[inline(never)]
fn deliver_interrupt(task: &Task) {
    if std::thread::panicking() && unwind::is_unwinding(task) {
        return;
    }
    if let Some(payload) = task.take_interrupt() {
        unwind::begin(task);
        panic::resume_unwind(payload);
    }
}

/// Parks the current waiter until it is unparked (or spuriously). A pending
/// interrupt unwinds from here, before or after the wait.
#[inline(always)]
pub(crate) fn park() {
    park_on(Wait::Park);
}

/// As [`park`], but returns by `deadline` at the latest.
pub(crate) fn park_until(deadline: Instant) {
    park_until_on(deadline, Wait::Sleep(deadline));
}

/// As [`park`], recording what the waiter waits for (see
/// `runtime::dump`).
#[inline(always)]
pub(crate) fn park_on(why: Wait) {
    let hub = context::hub();
    let task = hub.current_task();
    unwind_if_interrupted(task);
    park_raw(hub, task, None, why);
    unwind_if_interrupted(task);
}

/// [`park_on`] or [`park_until_on`], as `deadline` says.
#[inline]
pub(crate) fn park_for(deadline: Option<Instant>, why: Wait) {
    match deadline {
        Some(d) => park_until_on(d, why),
        None => park_on(why),
    }
}

/// As [`park_until`], recording what the waiter waits for.
pub(crate) fn park_until_on(deadline: Instant, why: Wait) {
    let hub = context::hub();
    let task = hub.current_task();
    unwind_if_interrupted(task);
    park_raw(hub, task, Some(deadline), why);
    unwind_if_interrupted(task);
}

/// Parks without looking at interrupts (for waits that must complete, such
/// as the end of a `scope`).
pub(crate) fn park_uninterruptible() {
    let hub = context::hub();
    park_raw(hub, hub.current_task(), None, Wait::Park);
}

/// Whether `deadline` has passed (the wait queues' clock; the loom models
/// replace it with a timer they control).
#[inline]
pub(crate) fn expired(deadline: Instant) -> bool {
    Instant::now() >= deadline
}

#[inline(always)]
fn park_raw(hub: &Hub, task: &Arc<Task>, deadline: Option<Instant>, why: Wait) {
    if !task.begin_park() {
        return;
    }
    hub.note_wait(why);
    let timer = deadline.map(|d| hub.add_timer(d, task.clone()));
    if hub.in_hook.get() {
        hub.wait_in_hook(task);
    } else {
        hub.suspend_current();
    }
    if let Some(key) = timer {
        hub.cancel_timer(key);
    }
    task.end_park();
}

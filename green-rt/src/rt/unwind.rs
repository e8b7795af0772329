//! Who is unwinding: std's `panicking()` per greenlet.
//!
//! std counts panics per OS thread, and every greenlet on a thread shares
//! that count: while greenlet A is parked in a destructor during its
//! unwind, `std::thread::panicking()` is `true` in greenlet B as well. green
//! counts unwinds per waiter instead ([`Task`]'s own counter) and, per OS
//! thread (so per hub), how many of its waiters are unwinding, to attribute
//! an unwind that bypassed green's hook.
//!
//! An unwind starts in green's panic hook ([`super::hook`]), at a green
//! blocking point that delivers an interrupt ([`super::wait`]), or in
//! [`resume_unwind`]; it ends where green catches it ([`catch_unwind`]).

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

use super::task::Task;

thread_local! {
    /// Waiters on this thread recorded as unwinding.
    static UNWINDING: Cell<usize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    let _ = UNWINDING.try_with(|u| u.set(u.get().saturating_add_signed(delta)));
}

/// Records that `task` (running on this thread) starts to unwind: a panic
/// seen by green's hook, or an interrupt being delivered.
pub(crate) fn begin(task: &Task) {
    if task.enter_unwind() {
        add(1);
    }
}

/// Records that an unwind of `task` was caught.
pub(crate) fn end(task: &Task) {
    if task.leave_unwind() == Some(true) {
        add(-1);
    }
}

/// Whether `task`, running on this thread, is unwinding: the per-greenlet
/// answer to [`std::thread::panicking`].
///
/// A waiter green saw start to unwind is; once std says no panic is in
/// flight on the thread, none is (a record left by a panic the user caught
/// is cleared here). Otherwise the unwind std counts belongs to this waiter
/// only if no other waiter on the thread is recorded as unwinding (a panic
/// that bypassed green's hook: a hook installed over it, `resume_unwind`).
#[cold]
pub(crate) fn is_unwinding(task: &Task) -> bool {
    if !std::thread::panicking() {
        if task.clear_unwinds() {
            add(-1);
        }
        return false;
    }
    task.counts_unwind() || UNWINDING.try_with(Cell::get).unwrap_or(0) == 0
}

/// `catch_unwind` that records, for `panicking`, that `task` stopped
/// unwinding when it catches a payload.
pub(crate) fn catch_unwind<R>(task: &Task, f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    if r.is_err() {
        end(task);
    }
    r
}

/// `resume_unwind` that records, for `panicking`, that `task` unwinds (no
/// hook runs for it).
pub(crate) fn resume_unwind(task: &Task, payload: Box<dyn Any + Send>) -> ! {
    begin(task);
    panic::resume_unwind(payload)
}

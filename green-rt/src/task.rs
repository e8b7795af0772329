//! A waiter: a greenlet, or the root context of an OS thread.
//!
//! Every blocking primitive in green waits the same way: it puts the current
//! [`Task`] somewhere a waker will find it, then calls [`park`]. Waking is
//! [`Task::unpark`], from any thread. The state machine is std's thread
//! parker: a notification that arrives before the park is not lost, and
//! `park` may return spuriously, so callers loop on their condition.
//!
//! A waiter on this hub is woken by a push onto the hub's ready queue; a
//! waiter on another hub by a push onto that hub's remote queue and a
//! `mio::Waker` wake-up. Primitives therefore work within a hub, across hubs
//! and with plain OS threads alike.
//!
//! The state machine itself is [`ParkState`] (`task/park.rs`), which knows
//! nothing of hubs, so that the loom models check it as it is.

mod park;

use std::any::Any;
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::hub::{self, Hub, Remote};

pub(crate) use park::ParkState;

/// Slot of the root context (the OS thread's own stack).
pub(crate) const ROOT: usize = usize::MAX;
/// Slot of a greenlet handed to another hub that has not installed it yet.
pub(crate) const PENDING: usize = usize::MAX - 1;

/// The payload a killed greenlet unwinds with, and that its `join` returns.
///
/// Recognise it with [`is_greenlet_exit`](crate::thread::is_greenlet_exit) or
/// `err.downcast_ref::<GreenletExit>()`. As gevent's `GreenletExit`, it is
/// not reported as a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreenletExit;

impl std::error::Error for GreenletExit {}

impl std::fmt::Display for GreenletExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("greenlet killed")
    }
}

/// A greenlet's or root context's identity and wake-up state. `Send + Sync`.
#[derive(Debug)]
pub(crate) struct Task {
    state: ParkState,
    /// Set when `interrupt` holds a payload (fast check at blocking points).
    interrupted: AtomicBool,
    interrupt: Mutex<Option<Box<dyn Any + Send>>>,
    /// Unwinds in flight on this waiter (a panic that went through green's
    /// hook, or an interrupt), as std counts panics per OS thread. Only the
    /// waiter's own thread touches it.
    unwinding: AtomicU32,
    pub(crate) hub: Arc<Remote>,
    /// Index in the hub's greenlets, [`ROOT`], or [`PENDING`].
    slot: AtomicUsize,
    pub(crate) id: u64,
    pub(crate) name: Option<Box<str>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Task {
    pub(crate) fn new(hub: Arc<Remote>, slot: usize, name: Option<Box<str>>) -> Task {
        Task {
            state: ParkState::new(),
            interrupted: AtomicBool::new(false),
            interrupt: Mutex::new(None),
            unwinding: AtomicU32::new(0),
            hub,
            slot: AtomicUsize::new(slot),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
        }
    }

    /// Index in the hub's greenlets, [`ROOT`], or [`PENDING`].
    #[inline]
    pub(crate) fn slot(&self) -> usize {
        self.slot.load(Ordering::Acquire)
    }

    /// Records where the owning hub installed a greenlet made elsewhere.
    pub(crate) fn set_slot(&self, slot: usize) {
        self.slot.store(slot, Ordering::Release);
    }

    /// Wakes the waiter if it is parked, or makes its next `park` return at
    /// once. Callable from any thread.
    #[inline]
    pub(crate) fn unpark(self: &Arc<Self>) {
        if self.state.unpark() {
            hub::schedule(self);
        }
    }

    /// Asks the waiter to unwind with `payload` from its current or next
    /// blocking point, and wakes it.
    pub(crate) fn interrupt(self: &Arc<Self>, payload: Box<dyn Any + Send>) {
        *self.interrupt.lock().unwrap_or_else(|e| e.into_inner()) = Some(payload);
        self.interrupted.store(true, Ordering::Release);
        self.unpark();
    }

    /// Takes a pending interrupt payload, if any.
    /// Interrupts the waiter with `payload` unless an interrupt is pending
    /// already (a kill, or an outer timeout that fired first, wins);
    /// returns whether `payload` was delivered. A timeout's way in.
    pub(crate) fn interrupt_unless_pending(self: &Arc<Self>, payload: Box<dyn Any + Send>) -> bool {
        let mut slot = self.interrupt.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return false;
        }
        *slot = Some(payload);
        self.interrupted.store(true, Ordering::Release);
        drop(slot);
        self.unpark();
        true
    }

    /// Withdraws a pending interrupt that `mine` recognises (a timeout
    /// cancelled after it fired, before the waiter saw it); other
    /// interrupts stay.
    pub(crate) fn withdraw_interrupt(&self, mine: impl FnOnce(&(dyn Any + Send)) -> bool) {
        let mut slot = self.interrupt.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_deref().is_some_and(mine) {
            *slot = None;
            self.interrupted.store(false, Ordering::Release);
        }
    }

    pub(crate) fn take_interrupt(&self) -> Option<Box<dyn Any + Send>> {
        if !self.interrupted.load(Ordering::Acquire) {
            return None;
        }
        self.interrupted.store(false, Ordering::Release);
        self.interrupt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Whether an interrupt is pending.
    #[inline]
    pub(crate) fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Acquire)
    }

    /// Whether a notification is pending (used by the root's loop).
    #[inline]
    pub(crate) fn is_notified(&self) -> bool {
        self.state.is_notified()
    }

    /// Marks a finished greenlet: later wake-ups do nothing.
    pub(crate) fn set_done(&self) {
        self.state.set_done();
    }

    /// Drops a pending notification (the root context, before a wait of
    /// the hub's own).
    pub(crate) fn clear_notification(&self) {
        self.state.clear_notification();
    }
}

/// Records that `task` (running on `hub`) starts to unwind: a panic seen by
/// green's hook, or an interrupt being delivered.
pub(crate) fn begin_unwind(hub: &Hub, task: &Task) {
    if task.unwinding.fetch_add(1, Ordering::Relaxed) == 0 {
        hub.unwinding.set(hub.unwinding.get() + 1);
    }
}

/// Records that an unwind of `task` was caught.
pub(crate) fn end_unwind(hub: &Hub, task: &Task) {
    let n = task.unwinding.load(Ordering::Relaxed);
    if n > 0 {
        task.unwinding.store(n - 1, Ordering::Relaxed);
        if n == 1 {
            hub.unwinding.set(hub.unwinding.get().saturating_sub(1));
        }
    }
}

/// Whether `task`, running on `hub`, is unwinding: the per-greenlet answer
/// to [`std::thread::panicking`], which counts the panics of every greenlet
/// on the OS thread.
///
/// A waiter green saw start to unwind is; once std says no panic is in
/// flight on the thread, none is (a record left by a panic the user caught
/// is cleared here). Otherwise the unwind std counts belongs to this waiter
/// only if no other waiter on the hub is recorded as unwinding (a panic
/// that bypassed green's hook: a hook installed over it, `resume_unwind`).
#[cold]
pub(crate) fn is_unwinding(hub: &Hub, task: &Task) -> bool {
    let mine = task.unwinding.load(Ordering::Relaxed);
    if !std::thread::panicking() {
        if mine != 0 {
            task.unwinding.store(0, Ordering::Relaxed);
            hub.unwinding.set(hub.unwinding.get().saturating_sub(1));
        }
        return false;
    }
    mine != 0 || hub.unwinding.get() == 0
}

/// The current waiter.
pub(crate) fn current() -> Arc<Task> {
    hub::hub().current_task().clone()
}

/// Unwinds with a pending interrupt (kill, timeout) of the current waiter.
#[inline]
pub(crate) fn check_interrupt() {
    unwind_if_interrupted(hub::hub().current_task());
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
    let hub = hub::hub();
    if std::thread::panicking() && is_unwinding(hub, task) {
        return;
    }
    if let Some(payload) = task.take_interrupt() {
        begin_unwind(hub, task);
        panic::resume_unwind(payload);
    }
}

/// Parks the current waiter until it is unparked (or spuriously). A pending
/// interrupt unwinds from here, before or after the wait.
#[inline(always)]
pub(crate) fn park() {
    let hub = hub::hub();
    let task = hub.current_task();
    unwind_if_interrupted(task);
    park_raw(hub, task, None);
    unwind_if_interrupted(task);
}

/// As [`park`], but returns by `deadline` at the latest.
pub(crate) fn park_until(deadline: Instant) {
    let hub = hub::hub();
    let task = hub.current_task();
    unwind_if_interrupted(task);
    park_raw(hub, task, Some(deadline));
    unwind_if_interrupted(task);
}

/// Parks without looking at interrupts (for waits that must complete, such
/// as the end of a `scope`).
pub(crate) fn park_uninterruptible() {
    let hub = hub::hub();
    park_raw(hub, hub.current_task(), None);
}

/// Whether `deadline` has passed (the wait queues' clock; the loom models
/// replace it with a timer they control).
#[inline]
pub(crate) fn expired(deadline: Instant) -> bool {
    Instant::now() >= deadline
}

#[inline(always)]
fn park_raw(hub: &Hub, task: &Arc<Task>, deadline: Option<Instant>) {
    if !task.state.begin_park() {
        return;
    }
    let timer = deadline.map(|d| hub.add_timer(d, task.clone()));
    if hub.in_hook.get() {
        hub.wait_in_hook(task);
    } else {
        hub.suspend_current();
    }
    if let Some(key) = timer {
        hub.cancel_timer(key);
    }
    task.state.end_park();
}

//! A waiter: a greenlet, or the root context of an OS thread.
//!
//! Every blocking primitive in green waits the same way: it puts the current
//! [`Task`] somewhere a waker will find it, then parks (see [`super::wait`]).
//! Waking is [`Task::unpark`], from any thread. The state machine is std's thread
//! parker: a notification that arrives before the park is not lost, and
//! `park` may return spuriously, so callers loop on their condition.
//!
//! A waiter on this hub is woken by a push onto the hub's ready queue; a
//! waiter on another hub by a push onto that hub's remote queue and a
//! `mio::Waker` wake-up. Primitives therefore work within a hub, across hubs
//! and with plain OS threads alike.
//!
//! The state machine itself is [`ParkState`] (`rt/park.rs`), which knows
//! nothing of hubs, so that the loom models check it as it is. A task knows
//! its hub only by its [`Handle`], so this file sits below the hub.

use std::any::Any;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::handle::Handle;
use super::park::ParkState;

/// The handle of the hub a task belongs to.
pub(crate) type HubHandle = Handle<Task>;

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
    /// The hub the waiter lives on (greenlets never move).
    pub(crate) home: Arc<HubHandle>,
    /// Index in the hub's greenlets, [`ROOT`], or [`PENDING`].
    slot: AtomicUsize,
    pub(crate) id: u64,
    pub(crate) name: Option<Box<str>>,
    /// Where it was spawned (`None` for a root context).
    pub(crate) site: Option<&'static Location<'static>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Task {
    pub(crate) fn new(
        home: Arc<HubHandle>,
        slot: usize,
        name: Option<Box<str>>,
        site: Option<&'static Location<'static>>,
    ) -> Task {
        Task {
            state: ParkState::new(),
            interrupted: AtomicBool::new(false),
            interrupt: Mutex::new(None),
            unwinding: AtomicU32::new(0),
            home,
            slot: AtomicUsize::new(slot),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            site,
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
            self.home.schedule(self);
        }
    }

    /// Asks the waiter to unwind with `payload` from its current or next
    /// blocking point, and wakes it.
    pub(crate) fn interrupt(self: &Arc<Self>, payload: Box<dyn Any + Send>) {
        *self.interrupt.lock().unwrap_or_else(|e| e.into_inner()) = Some(payload);
        self.interrupted.store(true, Ordering::Release);
        self.unpark();
    }

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

    /// Takes a pending interrupt payload, if any.
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

    /// Starts a park: `false` if a notification was pending (consumed; do
    /// not suspend). See [`ParkState::begin_park`].
    #[inline(always)]
    pub(crate) fn begin_park(&self) -> bool {
        self.state.begin_park()
    }

    /// Ends a park begun with [`begin_park`](Self::begin_park).
    #[inline(always)]
    pub(crate) fn end_park(&self) {
        self.state.end_park();
    }

    /// Counts an unwind starting on this waiter; `true` if it is the only
    /// one (the waiter was not unwinding before).
    pub(crate) fn enter_unwind(&self) -> bool {
        self.unwinding.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// Counts an unwind of this waiter caught; `true` if none is left.
    /// `None` if none was counted.
    pub(crate) fn leave_unwind(&self) -> Option<bool> {
        let n = self.unwinding.load(Ordering::Relaxed);
        if n == 0 {
            return None;
        }
        self.unwinding.store(n - 1, Ordering::Relaxed);
        Some(n == 1)
    }

    /// Forgets every unwind counted on this waiter; whether there was any.
    pub(crate) fn clear_unwinds(&self) -> bool {
        self.unwinding.swap(0, Ordering::Relaxed) != 0
    }

    /// Whether an unwind is counted on this waiter.
    pub(crate) fn counts_unwind(&self) -> bool {
        self.unwinding.load(Ordering::Relaxed) != 0
    }
}

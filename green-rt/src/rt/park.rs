//! A waiter's park/notify state: the wake-up state machine of a
//! [`Task`](super::task::Task), apart from the hub.
//!
//! It is std's thread parker: a wake-up that arrives before the park is not
//! lost, wake-ups do not count up, and a park may return spuriously, so
//! callers loop on their condition. What parking *does* (switch to the
//! hub's loop, or run the loop on the root context) happens between
//! [`ParkState::begin_park`] and [`ParkState::end_park`] (the `suspend`
//! closure given to [`ParkState::park`]), and what waking does when the
//! waiter is parked (push it onto a ready or remote queue) is up to the
//! caller of [`ParkState::unpark`]. The loom model
//! `green-rt/tests/loom_task.rs` compiles this file with loom's atomics
//! (see [`super::loom`]) and plugs loom's threads into both.

use super::loom::{AtomicU8, Ordering};

const EMPTY: u8 = 0;
const PARKED: u8 = 1;
const NOTIFIED: u8 = 2;
const DONE: u8 = 3;

/// The park/notify state word of one waiter. Only its owner parks; any
/// thread may unpark.
#[derive(Debug)]
pub(crate) struct ParkState {
    state: AtomicU8,
}

impl ParkState {
    /// No wake-up pending, not parked.
    pub(crate) fn new() -> ParkState {
        ParkState {
            state: AtomicU8::new(EMPTY),
        }
    }

    /// Records a wake-up. Returns whether the owner is parked, in which
    /// case the caller must resume it: of all the wake-ups of one park,
    /// exactly one returns `true`.
    #[inline]
    pub(crate) fn unpark(&self) -> bool {
        match self.state.swap(NOTIFIED, Ordering::AcqRel) {
            PARKED => true,
            DONE => {
                // Put it back (a read-modify-write, as every write here
                // but the unparkers' own is: see `set_done`).
                self.state.swap(DONE, Ordering::AcqRel);
                false
            }
            _ => false,
        }
    }

    /// Parks the owner: returns at once, consuming it, if a wake-up is
    /// pending; otherwise marks the owner parked and calls `suspend`, which
    /// must return once an [`unpark`](Self::unpark) has returned `true` (or
    /// earlier: spurious returns are allowed), and consumes the wake-up.
    /// The same as [`begin_park`](Self::begin_park), `suspend` and
    /// [`end_park`](Self::end_park). (The runtime calls the halves; the
    /// loom models call this.)
    #[cfg_attr(not(all(loom, test)), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn park(&self, suspend: impl FnOnce()) {
        if self.begin_park() {
            suspend();
            self.end_park();
        }
    }

    /// The first half of [`park`](Self::park): returns `false`, having
    /// consumed it, if a wake-up is pending; otherwise marks the owner
    /// parked and returns `true`: the owner must then suspend until an
    /// [`unpark`](Self::unpark) returns `true` (or spuriously) and call
    /// [`end_park`](Self::end_park). (The runtime's park calls the halves
    /// itself, so that its suspend code stays inline: a closure that big is
    /// not inlined.)
    #[inline(always)]
    pub(crate) fn begin_park(&self) -> bool {
        if self.try_consume() {
            return false;
        }
        if self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // A wake-up arrived between the two steps.
            self.consume();
            return false;
        }
        true
    }

    /// The second half of [`park`](Self::park), once the owner is resumed:
    /// consumes the wake-up.
    #[inline(always)]
    pub(crate) fn end_park(&self) {
        self.consume();
    }

    /// Whether a wake-up is pending (the root context's loop runs until
    /// one is).
    #[inline]
    pub(crate) fn is_notified(&self) -> bool {
        self.state.load(Ordering::Acquire) == NOTIFIED
    }

    /// Drops a pending wake-up, if any (the root context, before a wait of
    /// the hub's own).
    pub(crate) fn clear_notification(&self) {
        if self.is_notified() {
            self.consume();
        }
    }

    /// Marks a finished waiter: later wake-ups do nothing.
    ///
    /// A read-modify-write (once per waiter, off the hot path), so that it
    /// lands after every wake-up it races with in the state's modification
    /// order; loom, which orders a plain store only after the writes its
    /// thread has seen, would otherwise let a racing wake-up's NOTIFIED
    /// outlive it.
    pub(crate) fn set_done(&self) {
        self.state.swap(DONE, Ordering::AcqRel);
    }

    /// Consumes a pending wake-up; returns whether there was one.
    #[inline(always)]
    fn try_consume(&self) -> bool {
        if self.state.load(Ordering::Acquire) == NOTIFIED {
            self.consume();
            true
        } else {
            false
        }
    }

    /// Back to EMPTY, from NOTIFIED (or from PARKED, after a spurious
    /// resume).
    ///
    /// This must be a read-modify-write with `Acquire`, not a store: an
    /// `unpark` that finds NOTIFIED does nothing, trusting the owner to see
    /// what it did before (its condition) when it next looks. Reading the
    /// state's latest value is what makes the owner synchronize with the
    /// last of those unparkers; a load followed by a store may read an
    /// earlier one's NOTIFIED, and the owner then checks its condition
    /// without seeing the later unparker's write and parks for good (the
    /// store-buffering shape, possible on x86 too). The loom model
    /// `two_unparkers_one_stale` (`green-rt/tests/loom_task.rs`) finds that
    /// lost wake-up with a store here.
    #[inline(always)]
    fn consume(&self) {
        self.state.swap(EMPTY, Ordering::Acquire);
    }
}

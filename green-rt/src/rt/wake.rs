//! The hand-over handshake between threads that give a hub work and the
//! hub going to sleep in its poll.
//!
//! A thread hands a hub work (a wake-up, a new greenlet) by pushing it onto
//! one of the hub's remote queues and then calling [`Handshake::notify`];
//! the hub takes it in its drain, which starts with [`Handshake::take`].
//! While the hub runs or spins it looks at [`Handshake::is_pending`]
//! itself, so a hand-over then costs no system call; only a hub that is
//! blocked in (or about to enter) its poll must be woken through its
//! `mio::Waker`. The danger is a hub that decides to block just as work
//! arrives: the work would sit in the queue while the hub sleeps.
//!
//! Both facts live in one atomic word, so that a hand-over and the hub's
//! decision to block are read-modify-writes of the same location and one of
//! them sees the other: either [`Handshake::begin_sleep`] finds the work
//! pending (the hub polls without blocking) or `notify` finds the hub
//! asleep (the caller wakes it). Two flags would need a `SeqCst` store and
//! load on each side, whose store-buffering pairing loom cannot check.
//!
//! The loom model `green-rt/tests/loom_remote.rs` compiles this file with
//! loom's atomics (see [`super::loom`]), the real spin lock as the queue's
//! lock and a stand-in for the `mio::Waker`.

use super::loom::{AtomicU8, Ordering};

/// Work was handed over since the hub last took it.
const PENDING: u8 = 1;
/// The hub is blocked in (or about to enter) a poll that may block.
const SLEEPING: u8 = 2;

/// The remote side's pending/sleeping word; see the module docs.
#[derive(Debug)]
pub(crate) struct Handshake {
    state: AtomicU8,
}

impl Handshake {
    /// Nothing pending, hub awake.
    pub(crate) fn new() -> Handshake {
        Handshake {
            state: AtomicU8::new(0),
        }
    }

    /// Called by a thread after it handed the hub work (pushed it where the
    /// hub's drain finds it). Returns whether the caller must wake the
    /// hub's poll: the hub sleeps and nobody else has woken it since the
    /// work before was handed over.
    #[inline]
    pub(crate) fn notify(&self) -> bool {
        self.state.fetch_or(PENDING, Ordering::AcqRel) == SLEEPING
    }

    /// Whether work was handed over since the last [`take`](Self::take).
    #[inline]
    pub(crate) fn is_pending(&self) -> bool {
        self.state.load(Ordering::Acquire) & PENDING != 0
    }

    /// The hub, before it drains its remote queues: clears the mark. Work
    /// handed over from now on sets it again, even if the drain sees it.
    #[inline]
    pub(crate) fn take(&self) {
        self.state.fetch_and(!PENDING, Ordering::AcqRel);
    }

    /// The hub, before a poll that may block: marks it asleep. Returns
    /// whether it may block; if not, work is pending and it must poll
    /// without blocking. Each call is followed by
    /// [`end_sleep`](Self::end_sleep) once the poll returns.
    #[inline]
    pub(crate) fn begin_sleep(&self) -> bool {
        self.state.fetch_or(SLEEPING, Ordering::AcqRel) & PENDING == 0
    }

    /// The hub, after the poll that [`begin_sleep`](Self::begin_sleep)
    /// announced: awake again. Work handed over while it slept is drained
    /// next (whoever found it asleep has woken it, or it is pending).
    #[inline]
    pub(crate) fn end_sleep(&self) {
        self.state.fetch_and(!SLEEPING, Ordering::AcqRel);
    }
}

//! Readiness and waiters of one I/O source, and the delivery of the hub's
//! poll events to them.
//!
//! The token of a registered source is the address of its [`ScheduledIo`]
//! (see [`super::io::Registration`], which keeps it alive), so an event goes
//! straight to its waiters: [`dispatch`] sets the ready bits and unparks
//! the tasks waiting for them. This file knows tasks, not hubs: the hub's
//! loop calls `dispatch`; waiting (registering with the current hub,
//! parking) is [`super::io`]'s.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mio::event::Event;

use super::spin::SpinLock;
use super::task::Task;

const READABLE: usize = 0b01;
const WRITABLE: usize = 0b10;
const READY_MASK: usize = 0b11;
/// Sticky: the peer closed its write half (or the socket failed). Reads
/// return at once from now on (EOF or the error), so a short read must not
/// make the next one wait for an event that will not come.
const READ_CLOSED: usize = 0b100;
/// Sticky: the write half is closed or the socket failed.
const WRITE_CLOSED: usize = 0b1000;
const TICK: usize = 0b1_0000;

/// Which way an operation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Reads, accepts, receives.
    Read,
    /// Writes, connects, sends.
    Write,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }
}

/// Readiness and waiters of one registered source.
#[derive(Debug, Default)]
pub(crate) struct ScheduledIo {
    /// Ready bits in the low two bits; a tick counter above them that moves
    /// on every event, so a clear does not lose an event that raced it.
    readiness: AtomicUsize,
    waiters: SpinLock<Waiters>,
}

#[derive(Debug, Default)]
struct Waiters {
    readers: Vec<Arc<Task>>,
    writers: Vec<Arc<Task>>,
}

impl ScheduledIo {
    /// A source whose readiness is unknown, which counts as ready: the
    /// first operation tries its system call and finds out.
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(READY_MASK),
            waiters: SpinLock::default(),
        }
    }

    fn set(&self, bits: usize) {
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            let new = (cur | bits).wrapping_add(TICK);
            match self.readiness.compare_exchange_weak(
                cur,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(c) => cur = c,
            }
        }
        // Wake under the lock: `unpark` only pushes onto a ready queue (a
        // leaf lock at most), and popping in place keeps the lists'
        // capacity, so a wake-up does not allocate.
        let mut w = self.waiters.lock();
        if bits & READABLE != 0 {
            while let Some(t) = w.readers.pop() {
                t.unpark();
            }
        }
        if bits & WRITABLE != 0 {
            while let Some(t) = w.writers.pop() {
                t.unpark();
            }
        }
    }

    /// Clears `dir`'s ready bit (an operation found the source not ready)
    /// unless an event arrived since `snapshot`.
    pub(crate) fn clear(&self, dir: Direction, snapshot: usize) {
        let cur = self.readiness.load(Ordering::Acquire);
        if cur & !READY_MASK == snapshot & !READY_MASK {
            // No event since the snapshot: the source really is not ready.
            let _ = self.readiness.compare_exchange(
                cur,
                cur & !dir.mask(),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// The readiness word now, for a later [`clear`](Self::clear).
    #[inline]
    pub(crate) fn snapshot(&self) -> usize {
        self.readiness.load(Ordering::Acquire)
    }

    /// Whether `dir` is ready.
    pub(crate) fn is_ready(&self, dir: Direction) -> bool {
        self.readiness.load(Ordering::Acquire) & dir.mask() != 0
    }

    /// Whether the next `dir` operation may not wait: ready, or closed.
    pub(crate) fn may_proceed(&self, dir: Direction) -> bool {
        let closed = match dir {
            Direction::Read => READ_CLOSED,
            Direction::Write => WRITE_CLOSED,
        };
        self.readiness.load(Ordering::Acquire) & (dir.mask() | closed) != 0
    }

    /// Adds `task` to the waiters for `dir` unless the source is ready;
    /// whether it was ready (the task was not added then).
    pub(crate) fn add_waiter(&self, dir: Direction, task: &Arc<Task>) -> bool {
        let mut w = self.waiters.lock();
        if self.is_ready(dir) {
            return true;
        }
        let list = match dir {
            Direction::Read => &mut w.readers,
            Direction::Write => &mut w.writers,
        };
        if !list.iter().any(|t| Arc::ptr_eq(t, task)) {
            list.push(task.clone());
        }
        false
    }
}

/// Delivers one event from the hub's poll.
pub(crate) fn dispatch(event: &Event) {
    let io = event.token().0 as *const ScheduledIo;
    let mut bits = 0;
    if event.is_readable() || event.is_read_closed() || event.is_error() || event.is_priority() {
        bits |= READABLE;
    }
    if event.is_writable() || event.is_write_closed() || event.is_error() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() || event.is_error() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() || event.is_error() {
        bits |= WRITE_CLOSED;
    }
    // SAFETY: tokens other than the hub's waker are addresses of live
    // ScheduledIo values: a registration's strong reference is released
    // only on the hub's thread outside a poll batch (see `Registration`),
    // after the source was deregistered, so no later poll returns it.
    unsafe { (*io).set(bits) };
}

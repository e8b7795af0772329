//! Readiness of I/O sources registered with a hub.
//!
//! A green socket is non-blocking and registered once, edge-triggered, with
//! the `mio::Registry` of the hub of the first greenlet that has to wait on
//! it. An operation tries the system call first; on `WouldBlock` it waits
//! for readiness (see [`Registration::io`]) and tries again.
//!
//! The token of a registration is the address of its [`ScheduledIo`], kept
//! alive by a strong reference that is released only where no poll batch of
//! the owning hub can still hold the token (on that hub's thread, between
//! two polls).

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use mio::event::Event;
use mio::unix::SourceFd;
use mio::{Interest, Token};

use crate::hub::{self, Remote};
use crate::sync::spin::SpinLock;
use crate::task::{self, Task};

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

    fn clear(&self, dir: Direction, snapshot: usize) {
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

    fn is_ready(&self, dir: Direction) -> bool {
        self.readiness.load(Ordering::Acquire) & dir.mask() != 0
    }

    /// Whether the next `dir` operation may not wait: ready, or closed.
    fn may_proceed(&self, dir: Direction) -> bool {
        let closed = match dir {
            Direction::Read => READ_CLOSED,
            Direction::Write => WRITE_CLOSED,
        };
        self.readiness.load(Ordering::Acquire) & (dir.mask() | closed) != 0
    }

    /// Waits until `dir` is ready or `deadline` passes; `false` on timeout.
    #[inline]
    fn wait(&self, dir: Direction, deadline: Option<Instant>) -> bool {
        {
            let mut w = self.waiters.lock();
            if self.is_ready(dir) {
                return true;
            }
            let list = match dir {
                Direction::Read => &mut w.readers,
                Direction::Write => &mut w.writers,
            };
            let me = hub::hub().current_task();
            if !list.iter().any(|t| Arc::ptr_eq(t, me)) {
                list.push(me.clone());
            }
        }
        match deadline {
            Some(d) => {
                if Instant::now() >= d {
                    return self.is_ready(dir);
                }
                task::park_until(d);
                self.is_ready(dir) || Instant::now() < d
            }
            None => {
                task::park();
                true
            }
        }
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

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "operation timed out")
}

/// A source's registration with a hub.
///
/// Owners call [`deregister`](Self::deregister) before closing the source.
#[derive(Debug)]
pub(crate) struct Registration {
    io: Arc<ScheduledIo>,
    fd: RawFd,
    interest: Interest,
    /// The hub the source is registered with, once a waiter registered it.
    hub: OnceLock<Arc<Remote>>,
    /// Serialises the first registration.
    registering: Mutex<()>,
}

impl Registration {
    /// A registration for `fd`, for reads and writes. The descriptor is
    /// registered with a hub only when an operation first has to wait, and
    /// then with the waiting greenlet's hub: a socket made on one hub and
    /// served by a greenlet on another (`workers > 1`) is polled where it
    /// is used.
    pub(crate) fn new(fd: RawFd) -> Registration {
        Registration::with_interest(fd, Interest::READABLE | Interest::WRITABLE)
    }

    /// As [`new`](Self::new), with the given interest.
    pub(crate) fn with_interest(fd: RawFd, interest: Interest) -> Registration {
        Registration {
            // Readiness starts unknown, which counts as ready: the first
            // operation tries its system call and finds out.
            io: Arc::new(ScheduledIo {
                readiness: AtomicUsize::new(READY_MASK),
                waiters: SpinLock::default(),
            }),
            fd,
            interest,
            hub: OnceLock::new(),
            registering: Mutex::new(()),
        }
    }

    /// Registers the descriptor with the current thread's hub unless it is
    /// registered already. Registering reports the readiness the descriptor
    /// has at that moment (epoll checks on `EPOLL_CTL_ADD`), so an event
    /// that came before is not lost.
    fn ensure_registered(&self) -> io::Result<()> {
        if self.hub.get().is_some() {
            return Ok(());
        }
        let _guard = self.registering.lock().unwrap_or_else(|e| e.into_inner());
        if self.hub.get().is_some() {
            return Ok(());
        }
        let hub = hub::hub();
        let token = Token(Arc::as_ptr(&self.io) as usize);
        hub.registry()
            .register(&mut SourceFd(&self.fd), token, self.interest)?;
        let _ = self.hub.set(hub.remote.clone());
        Ok(())
    }

    /// Waits for `dir` readiness (registering first if needed); `false` on
    /// timeout.
    #[inline]
    fn wait_ready(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<bool> {
        self.ensure_registered()?;
        Ok(self.io.wait(dir, deadline))
    }

    /// Runs `f` until it does not return `WouldBlock`, waiting for `dir`
    /// readiness in between. With a `deadline`, returns
    /// `ErrorKind::TimedOut` once it passes.
    pub(crate) fn io<R>(
        &self,
        dir: Direction,
        deadline: Option<Instant>,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let mut waited = false;
        loop {
            let snapshot = self.io.readiness.load(Ordering::Acquire);
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear(dir, snapshot);
                    waited = true;
                    if !self.wait_ready(dir, deadline)? {
                        return Err(timed_out());
                    }
                }
                r => {
                    if !waited {
                        hub::coop();
                    }
                    return r;
                }
            }
        }
    }

    /// As [`io`](Self::io), for byte streams moving `len` bytes: a short
    /// transfer (`0 < n < len`) proves the socket drained (its receive queue
    /// empty, or its send buffer full), so the readiness is cleared and the
    /// next call waits for an event before its system call, saving the try
    /// that would return `WouldBlock` (tokio does the same). A clear races
    /// no event: it is skipped if one arrived since the snapshot.
    pub(crate) fn io_stream(
        &self,
        dir: Direction,
        deadline: Option<Instant>,
        len: usize,
        mut f: impl FnMut() -> io::Result<usize>,
    ) -> io::Result<usize> {
        let mut waited = false;
        loop {
            if len > 0 && !self.io.may_proceed(dir) {
                waited = true;
                if !self.wait_ready(dir, deadline)? {
                    return Err(timed_out());
                }
                // Woken spuriously (or by the other direction): wait again.
                continue;
            }
            let snapshot = self.io.readiness.load(Ordering::Acquire);
            match f() {
                Ok(n) if n > 0 && n < len => {
                    self.io.clear(dir, snapshot);
                    if !waited {
                        hub::coop();
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear(dir, snapshot);
                    waited = true;
                    if !self.wait_ready(dir, deadline)? {
                        return Err(timed_out());
                    }
                }
                r => {
                    if !waited {
                        hub::coop();
                    }
                    return r;
                }
            }
        }
    }

    /// Removes the descriptor from its hub's poll, if it was registered.
    /// Call before closing it.
    pub(crate) fn deregister(&self) -> io::Result<()> {
        match self.hub.get() {
            Some(hub) => hub.registry.deregister(&mut SourceFd(&self.fd)),
            None => Ok(()),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(owner) = self.hub.get() else {
            return; // never registered: no hub holds the token
        };
        match hub::try_hub() {
            // On the owning hub's thread, outside any poll batch (user code
            // never runs inside one): the token can no longer be delivered.
            Some(h) if Arc::ptr_eq(&h.remote, owner) => {}
            // Elsewhere the owning hub may be in the middle of a batch that
            // holds the token: let it drop the last reference between polls.
            _ => owner.release(self.io.clone()),
        }
    }
}

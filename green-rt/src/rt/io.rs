//! Waiting for I/O: registering a source with the current hub and parking
//! until its readiness event.
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
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Token};

use super::context;
pub(crate) use super::scheduled::Direction;
use super::scheduled::ScheduledIo;
use super::task::HubHandle;
use super::wait::{self, Wait};

/// Waits until `io` is ready for `dir` or `deadline` passes; `false` on
/// timeout.
#[inline]
fn wait_for(io: &ScheduledIo, fd: RawFd, dir: Direction, deadline: Option<Instant>) -> bool {
    if io.add_waiter(dir, context::hub().current_task()) {
        return true;
    }
    let why = Wait::Io {
        fd,
        write: dir == Direction::Write,
    };
    match deadline {
        Some(d) => {
            if Instant::now() >= d {
                return io.is_ready(dir);
            }
            wait::park_until_on(d, why);
            io.is_ready(dir) || Instant::now() < d
        }
        None => {
            wait::park_on(why);
            true
        }
    }
}

/// How long an operation may wait: no limit, until an instant, or for a
/// time counted from its first wait (a socket timeout: the clock is read
/// only when the operation has to wait).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    /// No limit.
    None,
    /// Until this instant.
    At(Instant),
    /// For this long from the first wait.
    After(Duration),
}

impl From<Option<Instant>> for Limit {
    fn from(d: Option<Instant>) -> Limit {
        d.map_or(Limit::None, Limit::At)
    }
}

impl Limit {
    /// The deadline, reading the clock for [`Limit::After`].
    fn resolve(self) -> Option<Instant> {
        match self {
            Limit::None => None,
            Limit::At(d) => Some(d),
            Limit::After(t) => Instant::now().checked_add(t),
        }
    }
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
    home: OnceLock<Arc<HubHandle>>,
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
            io: Arc::new(ScheduledIo::new()),
            fd,
            interest,
            home: OnceLock::new(),
            registering: Mutex::new(()),
        }
    }

    /// Registers the descriptor with the current thread's hub unless it is
    /// registered already. Registering reports the readiness the descriptor
    /// has at that moment (epoll checks on `EPOLL_CTL_ADD`), so an event
    /// that came before is not lost.
    fn ensure_registered(&self) -> io::Result<()> {
        if self.home.get().is_some() {
            return Ok(());
        }
        let _guard = self.registering.lock().unwrap_or_else(|e| e.into_inner());
        if self.home.get().is_some() {
            return Ok(());
        }
        let hub = context::hub();
        let token = Token(Arc::as_ptr(&self.io) as usize);
        hub.registry()
            .register(&mut SourceFd(&self.fd), token, self.interest)?;
        let _ = self.home.set(hub.handle.clone());
        Ok(())
    }

    /// Waits for `dir` readiness (registering first if needed); `false` on
    /// timeout.
    #[inline]
    fn wait_ready(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<bool> {
        self.ensure_registered()?;
        Ok(wait_for(&self.io, self.fd, dir, deadline))
    }

    /// Runs `f` until it does not return `WouldBlock`, waiting for `dir`
    /// readiness in between. With a `deadline`, returns
    /// `ErrorKind::TimedOut` once it passes.
    #[inline]
    pub(crate) fn io<R>(
        &self,
        dir: Direction,
        limit: impl Into<Limit>,
        f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.drive(dir, limit.into(), false, f, |_| false)
    }

    /// As [`io`](Self::io), for byte streams moving `len` bytes: a short
    /// transfer (`0 < n < len`) proves the socket drained (its receive queue
    /// empty, or its send buffer full), so the readiness is cleared and the
    /// next call waits for an event before its system call, saving the try
    /// that would return `WouldBlock` (tokio does the same). A clear races
    /// no event: it is skipped if one arrived since the snapshot.
    #[inline]
    pub(crate) fn io_stream(
        &self,
        dir: Direction,
        limit: impl Into<Limit>,
        len: usize,
        f: impl FnMut() -> io::Result<usize>,
    ) -> io::Result<usize> {
        self.drive(dir, limit.into(), len > 0, f, |&n| n > 0 && n < len)
    }

    /// The loop of [`io`](Self::io) and [`io_stream`](Self::io_stream):
    /// with `wait_first`, waits before the system call while the source is
    /// known not to be ready; a result for which `drained` holds clears the
    /// readiness it was tried with. An operation that did not wait spends
    /// budget ([`context::coop`]).
    #[inline(always)]
    fn drive<R>(
        &self,
        dir: Direction,
        limit: Limit,
        wait_first: bool,
        mut f: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> io::Result<R> {
        let mut waited = false;
        // Resolved at the first wait (see `Limit::After`).
        let mut deadline: Option<Option<Instant>> = None;
        let mut deadline = move || *deadline.get_or_insert_with(|| limit.resolve());
        loop {
            if wait_first && !self.io.may_proceed(dir) {
                waited = true;
                if !self.wait_ready(dir, deadline())? {
                    return Err(timed_out());
                }
                // Woken spuriously (or by the other direction): look again.
                continue;
            }
            let snapshot = self.io.snapshot();
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear(dir, snapshot);
                    waited = true;
                    if !self.wait_ready(dir, deadline())? {
                        return Err(timed_out());
                    }
                }
                r => {
                    if r.as_ref().is_ok_and(&drained) {
                        self.io.clear(dir, snapshot);
                    }
                    if !waited {
                        context::coop();
                    }
                    return r;
                }
            }
        }
    }

    /// Whether something may have come for reading (data, end of file or
    /// an error) since a read last found the source drained: `false` only
    /// when the source is registered with a hub and no poll of it has
    /// reported read readiness since that read.
    pub(crate) fn maybe_readable(&self) -> bool {
        self.home.get().is_none() || self.io.may_proceed(Direction::Read)
    }

    /// Removes the descriptor from its hub's poll, if it was registered.
    /// Call before closing it.
    pub(crate) fn deregister(&self) -> io::Result<()> {
        match self.home.get() {
            Some(hub) => hub.registry.deregister(&mut SourceFd(&self.fd)),
            None => Ok(()),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(owner) = self.home.get() else {
            return; // never registered: no hub holds the token
        };
        match context::try_hub() {
            // On the owning hub's thread, outside any poll batch (user code
            // never runs inside one): the token can no longer be delivered.
            Some(h) if Arc::ptr_eq(&h.handle, owner) => {}
            // Elsewhere the owning hub may be in the middle of a batch that
            // holds the token: let it drop the last reference between polls.
            _ => owner.release(self.io.clone()),
        }
    }
}

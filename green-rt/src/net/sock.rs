//! What every green socket shares: a std socket in non-blocking mode, its
//! registration with a hub, and the std-visible state green emulates (the
//! timeouts and the user's non-blocking flag).
//!
//! `try_clone` shares one `Arc<Sock>`, so clones share one registration and
//! its waiters (a reader and a writer in two greenlets wait on the same
//! readiness), and, as with std's `dup`, one set of timeouts and one
//! non-blocking flag.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::readiness::{Direction, Registration};

/// A socket type green wraps: a std socket that can switch its blocking
/// mode and give up its descriptor.
pub(crate) trait RawSock: AsFd + AsRawFd + Into<OwnedFd> + fmt::Debug {
    fn set_nonblocking(&self, on: bool) -> io::Result<()>;
}

macro_rules! raw_sock {
    ($($t:ty),*) => {$(
        impl RawSock for $t {
            fn set_nonblocking(&self, on: bool) -> io::Result<()> {
                <$t>::set_nonblocking(self, on)
            }
        }
    )*};
}

raw_sock!(
    std::net::TcpStream,
    std::net::TcpListener,
    std::net::UdpSocket,
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixListener,
    std::os::unix::net::UnixDatagram
);

/// A registered non-blocking socket and its emulated std state.
pub(crate) struct Sock<S: RawSock> {
    /// `None` only after `into_owned` took it.
    sock: Option<S>,
    reg: Registration,
    /// Nanoseconds; 0 is "no timeout".
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
    /// The user's `set_nonblocking(true)`: operations do not wait.
    nonblocking: AtomicBool,
}

impl<S: RawSock> Sock<S> {
    /// Wraps `sock`: switches it to non-blocking mode; it is registered with
    /// a hub when a greenlet first has to wait on it.
    pub(crate) fn new(sock: S) -> io::Result<Arc<Sock<S>>> {
        sock.set_nonblocking(true)?;
        let reg = Registration::new(sock.as_raw_fd());
        Ok(Arc::new(Sock {
            sock: Some(sock),
            reg,
            read_timeout: AtomicU64::new(0),
            write_timeout: AtomicU64::new(0),
            nonblocking: AtomicBool::new(false),
        }))
    }

    /// The std socket.
    #[inline]
    pub(crate) fn get(&self) -> &S {
        self.sock
            .as_ref()
            .expect("green socket used after into_raw_fd")
    }

    fn deadline(&self, dir: Direction) -> Option<Instant> {
        let nanos = match dir {
            Direction::Read => self.read_timeout.load(Ordering::Relaxed),
            Direction::Write => self.write_timeout.load(Ordering::Relaxed),
        };
        if nanos == 0 {
            return None;
        }
        Instant::now().checked_add(Duration::from_nanos(nanos))
    }

    /// Runs a socket operation the green way: in non-blocking mode once; else
    /// until it does not return `WouldBlock`, waiting for readiness, and
    /// past the timeout of `dir` failing as std's timeouts do on Linux
    /// (`EAGAIN`, [`io::ErrorKind::WouldBlock`]).
    #[inline]
    pub(crate) fn io<R>(
        &self,
        dir: Direction,
        mut f: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let sock = self.get();
        if self.nonblocking.load(Ordering::Relaxed) {
            return f(sock);
        }
        self.reg
            .io(dir, self.deadline(dir), || f(sock))
            .map_err(timeout_to_std)
    }

    /// As [`io`](Self::io), for a stream operation moving `len` bytes (see
    /// [`Registration::io_stream`]).
    #[inline]
    pub(crate) fn io_stream(
        &self,
        dir: Direction,
        len: usize,
        mut f: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let sock = self.get();
        if self.nonblocking.load(Ordering::Relaxed) {
            return f(sock);
        }
        self.reg
            .io_stream(dir, self.deadline(dir), len, || f(sock))
            .map_err(timeout_to_std)
    }

    /// Runs `f` until it does not return `WouldBlock`, waiting for `dir`
    /// readiness up to `deadline`, which fails with `TimedOut`. Ignores the
    /// socket's timeouts and non-blocking flag (for connect).
    pub(crate) fn io_until<R>(
        &self,
        dir: Direction,
        deadline: Option<Instant>,
        mut f: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let sock = self.get();
        self.reg.io(dir, deadline, || f(sock))
    }

    pub(crate) fn set_timeout(&self, dir: Direction, dur: Option<Duration>) -> io::Result<()> {
        let nanos = match dur {
            Some(d) if d.is_zero() => {
                // std's message and kind for a zero timeout.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot set a 0 duration timeout",
                ));
            }
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            None => 0,
        };
        match dir {
            Direction::Read => self.read_timeout.store(nanos, Ordering::Relaxed),
            Direction::Write => self.write_timeout.store(nanos, Ordering::Relaxed),
        }
        Ok(())
    }

    pub(crate) fn timeout(&self, dir: Direction) -> io::Result<Option<Duration>> {
        let nanos = match dir {
            Direction::Read => self.read_timeout.load(Ordering::Relaxed),
            Direction::Write => self.write_timeout.load(Ordering::Relaxed),
        };
        Ok((nanos != 0).then(|| Duration::from_nanos(nanos)))
    }

    pub(crate) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.nonblocking.store(on, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn is_nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::Relaxed)
    }

    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        self.get().as_fd()
    }

    pub(crate) fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.get().as_raw_fd()
    }
}

/// Gives up the descriptor: deregistered, and back in blocking mode unless
/// the user asked for non-blocking (as std would hand it over). While other
/// clones share the socket, a duplicate of the descriptor is returned and
/// the clones keep theirs (and its non-blocking mode, which the duplicate
/// shares).
pub(crate) fn into_owned<S: RawSock>(sock: Arc<Sock<S>>) -> OwnedFd {
    match Arc::try_unwrap(sock) {
        Ok(mut sock) => {
            let s = sock.sock.take().expect("socket present");
            let _ = sock.reg.deregister();
            if !sock.is_nonblocking() {
                let _ = s.set_nonblocking(false);
            }
            s.into()
        }
        Err(shared) => shared
            .as_fd()
            .try_clone_to_owned()
            .unwrap_or_else(|e| panic!("green: cannot duplicate a shared socket: {e}")),
    }
}

fn timeout_to_std(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() {
        // What std's SO_RCVTIMEO / SO_SNDTIMEO expiry returns on Linux.
        io::Error::from_raw_os_error(libc::EAGAIN)
    } else {
        e
    }
}

impl<S: RawSock> Drop for Sock<S> {
    fn drop(&mut self) {
        if self.sock.is_some() {
            let _ = self.reg.deregister();
        }
    }
}

impl<S: RawSock> fmt::Debug for Sock<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sock {
            Some(s) => s.fmt(f),
            None => f.write_str("<closed>"),
        }
    }
}

/// Calls `f` on each address until one succeeds, as std's `each_addr`.
pub(crate) fn each_addr<A, T, F>(addrs: A, mut f: F) -> io::Result<T>
where
    A: IntoIterator<Item = std::net::SocketAddr>,
    F: FnMut(&std::net::SocketAddr) -> io::Result<T>,
{
    let mut last_err = None;
    for addr in addrs {
        match f(&addr) {
            Ok(l) => return Ok(l),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

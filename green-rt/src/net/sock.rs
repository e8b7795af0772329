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

use crate::rt::io::{Direction, Limit, Registration};

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

    /// How long an operation in `dir` may wait: the socket's timeout,
    /// counted from its first wait (no clock read when it does not wait).
    fn limit(&self, dir: Direction) -> Limit {
        let nanos = match dir {
            Direction::Read => self.read_timeout.load(Ordering::Relaxed),
            Direction::Write => self.write_timeout.load(Ordering::Relaxed),
        };
        if nanos == 0 {
            Limit::None
        } else {
            Limit::After(Duration::from_nanos(nanos))
        }
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
            .io(dir, self.limit(dir), || f(sock))
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
            .io_stream(dir, self.limit(dir), len, || f(sock))
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

    /// See [`Registration::maybe_readable`].
    pub(crate) fn maybe_readable(&self) -> bool {
        self.reg.maybe_readable()
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

/// Backlog of green listeners: what the kernel allows (`SOMAXCONN`, itself
/// capped by `net.core.somaxconn`), not std's 128, so that a burst of
/// connections is not refused before the accept loop gets to it.
pub(crate) const BACKLOG: i32 = libc::SOMAXCONN;

/// How long `accept` sleeps (greenly) when the process or system is out of
/// file descriptors, before it tries again.
pub(crate) const EMFILE_BACKOFF: Duration = Duration::from_millis(50);

/// What an accept loop does with an error: `Ok` to try again (after a
/// green back-off for descriptor exhaustion), `Err` to return it.
pub(crate) fn accept_error(e: io::Error) -> io::Result<()> {
    match e.raw_os_error() {
        Some(libc::ECONNABORTED) => Ok(()),
        Some(code @ (libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)) => {
            static LOGGED: AtomicBool = AtomicBool::new(false);
            if !LOGGED.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "green: accept failed: {} ({}); retrying every {} ms \
                     (raise `ulimit -n` if this persists; logged once)",
                    io::Error::from_raw_os_error(code),
                    if code == libc::EMFILE {
                        "EMFILE"
                    } else {
                        "out of resources"
                    },
                    EMFILE_BACKOFF.as_millis()
                );
            }
            crate::thread::sleep(EMFILE_BACKOFF);
            Ok(())
        }
        _ => Err(e),
    }
}

/// The descriptor traits, the conversions to and from `OwnedFd`, and
/// `Debug`, for a green socket type `$t` wrapping std's `$std`.
macro_rules! fd_impls {
    ($t:ident, $std:ty) => {
        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.inner.as_raw_fd()
            }
        }

        impl std::os::fd::FromRawFd for $t {
            /// Takes ownership of `fd` and switches it to non-blocking mode;
            /// it is registered with the hub of the first greenlet that has
            /// to wait on it.
            ///
            /// # Panics
            ///
            /// If the descriptor cannot be registered.
            unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> $t {
                use std::os::fd::OwnedFd;
                // SAFETY: the caller guarantees `fd` is an open descriptor
                // of this socket type that it owns and hands over.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                $t::from(owned)
            }
        }

        impl std::os::fd::IntoRawFd for $t {
            /// Gives up the descriptor, deregistered and (unless
            /// `set_nonblocking(true)` was called) in blocking mode. While
            /// clones share the socket, a duplicate is returned.
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                std::os::fd::IntoRawFd::into_raw_fd(std::os::fd::OwnedFd::from(self))
            }
        }

        impl From<std::os::fd::OwnedFd> for $t {
            /// As [`FromRawFd::from_raw_fd`](std::os::fd::FromRawFd::from_raw_fd).
            fn from(fd: std::os::fd::OwnedFd) -> $t {
                $t::from_std(<$std>::from(fd))
                    .unwrap_or_else(|e| panic!("green: cannot register a socket: {e}"))
            }
        }

        impl From<$t> for std::os::fd::OwnedFd {
            fn from(s: $t) -> std::os::fd::OwnedFd {
                $crate::net::into_owned(s.inner)
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.inner.fmt(f)
            }
        }
    };
}

pub(crate) use fd_impls;

/// `Read` and `Write` for a green stream type `$t` and for `&$t` (as std
/// has them for its sockets): the owned impls forward to the shared ones,
/// which run the system call through the socket's registration.
macro_rules! stream_io {
    ($t:ident) => {
        impl std::io::Read for $t {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                (&*self).read(buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                (&*self).read_vectored(bufs)
            }
        }

        impl std::io::Write for $t {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                (&*self).write(buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                (&*self).write_vectored(bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Read for &$t {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let len = buf.len();
                self.inner
                    .io_stream($crate::rt::io::Direction::Read, len, |mut s| {
                        std::io::Read::read(&mut s, buf)
                    })
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                let len = bufs.iter().map(|b| b.len()).sum();
                self.inner
                    .io_stream($crate::rt::io::Direction::Read, len, |mut s| {
                        std::io::Read::read_vectored(&mut s, bufs)
                    })
            }
        }

        impl std::io::Write for &$t {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.inner
                    .io_stream($crate::rt::io::Direction::Write, buf.len(), |mut s| {
                        std::io::Write::write(&mut s, buf)
                    })
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                let len = bufs.iter().map(|b| b.len()).sum();
                self.inner
                    .io_stream($crate::rt::io::Direction::Write, len, |mut s| {
                        std::io::Write::write_vectored(&mut s, bufs)
                    })
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

pub(crate) use stream_io;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn accept_errors_retry_or_return() {
        // Skipped at once.
        let t0 = Instant::now();
        assert!(accept_error(io::Error::from_raw_os_error(libc::ECONNABORTED)).is_ok());
        assert!(t0.elapsed() < EMFILE_BACKOFF);
        // Backed off, then retried.
        for code in [libc::EMFILE, libc::ENFILE] {
            let t0 = Instant::now();
            assert!(accept_error(io::Error::from_raw_os_error(code)).is_ok());
            assert!(t0.elapsed() >= EMFILE_BACKOFF);
        }
        // Returned.
        let e = accept_error(io::Error::from_raw_os_error(libc::EBADF)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    }
}

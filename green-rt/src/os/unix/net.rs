//! Unix domain sockets: a mirror of [`std::os::unix::net`].
//!
//! **Implements** green, with std's signatures and semantics:
//! [`UnixListener`] (`bind`, `bind_addr`, `accept`, `incoming`,
//! `try_clone`, `local_addr`, `set_nonblocking`, `take_error`),
//! [`UnixStream`] (`connect`, `connect_addr`, `pair`, `Read`/`Write`
//! including vectored for `UnixStream` and `&UnixStream`, `shutdown`,
//! `try_clone`, the timeouts and their getters, `set_nonblocking`,
//! `local_addr`/`peer_addr`, `take_error`), [`UnixDatagram`] (`bind`,
//! `bind_addr`, `unbound`, `pair`, `connect`, `connect_addr`, `send`,
//! `recv`, `send_to`, `send_to_addr`, `recv_from`, the timeouts,
//! `shutdown`, `set_nonblocking`, `take_error`), [`Incoming`], and std's fd
//! traits and `Debug` on each socket type.
//!
//! **Adds**: `from_std` on each socket type.
//!
//! **Re-exports** from std unchanged: [`SocketAddr`].
//!
//! Semantics are those of [`crate::net`]: operations wait greenly, a read
//! timeout expires with `WouldBlock`, `set_nonblocking(true)` returns
//! `WouldBlock` at once, clones share one registration, listeners use the
//! kernel's maximum backlog and `accept` rides out descriptor exhaustion.

use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net as stdnet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use std::os::unix::net::SocketAddr;

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use crate::net::{BACKLOG, Sock, accept_error, fd_impls, stream_io};
use crate::rt::io::Direction;

/// A Unix stream socket; mirrors [`std::os::unix::net::UnixStream`].
pub struct UnixStream {
    inner: Arc<Sock<stdnet::UnixStream>>,
}

/// A Unix socket server; mirrors [`std::os::unix::net::UnixListener`].
pub struct UnixListener {
    inner: Arc<Sock<stdnet::UnixListener>>,
}

/// A Unix datagram socket; mirrors [`std::os::unix::net::UnixDatagram`].
pub struct UnixDatagram {
    inner: Arc<Sock<stdnet::UnixDatagram>>,
}

/// An iterator over the connections of a [`UnixListener`]; mirrors
/// [`std::os::unix::net::Incoming`]. It never returns `None`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
}

impl UnixStream {
    /// Connects to the socket named by `path`, waiting greenly (also while
    /// the listener's backlog is full).
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = SockAddr::unix(path)?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let mut backoff = Duration::from_millis(1);
        // Connect before registering (see `green::net::TcpStream::connect`).
        let in_progress = loop {
            match socket.connect(&addr) {
                Ok(()) => break false,
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => break true,
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    // The listener's backlog is full: no readiness event
                    // tells when it drains, so retry after a green sleep.
                    crate::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        };
        let inner = Sock::new(stdnet::UnixStream::from(OwnedFd::from(socket)))?;
        if in_progress {
            inner.io_until(Direction::Write, None, |s| match s.take_error()? {
                Some(e) => Err(e),
                None => Ok(()),
            })?;
        }
        Ok(UnixStream { inner })
    }

    /// Connects to the socket at `addr`. A path address connects as
    /// [`connect`](Self::connect); other addresses (abstract names) connect
    /// with std's call, which blocks only while the backlog is full.
    pub fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        match addr.as_pathname() {
            Some(p) => UnixStream::connect(p),
            None => UnixStream::from_std(stdnet::UnixStream::connect_addr(addr)?),
        }
    }

    /// An unnamed pair of connected sockets.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = stdnet::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a std stream (switched to non-blocking mode; it is registered
    /// with the hub of the first greenlet that has to wait on it). An extension.
    ///
    /// # Errors
    ///
    /// If the socket cannot be switched or registered.
    pub fn from_std(stream: stdnet::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: Sock::new(stream)?,
        })
    }

    /// A new handle to the same socket, sharing its registration, timeouts
    /// and non-blocking mode.
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: self.inner.clone(),
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().peer_addr()
    }

    /// Sets the read timeout; on expiry reads fail with `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Read, timeout)
    }

    /// Sets the write timeout; on expiry writes fail with `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Write, timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(Direction::Read)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(Direction::Write)
    }

    /// In non-blocking mode operations return `WouldBlock` at once.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get().shutdown(how)
    }
}

stream_io!(UnixStream);

impl UnixListener {
    /// Creates a listener bound to `path`, with the kernel's maximum
    /// backlog.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let l = stdnet::UnixListener::bind(path)?;
        SockRef::from(&l).listen(BACKLOG)?;
        UnixListener::from_std(l)
    }

    /// Creates a listener bound to `addr`, with the kernel's maximum
    /// backlog.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        let l = stdnet::UnixListener::bind_addr(addr)?;
        SockRef::from(&l).listen(BACKLOG)?;
        UnixListener::from_std(l)
    }

    /// Wraps a std listener. An extension.
    ///
    /// # Errors
    ///
    /// If the socket cannot be switched or registered.
    pub fn from_std(listener: stdnet::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: Sock::new(listener)?,
        })
    }

    /// Accepts a connection, waiting greenly (see
    /// [`crate::net::TcpListener::accept`] for the errors it rides out).
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        loop {
            match self.inner.io(Direction::Read, |l| l.accept()) {
                Ok((s, addr)) => return Ok((UnixStream::from_std(s)?, addr)),
                Err(e) if self.inner.is_nonblocking() => return Err(e),
                Err(e) => accept_error(e)?,
            }
        }
    }

    /// A new handle to the same listener (sharing its registration).
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: self.inner.clone(),
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// In non-blocking mode `accept` returns `WouldBlock` at once.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// An iterator over the connections.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|p| p.0))
    }
}

impl std::iter::FusedIterator for Incoming<'_> {}

impl<'a> IntoIterator for &'a UnixListener {
    type Item = io::Result<UnixStream>;
    type IntoIter = Incoming<'a>;

    fn into_iter(self) -> Incoming<'a> {
        self.incoming()
    }
}

impl UnixDatagram {
    /// Creates a datagram socket bound to `path`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(stdnet::UnixDatagram::bind(path)?)
    }

    /// Creates a datagram socket bound to `addr`.
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(stdnet::UnixDatagram::bind_addr(addr)?)
    }

    /// Creates an unbound datagram socket.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(stdnet::UnixDatagram::unbound()?)
    }

    /// An unnamed pair of connected datagram sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = stdnet::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a std socket. An extension.
    ///
    /// # Errors
    ///
    /// If the socket cannot be switched or registered.
    pub fn from_std(socket: stdnet::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: Sock::new(socket)?,
        })
    }

    /// Connects the socket to `path`.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.inner.get().connect(path)
    }

    /// Connects the socket to `addr`.
    pub fn connect_addr(&self, addr: &SocketAddr) -> io::Result<()> {
        self.inner.get().connect_addr(addr)
    }

    /// A new handle to the same socket, sharing its registration.
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: self.inner.clone(),
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().peer_addr()
    }

    /// Receives a datagram and its sender, waiting greenly.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives a datagram, waiting greenly.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io(Direction::Read, |s| s.recv(buf))
    }

    /// Sends a datagram to `path`, waiting greenly.
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.io(Direction::Write, |s| s.send_to(buf, path))
    }

    /// Sends a datagram to `addr`, waiting greenly.
    pub fn send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        self.inner
            .io(Direction::Write, |s| s.send_to_addr(buf, addr))
    }

    /// Sends a datagram to the connected peer, waiting greenly.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.io(Direction::Write, |s| s.send(buf))
    }

    /// Sets the read timeout; on expiry receives fail with `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Read, timeout)
    }

    /// Sets the write timeout; on expiry sends fail with `WouldBlock`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Write, timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(Direction::Read)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(Direction::Write)
    }

    /// In non-blocking mode operations return `WouldBlock` at once.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get().shutdown(how)
    }
}

fd_impls!(UnixStream, stdnet::UnixStream);
fd_impls!(UnixListener, stdnet::UnixListener);
fd_impls!(UnixDatagram, stdnet::UnixDatagram);

//! TCP: [`TcpListener`], [`TcpStream`], [`Incoming`].

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::ToSocketAddrs;
use super::sock::{BACKLOG, Sock, accept_error, each_addr, fd_impls, stream_io};
use crate::rt::io::Direction;

/// A TCP stream between a local and a remote socket; mirrors
/// [`std::net::TcpStream`].
///
/// Reads, writes and connects wait greenly. Clones made by
/// [`try_clone`](Self::try_clone) share one registration and may be used
/// from two greenlets at once (one reading, one writing, say).
pub struct TcpStream {
    inner: Arc<Sock<std::net::TcpStream>>,
}

/// A TCP socket server, listening for connections; mirrors
/// [`std::net::TcpListener`].
///
/// Listens with the kernel's maximum backlog. [`accept`](Self::accept)
/// waits greenly; when the process is out of file descriptors (`EMFILE`,
/// `ENFILE`) it logs once, sleeps 50 ms greenly and tries again instead of
/// failing, and it skips connections aborted before they were accepted.
pub struct TcpListener {
    inner: Arc<Sock<std::net::TcpListener>>,
}

/// An iterator over the connections of a [`TcpListener`]; mirrors
/// [`std::net::Incoming`]. It never returns `None`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl TcpStream {
    /// Opens a TCP connection to a remote host; mirrors
    /// [`std::net::TcpStream::connect`]: each address is tried in turn.
    ///
    /// # Errors
    ///
    /// The last address's error, or `InvalidInput` if there was none.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addrs = addr.to_socket_addrs()?;
        each_addr(addrs, |a| connect(a, None))
    }

    /// Opens a TCP connection to `addr` with a timeout; mirrors
    /// [`std::net::TcpStream::connect_timeout`].
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero timeout; `TimedOut` when it expires.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        connect(addr, Instant::now().checked_add(timeout))
    }

    /// Wraps a std stream (switched to non-blocking mode; it is registered
    /// with the hub of the first greenlet that has to wait on it). An extension: std has no such constructor.
    ///
    /// # Errors
    ///
    /// If the socket cannot be switched or registered.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Sock::new(stream)?,
        })
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get().shutdown(how)
    }

    /// A new handle to the same socket, sharing its registration, timeouts
    /// and non-blocking mode. Usable from another greenlet at the same time.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: self.inner.clone(),
        })
    }

    /// Sets the read timeout; on expiry reads fail with
    /// [`io::ErrorKind::WouldBlock`], as std's do on Linux.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Read, dur)
    }

    /// Sets the write timeout; on expiry writes fail with
    /// [`io::ErrorKind::WouldBlock`], as std's do on Linux.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Write, dur)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(Direction::Read)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.timeout(Direction::Write)
    }

    /// Whether something may have come to read (data, end of file or an
    /// error) since a read last drained the socket: `false` only when the
    /// socket's hub has polled it and seen nothing since. A pool's first
    /// look at an idle connection, without a system call.
    pub(crate) fn maybe_readable(&self) -> bool {
        self.inner.maybe_readable()
    }

    /// Receives data without removing it from the queue, waiting greenly.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io(Direction::Read, |s| s.peek(buf))
    }

    /// Sets `SO_LINGER`. An extension (std's is unstable).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.inner.get()).set_linger(linger)
    }

    /// `SO_LINGER`. An extension (std's is unstable).
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.inner.get()).linger()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get().set_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get().nodelay()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get().ttl()
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// In non-blocking mode operations return
    /// [`io::ErrorKind::WouldBlock`] at once instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }
}

fn connect(addr: &SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    // Connect before registering: a socket registered while still unconnected
    // reports a hang-up, which the readiness would keep as "closed".
    let started = socket.connect(&(*addr).into());
    let inner = Sock::new(std::net::TcpStream::from(socket))?;
    match started {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            inner
                .io_until(Direction::Write, deadline, |s| {
                    if let Some(e) = s.take_error()? {
                        return Err(e);
                    }
                    match s.peer_addr() {
                        Ok(_) => Ok(()),
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                            Err(io::ErrorKind::WouldBlock.into())
                        }
                        Err(e) => Err(e),
                    }
                })
                .map_err(|e| {
                    if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() {
                        // std's connect_timeout error.
                        io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
                    } else {
                        e
                    }
                })?;
        }
        Err(e) => return Err(e),
    }
    Ok(TcpStream { inner })
}

stream_io!(TcpStream);

impl TcpListener {
    /// Creates a listener bound to `addr`; mirrors
    /// [`std::net::TcpListener::bind`] (each address is tried in turn;
    /// `SO_REUSEADDR` is set, as std does), with the kernel's maximum
    /// backlog.
    ///
    /// # Errors
    ///
    /// The last address's error, or `InvalidInput` if there was none.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let addrs = addr.to_socket_addrs()?;
        let l = each_addr(addrs, |a| std::net::TcpListener::bind(a))?;
        // Listening again on Linux only changes the backlog.
        SockRef::from(&l).listen(BACKLOG)?;
        Ok(TcpListener {
            inner: Sock::new(l)?,
        })
    }

    /// Wraps a std listener (switched to non-blocking mode; it is registered
    /// with the hub of the first greenlet that has to wait on it). An extension.
    ///
    /// # Errors
    ///
    /// If the socket cannot be switched or registered.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: Sock::new(listener)?,
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get().local_addr()
    }

    /// A new handle to the same listener (sharing its registration).
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: self.inner.clone(),
        })
    }

    /// Accepts a connection, waiting greenly for one.
    ///
    /// Out of file descriptors (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`), it
    /// logs once, sleeps 50 ms and tries again; an `ECONNABORTED` is
    /// skipped. In non-blocking mode it returns every error as std does.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        loop {
            match self.inner.io(Direction::Read, |l| l.accept()) {
                Ok((s, addr)) => return Ok((TcpStream::from_std(s)?, addr)),
                Err(e) if self.inner.is_nonblocking() => return Err(e),
                Err(e) => accept_error(e)?,
            }
        }
    }

    /// An iterator over the connections; mirrors
    /// [`std::net::TcpListener::incoming`].
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get().ttl()
    }

    /// Sets `IPV6_V6ONLY` (std's is deprecated: it cannot change once
    /// bound).
    #[deprecated(
        since = "0.1.0",
        note = "this option can only be set before the socket is bound"
    )]
    pub fn set_only_v6(&self, only_v6: bool) -> io::Result<()> {
        SockRef::from(self.inner.get()).set_only_v6(only_v6)
    }

    /// `IPV6_V6ONLY`.
    #[deprecated(
        since = "0.1.0",
        note = "this option can only be set before the socket is bound"
    )]
    pub fn only_v6(&self) -> io::Result<bool> {
        SockRef::from(self.inner.get()).only_v6()
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get().take_error()
    }

    /// In non-blocking mode `accept` returns [`io::ErrorKind::WouldBlock`]
    /// at once instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }
}

impl<'a> Iterator for Incoming<'a> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|p| p.0))
    }
}

impl std::iter::FusedIterator for Incoming<'_> {}

fd_impls!(TcpStream, std::net::TcpStream);
fd_impls!(TcpListener, std::net::TcpListener);

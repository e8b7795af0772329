//! Networking: a mirror of [`std::net`].
//!
//! **Implements** green, with std's signatures and semantics:
//! [`TcpListener`] (`bind`, `accept`, `incoming`, `try_clone`,
//! `local_addr`, `set_ttl`/`ttl`, `set_only_v6`/`only_v6`, `take_error`,
//! `set_nonblocking`), [`TcpStream`] (`connect`, `connect_timeout`, `Read`
//! and `Write` including vectored, for `TcpStream` and `&TcpStream`,
//! `peek`, `shutdown`, `try_clone`, `set_read_timeout`/`set_write_timeout`
//! and their getters, `set_nonblocking`, `set_nodelay`/`nodelay`,
//! `set_ttl`/`ttl`, `peer_addr`/`local_addr`, `take_error`), [`UdpSocket`]
//! (`bind`, `send_to`/`recv_from`/`peek_from`, `connect`/`send`/`recv`/
//! `peek`, the timeouts, broadcast, multicast and TTL options,
//! `take_error`, `set_nonblocking`), [`Incoming`], and [`ToSocketAddrs`]
//! (host names are looked up on the blocking-call pool,
//! [`crate::tpool`]). Each socket type has std's `AsFd`, `AsRawFd`,
//! `FromRawFd`, `IntoRawFd`, `From<OwnedFd>`, `Into<OwnedFd>` and `Debug`.
//!
//! **Adds**: `from_std` on each socket type (wrap a std socket),
//! [`TcpStream::set_linger`]/[`TcpStream::linger`] (unstable in std).
//!
//! **Re-exports** from std unchanged: [`AddrParseError`], [`IpAddr`],
//! [`Ipv4Addr`], [`Ipv6Addr`], [`Shutdown`], [`SocketAddr`],
//! [`SocketAddrV4`], [`SocketAddrV6`].
//!
//! ```
//! use std::io::{Read, Write};
//! use green_rt::net::{TcpListener, TcpStream};
//! use green_rt::thread;
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = thread::spawn(move || -> std::io::Result<()> {
//!     let (mut stream, _) = listener.accept()?; // waits greenly
//!     let mut buf = [0; 5];
//!     stream.read_exact(&mut buf)?;
//!     stream.write_all(&buf)
//! });
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"hello")?;
//! let mut back = String::new();
//! client.read_to_string(&mut back)?;
//! assert_eq!(back, "hello");
//! server.join().unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Every operation that would block waits greenly instead: the socket is
//! non-blocking underneath and registered once, edge-triggered, with the
//! hub of the first greenlet that has to wait on it; the greenlet tries the
//! system call and,
//! on `WouldBlock`, switches away until the socket is ready. What std makes
//! observable is kept: a read timeout expires with
//! [`io::ErrorKind::WouldBlock`](std::io::ErrorKind::WouldBlock) as std's
//! does on Linux, `connect_timeout` with `TimedOut`, `set_nonblocking(true)`
//! makes operations return `WouldBlock` at once, EOF is `Ok(0)`.
//!
//! Clones made by `try_clone` share one socket and registration (std's
//! `dup` shares the socket too), so the timeouts and the non-blocking flag
//! set on one apply to all, and a reader and a writer can use two clones
//! from two greenlets at once.
//!
//! A socket is served by the hub it was registered with; it may then be
//! used from another thread (it is `Send` and `Sync` as std's), whose
//! greenlets are woken through that hub, which must keep running. A socket
//! that already waited inside [`tpool::execute`](crate::tpool::execute)
//! belongs to that pool thread's hub, which does not run between jobs, and
//! waiting on it afterwards would hang: return plain data from jobs.
//!
//! Listeners use the kernel's maximum backlog, and `accept` rides out file
//! descriptor exhaustion (see [`TcpListener::accept`]).

mod addr;
mod sock;
mod tcp;
mod udp;

pub use std::net::{
    AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6,
};

pub use addr::ToSocketAddrs;
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;

pub(crate) use sock::{BACKLOG, Sock, accept_error, fd_impls, into_owned, stream_io};

//! green's sockets have std's methods with std's signatures: each is
//! coerced to the function-pointer type of std's method of the same name,
//! so a missing method or a changed signature fails to compile.

#![allow(deprecated, clippy::type_complexity)]

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::time::Duration;

#[allow(unused_imports)]
use green::net::{
    AddrParseError, Incoming, IpAddr, Ipv4Addr as _, Ipv6Addr as _, Shutdown as _, SocketAddr as _,
    SocketAddrV4, SocketAddrV6, TcpListener, TcpStream, ToSocketAddrs, UdpSocket,
};
use green::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

macro_rules! same {
    ($green:ty, $std:ty, { $($m:ident : $sig:ty => $ssig:ty;)* }) => {$(
        let _: $sig = <$green>::$m;
        let _: $ssig = <$std>::$m;
    )*};
}

#[test]
fn tcp_stream_methods() {
    type G = TcpStream;
    type S = std::net::TcpStream;
    same!(G, S, {
        connect_timeout: fn(&SocketAddr, Duration) -> io::Result<G> => fn(&SocketAddr, Duration) -> io::Result<S>;
        peer_addr: fn(&G) -> io::Result<SocketAddr> => fn(&S) -> io::Result<SocketAddr>;
        local_addr: fn(&G) -> io::Result<SocketAddr> => fn(&S) -> io::Result<SocketAddr>;
        shutdown: fn(&G, Shutdown) -> io::Result<()> => fn(&S, Shutdown) -> io::Result<()>;
        try_clone: fn(&G) -> io::Result<G> => fn(&S) -> io::Result<S>;
        set_read_timeout: fn(&G, Option<Duration>) -> io::Result<()> => fn(&S, Option<Duration>) -> io::Result<()>;
        set_write_timeout: fn(&G, Option<Duration>) -> io::Result<()> => fn(&S, Option<Duration>) -> io::Result<()>;
        read_timeout: fn(&G) -> io::Result<Option<Duration>> => fn(&S) -> io::Result<Option<Duration>>;
        write_timeout: fn(&G) -> io::Result<Option<Duration>> => fn(&S) -> io::Result<Option<Duration>>;
        peek: fn(&G, &mut [u8]) -> io::Result<usize> => fn(&S, &mut [u8]) -> io::Result<usize>;
        set_nodelay: fn(&G, bool) -> io::Result<()> => fn(&S, bool) -> io::Result<()>;
        nodelay: fn(&G) -> io::Result<bool> => fn(&S) -> io::Result<bool>;
        set_ttl: fn(&G, u32) -> io::Result<()> => fn(&S, u32) -> io::Result<()>;
        ttl: fn(&G) -> io::Result<u32> => fn(&S) -> io::Result<u32>;
        take_error: fn(&G) -> io::Result<Option<io::Error>> => fn(&S) -> io::Result<Option<io::Error>>;
        set_nonblocking: fn(&G, bool) -> io::Result<()> => fn(&S, bool) -> io::Result<()>;
    });
    let _ = G::connect::<SocketAddr>;
    let _ = G::connect::<&str>;
    fn io_traits<T>()
    where
        T: io::Read + io::Write + std::os::fd::AsFd + std::os::fd::AsRawFd,
        T: std::os::fd::FromRawFd + std::os::fd::IntoRawFd + From<std::os::fd::OwnedFd>,
        T: Into<std::os::fd::OwnedFd> + std::fmt::Debug + Send + Sync,
        for<'a> &'a T: io::Read + io::Write,
    {
    }
    io_traits::<G>();
    io_traits::<S>();
    io_traits::<UnixStream>();
    io_traits::<std::os::unix::net::UnixStream>();
}

#[test]
fn tcp_listener_methods() {
    type G = TcpListener;
    type S = std::net::TcpListener;
    same!(G, S, {
        local_addr: fn(&G) -> io::Result<SocketAddr> => fn(&S) -> io::Result<SocketAddr>;
        try_clone: fn(&G) -> io::Result<G> => fn(&S) -> io::Result<S>;
        accept: fn(&G) -> io::Result<(TcpStream, SocketAddr)> => fn(&S) -> io::Result<(std::net::TcpStream, SocketAddr)>;
        set_ttl: fn(&G, u32) -> io::Result<()> => fn(&S, u32) -> io::Result<()>;
        ttl: fn(&G) -> io::Result<u32> => fn(&S) -> io::Result<u32>;
        set_only_v6: fn(&G, bool) -> io::Result<()> => fn(&S, bool) -> io::Result<()>;
        only_v6: fn(&G) -> io::Result<bool> => fn(&S) -> io::Result<bool>;
        take_error: fn(&G) -> io::Result<Option<io::Error>> => fn(&S) -> io::Result<Option<io::Error>>;
        set_nonblocking: fn(&G, bool) -> io::Result<()> => fn(&S, bool) -> io::Result<()>;
    });
    let _: for<'a> fn(&'a G) -> Incoming<'a> = G::incoming;
    let _ = G::bind::<SocketAddr>;
}

#[test]
fn udp_socket_methods() {
    type G = UdpSocket;
    type S = std::net::UdpSocket;
    same!(G, S, {
        recv_from: fn(&G, &mut [u8]) -> io::Result<(usize, SocketAddr)> => fn(&S, &mut [u8]) -> io::Result<(usize, SocketAddr)>;
        peek_from: fn(&G, &mut [u8]) -> io::Result<(usize, SocketAddr)> => fn(&S, &mut [u8]) -> io::Result<(usize, SocketAddr)>;
        peer_addr: fn(&G) -> io::Result<SocketAddr> => fn(&S) -> io::Result<SocketAddr>;
        local_addr: fn(&G) -> io::Result<SocketAddr> => fn(&S) -> io::Result<SocketAddr>;
        try_clone: fn(&G) -> io::Result<G> => fn(&S) -> io::Result<S>;
        set_read_timeout: fn(&G, Option<Duration>) -> io::Result<()> => fn(&S, Option<Duration>) -> io::Result<()>;
        set_write_timeout: fn(&G, Option<Duration>) -> io::Result<()> => fn(&S, Option<Duration>) -> io::Result<()>;
        read_timeout: fn(&G) -> io::Result<Option<Duration>> => fn(&S) -> io::Result<Option<Duration>>;
        write_timeout: fn(&G) -> io::Result<Option<Duration>> => fn(&S) -> io::Result<Option<Duration>>;
        set_broadcast: fn(&G, bool) -> io::Result<()> => fn(&S, bool) -> io::Result<()>;
        broadcast: fn(&G) -> io::Result<bool> => fn(&S) -> io::Result<bool>;
        set_multicast_loop_v4: fn(&G, bool) -> io::Result<()> => fn(&S, bool) -> io::Result<()>;
        multicast_loop_v4: fn(&G) -> io::Result<bool> => fn(&S) -> io::Result<bool>;
        set_multicast_ttl_v4: fn(&G, u32) -> io::Result<()> => fn(&S, u32) -> io::Result<()>;
        multicast_ttl_v4: fn(&G) -> io::Result<u32> => fn(&S) -> io::Result<u32>;
        set_multicast_loop_v6: fn(&G, bool) -> io::Result<()> => fn(&S, bool) -> io::Result<()>;
        multicast_loop_v6: fn(&G) -> io::Result<bool> => fn(&S) -> io::Result<bool>;
        set_ttl: fn(&G, u32) -> io::Result<()> => fn(&S, u32) -> io::Result<()>;
        ttl: fn(&G) -> io::Result<u32> => fn(&S) -> io::Result<u32>;
        join_multicast_v4: fn(&G, &Ipv4Addr, &Ipv4Addr) -> io::Result<()> => fn(&S, &Ipv4Addr, &Ipv4Addr) -> io::Result<()>;
        join_multicast_v6: fn(&G, &Ipv6Addr, u32) -> io::Result<()> => fn(&S, &Ipv6Addr, u32) -> io::Result<()>;
        leave_multicast_v4: fn(&G, &Ipv4Addr, &Ipv4Addr) -> io::Result<()> => fn(&S, &Ipv4Addr, &Ipv4Addr) -> io::Result<()>;
        leave_multicast_v6: fn(&G, &Ipv6Addr, u32) -> io::Result<()> => fn(&S, &Ipv6Addr, u32) -> io::Result<()>;
        take_error: fn(&G) -> io::Result<Option<io::Error>> => fn(&S) -> io::Result<Option<io::Error>>;
        send: fn(&G, &[u8]) -> io::Result<usize> => fn(&S, &[u8]) -> io::Result<usize>;
        recv: fn(&G, &mut [u8]) -> io::Result<usize> => fn(&S, &mut [u8]) -> io::Result<usize>;
        peek: fn(&G, &mut [u8]) -> io::Result<usize> => fn(&S, &mut [u8]) -> io::Result<usize>;
        set_nonblocking: fn(&G, bool) -> io::Result<()> => fn(&S, bool) -> io::Result<()>;
    });
    let _ = G::bind::<SocketAddr>;
    let _ = G::send_to::<SocketAddr>;
    let _ = G::connect::<SocketAddr>;
}

#[test]
fn unix_methods() {
    use std::os::unix::net as s;
    use std::path::Path;
    type A = green::os::unix::net::SocketAddr;
    same!(UnixStream, s::UnixStream, {
        connect_addr: fn(&A) -> io::Result<UnixStream> => fn(&A) -> io::Result<s::UnixStream>;
        pair: fn() -> io::Result<(UnixStream, UnixStream)> => fn() -> io::Result<(s::UnixStream, s::UnixStream)>;
        try_clone: fn(&UnixStream) -> io::Result<UnixStream> => fn(&s::UnixStream) -> io::Result<s::UnixStream>;
        local_addr: fn(&UnixStream) -> io::Result<A> => fn(&s::UnixStream) -> io::Result<A>;
        peer_addr: fn(&UnixStream) -> io::Result<A> => fn(&s::UnixStream) -> io::Result<A>;
        set_read_timeout: fn(&UnixStream, Option<Duration>) -> io::Result<()> => fn(&s::UnixStream, Option<Duration>) -> io::Result<()>;
        set_write_timeout: fn(&UnixStream, Option<Duration>) -> io::Result<()> => fn(&s::UnixStream, Option<Duration>) -> io::Result<()>;
        read_timeout: fn(&UnixStream) -> io::Result<Option<Duration>> => fn(&s::UnixStream) -> io::Result<Option<Duration>>;
        write_timeout: fn(&UnixStream) -> io::Result<Option<Duration>> => fn(&s::UnixStream) -> io::Result<Option<Duration>>;
        set_nonblocking: fn(&UnixStream, bool) -> io::Result<()> => fn(&s::UnixStream, bool) -> io::Result<()>;
        take_error: fn(&UnixStream) -> io::Result<Option<io::Error>> => fn(&s::UnixStream) -> io::Result<Option<io::Error>>;
        shutdown: fn(&UnixStream, Shutdown) -> io::Result<()> => fn(&s::UnixStream, Shutdown) -> io::Result<()>;
    });
    same!(UnixListener, s::UnixListener, {
        bind_addr: fn(&A) -> io::Result<UnixListener> => fn(&A) -> io::Result<s::UnixListener>;
        accept: fn(&UnixListener) -> io::Result<(UnixStream, A)> => fn(&s::UnixListener) -> io::Result<(s::UnixStream, A)>;
        try_clone: fn(&UnixListener) -> io::Result<UnixListener> => fn(&s::UnixListener) -> io::Result<s::UnixListener>;
        local_addr: fn(&UnixListener) -> io::Result<A> => fn(&s::UnixListener) -> io::Result<A>;
        set_nonblocking: fn(&UnixListener, bool) -> io::Result<()> => fn(&s::UnixListener, bool) -> io::Result<()>;
        take_error: fn(&UnixListener) -> io::Result<Option<io::Error>> => fn(&s::UnixListener) -> io::Result<Option<io::Error>>;
    });
    same!(UnixDatagram, s::UnixDatagram, {
        bind_addr: fn(&A) -> io::Result<UnixDatagram> => fn(&A) -> io::Result<s::UnixDatagram>;
        unbound: fn() -> io::Result<UnixDatagram> => fn() -> io::Result<s::UnixDatagram>;
        pair: fn() -> io::Result<(UnixDatagram, UnixDatagram)> => fn() -> io::Result<(s::UnixDatagram, s::UnixDatagram)>;
        connect_addr: fn(&UnixDatagram, &A) -> io::Result<()> => fn(&s::UnixDatagram, &A) -> io::Result<()>;
        try_clone: fn(&UnixDatagram) -> io::Result<UnixDatagram> => fn(&s::UnixDatagram) -> io::Result<s::UnixDatagram>;
        local_addr: fn(&UnixDatagram) -> io::Result<A> => fn(&s::UnixDatagram) -> io::Result<A>;
        peer_addr: fn(&UnixDatagram) -> io::Result<A> => fn(&s::UnixDatagram) -> io::Result<A>;
        recv_from: fn(&UnixDatagram, &mut [u8]) -> io::Result<(usize, A)> => fn(&s::UnixDatagram, &mut [u8]) -> io::Result<(usize, A)>;
        recv: fn(&UnixDatagram, &mut [u8]) -> io::Result<usize> => fn(&s::UnixDatagram, &mut [u8]) -> io::Result<usize>;
        send_to_addr: fn(&UnixDatagram, &[u8], &A) -> io::Result<usize> => fn(&s::UnixDatagram, &[u8], &A) -> io::Result<usize>;
        send: fn(&UnixDatagram, &[u8]) -> io::Result<usize> => fn(&s::UnixDatagram, &[u8]) -> io::Result<usize>;
        set_read_timeout: fn(&UnixDatagram, Option<Duration>) -> io::Result<()> => fn(&s::UnixDatagram, Option<Duration>) -> io::Result<()>;
        set_write_timeout: fn(&UnixDatagram, Option<Duration>) -> io::Result<()> => fn(&s::UnixDatagram, Option<Duration>) -> io::Result<()>;
        read_timeout: fn(&UnixDatagram) -> io::Result<Option<Duration>> => fn(&s::UnixDatagram) -> io::Result<Option<Duration>>;
        write_timeout: fn(&UnixDatagram) -> io::Result<Option<Duration>> => fn(&s::UnixDatagram) -> io::Result<Option<Duration>>;
        set_nonblocking: fn(&UnixDatagram, bool) -> io::Result<()> => fn(&s::UnixDatagram, bool) -> io::Result<()>;
        take_error: fn(&UnixDatagram) -> io::Result<Option<io::Error>> => fn(&s::UnixDatagram) -> io::Result<Option<io::Error>>;
        shutdown: fn(&UnixDatagram, Shutdown) -> io::Result<()> => fn(&s::UnixDatagram, Shutdown) -> io::Result<()>;
    });
    let _ = UnixStream::connect::<&Path>;
    let _ = UnixListener::bind::<&Path>;
    let _ = UnixDatagram::bind::<&Path>;
    let _ = UnixDatagram::connect::<&Path>;
    let _ = UnixDatagram::send_to::<&Path>;
    fn iter<T: IntoIterator<Item = io::Result<UnixStream>>>(_: T) {}
    let _ = iter::<&UnixListener>;
    let _: for<'a> fn(&'a UnixListener) -> green::os::unix::net::Incoming<'a> =
        UnixListener::incoming;
}

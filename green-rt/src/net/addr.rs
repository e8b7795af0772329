//! [`ToSocketAddrs`]: std's trait, with host names looked up on the
//! blocking-call pool.

use std::io;
use std::iter;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::option;
use std::slice;
use std::vec;

use crate::tpool;

/// Converts or resolves to one or more [`SocketAddr`] values; mirrors
/// [`std::net::ToSocketAddrs`], with the same implementations.
///
/// Literal addresses are parsed on the spot. A host name is looked up with
/// the system resolver (`getaddrinfo`, as std does) on the blocking-call
/// pool ([`crate::tpool`]) while the calling greenlet waits greenly, so a
/// slow DNS server does not stop the hub.
///
/// This is green's own trait with std's shape, so that the lookup can be
/// green: a `use std::net::ToSocketAddrs` patched to `green::net` keeps
/// compiling, and a user type that implements the trait implements it the
/// same way. A value of a type that implements only std's trait can be
/// passed as a slice of its addresses:
/// `&addr.to_socket_addrs()?.collect::<Vec<_>>()[..]`.
pub trait ToSocketAddrs {
    /// Returned iterator over socket addresses which this type may
    /// correspond to.
    type Iter: Iterator<Item = SocketAddr>;

    /// Converts this object to an iterator of resolved [`SocketAddr`]s.
    ///
    /// # Errors
    ///
    /// As std: a failed lookup, or an unparsable address.
    fn to_socket_addrs(&self) -> io::Result<Self::Iter>;
}

macro_rules! direct {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {
            type Iter = option::IntoIter<SocketAddr>;
            fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
                std::net::ToSocketAddrs::to_socket_addrs(self)
            }
        }
    )*};
}

direct!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

/// Looks `host` up on the pool (a literal address needs no lookup).
fn lookup_host_port(host: &str, port: u16) -> io::Result<vec::IntoIter<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)].into_iter());
    }
    let host = host.to_owned();
    tpool::execute(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(|it| it.collect::<Vec<_>>())
    })
    .map(Vec::into_iter)
}

fn lookup_str(s: &str) -> io::Result<vec::IntoIter<SocketAddr>> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(vec![addr].into_iter());
    }
    let s = s.to_owned();
    tpool::execute(move || {
        std::net::ToSocketAddrs::to_socket_addrs(s.as_str()).map(|it| it.collect::<Vec<_>>())
    })
    .map(Vec::into_iter)
}

impl ToSocketAddrs for (&str, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        lookup_host_port(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        lookup_host_port(&self.0, self.1)
    }
}

impl ToSocketAddrs for str {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        lookup_str(self)
    }
}

impl ToSocketAddrs for String {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        lookup_str(self)
    }
}

impl<'a> ToSocketAddrs for &'a [SocketAddr] {
    type Iter = iter::Cloned<slice::Iter<'a, SocketAddr>>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(self.iter().cloned())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    type Iter = T::Iter;
    fn to_socket_addrs(&self) -> io::Result<T::Iter> {
        (**self).to_socket_addrs()
    }
}

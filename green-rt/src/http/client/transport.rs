//! The green parts ureq runs on: a resolver that looks names up on the
//! blocking-call pool, and a connector whose transports are green
//! `TcpStream`s (and, with the `tls` feature, rustls over them).
//!
//! ureq drives a request through three traits of `ureq::unversioned`
//! (hence the pinned minor version): a `Resolver` turns the URI into
//! addresses, a `Connector` opens a `Transport`, and the transport moves
//! bytes between ureq's buffers and the socket under a `NextTimeout`. Every
//! wait in here is a green wait, so the calling greenlet parks and the hub
//! runs the others.
//!
//! Idle keep-alive connections live in green's [`IdlePool`], not in
//! ureq's: ureq's pool rescans every idle connection, comparing URI
//! authorities, twice per request (`Pool::purge`), which cost a fifth of
//! the client's CPU with 200 idle connections. ureq runs with its pool off
//! (`max_idle_connections(0)`); it still says when a connection may be
//! reused, by probing it (`is_open`) right before it would pool it, and
//! the transport's `Drop` then hands the socket to the [`IdlePool`] instead
//! of closing it. The connector takes from there first: without a system
//! call when the hub's poll saw nothing arrive on the connection, and a
//! request that then finds it closed is sent again on a new one if its
//! method is idempotent ([`Resend`]); otherwise after a peek.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::Error;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

use crate::net::{TcpStream, ToSocketAddrs};

/// Resolves the URI's host with green's `ToSocketAddrs`: literal
/// addresses on the spot, names with `getaddrinfo` on the blocking-call
/// pool while the greenlet waits (ureq's own resolver would block the hub,
/// or start an OS thread per lookup when a timeout is set).
///
/// ureq resolves before it looks for a pooled connection, so a lookup
/// would cost a trip to the pool for every request, even on a kept-alive
/// connection. When the [`IdlePool`] holds a connection for the host, the
/// resolver answers a placeholder (`0.0.0.0:0`) instead, and the connector
/// looks the name up itself only if that connection turns out to be gone.
#[derive(Debug)]
pub(super) struct GreenResolver {
    pub(super) pool: Arc<IdlePool>,
}

/// The answer that stands for "look it up if you need it".
const PLACEHOLDER: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

fn is_placeholder(addrs: &ResolvedSocketAddrs) -> bool {
    addrs.len() == 1 && addrs[0] == PLACEHOLDER
}

fn pool_key(uri: &Uri) -> Result<PoolKey, Error> {
    let (host, port) = host_and_port(uri)?;
    Ok((uri.scheme_str() == Some("https"), host.to_owned(), port))
}

pub(super) fn host_and_port(uri: &Uri) -> Result<(&str, u16), Error> {
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| Error::BadUri(format!("{uri}: no scheme (http:// or https://)")))?;
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        other => return Err(Error::BadUri(format!("{uri}: unknown scheme {other:?}"))),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| Error::BadUri(format!("{uri}: no host")))?;
    let host = authority.host();
    if host.is_empty() {
        return Err(Error::BadUri(format!("{uri}: no host")));
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Ok((host, authority.port_u16().unwrap_or(default_port)))
}

impl Resolver for GreenResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, Error> {
        if self.pool.has_idle(&pool_key(uri)?) {
            let mut result = self.empty();
            result.push(PLACEHOLDER);
            return Ok(result);
        }
        lookup(uri, config, timeout, self.empty())
    }
}

/// Resolves the URI's host into `result` (empty).
fn lookup(
    uri: &Uri,
    config: &ureq::config::Config,
    timeout: NextTimeout,
    mut result: ResolvedSocketAddrs,
) -> Result<ResolvedSocketAddrs, Error> {
    let (host, port) = host_and_port(uri)?;
    let addrs: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        let lookup = || (host, port).to_socket_addrs().map(Iterator::collect);
        match timeout.not_zero() {
            None => lookup(),
            Some(t) => crate::timeout::with_timeout(*t, lookup)
                .map_err(|_| Error::Timeout(timeout.reason))?,
        }
        .map_err(|e: io::Error| {
            if e.kind() == io::ErrorKind::NotFound || e.raw_os_error().is_none() {
                Error::HostNotFound
            } else {
                Error::Io(e)
            }
        })?
    };
    for addr in config.ip_family().keep_wanted(addrs.into_iter()).take(16) {
        result.push(addr);
    }
    if result.is_empty() {
        return Err(Error::HostNotFound);
    }
    Ok(result)
}

/// Which connections may serve a request: scheme (TLS or not), host, port.
type PoolKey = (bool, String, u16);

/// An idle keep-alive connection.
struct Idle {
    since: Instant,
    stream: Stream,
    /// The address it is connected to, and whether it has `TCP_NODELAY`
    /// (to open its replacement the same way).
    peer: SocketAddr,
    nodelay: bool,
    buffers: LazyBuffers,
    timeouts: (Option<Duration>, Option<Duration>),
}

/// Idle connections per host, most recently used last: O(1) to take and
/// to give back.
pub(super) struct IdlePool {
    hosts: Mutex<HashMap<PoolKey, VecDeque<Idle>>>,
    max_idle: usize,
    max_idle_per_host: usize,
    idle_timeout: Duration,
}

impl IdlePool {
    pub(super) fn new(max_idle: usize, max_idle_per_host: usize, idle_timeout: Duration) -> Self {
        IdlePool {
            hosts: Mutex::new(HashMap::new()),
            max_idle,
            max_idle_per_host,
            idle_timeout,
        }
    }

    fn put(&self, key: PoolKey, idle: Idle) {
        if self.max_idle == 0 || self.max_idle_per_host == 0 {
            return;
        }
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        let total: usize = if hosts.len() == 1 {
            hosts.values().next().map_or(0, VecDeque::len)
        } else {
            hosts.values().map(VecDeque::len).sum()
        };
        let conns = hosts.entry(key).or_default();
        // Expired ones first, then the oldest beyond a limit.
        while conns
            .front()
            .is_some_and(|c| c.since.elapsed() >= self.idle_timeout)
        {
            conns.pop_front();
        }
        if conns.len() >= self.max_idle_per_host {
            conns.pop_front();
        } else if total >= self.max_idle {
            return;
        }
        conns.push_back(idle);
    }

    fn has_idle(&self, key: &PoolKey) -> bool {
        let hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts.get(key).is_some_and(|c| !c.is_empty())
    }

    /// The most recently used idle connection for `key` that may be open,
    /// and whether that was checked with the kernel. A plain connection
    /// that its hub saw nothing arrive on since its last response was read
    /// (no data, no end of file) is taken without a system call: if the
    /// server closed it since, the transport opens another and sends the
    /// request again (see [`Resend`]). Any other is peeked at first.
    fn take(&self, key: &PoolKey) -> Option<(Idle, bool)> {
        loop {
            let idle = {
                let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
                let conns = hosts.get_mut(key)?;
                let idle = conns.pop_back()?;
                if idle.since.elapsed() >= self.idle_timeout {
                    // This one and every older one have expired.
                    conns.clear();
                    return None;
                }
                idle
            };
            if let Stream::Plain(tcp) = &idle.stream
                && !tcp.maybe_readable()
            {
                return Some((idle, false));
            }
            if probe(idle.stream.tcp()) {
                return Some((idle, true));
            }
        }
    }
}

impl fmt::Debug for IdlePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdlePool")
            .field("max_idle", &self.max_idle)
            .field("max_idle_per_host", &self.max_idle_per_host)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

/// A kept-alive connection is fit for reuse when a non-blocking peek
/// finds nothing: no EOF, no error, and no stray bytes from the server (a
/// peek, so a TLS record that is there stays for rustls).
fn probe(tcp: &TcpStream) -> bool {
    if tcp.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0];
    let open = matches!(
        tcp.peek(&mut byte),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock
    );
    tcp.set_nonblocking(false).is_ok() && open
}

/// Opens green TCP connections (each resolved address in turn, within the
/// connect timeout), with TLS on top for `https://`.
pub(super) struct GreenConnector {
    pub(super) pool: Arc<IdlePool>,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<super::super::tls::TlsConnector>,
}

impl fmt::Debug for GreenConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenConnector").finish_non_exhaustive()
    }
}

fn timeout_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// ureq's `NextTimeout::check`, which is crate-private.
fn check(timeout: NextTimeout) -> Result<NextTimeout, Error> {
    if timeout.after.is_zero() {
        Err(Error::Timeout(timeout.reason))
    } else {
        Ok(timeout)
    }
}

impl Connector<()> for GreenConnector {
    type Out = GreenTransport;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<()>,
    ) -> Result<Option<GreenTransport>, Error> {
        let _ = chained;
        let key = pool_key(details.uri)?;
        if let Some((idle, checked)) = self.pool.take(&key) {
            return Ok(Some(GreenTransport {
                stream: Some(idle.stream),
                buffers: idle.buffers,
                read_timeout: idle.timeouts.0,
                write_timeout: idle.timeouts.1,
                just_used: false,
                reusable: false,
                home: Some((self.pool.clone(), key)),
                peer: idle.peer,
                nodelay: idle.nodelay,
                resend: (!checked).then(Resend::default),
            }));
        }
        let timeout = check(details.timeout)?;
        let deadline = timeout.not_zero().map(|t| std::time::Instant::now() + *t);
        let resolved;
        let addrs = if is_placeholder(&details.addrs) {
            // The pooled connection the resolver counted on is gone.
            resolved = lookup(
                details.uri,
                details.config,
                timeout,
                details.resolver.empty(),
            )?;
            &resolved
        } else {
            &details.addrs
        };
        let mut last = None;
        let mut stream = None;
        let mut peer = PLACEHOLDER;
        for addr in addrs.iter() {
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            let attempt = match left {
                Some(left) if left.is_zero() => break,
                Some(left) => TcpStream::connect_timeout(addr, left),
                None => TcpStream::connect(*addr),
            };
            match attempt {
                Ok(s) => {
                    stream = Some(s);
                    peer = *addr;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) if timeout_error(&e) => return Err(Error::Timeout(timeout.reason)),
            (None, Some(e)) => return Err(Error::Io(e)),
            (None, None) => return Err(Error::Timeout(timeout.reason)),
        };
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        let stream = if details.needs_tls() {
            self.tls(details, stream, deadline, timeout)?
        } else {
            Stream::Plain(stream)
        };
        Ok(Some(GreenTransport {
            stream: Some(stream),
            buffers,
            read_timeout: None,
            write_timeout: None,
            just_used: false,
            reusable: false,
            home: Some((self.pool.clone(), key)),
            peer,
            nodelay: details.config.no_delay(),
            resend: None,
        }))
    }
}

impl GreenConnector {
    #[cfg(feature = "tls")]
    fn tls(
        &self,
        details: &ConnectionDetails<'_>,
        stream: TcpStream,
        deadline: Option<std::time::Instant>,
        timeout: NextTimeout,
    ) -> Result<Stream, Error> {
        let (host, _) = host_and_port(details.uri)?;
        let default;
        let connector = match &self.tls {
            Some(c) => c,
            None => {
                default = super::super::tls::TlsConnector::new();
                &default
            }
        };
        let left = deadline.map(|d| {
            d.saturating_duration_since(std::time::Instant::now())
                .max(Duration::from_millis(1))
        });
        match connector.connect_timeout(host, stream, left) {
            Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(Error::Timeout(timeout.reason)),
            Err(e) => Err(Error::Io(e)),
        }
    }

    #[cfg(not(feature = "tls"))]
    fn tls(
        &self,
        details: &ConnectionDetails<'_>,
        _: TcpStream,
        _: Option<std::time::Instant>,
        _: NextTimeout,
    ) -> Result<Stream, Error> {
        Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{}: https:// needs green's `tls` cargo feature",
                details.uri
            ),
        )))
    }
}

pub(super) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<super::super::tls::TlsStream>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

/// One connection: a green socket (maybe under TLS) and ureq's buffers.
pub(super) struct GreenTransport {
    /// `None` only in `drop`.
    stream: Option<Stream>,
    buffers: LazyBuffers,
    /// The timeouts last set on the socket, to skip setting them again.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// Set by every read and write, cleared by `is_open`: see there.
    just_used: bool,
    /// ureq has said the connection may be reused (see `is_open`).
    reusable: bool,
    /// The pool the connection goes back to when dropped, if reusable.
    home: Option<(Arc<IdlePool>, PoolKey)>,
    /// The address connected to, and whether with `TCP_NODELAY`.
    peer: SocketAddr,
    nodelay: bool,
    /// Set while a pooled connection taken without a check has answered
    /// nothing yet (see [`Resend`]).
    resend: Option<Resend>,
}

/// What a request sent on a pooled connection taken without asking the
/// kernel (see [`IdlePool::take`]) needs if the server had closed that
/// connection: a copy of the bytes sent so far, to send them again on a
/// new one. Only a request with an idempotent method is sent again (RFC
/// 9110, 9.2.2: the server may have seen it); for any other the
/// connection is peeked at before its first byte goes, as every pooled
/// connection used to be. Once a byte of the response arrives, it is
/// dropped.
#[derive(Default)]
struct Resend {
    /// Bytes sent on this connection for this request (empty before the
    /// first write).
    sent: Vec<u8>,
    /// The request may be sent again: idempotent, and not longer than
    /// [`RESEND_MAX`] so far.
    again: bool,
}

/// The most of a request kept to send it again.
const RESEND_MAX: usize = 64 * 1024;

/// Whether the request starting with `head` has an idempotent method.
fn idempotent(head: &[u8]) -> bool {
    [
        &b"GET "[..],
        b"HEAD ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"TRACE ",
    ]
    .iter()
    .any(|m| head.starts_with(m))
}

/// A read or write error that says the server closed the connection.
fn closed_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

impl GreenTransport {
    fn stream(&mut self) -> &mut Stream {
        self.stream.as_mut().expect("stream taken only in drop")
    }

    /// Before the first write of a request on a pooled connection taken
    /// without a check: an idempotent request is kept to be sent again;
    /// for any other the connection is peeked at now, and replaced if the
    /// server closed it.
    fn before_write(&mut self, output: &[u8], timeout: Option<Duration>) -> io::Result<()> {
        let Some(resend) = &mut self.resend else {
            return Ok(());
        };
        if resend.sent.is_empty() {
            resend.again = idempotent(output);
            if !resend.again {
                self.resend = None;
                if !probe(self.stream().tcp()) {
                    self.reconnect(timeout)?;
                }
                return Ok(());
            }
        }
        if resend.sent.len() + output.len() <= RESEND_MAX {
            resend.sent.extend_from_slice(output);
        } else {
            // Too long to keep: it goes as it is.
            self.resend = None;
        }
        Ok(())
    }

    /// Replaces the connection with a new one to the same address (the
    /// server closed the pooled one), within `timeout`.
    fn reconnect(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let tcp = match timeout {
            Some(t) => TcpStream::connect_timeout(&self.peer, t)?,
            None => TcpStream::connect(self.peer)?,
        };
        if self.nodelay {
            tcp.set_nodelay(true)?;
        }
        tcp.set_read_timeout(self.read_timeout)?;
        tcp.set_write_timeout(self.write_timeout)?;
        self.stream = Some(Stream::Plain(tcp));
        Ok(())
    }

    /// After a pooled connection failed before any byte of the response:
    /// sends the request again on a new connection, once, if it may be.
    /// `false` when it may not (the failure stands).
    fn resend(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        let Some(resend) = self.resend.take() else {
            return Ok(false);
        };
        if !resend.again {
            return Ok(false);
        }
        self.reconnect(timeout)?;
        write_all(self.stream(), &resend.sent)?;
        Ok(true)
    }
}

/// Writes all of `output` to `stream` (and through TLS).
fn write_all(stream: &mut Stream, output: &[u8]) -> io::Result<()> {
    match stream {
        Stream::Plain(s) => s.write_all(output),
        #[cfg(feature = "tls")]
        Stream::Tls(s) => s.write_all(output).and_then(|()| s.flush()),
    }
}

impl Drop for GreenTransport {
    fn drop(&mut self) {
        if !self.reusable || !self.buffers.input().is_empty() {
            return;
        }
        if let (Some((pool, key)), Some(stream)) = (self.home.take(), self.stream.take()) {
            let buffers = std::mem::replace(&mut self.buffers, LazyBuffers::new(1, 1));
            pool.put(
                key,
                Idle {
                    since: Instant::now(),
                    stream,
                    peer: self.peer,
                    nodelay: self.nodelay,
                    buffers,
                    timeouts: (self.read_timeout, self.write_timeout),
                },
            );
        }
    }
}

impl fmt::Debug for GreenTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenTransport")
            .field(
                "peer",
                &self.stream.as_ref().map(|s| s.tcp().peer_addr().ok()),
            )
            .field("tls", &self.is_tls())
            .finish()
    }
}

impl Transport for GreenTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = check(timeout.for_write())?;
        let t = timeout.not_zero().map(|t| *t);
        if t != self.write_timeout {
            self.stream().tcp().set_write_timeout(t)?;
            self.write_timeout = t;
        }
        self.just_used = true;
        // The output is copied out of ureq's buffer only when it may be
        // sent again (see `Resend`).
        let written = if self.resend.is_some() {
            let output = self.buffers.output()[..amount].to_vec();
            self.before_write(&output, t)
                .and_then(|()| match write_all(self.stream(), &output) {
                    Err(e) if closed_error(&e) => match self.resend(t) {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(e),
                        Err(e) => Err(e),
                    },
                    r => r,
                })
        } else {
            let stream = self.stream.as_mut().expect("stream taken only in drop");
            write_all(stream, &self.buffers.output()[..amount])
        };
        match written {
            Ok(()) => Ok(()),
            Err(e) if timeout_error(&e) => Err(Error::Timeout(timeout.reason)),
            Err(e) => Err(Error::Io(e)),
        }
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = check(timeout.for_read())?;
        let t = timeout.not_zero().map(|t| *t);
        if t != self.read_timeout {
            self.stream().tcp().set_read_timeout(t)?;
            self.read_timeout = t;
        }
        self.just_used = true;
        let read = loop {
            let input = self.buffers.input_append_buf();
            let r = match self.stream.as_mut().expect("stream taken only in drop") {
                Stream::Plain(s) => s.read(input),
                #[cfg(feature = "tls")]
                Stream::Tls(s) => s.read(input),
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A pooled connection the server had closed: the request
                // goes again on a new one, if it may.
                Ok(0) if self.resend.is_some() => match self.resend(t) {
                    Ok(true) => continue,
                    Ok(false) => break Ok(0),
                    Err(e) => break Err(e),
                },
                Err(e) if self.resend.is_some() && closed_error(&e) => match self.resend(t) {
                    Ok(true) => continue,
                    Ok(false) => break Err(e),
                    Err(e) => break Err(e),
                },
                r => {
                    // A byte of the response came (or a real error): the
                    // request is not sent again from here.
                    self.resend = None;
                    break r;
                }
            }
        };
        match read {
            Ok(n) => {
                self.buffers.input_appended(n);
                Ok(n > 0)
            }
            Err(e) if timeout_error(&e) => Err(Error::Timeout(timeout.reason)),
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// ureq asks this right before it would pool the connection (its
    /// response done, its input consumed, keep-alive agreed), and
    /// nowhere else while its own pool is off. The answer follows the
    /// last read at once, so it is yes without a system call, and the
    /// connection is marked reusable: `drop` gives it to the
    /// [`IdlePool`], whose `take` probes it before any reuse. Asked at
    /// another time, it probes.
    fn is_open(&mut self) -> bool {
        if std::mem::take(&mut self.just_used) {
            self.reusable = true;
            return true;
        }
        probe(self.stream().tcp())
    }

    fn is_tls(&self) -> bool {
        match self.stream {
            Some(Stream::Plain(_)) | None => false,
            #[cfg(feature = "tls")]
            Some(Stream::Tls(_)) => true,
        }
    }
}

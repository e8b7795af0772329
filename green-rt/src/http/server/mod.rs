//! The HTTP/1.1 server: an ordinary blocking function from a [`Request`] to
//! a [`Response`] (WSGI's application), served one greenlet per connection
//! on [`StreamServer`].
//!
//! ```no_run
//! use green_rt::http::server::{Body, Request, Response, Server};
//!
//! fn app(req: Request<Body>) -> Response<&'static str> {
//!     match req.uri().path() {
//!         "/" => Response::new("Hello, World!"),
//!         _ => Response::builder().status(404).body("not found").unwrap(),
//!     }
//! }
//!
//! // gevent: WSGIServer(('127.0.0.1', 8000), app).serve_forever()
//! Server::bind("127.0.0.1:8000")?.serve_forever(app)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! | gevent / eventlet | green |
//! | --- | --- |
//! | `WSGIServer(addr, app)` | [`Server::bind`] |
//! | `.serve_forever()` | [`Server::serve_forever`] |
//! | `.start()`, `.stop(timeout)` | [`Server::start`], [`ServerHandle::stop`] |
//! | `wsgi.server(sock, app)` | [`serve`] |
//! | `environ['wsgi.input']` | [`Request::body`] ([`Body`] is [`std::io::Read`]) |
//! | `start_response(status, headers)` + iterable | [`Response`] with a [`Body`] |
//! | `log=` / `log_output` | [`Server::access_log`] |
//! | `spawn=Pool(n)` | [`Server::max_connections`] |
//!
//! **What the server does for the handler.** HTTP/1.1 keep-alive and
//! pipelining (responses to pipelined requests leave in one write);
//! `Content-Length` and chunked request bodies, streamed to the handler as
//! it reads; response framing (`Content-Length`, else chunked, else until
//! close for HTTP/1.0); `Expect: 100-continue` (the `100 Continue` goes out
//! when the handler first reads the body); `HEAD` (the body is not sent);
//! HTTP/1.0 and `Connection: close`; a `Date` header formatted once a
//! second.
//!
//! **Limits**, each answered without disturbing other connections:
//! a request head over [`max_header_bytes`](Server::max_header_bytes) or
//! with more than [`max_headers`](Server::max_headers) headers: 431;
//! a body over [`max_body_bytes`](Server::max_body_bytes): 413; a head not
//! complete within [`header_read_timeout`](Server::header_read_timeout)
//! (slowloris): 408 and close; an idle keep-alive connection is closed
//! after [`keep_alive_timeout`](Server::keep_alive_timeout); at most
//! [`max_connections`](Server::max_connections) at once. Malformed input is
//! answered 400 (or 501, 505, 417) and the connection closed. A handler
//! that panics gets its client a 500, that connection is closed, and the
//! server goes on.
//!
//! **Upgrades.** A handler that answers `101 Switching Protocols` with an
//! [`Upgrade`] in the response's extensions takes the connection over:
//! after the 101 is written, the upgrade's function runs in the
//! connection's greenlet with the raw stream ([`Upgraded`], the bytes
//! read past the request first). [`crate::websocket`] stands on it.
//!
//! **Raw handlers**, for hot endpoints: [`Server::serve_raw_forever`] and
//! [`Server::start_raw`] serve a [`RawHandler`], which reads a
//! [`RawRequest`] borrowed from the connection's read buffer and writes a
//! [`RawResponse`] straight into its write buffer (may_minihttp's
//! interface; about half the ordinary path's cost per request). Same
//! connection loop, limits, framing, keep-alive, pipelining, timeouts,
//! access log, TLS and graceful stop; no upgrades. The ordinary
//! [`Handler`] stays the recommended API.
//!
//! **HTTPS** (feature `tls`): [`Server::tls`] with a
//! [`TlsAcceptor`](super::tls::TlsAcceptor); the handshake runs in the
//! connection's greenlet.
//!
//! **Many hubs.** Under `workers = N` the accept loop runs on one hub and
//! places each connection's greenlet on the hubs in turn (accept and place,
//! see [`crate::server`]).

mod body;
mod conn;
mod date;
mod inbound;
mod raw;
pub(crate) mod transport;
mod upgrade;
mod wire;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use ::http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version, header,
};

pub use body::{Body, BodyWriter};
pub use conn::RemoteAddr;
pub use raw::{RawHandler, RawHeaders, RawRequest, RawResponse};
pub use upgrade::{Upgrade, Upgraded};

use crate::net::{TcpListener, TcpStream, ToSocketAddrs};
use crate::server::{self as stream, StreamServer};

/// What the server calls for each request: an ordinary blocking function
/// from a request to a response whose body converts [`Into<Body>`]. It is
/// implemented for every such `Fn` that is `Send + Sync + 'static`.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, req: Request<Body>) -> Response<Body>;
}

impl<F, B> Handler for F
where
    F: Fn(Request<Body>) -> Response<B> + Send + Sync + 'static,
    B: Into<Body>,
{
    fn call(&self, req: Request<Body>) -> Response<Body> {
        self(req).map(Into::into)
    }
}

/// Where the access log goes.
type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The server's settings.
#[derive(Clone)]
pub(super) struct Config {
    pub(super) max_header_bytes: usize,
    pub(super) max_headers: usize,
    pub(super) max_body_bytes: u64,
    pub(super) header_read_timeout: Duration,
    pub(super) keep_alive_timeout: Duration,
    pub(super) read_timeout: Duration,
    pub(super) write_timeout: Duration,
    pub(super) access_log: Option<LogSink>,
    pub(super) remote_addr: bool,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_body_bytes: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            access_log: None,
            remote_addr: false,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// What a server serves: an ordinary or a raw handler.
pub(super) enum Service {
    Http(Box<dyn Handler>),
    /// A raw handler, with the connection loop made for its type (so the
    /// handler is inlined into the loop).
    Raw {
        handler: Box<dyn std::any::Any + Send + Sync>,
        serve: conn::ServeFn,
    },
}

impl Service {
    fn raw<H: RawHandler>(handler: H) -> Service {
        Service::Raw {
            handler: Box::new(handler),
            serve: conn::serve_raw::<H>,
        }
    }
}

/// What every connection of one server shares.
pub(super) struct App {
    pub(super) config: Config,
    pub(super) handler: Service,
    pub(super) tracker: Arc<Tracker>,
}

/// A connection as the [`Tracker`] sees it.
pub(super) struct ConnSlot {
    stream: TcpStream,
    /// [`BUSY`], [`IDLE`] (waiting for a request) or [`HEAD`] (waiting for
    /// the rest of a request head).
    state: AtomicU8,
    /// The tick at which the current wait expires.
    deadline: AtomicU64,
    /// Set when the reaper ended the wait (its read side is shut down).
    expired: AtomicBool,
}

pub(super) const BUSY: u8 = 0;
pub(super) const IDLE: u8 = 1;
pub(super) const HEAD: u8 = 2;

impl ConnSlot {
    /// Starts a wait of `state` that expires after `ticks` reaper ticks
    /// (see [`Tracker::ticks`]).
    pub(super) fn wait(&self, tracker: &Tracker, state: u8, ticks: u64) {
        // +1: the current tick has partly gone already.
        let at = tracker
            .tick
            .load(Ordering::Relaxed)
            .saturating_add(ticks)
            .saturating_add(1);
        // Published by the state's store (the reaper reads the state
        // first). That store is SeqCst: with the `stopping` flag, it is
        // the handshake of a graceful stop (the connection marks itself
        // idle, then reads `stopping`; `stop` sets `stopping`, then reads
        // the states).
        self.deadline.store(at, Ordering::Relaxed);
        self.state.store(state, Ordering::SeqCst);
    }

    /// Ends a wait. Release only: a reaper that still sees the wait may
    /// end it, as it could a moment earlier.
    pub(super) fn busy(&self) {
        self.state.store(BUSY, Ordering::Release);
    }

    pub(super) fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    pub(super) fn expired(&self) -> bool {
        self.expired.load(Ordering::SeqCst)
    }

    fn expire(&self) {
        self.expired.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Read);
    }
}

/// The open connections, with a reaper that ends the waits past their
/// deadline (idle keep-alive, slow heads) and closes the idle ones at a
/// graceful stop. A coarse tick instead of a timer per read: a socket
/// timeout would cost a clock read and a timer insertion and removal on
/// every wait, a noticeable part of a small request's cost.
#[derive(Default)]
pub(super) struct Tracker {
    pub(super) stopping: AtomicBool,
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<ConnSlot>>>,
    tick: AtomicU64,
    tick_nanos: AtomicU64,
}

impl Tracker {
    /// Registers a connection.
    pub(super) fn add(&self, stream: &TcpStream) -> Option<(u64, Arc<ConnSlot>)> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(ConnSlot {
            stream: stream.try_clone().ok()?,
            state: AtomicU8::new(BUSY),
            deadline: AtomicU64::new(u64::MAX),
            expired: AtomicBool::new(false),
        });
        lock(&self.conns).insert(id, slot.clone());
        Some((id, slot))
    }

    /// `timeout` in reaper ticks, rounded up (computed once per
    /// connection: a 128-bit division is not free).
    pub(super) fn ticks(&self, timeout: Duration) -> u64 {
        let tick = self.tick_nanos.load(Ordering::Relaxed).max(1);
        u64::try_from(timeout.as_nanos().div_ceil(u128::from(tick))).unwrap_or(u64::MAX)
    }

    pub(super) fn remove(&self, id: u64) {
        lock(&self.conns).remove(&id);
    }

    /// Marks the server stopping and wakes the idle connections (their
    /// read side is shut down, so they see EOF and close).
    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for slot in lock(&self.conns).values() {
            if slot.state() == IDLE {
                let _ = slot.stream.shutdown(Shutdown::Read);
            }
        }
    }

    #[inline(always)]
    pub(super) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The reaper: every tick, ends the waits past their deadline and
    /// refreshes the `Date` clock; returns when the server stops.
    fn reap(&self, tick: Duration) {
        self.tick_nanos.store(
            u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
        while !self.is_stopping() {
            date::tick();
            crate::thread::sleep(tick);
            let now = self.tick.fetch_add(1, Ordering::SeqCst) + 1;
            for slot in lock(&self.conns).values() {
                if slot.state() != BUSY && now >= slot.deadline.load(Ordering::SeqCst) {
                    slot.expire();
                }
            }
        }
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An HTTP/1.1 server (gevent's `WSGIServer`): a listener and settings,
/// then [`serve_forever`](Self::serve_forever) or [`start`](Self::start)
/// with a [`Handler`]. See the [module](self).
pub struct Server {
    stream: StreamServer,
    config: Config,
    app: Arc<OnceLock<Arc<App>>>,
    tracker: Arc<Tracker>,
}

/// A handle to a running [`Server`]: stop it gracefully from any greenlet
/// or thread. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct ServerHandle {
    stream: stream::ServerHandle,
    tracker: Arc<Tracker>,
}

impl Server {
    /// A server on `listener` (eventlet's `wsgi.server(sock, app)` takes
    /// the listener too).
    pub fn from_listener(listener: TcpListener) -> Server {
        let app: Arc<OnceLock<Arc<App>>> = Arc::new(OnceLock::new());
        let slot = app.clone();
        let stream = StreamServer::new(listener, move |s, peer| {
            if let Some(app) = slot.get() {
                conn::serve(s, peer, app);
            }
        });
        Server {
            stream,
            config: Config::default(),
            app,
            tracker: Arc::new(Tracker::default()),
        }
    }

    /// Binds a listener to `addr` (gevent's `WSGIServer(('127.0.0.1',
    /// 8000), app)`).
    ///
    /// # Errors
    ///
    /// Those of [`TcpListener::bind`].
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Server> {
        Ok(Server::from_listener(TcpListener::bind(addr)?))
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr()
    }

    /// Largest request head (request line and headers, or a chunked
    /// body's trailers), in bytes; a larger one is answered 431. Default
    /// 64 KiB.
    pub fn max_header_bytes(mut self, n: usize) -> Server {
        self.config.max_header_bytes = n.max(64);
        self
    }

    /// Most headers in a request; more are answered 431. Default 100.
    pub fn max_headers(mut self, n: usize) -> Server {
        self.config.max_headers = n.max(1);
        self
    }

    /// Largest request body, in bytes; a larger one is answered 413 (at
    /// once for a `Content-Length`, when the limit is crossed for a chunked
    /// body, whatever the handler answers). Default 16 MiB.
    pub fn max_body_bytes(mut self, n: u64) -> Server {
        self.config.max_body_bytes = n;
        self
    }

    /// Time a client has to send a whole request head once it started
    /// (against slowloris: a client sending a byte a second); past it the
    /// answer is 408 and the connection is closed. Also the time a new
    /// connection has to start its first request. Default 10 s.
    pub fn header_read_timeout(mut self, d: Duration) -> Server {
        self.config.header_read_timeout = nonzero(d);
        self
    }

    /// How long a keep-alive connection may wait idle for its next
    /// request before the server closes it. Default 30 s.
    pub fn keep_alive_timeout(mut self, d: Duration) -> Server {
        self.config.keep_alive_timeout = nonzero(d);
        self
    }

    /// How long one read of a request body may wait (the handler's read
    /// fails with `WouldBlock`, and the client gets 408). Default 30 s.
    pub fn read_timeout(mut self, d: Duration) -> Server {
        self.config.read_timeout = nonzero(d);
        self
    }

    /// How long one write of a response may wait for a client that does
    /// not read; past it the connection is closed. Default 30 s.
    pub fn write_timeout(mut self, d: Duration) -> Server {
        self.config.write_timeout = nonzero(d);
        self
    }

    /// Serves at most `n` connections at once (gevent's `spawn=Pool(n)`);
    /// further clients wait in the listen backlog. Default: no limit.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn max_connections(mut self, n: usize) -> Server {
        self.stream = self.stream.max_connections(n);
        self
    }

    /// Logs each request to standard error in the common log format
    /// (`127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200
    /// 13`), as gevent's `WSGIServer` does by default. Off by default.
    pub fn access_log(mut self, on: bool) -> Server {
        self.config.access_log = on.then(|| {
            Arc::new(|line: &str| {
                let _ = writeln!(io::stderr().lock(), "{line}");
            }) as LogSink
        });
        self
    }

    /// Sends each access log line (common log format, no newline) to `f`
    /// instead of standard error.
    pub fn access_log_to<F: Fn(&str) + Send + Sync + 'static>(mut self, f: F) -> Server {
        self.config.access_log = Some(Arc::new(f));
        self
    }

    /// Puts the client's address in each request's extensions as a
    /// [`RemoteAddr`] (WSGI's `REMOTE_ADDR`). Off by default: it costs an
    /// allocation per request.
    pub fn remote_addr(mut self, on: bool) -> Server {
        self.config.remote_addr = on;
        self
    }

    /// Serves HTTPS: each connection's TLS handshake runs in its own
    /// greenlet, within the [`header_read_timeout`](Self::header_read_timeout)
    /// (the acceptor's own handshake timeout is not used); a failed
    /// handshake closes that connection only. Requests and responses,
    /// limits and [upgrades](Upgrade) are as over plain TCP.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, acceptor: super::tls::TlsAcceptor) -> Server {
        self.config.tls = Some(acceptor.config().clone());
        self
    }

    /// A handle to stop the server, for another greenlet or thread (take
    /// it before [`serve_forever`](Self::serve_forever)).
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            stream: self.stream.handle(),
            tracker: self.tracker.clone(),
        }
    }

    fn install(&self, handler: Service) {
        let app = Arc::new(App {
            config: self.config.clone(),
            handler,
            tracker: self.tracker.clone(),
        });
        let _ = self.app.set(app);
        // The reaper's tick: a quarter of the shortest wait, within 5 ms
        // and 1 s (the `Date` header is refreshed on it too).
        let c = &self.config;
        let tick = (c.header_read_timeout.min(c.keep_alive_timeout) / 4)
            .clamp(Duration::from_millis(5), Duration::from_secs(1));
        let tracker = self.tracker.clone();
        tracker.tick_nanos.store(
            u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
        drop(crate::thread::spawn(move || tracker.reap(tick)));
    }

    /// Starts serving `handler` in the background (gevent's `start()`).
    pub fn start<H: Handler>(self, handler: H) -> ServerHandle {
        self.install(Service::Http(Box::new(handler)));
        let handle = self.handle();
        self.stream.start();
        handle
    }

    /// Serves `handler` on the calling greenlet until the server is
    /// stopped through a [`ServerHandle`] (gevent's `serve_forever()`).
    ///
    /// # Errors
    ///
    /// An accept error other than those retried (see
    /// [`StreamServer::serve_forever`]).
    pub fn serve_forever<H: Handler>(self, handler: H) -> io::Result<()> {
        self.install(Service::Http(Box::new(handler)));
        self.stream.serve_forever()
    }

    /// Starts serving a [`RawHandler`] in the background: as
    /// [`start`](Self::start), with the request head borrowed from the
    /// read buffer and the response written straight into the write
    /// buffer. For hot endpoints; see [`RawHandler`].
    pub fn start_raw<H: RawHandler>(self, handler: H) -> ServerHandle {
        self.install(Service::raw(handler));
        let handle = self.handle();
        self.stream.start();
        handle
    }

    /// Serves a [`RawHandler`] on the calling greenlet until stopped: as
    /// [`serve_forever`](Self::serve_forever), for hot endpoints (see
    /// [`RawHandler`]). Same limits, timeouts, keep-alive and pipelining,
    /// access log, TLS and workers as the ordinary handler; no upgrades,
    /// and [`remote_addr`](Self::remote_addr) is not needed
    /// ([`RawRequest::remote_addr`] is free).
    ///
    /// # Errors
    ///
    /// As [`serve_forever`](Self::serve_forever).
    pub fn serve_raw_forever<H: RawHandler>(self, handler: H) -> io::Result<()> {
        self.install(Service::raw(handler));
        self.stream.serve_forever()
    }
}

/// Serves `handler` on `listener` until stopped, with the default settings
/// (eventlet's `wsgi.server(sock, app)`).
///
/// # Errors
///
/// As [`Server::serve_forever`].
pub fn serve<H: Handler>(listener: TcpListener, handler: H) -> io::Result<()> {
    Server::from_listener(listener).serve_forever(handler)
}

impl Server {
    fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.config.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }
}

fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr()
    }

    /// Stops gracefully: stops accepting, closes the idle keep-alive
    /// connections, lets the requests in flight finish (their responses
    /// carry `Connection: close`) for up to `timeout`, then kills the
    /// connections still open. Returns whether all finished in time.
    pub fn stop(&self, timeout: Duration) -> bool {
        self.stream.close();
        self.tracker.stop();
        self.stream.stop(timeout)
    }

    /// Waits until [`stop`](Self::stop) has finished.
    pub fn wait(&self) {
        self.stream.wait();
    }

    /// Number of open connections.
    pub fn connections(&self) -> usize {
        self.stream.connections()
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr())
            .field("max_header_bytes", &self.config.max_header_bytes)
            .field("max_headers", &self.config.max_headers)
            .field("max_body_bytes", &self.config.max_body_bytes)
            .field("access_log", &self.config.access_log.is_some())
            .field("tls", &self.is_tls())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr())
            .field("connections", &self.connections())
            .finish()
    }
}

//! `StreamServer` (gevent's `gevent.server.StreamServer`): an accept loop
//! that serves each connection in a greenlet.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use green_rt::server::StreamServer;
//!
//! // gevent: StreamServer(('127.0.0.1', 9000), echo, spawn=Pool(1000)).serve_forever()
//! StreamServer::bind("127.0.0.1:9000", |mut stream, _peer| {
//!     let mut buf = [0u8; 4096];
//!     while let Ok(n @ 1..) = stream.read(&mut buf) {
//!         if stream.write_all(&buf[..n]).is_err() {
//!             break;
//!         }
//!     }
//! })?
//! .max_connections(1000)
//! .serve_forever()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! | gevent | green |
//! | --- | --- |
//! | `StreamServer(listener, handle)` | [`StreamServer::new`], [`StreamServer::bind`] |
//! | `spawn=Pool(n)` | [`StreamServer::max_connections`] |
//! | `start()` | [`StreamServer::start`] → [`ServerHandle`] |
//! | `serve_forever()` | [`StreamServer::serve_forever`] |
//! | `close()` | [`ServerHandle::close`] |
//! | `stop(timeout)` | [`ServerHandle::stop`] |
//!
//! **Many hubs.** With `workers = N` the accept loop runs on one hub and
//! each connection's greenlet is placed on the hubs in turn, as every
//! [`spawn`](crate::thread::spawn) is (accept-and-place; see the book's
//! HTTP chapter for why not one `SO_REUSEPORT` listener per hub).
//!
//! **Stopping.** [`ServerHandle::close`] stops accepting: the listening
//! socket is shut down (which wakes the accept loop) and closed, so new
//! connections are refused. [`ServerHandle::stop`] closes, then waits up to
//! a deadline for the connection greenlets to return, and kills (unwinds)
//! those still running after it.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use socket2::SockRef;

use crate::event::Event;
use crate::net::{TcpListener, TcpStream, ToSocketAddrs};
use crate::pool::Pool;
use crate::thread;

/// A connection handler: called in a new greenlet for each connection.
type Handler = Arc<dyn Fn(TcpStream, SocketAddr) + Send + Sync + 'static>;

/// An accept loop serving each connection in a greenlet (gevent's
/// `StreamServer`); see the [module](self).
pub struct StreamServer {
    listener: TcpListener,
    handler: Handler,
    max_connections: Option<usize>,
    shared: Arc<Shared>,
}

/// A handle to a running (or about to run) [`StreamServer`]: stops it from
/// any greenlet or thread. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

struct Shared {
    local_addr: SocketAddr,
    /// The server's own handle to the listener, taken (shut down and
    /// dropped) by `close`.
    listener: Mutex<Option<TcpListener>>,
    closed: AtomicBool,
    stopping: AtomicBool,
    /// The connection greenlets (bounded by `max_connections`); set when
    /// the accept loop starts.
    pool: OnceLock<Pool>,
    /// Set when the accept loop has returned (or never will run).
    accept_done: Event,
    /// Set when `stop` has finished.
    stopped: Event,
    /// The accept loop's error, if it failed.
    error: Mutex<Option<io::Error>>,
}

impl StreamServer {
    /// A server on `listener` calling `handler(stream, peer)` in a new
    /// greenlet for each connection.
    pub fn new<F>(listener: TcpListener, handler: F) -> StreamServer
    where
        F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    {
        let local_addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let own = listener.try_clone().ok();
        StreamServer {
            listener,
            handler: Arc::new(handler),
            max_connections: None,
            shared: Arc::new(Shared {
                local_addr,
                listener: Mutex::new(own),
                closed: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                pool: OnceLock::new(),
                accept_done: Event::new(),
                stopped: Event::new(),
                error: Mutex::new(None),
            }),
        }
    }

    /// Binds a listener to `addr` and makes a server on it (gevent's
    /// `StreamServer(('127.0.0.1', 9000), handle)`).
    ///
    /// # Errors
    ///
    /// Those of [`TcpListener::bind`].
    pub fn bind<A, F>(addr: A, handler: F) -> io::Result<StreamServer>
    where
        A: ToSocketAddrs,
        F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    {
        Ok(StreamServer::new(TcpListener::bind(addr)?, handler))
    }

    /// Serves at most `n` connections at once (gevent's `spawn=Pool(n)`):
    /// while `n` are open, the accept loop waits and further clients wait
    /// in the kernel's backlog. Default: no limit.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    pub fn max_connections(mut self, n: usize) -> StreamServer {
        assert!(n > 0, "green: max_connections must be at least 1");
        self.max_connections = Some(n);
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// A handle to stop the server, taken before
    /// [`serve_forever`](Self::serve_forever) to stop it from elsewhere.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: self.shared.clone(),
        }
    }

    /// Starts the accept loop in a greenlet and returns at once (gevent's
    /// `start()`).
    pub fn start(self) -> ServerHandle {
        let handle = self.handle();
        thread::spawn(move || {
            let _ = self.run();
        });
        handle
    }

    /// Accepts and serves connections on the calling greenlet until the
    /// server is stopped (gevent's `serve_forever()`); returns when
    /// [`ServerHandle::stop`] has finished.
    ///
    /// # Errors
    ///
    /// An error of `accept` other than those it retries (running out of
    /// descriptors is retried, see [`TcpListener::accept`]); the server is
    /// then closed and its connections stopped as by `stop` with no
    /// deadline.
    pub fn serve_forever(self) -> io::Result<()> {
        let handle = self.handle();
        match self.run() {
            Ok(()) => {
                handle.wait();
                Ok(())
            }
            Err(e) => {
                handle.stop(Duration::MAX);
                Err(e)
            }
        }
    }

    fn run(self) -> io::Result<()> {
        let shared = self.shared;
        let pool = shared
            .pool
            .get_or_init(|| Pool::new(self.max_connections.unwrap_or(usize::MAX)))
            .clone();
        let result = accept_loop(&self.listener, &shared, &pool, &self.handler);
        drop(self.listener);
        if let Err(e) = &result {
            *lock(&shared.error) = Some(io::Error::new(e.kind(), e.to_string()));
            shared.close();
        }
        shared.accept_done.set();
        result
    }
}

fn accept_loop(
    listener: &TcpListener,
    shared: &Shared,
    pool: &Pool,
    handler: &Handler,
) -> io::Result<()> {
    loop {
        if shared.is_closed() {
            return Ok(());
        }
        pool.wait_available();
        if shared.is_closed() {
            return Ok(());
        }
        match listener.accept() {
            Ok((stream, peer)) => {
                if shared.is_closed() {
                    return Ok(());
                }
                let handler = handler.clone();
                drop(pool.spawn(move || handler(stream, peer)));
            }
            Err(_) if shared.is_closed() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

impl Shared {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(l) = lock(&self.listener).take() {
            // Shutting a listening socket down stops it listening and
            // wakes the accept loop (accept then fails with EINVAL).
            let _ = SockRef::from(&l).shutdown(Shutdown::Read);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Stops accepting connections (gevent's `close()`); the open ones go
    /// on. New clients are refused from now on.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Whether [`close`](Self::close) (or `stop`) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Stops the server gracefully (gevent's `stop(timeout)`): closes it,
    /// waits up to `timeout` for the connection greenlets to return, then
    /// kills those still running and waits for them to unwind. Returns
    /// whether every connection finished on its own within `timeout`. A
    /// second call waits for the first to finish.
    pub fn stop(&self, timeout: Duration) -> bool {
        let s = &self.shared;
        s.close();
        if s.stopping.swap(true, Ordering::AcqRel) {
            s.stopped.wait();
            return true;
        }
        let mut clean = true;
        if let Some(pool) = s.pool.get() {
            // The accept loop may still be spawning its last connection.
            s.accept_done.wait();
            if !pool.join_timeout(timeout) {
                clean = false;
                pool.kill();
            }
        }
        s.stopped.set();
        clean
    }

    /// Waits until [`stop`](Self::stop) has finished (what gevent's
    /// `serve_forever` waits for after `start`).
    pub fn wait(&self) {
        self.shared.stopped.wait();
    }

    /// Waits at most `timeout` for [`stop`](Self::stop) to finish; returns
    /// whether it has.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.shared.stopped.wait_timeout(timeout)
    }

    /// Number of connections being served now.
    pub fn connections(&self) -> usize {
        self.shared.pool.get().map_or(0, Pool::len)
    }

    /// The error that ended the accept loop, if one did.
    pub fn error(&self) -> Option<io::Error> {
        lock(&self.shared.error)
            .as_ref()
            .map(|e| io::Error::new(e.kind(), e.to_string()))
    }
}

impl fmt::Debug for StreamServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer")
            .field("local_addr", &self.shared.local_addr)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.shared.local_addr)
            .field("closed", &self.is_closed())
            .field("connections", &self.connections())
            .finish()
    }
}

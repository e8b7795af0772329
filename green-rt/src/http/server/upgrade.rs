//! Taking a connection over after `101 Switching Protocols` (WebSocket,
//! or any protocol of your own): the handler answers 101 with an
//! [`Upgrade`] in the response's extensions; once the 101 has been
//! written the server calls the upgrade's function, in the connection's
//! greenlet, with the raw stream as an [`Upgraded`].

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::transport::Transport;

type Callback = Box<dyn FnOnce(Upgraded) + Send + 'static>;

/// What takes a connection over after a `101 Switching Protocols`
/// response: put it in the response's extensions (hyper's `OnUpgrade`,
/// turned around: the handler hands the server a function instead of
/// awaiting a future).
///
/// ```no_run
/// use std::io::{Read, Write};
/// use green_rt::http::server::{Body, Request, Response, Server, Upgrade, header};
///
/// fn app(req: Request<Body>) -> Response<Body> {
///     // An echo protocol after the switch.
///     Response::builder()
///         .status(101)
///         .header(header::CONNECTION, "upgrade")
///         .header(header::UPGRADE, "echo")
///         .extension(Upgrade::new(|mut stream| {
///             let mut buf = [0; 1024];
///             while let Ok(n @ 1..) = stream.read(&mut buf) {
///                 if stream.write_all(&buf[..n]).is_err() {
///                     break;
///                 }
///             }
///         }))
///         .body(Body::empty())
///         .unwrap()
/// }
/// Server::bind("127.0.0.1:8000")?.serve_forever(app)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The server writes the 101 head with the handler's headers as they are
/// (`Connection`, `Upgrade` and the protocol's own), no body, then calls
/// the function with the stream; when it returns the connection is
/// closed. A 101 without an `Upgrade`, or to an HTTP/1.0 request, is
/// answered 500 instead. The upgrade request's own body, if it had one,
/// is not framed: its bytes are the first bytes of the stream.
#[derive(Clone)]
pub struct Upgrade {
    f: Arc<Mutex<Option<Callback>>>,
}

impl Upgrade {
    /// An upgrade that runs `f` with the connection's stream.
    pub fn new<F>(f: F) -> Upgrade
    where
        F: FnOnce(Upgraded) + Send + 'static,
    {
        Upgrade {
            f: Arc::new(Mutex::new(Some(Box::new(f)))),
        }
    }

    pub(super) fn run(self, stream: Upgraded) {
        let f = self.f.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(f) = f {
            f(stream);
        }
    }
}

impl fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgrade").finish_non_exhaustive()
    }
}

/// A connection's stream after `101 Switching Protocols`: `Read + Write`,
/// the bytes the server had already read past the request first. Over
/// HTTPS it is the TLS session. Clone a handle with
/// [`try_clone`](Self::try_clone) to read in one greenlet and write in
/// another (as with `TcpStream`); writes through `&Upgraded` work too.
pub struct Upgraded {
    stream: Transport,
    rest: Vec<u8>,
    pos: usize,
    peer: SocketAddr,
}

impl Upgraded {
    pub(crate) fn new(stream: Transport, rest: Vec<u8>, peer: SocketAddr) -> Upgraded {
        Upgraded {
            stream,
            rest,
            pos: 0,
            peer,
        }
    }

    /// The stream and the bytes read ahead (for green's own protocols).
    pub(crate) fn into_parts(mut self) -> (Transport, Vec<u8>) {
        self.rest.drain(..self.pos);
        (self.stream, self.rest)
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Whether the connection is TLS (the server serves HTTPS).
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Another handle to the same stream (the bytes read ahead stay with
    /// this one).
    ///
    /// # Errors
    ///
    /// As [`TcpStream::try_clone`](crate::net::TcpStream::try_clone).
    pub fn try_clone(&self) -> io::Result<Upgraded> {
        Ok(Upgraded::new(
            self.stream.try_clone()?,
            Vec::new(),
            self.peer,
        ))
    }

    /// Sets the read timeout of the socket (none after the switch).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(d)
    }

    /// Sets the write timeout of the socket (the server's
    /// [`write_timeout`](super::Server::write_timeout) after the switch).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.stream.tcp().set_write_timeout(d)
    }

    /// Shuts the connection down (over TLS, a write shutdown sends
    /// `close_notify` first).
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.rest.len() {
            let n = (&self.rest[self.pos..]).read(buf)?;
            self.pos += n;
            if self.pos == self.rest.len() {
                self.rest = Vec::new();
                self.pos = 0;
            }
            return Ok(n);
        }
        (&self.stream).read(buf)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.stream).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&self.stream).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.stream).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&self.stream).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("peer", &self.peer)
            .field("tls", &self.is_tls())
            .field("read_ahead", &(self.rest.len() - self.pos))
            .finish()
    }
}

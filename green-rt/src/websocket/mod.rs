//! WebSocket (RFC 6455) for greenlets: a blocking [`WebSocket`] with
//! `read()` and `send()`, on the HTTP server's upgrade hook, and a client,
//! [`connect`]. The framing is tungstenite's; green owns the handshake's
//! checks, the concurrency and the limits.
//!
//! ```no_run
//! use green_rt::http::server::{Body, Request, Response, Server};
//! use green_rt::websocket;
//!
//! // gevent-websocket: ws = environ['wsgi.websocket']; ws.send(ws.receive())
//! fn app(req: Request<Body>) -> Response<Body> {
//!     websocket::accept(&req, |mut ws| {
//!         while let Ok(msg) = ws.read() {
//!             if msg.is_close() || ws.send(msg).is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//! Server::bind("127.0.0.1:8001")?.serve_forever(app)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! **The handshake.** [`accept`] checks the request and answers it: `101
//! Switching Protocols` with `Sec-WebSocket-Accept`, after which the
//! function runs in the connection's greenlet with the [`WebSocket`].
//! A request that is not a WebSocket handshake gets a 4xx and the function
//! never runs: a method other than GET, 405; no `Upgrade: websocket` or no
//! `Connection: upgrade` (a plain GET), 426 with `Upgrade: websocket`; a
//! `Sec-WebSocket-Version` other than 13, 426 with
//! `Sec-WebSocket-Version: 13`; a missing or malformed `Sec-WebSocket-Key`
//! (not 16 bytes in base64), or HTTP/1.0, 400. When the function returns,
//! a close (1000) is sent if the connection is still open, and the
//! connection is closed.
//!
//! **Messages.** [`WebSocket::read`] returns text and binary messages
//! whole (fragments are reassembled), and the peer's [`Message::Close`];
//! pings are answered with pongs as they arrive and not returned.
//! [`WebSocket::send`] takes a `&str`, `String`, `Vec<u8>` or any
//! [`Message`] (a [`Message::Close`] starts the close handshake).
//!
//! **Errors close with the right code.** Invalid UTF-8 in a text message:
//! 1007; a frame over [`Config::max_frame_size`] or a message over
//! [`Config::max_message_size`]: 1009; an unmasked frame from a client (or
//! a masked one from a server), reserved bits, bad opcodes, fragmented or
//! oversized control frames: 1002. The close frame is sent, the socket
//! shut down, and `read` returns the error.
//!
//! **Reading in one greenlet while others send.** The protocol state
//! (tungstenite's `WebSocketContext`) sits behind a green mutex. The
//! reader takes it only to decode bytes it already has, never while it
//! waits for the socket; a send takes it while its frame is written to the
//! socket, so frames (and the reader's pongs and close replies) never
//! interleave. [`WebSocket::sender`] gives [`Sender`]s (`Clone + Send`) to
//! other greenlets, on any hub. There is no hidden send queue: a send
//! blocks while the peer does not read (up to the socket's write
//! timeout). A server that must not wait for a slow client gives each one
//! a bounded queue and a writer greenlet, and drops the client when the
//! queue overflows — the `chat` example does.
//!
//! | gevent-websocket / eventlet | green |
//! | --- | --- |
//! | `environ['wsgi.websocket']`, `@websocket.WebSocketWSGI` | [`accept`] |
//! | `ws.receive()`, `ws.wait()` | [`WebSocket::read`] |
//! | `ws.send(data)` | [`WebSocket::send`], [`Sender::send`] |
//! | `ws.close(code, reason)` | [`WebSocket::close`] |
//! | `websocket.create_connection(url)` (websocket-client) | [`connect`] |

// The error is tungstenite's own, returned as tungstenite returns it
// (unboxed), so that code matching on it reads the same in both.
#![allow(clippy::result_large_err)]

mod client;
mod server;
mod socket;

pub use client::{connect, connect_with};
pub use server::{accept, accept_with};
pub use socket::{Sender, WebSocket};

pub use tungstenite::protocol::CloseFrame;
pub use tungstenite::protocol::frame::coding::CloseCode;
pub use tungstenite::{Bytes, Error, Message, Utf8Bytes};

/// The `tungstenite` crate green's WebSocket is built on (its versions,
/// not green's), for the types of [`Message`] and [`Error`].
pub use tungstenite;

/// The result of a WebSocket operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Limits of a [`WebSocket`] (for [`accept_with`] and [`connect_with`]).
#[derive(Debug, Clone)]
pub struct Config {
    max_message_size: Option<usize>,
    max_frame_size: Option<usize>,
    #[cfg(feature = "tls")]
    tls: Option<crate::http::tls::TlsConnector>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_message_size: Some(16 << 20),
            max_frame_size: Some(16 << 20),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Config {
    /// The default limits: messages and frames up to 16 MiB each.
    pub fn new() -> Config {
        Config::default()
    }

    /// Largest message read (the sum of its fragments); a larger one
    /// closes the connection with 1009. `None`: no limit.
    pub fn max_message_size(mut self, n: Option<usize>) -> Config {
        self.max_message_size = n;
        self
    }

    /// Largest frame payload read; a larger one closes the connection
    /// with 1009. `None`: no limit.
    pub fn max_frame_size(mut self, n: Option<usize>) -> Config {
        self.max_frame_size = n;
        self
    }

    /// The TLS connector [`connect_with`] uses for `wss://` (default:
    /// Mozilla's roots), for a private CA.
    #[cfg(feature = "tls")]
    pub fn tls_connector(mut self, connector: crate::http::tls::TlsConnector) -> Config {
        self.tls = Some(connector);
        self
    }
}

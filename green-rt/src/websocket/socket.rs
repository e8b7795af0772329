//! [`WebSocket`] and its [`Sender`]: tungstenite's protocol state behind a
//! green mutex, with the socket read outside it.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use tungstenite::error::ProtocolError;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig, WebSocketContext};
use tungstenite::{Error, Message};

use super::{Config, Result};
use crate::http::server::transport::Transport;
use crate::sync::{Mutex, MutexGuard};

/// Socket bytes read at once by the reader.
const READ_CHUNK: usize = 8 * 1024;

/// One end of a WebSocket connection: [`read`](Self::read) the next
/// message (blocking greenly), [`send`](Self::send) one. Pings are
/// answered, the close handshake is done, fragmented messages come back
/// whole; see the [module](super) for limits, errors and close codes.
///
/// To send from other greenlets while one reads, give them a
/// [`Sender`] ([`sender`](Self::sender)).
pub struct WebSocket {
    shared: Arc<Shared>,
    /// Socket bytes read but not yet taken by the protocol.
    rbuf: Box<[u8]>,
    rpos: usize,
    rend: usize,
    eof: bool,
    role: Role,
}

/// The sending half of a [`WebSocket`]: cheap to clone, `Send`, for the
/// greenlets (on any hub) that send while another reads. A send holds the
/// connection's protocol lock while its frame is written, so frames never
/// interleave; a peer that does not read makes senders wait (up to the
/// socket's write timeout).
#[derive(Clone)]
pub struct Sender {
    shared: Arc<Shared>,
}

struct Shared {
    stream: Transport,
    ctx: Mutex<WebSocketContext>,
    peer: Option<SocketAddr>,
}

/// The protocol's view of the stream during one call: reads come from the
/// bytes the reader already has (`WouldBlock` when they are used up),
/// writes go to the socket whole.
struct Io<'a> {
    src: &'a [u8],
    taken: usize,
    eof: bool,
    stream: &'a Transport,
}

impl Read for Io<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.src[self.taken..];
        if rest.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.taken += n;
        Ok(n)
    }
}

impl Write for Io<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut w = self.stream;
        w.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn lock(m: &Mutex<WebSocketContext>) -> MutexGuard<'_, WebSocketContext> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn protocol_config(config: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(config.max_message_size)
        .max_frame_size(config.max_frame_size)
}

impl WebSocket {
    /// A WebSocket over `stream`, the handshake done; `rest` are bytes
    /// already read past the handshake.
    pub(super) fn new(
        stream: Transport,
        rest: Vec<u8>,
        role: Role,
        config: &Config,
        peer: Option<SocketAddr>,
    ) -> WebSocket {
        let mut rbuf = vec![0u8; READ_CHUNK.max(rest.len())].into_boxed_slice();
        rbuf[..rest.len()].copy_from_slice(&rest);
        WebSocket {
            shared: Arc::new(Shared {
                stream,
                ctx: Mutex::new(WebSocketContext::new(role, Some(protocol_config(config)))),
                peer,
            }),
            rbuf,
            rpos: 0,
            rend: rest.len(),
            eof: false,
            role,
        }
    }

    /// Reads the next message: [`Message::Text`] or [`Message::Binary`]
    /// (a fragmented one whole), or [`Message::Close`] once the peer
    /// closes (the close reply has then been sent; further reads fail
    /// with [`Error::ConnectionClosed`]). Pings are answered with pongs
    /// here and not returned; pongs are not returned either.
    ///
    /// # Errors
    ///
    /// [`Error::ConnectionClosed`] after a close handshake,
    /// [`Error::AlreadyClosed`] on a further read, [`Error::Io`] when the
    /// socket fails (a timeout is `WouldBlock`/`TimedOut`, as std's), and
    /// the protocol errors of the [module](super), after which the
    /// connection has been closed with the matching code.
    pub fn read(&mut self) -> Result<Message> {
        loop {
            let outcome = {
                let mut ctx = lock(&self.shared.ctx);
                let mut io = Io {
                    src: &self.rbuf[self.rpos..self.rend],
                    taken: 0,
                    eof: self.eof,
                    stream: &self.shared.stream,
                };
                let r = ctx.read(&mut io);
                self.rpos += io.taken;
                match r {
                    Err(Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => None,
                    Err(e) => {
                        if let Some(code) = close_code(&e) {
                            // Tell the peer why, then end the connection.
                            let frame = CloseFrame {
                                code,
                                reason: "".into(),
                            };
                            let _ = ctx.close(&mut io, Some(frame));
                            drop(ctx);
                            let _ = self.shared.stream.shutdown(Shutdown::Both);
                        } else if matches!(e, Error::ConnectionClosed) {
                            drop(ctx);
                            // The server closes the TCP connection first
                            // (RFC 6455, 7.1.1).
                            let _ = self.shared.stream.shutdown(Shutdown::Both);
                        }
                        Some(Err(e))
                    }
                    Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                    Ok(m @ Message::Close(_)) => {
                        // The close reply leaves now, not at the next call.
                        let _ = ctx.flush(&mut io);
                        if !ctx.can_write() && self.role == Role::Server {
                            drop(ctx);
                            let _ = self.shared.stream.shutdown(Shutdown::Both);
                        }
                        Some(Ok(m))
                    }
                    Ok(m) => Some(Ok(m)),
                }
            };
            if let Some(r) = outcome {
                return r;
            }
            // The protocol needs more bytes: wait for the socket, unlocked.
            if self.rpos == self.rend {
                self.rpos = 0;
                self.rend = 0;
            } else if self.rend == self.rbuf.len() {
                self.rbuf.copy_within(self.rpos..self.rend, 0);
                self.rend -= self.rpos;
                self.rpos = 0;
            }
            if self.eof {
                return Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake));
            }
            let mut r: &Transport = &self.shared.stream;
            match r.read(&mut self.rbuf[self.rend..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.rend += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }

    /// Sends a message (see [`Sender::send`]).
    ///
    /// # Errors
    ///
    /// As [`Sender::send`].
    pub fn send(&self, message: impl Into<Message>) -> Result<()> {
        send(&self.shared, message.into())
    }

    /// Starts the close handshake (see [`Sender::close`]); keep reading
    /// until [`read`](Self::read) returns the peer's close.
    ///
    /// # Errors
    ///
    /// As [`Sender::close`].
    pub fn close(&self, frame: Option<CloseFrame>) -> Result<()> {
        close(&self.shared, frame)
    }

    /// A sending half for other greenlets.
    pub fn sender(&self) -> Sender {
        Sender {
            shared: self.shared.clone(),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.peer
    }

    /// Sets the socket's read timeout: [`read`](Self::read) then fails
    /// with `WouldBlock` when no byte came within it, as std's sockets do.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_read_timeout(&self, d: Option<std::time::Duration>) -> io::Result<()> {
        self.shared.stream.set_read_timeout(d)
    }

    /// Sets the socket's write timeout (a send to a peer that does not
    /// read fails after it).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_write_timeout(&self, d: Option<std::time::Duration>) -> io::Result<()> {
        self.shared.stream.tcp().set_write_timeout(d)
    }
}

impl Sender {
    /// Sends a message: text (`&str`, `String`, [`Message::text`]), binary
    /// (`Vec<u8>`, `&[u8]`, [`Message::binary`]), a ping, or a close. The
    /// frame is written whole before this returns (no send queue: a slow
    /// peer slows its senders).
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`]`(SendAfterClosing)` once a close was sent,
    /// [`Error::AlreadyClosed`] after the close handshake, [`Error::Io`]
    /// when the socket fails.
    pub fn send(&self, message: impl Into<Message>) -> Result<()> {
        send(&self.shared, message.into())
    }

    /// Starts the close handshake with `frame` (a code and a reason;
    /// `None` sends a close without a code). The reader then sees the
    /// peer's close reply.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the socket fails.
    pub fn close(&self, frame: Option<CloseFrame>) -> Result<()> {
        close(&self.shared, frame)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.peer
    }

    /// Drops the connection at once, without a close handshake: the
    /// socket is shut down both ways, so a send blocked on a peer that
    /// does not read fails now, and so do the reader and later sends. For
    /// a peer that stalls; it does not wait for the protocol lock.
    ///
    /// # Errors
    ///
    /// The socket's error (`NotConnected` when it is already gone).
    pub fn shutdown(&self) -> io::Result<()> {
        self.shared.stream.tcp().shutdown(Shutdown::Both)
    }
}

fn send(shared: &Shared, message: Message) -> Result<()> {
    let mut ctx = lock(&shared.ctx);
    let mut io = Io {
        src: &[],
        taken: 0,
        eof: false,
        stream: &shared.stream,
    };
    ctx.write(&mut io, message)?;
    ctx.flush(&mut io)
}

fn close(shared: &Shared, frame: Option<CloseFrame>) -> Result<()> {
    let mut ctx = lock(&shared.ctx);
    let mut io = Io {
        src: &[],
        taken: 0,
        eof: false,
        stream: &shared.stream,
    };
    match ctx.close(&mut io, frame) {
        // A server's close of an already closing connection.
        Err(Error::ConnectionClosed) => Ok(()),
        r => r,
    }
}

/// Whether the protocol is still open for sending.
pub(super) fn is_open(sender: &Sender) -> bool {
    lock(&sender.shared.ctx).can_write()
}

/// The close code a protocol error ends the connection with.
fn close_code(e: &Error) -> Option<CloseCode> {
    match e {
        Error::Utf8 => Some(CloseCode::Invalid),
        Error::Capacity(_) => Some(CloseCode::Size),
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        Error::Protocol(_) => Some(CloseCode::Protocol),
        _ => None,
    }
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("peer", &self.shared.peer)
            .field("tls", &self.shared.stream.is_tls())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("peer", &self.shared.peer)
            .finish_non_exhaustive()
    }
}

//! A connection's byte stream: a green [`TcpStream`], or (feature `tls`) a
//! TLS session over one. Both are read and written through `&Transport`
//! at once from different greenlets (the HTTP connection reads while a
//! 100-continue or a response goes out; a WebSocket's reader loop runs
//! while other greenlets send), which a plain `rustls::StreamOwned` (one
//! `&mut` for both directions) cannot do.
//!
//! **TLS split.** The rustls connection state sits behind a green mutex
//! that is never held across a socket wait: a reader takes it to decrypt
//! what is buffered, releases it to wait for the socket, and takes it again
//! to hand over the new bytes. A writer takes a second lock, the *write
//! order* lock, then the state lock to encrypt, releases the state lock
//! and writes the records to the socket under the order lock. Records must
//! leave in the order they were sealed (their sequence numbers), and every
//! sealing (a reader's alert or key update too) happens under the order
//! lock, so they do. Lock order: write order, then state.

use std::io::{self, Read, Write};
use std::net::Shutdown;
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

use crate::net::TcpStream;

/// A connection's stream: plain TCP or TLS over TCP.
#[derive(Debug)]
pub(crate) enum Transport {
    Tcp(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Arc<tls::Split>),
}

impl Transport {
    /// The TCP socket underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Tcp(s) => s,
            #[cfg(feature = "tls")]
            Transport::Tls(t) => &t.tcp,
        }
    }

    /// The TCP stream, when no TLS runs over it.
    pub(crate) fn plain(&self) -> Option<&TcpStream> {
        match self {
            Transport::Tcp(s) => Some(s),
            #[cfg(feature = "tls")]
            Transport::Tls(_) => None,
        }
    }

    /// Another handle to the same stream.
    pub(crate) fn try_clone(&self) -> io::Result<Transport> {
        Ok(match self {
            Transport::Tcp(s) => Transport::Tcp(s.try_clone()?),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => Transport::Tls(t.clone()),
        })
    }

    /// Shuts the stream down; for TLS a write shutdown sends
    /// `close_notify` first.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Transport::Tls(t) = self
            && how != Shutdown::Read
        {
            let _ = t.close_notify();
        }
        self.tcp().shutdown(how)
    }

    pub(crate) fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(d)
    }

    /// Whether this is a TLS session.
    pub(crate) fn is_tls(&self) -> bool {
        !matches!(self, Transport::Tcp(_))
    }
}

impl Read for &Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match *self {
            Transport::Tcp(s) => (&*s).read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.read(buf),
        }
    }
}

impl Write for &Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match *self {
            Transport::Tcp(s) => (&*s).write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write_all(buf).map(|()| buf.len()),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match *self {
            Transport::Tcp(s) => (&*s).write_all(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "tls")]
pub(crate) mod tls {
    use std::fmt;
    use std::io::{self, Read, Write};
    use std::time::{Duration, Instant};

    use crate::net::TcpStream;
    use crate::sync::{Mutex, MutexGuard};

    /// Largest TLS record on the wire (16 KiB of data plus overhead).
    const RECORD: usize = 16 * 1024 + 2048;

    /// A TLS session whose reads and writes may run at once (see the
    /// module).
    pub(crate) struct Split {
        pub(crate) tcp: TcpStream,
        state: Mutex<State>,
        order: Mutex<()>,
        /// The socket read buffer (one reader waits on the socket at a time).
        raw: Mutex<Vec<u8>>,
    }

    struct State {
        conn: rustls::Connection,
        /// Socket bytes not yet taken by rustls.
        pending: Vec<u8>,
        /// The socket reached EOF (not yet told to rustls).
        eof: bool,
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tls_error(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    impl Split {
        /// Runs the handshake of `conn` on `tcp` within `timeout`, then
        /// splits the session.
        pub(crate) fn handshake(
            mut conn: rustls::Connection,
            mut tcp: TcpStream,
            timeout: Duration,
        ) -> io::Result<Split> {
            let saved = (tcp.read_timeout()?, tcp.write_timeout()?);
            let deadline = Instant::now() + timeout;
            while conn.is_handshaking() || conn.wants_write() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "TLS handshake timed out",
                    ));
                }
                tcp.set_read_timeout(Some(left))?;
                tcp.set_write_timeout(Some(left))?;
                if conn.complete_io(&mut tcp)? == (0, 0) && conn.is_handshaking() {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            tcp.set_read_timeout(saved.0)?;
            tcp.set_write_timeout(saved.1)?;
            Ok(Split {
                tcp,
                state: Mutex::new(State {
                    conn,
                    pending: Vec::new(),
                    eof: false,
                }),
                order: Mutex::new(()),
                raw: Mutex::new(Vec::new()),
            })
        }

        pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
            if buf.is_empty() {
                return Ok(0);
            }
            loop {
                let (result, wants_write) = {
                    let mut s = lock(&self.state);
                    let r = s.take(buf);
                    (r, s.conn.wants_write())
                };
                if wants_write {
                    self.send(&[])?;
                }
                if let Some(r) = result {
                    return r;
                }
                // Nothing decrypted: wait for the socket, unlocked.
                let mut raw = lock(&self.raw);
                raw.resize(RECORD, 0);
                let n = (&self.tcp).read(&mut raw)?;
                let mut s = lock(&self.state);
                if n == 0 {
                    s.eof = true;
                } else {
                    s.pending.extend_from_slice(&raw[..n]);
                }
            }
        }

        /// Seals `data` (may be empty: only what rustls wants to send) and
        /// sends it in order.
        pub(crate) fn write_all(&self, data: &[u8]) -> io::Result<()> {
            self.send(data)
        }

        fn send(&self, mut data: &[u8]) -> io::Result<()> {
            let _order = lock(&self.order);
            let mut out = Vec::with_capacity(data.len().min(RECORD) + 64);
            loop {
                {
                    let mut s = lock(&self.state);
                    // rustls buffers a bounded amount: seal a part, send
                    // it, and again.
                    if !data.is_empty() {
                        let n = s.conn.writer().write(data)?;
                        data = &data[n..];
                    }
                    while s.conn.wants_write() {
                        s.conn.write_tls(&mut out)?;
                    }
                }
                (&self.tcp).write_all(&out)?;
                out.clear();
                if data.is_empty() {
                    return Ok(());
                }
            }
        }

        pub(crate) fn close_notify(&self) -> io::Result<()> {
            lock(&self.state).conn.send_close_notify();
            self.send(&[])
        }
    }

    impl State {
        /// Decrypts into `buf` what is at hand: `None` when the socket
        /// must be read first.
        fn take(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
            loop {
                match self.conn.reader().read(buf) {
                    Ok(n) => return Some(Ok(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // A peer that closes without close_notify: EOF (the
                    // protocol above knows where its data ends).
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Some(Ok(0)),
                    Err(e) => return Some(Err(e)),
                }
                if !self.pending.is_empty() {
                    let n = match self.conn.read_tls(&mut &self.pending[..]) {
                        Ok(n) => n,
                        Err(e) => return Some(Err(e)),
                    };
                    self.pending.drain(..n);
                } else if self.eof {
                    self.eof = false;
                    if let Err(e) = self.conn.read_tls(&mut io::empty()) {
                        return Some(Err(e));
                    }
                } else {
                    return None;
                }
                if let Err(e) = self.conn.process_new_packets() {
                    return Some(Err(tls_error(e)));
                }
            }
        }
    }

    impl fmt::Debug for Split {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Split")
                .field("peer", &self.tcp.peer_addr().ok())
                .finish_non_exhaustive()
        }
    }
}

//! [`Body`]: the body of a request (read from the connection as the
//! handler reads it) or of a response (bytes, a reader, or a stream the
//! server writes chunk by chunk).

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;

use super::inbound::{Inbound, lock_inbound};
use crate::sync::Mutex;

/// A writer that streams a response body: what [`Body::stream`]'s closure
/// gets. Each `write` becomes a chunk (or bytes of a sized body);
/// [`flush`](Write::flush) sends what is buffered to the client now.
pub type BodyWriter<'a> = dyn Write + 'a;

type StreamFn = Box<dyn FnOnce(&mut BodyWriter<'_>) -> io::Result<()> + Send>;

/// The body of a request or a response.
///
/// A request's body is read from the connection as the handler reads it
/// ([`Read`]), never buffered whole; a request without one reads as empty.
/// A response's body is made from bytes (`From<&'static str>`, `String`,
/// `Vec<u8>`, `&'static [u8]`, `()` for none), from a reader
/// ([`from_reader`](Self::from_reader), [`sized`](Self::sized)) or from a
/// closure that writes it ([`stream`](Self::stream)). The server frames it:
/// `Content-Length` when the length is known, else chunked (HTTP/1.1) or
/// until close (HTTP/1.0).
pub struct Body {
    kind: Kind,
}

pub(super) enum Kind {
    Empty,
    Bytes {
        data: Cow<'static, [u8]>,
        pos: usize,
    },
    Reader {
        reader: Box<dyn Read + Send>,
        len: Option<u64>,
    },
    Stream(Option<StreamFn>),
    Incoming(Incoming),
}

/// A request body being read from its connection.
pub(super) struct Incoming {
    pub(super) conn: Arc<Mutex<Inbound>>,
    /// The request this body belongs to: once the connection moved on,
    /// reads fail.
    pub(super) generation: u64,
}

impl Body {
    /// No body.
    pub fn empty() -> Body {
        Body { kind: Kind::Empty }
    }

    /// A body read from `reader` until EOF; its length is not known, so
    /// the server sends it chunked (HTTP/1.1) unless the response has a
    /// `Content-Length` header.
    pub fn from_reader<R: Read + Send + 'static>(reader: R) -> Body {
        Body {
            kind: Kind::Reader {
                reader: Box::new(reader),
                len: None,
            },
        }
    }

    /// A body of exactly `len` bytes read from `reader` (sent with
    /// `Content-Length: len`; a reader that ends early ends the
    /// connection).
    pub fn sized<R: Read + Send + 'static>(reader: R, len: u64) -> Body {
        Body {
            kind: Kind::Reader {
                reader: Box::new(reader),
                len: Some(len),
            },
        }
    }

    /// A body written by `f` as the response is sent, chunked (WSGI's
    /// iterable response, a generator): each write is sent as a chunk once
    /// the buffer fills or `flush` is called.
    ///
    /// ```
    /// use std::io::Write;
    /// use green_rt::http::server::Body;
    ///
    /// let body = Body::stream(|w| {
    ///     for i in 0..3 {
    ///         writeln!(w, "line {i}")?;
    ///         w.flush()?;
    ///     }
    ///     Ok(())
    /// });
    /// # drop(body);
    /// ```
    pub fn stream<F>(f: F) -> Body
    where
        F: FnOnce(&mut BodyWriter<'_>) -> io::Result<()> + Send + 'static,
    {
        Body {
            kind: Kind::Stream(Some(Box::new(f))),
        }
    }

    /// The length in bytes, when it is known without reading: bytes,
    /// [`sized`](Self::sized) bodies, a request body with a
    /// `Content-Length` not yet read.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Bytes { data, pos } => Some((data.len() - pos) as u64),
            Kind::Reader { len, .. } => *len,
            Kind::Stream(_) => None,
            Kind::Incoming(i) => i.remaining(),
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Reads the whole body into a vector.
    ///
    /// # Errors
    ///
    /// Those of [`Read::read_to_end`]; for a request body, also a body
    /// over the server's limit (`InvalidData`) or malformed.
    pub fn into_bytes(mut self) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.read_to_end(&mut v)?;
        Ok(v)
    }

    pub(super) fn incoming(conn: Arc<Mutex<Inbound>>, generation: u64) -> Body {
        Body {
            kind: Kind::Incoming(Incoming { conn, generation }),
        }
    }

    pub(super) fn into_kind(self) -> Kind {
        self.kind
    }
}

impl Incoming {
    fn remaining(&self) -> Option<u64> {
        let inb = lock_inbound(&self.conn);
        if inb.generation != self.generation {
            return Some(0);
        }
        inb.remaining()
    }

    pub(super) fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut inb = lock_inbound(&self.conn);
        if inb.generation != self.generation {
            return Err(io::Error::other(
                "green::http: request body read after its response was sent",
            ));
        }
        inb.read_body(out)
    }
}

impl Read for Body {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Empty => Ok(0),
            Kind::Bytes { data, pos } => {
                let rest = &data[*pos..];
                let n = rest.len().min(out.len());
                out[..n].copy_from_slice(&rest[..n]);
                *pos += n;
                Ok(n)
            }
            Kind::Reader { reader, .. } => reader.read(out),
            Kind::Stream(f) => {
                // Reading a pushed body: run the closure into memory once.
                let mut v = Vec::new();
                if let Some(f) = f.take() {
                    f(&mut v)?;
                }
                self.kind = Kind::Bytes {
                    data: Cow::Owned(v),
                    pos: 0,
                };
                self.read(out)
            }
            Kind::Incoming(i) => i.read(out),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl From<()> for Body {
    fn from((): ()) -> Body {
        Body::empty()
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::from(s.as_bytes())
    }
}

impl From<&'static [u8]> for Body {
    fn from(b: &'static [u8]) -> Body {
        Body {
            kind: Kind::Bytes {
                data: Cow::Borrowed(b),
                pos: 0,
            },
        }
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::from(s.into_bytes())
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body {
            kind: Kind::Bytes {
                data: Cow::Owned(v),
                pos: 0,
            },
        }
    }
}

impl From<Cow<'static, [u8]>> for Body {
    fn from(data: Cow<'static, [u8]>) -> Body {
        Body {
            kind: Kind::Bytes { data, pos: 0 },
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Bytes { .. } => "bytes",
            Kind::Reader { .. } => "reader",
            Kind::Stream(_) => "stream",
            Kind::Incoming(_) => "incoming",
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("len", &self.len())
            .finish()
    }
}

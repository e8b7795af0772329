//! Raw handlers: the request head borrowed from the connection's read
//! buffer, the response written straight into its write buffer.
//!
//! For hot endpoints only: the ordinary [`Handler`](super::Handler) (an
//! `http::Request` → `http::Response` function) stays the recommended API.
//! A raw handler saves building a `HeaderMap`, a `Uri` and a response, at
//! the price of a lower-level interface: headers are raw bytes, the target
//! is the request line's text, and a response is written in order (status,
//! headers, body).

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use ::http::header::{self, HeaderName};
use ::http::{HeaderValue, StatusCode, Version};

use super::body::Body;
use super::inbound::{Inbound, lock_inbound};
use super::wire::{
    Framing, Out, is_named, push_content_length, push_head_end, push_header, push_hex,
};
use crate::sync::Mutex;

/// What a server serves with [`Server::serve_raw_forever`] or
/// [`Server::start_raw`]: for each request, a function that reads a
/// borrowed [`RawRequest`] and writes a [`RawResponse`]. Implemented for
/// every such `Fn` that is `Send + Sync + 'static`.
///
/// For hot endpoints (it costs about half of the ordinary path per
/// request); the ordinary [`Handler`](super::Handler) stays the
/// recommended API.
///
/// [`Server::serve_raw_forever`]: super::Server::serve_raw_forever
/// [`Server::start_raw`]: super::Server::start_raw
pub trait RawHandler: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, req: &mut RawRequest<'_>, res: &mut RawResponse<'_>);
}

impl<F> RawHandler for F
where
    F: Fn(&mut RawRequest<'_>, &mut RawResponse<'_>) + Send + Sync + 'static,
{
    #[inline(always)]
    fn call(&self, req: &mut RawRequest<'_>, res: &mut RawResponse<'_>) {
        self(req, res);
    }
}

/// Where a part of a request head is, in the head's bytes.
pub(super) type Span = (usize, usize);

/// A parsed request head as positions in its bytes (the connection keeps
/// it between requests: no allocation per request).
#[derive(Debug)]
pub(super) struct RawHead {
    pub(super) method: Span,
    pub(super) path: Span,
    pub(super) version: Version,
    /// The method is `HEAD`.
    pub(super) is_head: bool,
    /// How many header fields the head has (their lines are read again
    /// from the head's bytes when a handler asks: most never do).
    pub(super) fields: usize,
    /// The head's length in bytes.
    pub(super) len: usize,
}

impl RawHead {
    pub(super) fn new() -> RawHead {
        RawHead {
            method: (0, 0),
            path: (0, 0),
            version: Version::HTTP_11,
            is_head: false,
            fields: 0,
            len: 0,
        }
    }
}

/// A request as a [`RawHandler`] sees it: the method, target, version and
/// headers borrowed from the connection's read buffer, and the body
/// streamed from the connection as the handler reads it.
///
/// The server has checked the head as it does for the ordinary API (one
/// `Host`, framing, limits); the target is not parsed into a URI.
pub struct RawRequest<'a> {
    pub(super) head: &'a [u8],
    pub(super) raw: &'a RawHead,
    /// The body, if the request has one (an empty one is made when a
    /// handler asks: most requests have none, and none to drop).
    pub(super) body: Option<Body>,
    pub(super) peer: &'a SocketAddr,
}

fn text(head: &[u8], (a, b): Span) -> &str {
    // The parser checked these bytes (tokens and the target are ASCII).
    std::str::from_utf8(&head[a..b]).unwrap_or("")
}

impl<'a> RawRequest<'a> {
    /// The method, as sent (`"GET"`).
    pub fn method(&self) -> &'a str {
        text(self.head, self.raw.method)
    }

    /// The request target, as sent: a path and query (`"/a?b=1"`), or an
    /// absolute URI, or `*`.
    pub fn path(&self) -> &'a str {
        text(self.head, self.raw.path)
    }

    /// `HTTP/1.1` or `HTTP/1.0`.
    pub fn version(&self) -> Version {
        self.raw.version
    }

    /// The headers in the order received: names as sent (any case),
    /// values as bytes, without the blanks around them.
    pub fn headers(&self) -> RawHeaders<'a> {
        // The header lines follow the request line, which ends after the
        // target; `lines` starts with that line's end.
        let after_target = &self.head[self.raw.path.1..];
        let at = after_target.iter().position(|&b| b == b'\n');
        let lines = at.map_or(&[][..], |i| &after_target[i + 1..]);
        RawHeaders {
            lines,
            left: self.raw.fields,
        }
    }

    /// The first header named `name` (compared without case).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers()
            .find_map(|(n, v)| n.eq_ignore_ascii_case(name).then_some(v))
    }

    /// The body, read from the connection as the handler reads it (empty
    /// when the request has none). `Expect: 100-continue` is answered at
    /// the first read.
    pub fn body(&mut self) -> &mut Body {
        self.body.get_or_insert_with(Body::empty)
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        *self.peer
    }
}

impl std::fmt::Debug for RawRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRequest")
            .field("method", &self.method())
            .field("path", &self.path())
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

/// The headers of a [`RawRequest`]: `(name, value)` in the order received.
///
/// They are read from the head's lines as they are asked for. The parser
/// checked those lines when the request came: each is `name:value` ending
/// in LF or CRLF, the name a token, the value without CR, LF or NUL, so
/// splitting them again gives what it gave.
#[derive(Debug, Clone)]
pub struct RawHeaders<'a> {
    /// The header lines not yet read (and the head's end after them).
    lines: &'a [u8],
    /// How many are left.
    left: usize,
}

impl<'a> Iterator for RawHeaders<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<(&'a str, &'a [u8])> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let end = self.lines.iter().position(|&b| b == b'\n')?;
        let line = &self.lines[..end];
        self.lines = &self.lines[end + 1..];
        let colon = line.iter().position(|&b| b == b':')?;
        let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
        let value = &line[colon + 1..];
        let start = value.iter().position(|b| !blank(b)).unwrap_or(value.len());
        let end = value
            .iter()
            .rposition(|b| !blank(b))
            .map_or(start, |i| i + 1);
        let name = std::str::from_utf8(&line[..colon]).unwrap_or("");
        Some((name, &value[start..end]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// The header names a raw response treats apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `Date`: the server adds none.
    Date,
    /// `Connection`: `close` is honoured (the server writes the header).
    Connection,
    /// `Content-Length`: the length of a streamed body.
    ContentLength,
    /// `Transfer-Encoding`: ignored (the server frames the body).
    TransferEncoding,
    /// Any other: written as given.
    Other,
}

/// Where a raw response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing written yet.
    Start,
    /// The status line and some headers are written.
    Headers,
    /// The head is complete; the body goes on with this framing.
    Body(Framing),
    /// The whole body was given ([`RawResponse::body`]).
    Done,
}

/// A response as a [`RawHandler`] writes it, in order: the status
/// ([`status`](Self::status), 200 if not set), headers
/// ([`header`](Self::header)), then either the whole body at once
/// ([`body`](Self::body), framed with `Content-Length`) or a body streamed
/// through [`Write`] (framed with the
/// [`content_length`](Self::content_length) given, else chunked on
/// HTTP/1.1, else until close). Everything goes straight into the
/// connection's write buffer.
///
/// The server adds `Date` (unless the handler wrote one),
/// `Content-Length` or `Transfer-Encoding: chunked`, and `Connection` as
/// the ordinary API does; a handler's `Connection: close` is honoured. A
/// `HEAD` request's body, and the body of a 1xx, 204 or 304 answer, is
/// dropped. A response the handler leaves without a body has an empty
/// one.
///
/// # Panics
///
/// The methods panic when used out of order (a status or header after the
/// head ended, a body after [`body`](Self::body)), on a header name or
/// value that is not valid HTTP (a CR or LF would split the response), and
/// on `101 Switching Protocols` (upgrades need the ordinary API). As for
/// any handler panic, the client gets a 500 if nothing of the response
/// left yet, and the connection is closed.
pub struct RawResponse<'a> {
    /// The connection's write side.
    pub(super) out: &'a mut Out,
    /// The request body's read side, when the request has a body (a
    /// `100 Continue` still owed decides `Connection: close`).
    pub(super) inbound: Option<Arc<Mutex<Inbound>>>,
    pub(super) stopping: &'a std::sync::atomic::AtomicBool,
    pub(super) version: Version,
    pub(super) is_head: bool,
    pub(super) keep_alive: bool,
    status: StatusCode,
    state: State,
    has_date: bool,
    length: Option<u64>,
    written: u64,
    /// A write to the client failed: the connection closes.
    failed: bool,
}

impl<'a> RawResponse<'a> {
    #[inline]
    pub(super) fn new(
        out: &'a mut Out,
        inbound: Option<Arc<Mutex<Inbound>>>,
        stopping: &'a std::sync::atomic::AtomicBool,
        version: Version,
        is_head: bool,
        keep_alive: bool,
    ) -> RawResponse<'a> {
        RawResponse {
            out,
            inbound,
            stopping,
            version,
            is_head,
            keep_alive,
            status: StatusCode::OK,
            state: State::Start,
            has_date: false,
            length: None,
            written: 0,
            failed: false,
        }
    }

    /// Sets the status (200 by default).
    ///
    /// # Panics
    ///
    /// After a header or the body was written, or for `101`.
    pub fn status(&mut self, status: StatusCode) -> &mut Self {
        assert!(
            self.state == State::Start,
            "green::http: RawResponse::status after the status line was written"
        );
        assert!(
            status != StatusCode::SWITCHING_PROTOCOLS,
            "green::http: raw handlers cannot switch protocols (use the ordinary Handler)"
        );
        self.status = status;
        self
    }

    /// Writes a header. `Content-Length` sets the length of a streamed
    /// body (as [`content_length`](Self::content_length));
    /// `Transfer-Encoding` is ignored (the server frames the body);
    /// `Connection: close` closes the connection after this response.
    /// The name and value are checked here; for fixed headers on a hot
    /// path, [`typed_header`](Self::typed_header) takes them checked once.
    ///
    /// # Panics
    ///
    /// After the body started; on a name that is not a token or a value
    /// with a control character other than tab.
    pub fn header(&mut self, name: &str, value: &[u8]) -> &mut Self {
        let n = name.as_bytes();
        // A whole-slice fold without early exit: it unrolls.
        let name_ok = n
            .iter()
            .fold(!n.is_empty(), |ok, &b| ok & TCHAR[usize::from(b)]);
        assert!(name_ok, "green::http: invalid header name {name:?}");
        assert!(
            is_field_value(value),
            "green::http: invalid value for header {name}"
        );
        let kind = match n.len() {
            4 if is_named(n, b"date") => Kind::Date,
            10 if is_named(n, b"connection") => Kind::Connection,
            14 if is_named(n, b"content-length") => Kind::ContentLength,
            17 if is_named(n, b"transfer-encoding") => Kind::TransferEncoding,
            _ => Kind::Other,
        };
        self.put(kind, n, value)
    }

    /// Writes a header made beforehand: as [`header`](Self::header), but
    /// the name and value were checked when they were made, so nothing is
    /// checked here. For a hot endpoint's fixed headers:
    ///
    /// ```
    /// use green_rt::http::server::{HeaderValue, RawRequest, RawResponse, header};
    ///
    /// const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain");
    ///
    /// fn hello(_req: &mut RawRequest<'_>, res: &mut RawResponse<'_>) {
    ///     res.typed_header(&header::CONTENT_TYPE, &TEXT_PLAIN);
    ///     res.body(b"Hello, World!");
    /// }
    /// ```
    ///
    /// # Panics
    ///
    /// After the body started.
    #[inline]
    pub fn typed_header(&mut self, name: &HeaderName, value: &HeaderValue) -> &mut Self {
        // The standard names compare as small integers.
        let kind = if *name == header::DATE {
            Kind::Date
        } else if *name == header::CONNECTION {
            Kind::Connection
        } else if *name == header::CONTENT_LENGTH {
            Kind::ContentLength
        } else if *name == header::TRANSFER_ENCODING {
            Kind::TransferEncoding
        } else {
            Kind::Other
        };
        self.put(kind, name.as_str().as_bytes(), value.as_bytes())
    }

    /// Writes a checked header of `kind`.
    #[inline]
    fn put(&mut self, kind: Kind, n: &[u8], value: &[u8]) -> &mut Self {
        if self.state == State::Start {
            self.status_line();
        }
        assert!(
            self.state == State::Headers,
            "green::http: RawResponse::header after the body started"
        );
        match kind {
            Kind::Other => {}
            Kind::Date => self.has_date = true,
            Kind::Connection => {
                self.keep_alive &= !value
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
                return self;
            }
            Kind::ContentLength => {
                let len = super::wire::parse_length(value);
                assert!(len.is_some(), "green::http: invalid Content-Length");
                self.length = len;
                return self;
            }
            Kind::TransferEncoding => return self,
        }
        push_header(&mut self.out.wbuf, n, value);
        self
    }

    /// Sets the length of a body streamed through [`Write`]: it is framed
    /// with this `Content-Length` instead of chunked, and must be exactly
    /// this long.
    ///
    /// # Panics
    ///
    /// After the body started.
    pub fn content_length(&mut self, n: u64) -> &mut Self {
        assert!(
            matches!(self.state, State::Start | State::Headers),
            "green::http: RawResponse::content_length after the body started"
        );
        self.length = Some(n);
        self
    }

    /// Writes the whole body (with its `Content-Length`) and ends the
    /// response (a large body goes to the client at once).
    ///
    /// # Panics
    ///
    /// After a body was written.
    #[inline]
    pub fn body(&mut self, data: &[u8]) {
        assert!(
            matches!(self.state, State::Start | State::Headers),
            "green::http: RawResponse::body after the body started"
        );
        self.length = Some(data.len() as u64);
        let framing = self.end_head();
        self.state = State::Done;
        if let Framing::Length(_) = framing
            && !self.is_head
        {
            self.written = data.len() as u64;
            // A failed write closes the connection after the handler.
            self.failed = self.out.send_body(data).is_err();
        }
    }

    #[inline]
    fn status_line(&mut self) {
        let w = &mut self.out.wbuf;
        if self.status == StatusCode::OK {
            w.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        } else {
            w.extend_from_slice(b"HTTP/1.1 ");
            w.extend_from_slice(self.status.as_str().as_bytes());
            w.push(b' ');
            w.extend_from_slice(self.status.canonical_reason().unwrap_or("").as_bytes());
            w.extend_from_slice(b"\r\n");
        }
        self.state = State::Headers;
    }

    /// Ends the head: `Date`, the framing and `Connection`. The common
    /// case (200 with a length, kept alive on HTTP/1.1, no request body,
    /// no `Date` from the handler) inline; the rest out of line.
    #[inline]
    fn end_head(&mut self) -> Framing {
        if let (State::Headers, Some(n)) = (self.state, self.length)
            && self.status == StatusCode::OK
            && self.inbound.is_none()
            && !self.has_date
            && self.keep_alive
            && self.version == Version::HTTP_11
            && !self.stopping.load(std::sync::atomic::Ordering::SeqCst)
        {
            let out = &mut *self.out;
            push_head_end(&mut out.wbuf, out.date.current(), n);
            let framing = if self.is_head {
                Framing::None
            } else {
                Framing::Length(n)
            };
            self.state = State::Body(framing);
            return framing;
        }
        self.end_head_slow()
    }

    fn end_head_slow(&mut self) -> Framing {
        if self.state == State::Start {
            self.status_line();
        }
        let status = self.status;
        let bodiless = status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        if let Some(inb) = &self.inbound {
            let inb = lock_inbound(inb);
            if inb.continue_pending && !inb.decoder.is_done() {
                self.keep_alive = false;
            }
        }
        if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            self.keep_alive = false;
        }
        let framing = if bodiless {
            Framing::None
        } else {
            match self.length {
                Some(n) => Framing::Length(n),
                None if self.version == Version::HTTP_11 => Framing::Chunked,
                None => {
                    self.keep_alive = false;
                    Framing::Close
                }
            }
        };
        let out = &mut *self.out;
        let w = &mut out.wbuf;
        if !self.has_date {
            w.extend_from_slice(out.date.current());
        }
        match framing {
            Framing::Length(n) => push_content_length(w, n),
            Framing::Chunked if !self.is_head => {
                w.extend_from_slice(b"transfer-encoding: chunked\r\n");
            }
            _ => {}
        }
        if !self.keep_alive {
            w.extend_from_slice(b"connection: close\r\n");
        } else if self.version == Version::HTTP_10 {
            w.extend_from_slice(b"connection: keep-alive\r\n");
        }
        w.extend_from_slice(b"\r\n");
        let framing = if self.is_head { Framing::None } else { framing };
        self.state = State::Body(framing);
        framing
    }

    /// Ends the response after the handler: the head if the handler left
    /// it open (an empty body), the chunked body's end. Returns the status,
    /// the body bytes sent and whether the connection goes on.
    #[inline]
    pub(super) fn finish(&mut self) -> io::Result<(StatusCode, u64, bool)> {
        if self.state != State::Done || self.failed {
            return self.finish_slow();
        }
        // The whole body was given to `body` and buffered: nothing to end.
        self.out.flush_if_full()?;
        Ok((self.status, self.written, self.keep_alive))
    }

    /// [`finish`](Self::finish) when only whether the connection goes on
    /// matters (no access log): `false` on an error too.
    #[inline]
    pub(super) fn finish_keep_alive(&mut self) -> bool {
        if self.state != State::Done || self.failed {
            return matches!(self.finish_slow(), Ok((_, _, true)));
        }
        self.out.flush_if_full().is_ok() && self.keep_alive
    }

    fn finish_slow(&mut self) -> io::Result<(StatusCode, u64, bool)> {
        if self.failed {
            return Err(io::ErrorKind::ConnectionAborted.into());
        }
        if matches!(self.state, State::Start | State::Headers) {
            if self.length.is_none() {
                self.length = Some(0);
            }
            self.end_head();
        }
        match self.state {
            State::Body(Framing::Chunked) => self.out.wbuf.extend_from_slice(b"0\r\n\r\n"),
            State::Body(Framing::Length(n)) if self.written != n => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "green::http: response body shorter than its Content-Length",
                ));
            }
            _ => {}
        }
        self.out.flush_if_full()?;
        Ok((self.status, self.written, self.keep_alive))
    }
}

/// Whether `v` can be a field value: visible bytes, obs-text, space and
/// tab (no CR, LF or other control, no DEL). Eight bytes at a time: a
/// word with no byte below `0x20` and none equal to `0x7f` passes at once;
/// one that has (a tab, or a bad byte) is looked at byte by byte.
#[inline]
pub(super) fn is_field_value(v: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let byte_ok = |b: u8| (b >= 0x20 && b != 0x7f) || b == b'\t';
    let words = v.chunks_exact(8);
    let tail = words.remainder();
    words.into_iter().all(|c| {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // A byte below 0x20, or a zero byte of `x ^ 0x7f..` (a DEL), sets
        // its high bit here (the classic has-less-than and has-zero tests).
        let del = x ^ (0x7f * ONES);
        let suspect = (x.wrapping_sub(0x20 * ONES) & !x | del.wrapping_sub(ONES) & !del) & HIGH;
        suspect == 0 || c.iter().all(|&b| byte_ok(b))
    }) && tail.iter().fold(true, |ok, &b| ok & byte_ok(b))
}

/// Token characters (RFC 9110, 5.6.2), by table: one load per byte.
static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
};

impl Write for RawResponse<'_> {
    /// Writes body bytes: the first write ends the head. Each write is a
    /// chunk of a chunked body.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let framing = match self.state {
            State::Start | State::Headers => self.end_head(),
            State::Body(f) => f,
            State::Done => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "green::http: RawResponse written after body()",
                ));
            }
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let w = &mut self.out.wbuf;
        match framing {
            Framing::Length(n) => {
                if self.written + buf.len() as u64 > n {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "green::http: response body longer than its Content-Length",
                    ));
                }
                w.extend_from_slice(buf);
            }
            Framing::Chunked => {
                push_hex(w, buf.len());
                w.extend_from_slice(b"\r\n");
                w.extend_from_slice(buf);
                w.extend_from_slice(b"\r\n");
            }
            Framing::Close => w.extend_from_slice(buf),
            Framing::None => {}
        }
        self.written += buf.len() as u64;
        self.out.flush_if_full()?;
        Ok(buf.len())
    }

    /// Sends what is buffered to the client now.
    fn flush(&mut self) -> io::Result<()> {
        if matches!(self.state, State::Start | State::Headers) {
            self.end_head();
        }
        self.out.flush()
    }
}

impl std::fmt::Debug for RawResponse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("state", &self.state)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::is_field_value;

    fn byte_ok(b: u8) -> bool {
        (b >= 0x20 && b != 0x7f) || b == b'\t'
    }

    #[test]
    fn field_values_word_at_a_time() {
        assert!(is_field_value(b""));
        assert!(is_field_value(b"text/plain; charset=utf-8"));
        assert!(is_field_value("caf\u{e9}\tok".as_bytes()));
        // Every byte at every position of values 1 to 17 bytes long.
        for len in 1..=17 {
            for i in 0..len {
                for b in 0..=255u8 {
                    let mut v = vec![b'a'; len];
                    v[i] = b;
                    assert_eq!(is_field_value(&v), byte_ok(b), "{b:#x} at {i} of {len}");
                }
            }
        }
        // A bad byte behind obs-text and tabs, and the other way round.
        assert!(!is_field_value(b"\xff\xfe\t\x80\x7f"));
        assert!(!is_field_value(b"\r\xff\xff\xff\xff\xff\xff\xff\xff"));
        assert!(is_field_value(b"\xff\xfe\t\x80\x7e\t\t\t\t"));
    }
}

//! One connection: read a request head, call the handler, write the
//! response, and again while the connection is kept alive.
//!
//! Responses go into a write buffer that is sent when the connection is
//! about to wait for more input (or the buffer is large), so the responses
//! to pipelined requests leave in one write.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::http::header::{self, HeaderName};
use ::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};

use super::body::{Body, Kind};
use super::inbound::{Chunk, Decoder, Failure, Inbound, lock_inbound};
use super::raw::{RawHandler, RawHead, RawRequest, RawResponse};
use super::transport::Transport;
use super::upgrade::{Upgrade, Upgraded};
use super::wire::{
    Framing, Out, is_named, parse_length, push_content_length, push_decimal, push_head_end,
    push_header, push_hex,
};
use super::{App, BUSY, ConnSlot, HEAD, Handler, IDLE, Service, Tracker, date};
use crate::net::TcpStream;
use crate::sync::{Mutex, MutexGuard};
use crate::thread;

/// Initial size of a connection's read buffer.
const READ_BUF: usize = 8 * 1024;
/// Unread request body the server reads and drops to keep a connection.
const DRAIN_LIMIT: u64 = 256 * 1024;
/// Headers parsed into a stack array; more go to the heap.
const STACK_HEADERS: usize = 128;
/// After an error answer, how long the server reads and drops what the
/// client still sends (so the client sees the answer, not a reset).
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 1 << 20;

/// The peer's address, in each request's extensions (WSGI's
/// `REMOTE_ADDR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// What the server keeps of a parsed request head; the method, target,
/// version and headers are written straight into the request.
#[derive(Debug, Clone, Copy)]
struct Head {
    decoder: Decoder,
    keep_alive: bool,
    expect_continue: bool,
}

impl Head {
    /// Before any head: no body, not kept alive.
    const NONE: Head = Head {
        decoder: Decoder::Done,
        keep_alive: false,
        expect_continue: false,
    };
}

/// What became of a request.
enum Step {
    /// Served; the connection goes on.
    Next,
    /// The connection ends (closed, or not kept alive).
    End,
    /// Rejected: answered, and the stream shut down.
    Rejected,
}

enum Next {
    /// A head was read: its framing is in `Conn::head`.
    Request,
    /// Close without an answer (EOF, idle timeout, stopping, I/O error).
    Close,
    /// Answer with this status and close.
    Reject(StatusCode),
}

/// A request whose handler runs: what answering its panic needs (plain
/// data: setting and clearing it per request is a few stores).
#[derive(Clone, Copy)]
struct InFlight {
    /// Where its response starts in the write buffer.
    resp_start: usize,
    /// The write buffer's sends before it: more means it started leaving.
    flushes: u64,
}

/// Most headers of a request remembered for the next one.
const REUSE_HEADERS: usize = 32;

/// One header remembered from the previous request, at its position.
struct Seen {
    name: HeaderName,
    value: HeaderValue,
    /// Misses in a row at this position (a value that changes on every
    /// request is not copied for the next one each time).
    misses: u32,
}

/// What a connection remembers of its previous request head: a keep-alive
/// client tends to send the same target and the same headers again, whose
/// values are then shared (a reference count) instead of parsed, copied
/// and freed once more.
struct Reuse {
    headers: Vec<Seen>,
    /// The previous origin-form target (`/` at first).
    uri: Uri,
}

impl Reuse {
    fn new() -> Reuse {
        Reuse {
            headers: Vec::new(),
            uri: Uri::from_static("/"),
        }
    }

    /// The target `path` (origin-form: the previous one shared if equal).
    fn uri(&mut self, path: &str) -> Option<Uri> {
        if self.uri.path_and_query().map(|p| p.as_str()) == Some(path) {
            return Some(self.uri.clone());
        }
        let uri: Uri = path.parse().ok()?;
        if path.starts_with('/') {
            self.uri = uri.clone();
        }
        Some(uri)
    }

    /// The `i`th header, `name: value` as received.
    #[inline]
    fn header(&mut self, i: usize, name: &[u8], value: &[u8]) -> Option<(HeaderName, HeaderValue)> {
        if let Some(seen) = self.headers.get_mut(i) {
            // A valid name compares without case to its lowercase form.
            if seen.value.as_bytes() == value
                && seen.name.as_str().as_bytes().eq_ignore_ascii_case(name)
            {
                seen.misses = 0;
                return Some((seen.name.clone(), seen.value.clone()));
            }
        }
        let name = HeaderName::from_bytes(name).ok()?;
        let value = HeaderValue::from_bytes(value).ok()?;
        let known = self.headers.len();
        match self.headers.get_mut(i) {
            Some(seen) => {
                seen.misses = seen.misses.saturating_add(1);
                // Replaced after its first miss, then every 16th.
                if seen.misses == 1 || seen.misses % 16 == 0 {
                    seen.name = name.clone();
                    seen.value = value.clone();
                }
            }
            None if i == known && i < REUSE_HEADERS => {
                self.headers.push(Seen {
                    name: name.clone(),
                    value: value.clone(),
                    misses: 0,
                });
            }
            None => {}
        }
        Some((name, value))
    }
}

struct Conn<'a> {
    app: &'a App,
    peer: SocketAddr,
    /// The write side.
    out: Out,
    inbound: ReadSide,
    slot: Arc<ConnSlot>,
    served: u64,
    /// Set by a `101 Switching Protocols` response: what takes the stream.
    upgrade: Option<Upgrade>,
    /// Set while a handler runs.
    in_flight: Option<InFlight>,
    /// The access log line of the request a handler runs, when the log
    /// is on.
    log_line: Option<String>,
    reuse: Reuse,
    /// The last head parsed for a raw handler, as positions.
    raw: RawHead,
    /// The framing of the last head parsed.
    head: Head,
    /// A raw request's head, copied when its bytes cannot stay borrowed in
    /// the read buffer (a body reads past them).
    head_copy: Vec<u8>,
    /// The waits' lengths in reaper ticks: a new connection's first
    /// request, a head once started, an idle keep-alive connection.
    first_ticks: u64,
    head_ticks: u64,
    idle_ticks: u64,
}

/// The connection's read side: borrowed directly while no request body
/// shares it (the common case, no lock), else locked.
enum InRef<'a> {
    Own(&'a mut Inbound),
    Locked(MutexGuard<'a, Inbound>),
}

impl std::ops::Deref for InRef<'_> {
    type Target = Inbound;
    fn deref(&self) -> &Inbound {
        match self {
            InRef::Own(i) => i,
            InRef::Locked(g) => g,
        }
    }
}

impl std::ops::DerefMut for InRef<'_> {
    fn deref_mut(&mut self) -> &mut Inbound {
        match self {
            InRef::Own(i) => i,
            InRef::Locked(g) => g,
        }
    }
}

/// A connection's read side: owned by the connection (no atomics, no
/// lock) except while a request body shares it with the handler.
///
/// With a tag of its own (`repr(u8)`), telling which it is is one
/// compare; kept in a niche of `Inbound` it took several instructions at
/// each of the request loop's looks.
#[repr(u8)]
enum ReadSide {
    Own(Inbound),
    Shared(Arc<Mutex<Inbound>>),
    /// Only while moving from one to the other.
    Moving,
}

impl ReadSide {
    fn get(&mut self) -> InRef<'_> {
        match self {
            ReadSide::Own(i) => InRef::Own(i),
            ReadSide::Shared(arc) => InRef::Locked(lock_inbound(arc)),
            ReadSide::Moving => unreachable!("read side left moving"),
        }
    }

    /// The read side as a plain reference, matched once here rather than
    /// at each use as through [`get`](Self::get); `guard` holds the lock
    /// when the read side is shared.
    #[inline(always)]
    fn borrow<'s: 'g, 'g>(
        &'s mut self,
        guard: &'g mut Option<MutexGuard<'s, Inbound>>,
    ) -> &'g mut Inbound {
        match self {
            ReadSide::Own(i) => i,
            ReadSide::Shared(arc) => guard.insert(lock_inbound(arc)),
            ReadSide::Moving => unreachable!("read side left moving"),
        }
    }

    /// The read side, shared: for a request body.
    fn share(&mut self) -> Arc<Mutex<Inbound>> {
        if let ReadSide::Own(_) = self {
            let ReadSide::Own(i) = std::mem::replace(self, ReadSide::Moving) else {
                unreachable!()
            };
            *self = ReadSide::Shared(Arc::new(Mutex::new(i)));
        }
        match self {
            ReadSide::Shared(arc) => arc.clone(),
            _ => unreachable!("read side shared above"),
        }
    }

    /// Owns the read side again once no body holds it (a handler may keep
    /// one past its request: it stays shared then).
    fn reclaim(&mut self) {
        if let ReadSide::Shared(arc) = self
            && Arc::strong_count(arc) == 1
        {
            let ReadSide::Shared(arc) = std::mem::replace(self, ReadSide::Moving) else {
                unreachable!()
            };
            *self = match Arc::try_unwrap(arc) {
                Ok(m) => ReadSide::Own(m.into_inner().unwrap_or_else(|e| e.into_inner())),
                Err(arc) => ReadSide::Shared(arc),
            };
        }
    }
}

struct Untrack<'a>(&'a Tracker, u64);

impl Drop for Untrack<'_> {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

/// A request body's read side and its request's generation.
type SharedBody = (Arc<Mutex<Inbound>>, u64);

/// A connection loop for one raw handler type.
pub(super) type ServeFn = fn(TcpStream, SocketAddr, &Arc<App>);

/// Serves one connection until it closes.
pub(super) fn serve(stream: TcpStream, peer: SocketAddr, app: &Arc<App>) {
    match &app.handler {
        Service::Http(handler) => serve_with(stream, peer, app, |c| c.serve_http(&**handler)),
        Service::Raw { serve, .. } => serve(stream, peer, app),
    }
}

/// Serves one connection with the raw handler of type `H` the server has.
pub(super) fn serve_raw<H: RawHandler>(stream: TcpStream, peer: SocketAddr, app: &Arc<App>) {
    let Service::Raw { handler, .. } = &app.handler else {
        unreachable!("a raw connection loop for an ordinary handler")
    };
    let Some(handler) = handler.downcast_ref::<H>() else {
        unreachable!("a raw connection loop for another handler type")
    };
    serve_with(stream, peer, app, |c| c.serve_raw(handler));
}

/// Sets a connection up and serves it with `one` (a request at a time)
/// until it closes.
fn serve_with(
    stream: TcpStream,
    peer: SocketAddr,
    app: &Arc<App>,
    one: impl FnMut(&mut Conn<'_>) -> Step,
) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(app.config.write_timeout));
    let Some((id, slot)) = app.tracker.add(&stream) else {
        return;
    };
    let _untrack = Untrack(&app.tracker, id);
    let Some(stream) = transport(stream, app) else {
        return;
    };
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut conn = Conn {
        app,
        peer,
        out: Out::new(stream),
        inbound: ReadSide::Own(Inbound::new(read_half, READ_BUF)),
        slot,
        served: 0,
        upgrade: None,
        in_flight: None,
        log_line: None,
        reuse: Reuse::new(),
        raw: RawHead::new(),
        head: Head::NONE,
        head_copy: Vec::new(),
        first_ticks: app.tracker.ticks(app.config.header_read_timeout),
        head_ticks: app.tracker.ticks(app.config.header_read_timeout),
        idle_ticks: app.tracker.ticks(app.config.keep_alive_timeout),
    };
    conn.run(one);
}

/// The connection's stream: TLS after its handshake (within the header
/// read timeout) when the server has an acceptor.
fn transport(stream: TcpStream, app: &App) -> Option<Transport> {
    #[cfg(feature = "tls")]
    if let Some(config) = &app.config.tls {
        let conn = rustls::ServerConnection::new(config.clone()).ok()?;
        let split = super::transport::tls::Split::handshake(
            conn.into(),
            stream,
            app.config.header_read_timeout,
        )
        .ok()?;
        return Some(Transport::Tls(Arc::new(split)));
    }
    #[cfg(not(feature = "tls"))]
    let _ = app;
    Some(Transport::Tcp(stream))
}

impl Conn<'_> {
    /// Serves requests until the connection ends. A handler's panic
    /// unwinds to here: its client gets a 500 if nothing of its response
    /// left yet, and the connection closes.
    fn run(&mut self, one: impl FnMut(&mut Self) -> Step) {
        match thread::catch_unwind(|| self.serve_requests(one)) {
            Ok(true) => {}
            // Rejected: the answer went out and the stream was shut down.
            Ok(false) => return,
            Err(payload) => {
                if thread::is_greenlet_exit(&*payload) {
                    thread::resume_unwind(payload);
                }
                // Only a handler's panic (or its response body's) is
                // answered; the server's own would be a bug: it goes on.
                let Some(at) = self.in_flight.take() else {
                    thread::resume_unwind(payload);
                };
                // The panic was reported by the hook, as std reports a
                // thread's. Answer 500 if nothing of this response left.
                if self.out.flushes == at.flushes {
                    self.out.wbuf.truncate(at.resp_start);
                    error_response(&mut self.out.wbuf, StatusCode::INTERNAL_SERVER_ERROR);
                }
                let line = self.log_line.take();
                self.log(line, StatusCode::INTERNAL_SERVER_ERROR, None);
            }
        }
        let _ = self.flush();
        let _ = self.out.stream.shutdown(Shutdown::Write);
    }

    /// The request loop; `false` when a request was rejected (answered
    /// and shut down already).
    fn serve_requests(&mut self, mut one: impl FnMut(&mut Self) -> Step) -> bool {
        loop {
            match one(self) {
                Step::Next => self.served += 1,
                Step::End => return true,
                Step::Rejected => return false,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Reads until a whole request head is buffered, and parses it with
    /// `parse` (into a `Request`, or into positions for a raw handler).
    #[inline]
    fn read_head<P>(&mut self, mut parse: P) -> Next
    where
        P: FnMut(&[u8], &mut Reuse, &mut RawHead, &mut Head) -> Result<Option<usize>, StatusCode>,
    {
        let app = self.app;
        let cfg = &app.config;
        // Matched once here, not at each use (the read side is the
        // connection's own unless a body handed to a handler still holds
        // it).
        let mut guard = None;
        let inb = self.inbound.borrow(&mut guard);
        // The wait this head is in (IDLE before its first byte, HEAD after).
        let mut waiting = BUSY;
        let outcome = loop {
            let buf = inb.buffered();
            if let Some(b'\r' | b'\n') = buf.first() {
                // Empty lines before a request are ignored (RFC 9112,
                // 2.2); the first byte tells whether there are any.
                let skip = buf
                    .iter()
                    .take_while(|&&b| b == b'\r' || b == b'\n')
                    .count();
                inb.pos += skip;
                continue;
            }
            if !buf.is_empty() {
                match parse(buf, &mut self.reuse, &mut self.raw, &mut self.head) {
                    Ok(Some(len)) if len > cfg.max_header_bytes => {
                        break Next::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
                    }
                    Ok(Some(len)) => {
                        inb.pos += len;
                        break Next::Request;
                    }
                    Ok(None) if inb.end - inb.pos >= cfg.max_header_bytes => {
                        break Next::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
                    }
                    Ok(None) => {
                        // The head's time starts when it is first seen
                        // incomplete.
                        if waiting != HEAD {
                            waiting = HEAD;
                            self.slot.wait(&app.tracker, HEAD, self.head_ticks);
                        }
                    }
                    Err(status) => break Next::Reject(status),
                }
            } else if waiting != IDLE {
                waiting = IDLE;
                let ticks = if self.served == 0 {
                    self.first_ticks
                } else {
                    self.idle_ticks
                };
                self.slot.wait(&app.tracker, IDLE, ticks);
                // A stop that began before the wait was marked is seen
                // here; one that begins after it shuts the read side down.
                if app.tracker.is_stopping() {
                    break Next::Close;
                }
            }
            // More input is needed: first send the responses waiting.
            if !self.out.wbuf.is_empty() && self.out.flush().is_err() {
                break Next::Close;
            }
            match inb.fill(cfg.max_header_bytes + READ_BUF) {
                Ok(0) if self.slot.expired() && waiting == HEAD => {
                    break Next::Reject(StatusCode::REQUEST_TIMEOUT);
                }
                Ok(0) => break Next::Close,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::OutOfMemory => {
                    break Next::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
                }
                Err(_) => break Next::Close,
            }
        };
        if waiting != BUSY {
            self.slot.busy();
        }
        outcome
    }

    /// Reads and serves one request with an ordinary handler.
    fn serve_http(&mut self, handler: &dyn Handler) -> Step {
        // Built here, filled in place by the parser and moved only into
        // the handler: a request is large, and each move of it is a copy.
        let mut req = Request::new(Body::empty());
        debug_assert!(
            req.method() == Method::GET && req.uri() == "/" && req.version() == Version::HTTP_11
        );
        let max_headers = self.app.config.max_headers;
        let parsed =
            self.read_head(|buf, reuse, _, head| parse(buf, max_headers, &mut req, reuse, head));
        match parsed {
            Next::Request => {}
            Next::Close => return Step::End,
            Next::Reject(status) => {
                self.reject(status);
                return Step::Rejected;
            }
        }
        let cfg = &self.app.config;
        let version = req.version();
        let has_body = !self.head.decoder.is_done();
        let keep_alive = self.head.keep_alive;
        match self.begin_body(version) {
            Ok(Some((inbound, generation))) => {
                *req.body_mut() = Body::incoming(inbound, generation);
            }
            Ok(None) => {}
            Err(step) => return step,
        }
        let is_head = req.method() == Method::HEAD;
        let logging = cfg.access_log.is_some();
        if logging {
            self.log_line = Some(format!("{} {} {:?}", req.method(), req.uri(), version));
        }
        if cfg.remote_addr {
            req.extensions_mut().insert(RemoteAddr(self.peer));
        }
        let keep_alive = keep_alive && !self.app.tracker.is_stopping();

        // A panic from here to the response's end unwinds to `run`.
        self.in_flight = Some(InFlight {
            resp_start: self.out.wbuf.len(),
            flushes: self.out.flushes,
        });
        let resp = handler.call(req);
        let outcome = self.respond(resp, version, is_head, keep_alive, has_body);
        self.in_flight = None;
        let log = if logging { self.log_line.take() } else { None };
        let Ok((status, sent, keep_alive)) = outcome else {
            return Step::End;
        };
        self.log(log, status, Some(sent));
        if let Some(upgrade) = self.upgrade.take() {
            self.run_upgrade(upgrade);
            return Step::End;
        }
        self.end_request(keep_alive, has_body)
    }

    /// Reads and serves one request with a raw handler: the head stays in
    /// the read buffer (copied out only when a body will read past it) and
    /// the response is written into the write buffer as the handler goes.
    #[inline(always)]
    fn serve_raw<H: RawHandler + ?Sized>(&mut self, handler: &H) -> Step {
        let max_headers = self.app.config.max_headers;
        match self.read_head(|buf, _, raw, head| parse_raw(buf, max_headers, raw, head)) {
            Next::Request => {}
            Next::Close => return Step::End,
            Next::Reject(status) => {
                self.reject(status);
                return Step::Rejected;
            }
        }
        // The head's fields are read where used (a copy of the whole
        // would copy its decoder's payload too).
        let version = self.raw.version;
        let has_body = !self.head.decoder.is_done();
        let logging = self.app.config.access_log.is_some();
        // No body, none before it unread and none out (most requests):
        // the head stays in the read buffer, and the read side needs no
        // setup.
        let plain = !has_body && self.quiet();
        if plain && !logging {
            return self.serve_plain(handler);
        }
        let in_place = !has_body && matches!(self.inbound, ReadSide::Own(_));
        let body = if plain {
            None
        } else {
            if !in_place {
                let inb = self.inbound.get();
                self.head_copy.clear();
                self.head_copy
                    .extend_from_slice(&inb.buf[inb.pos - self.raw.len..inb.pos]);
            }
            match self.begin_body_slow(self.head, version) {
                Ok(body) => body,
                Err(step) => return step,
            }
        };
        let head_bytes: &[u8] = match &self.inbound {
            ReadSide::Own(inb) if in_place => &inb.buf[inb.pos - self.raw.len..inb.pos],
            _ => &self.head_copy,
        };
        let is_head = self.raw.is_head;
        if logging {
            let method = &head_bytes[self.raw.method.0..self.raw.method.1];
            self.log_line = Some(format!(
                "{} {} {:?}",
                String::from_utf8_lossy(method),
                String::from_utf8_lossy(&head_bytes[self.raw.path.0..self.raw.path.1]),
                version
            ));
        }
        // A stop is looked at as the head is written (`end_head`) and
        // after the response.
        let keep_alive = self.head.keep_alive;
        // A panic from here to the response's end unwinds to `run`.
        let resp_start = self.out.wbuf.len();
        let flushes = self.out.flushes;
        self.in_flight = Some(InFlight {
            resp_start,
            flushes,
        });
        let (reader, inbound) = match body {
            Some((inbound, generation)) => (
                Some(Body::incoming(inbound.clone(), generation)),
                Some(inbound),
            ),
            None => (None, None),
        };
        // The request and response drop in place at the block's end (an
        // explicit `drop` would move them first).
        let outcome = {
            let mut req = RawRequest {
                head: head_bytes,
                raw: &self.raw,
                body: reader,
                peer: &self.peer,
            };
            let mut res = RawResponse::new(
                &mut self.out,
                inbound,
                &self.app.tracker.stopping,
                version,
                is_head,
                keep_alive,
            );
            handler.call(&mut req, &mut res);
            // A body (rare) is dropped here; the request then has nothing
            // to drop, and its drop needs no call.
            if let Some(body) = req.body.take() {
                drop(body);
            }
            res.finish()
        };
        let failure = if has_body {
            self.inbound.get().failure
        } else {
            None
        };
        self.in_flight = None;
        let log = if logging { self.log_line.take() } else { None };
        if let Some(f) = failure {
            // The request body failed: that decides the answer, if none of
            // the handler's left yet.
            let status = match f {
                Failure::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                Failure::Malformed => StatusCode::BAD_REQUEST,
                Failure::TimedOut => StatusCode::REQUEST_TIMEOUT,
                Failure::Closed => return Step::End,
            };
            if self.out.flushes == flushes {
                self.out.wbuf.truncate(resp_start);
                error_response(&mut self.out.wbuf, status);
            }
            let _ = self.flush();
            self.log(log, status, Some(0));
            return Step::End;
        }
        let Ok((status, sent, keep_alive)) = outcome else {
            return Step::End;
        };
        if log.is_some() {
            self.log(log, status, Some(sent));
        }
        self.end_request(keep_alive, has_body)
    }

    /// [`serve_raw`](Self::serve_raw) for a plain request (no body, none
    /// unread or out) with the access log off, most requests: the head is
    /// in the read buffer, and the handler's response is all there is to
    /// do. What it leaves out of the general path is what such a request
    /// cannot need (a body to start, share, check or drop, a log line).
    #[inline(always)]
    fn serve_plain<H: RawHandler + ?Sized>(&mut self, handler: &H) -> Step {
        let ReadSide::Own(inb) = &self.inbound else {
            unreachable!("a plain request's read side is the connection's own");
        };
        let head = &inb.buf[inb.pos - self.raw.len..inb.pos];
        // A panic from here to the response's end unwinds to `run`.
        self.in_flight = Some(InFlight {
            resp_start: self.out.wbuf.len(),
            flushes: self.out.flushes,
        });
        let keep_alive = {
            let mut req = RawRequest {
                head,
                raw: &self.raw,
                body: None,
                peer: &self.peer,
            };
            let mut res = RawResponse::new(
                &mut self.out,
                None,
                &self.app.tracker.stopping,
                self.raw.version,
                self.raw.is_head,
                self.head.keep_alive,
            );
            handler.call(&mut req, &mut res);
            res.finish_keep_alive()
        };
        self.in_flight = None;
        // The read side is still quiet: the handler had no body to keep.
        if keep_alive && !self.app.tracker.is_stopping() {
            Step::Next
        } else {
            Step::End
        }
    }

    /// No request body is out or unread, and none failed: the read side is
    /// the connection's own and ready for the next head.
    #[inline(always)]
    fn quiet(&self) -> bool {
        matches!(&self.inbound, ReadSide::Own(inb)
            if inb.decoder.is_done() && inb.failure.is_none())
    }

    /// Starts the body of the request whose head was just read (its
    /// framing is `self.head`): the body limit, the read side's decoder,
    /// and for a body the read side shared (with the request's
    /// generation). `Err` when the request was answered or the connection
    /// failed.
    #[inline(always)]
    fn begin_body(&mut self, version: Version) -> Result<Option<SharedBody>, Step> {
        if self.head.decoder.is_done() && self.quiet() {
            // No body, none before it unread, and none out: the read side
            // is as `begin` would leave it (checked here, inline: most
            // requests have no body).
            return Ok(None);
        }
        self.begin_body_slow(self.head, version)
    }

    fn begin_body_slow(
        &mut self,
        head: Head,
        version: Version,
    ) -> Result<Option<SharedBody>, Step> {
        let cfg = &self.app.config;
        let Head {
            decoder,
            expect_continue,
            ..
        } = head;
        if let Decoder::Length(n) = decoder
            && n > cfg.max_body_bytes
        {
            self.reject(StatusCode::PAYLOAD_TOO_LARGE);
            return Err(Step::End);
        }
        let has_body = !decoder.is_done();
        let mut inb = self.inbound.get();
        inb.begin(decoder, expect_continue && version == Version::HTTP_11);
        inb.max_body = cfg.max_body_bytes;
        inb.max_trailer = cfg.max_header_bytes;
        if !has_body {
            return Ok(None);
        }
        let _ = inb.stream.set_read_timeout(Some(cfg.read_timeout));
        let generation = inb.generation;
        drop(inb);
        let shared = self.inbound.share();
        if !self.out.wbuf.is_empty() && self.flush().is_err() {
            return Err(Step::End);
        }
        Ok(Some((shared, generation)))
    }

    /// Ends a request whose response was written: the connection goes on
    /// if kept alive and what the handler left of the body is short.
    #[inline(always)]
    fn end_request(&mut self, keep_alive: bool, has_body: bool) -> Step {
        if !keep_alive {
            return Step::End;
        }
        if !has_body && self.quiet() {
            // No body: nothing to drain, and no body to end (its
            // generation matters only to a body that reads).
            return if self.app.tracker.is_stopping() {
                Step::End
            } else {
                Step::Next
            };
        }
        self.end_body(has_body)
    }

    /// [`end_request`](Self::end_request) of a kept-alive request with a
    /// body, or after one a handler kept.
    fn end_body(&mut self, has_body: bool) -> Step {
        // What the handler left of the body is read and dropped, if short.
        let mut inb = self.inbound.get();
        let clean = inb.decoder.is_done() && inb.failure.is_none() || inb.drain(DRAIN_LIMIT);
        inb.finish();
        if has_body {
            // The next head's wait is the reaper's (keep-alive, head
            // timeouts), and a read without a timeout reads no clock.
            let _ = inb.stream.set_read_timeout(None);
        }
        drop(inb);
        self.inbound.reclaim();
        if clean && !self.app.tracker.is_stopping() {
            Step::Next
        } else {
            Step::End
        }
    }

    /// Hands the stream, with the bytes read past the request, to the
    /// upgrade's callback (the 101 has been sent).
    fn run_upgrade(&mut self, upgrade: Upgrade) {
        let (stream, rest) = {
            let mut inb = self.inbound.get();
            let rest = inb.buffered().to_vec();
            inb.pos = inb.end;
            inb.finish();
            let Ok(stream) = inb.stream.try_clone() else {
                return;
            };
            (stream, rest)
        };
        let _ = stream.set_read_timeout(None);
        let upgraded = Upgraded::new(stream, rest, self.peer);
        if let Err(payload) = thread::catch_unwind(|| upgrade.run(upgraded))
            && thread::is_greenlet_exit(&*payload)
        {
            thread::resume_unwind(payload);
        }
    }

    fn log(&self, line: Option<String>, status: StatusCode, sent: Option<u64>) {
        let (Some(line), Some(sink)) = (line, &self.app.config.access_log) else {
            return;
        };
        let sent = sent.map_or_else(|| "-".to_string(), |n| n.to_string());
        sink(&format!(
            "{} - - [{}] \"{line}\" {} {sent}",
            self.peer.ip(),
            date::clf_now(),
            status.as_u16()
        ));
    }

    /// Writes the handler's response; returns the status sent, the body
    /// bytes sent and whether the connection may go on.
    fn respond(
        &mut self,
        mut resp: Response<Body>,
        version: Version,
        is_head: bool,
        mut keep_alive: bool,
        has_body: bool,
    ) -> io::Result<(StatusCode, u64, bool)> {
        let (failure, unread_waiting) = if has_body {
            let inb = self.inbound.get();
            (inb.failure, inb.continue_pending && !inb.decoder.is_done())
        } else {
            (None, false)
        };
        if let Some(f) = failure {
            // The request body failed: that decides the answer.
            let status = match f {
                Failure::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                Failure::Malformed => StatusCode::BAD_REQUEST,
                Failure::TimedOut => StatusCode::REQUEST_TIMEOUT,
                Failure::Closed => return Err(io::ErrorKind::ConnectionAborted.into()),
            };
            drop(resp);
            error_response(&mut self.out.wbuf, status);
            self.flush()?;
            return Ok((status, 0, false));
        }
        if unread_waiting || self.app.tracker.is_stopping() {
            keep_alive = false;
        }
        // The body is taken out and the head read in place: moving the
        // response apart would copy it.
        let status = resp.status();
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return self.switch(resp, version);
        }
        let kind = std::mem::take(resp.body_mut()).into_kind();
        let headers = resp.headers();
        let bodiless = status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let framing = if bodiless {
            Framing::None
        } else {
            match &kind {
                Kind::Empty => Framing::Length(0),
                Kind::Bytes { data, pos } => Framing::Length((data.len() - pos) as u64),
                Kind::Reader { len: Some(n), .. } => Framing::Length(*n),
                _ => match content_length(headers) {
                    Some(n) => Framing::Length(n),
                    None if version == Version::HTTP_11 => Framing::Chunked,
                    None => {
                        keep_alive = false;
                        Framing::Close
                    }
                },
            }
        };

        // The head.
        let w = &mut self.out.wbuf;
        w.reserve(256);
        if status == StatusCode::OK {
            w.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        } else {
            w.extend_from_slice(b"HTTP/1.1 ");
            w.extend_from_slice(status.as_str().as_bytes());
            w.push(b' ');
            w.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
            w.extend_from_slice(b"\r\n");
        }
        let mut has_date = false;
        for (name, value) in headers {
            if name == header::CONNECTION {
                // The handler's `Connection: close` is honoured; the
                // server writes the header itself.
                keep_alive &= !value
                    .as_bytes()
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
                continue;
            }
            if name == header::CONTENT_LENGTH && !matches!(framing, Framing::None)
                || name == header::TRANSFER_ENCODING
            {
                continue;
            }
            has_date |= name == header::DATE;
            push_header(w, name.as_str().as_bytes(), value.as_bytes());
        }
        if let Framing::Length(n) = framing
            && !has_date
            && keep_alive
            && version == Version::HTTP_11
        {
            // The common end, in one go.
            push_head_end(w, self.out.date.current(), n);
        } else {
            if !has_date {
                w.extend_from_slice(self.out.date.current());
            }
            match framing {
                Framing::Length(n) => push_content_length(w, n),
                Framing::Chunked if !is_head => {
                    w.extend_from_slice(b"transfer-encoding: chunked\r\n");
                }
                _ => {}
            }
            if !keep_alive {
                w.extend_from_slice(b"connection: close\r\n");
            } else if version == Version::HTTP_10 {
                w.extend_from_slice(b"connection: keep-alive\r\n");
            }
            w.extend_from_slice(b"\r\n");
        }

        if is_head || matches!(framing, Framing::None) {
            return Ok((status, 0, keep_alive));
        }
        // The body.
        let sent = match kind {
            Kind::Empty => 0,
            Kind::Bytes { data, pos } => {
                let b = &data[pos..];
                self.out.send_body(b)?;
                b.len() as u64
            }
            kind => {
                let mut out = BodyOut {
                    out: &mut self.out,
                    framing,
                    written: 0,
                };
                match kind {
                    Kind::Reader { mut reader, .. } => {
                        io::copy(&mut reader, &mut out)?;
                    }
                    Kind::Incoming(mut incoming) => {
                        let mut buf = [0u8; 8192];
                        loop {
                            let n = incoming.read(&mut buf)?;
                            if n == 0 {
                                break;
                            }
                            out.write_all(&buf[..n])?;
                        }
                    }
                    Kind::Stream(Some(f)) => f(&mut out)?,
                    _ => {}
                }
                out.finish()?
            }
        };
        Ok((status, sent, keep_alive))
    }

    /// Writes a `101 Switching Protocols` head (the handler's headers as
    /// they are) and arms the upgrade; without an [`Upgrade`] in the
    /// response's extensions, or on HTTP/1.0, the answer is 500 instead.
    fn switch(
        &mut self,
        mut resp: Response<Body>,
        version: Version,
    ) -> io::Result<(StatusCode, u64, bool)> {
        let upgrade = resp.extensions_mut().remove::<Upgrade>();
        let Some(upgrade) = upgrade.filter(|_| version == Version::HTTP_11) else {
            error_response(&mut self.out.wbuf, StatusCode::INTERNAL_SERVER_ERROR);
            self.flush()?;
            return Ok((StatusCode::INTERNAL_SERVER_ERROR, 0, false));
        };
        let w = &mut self.out.wbuf;
        w.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        let mut has_date = false;
        for (name, value) in resp.headers() {
            if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
                continue;
            }
            has_date |= name == header::DATE;
            push_header(w, name.as_str().as_bytes(), value.as_bytes());
        }
        if !has_date {
            w.extend_from_slice(self.out.date.current());
        }
        w.extend_from_slice(b"\r\n");
        self.flush()?;
        self.upgrade = Some(upgrade);
        Ok((StatusCode::SWITCHING_PROTOCOLS, 0, false))
    }

    /// Answers `status` and closes, letting the client read the answer.
    fn reject(&mut self, status: StatusCode) {
        error_response(&mut self.out.wbuf, status);
        if self.flush().is_err() {
            return;
        }
        let _ = self.out.stream.shutdown(Shutdown::Write);
        // Read and drop what the client still sends for a while: closing
        // with unread input would reset the connection and could lose the
        // answer on its way.
        let _ = self.out.stream.set_read_timeout(Some(LINGER));
        let until = Instant::now() + LINGER;
        let mut scratch = [0u8; 8192];
        let mut dropped = 0;
        while dropped < LINGER_BYTES && Instant::now() < until {
            match (&self.out.stream).read(&mut scratch) {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
    }
}

/// Writes a response body with its framing.
struct BodyOut<'a> {
    out: &'a mut Out,
    framing: Framing,
    written: u64,
}

impl BodyOut<'_> {
    fn finish(self) -> io::Result<u64> {
        match self.framing {
            Framing::Chunked => self.out.wbuf.extend_from_slice(b"0\r\n\r\n"),
            Framing::Length(n) if self.written != n => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "green::http: response body shorter than its Content-Length",
                ));
            }
            _ => {}
        }
        self.out.flush_if_full()?;
        Ok(self.written)
    }
}

impl Write for BodyOut<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.framing {
            Framing::Length(n) => {
                if self.written + buf.len() as u64 > n {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "green::http: response body longer than its Content-Length",
                    ));
                }
                self.out.wbuf.extend_from_slice(buf);
            }
            Framing::Chunked => {
                push_hex(&mut self.out.wbuf, buf.len());
                self.out.wbuf.extend_from_slice(b"\r\n");
                self.out.wbuf.extend_from_slice(buf);
                self.out.wbuf.extend_from_slice(b"\r\n");
            }
            Framing::Close => self.out.wbuf.extend_from_slice(buf),
            Framing::None => {}
        }
        self.written += buf.len() as u64;
        self.out.flush_if_full()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A whole error response, with `Connection: close`.
fn error_response(w: &mut Vec<u8>, status: StatusCode) {
    let reason = status.canonical_reason().unwrap_or("Error");
    w.extend_from_slice(b"HTTP/1.1 ");
    w.extend_from_slice(status.as_str().as_bytes());
    w.push(b' ');
    w.extend_from_slice(reason.as_bytes());
    w.extend_from_slice(b"\r\ncontent-type: text/plain; charset=utf-8\r\ndate: ");
    date::append_date(w);
    w.extend_from_slice(b"\r\ncontent-length: ");
    push_decimal(w, reason.len() as u64 + 1);
    w.extend_from_slice(b"\r\nconnection: close\r\n\r\n");
    w.extend_from_slice(reason.as_bytes());
    w.push(b'\n');
}

/// A response's own valid `Content-Length`, if it set one.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut all = headers.get_all(header::CONTENT_LENGTH).iter();
    let v = all.next()?;
    if all.next().is_some() {
        return None;
    }
    parse_length(v.as_bytes())
}

/// Parses a request head from `buf` into `req` and its framing into
/// `head`: `Ok(None)` while incomplete, the head's length when complete,
/// or the status to reject it with.
fn parse(
    buf: &[u8],
    max_headers: usize,
    req: &mut Request<Body>,
    reuse: &mut Reuse,
    head: &mut Head,
) -> Result<Option<usize>, StatusCode> {
    if max_headers <= STACK_HEADERS {
        let mut hs = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        parse_with(buf, &mut hs[..max_headers], req, reuse, head)
    } else {
        parse_with(buf, &mut header_room(max_headers), req, reuse, head)
    }
}

/// Runs httparse over `buf`: the request, its head's length and its
/// version; `Ok(None)` while the head is incomplete; the status that
/// answers a malformed head. Shared by both handler paths.
#[inline(always)]
fn parse_head<'h, 'b>(
    buf: &'b [u8],
    hs: &'h mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<(httparse::Request<'h, 'b>, usize, Version)>, StatusCode> {
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, hs) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        }
        Err(httparse::Error::Version) => return Err(version_error(buf)),
        Err(_) => return Err(StatusCode::BAD_REQUEST),
    };
    let version = match req.version {
        Some(1) => Version::HTTP_11,
        Some(0) => Version::HTTP_10,
        _ => return Err(StatusCode::HTTP_VERSION_NOT_SUPPORTED),
    };
    Ok(Some((req, len, version)))
}

fn parse_with<'b>(
    buf: &'b [u8],
    hs: &mut [MaybeUninit<httparse::Header<'b>>],
    req: &mut Request<Body>,
    reuse: &mut Reuse,
    head: &mut Head,
) -> Result<Option<usize>, StatusCode> {
    let Some((raw, len, version)) = parse_head(buf, hs)? else {
        return Ok(None);
    };
    let bad = StatusCode::BAD_REQUEST;
    // A new request is `GET / HTTP/1.1` already: what differs is set.
    match raw.method.ok_or(bad)? {
        "GET" => {}
        m => *req.method_mut() = Method::from_bytes(m.as_bytes()).map_err(|_| bad)?,
    }
    match raw.path.ok_or(bad)? {
        "/" => {}
        path => *req.uri_mut() = reuse.uri(path).ok_or(bad)?,
    }
    if version != Version::HTTP_11 {
        *req.version_mut() = version;
    }
    let mut facts = Facts::default();
    let headers = req.headers_mut();
    headers.reserve(raw.headers.len());
    for (i, h) in raw.headers.iter().enumerate() {
        facts.see(h.name.as_bytes(), h.value);
        let (name, value) = reuse.header(i, h.name.as_bytes(), h.value).ok_or(bad)?;
        headers.append(name, value);
    }
    // Looked up only when there is one (a lookup hashes the name).
    let tes = || {
        headers
            .get_all(header::TRANSFER_ENCODING)
            .into_iter()
            .map(HeaderValue::as_bytes)
    };
    *head = check(version, tes, &facts)?;
    Ok(Some(len))
}

/// Parses a request head from `buf` for a raw handler: its parts' positions
/// go into `raw`, its framing into `head`.
#[inline(always)]
fn parse_raw(
    buf: &[u8],
    max_headers: usize,
    raw: &mut RawHead,
    head: &mut Head,
) -> Result<Option<usize>, StatusCode> {
    if max_headers <= STACK_HEADERS {
        let mut hs = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        parse_raw_with(buf, &mut hs[..max_headers], raw, head)
    } else {
        parse_raw_with(buf, &mut header_room(max_headers), raw, head)
    }
}

/// Room for more headers than the stack holds (out of line: the
/// allocation's arithmetic would otherwise be redone inline for every
/// request).
#[cold]
#[inline(never)]
fn header_room<'b>(n: usize) -> Vec<MaybeUninit<httparse::Header<'b>>> {
    (0..n).map(|_| MaybeUninit::uninit()).collect()
}

#[inline(always)]
fn parse_raw_with<'b>(
    buf: &'b [u8],
    hs: &mut [MaybeUninit<httparse::Header<'b>>],
    raw: &mut RawHead,
    head: &mut Head,
) -> Result<Option<usize>, StatusCode> {
    let Some((req, len, version)) = parse_head(buf, hs)? else {
        return Ok(None);
    };
    let bad = StatusCode::BAD_REQUEST;
    // Positions from pointers: every part is a slice of `buf`.
    let base = buf.as_ptr() as usize;
    let span = |s: &[u8]| {
        let a = s.as_ptr() as usize - base;
        (a, a + s.len())
    };
    let method = req.method.ok_or(bad)?;
    let path = req.path.ok_or(bad)?;
    raw.method = span(method.as_bytes());
    raw.is_head = method == "HEAD";
    raw.path = span(path.as_bytes());
    raw.version = version;
    raw.len = len;
    // The header lines are found again when a handler asks for them.
    raw.fields = req.headers.len();
    // The common head (one `Host`, none of the other framing names) is
    // told by a first look that keeps two values; any other is checked
    // whole.
    let mut hosts = 0;
    let mut special = false;
    for h in req.headers.iter() {
        match field(h.name.as_bytes()) {
            Field::Host => hosts += 1,
            Field::Other => {}
            _ => special = true,
        }
    }
    if hosts == 1 && !special {
        // Field by field: a `Done` decoder is its tag alone, and the
        // whole struct would be copied with its unused payload.
        head.decoder = Decoder::Done;
        head.keep_alive = version == Version::HTTP_11;
        head.expect_continue = false;
    } else {
        *head = check_headers(version, req.headers)?;
    }
    Ok(Some(len))
}

/// 505 for a well-formed version other than 1.x, 400 for garbage.
fn version_error(buf: &[u8]) -> StatusCode {
    let line_end = buf.iter().position(|&b| b == b'\r' || b == b'\n');
    let line = &buf[..line_end.unwrap_or(buf.len())];
    match line.rsplit(|&b| b == b' ').next() {
        Some([b'H', b'T', b'T', b'P', b'/', major, b'.', minor])
            if major.is_ascii_digit() && minor.is_ascii_digit() && *major != b'1' =>
        {
            StatusCode::HTTP_VERSION_NOT_SUPPORTED
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

/// What the framing rules need from the headers, gathered as they are
/// parsed (cheaper than looking each up in the map).
#[derive(Default)]
struct Facts<'b> {
    hosts: usize,
    content_lengths: usize,
    content_length: Option<&'b [u8]>,
    transfer_encoding: bool,
    close: bool,
    keep_alive: bool,
    expect: Option<&'b [u8]>,
    /// Any of `Expect`, `Connection`, `Content-Length` or
    /// `Transfer-Encoding` was seen: the head needs the whole check.
    special: bool,
}

/// The request header names the framing rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Host,
    Expect,
    Connection,
    ContentLength,
    TransferEncoding,
    Other,
}

/// Which of the framing rules' names `name` is (by length first: most
/// names are none of them and cost one compare).
#[inline(always)]
fn field(name: &[u8]) -> Field {
    match name.len() {
        4 if is_named(name, b"host") => Field::Host,
        6 if is_named(name, b"expect") => Field::Expect,
        10 if is_named(name, b"connection") => Field::Connection,
        14 if is_named(name, b"content-length") => Field::ContentLength,
        17 if is_named(name, b"transfer-encoding") => Field::TransferEncoding,
        _ => Field::Other,
    }
}

impl<'b> Facts<'b> {
    #[inline(always)]
    fn see(&mut self, name: &[u8], value: &'b [u8]) {
        match field(name) {
            Field::Host => self.hosts += 1,
            Field::Expect => {
                self.special = true;
                self.expect = Some(value);
            }
            Field::Connection => {
                self.special = true;
                for t in value.split(|&b| b == b',') {
                    let t = t.trim_ascii();
                    self.close |= t.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= t.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            Field::ContentLength => {
                self.special = true;
                self.content_lengths += 1;
                self.content_length = Some(value);
            }
            Field::TransferEncoding => {
                self.special = true;
                self.transfer_encoding = true;
            }
            Field::Other => {}
        }
    }
}

/// The framing rules over all of `headers` (the raw path's heads that are
/// not the common one: a body, a `Connection` or `Expect`, no single
/// `Host`).
#[inline(never)]
fn check_headers(version: Version, headers: &[httparse::Header<'_>]) -> Result<Head, StatusCode> {
    let mut facts = Facts::default();
    for h in headers {
        facts.see(h.name.as_bytes(), h.value);
    }
    // Looked for only when there is one.
    let tes = || {
        headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
            .map(|h| h.value)
    };
    check(version, tes, &facts)
}

/// The decoder of a body with `Transfer-Encoding` (out of line: rare).
#[cold]
fn chunked_decoder<'v>(
    transfer_encodings: impl Iterator<Item = &'v [u8]>,
) -> Result<Decoder, StatusCode> {
    let bad = StatusCode::BAD_REQUEST;
    let mut codings = Vec::new();
    for v in transfer_encodings {
        // Visible ASCII only, as `HeaderValue::to_str`.
        if !v.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b)) {
            return Err(bad);
        }
        let s = std::str::from_utf8(v).map_err(|_| bad)?;
        for t in s.split(',') {
            let t = t.trim();
            if t.is_empty() {
                return Err(bad);
            }
            codings.push(t);
        }
    }
    let chunked = codings
        .iter()
        .filter(|t| t.eq_ignore_ascii_case("chunked"))
        .count();
    let last_chunked = codings
        .last()
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    if chunked != 1 || !last_chunked {
        return Err(bad);
    }
    if codings.len() > 1 {
        return Err(StatusCode::NOT_IMPLEMENTED);
    }
    Ok(Decoder::Chunked(Chunk::Size(0, 0)))
}

/// The framing and connection rules of RFC 9112 on a parsed head.
/// `transfer_encodings` gives the values of its `Transfer-Encoding`
/// headers; it is called only when there is one.
#[inline(always)]
fn check<'v, I: Iterator<Item = &'v [u8]>>(
    version: Version,
    transfer_encodings: impl FnOnce() -> I,
    facts: &Facts<'_>,
) -> Result<Head, StatusCode> {
    if facts.hosts == 1 && !facts.special {
        // The common head: one Host, and nothing about the body, the
        // connection or expectations.
        return Ok(Head {
            decoder: Decoder::Done,
            keep_alive: version == Version::HTTP_11,
            expect_continue: false,
        });
    }
    let bad = StatusCode::BAD_REQUEST;
    if facts.hosts > 1 || (facts.hosts == 0 && version == Version::HTTP_11) {
        return Err(bad);
    }
    let decoder = if facts.transfer_encoding {
        // Both framings at once is how requests are smuggled: refuse.
        if facts.content_lengths > 0 || version == Version::HTTP_10 {
            return Err(bad);
        }
        chunked_decoder(transfer_encodings())?
    } else if let Some(cl) = facts.content_length {
        if facts.content_lengths > 1 {
            return Err(bad);
        }
        match parse_length(cl).ok_or(bad)? {
            0 => Decoder::Done,
            n => Decoder::Length(n),
        }
    } else {
        Decoder::Done
    };
    let keep_alive = match version {
        Version::HTTP_11 => !facts.close,
        _ => facts.keep_alive && !facts.close,
    };
    let mut expect_continue = false;
    if let Some(e) = facts.expect {
        if e.eq_ignore_ascii_case(b"100-continue") {
            expect_continue = true;
        } else {
            return Err(StatusCode::EXPECTATION_FAILED);
        }
    }
    Ok(Head {
        decoder,
        keep_alive,
        expect_continue,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::http::server::Server;

    #[test]
    fn lengths() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_length(b"18446744073709551616"), None);
        assert_eq!(parse_length(b"+1"), None);
        assert_eq!(parse_length(b"1,1"), None);
        assert_eq!(parse_length(b""), None);
    }

    #[test]
    fn versions() {
        assert_eq!(
            version_error(b"GET / HTTP/2.0\r\n"),
            StatusCode::HTTP_VERSION_NOT_SUPPORTED
        );
        assert_eq!(
            version_error(b"GET / HTXP/1.1\r\n"),
            StatusCode::BAD_REQUEST
        );
    }

    /// The first write of a flush does not wait (no deadline); what it
    /// leaves still waits only up to the write timeout.
    #[test]
    fn a_client_that_does_not_read_is_dropped_after_the_write_timeout() {
        crate::runtime::Builder::new().run(|| {
            let handle = Server::bind("127.0.0.1:0")
                .unwrap()
                .write_timeout(Duration::from_millis(100))
                .start(|_req| Response::new(Body::from(vec![b'x'; 32 << 20])));
            let mut c = crate::net::TcpStream::connect(handle.local_addr()).unwrap();
            c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
            // The client reads nothing: the server's write gives up, and
            // the connection closes.
            while handle.connections() == 0 {
                crate::thread::sleep(Duration::from_millis(5));
            }
            while handle.connections() > 0 {
                crate::thread::sleep(Duration::from_millis(5));
            }
            drop(c);
            assert!(handle.stop(Duration::from_secs(5)));
        });
    }

    /// What the previous request left is reused only when it is what
    /// parsing would give.
    #[test]
    fn raw_headers_give_what_the_parser_gives() {
        // Heads with every spacing and line ending the parser takes: the
        // header lines read again give exactly its headers.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..2000 {
            let eol = |r: u64| if r == 0 { "\n" } else { "\r\n" };
            let mut head = format!("GET /p?q=1 HTTP/1.1{}", eol(next(2))).into_bytes();
            for i in 0..next(6) {
                head.extend_from_slice(
                    ["Host", "x-a", "X-Long-Name", "te", "a"][i as usize % 5].as_bytes(),
                );
                head.push(b':');
                for _ in 0..next(4) {
                    head.push([b' ', b'\t'][next(2) as usize]);
                }
                for _ in 0..next(12) {
                    head.push([b'v', b' ', b'\t', b':', 0xc3, b'"', b'='][next(7) as usize]);
                }
                head.extend_from_slice(eol(next(2)).as_bytes());
            }
            head.extend_from_slice(eol(next(2)).as_bytes());
            let mut hs = [httparse::EMPTY_HEADER; 8];
            let mut want = httparse::Request::new(&mut hs);
            let Ok(httparse::Status::Complete(_)) = want.parse(&head) else {
                panic!("a valid head: {:?}", String::from_utf8_lossy(&head));
            };
            let mut raw = RawHead::new();
            let mut room = [const { MaybeUninit::uninit() }; 8];
            // Several `Host`s are refused by the framing rules, which come
            // after the positions are kept.
            let mut framing = Head::NONE;
            let _ = parse_raw_with(&head, &mut room, &mut raw, &mut framing);
            let req = RawRequest {
                head: &head[..raw.len],
                raw: &raw,
                body: None,
                peer: &"127.0.0.1:1".parse().unwrap(),
            };
            let got: Vec<_> = req.headers().collect();
            let want: Vec<_> = want.headers.iter().map(|h| (h.name, h.value)).collect();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&head));
            assert_eq!(req.headers().size_hint(), (want.len(), Some(want.len())));
            if let Some(&(name, value)) = want.first() {
                assert_eq!(req.header(&name.to_ascii_uppercase()), Some(value));
            }
        }
    }

    #[test]
    fn reuse_gives_what_parsing_gives() {
        let mut r = Reuse::new();
        for (name, value) in [
            (&b"Host"[..], &b"a"[..]),
            (b"host", b"a"),
            (b"HOST", b"b"),
            (b"x-foo", b"b"),
            (b"X-Foo", b"b"),
            (b"x-bar", b"b"),
        ] {
            let (n, v) = r.header(0, name, value).unwrap();
            assert_eq!(n, HeaderName::from_bytes(name).unwrap());
            assert_eq!(v.as_bytes(), value);
        }
        // A position seen for the first time, and invalid input.
        assert_eq!(r.header(1, b"a", b"1").unwrap().1, "1");
        assert!(r.header(1, b"a b", b"1").is_none());
        assert!(r.header(1, b"a", b"1\0").is_none());
        assert_eq!(r.header(1, b"a", b"1").unwrap().1, "1");
        for _ in 0..40 {
            // A value that changes each time is right each time.
            for i in 0..3u8 {
                let v = [b'0' + i];
                assert_eq!(r.header(2, b"n", &v).unwrap().1.as_bytes(), v);
            }
        }
        for path in [
            "/",
            "/a?b",
            "/a?b",
            "/a?c",
            "*",
            "http://h/p",
            "/a?c#f",
            "/a?c",
        ] {
            assert_eq!(r.uri(path).unwrap(), path.parse::<Uri>().unwrap());
        }
        assert!(r.uri("/a b").is_none());
    }
}

//! The read side of a connection: its buffer, and the decoder of the
//! current request's body (`Content-Length` or chunked), with its limits.

use std::io::{self, Read, Write};

use super::transport::Transport;
use crate::sync::{Mutex, MutexGuard};

/// Longest chunk extension accepted (bytes after the size, before CRLF).
const MAX_CHUNK_EXT: usize = 4096;

/// Why a request body could not be read; decides the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// Over the body limit: 413.
    TooLarge,
    /// Malformed chunked framing: 400.
    Malformed,
    /// No byte within the read timeout: 408.
    TimedOut,
    /// The connection failed or closed mid-body: no answer.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chunk {
    /// Reading the hex size: its value and digit count so far.
    Size(u64, u8),
    /// Whitespace after the size (before `;` or CR).
    SizeWs(u64),
    /// A chunk extension, until CR; its length so far.
    Ext(u64, usize),
    /// Expecting the LF after the size line.
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    /// At the start of a trailer line.
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// Expecting LF after a trailer line's CR.
    TrailerLf,
    /// Expecting the LF of the final empty line.
    EndLf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decoder {
    Length(u64),
    Chunked(Chunk),
    Done,
}

impl Decoder {
    /// The body is over (or there is none): a match, cheaper than the
    /// derived `==`, which compares the other variants' fields too.
    #[inline(always)]
    pub(super) fn is_done(&self) -> bool {
        matches!(self, Decoder::Done)
    }
}

/// A connection's read side, shared (behind a green mutex) by the
/// connection's loop and the request body the handler reads.
#[derive(Debug)]
pub(super) struct Inbound {
    pub(super) stream: Transport,
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
    pub(super) end: usize,
    /// Counts requests: a body of an older request cannot read.
    pub(super) generation: u64,
    pub(super) decoder: Decoder,
    /// `Expect: 100-continue` not answered yet: answered at the first read.
    pub(super) continue_pending: bool,
    pub(super) body_read: u64,
    pub(super) max_body: u64,
    /// Trailer bytes seen, against `max_trailer`.
    trailer_bytes: usize,
    pub(super) max_trailer: usize,
    pub(super) failure: Option<Failure>,
}

pub(super) fn lock_inbound(m: &Mutex<Inbound>) -> MutexGuard<'_, Inbound> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn malformed(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Inbound {
    pub(super) fn new(stream: Transport, cap: usize) -> Inbound {
        Inbound {
            stream,
            buf: vec![0; cap],
            pos: 0,
            end: 0,
            generation: 0,
            decoder: Decoder::Done,
            continue_pending: false,
            body_read: 0,
            max_body: u64::MAX,
            trailer_bytes: 0,
            max_trailer: 0,
            failure: None,
        }
    }

    /// Buffered bytes not yet consumed.
    #[inline]
    pub(super) fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Starts the body of a new request.
    pub(super) fn begin(&mut self, decoder: Decoder, expect_continue: bool) {
        self.generation += 1;
        self.decoder = decoder;
        self.continue_pending = expect_continue && !decoder.is_done();
        self.body_read = 0;
        self.trailer_bytes = 0;
        self.failure = None;
    }

    /// Ends the current request: later reads by its body fail.
    pub(super) fn finish(&mut self) {
        self.generation += 1;
    }

    pub(super) fn remaining(&self) -> Option<u64> {
        match self.decoder {
            Decoder::Length(n) => Some(n),
            Decoder::Done => Some(0),
            Decoder::Chunked(_) => None,
        }
    }

    /// Reads more bytes from the socket into the buffer, making room
    /// first; grows the buffer up to `max` bytes. Returns 0 at EOF.
    pub(super) fn fill(&mut self, max: usize) -> io::Result<usize> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
            } else if self.buf.len() < max {
                let n = (self.buf.len() * 2).min(max).max(self.buf.len() + 1);
                self.buf.resize(n, 0);
            } else {
                return Err(io::Error::new(io::ErrorKind::OutOfMemory, "buffer full"));
            }
        }
        let n = (&self.stream).read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }

    fn fail(&mut self, f: Failure, e: io::Error) -> io::Error {
        self.failure.get_or_insert(f);
        self.decoder = Decoder::Done;
        e
    }

    /// Makes sure some bytes are buffered, reading from the socket (after
    /// answering `Expect: 100-continue`); EOF mid-body is an error.
    fn ensure(&mut self) -> io::Result<()> {
        if self.pos < self.end {
            return Ok(());
        }
        if self.continue_pending {
            self.continue_pending = false;
            if let Err(e) = (&self.stream).write_all(b"HTTP/1.1 100 Continue\r\n\r\n") {
                return Err(self.fail(Failure::Closed, e));
            }
        }
        let cap = self.buf.len();
        match self.fill(cap) {
            Ok(0) => Err(self.fail(
                Failure::Closed,
                io::Error::new(io::ErrorKind::UnexpectedEof, "client closed mid-body"),
            )),
            Ok(_) => Ok(()),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                Err(self.fail(Failure::TimedOut, e))
            }
            Err(e) => Err(self.fail(Failure::Closed, e)),
        }
    }

    fn take_data(&mut self, left: u64, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.end - self.pos;
        let n = (avail as u64).min(left).min(out.len() as u64) as usize;
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.body_read += n as u64;
        if self.body_read > self.max_body {
            return Err(self.fail(
                Failure::TooLarge,
                malformed("green::http: request body over the server's limit"),
            ));
        }
        Ok(n)
    }

    /// Reads the current request's body.
    pub(super) fn read_body(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = self.failure {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("green::http: request body failed before ({f:?})"),
            ));
        }
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.decoder {
                Decoder::Done => return Ok(0),
                Decoder::Length(0) => {
                    self.decoder = Decoder::Done;
                    return Ok(0);
                }
                Decoder::Length(left) => {
                    self.ensure()?;
                    let n = self.take_data(left, out)?;
                    self.decoder = Decoder::Length(left - n as u64);
                    return Ok(n);
                }
                Decoder::Chunked(Chunk::Data(left)) => {
                    self.ensure()?;
                    let n = self.take_data(left, out)?;
                    let left = left - n as u64;
                    self.decoder = Decoder::Chunked(if left == 0 {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(left)
                    });
                    return Ok(n);
                }
                Decoder::Chunked(state) => {
                    self.ensure()?;
                    let b = self.buf[self.pos];
                    self.pos += 1;
                    match self.chunk_step(state, b) {
                        Ok(next) => self.decoder = next,
                        Err(msg) => return Err(self.fail(Failure::Malformed, malformed(msg))),
                    }
                }
            }
        }
    }

    /// One byte of chunked framing (outside data).
    fn chunk_step(&mut self, state: Chunk, b: u8) -> Result<Decoder, &'static str> {
        let c = |s| Ok(Decoder::Chunked(s));
        match state {
            Chunk::Size(v, digits) => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    let d = (b as char).to_digit(16).expect("hex digit") as u64;
                    if digits >= 16 || v > (u64::MAX >> 4) {
                        return Err("chunk size overflows");
                    }
                    c(Chunk::Size(v << 4 | d, digits + 1))
                }
                _ if digits == 0 => Err("chunk size missing"),
                b' ' | b'\t' => c(Chunk::SizeWs(v)),
                b';' => c(Chunk::Ext(v, 0)),
                b'\r' => c(Chunk::SizeLf(v)),
                _ => Err("bad chunk size"),
            },
            Chunk::SizeWs(v) => match b {
                b' ' | b'\t' => c(Chunk::SizeWs(v)),
                b';' => c(Chunk::Ext(v, 0)),
                b'\r' => c(Chunk::SizeLf(v)),
                _ => Err("bad chunk size"),
            },
            Chunk::Ext(v, len) => match b {
                b'\r' => c(Chunk::SizeLf(v)),
                b'\n' | 0 | 0x7f => Err("bad chunk extension"),
                _ if len >= MAX_CHUNK_EXT => Err("chunk extension too long"),
                _ => c(Chunk::Ext(v, len + 1)),
            },
            Chunk::SizeLf(v) => match b {
                b'\n' if v == 0 => c(Chunk::TrailerStart),
                b'\n' => c(Chunk::Data(v)),
                _ => Err("bare CR in chunk size line"),
            },
            Chunk::Data(_) => unreachable!("data is copied, not stepped"),
            Chunk::DataCr => match b {
                b'\r' => c(Chunk::DataLf),
                _ => Err("chunk data longer than its size"),
            },
            Chunk::DataLf => match b {
                b'\n' => c(Chunk::Size(0, 0)),
                _ => Err("bare CR after chunk data"),
            },
            Chunk::TrailerStart => match b {
                b'\r' => c(Chunk::EndLf),
                _ => self.trailer_byte(b),
            },
            Chunk::Trailer => match b {
                b'\r' => c(Chunk::TrailerLf),
                _ => self.trailer_byte(b),
            },
            Chunk::TrailerLf => match b {
                b'\n' => c(Chunk::TrailerStart),
                _ => Err("bare CR in trailer"),
            },
            Chunk::EndLf => match b {
                b'\n' => Ok(Decoder::Done),
                _ => Err("bare CR after the last chunk"),
            },
        }
    }

    fn trailer_byte(&mut self, b: u8) -> Result<Decoder, &'static str> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > self.max_trailer {
            return Err("trailer too large");
        }
        match b {
            b'\n' | 0 | 0x7f => Err("bad byte in trailer"),
            _ => Ok(Decoder::Chunked(Chunk::Trailer)),
        }
    }

    /// Reads and drops the rest of the body, up to `limit` bytes; returns
    /// whether the body ended (the connection can serve another request).
    pub(super) fn drain(&mut self, limit: u64) -> bool {
        if self.continue_pending && !self.decoder.is_done() {
            // The client waits for our go-ahead (or may send anyway):
            // only closing makes the next bytes unambiguous.
            return false;
        }
        let mut scratch = [0u8; 4096];
        let start = self.body_read;
        while !self.decoder.is_done() {
            if self.failure.is_some() || self.body_read - start > limit {
                return false;
            }
            match self.read_body(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        self.failure.is_none()
    }
}

//! The bytes on the wire that both handler paths write: response framing,
//! header lines and numbers, the write buffer's flushes, and the strict
//! `Content-Length` parse. Shared by [`super::conn`] (the `http::Response`
//! path) and [`super::raw`] (raw handlers), below both.

use std::io::{self, Write};

use super::date;
use super::transport::Transport;

/// The write buffer is sent once it holds this much.
pub(super) const FLUSH_AT: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    Length(u64),
    Chunked,
    /// Until the connection closes (HTTP/1.0, length unknown).
    Close,
    /// No body (1xx, 204, 304).
    None,
}

/// A connection's write side: its stream, the buffer responses are
/// written into, how many times that buffer was sent (to know whether a
/// response has started leaving), and its `Date` line. Responses hold it
/// by one reference.
pub(super) struct Out {
    pub(super) stream: Transport,
    pub(super) wbuf: Vec<u8>,
    pub(super) flushes: u64,
    pub(super) date: date::DateLine,
}

impl Out {
    pub(super) fn new(stream: Transport) -> Out {
        Out {
            stream,
            wbuf: Vec::with_capacity(4096),
            flushes: 0,
            date: date::DateLine::new(),
        }
    }

    /// Sends what the write buffer holds.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        self.flushes += 1;
        let r = send(&self.stream, &self.wbuf);
        self.wbuf.clear();
        r
    }

    /// Sends the write buffer once it holds [`FLUSH_AT`] bytes.
    #[inline]
    pub(super) fn flush_if_full(&mut self) -> io::Result<()> {
        if self.wbuf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends a whole body to the write buffer, or sends it at once if
    /// large.
    #[inline]
    pub(super) fn send_body(&mut self, b: &[u8]) -> io::Result<()> {
        if b.len() > FLUSH_AT {
            self.flush()?;
            send(&self.stream, b)
        } else {
            self.wbuf.extend_from_slice(b);
            Ok(())
        }
    }
}

/// Writes all of `buf`. Over plain TCP the first attempt does not wait, so
/// it needs no deadline (a clock read): only what it could not write waits
/// for the client, up to the write timeout.
fn send(stream: &Transport, mut buf: &[u8]) -> io::Result<()> {
    if let Some(tcp) = stream.plain() {
        // The connection's greenlet is the only user of its socket.
        tcp.set_nonblocking(true)?;
        let r = (&*tcp).write(buf);
        tcp.set_nonblocking(false)?;
        match r {
            Ok(n) => buf = &buf[n..],
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if buf.is_empty() {
            return Ok(());
        }
    }
    (&*stream).write_all(buf)
}

/// `name: value\r\n`. A short line is put together in an array and
/// copied as a fixed-size window (one capacity check, not four; with
/// lengths known where it is inlined, no `memcpy` call either).
#[inline]
pub(super) fn push_header(w: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    const SMALL: usize = 64;
    let len = name.len() + value.len() + 4;
    if len <= SMALL {
        let mut line = [0u8; SMALL];
        let (n, v) = (name.len(), value.len());
        line[..n].copy_from_slice(name);
        line[n..n + 2].copy_from_slice(b": ");
        line[n + 2..n + 2 + v].copy_from_slice(value);
        line[len - 2..len].copy_from_slice(b"\r\n");
        let end = w.len() + len;
        w.extend_from_slice(&line);
        w.truncate(end);
    } else {
        w.reserve(len);
        w.extend_from_slice(name);
        w.extend_from_slice(b": ");
        w.extend_from_slice(value);
        w.extend_from_slice(b"\r\n");
    }
}

/// What a `Content-Length` line starts with.
const PREFIX: &[u8; 16] = b"content-length: ";

/// Writes the decimal digits of `n` into `line`, ending just before
/// `end`; returns where they start. Two digits at a time, from a table
/// (as the `itoa` crate does).
#[inline(always)]
fn digits_before(line: &mut [u8], end: usize, n: u64) -> usize {
    let mut i = end;
    let mut m = n;
    while m >= 100 {
        let d = (m % 100) as usize * 2;
        m /= 100;
        i -= 2;
        line[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }
    if m >= 10 {
        let d = m as usize * 2;
        i -= 2;
        line[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    } else {
        i -= 1;
        line[i] = b'0' + m as u8;
    }
    i
}

/// `content-length: N\r\n`. The digits are written from the right up to
/// a fixed place in an array, the prefix before them and CRLF after; a
/// fixed-size window of the array is copied (a copy of a known size is a
/// few moves, one of a variable size a `memcpy` call), and the buffer is
/// cut back to the line's length.
#[inline]
pub(super) fn push_content_length(w: &mut Vec<u8>, n: u64) {
    // The longest line: the prefix, 20 digits and CRLF.
    const MAX: usize = 16 + 20 + 2;
    // The digits end at `END`: the line starts at most 16 + 20 bytes
    // before it, at the array's start, and the window is `MAX` long.
    const END: usize = 36;
    let mut line = [0u8; END + MAX];
    let i = digits_before(&mut line, END, n);
    let start = i - PREFIX.len();
    line[start..i].copy_from_slice(PREFIX);
    line[END..END + 2].copy_from_slice(b"\r\n");
    let len = w.len() + END + 2 - start;
    w.extend_from_slice(&line[start..start + MAX]);
    w.truncate(len);
}

/// The end of a kept-alive HTTP/1.1 head with a length: the `date` line,
/// `content-length: N` and the empty line, built as
/// [`push_content_length`] builds its line (fixed-size copies only).
#[inline]
pub(super) fn push_head_end(w: &mut Vec<u8>, date: &[u8; date::LINE_LEN], n: u64) {
    const MAX: usize = date::LINE_LEN + 16 + 20 + 4;
    // The digits end at `END`, the date line starts at most 20 - 1
    // bytes after the array's start.
    const END: usize = date::LINE_LEN + 16 + 20;
    let mut line = [0u8; 20 + MAX];
    let i = digits_before(&mut line, END, n);
    let p = i - PREFIX.len();
    line[p..i].copy_from_slice(PREFIX);
    let start = p - date::LINE_LEN;
    line[start..p].copy_from_slice(date);
    line[END..END + 4].copy_from_slice(b"\r\n\r\n");
    let len = w.len() + END + 4 - start;
    w.extend_from_slice(&line[start..start + MAX]);
    w.truncate(len);
}

/// `00` to `99`, two bytes each.
static DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// The decimal digits of `n`.
pub(super) fn push_decimal(w: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let i = digits_before(&mut digits, 20, n);
    w.extend_from_slice(&digits[i..]);
}

pub(super) fn push_hex(w: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    w.extend_from_slice(&digits[i..]);
}

/// Strict decimal: digits only, no sign, no overflow.
pub(super) fn parse_length(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// Whether a header name (a token, as httparse checked) is `lower`, a
/// lowercase name of letters and `-` of the same length, in any case.
///
/// Eight bytes at a time with the case bit set: for a token that is
/// exact, as the only tokens whose byte with `0x20` set is a lowercase
/// letter are the letters themselves, and no token byte becomes `-` (only
/// `-` and CR would).
#[inline(always)]
pub(super) fn is_named(name: &[u8], lower: &[u8]) -> bool {
    debug_assert_eq!(name.len(), lower.len());
    let mut a = name.chunks(8);
    let mut b = lower.chunks(8);
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) => {
                if load(x) | case_bits(x.len()) != load(y) {
                    return false;
                }
            }
            _ => return true,
        }
    }
}

/// Up to 8 bytes as a little-endian word (zero above them).
#[inline(always)]
fn load(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(w)
}

/// `0x20` in each of the low `n` bytes of a word.
#[inline(always)]
fn case_bits(n: usize) -> u64 {
    0x2020_2020_2020_2020 >> (8 * (8 - n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token bytes (RFC 9110, 5.6.2).
    fn tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }

    #[test]
    fn is_named_is_a_caseless_compare_for_tokens() {
        for lower in [
            &b"host"[..],
            b"expect",
            b"date",
            b"connection",
            b"content-length",
            b"transfer-encoding",
        ] {
            assert!(is_named(lower, lower));
            assert!(is_named(&lower.to_ascii_uppercase(), lower));
            // Every token byte at every position.
            for i in 0..lower.len() {
                for b in (0..=255u8).filter(|&b| tchar(b)) {
                    let mut name = lower.to_vec();
                    name[i] = b;
                    assert_eq!(
                        is_named(&name, lower),
                        name.eq_ignore_ascii_case(lower),
                        "{:?} vs {:?}",
                        String::from_utf8_lossy(&name),
                        String::from_utf8_lossy(lower)
                    );
                }
            }
        }
    }

    /// Lengths around every change in the number of digits, and the ends.
    fn lengths() -> Vec<u64> {
        let mut ns = vec![0, 1, 9, 13, u64::MAX, u64::MAX - 1];
        for k in 1..20 {
            let p = 10u64.pow(k);
            ns.extend([p - 1, p, p + 1]);
        }
        ns
    }

    #[test]
    fn content_length_lines() {
        for n in lengths() {
            let mut w = b"before".to_vec();
            push_content_length(&mut w, n);
            assert_eq!(
                String::from_utf8(w).unwrap(),
                format!("beforecontent-length: {n}\r\n")
            );
        }
    }

    #[test]
    fn head_ends() {
        let date = *b"date: Tue, 01 Dec 2026 04:00:00 GMT\r\n";
        for n in lengths() {
            let mut w = b"before".to_vec();
            push_head_end(&mut w, &date, n);
            assert_eq!(
                String::from_utf8(w).unwrap(),
                format!("beforedate: Tue, 01 Dec 2026 04:00:00 GMT\r\ncontent-length: {n}\r\n\r\n")
            );
        }
    }

    #[test]
    fn header_lines() {
        for (n, v) in [
            (0, 0),
            (1, 1),
            (12, 10),
            (30, 30),
            (40, 20),
            (40, 21),
            (10, 300),
        ] {
            let name = "n".repeat(n);
            let value = "v".repeat(v);
            let mut w = b"before".to_vec();
            push_header(&mut w, name.as_bytes(), value.as_bytes());
            assert_eq!(
                String::from_utf8(w).unwrap(),
                format!("before{name}: {value}\r\n")
            );
        }
    }
}

//! A small HTTP/1.1 server for the client tests, on green sockets: one
//! greenlet per connection, keep-alive, Content-Length and chunked request
//! bodies, and a few routes that misbehave on purpose. It counts the
//! connections it accepts, so a test can tell whether the client reused
//! one.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use green::net::{TcpListener, TcpStream};

/// A running test server (it runs until the process ends).
#[derive(Clone, Debug)]
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl TestServer {
    /// `http://ADDR{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Starts the server on 127.0.0.1:0 in greenlets of this thread's hub.
pub(crate) fn start() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    green::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            green::thread::spawn(move || {
                let _ = serve(conn);
            });
        }
    });
    TestServer { addr, accepted }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or("/").to_owned();
    let (mut length, mut chunked, mut close) = (0usize, false, false);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or((h, ""));
        let (name, value) = (name.to_ascii_lowercase(), value.trim().to_ascii_lowercase());
        match name.as_str() {
            "content-length" => length = value.parse().unwrap_or(0),
            "transfer-encoding" => chunked = value.contains("chunked"),
            "connection" => close = value == "close",
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        path,
        body,
        close,
    }))
}

fn respond(out: &mut TcpStream, status: &str, extra: &str, body: &[u8]) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body)
}

/// `/gated` sends half of its 2 MiB body, then waits (at most 5 s, then
/// closes) until a test sets this: a client that buffered whole bodies
/// would never see the first half.
pub(crate) static GATE: AtomicBool = AtomicBool::new(false);

/// The byte at offset `i` of a `/big/N` body.
pub(crate) fn big_byte(i: usize) -> u8 {
    (i % 251) as u8
}

fn serve(conn: TcpStream) -> io::Result<()> {
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    while let Some(req) = read_request(&mut reader)? {
        let path = req.path.as_str();
        if path == "/hello" {
            respond(&mut out, "200 OK", "Content-Type: text/plain\r\n", b"hello")?;
        } else if let Some(n) = path.strip_prefix("/redirect/") {
            let n: u32 = n.parse().unwrap_or(0);
            let to = if n == 0 {
                "/hello".to_owned()
            } else {
                format!("/redirect/{}", n - 1)
            };
            respond(&mut out, "302 Found", &format!("Location: {to}\r\n"), b"")?;
        } else if path == "/stall" {
            // Never answers (the test's timeout ends the wait).
            green::thread::sleep(Duration::from_secs(30));
            return Ok(());
        } else if let Some(n) = path.strip_prefix("/slow/") {
            green::thread::sleep(Duration::from_millis(n.parse().unwrap_or(0)));
            respond(&mut out, "200 OK", "", b"slow")?;
        } else if let Some(n) = path.strip_prefix("/big/") {
            let n: usize = n.parse().unwrap_or(0);
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n");
            out.write_all(head.as_bytes())?;
            let mut sent = 0;
            let mut chunk = vec![0u8; 64 * 1024];
            while sent < n {
                let len = chunk.len().min(n - sent);
                for (j, b) in chunk[..len].iter_mut().enumerate() {
                    *b = big_byte(sent + j);
                }
                out.write_all(&chunk[..len])?;
                sent += len;
            }
        } else if path == "/gated" {
            let half = vec![7u8; 1 << 20];
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n")?;
            out.write_all(&half)?;
            let mut waited = 0;
            while !GATE.load(Ordering::SeqCst) {
                if waited >= 5000 {
                    return Ok(());
                }
                green::thread::sleep(Duration::from_millis(5));
                waited += 5;
            }
            out.write_all(&half)?;
        } else if path == "/chunked" {
            out.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
            )?;
        } else if path == "/echo" {
            let body = format!("{} {}", req.method, req.body.len());
            respond(&mut out, "200 OK", "", body.as_bytes())?;
        } else if let Some(code) = path.strip_prefix("/status/") {
            respond(&mut out, &format!("{code} Status"), "", code.as_bytes())?;
        } else if path == "/hello-then-hang-up" {
            // Keep-alive as far as the client can tell, then closed while
            // idle, as servers do after their idle timeout.
            respond(&mut out, "200 OK", "", b"hello")?;
            green::thread::sleep(Duration::from_millis(20));
            return Ok(());
        } else if path == "/close" {
            respond(&mut out, "200 OK", "Connection: close\r\n", b"bye")?;
            return Ok(());
        } else {
            respond(&mut out, "404 Not Found", "", b"not found")?;
        }
        if req.close {
            return Ok(());
        }
    }
    Ok(())
}

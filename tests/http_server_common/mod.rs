//! Shared by the `http_server_*` tests: a server on its own OS thread (a
//! green runtime of its own), and a raw std client to talk to it.

#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use green::http::server::{Handler, RawHandler, Server, ServerHandle};

/// A server running on a thread of its own; stopped and joined on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts `handler` on 127.0.0.1:0 with the settings `configure` makes.
pub fn start<C, H>(configure: C, handler: H) -> TestServer
where
    C: FnOnce(Server) -> Server + Send + 'static,
    H: Handler,
{
    start_workers(1, configure, handler)
}

/// As [`start`], on a runtime of `workers` hubs.
pub fn start_workers<C, H>(workers: usize, configure: C, handler: H) -> TestServer
where
    C: FnOnce(Server) -> Server + Send + 'static,
    H: Handler,
{
    start_with(workers, move |s| configure(s).start(handler))
}

/// As [`start`], with a raw handler.
pub fn start_raw<C, H>(configure: C, handler: H) -> TestServer
where
    C: FnOnce(Server) -> Server + Send + 'static,
    H: RawHandler,
{
    start_with(1, move |s| configure(s).start_raw(handler))
}

/// A server on 127.0.0.1:0 on a runtime of `workers` hubs, configured
/// and started by `run`.
fn start_with<R>(workers: usize, run: R) -> TestServer
where
    R: FnOnce(Server) -> ServerHandle + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        green::runtime::Builder::new().workers(workers).run(|| {
            let handle = run(Server::bind("127.0.0.1:0").expect("bind"));
            tx.send(handle.clone()).expect("send handle");
            handle.wait();
        })
    });
    let handle = rx.recv().expect("server started");
    TestServer {
        addr: handle.local_addr(),
        handle,
        thread: Some(thread),
    }
}

impl TestServer {
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Stops with `timeout`; returns what `stop` returned.
    pub fn stop(mut self, timeout: Duration) -> bool {
        let clean = self.handle.stop(timeout);
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
        clean
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.stop(Duration::from_secs(2));
            let _ = t.join();
        }
    }
}

/// A response as a test sees it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }
}

/// Reads responses from a connection, keeping what it read ahead.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn new(stream: TcpStream) -> Client {
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    fn more(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16384];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one response; `head_only` for a response to HEAD.
    pub fn response(&mut self, head_only: bool) -> io::Result<Resp> {
        let (status, headers, len) = loop {
            let mut hs = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut hs);
            match r.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let headers: Vec<(String, String)> = r
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    break (r.code.unwrap(), headers, len);
                }
                Ok(httparse::Status::Partial) => {
                    if self.more()? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
        };
        self.buf.drain(..len);
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
            return Ok(resp);
        }
        if let Some(n) = resp.header("content-length") {
            let n: usize = n.parse().expect("length");
            while self.buf.len() < n {
                if self.more()? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            resp.body = self.buf.drain(..n).collect();
        } else if resp.header("transfer-encoding") == Some("chunked") {
            loop {
                let line_end = loop {
                    if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        break p;
                    }
                    if self.more()? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                };
                let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
                    .expect("chunk size");
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    if self.more()? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                resp.body.extend(self.buf.drain(..size));
                self.buf.drain(..2);
                if size == 0 {
                    break;
                }
            }
        } else {
            // Until close.
            while self.more()? > 0 {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Ok(resp)
    }

    /// Whether the server closed the connection (EOF with nothing more).
    pub fn closed(&mut self) -> bool {
        self.buf.is_empty() && matches!(self.more(), Ok(0) | Err(_)) && self.buf.is_empty()
    }
}

/// One request on a fresh connection; the response.
pub fn roundtrip(addr: SocketAddr, request: &[u8]) -> io::Result<Resp> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut c = Client::new(s);
    c.send(request);
    c.response(request.starts_with(b"HEAD"))
}

/// `GET path` with a Host header.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes()
}

// The clients nobody here wrote, driven the same way against both handler
// APIs: a server that answers `/upload` with the body's length and its
// first ten bytes, `/stream` with `chunk0;chunk1;chunk2;` (chunked), and
// any other path with its method and path.

/// Whether `cmd arg` runs and succeeds.
pub fn have(cmd: &str, arg: &str) -> bool {
    std::process::Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Says that a test passes without running, for want of `what`.
pub fn skip(what: &str) {
    eprintln!("SKIPPED: {what} is not installed; this test needs it");
}

/// curl against `base`: two URLs on one connection, a chunked upload from
/// standard input, a chunked response. `false` (having said SKIPPED) when
/// curl is missing.
pub fn curl_session(base: &str) -> bool {
    use std::process::{Command, Stdio};
    if !have("curl", "--version") {
        skip("curl");
        return false;
    }
    let out = Command::new("curl")
        .args(["-sv", &format!("{base}/a"), &format!("{base}/b")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "GET /aGET /b");
    assert!(stderr.contains("Re-using existing connection"), "{stderr}");
    let mut child = Command::new("curl")
        .args([
            "-s",
            "-T",
            "-",
            "-H",
            "Transfer-Encoding: chunked",
            &format!("{base}/upload"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&vec![b'x'; 100_000])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "100000 xxxxxxxxxx");
    let out = Command::new("curl")
        .args(["-s", &format!("{base}/stream")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "chunk0;chunk1;chunk2;"
    );
    true
}

const PY_REQUESTS: &str = r#"
import sys, requests
base = sys.argv[1]
s = requests.Session()
for i in range(20):
    r = s.get(f"{base}/r{i}")
    assert r.status_code == 200 and r.text == f"GET /r{i}", r.text
r = s.post(f"{base}/upload", data=b"z" * 300000)
assert r.text == "300000 zzzzzzzzzz", r.text
def gen():
    for _ in range(10):
        yield b"q" * 1000
r = s.post(f"{base}/upload", data=gen())
assert r.text == "10000 qqqqqqqqqq", r.text
r = s.get(f"{base}/stream")
assert r.text == "chunk0;chunk1;chunk2;", r.text
assert r.headers["transfer-encoding"] == "chunked"
r = s.head(f"{base}/h")
assert r.headers["content-length"] == "7", r.headers
print("ok")
"#;

/// Python `requests` against `addr`: a keep-alive session of GETs, a
/// large POST, a generator (chunked) upload, a streamed response, HEAD.
/// Says SKIPPED when Python or `requests` is missing.
pub fn python_requests(addr: SocketAddr) {
    use std::process::Command;
    if !Command::new("python3")
        .args(["-c", "import requests"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return skip("python3 with `requests`");
    }
    let out = Command::new("python3")
        .args(["-c", PY_REQUESTS, &format!("http://{addr}")])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout == b"ok\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

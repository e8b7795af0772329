//! green::http::server's raw handlers (`Server::start_raw`): keep-alive,
//! pipelining, HEAD, streamed request bodies, chunked responses, bad input
//! answered as the ordinary path does, a handler's panic, a graceful stop,
//! several hubs, TLS (feature `tls`), and real clients (curl, Python's `requests`; each test skips, saying
//! so, when its client is not installed).

mod http_server_common;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use green::http::server::{
    HeaderName, HeaderValue, RawRequest, RawResponse, Server, ServerHandle, StatusCode, header,
};
use http_server_common::{Client, curl_session, get, roundtrip};

/// A server on a thread of its own, serving [`app`] with a raw handler.
struct RawServer {
    addr: std::net::SocketAddr,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn start_raw<C: FnOnce(Server) -> Server + Send + 'static>(configure: C) -> RawServer {
    start_raw_workers(1, configure)
}

/// As [`start_raw`], on a runtime of `workers` hubs.
fn start_raw_workers<C: FnOnce(Server) -> Server + Send + 'static>(
    workers: usize,
    configure: C,
) -> RawServer {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        green::runtime::Builder::new().workers(workers).run(|| {
            let server = configure(Server::bind("127.0.0.1:0").expect("bind"));
            let handle = server.start_raw(app);
            tx.send(handle.clone()).expect("send handle");
            handle.wait();
        })
    });
    let handle = rx.recv().expect("server started");
    RawServer {
        addr: handle.local_addr(),
        handle,
        thread: Some(thread),
    }
}

impl RawServer {
    fn client(&self) -> Client {
        let s = std::net::TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client::new(s)
    }

    fn stop(mut self, timeout: Duration) -> bool {
        let clean = self.handle.stop(timeout);
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
        clean
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.stop(Duration::from_secs(2));
            let _ = t.join();
        }
    }
}

/// `/upload` answers the body's length and its first bytes; `/stream` a
/// chunked body; `/panic` panics; `/slow` waits for `/release`; `/close`
/// answers `Connection: close`; `/headers` lists the headers; others
/// answer their method and path.
fn app(req: &mut RawRequest<'_>, res: &mut RawResponse<'_>) {
    match req.path() {
        "/upload" => {
            let mut b = Vec::new();
            let _ = req.body().read_to_end(&mut b);
            let head = String::from_utf8_lossy(&b[..b.len().min(10)]).into_owned();
            res.body(format!("{} {head}", b.len()).as_bytes());
        }
        "/stream" => {
            res.header("content-type", b"text/plain");
            for i in 0..3 {
                write!(res, "chunk{i};").unwrap();
                res.flush().unwrap();
            }
        }
        "/sized" => {
            res.content_length(6);
            res.write_all(b"abc").unwrap();
            res.write_all(b"def").unwrap();
        }
        "/panic" => {
            res.header("x-before", b"1");
            panic!("handler panic (expected by the test)");
        }
        "/slow" => {
            green::thread::sleep(Duration::from_millis(300));
            res.body(b"slow done");
        }
        "/close" => {
            res.header("connection", b"close");
            res.body(b"bye");
        }
        "/typed" => {
            // Headers made beforehand: the server treats the names it
            // frames by as it does for `header`.
            const X_TYPED: HeaderName = HeaderName::from_static("x-typed");
            const TEXT: HeaderValue = HeaderValue::from_static("text/plain");
            res.typed_header(&header::CONTENT_TYPE, &TEXT);
            res.typed_header(&X_TYPED, &HeaderValue::from_static("yes"));
            res.typed_header(&header::CONTENT_LENGTH, &HeaderValue::from(5u64));
            res.typed_header(
                &header::TRANSFER_ENCODING,
                &HeaderValue::from_static("gzip"),
            );
            res.typed_header(&header::DATE, &HeaderValue::from_static("yesterday"));
            res.typed_header(&header::CONNECTION, &HeaderValue::from_static("close"));
            res.write_all(b"typed").unwrap();
        }
        "/empty" => {
            res.status(StatusCode::NO_CONTENT);
        }
        "/headers" => {
            let mut out = String::new();
            for (name, value) in req.headers() {
                out.push_str(&format!("{name}={};", String::from_utf8_lossy(value)));
            }
            res.header("x-host", req.header("HOST").unwrap_or(b"-"));
            res.body(out.as_bytes());
        }
        path => {
            res.header("content-type", b"text/plain");
            res.body(format!("{} {path}", req.method()).as_bytes());
        }
    }
}

#[test]
fn keep_alive_and_headers() {
    let srv = start_raw(|s| s);
    let mut c = srv.client();
    for i in 0..5 {
        c.send(&get(&format!("/k{i}")));
        let r = c.response(false).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), format!("GET /k{i}"));
        assert_eq!(
            r.header("content-length"),
            Some(&*format!("{}", r.body.len()))
        );
        assert!(r.header("date").is_some());
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.header("connection"), None);
    }
    c.send(b"GET /headers HTTP/1.1\r\nHost: h1\r\nX-A: b c\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.text(), "Host=h1;X-A=b c;");
    assert_eq!(r.header("x-host"), Some("h1"));
    // 204: no body, no length.
    c.send(&get("/empty"));
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-length"), None);
    // A sized streamed body.
    c.send(&get("/sized"));
    let r = c.response(false).unwrap();
    assert_eq!(
        (r.text(), r.header("content-length")),
        ("abcdef", Some("6"))
    );
    // The handler's Connection: close.
    c.send(&get("/close"));
    let r = c.response(false).unwrap();
    assert_eq!(r.text(), "bye");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn typed_headers() {
    let srv = start_raw(|s| s);
    let mut c = srv.client();
    c.send(&get("/typed"));
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "typed");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("x-typed"), Some("yes"));
    // The given length frames the streamed body; no chunking.
    assert_eq!(r.header("content-length"), Some("5"));
    assert_eq!(r.header("transfer-encoding"), None);
    // The handler's Date replaces the server's; one Connection header.
    let all = |name: &str| {
        r.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(all("date"), ["yesterday"]);
    assert_eq!(all("connection"), ["close"]);
    assert!(c.closed());
}

#[test]
fn empty_lines_before_a_request_are_ignored() {
    let srv = start_raw(|s| s);
    let mut c = srv.client();
    // Before the first request, and between two pipelined ones (RFC 9112,
    // 2.2), in one write and split so that an empty line ends a read.
    c.send(b"\r\n\r\nGET /a HTTP/1.1\r\nHost: t\r\n\r\n\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response(false).unwrap().text(), "GET /a");
    assert_eq!(c.response(false).unwrap().text(), "GET /b");
    c.send(b"\r\n");
    std::thread::sleep(Duration::from_millis(50));
    c.send(b"GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response(false).unwrap().text(), "GET /c");
}

#[test]
fn http10() {
    let srv = start_raw(|s| s);
    let r = roundtrip(srv.addr, b"GET /ten HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(r.text(), "GET /ten");
    assert_eq!(r.header("connection"), Some("close"));
    let mut c = srv.client();
    c.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.header("connection"), Some("keep-alive"));
    // Unknown length on HTTP/1.0: until close.
    c.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.text(), "chunk0;chunk1;chunk2;");
    assert_eq!(r.header("transfer-encoding"), None);
}

#[test]
fn pipelining_16_in_one_write() {
    let srv = start_raw(|s| s);
    let mut c = srv.client();
    let mut all = Vec::new();
    for i in 0..16 {
        all.extend_from_slice(&get(&format!("/p{i}")));
    }
    c.send(&all);
    for i in 0..16 {
        let r = c.response(false).unwrap();
        assert_eq!(r.text(), format!("GET /p{i}"));
    }
    // Pipelined with a body between.
    let mut all = get("/a");
    all.extend_from_slice(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    all.extend_from_slice(&get("/b"));
    c.send(&all);
    assert_eq!(c.response(false).unwrap().text(), "GET /a");
    assert_eq!(c.response(false).unwrap().text(), "5 hello");
    assert_eq!(c.response(false).unwrap().text(), "GET /b");
}

#[test]
fn head() {
    let srv = start_raw(|s| s);
    let mut c = srv.client();
    c.send(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response(true).unwrap();
    assert_eq!(r.header("content-length"), Some("7"));
    assert!(r.body.is_empty());
    // A streamed body to HEAD: no body, no chunked framing.
    c.send(b"HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response(true).unwrap();
    assert_eq!(r.header("transfer-encoding"), None);
    // The connection goes on, nothing left over.
    c.send(&get("/after"));
    assert_eq!(c.response(false).unwrap().text(), "GET /after");
}

#[test]
fn streamed_request_bodies() {
    let srv = start_raw(|s| s);
    let mut c = srv.client();
    // Content-Length, sent in two parts.
    c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n\r\n");
    c.send(&vec![b'x'; 100_000]);
    c.send(&vec![b'y'; 100_000]);
    assert_eq!(c.response(false).unwrap().text(), "200000 xxxxxxxxxx");
    // Chunked.
    c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
    assert_eq!(c.response(false).unwrap().text(), "7 abcdefg");
    // A body the handler does not read is drained; the connection goes on.
    c.send(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd");
    assert_eq!(c.response(false).unwrap().text(), "POST /x");
    c.send(&get("/y"));
    assert_eq!(c.response(false).unwrap().text(), "GET /y");
    // Expect: 100-continue.
    c.send(
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    );
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 100);
    c.send(b"abc");
    assert_eq!(c.response(false).unwrap().text(), "3 abc");
}

#[test]
fn chunked_response() {
    let srv = start_raw(|s| s);
    let mut c = srv.client();
    c.send(&get("/stream"));
    let r = c.response(false).unwrap();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "chunk0;chunk1;chunk2;");
    c.send(&get("/z"));
    assert_eq!(c.response(false).unwrap().text(), "GET /z");
}

#[test]
fn bad_input_as_the_ordinary_path() {
    let srv = start_raw(|s| s.max_header_bytes(1024).max_body_bytes(100));
    for (req, status) in [
        (&b"GARBAGE\r\n\r\n"[..], 400),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nExpect: something\r\n\r\n",
            417,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n",
            413,
        ),
    ] {
        let r = roundtrip(srv.addr, req).unwrap();
        assert_eq!(r.status, status, "{}", String::from_utf8_lossy(req));
        assert_eq!(r.header("connection"), Some("close"));
    }
    let mut big = b"GET / HTTP/1.1\r\nHost: t\r\nX: ".to_vec();
    big.extend_from_slice(&vec![b'a'; 2000]);
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(roundtrip(srv.addr, &big).unwrap().status, 431);
    // A chunked body over the limit, read by the handler: 413.
    let mut c = srv.client();
    let mut req =
        b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n".to_vec();
    req.extend_from_slice(&[b'q'; 200]);
    req.extend_from_slice(b"\r\n0\r\n\r\n");
    c.send(&req);
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 413);
    assert!(c.closed());
}

#[test]
fn a_panic_is_a_500_and_the_connection_closes() {
    let srv = start_raw(|s| s);
    let mut c = srv.client();
    c.send(&get("/before"));
    assert_eq!(c.response(false).unwrap().text(), "GET /before");
    c.send(&get("/panic"));
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.header("x-before"), None);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
    // The server goes on.
    assert_eq!(
        roundtrip(srv.addr, &get("/next")).unwrap().text(),
        "GET /next"
    );
}

#[test]
fn graceful_stop() {
    let srv = start_raw(|s| s);
    let mut idle = srv.client();
    idle.send(&get("/i"));
    assert_eq!(idle.response(false).unwrap().text(), "GET /i");
    let mut busy = srv.client();
    busy.send(&get("/slow"));
    // Wait until the server has both connections.
    while srv.handle.connections() < 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let handle = srv.handle.clone();
    let stopper = std::thread::spawn(move || handle.stop(Duration::from_secs(10)));
    // The request in flight finishes, with Connection: close.
    let r = busy.response(false).unwrap();
    assert_eq!(r.text(), "slow done");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(busy.closed());
    // The idle connection is closed.
    assert!(idle.closed());
    assert!(stopper.join().unwrap());
    assert!(srv.stop(Duration::from_secs(1)));
}

#[test]
fn access_log() {
    let (tx, rx) = mpsc::channel::<String>();
    let tx = std::sync::Mutex::new(tx);
    let srv = start_raw(move |s| {
        s.access_log_to(move |line| {
            let _ = tx.lock().unwrap().send(line.to_string());
        })
    });
    assert_eq!(roundtrip(srv.addr, &get("/logged")).unwrap().status, 200);
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(line.contains("\"GET /logged HTTP/1.1\" 200 11"), "{line}");
}

#[test]
fn workers() {
    let srv = start_raw_workers(2, |s| s);
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let addr = srv.addr;
            std::thread::spawn(move || {
                let s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut client = Client::new(s);
                for i in 0..20 {
                    client.send(&get(&format!("/w{c}-{i}")));
                    assert_eq!(
                        client.response(false).unwrap().text(),
                        format!("GET /w{c}-{i}")
                    );
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert!(srv.stop(Duration::from_secs(5)));
}

#[cfg(feature = "tls")]
#[path = "util/pki.rs"]
mod pki;

#[cfg(feature = "tls")]
#[test]
fn over_tls() {
    use green::http::client::Client as HttpClient;
    use green::http::tls::{TlsAcceptor, TlsConnector};
    let pki = pki::pki();
    let acceptor = TlsAcceptor::from_pem(pki.cert.as_bytes(), pki.key.as_bytes()).unwrap();
    let srv = start_raw(move |s| s.tls(acceptor));
    let client = HttpClient::builder()
        .tls_connector(TlsConnector::with_root_certificates_pem(pki.ca.as_bytes()).unwrap())
        .build();
    let base = format!("https://localhost:{}", srv.addr.port());
    for i in 0..3 {
        let r = client.get(&format!("{base}/t{i}")).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().unwrap(), format!("GET /t{i}"));
        let r = client
            .post(&format!("{base}/upload"))
            .send_bytes(&vec![b'x'; 100_000])
            .unwrap();
        assert_eq!(r.text().unwrap(), "100000 xxxxxxxxxx");
        let r = client.get(&format!("{base}/stream")).send().unwrap();
        assert_eq!(r.text().unwrap(), "chunk0;chunk1;chunk2;");
    }
}

#[test]
fn curl() {
    let srv = start_raw(|s| s);
    curl_session(&format!("http://{}", srv.addr));
}

#[test]
fn python_requests() {
    let srv = start_raw(|s| s);
    http_server_common::python_requests(srv.addr);
}

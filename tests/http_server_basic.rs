//! green::http::server: HTTP/1.1 as clients use it (keep-alive,
//! pipelining, chunked both ways, 100-continue, HEAD, HTTP/1.0), limits,
//! panics, graceful stop, many hubs and the access log — with a raw std
//! client.

mod http_server_common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use green::http::server::{Body, Request, Response, StatusCode};
use http_server_common::{Client, get, roundtrip, start, start_workers};

/// Answers with the method and path; `/body` echoes the body's length and
/// text; `/panic` panics; `/sleep/MS` sleeps.
fn app(req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path == "/panic" {
        panic!("handler panics on purpose");
    }
    if let Some(ms) = path.strip_prefix("/sleep/") {
        green::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
        return Response::new(Body::from(format!("slept {ms}")));
    }
    if path == "/body" {
        let body = req.into_body().into_bytes();
        return match body {
            Ok(b) => Response::new(Body::from(format!(
                "{} {}",
                b.len(),
                String::from_utf8_lossy(&b)
            ))),
            Err(e) => Response::builder()
                .status(500)
                .body(Body::from(e.to_string()))
                .unwrap(),
        };
    }
    if path == "/echo" {
        return Response::new(Body::from_reader(req.into_body()));
    }
    if path == "/stream" {
        return Response::new(Body::stream(|w| {
            for i in 0..5 {
                writeln!(w, "part {i}")?;
                w.flush()?;
            }
            Ok(())
        }));
    }
    if path == "/reader" {
        return Response::new(Body::from_reader(&b"from a reader"[..]));
    }
    Response::new(Body::from(format!("{} {}", req.method(), path)))
}

#[test]
fn keep_alive_and_pipelining() {
    let srv = start(|s| s, app);
    let mut c = Client::new(srv.connect());
    // Three requests in one write; answers in order, on one connection.
    c.send(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\nPOST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(c.response(false).unwrap().text(), "GET /a");
    assert_eq!(c.response(false).unwrap().text(), "GET /b");
    assert_eq!(c.response(false).unwrap().text(), "5 hello");
    // And later requests on the same connection.
    for i in 0..10 {
        c.send(&get(&format!("/{i}")));
        let r = c.response(false).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), format!("GET /{i}"));
        assert!(r.header("connection").is_none());
        let date = r.header("date").expect("a Date header");
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }
}

#[test]
fn chunked_request_body_with_extensions_and_trailers() {
    let srv = start(|s| s, app);
    let mut c = Client::new(srv.connect());
    c.send(b"POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n");
    assert_eq!(c.response(false).unwrap().text(), "11 hello world");
    c.send(&get("/after"));
    assert_eq!(c.response(false).unwrap().text(), "GET /after");
}

#[test]
fn streamed_and_reader_responses() {
    let srv = start(|s| s, app);
    let mut c = Client::new(srv.connect());
    c.send(&get("/stream"));
    let r = c.response(false).unwrap();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "part 0\npart 1\npart 2\npart 3\npart 4\n");
    c.send(&get("/reader"));
    assert_eq!(c.response(false).unwrap().text(), "from a reader");
    // HTTP/1.0 has no chunked: the body runs until close.
    let r = roundtrip(srv.addr, b"GET /stream HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(r.header("transfer-encoding").is_none());
    assert_eq!(r.text(), "part 0\npart 1\npart 2\npart 3\npart 4\n");
}

#[test]
fn echo_streams_a_large_upload_back() {
    let srv = start(|s| s, app);
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut c = Client::new(srv.connect());
    let writer = {
        let mut s = c.stream.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || {
            write!(
                s,
                "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .unwrap();
            for chunk in data.chunks(70_000) {
                write!(s, "{:x}\r\n", chunk.len()).unwrap();
                s.write_all(chunk).unwrap();
                s.write_all(b"\r\n").unwrap();
            }
            s.write_all(b"0\r\n\r\n").unwrap();
        })
    };
    let r = c.response(false).unwrap();
    writer.join().unwrap();
    assert_eq!(r.body.len(), data.len());
    assert!(r.body == data);
}

#[test]
fn expect_100_continue() {
    let srv = start(|s| s, app);
    let mut c = Client::new(srv.connect());
    c.send(b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    let interim = c.response(false).unwrap();
    assert_eq!(interim.status, 100);
    c.send(b"data");
    assert_eq!(c.response(false).unwrap().text(), "4 data");
    // A handler that does not read: no 100, a final answer, then close.
    c.send(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn head_and_http10_and_connection_close() {
    let srv = start(|s| s, app);
    let mut c = Client::new(srv.connect());
    c.send(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response(true).unwrap();
    assert_eq!(r.header("content-length"), Some("7"));
    c.send(&get("/next"));
    assert_eq!(c.response(false).unwrap().text(), "GET /next");

    // HTTP/1.0 closes unless asked to keep alive.
    let mut c = Client::new(srv.connect());
    c.send(b"GET /old HTTP/1.0\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
    let mut c = Client::new(srv.connect());
    c.send(b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.header("connection"), Some("keep-alive"));
    c.send(b"GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.response(false).unwrap().text(), "GET /again");

    // Connection: close on HTTP/1.1.
    let mut c = Client::new(srv.connect());
    c.send(b"GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn a_panicking_handler_gets_500_and_the_server_goes_on() {
    let srv = start(|s| s, app);
    let mut other = Client::new(srv.connect());
    other.send(&get("/before"));
    assert_eq!(other.response(false).unwrap().status, 200);
    let mut c = Client::new(srv.connect());
    c.send(&get("/panic"));
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
    other.send(&get("/after"));
    assert_eq!(other.response(false).unwrap().text(), "GET /after");
    assert_eq!(roundtrip(srv.addr, &get("/new")).unwrap().status, 200);
}

#[test]
fn limits() {
    let srv = start(
        |s| {
            s.max_header_bytes(4096)
                .max_headers(10)
                .max_body_bytes(1000)
                .header_read_timeout(Duration::from_millis(600))
                .keep_alive_timeout(Duration::from_millis(300))
        },
        app,
    );
    let big = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(5000)
    );
    assert_eq!(roundtrip(srv.addr, big.as_bytes()).unwrap().status, 431);
    let mut many = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..20 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(roundtrip(srv.addr, many.as_bytes()).unwrap().status, 431);
    let r = roundtrip(
        srv.addr,
        b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n",
    )
    .unwrap();
    assert_eq!(r.status, 413);
    let mut chunked =
        String::from("POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..3 {
        chunked.push_str(&format!("190\r\n{}\r\n", "b".repeat(400)));
    }
    chunked.push_str("0\r\n\r\n");
    assert_eq!(roundtrip(srv.addr, chunked.as_bytes()).unwrap().status, 413);

    // Slowloris: a byte at a time never completes a head in time.
    let t0 = Instant::now();
    let mut c = Client::new(srv.connect());
    let req = b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut got = None;
    for b in req.iter() {
        if c.stream.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        if t0.elapsed() > Duration::from_millis(900) {
            break;
        }
    }
    if let Ok(r) = c.response(false) {
        got = Some(r.status);
    }
    assert_eq!(got, Some(408));
    assert!(t0.elapsed() < Duration::from_secs(3));

    // An idle keep-alive connection is closed after its timeout.
    let mut c = Client::new(srv.connect());
    c.send(&get("/x"));
    assert_eq!(c.response(false).unwrap().status, 200);
    let t0 = Instant::now();
    assert!(c.closed());
    let idle = t0.elapsed();
    assert!(
        idle >= Duration::from_millis(250) && idle < Duration::from_secs(3),
        "{idle:?}"
    );
}

#[test]
fn max_connections_holds_the_next_client_back() {
    let srv = start(|s| s.max_connections(1), app);
    let mut first = Client::new(srv.connect());
    first.send(&get("/one"));
    assert_eq!(first.response(false).unwrap().status, 200);
    let mut second = Client::new(srv.connect());
    second.send(&get("/two"));
    second
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(second.response(false).is_err(), "served past the limit");
    drop(first);
    second
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(second.response(false).unwrap().text(), "GET /two");
}

#[test]
fn graceful_stop_finishes_requests_in_flight() {
    let srv = start(|s| s, app);
    let mut idle = Client::new(srv.connect());
    idle.send(&get("/idle"));
    assert_eq!(idle.response(false).unwrap().status, 200);
    let mut busy = Client::new(srv.connect());
    busy.send(&get("/sleep/300"));
    std::thread::sleep(Duration::from_millis(50));
    let addr = srv.addr;
    let t0 = Instant::now();
    let stopper = std::thread::spawn(move || srv.stop(Duration::from_secs(5)));
    // The idle connection is closed at once.
    assert!(idle.closed());
    assert!(t0.elapsed() < Duration::from_millis(250));
    // The request in flight finishes, told that the connection closes.
    let r = busy.response(false).unwrap();
    assert_eq!(r.text(), "slept 300");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(stopper.join().unwrap(), "stop was not clean");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting"
    );
}

#[test]
fn stop_kills_what_outlives_the_deadline() {
    let srv = start(|s| s, app);
    let mut busy = Client::new(srv.connect());
    busy.send(&get("/sleep/10000"));
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    assert!(!srv.stop(Duration::from_millis(200)));
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert!(busy.response(false).is_err());
}

#[test]
fn every_hub_serves() {
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let seen = threads.clone();
    let srv = start_workers(
        2,
        |s| s,
        move |_req: Request<Body>| {
            seen.lock().unwrap().insert(std::thread::current().id());
            green::thread::sleep(Duration::from_millis(20));
            Response::new("ok")
        },
    );
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let addr = srv.addr;
            std::thread::spawn(move || {
                for _ in 0..5 {
                    assert_eq!(roundtrip(addr, &get("/")).unwrap().text(), "ok");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(threads.lock().unwrap().len(), 2, "both hubs served");
}

#[test]
fn access_log_in_common_log_format() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let srv = start(
        move |s| s.access_log_to(move |l| sink.lock().unwrap().push(l.to_string())),
        app,
    );
    roundtrip(srv.addr, &get("/logged?q=1")).unwrap();
    assert_eq!(roundtrip(srv.addr, &get("/panic")).unwrap().status, 500);
    srv.stop(Duration::from_secs(1));
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let l = &lines[0];
    assert!(l.starts_with("127.0.0.1 - - ["), "{l}");
    assert!(l.ends_with("] \"GET /logged?q=1 HTTP/1.1\" 200 11"), "{l}");
    assert!(
        lines[1].ends_with("\"GET /panic HTTP/1.1\" 500 -"),
        "{}",
        lines[1]
    );
}

#[test]
fn status_codes_without_a_body() {
    let srv = start(
        |s| s,
        |_req: Request<Body>| {
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body("ignored")
                .unwrap()
        },
    );
    let mut c = Client::new(srv.connect());
    c.send(&get("/"));
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 204);
    assert!(r.header("content-length").is_none());
    c.send(&get("/"));
    assert_eq!(c.response(false).unwrap().status, 204);
    let mut rest = Vec::new();
    c.stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let _ = c.stream.read_to_end(&mut rest);
    assert!(rest.is_empty());
}

#[test]
fn remote_addr_when_asked_for() {
    use green::http::server::RemoteAddr;
    let srv = start(
        |s| s.remote_addr(true),
        |req: Request<Body>| {
            let peer = req.extensions().get::<RemoteAddr>().map(|a| a.0.ip());
            Response::new(format!("{peer:?}"))
        },
    );
    let r = roundtrip(srv.addr, &get("/")).unwrap();
    assert_eq!(r.text(), "Some(127.0.0.1)");
}

#[test]
fn a_sized_body_that_ends_early_closes_the_connection() {
    let srv = start(
        |s| s,
        |req: Request<Body>| {
            if req.uri().path() == "/short" {
                Response::new(Body::sized(&b"abc"[..], 10))
            } else {
                Response::new(Body::from("fine"))
            }
        },
    );
    let mut c = Client::new(srv.connect());
    c.send(&get("/short"));
    // The head promised 10 bytes; 3 came, then the connection closed.
    assert!(c.response(false).is_err());
    assert_eq!(roundtrip(srv.addr, &get("/")).unwrap().text(), "fine");
}

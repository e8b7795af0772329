//! green::http::server against bad input: each case gets the right 4xx (or
//! a close), and a keep-alive connection opened before them all is served
//! as before.

mod http_server_common;

use std::io::Write;
use std::time::{Duration, Instant};

use green::http::server::{Body, Request, Response};
use http_server_common::{Client, get, start};

fn app(req: Request<Body>) -> Response<Body> {
    let n = req.into_body().into_bytes().map(|b| b.len()).unwrap_or(0);
    Response::new(Body::from(format!("ok {n}")))
}

/// (name, bytes sent, expected status)
fn cases() -> Vec<(&'static str, Vec<u8>, u16)> {
    let mut v: Vec<(&'static str, Vec<u8>, u16)> = vec![
        ("bad method", b"G@T / HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400),
        ("bad version", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(), 505),
        ("garbage version", b"GET / HTXP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400),
        ("header without colon", b"GET / HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n".to_vec(), 400),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : t\r\n\r\n".to_vec(), 400),
        ("duplicate content-length", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc".to_vec(), 400),
        ("conflicting content-length", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(), 400),
        ("content-length list", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 3\r\n\r\nabc".to_vec(), 400),
        ("content-length and transfer-encoding", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), 400),
        ("overflowing content-length", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(), 400),
        ("negative content-length", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n".to_vec(), 400),
        ("signed content-length", b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc".to_vec(), 400),
        ("bad chunk size", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".to_vec(), 400),
        ("overflowing chunk size", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nabc\r\n0\r\n\r\n".to_vec(), 400),
        ("chunk longer than its size", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n".to_vec(), 400),
        ("empty chunk size", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n".to_vec(), 400),
        ("transfer-encoding not chunked last", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n".to_vec(), 400),
        ("transfer-encoding gzip", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".to_vec(), 501),
        ("transfer-encoding twice chunked", b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), 400),
        ("transfer-encoding in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), 400),
        ("NUL in a header value", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n".to_vec(), 400),
        ("NUL in the path", b"GET /\0 HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400),
        ("bare CR in a header", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n".to_vec(), 400),
        ("bare CR in the request line", b"GET /\r HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 400),
        ("no Host in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n".to_vec(), 400),
        ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(), 400),
        ("unknown expectation", b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\na".to_vec(), 417),
        ("obsolete line folding", b"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n".to_vec(), 400),
    ];
    let mut huge = b"GET / HTTP/1.1\r\nHost: t\r\nX-Huge: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 1 << 20));
    huge.extend_from_slice(b"\r\n\r\n");
    v.push(("1 MiB header line", huge, 431));
    let mut long_line = b"GET /".to_vec();
    long_line.extend(std::iter::repeat_n(b'p', 200_000));
    long_line.extend_from_slice(b" HTTP/1.1\r\nHost: t\r\n\r\n");
    v.push(("200 kB request line", long_line, 431));
    v
}

#[test]
fn each_bad_request_gets_its_answer_and_disturbs_no_one() {
    let srv = start(|s| s.header_read_timeout(Duration::from_secs(2)), app);
    let mut witness = Client::new(srv.connect());
    witness.send(&get("/"));
    assert_eq!(witness.response(false).unwrap().text(), "ok 0");

    let mut failures = Vec::new();
    for (name, bytes, want) in cases() {
        let mut c = Client::new(srv.connect());
        // The server may answer (and close) before taking it all.
        let _ = c.stream.write_all(&bytes);
        match c.response(false) {
            Ok(r) if r.status == want => {
                if !c.closed() {
                    failures.push(format!(
                        "{name}: answered {want} but left the connection open"
                    ));
                }
            }
            Ok(r) => failures.push(format!("{name}: got {}, want {want}", r.status)),
            Err(e) => failures.push(format!("{name}: no answer ({e}), want {want}")),
        }
        witness.send(&get("/still"));
        assert_eq!(
            witness.response(false).unwrap().text(),
            "ok 0",
            "after {name}"
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_client_sending_a_byte_a_second_gets_408() {
    let srv = start(|s| s.header_read_timeout(Duration::from_millis(2500)), app);
    let mut witness = Client::new(srv.connect());
    let mut c = Client::new(srv.connect());
    let t0 = Instant::now();
    let slow = std::thread::spawn({
        let mut s = c.stream.try_clone().unwrap();
        move || {
            for b in b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    });
    // Meanwhile others are served at once.
    for _ in 0..3 {
        witness.send(&get("/"));
        let t = Instant::now();
        assert_eq!(witness.response(false).unwrap().status, 200);
        assert!(t.elapsed() < Duration::from_millis(500));
    }
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 408);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(c.closed());
    slow.join().unwrap();
}

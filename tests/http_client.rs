//! green::http's client against a small green server on 127.0.0.1:
//! keep-alive reuse, redirects and their limit, the three timeouts,
//! streamed bodies both ways, statuses and errors for bad URLs.

mod http_client_util;

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use green::http::client::{self, Client, ErrorKind, StatusCode, TimeoutKind};
use http_client_util::{GATE, big_byte, start};

#[test]
fn get_reads_a_body() {
    let server = start();
    let mut resp = green::http::get(&server.url("/hello")).unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    assert_eq!(resp.content_length(), Some(5));
    assert_eq!(resp.url(), server.url("/hello"));
    let mut body = String::new();
    resp.read_to_string(&mut body).unwrap();
    assert_eq!(body, "hello");
}

#[test]
fn keep_alive_reuses_one_connection() {
    let server = start();
    let client = Client::new();
    for _ in 0..20 {
        let body = client
            .get(&server.url("/hello"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert_eq!(body, "hello");
    }
    assert_eq!(server.accepted(), 1, "20 sequential GETs, one connection");

    // The default client of `get` pools too (one per OS thread).
    let other = start();
    for _ in 0..10 {
        assert_eq!(
            green::http::get(&other.url("/hello"))
                .unwrap()
                .text()
                .unwrap(),
            "hello"
        );
    }
    assert_eq!(other.accepted(), 1);
}

#[test]
fn a_closed_connection_is_not_reused() {
    let server = start();
    let client = Client::new();
    for _ in 0..3 {
        assert_eq!(
            client
                .get(&server.url("/close"))
                .send()
                .unwrap()
                .text()
                .unwrap(),
            "bye"
        );
    }
    assert_eq!(server.accepted(), 3);
    // A body not read to its end closes its connection.
    let resp = client.get(&server.url("/big/1000000")).send().unwrap();
    drop(resp);
    client
        .get(&server.url("/hello"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(server.accepted(), 5);
}

#[test]
fn no_keep_alive_when_the_pool_is_off() {
    let server = start();
    let client = Client::builder().max_idle_connections_per_host(0).build();
    for _ in 0..4 {
        client
            .get(&server.url("/hello"))
            .send()
            .unwrap()
            .text()
            .unwrap();
    }
    assert_eq!(server.accepted(), 4);
}

#[test]
fn redirects_are_followed_up_to_the_limit() {
    let server = start();
    let client = Client::new();
    let resp = client.get(&server.url("/redirect/3")).send().unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.url(), server.url("/hello"));
    assert_eq!(resp.text().unwrap(), "hello");

    let strict = Client::builder().max_redirects(2).build();
    let err = strict.get(&server.url("/redirect/3")).send().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRedirects, "{err}");
    assert_eq!(err.url(), Some(server.url("/redirect/3").as_str()));
    let ok = strict.get(&server.url("/redirect/1")).send().unwrap();
    assert_eq!(ok.text().unwrap(), "hello");

    let none = Client::builder().max_redirects(0).build();
    let resp = none.get(&server.url("/redirect/1")).send().unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(resp.header("location"), Some("/redirect/0"));
}

#[test]
fn read_timeout_against_a_server_that_never_answers() {
    let server = start();
    let client = Client::builder()
        .read_timeout(Duration::from_millis(200))
        .build();
    let t0 = Instant::now();
    let err = client.get(&server.url("/stall")).send().unwrap_err();
    let took = t0.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.timeout(), Some(TimeoutKind::Read), "{err:?}");
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let io: io::Error = err.into();
    assert_eq!(io.kind(), io::ErrorKind::TimedOut);
    // The client still works afterwards.
    assert_eq!(
        client
            .get(&server.url("/hello"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "hello"
    );
}

#[test]
fn overall_timeout_and_per_request_timeout() {
    let server = start();
    let client = Client::builder()
        .timeout(Duration::from_millis(250))
        .build();
    let t0 = Instant::now();
    let err = client.get(&server.url("/stall")).send().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.timeout(), Some(TimeoutKind::Overall), "{err:?}");
    assert!(t0.elapsed() < Duration::from_secs(3));

    let t0 = Instant::now();
    let err = Client::new()
        .get(&server.url("/stall"))
        .timeout(Duration::from_millis(150))
        .send()
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(t0.elapsed() < Duration::from_secs(3));
}

/// A listener whose accept queue is full and never drained: the kernel
/// drops further SYNs, so a connect to it hangs until its timeout.
fn full_backlog_listener() -> (socket2::Socket, Vec<std::net::TcpStream>, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(std::net::TcpStream::from(s));
    }
    std::thread::sleep(Duration::from_millis(50));
    (listener, fillers, addr)
}

#[test]
fn connect_timeout_against_a_full_backlog() {
    let (_listener, _fillers, addr) = full_backlog_listener();
    let client = Client::builder()
        .connect_timeout(Duration::from_millis(200))
        .build();
    let t0 = Instant::now();
    let err = client.get(&format!("http://{addr}/")).send().unwrap_err();
    let took = t0.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.timeout(), Some(TimeoutKind::Connect), "{err:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_large_body_is_streamed() {
    let server = start();
    let n = 8 << 20;
    let mut resp = green::http::get(&server.url(&format!("/big/{n}"))).unwrap();
    assert_eq!(resp.content_length(), Some(n as u64));
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let got = resp.read(&mut buf).unwrap();
        if got == 0 {
            break;
        }
        for (j, b) in buf[..got].iter().enumerate() {
            assert_eq!(*b, big_byte(total + j), "byte {}", total + j);
        }
        total += got;
    }
    assert_eq!(total, n);
}

#[test]
fn the_body_arrives_before_the_server_finishes() {
    let server = start();
    let client = Client::builder()
        .read_timeout(Duration::from_secs(5))
        .build();
    let mut resp = client.get(&server.url("/gated")).send().unwrap();
    let mut first = vec![0u8; 1 << 20];
    resp.read_exact(&mut first).unwrap();
    assert!(first.iter().all(|&b| b == 7));
    GATE.store(true, Ordering::SeqCst);
    let mut rest = Vec::new();
    resp.read_to_end(&mut rest).unwrap();
    assert_eq!(rest.len(), 1 << 20);
}

#[test]
fn chunked_responses_and_request_bodies() {
    let server = start();
    let client = Client::new();
    let body = client
        .get(&server.url("/chunked"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(body, "hello world");

    let resp = client
        .post(&server.url("/echo"))
        .send_bytes(b"12345")
        .unwrap();
    assert_eq!(resp.text().unwrap(), "POST 5");

    // A 4 MiB upload streamed from a reader (chunked).
    let mut upload = io::repeat(b'x').take(4 << 20);
    let resp = client
        .put(&server.url("/echo"))
        .send_reader(&mut upload)
        .unwrap();
    assert_eq!(resp.text().unwrap(), format!("PUT {}", 4 << 20));

    let resp = client::post(&server.url("/echo"), b"abc").unwrap();
    assert_eq!(resp.text().unwrap(), "POST 3");
    // The client's requests shared one kept-alive connection; the free
    // function's default client opened its own.
    assert_eq!(server.accepted(), 2);
}

#[test]
fn statuses_are_responses_until_asked() {
    let server = start();
    let resp = green::http::get(&server.url("/status/404")).unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let err = resp.error_for_status().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Status);
    assert_eq!(err.status_code(), Some(404));
    let resp = green::http::get(&server.url("/status/503")).unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.error_for_status().is_err());
    let resp = green::http::get(&server.url("/hello")).unwrap();
    assert!(resp.error_for_status().is_ok());

    let head = client::head(&server.url("/hello")).unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.text().unwrap(), "");
}

#[test]
fn host_names_resolve_greenly() {
    let server = start();
    let url = format!("http://localhost:{}/hello", server.addr.port());
    let body = green::http::get(&url).unwrap().text().unwrap();
    assert_eq!(body, "hello");
}

#[test]
fn a_connection_the_server_closed_while_idle_is_replaced() {
    let server = start();
    let client = Client::new();
    // By name: the second request counts on the pooled connection and
    // skips the lookup, then finds it closed and looks the name up after all.
    let url = format!("http://localhost:{}/hello-then-hang-up", server.addr.port());
    for _ in 0..3 {
        assert_eq!(client.get(&url).send().unwrap().text().unwrap(), "hello");
        green::thread::sleep(Duration::from_millis(60));
    }
    assert_eq!(server.accepted(), 3);
    // While it is open, one connection serves them all.
    let url = format!("http://localhost:{}/hello", server.addr.port());
    for _ in 0..5 {
        assert_eq!(client.get(&url).send().unwrap().text().unwrap(), "hello");
    }
    assert_eq!(server.accepted(), 4);
}

#[test]
fn bad_urls_are_errors() {
    for url in [
        "not a url",
        "ftp://127.0.0.1/",
        "http://",
        "/relative/path",
        "http://[::1/",
    ] {
        let err = green::http::get(url).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUrl, "{url}: {err:?}");
        assert!(!err.to_string().is_empty());
        let io: io::Error = err.into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidInput, "{url}");
    }
    // Nothing listens on port 1 of loopback.
    let err = green::http::get("http://127.0.0.1:1/").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
    let io: io::Error = err.into();
    assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused);

    let err = Client::new()
        .get("http://127.0.0.1:1/")
        .header("bad header", "x")
        .send()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUrl, "{err:?}");
}

#[cfg(not(feature = "tls"))]
#[test]
fn https_without_the_tls_feature_says_so() {
    let server = start();
    let url = format!("https://{}/hello", server.addr);
    let err = green::http::get(&url).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
    assert!(err.to_string().contains("`tls`"), "{err}");
}

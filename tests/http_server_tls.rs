//! HTTPS on `green::http::server::Server` (feature `tls`): `.tls(acceptor)`
//! with a certificate made by rcgen, against green's client, curl
//! `--cacert` (skipped, saying so, where absent), a protocol upgrade over
//! TLS, and a client that speaks plain HTTP to the TLS port. All traffic
//! stays on 127.0.0.1.

#![cfg(feature = "tls")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use green::http::client::Client;
use green::http::server::{Body, Request, Response, Server, ServerHandle, Upgrade, header};
use green::http::tls::{TlsAcceptor, TlsConnector};
use green::net::TcpStream;

#[path = "util/pki.rs"]
mod pki;
use pki::{Pki, pki};

fn acceptor(pki: &Pki) -> TlsAcceptor {
    TlsAcceptor::from_pem(pki.cert.as_bytes(), pki.key.as_bytes()).unwrap()
}

/// The app: `/hello` answers `hello tls`, `/echo` echoes the body,
/// `/upgrade` switches to an echo protocol.
fn app(mut req: Request<Body>) -> Response<Body> {
    match req.uri().path() {
        "/echo" => {
            let mut body = Vec::new();
            req.body_mut().read_to_end(&mut body).unwrap();
            Response::new(body.into())
        }
        "/ws" => green::websocket::accept(&req, |mut ws| {
            while let Ok(m) = ws.read() {
                if m.is_close() || ws.send(m).is_err() {
                    break;
                }
            }
        }),
        "/upgrade" => Response::builder()
            .status(101)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "echo")
            .extension(Upgrade::new(|mut s| {
                assert!(s.is_tls());
                let mut buf = [0; 1024];
                while let Ok(n @ 1..) = s.read(&mut buf) {
                    if s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }))
            .body(Body::empty())
            .unwrap(),
        _ => Response::new("hello tls".into()),
    }
}

/// Serves `app` over HTTPS on its own OS thread (its own hub).
fn https_server(pki: &Pki) -> (SocketAddr, ServerHandle) {
    let acceptor = acceptor(pki);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let server = Server::bind("127.0.0.1:0")
            .unwrap()
            .tls(acceptor)
            .header_read_timeout(Duration::from_secs(2));
        tx.send((server.local_addr(), server.handle())).unwrap();
        server.serve_forever(app).unwrap();
    });
    rx.recv().unwrap()
}

fn client(pki: &Pki) -> Client {
    Client::builder()
        .tls_connector(TlsConnector::with_root_certificates_pem(pki.ca.as_bytes()).unwrap())
        .build()
}

#[test]
fn green_client_over_https() {
    let pki = pki();
    let (addr, handle) = https_server(&pki);
    let client = client(&pki);
    let base = format!("https://localhost:{}", addr.port());
    for i in 0..5 {
        let r = client.get(&format!("{base}/hello")).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().unwrap(), "hello tls");
        let body = vec![b'x'; 100_000 + i];
        let r = client
            .post(&format!("{base}/echo"))
            .send_bytes(&body)
            .unwrap();
        assert_eq!(r.bytes().unwrap(), body);
    }
    assert!(handle.stop(Duration::from_secs(5)));
}

#[test]
fn many_clients_at_once() {
    let pki = pki();
    let (addr, handle) = https_server(&pki);
    let client = client(&pki);
    let url = format!("https://127.0.0.1:{}/hello", addr.port());
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            green::thread::spawn(move || client.get(&url).send().unwrap().text().unwrap())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "hello tls");
    }
    handle.stop(Duration::from_secs(5));
}

#[test]
fn plain_http_to_the_tls_port_is_dropped_and_others_go_on() {
    let pki = pki();
    let (addr, handle) = https_server(&pki);
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = Vec::new();
    // Closed (a TLS alert at most), never an HTTP answer.
    let _ = plain.read_to_end(&mut got);
    assert!(!got.starts_with(b"HTTP/"), "{got:?}");
    // A silent client is dropped at the handshake deadline.
    let mut silent = TcpStream::connect(addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let r = client(&pki)
        .get(&format!("https://localhost:{}/hello", addr.port()))
        .send()
        .unwrap();
    assert_eq!(r.text().unwrap(), "hello tls");
    let mut buf = [0; 16];
    assert_eq!(silent.read(&mut buf).unwrap_or(0), 0);
    handle.stop(Duration::from_secs(5));
}

#[test]
fn upgrade_over_tls() {
    let pki = pki();
    let (addr, handle) = https_server(&pki);
    let connector = TlsConnector::with_root_certificates_pem(pki.ca.as_bytes()).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    let mut tls = connector.connect("localhost", tcp).unwrap();
    // The request and the first protocol bytes in one write: the server
    // must hand the bytes read past the request to the upgrade.
    tls.write_all(
        b"GET /upgrade HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\nearly",
    )
    .unwrap();
    let mut r = BufReader::new(tls);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 101 Switching Protocols\r\n");
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        assert!(!line.to_ascii_lowercase().starts_with("content-length"));
    }
    let mut buf = [0; 5];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"early");
    r.get_mut().write_all(b"later").unwrap();
    r.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"later");
    drop(r);
    handle.stop(Duration::from_secs(5));
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn curl_with_cacert() {
    if !have("curl", &["--version"]) {
        eprintln!("SKIPPED curl_with_cacert: curl is not installed (apt-get install -y curl)");
        return;
    }
    let pki = pki();
    let (addr, handle) = https_server(&pki);
    let ca = std::env::temp_dir().join(format!("green-server-tls-{}.pem", std::process::id()));
    std::fs::write(&ca, &pki.ca).unwrap();
    let url = format!("https://localhost:{}/hello", addr.port());
    let echo = format!("https://localhost:{}/echo", addr.port());
    // Two requests on one kept-alive connection, then a chunked upload.
    let out = Command::new("curl")
        .args(["-sS", "--noproxy", "*", "--cacert"])
        .arg(&ca)
        .args([&url, &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello tlshello tls");
    let out = Command::new("curl")
        .args(["-sS", "--noproxy", "*", "-H", "transfer-encoding: chunked"])
        .args(["--data-binary", "chunked body", "--cacert"])
        .arg(&ca)
        .arg(&echo)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "chunked body");
    // Without the CA, curl refuses the certificate (exit 60).
    let out = Command::new("curl")
        .args(["-sS", "--noproxy", "*", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(60), "{out:?}");
    let _ = std::fs::remove_file(ca);
    handle.stop(Duration::from_secs(5));
}

#[test]
fn wss_with_green_client() {
    use green::websocket::{self, Config, Message};
    let pki = pki();
    let (addr, handle) = https_server(&pki);
    let config = Config::new()
        .tls_connector(TlsConnector::with_root_certificates_pem(pki.ca.as_bytes()).unwrap());
    let url = format!("wss://localhost:{}/ws", addr.port());
    let mut ws = websocket::connect_with(&url, config).unwrap();
    // A sender greenlet while this one reads: both directions of the
    // TLS session at once.
    let tx = ws.sender();
    let pusher = green::thread::spawn(move || {
        for i in 0..200 {
            tx.send(format!("m{i} {}", "p".repeat(i * 50))).unwrap();
        }
    });
    for i in 0..200 {
        let m = ws.read().unwrap().into_text().unwrap();
        assert_eq!(m.as_str(), format!("m{i} {}", "p".repeat(i * 50)));
    }
    pusher.join().unwrap();
    ws.send(Message::binary(vec![7u8; 100_000])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![7u8; 100_000]));
    ws.close(None).unwrap();
    assert!(ws.read().unwrap().is_close());
    // Without the CA the certificate is refused.
    assert!(websocket::connect(&url).is_err());
    handle.stop(Duration::from_secs(5));
}

//! TLS (feature `tls`): green's client against a rustls server built with
//! `green::http::tls::TlsAcceptor` (certificates made by rcgen), and the
//! acceptor against clients nobody here wrote: curl `--cacert` and Python
//! `requests` with `verify=` (each skipped, with a message, where absent).
//! All traffic stays on 127.0.0.1.

#![cfg(feature = "tls")]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::http::client::{Client, ErrorKind, StatusCode};
use green::http::tls::{TlsAcceptor, TlsConnector, TlsStream};
use green::net::{TcpListener, TcpStream};

#[path = "util/pki.rs"]
mod pki;
use pki::{Pki, pki};

/// An HTTPS server on its own OS thread (its own hub), one greenlet per
/// connection, keep-alive; answers `hello tls`. Returns its address and
/// its count of accepted TCP connections.
fn https_server(acceptor: TlsAcceptor) -> (SocketAddr, Arc<AtomicUsize>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        tx.send(listener.local_addr().unwrap()).unwrap();
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            green::thread::spawn(move || {
                if let Ok(tls) = acceptor.accept(conn) {
                    let _ = serve(tls);
                }
            });
        }
    });
    (rx.recv().unwrap(), accepted)
}

fn serve(tls: TlsStream) -> io::Result<()> {
    let mut reader = BufReader::new(tls);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut close = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            if h.trim_end().is_empty() {
                break;
            }
            close |= h.to_ascii_lowercase().starts_with("connection: close");
        }
        let out = reader.get_mut();
        out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Type: text/plain\r\n\r\nhello tls",
        )?;
        out.flush()?;
        if close {
            return out.shutdown(std::net::Shutdown::Write);
        }
    }
}

fn acceptor(pki: &Pki) -> TlsAcceptor {
    TlsAcceptor::from_pem(pki.cert.as_bytes(), pki.key.as_bytes()).unwrap()
}

#[test]
fn green_client_over_tls_with_keep_alive() {
    let pki = pki();
    let (addr, accepted) = https_server(acceptor(&pki));
    let client = Client::builder()
        .tls_connector(TlsConnector::with_root_certificates_pem(pki.ca.as_bytes()).unwrap())
        .build();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{}/hello", addr.port());
        for _ in 0..5 {
            let resp = client.get(&url).send().unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(resp.text().unwrap(), "hello tls");
        }
    }
    // One kept-alive TLS connection per host name (the pool's key).
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let pki = pki();
    let (addr, _) = https_server(acceptor(&pki));
    // Mozilla's roots do not include the test CA.
    let err = green::http::get(&format!("https://localhost:{}/", addr.port())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");

    // A trusted CA, but a name the certificate does not carry.
    let connector = TlsConnector::with_root_certificates_pem(pki.ca.as_bytes()).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    let err = connector.connect("example.com", tcp).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
}

#[test]
fn tls_stream_both_sides() {
    let pki = pki();
    let acceptor = acceptor(&pki);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = green::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut tls = acceptor.accept(conn).unwrap();
        assert_eq!(tls.server_name(), Some("localhost"));
        assert!(!tls.is_client());
        let mut buf = [0; 5];
        tls.read_exact(&mut buf).unwrap();
        tls.write_all(&buf).unwrap();
        tls.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let connector = TlsConnector::with_root_certificates_pem(pki.ca.as_bytes()).unwrap();
    let mut tls = connector
        .connect("localhost", TcpStream::connect(addr).unwrap())
        .unwrap();
    assert!(tls.is_client());
    assert!(tls.protocol_version().is_some());
    tls.write_all(b"green").unwrap();
    let mut echoed = Vec::new();
    tls.read_to_end(&mut echoed).unwrap();
    assert_eq!(echoed, b"green");
    server.join().unwrap();
}

#[test]
fn the_handshake_has_a_deadline_and_plain_http_is_refused() {
    let pki = pki();
    let acceptor = acceptor(&pki).handshake_timeout(Some(Duration::from_millis(200)));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();

    // A client that connects and says nothing.
    let _silent = TcpStream::connect(addr).unwrap();
    let (conn, _) = listener.accept().unwrap();
    let t0 = Instant::now();
    let err = acceptor.accept(conn).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(t0.elapsed() < Duration::from_secs(3));

    // A plain HTTP request to the TLS port.
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (conn, _) = listener.accept().unwrap();
    let err = acceptor.accept(conn).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");

    assert!(TlsAcceptor::from_pem(b"not pem", pki.key.as_bytes()).is_err());
    assert!(TlsAcceptor::from_pem(pki.cert.as_bytes(), b"").is_err());
}

fn write_ca(pki: &Pki, tag: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("green-{tag}-{}.pem", std::process::id()));
    std::fs::write(&path, &pki.ca).unwrap();
    path
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
        eprintln!("SKIPPED curl_with_cacert: curl is not installed");
        return;
    }
    let pki = pki();
    let (addr, accepted) = https_server(acceptor(&pki));
    let ca = write_ca(&pki, "curl");
    let url = format!("https://localhost:{}/hello", addr.port());
    // Two URLs in one curl run: the second rides the kept-alive connection.
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
    assert_eq!(accepted.load(Ordering::SeqCst), 1);

    // Without the CA, curl refuses the certificate (exit 60).
    let out = Command::new("curl")
        .args(["-sS", "--noproxy", "*", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(60), "{out:?}");
    let _ = std::fs::remove_file(ca);
}

#[test]
fn python_requests_with_verify() {
    if !have("python3", &["-c", "import requests"]) {
        eprintln!("SKIPPED python_requests_with_verify: python3 with requests is not installed");
        return;
    }
    let pki = pki();
    let (addr, _) = https_server(acceptor(&pki));
    let ca = write_ca(&pki, "requests");
    let script = "import sys, requests\n\
                  s = requests.Session()\n\
                  s.trust_env = False\n\
                  for _ in range(3):\n\
                  \x20   r = s.get(sys.argv[1], verify=sys.argv[2], timeout=10)\n\
                  \x20   print(r.status_code, r.text)\n\
                  try:\n\
                  \x20   requests.Session().get(sys.argv[1], timeout=10)\n\
                  \x20   print('unverified: accepted')\n\
                  except requests.exceptions.SSLError:\n\
                  \x20   print('unverified: refused')\n";
    let url = format!("https://localhost:{}/hello", addr.port());
    let out = Command::new("python3")
        .args(["-c", script, &url])
        .arg(&ca)
        .env("NO_PROXY", "*")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200 hello tls\n200 hello tls\n200 hello tls\nunverified: refused\n"
    );
    let _ = std::fs::remove_file(ca);
}

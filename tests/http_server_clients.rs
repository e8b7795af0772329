//! green::http::server with clients nobody here wrote: curl (keep-alive,
//! chunked upload, `Expect: 100-continue`), Python's `requests` and
//! `http.client`, and wrk. Each test skips, saying so, when its client is
//! not installed.

mod http_server_common;

use std::io::Write;
use std::process::Command;

use green::http::server::{Body, Request, Response};
use http_server_common::{TestServer, curl_session, have, skip, start};

/// `/upload` answers the body's length and its first bytes; other paths
/// answer their method and path.
fn app(req: Request<Body>) -> Response<Body> {
    if req.uri().path() == "/upload" {
        let b = req.into_body().into_bytes().unwrap_or_default();
        let head = String::from_utf8_lossy(&b[..b.len().min(10)]).into_owned();
        return Response::new(Body::from(format!("{} {head}", b.len())));
    }
    if req.uri().path() == "/stream" {
        return Response::new(Body::stream(|w| {
            for i in 0..3 {
                write!(w, "chunk{i};")?;
                w.flush()?;
            }
            Ok(())
        }));
    }
    Response::new(Body::from(format!("{} {}", req.method(), req.uri().path())))
}

fn server() -> TestServer {
    start(|s| s, app)
}

#[test]
fn curl_keep_alive_chunked_upload_and_expect() {
    let srv = server();
    let base = format!("http://{}", srv.addr);
    // Two URLs on one connection, a chunked upload, a chunked response.
    if !curl_session(&base) {
        return;
    }

    // Expect: 100-continue (curl sends it for a large body and waits).
    let mut child = Command::new("curl")
        .args([
            "-sv",
            "--expect100-timeout",
            "10",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            "@-",
            &format!("{base}/upload"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("y".repeat(2_000_000).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP/1.1 100 Continue"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2000000 yyyyyyyyyy");
}

#[test]
fn python_requests() {
    let srv = server();
    http_server_common::python_requests(srv.addr);
}

const PY_HTTP_CLIENT: &str = r#"
import sys, http.client
host, port = sys.argv[1].rsplit(":", 1)
c = http.client.HTTPConnection(host, int(port), timeout=10)
for i in range(20):
    c.request("GET", f"/c{i}")
    r = c.getresponse()
    assert r.status == 200 and r.read() == f"GET /c{i}".encode()
c.request("POST", "/upload", body=iter([b"a" * 500, b"b" * 500]), encode_chunked=True)
r = c.getresponse()
assert r.read() == b"1000 aaaaaaaaaa"
c.request("PUT", "/upload", body=b"p" * 7, headers={"Expect": "100-continue"})
r = c.getresponse()
assert r.read() == b"7 ppppppp"
c.request("GET", "/stream")
r = c.getresponse()
assert r.read() == b"chunk0;chunk1;chunk2;" and r.chunked
c.close()
# HTTP/1.0.
http.client.HTTPConnection._http_vsn = 10
http.client.HTTPConnection._http_vsn_str = "HTTP/1.0"
c = http.client.HTTPConnection(host, int(port), timeout=10)
c.request("GET", "/ten")
r = c.getresponse()
assert r.read() == b"GET /ten"
print("ok")
"#;

#[test]
fn python_http_client() {
    if !have("python3", "--version") {
        return skip("python3");
    }
    let srv = server();
    let out = Command::new("python3")
        .args(["-c", PY_HTTP_CLIENT, &srv.addr.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout == b"ok\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn wrk() {
    if !have("wrk", "--version") && Command::new("wrk").output().is_err() {
        return skip("wrk (apt-get install -y wrk)");
    }
    let srv = server();
    let out = Command::new("wrk")
        .args(["-t1", "-c20", "-d1s", &format!("http://{}/", srv.addr)])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let requests: u64 = stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .split(" requests in")
                .next()
                .filter(|_| l.contains(" requests in"))
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(requests > 1000, "{stdout}");
    assert!(!stdout.contains("Non-2xx"), "{stdout}");
    assert!(!stdout.contains("Socket errors"), "{stdout}");
}

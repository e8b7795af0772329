//! green::http::server with clients nobody here wrote: curl (keep-alive,
//! chunked upload, `Expect: 100-continue`), Python's `requests` and
//! `http.client`, and wrk. Each test skips, saying so, when its client is
//! not installed.

mod http_server_common;

use std::io::Write;
use std::process::Command;

use green::http::server::{Body, Request, Response};
use http_server_common::{TestServer, start};

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

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip(what: &str) {
    eprintln!("SKIPPED: {what} is not installed; this test needs it");
}

fn server() -> TestServer {
    start(|s| s, app)
}

#[test]
fn curl_keep_alive_chunked_upload_and_expect() {
    if !have("curl", "--version") {
        return skip("curl");
    }
    let srv = server();
    let base = format!("http://{}", srv.addr);
    // Two URLs, one connection.
    let out = Command::new("curl")
        .args(["-sv", &format!("{base}/a"), &format!("{base}/b")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout, "GET /aGET /b");
    assert!(stderr.contains("Re-using existing connection"), "{stderr}");

    // A chunked upload from stdin.
    let data = "x".repeat(100_000);
    let mut child = Command::new("curl")
        .args([
            "-s",
            "-T",
            "-",
            "-H",
            "Transfer-Encoding: chunked",
            &format!("{base}/upload"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "100000 xxxxxxxxxx");

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

    // A chunked response.
    let out = Command::new("curl")
        .args(["-s", &format!("{base}/stream")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "chunk0;chunk1;chunk2;"
    );
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

#[test]
fn python_requests() {
    if !Command::new("python3")
        .args(["-c", "import requests"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return skip("python3 with `requests`");
    }
    let srv = server();
    let out = Command::new("python3")
        .args(["-c", PY_REQUESTS, &format!("http://{}", srv.addr)])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout == b"ok\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

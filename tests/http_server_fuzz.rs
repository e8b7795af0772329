//! green::http::server under random input: thousands of mutated valid
//! requests and random bytes, from several client threads at once, to a
//! server with an ordinary handler and then to one with a raw handler. No
//! panic anywhere, every connection ends (no greenlet stuck), every answer
//! is a well-formed response with an expected status, and the server
//! serves normally afterwards.
//!
//! The seed is printed; `GREEN_HTTP_FUZZ_SEED=N` replays a run and
//! `GREEN_HTTP_FUZZ_CASES=N` sets its size (default 4000).

mod http_server_common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::http::server::{Body, RawRequest, RawResponse, Request, Response, Server};
use http_server_common::{TestServer, get, roundtrip, start, start_raw};

/// xorshift64*: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const VALID: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /a/b?c=d HTTP/1.1\r\nHost: t\r\nAccept: */*\r\nUser-Agent: fuzz\r\n\r\n",
    b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\n\r\nPOST /3 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok",
    b"GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
];

const TOKENS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b" ",
    b"/",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/9.9",
    b"\r\n",
    b"\n",
    b"\r",
    b"\0",
    b":",
    b"Host",
    b"Content-Length",
    b"Transfer-Encoding",
    b"chunked",
    b"0",
    b"5",
    b"ffffffffffffffffff",
    b"99999999999999999999",
    b"-1",
    b";",
    b",",
    b"Expect",
    b"100-continue",
    b"Connection",
    b"close",
    b"keep-alive",
    b"\t",
    b"\xff",
    b"\x7f",
];

fn mutate(rng: &mut Rng, mut v: Vec<u8>) -> Vec<u8> {
    for _ in 0..=rng.below(4) {
        let len = v.len().max(1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len).min(v.len());
                v.insert(i, *rng.pick(b"\0\r\n: \t;,0a\xff"));
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            3 => {
                let i = rng.below(len).min(v.len());
                let t = rng.pick(TOKENS).to_vec();
                v.splice(i..i, t);
            }
            4 => v.truncate(rng.below(len)),
            5 if v.len() > 2 => {
                let a = rng.below(v.len());
                let b = (a + rng.below(64)).min(v.len());
                let seg = v[a..b].to_vec();
                let at = rng.below(v.len());
                v.splice(at..at, seg);
            }
            _ => {
                let other = rng.pick(VALID).to_vec();
                v.extend(other);
            }
        }
    }
    v
}

fn case(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 | 1 => {
            let base = rng.pick(VALID).to_vec();
            mutate(rng, base)
        }
        2 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        _ => {
            let mut v = Vec::new();
            for _ in 0..rng.below(40) {
                let t = rng.pick::<&[u8]>(TOKENS);
                v.extend_from_slice(t);
            }
            v
        }
    }
}

fn app(req: Request<Body>) -> Response<Body> {
    if req.uri().path() == "/stream" {
        return Response::new(Body::stream(|w| w.write_all(b"streamed")));
    }
    let n = req.into_body().into_bytes().map_or(0, |b| b.len());
    Response::new(Body::from(format!("ok {n}")))
}

/// [`app`] as a raw handler.
fn raw_app(req: &mut RawRequest<'_>, res: &mut RawResponse<'_>) {
    if req.path() == "/stream" {
        let _ = res.write_all(b"streamed");
        return;
    }
    let mut b = Vec::new();
    let n = req.body().read_to_end(&mut b).map_or(0, |_| b.len());
    res.body(format!("ok {n}").as_bytes());
}

/// The fuzzed server's settings: small limits and short timeouts.
fn limits(s: Server) -> Server {
    s.max_header_bytes(2048)
        .max_body_bytes(4096)
        .header_read_timeout(Duration::from_millis(500))
        .keep_alive_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(500))
}

const STATUSES: &[u16] = &[100, 200, 400, 408, 413, 417, 431, 501, 505];

/// Sends one case (then half-closes, if asked) and checks what comes back;
/// an error message on failure.
fn run_case(addr: SocketAddr, bytes: &[u8], half_close: bool) -> Result<(), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    if half_close {
        let _ = s.shutdown(Shutdown::Write);
    }
    let mut out = Vec::new();
    let t0 = Instant::now();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => return Err(format!("no end after {:?}: {e}", t0.elapsed())),
    }
    // Every response head in the output is well formed with a known
    // status (bodies are skipped by looking for the next status line).
    let mut rest = &out[..];
    while !rest.is_empty() {
        let mut hs = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut hs);
        match r.parse(rest) {
            Ok(httparse::Status::Complete(n)) => {
                let code = r.code.unwrap();
                if !STATUSES.contains(&code) {
                    return Err(format!("unexpected status {code}"));
                }
                rest = &rest[n..];
                match rest.windows(9).position(|w| w == b"HTTP/1.1 ") {
                    Some(p) => rest = &rest[p..],
                    None => break,
                }
            }
            Ok(httparse::Status::Partial) => return Err("truncated response head".into()),
            Err(e) => return Err(format!("malformed response: {e}")),
        }
    }
    Ok(())
}

#[test]
fn random_requests_never_panic_or_hang() {
    let seed: u64 = std::env::var("GREEN_HTTP_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let cases: usize = std::env::var("GREEN_HTTP_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000);
    eprintln!("http_server_fuzz: seed {seed} ({cases} cases; GREEN_HTTP_FUZZ_SEED={seed} replays)");

    // One test, the two servers one after the other: the panic hook is
    // the process's.
    let panics = Arc::new(AtomicUsize::new(0));
    let srv = start(limits, app);
    // Installed after the runtime's own hook, so it sees every panic.
    let prev = std::panic::take_hook();
    let counter = panics.clone();
    std::panic::set_hook(Box::new(move |info| {
        if !green::thread::is_greenlet_exit(info.payload()) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        prev(info);
    }));
    fuzz(srv, "ordinary", seed, cases, &panics);
    fuzz(start_raw(limits, raw_app), "raw", seed, cases, &panics);
    let _ = std::panic::take_hook();
}

/// Sends `cases` random cases to `srv` from several threads, then checks
/// that nothing panicked, every connection ended and the server still
/// serves and stops cleanly.
fn fuzz(srv: TestServer, name: &str, seed: u64, cases: usize, panics: &AtomicUsize) {
    let threads = 8;
    let failures: Vec<String> = (0..threads)
        .map(|t| {
            let addr = srv.addr;
            let mut rng = Rng(seed ^ (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for i in 0..cases / threads {
                    let bytes = case(&mut rng);
                    // One case in 64 keeps its write side open: the server's
                    // timeouts must end it.
                    if let Err(e) = run_case(addr, &bytes, i % 64 != 0) {
                        failures.push(format!(
                            "thread {t} case {i}: {e}; input {:?}",
                            String::from_utf8_lossy(&bytes)
                        ));
                    }
                }
                failures
            })
        })
        .flat_map(|h| h.join().unwrap())
        .collect();

    // Every connection's greenlet ends.
    let t0 = Instant::now();
    while srv.handle.connections() > 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = srv.handle.connections();
    let served = roundtrip(srv.addr, &get("/after")).map(|r| r.status);
    assert!(
        failures.is_empty(),
        "{name}, seed {seed}: {} failures: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "{name}, seed {seed}: panics"
    );
    assert_eq!(left, 0, "{name}, seed {seed}: connections left open");
    assert_eq!(
        served.ok(),
        Some(200),
        "{name}, seed {seed}: not serving after"
    );
    assert!(
        srv.stop(Duration::from_secs(2)),
        "{name}, seed {seed}: stop not clean"
    );
}

//! A small web application in the style of the gevent and eventlet WSGI
//! examples: a few routes, a form POST, a streamed response, a counter
//! shared by every request.
//!
//! ```text
//! cargo run --example wsgi -- 127.0.0.1:8000
//! curl http://127.0.0.1:8000/hello/world
//! curl -d 'name=Ada&lang=Rust' http://127.0.0.1:8000/form
//! curl -N http://127.0.0.1:8000/stream
//! curl -N 'http://127.0.0.1:8000/slow?ms=5000'   # then Ctrl-C the server
//! ```
//!
//! gevent's version is `WSGIServer(('127.0.0.1', 8000), application)
//! .serve_forever()`; eventlet's is `wsgi.server(eventlet.listen(('127.0.0.1',
//! 8000)), application)`. Here the application is an ordinary function from
//! a request to a response, and `std::thread::sleep` in the streamed
//! response is a green sleep: other requests go on meanwhile.
//!
//! Ctrl-C or SIGTERM stops it gracefully: no new connections, the
//! requests in flight (a `/slow` one, say) finish within 10 s, exit 0.

// ANCHOR: app
use std::env;
use std::io::{self, Read};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use green::http::server::{
    Body, Method, Request, Response, Server, ServerHandle, StatusCode, header,
};
use green::signal::{SIGINT, SIGTERM, Signals, signal_name};

static VISITS: Mutex<u64> = Mutex::new(0);

// ANCHOR: routes
fn application(req: Request<Body>) -> Response<Body> {
    *VISITS.lock().unwrap() += 1;
    let path = req.uri().path().to_string();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/") => html(
            "<h1>green</h1><form method=post action=/form>\
             <input name=name><input name=lang><button>send</button></form>",
        ),
        (&Method::GET, p) if p.starts_with("/hello/") => {
            text(format!("Hello, {}!\n", &p["/hello/".len()..]))
        }
        (&Method::POST, "/form") => form(req),
        (&Method::GET, "/stream") => Response::new(Body::stream(|w| {
            // WSGI's generator response: each part leaves as a chunk.
            for i in 1..=5 {
                writeln!(w, "tick {i}")?;
                w.flush()?;
                thread::sleep(Duration::from_millis(200));
            }
            Ok(())
        })),
        (&Method::GET, "/visits") => text(format!("{}\n", VISITS.lock().unwrap())),
        (&Method::GET, "/slow") => slow(&req),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("not found\n"))
            .unwrap(),
    }
}

// ANCHOR_END: routes

// ANCHOR: form
/// A form POST (`application/x-www-form-urlencoded`), read from the body.
fn form(req: Request<Body>) -> Response<Body> {
    let mut raw = String::new();
    if req
        .into_body()
        .take(64 * 1024)
        .read_to_string(&mut raw)
        .is_err()
    {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Body::from("bad form\n"))
            .unwrap();
    }
    let mut out = String::from("You sent:\n");
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push_str(&format!("  {} = {}\n", decode(k), decode(v)));
    }
    text(out)
}

// ANCHOR_END: form

/// `/slow?ms=N`: a request that takes N ms (at most a minute). The first
/// line leaves at once, so a client knows the request is in flight.
fn slow(req: &Request<Body>) -> Response<Body> {
    let ms: u64 = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("ms=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
        .min(60_000);
    Response::new(Body::stream(move |w| {
        w.write_all(format!("working for {ms} ms\n").as_bytes())?;
        w.flush()?;
        thread::sleep(Duration::from_millis(ms));
        w.write_all(b"done\n")
    }))
}

/// Decodes `+` and `%XX` of a form field.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(c) => {
                        out.push(c);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text(s: impl Into<String>) -> Response<Body> {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(s.into()))
        .unwrap()
}

fn html(s: &'static str) -> Response<Body> {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(s))
        .unwrap()
}

// ANCHOR: main
#[green::main]
fn main() -> io::Result<()> {
    let addr = env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_string());
    let server = Server::bind(&addr)?.access_log(true);
    eprintln!("wsgi: serving on http://{}", server.local_addr());
    stop_on_signals(server.handle())?;
    server.serve_forever(application)
}
// ANCHOR_END: main

/// On SIGINT or SIGTERM, stops the server gracefully (as in
/// `examples/http_hello.rs`).
fn stop_on_signals(server: ServerHandle) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    thread::spawn(move || {
        let Ok(sig) = signals.wait() else { return };
        drop(signals);
        eprintln!("wsgi: {}, stopping", signal_name(sig).unwrap_or("signal"));
        if !server.stop(Duration::from_secs(10)) {
            eprintln!("wsgi: cut the connections still open after 10 s");
        }
    });
    Ok(())
}
// ANCHOR_END: app

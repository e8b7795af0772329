//! Hello, World over HTTP/1.1: `Hello, World!` (text/plain) to a GET on
//! any path, keep-alive. Ctrl-C or SIGTERM stops it gracefully: it stops
//! accepting, lets the requests in flight finish (for up to 10 s) and
//! exits 0; a second Ctrl-C meanwhile ends it at once.
//!
//! ```text
//! cargo run --release --example http_hello -- 127.0.0.1:8000
//! curl -i http://127.0.0.1:8000/
//! ```
//!
//! gevent's `WSGIServer(('127.0.0.1', 8000), app).serve_forever()`;
//! `scripts/bench-http.sh` measures it against hyper, actix-web and
//! may_minihttp.

// ANCHOR: main
use std::env;
use std::io;
use std::thread;
use std::time::Duration;

use green::http::server::{
    Body, Method, Request, Response, Server, ServerHandle, StatusCode, header,
};
use green::signal::{SIGINT, SIGTERM, Signals, signal_name};

fn hello(req: Request<Body>) -> Response<&'static str> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "GET, HEAD")
            .body("")
            .unwrap();
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain")
        .body("Hello, World!")
        .unwrap()
}

#[green::main]
fn main() -> io::Result<()> {
    let addr = env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_string());
    let server = Server::bind(&addr)?;
    eprintln!("http_hello: listening on http://{}", server.local_addr());
    stop_on_signals(server.handle())?;
    server.serve_forever(hello)
}
// ANCHOR_END: main

// ANCHOR: signals
/// On SIGINT or SIGTERM, stops the server gracefully; `serve_forever`
/// then returns and `main` with it.
fn stop_on_signals(server: ServerHandle) -> io::Result<()> {
    // Subscribed now, before serving: from here on the signals wait for
    // this greenlet instead of ending the process.
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    thread::spawn(move || {
        let Ok(sig) = signals.wait() else { return };
        // Unsubscribed: a second Ctrl-C takes the default action again.
        drop(signals);
        eprintln!(
            "http_hello: {}, stopping",
            signal_name(sig).unwrap_or("signal")
        );
        if !server.stop(Duration::from_secs(10)) {
            eprintln!("http_hello: cut the connections still open after 10 s");
        }
    });
    Ok(())
}
// ANCHOR_END: signals

//! Hello, World over HTTP/1.1: `Hello, World!` (text/plain) to a GET on
//! any path, keep-alive; serves until killed.
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

use green::http::server::{Body, Method, Request, Response, Server, StatusCode, header};

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
    server.serve_forever(hello)
}
// ANCHOR_END: main

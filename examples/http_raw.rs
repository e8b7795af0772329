//! A hot endpoint through the raw handler API: `Hello, World!` on
//! `/plaintext` (TechEmpower's plaintext test), a streamed echo of a POST
//! body on `/echo`, 404 elsewhere. The request head is borrowed from the
//! connection's read buffer and the response is written straight into its
//! write buffer: no `http::Request`, `HeaderMap` or `http::Response` per
//! request. The ordinary handler (examples/http_hello.rs) stays the
//! recommended API; this one is for the few endpoints where a request's
//! cost matters.
//!
//! ```text
//! cargo run --release --example http_raw -- 127.0.0.1:8000
//! curl -i http://127.0.0.1:8000/plaintext
//! curl --data-binary @Cargo.toml http://127.0.0.1:8000/echo
//! ```

// ANCHOR: main
use std::env;
use std::io::{self, Read, Write};

use green::http::server::{HeaderValue, RawRequest, RawResponse, Server, StatusCode, header};

/// A header value made once (checked at compile time), for the hot path.
const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain");

fn app(req: &mut RawRequest<'_>, res: &mut RawResponse<'_>) {
    match (req.method(), req.path()) {
        ("GET" | "HEAD", "/plaintext") => {
            // Status 200 unless set; then headers; then the whole body
            // (the server adds Date, Content-Length and Connection).
            // A header made beforehand (`typed_header`) is not checked
            // again; `header` checks a name and value given as text.
            res.typed_header(&header::CONTENT_TYPE, &TEXT_PLAIN);
            res.body(b"Hello, World!");
        }
        ("POST", "/echo") => {
            // The request body streams in (`Read`); the response body
            // streams out (`Write`), chunked as its length is not given.
            res.header(
                "content-type",
                req.header("content-type").unwrap_or(b"text/plain"),
            );
            let mut buf = [0u8; 8192];
            loop {
                match req.body().read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if res.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        }
        _ => {
            res.status(StatusCode::NOT_FOUND);
            res.body(b"not found\n");
        }
    }
}

#[green::main]
fn main() -> io::Result<()> {
    let addr = env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_string());
    let server = Server::bind(&addr)?;
    eprintln!("http_raw: listening on http://{}", server.local_addr());
    server.serve_raw_forever(app)
}
// ANCHOR_END: main

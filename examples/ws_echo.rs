//! A WebSocket echo server: every text and binary message comes back, on
//! any path; serves until killed. gevent-websocket's
//! `ws = environ['wsgi.websocket']; while True: ws.send(ws.receive())`.
//!
//! ```text
//! cargo run --release --example ws_echo -- 127.0.0.1:8001
//! python3 -m websockets ws://127.0.0.1:8001/
//! ```

// ANCHOR: main
use std::env;
use std::io;

use green::http::server::{Body, Request, Response, Server};
use green::websocket::{self, Message, WebSocket};

fn echo(mut ws: WebSocket) {
    while let Ok(msg) = ws.read() {
        match msg {
            Message::Text(_) | Message::Binary(_) => {
                if ws.send(msg).is_err() {
                    break;
                }
            }
            // The peer closed (the reply has gone): done.
            _ => break,
        }
    }
}

fn app(req: Request<Body>) -> Response<Body> {
    websocket::accept(&req, echo)
}

#[green::main]
fn main() -> io::Result<()> {
    let addr = env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8001".to_string());
    let server = Server::bind(&addr)?;
    eprintln!("ws_echo: listening on ws://{}", server.local_addr());
    server.serve_forever(app)
}
// ANCHOR_END: main

//! A WebSocket echo server: every text and binary message comes back, on
//! any path. gevent-websocket's
//! `ws = environ['wsgi.websocket']; while True: ws.send(ws.receive())`.
//! Ctrl-C or SIGTERM stops it gracefully: no new connections, a close
//! "going away" (1001) to each client, then exit 0 once they have
//! answered (or after 10 s).
//!
//! ```text
//! cargo run --release --example ws_echo -- 127.0.0.1:8001
//! python3 -m websockets ws://127.0.0.1:8001/
//! ```

// ANCHOR: main
use std::collections::BTreeMap;
use std::env;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use green::http::server::{Body, Request, Response, Server, ServerHandle};
use green::signal::{SIGINT, SIGTERM, Signals, signal_name};
use green::websocket::{self, CloseCode, CloseFrame, Message, Sender, WebSocket};

/// The open connections, to say "going away" to each when stopping.
static OPEN: Mutex<BTreeMap<u64, Sender>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static STOPPING: AtomicBool = AtomicBool::new(false);

fn echo(mut ws: WebSocket) {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    {
        let mut open = OPEN.lock().unwrap();
        if STOPPING.load(Ordering::SeqCst) {
            let _ = ws.close(Some(going_away()));
            return;
        }
        open.insert(id, ws.sender());
    }
    while let Ok(msg) = ws.read() {
        match msg {
            Message::Text(_) | Message::Binary(_) => {
                if ws.send(msg).is_err() {
                    break;
                }
            }
            // The peer closed (the reply has gone), or answered ours: done.
            _ => break,
        }
    }
    OPEN.lock().unwrap().remove(&id);
}

fn going_away() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Away,
        reason: "server stopping".into(),
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
    stop_on_signals(server.handle())?;
    server.serve_forever(app)
}

/// On SIGINT or SIGTERM: no new connections, a close to each open one,
/// then `serve_forever` returns once they are done.
fn stop_on_signals(server: ServerHandle) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    thread::spawn(move || {
        let Ok(sig) = signals.wait() else { return };
        drop(signals);
        eprintln!(
            "ws_echo: {}, stopping",
            signal_name(sig).unwrap_or("signal")
        );
        let open = {
            let mut open = OPEN.lock().unwrap();
            STOPPING.store(true, Ordering::SeqCst);
            std::mem::take(&mut *open)
        };
        for (_, socket) in open {
            // Each in its own greenlet: a client that does not read must
            // not hold up the others.
            thread::spawn(move || {
                let _ = socket.close(Some(going_away()));
            });
        }
        if !server.stop(Duration::from_secs(10)) {
            eprintln!("ws_echo: cut the connections still open after 10 s");
        }
    });
    Ok(())
}
// ANCHOR_END: main

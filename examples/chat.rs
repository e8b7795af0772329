//! A browser chat: `/` serves the page (examples/chat.html), `/ws` is the
//! WebSocket. Each text message a client sends goes to every connected
//! client, the sender included. Each client has a bounded outgoing queue
//! served by its own writer thread (a greenlet); a client whose queue
//! overflows — it stalled, or its network did — is dropped, so it never
//! holds up the others. An ordinary program: std's threads, channels and
//! mutexes, made green by `#[green::main]`. Ctrl-C or SIGTERM stops it
//! gracefully: no new clients, each client's queue goes out, then a close
//! "going away" (1001); exit 0 once they have answered (or after 10 s).
//!
//! ```text
//! cargo run --release --example chat -- 127.0.0.1:8002
//! # open http://127.0.0.1:8002/ in two browser windows
//! ```

// ANCHOR: main
use std::collections::HashMap;
use std::env;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use green::http::server::{Body, Request, Response, Server, ServerHandle, StatusCode, header};
use green::signal::{SIGINT, SIGTERM, Signals, signal_name};
use green::websocket::{self, CloseCode, CloseFrame, Message, Sender, Utf8Bytes, WebSocket};

/// Messages a client may have waiting before it is dropped.
const QUEUE: usize = 256;

const PAGE: &str = include_str!("chat.html");

/// A connected client: its queue, and its socket to drop it at once.
struct Client {
    queue: SyncSender<Utf8Bytes>,
    socket: Sender,
}

struct Room {
    /// `None` once the server is stopping.
    clients: Mutex<Option<HashMap<u64, Client>>>,
    next_id: AtomicU64,
}

impl Room {
    fn new() -> Room {
        Room {
            clients: Mutex::new(Some(HashMap::new())),
            next_id: AtomicU64::new(0),
        }
    }

    /// `None` if the server is stopping.
    fn join(&self, client: Client) -> Option<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.clients.lock().unwrap().as_mut()?.insert(id, client);
        Some(id)
    }

    fn leave(&self, id: u64) {
        if let Some(clients) = self.clients.lock().unwrap().as_mut() {
            clients.remove(&id);
        }
    }

    /// The server is stopping: every client's queue is dropped, so its
    /// writer sends what is queued, then a close "going away".
    fn close(&self) {
        self.clients.lock().unwrap().take();
    }

    fn is_closed(&self) -> bool {
        self.clients.lock().unwrap().is_none()
    }

    /// Queues `text` for everyone; never waits for a client.
    fn broadcast(&self, text: Utf8Bytes) {
        let mut clients = self.clients.lock().unwrap();
        let Some(clients) = clients.as_mut() else {
            return;
        };
        clients.retain(|_, c| match c.queue.try_send(text.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                // Too slow: drop it now (its writer and reader fail).
                let _ = c.socket.shutdown();
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
    }
}

/// One client's connection: a writer thread drains its queue while this
/// thread reads its messages.
fn chat(room: Arc<Room>, mut ws: WebSocket) {
    let (queue, outgoing) = mpsc::sync_channel::<Utf8Bytes>(QUEUE);
    let socket = ws.sender();
    let Some(id) = room.join(Client {
        queue,
        socket: socket.clone(),
    }) else {
        let _ = ws.close(Some(going_away()));
        return;
    };
    let writer_room = room.clone();
    let writer = thread::spawn(move || {
        for text in outgoing {
            if socket.send(Message::Text(text)).is_err() {
                return;
            }
        }
        // Dropped from the room while still open: say why.
        let frame = if writer_room.is_closed() {
            going_away()
        } else {
            CloseFrame {
                code: CloseCode::Policy,
                reason: "too slow".into(),
            }
        };
        let _ = socket.close(Some(frame));
    });
    while let Ok(msg) = ws.read() {
        match msg {
            Message::Text(text) => room.broadcast(text),
            Message::Close(_) => break,
            _ => {}
        }
    }
    room.leave(id);
    let _ = writer.join();
}

fn app(room: Arc<Room>) -> impl Fn(Request<Body>) -> Response<Body> + Send + Sync + 'static {
    move |req| match req.uri().path() {
        "/" => Response::builder()
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(PAGE.into())
            .unwrap(),
        "/ws" => {
            let room = room.clone();
            websocket::accept(&req, move |ws| chat(room, ws))
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body("not found\n".into())
            .unwrap(),
    }
}

#[green::main]
fn main() -> io::Result<()> {
    let addr = env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8002".to_string());
    let server = Server::bind(&addr)?;
    eprintln!("chat: open http://{}/", server.local_addr());
    let room = Arc::new(Room::new());
    stop_on_signals(server.handle(), room.clone())?;
    server.serve_forever(app(room))
}

fn going_away() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Away,
        reason: "server stopping".into(),
    }
}

// ANCHOR: stop
/// On SIGINT or SIGTERM: no new clients, a close to each one, then
/// `serve_forever` returns once they are done.
fn stop_on_signals(server: ServerHandle, room: Arc<Room>) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    thread::spawn(move || {
        let Ok(sig) = signals.wait() else { return };
        drop(signals);
        eprintln!("chat: {}, stopping", signal_name(sig).unwrap_or("signal"));
        room.close();
        if !server.stop(Duration::from_secs(10)) {
            eprintln!("chat: cut the connections still open after 10 s");
        }
    });
    Ok(())
}
// ANCHOR_END: stop
// ANCHOR_END: main

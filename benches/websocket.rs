//! The WebSocket figures of issue 13, side by side in one run:
//!
//! - **echo**: 50 connections, each sending a 64-byte text message and
//!   waiting for its echo, for a fixed time. Servers: green (the code of
//!   examples/ws_echo.rs), tokio-tungstenite on a current_thread runtime,
//!   and tungstenite with one std OS thread per client. The figure is the
//!   server's user and total (user + system) CPU per message.
//! - **chat**: 1 000 connected clients; one of them sends a message, the
//!   server broadcasts it to all (the sender included), and the time until
//!   the last client has it is taken; 300 broadcasts one after another.
//!   Servers: green (the code of examples/chat.rs: a bounded queue and a
//!   writer greenlet per client) and tokio-tungstenite doing the same (a
//!   bounded tokio channel and a writer task per client). The figures are
//!   the median latency and the server's CPU per delivered message.
//!
//! ```text
//! cargo bench --bench websocket
//! WS_BENCH_SECS=5 WS_BENCH_ROUNDS=3 WS_BENCH_CONNS=50 WS_BENCH_CLIENTS=1000 WS_BENCH_BROADCASTS=300
//! WS_BENCH_ONLY=echo|chat
//! ```
//!
//! The same binary is every server (`websocket serve echo|chat NAME CPU`,
//! which binds 127.0.0.1:0 and prints its address) and the load generator
//! (`websocket echo-load …`, `websocket chat-load …`). Servers are pinned
//! to CPU 0 and the load to CPU 1 with `sched_setaffinity` (what `taskset
//! -c` does), so the two never share a core. The load generator is one
//! tokio current_thread runtime speaking the protocol with prebuilt
//! frames (the handshake written by hand, a fixed mask key), the cheapest
//! client there is, so that the server is the side that saturates; it is
//! the same for every server. It reads the server's CPU from
//! `/proc/PID/stat` (utime, stime) and `/proc/PID/task/*/schedstat`
//! (nanoseconds on CPU) around the measured window only, after the
//! connections are up and warmed.
//!
//! 1 000 clients need more than 1 024 descriptors in each process: the
//! bench raises its soft `RLIMIT_NOFILE` to the hard limit at start
//! (children inherit it).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The payload of every message: 64 bytes of text.
const PAYLOAD: &[u8; 64] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const ECHO_PEERS: &[&str] = &["green", "tokio", "tokio-4k", "threads", "threads-4k"];
/// tungstenite's read buffer in the `-4k` peers: green's setting. By
/// default (128 KiB) tungstenite zero-fills the buffer's spare capacity
/// before every read of the socket (`FrameCodec::read_in`).
const SMALL_READ_BUFFER: usize = 4 * 1024;
const CHAT_PEERS: &[&str] = &["green", "tokio"];

fn main() {
    raise_nofile();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            pin(args[4].parse().expect("cpu"));
            serve(&args[2], &args[3]);
        }
        Some("echo-load") => {
            pin(args[2].parse().expect("cpu"));
            let s = echo_load(
                &args[3],
                args[4].parse().expect("pid"),
                args[5].parse().expect("conns"),
                Duration::from_secs_f64(args[6].parse().expect("secs")),
            );
            println!(
                "{} {} {} {}",
                s.messages, s.user_ticks, s.sys_ticks, s.cpu_ns
            );
        }
        Some("chat-load") => {
            pin(args[2].parse().expect("cpu"));
            let s = chat_load(
                &args[3],
                args[4].parse().expect("pid"),
                args[5].parse().expect("clients"),
                args[6].parse().expect("broadcasts"),
            );
            let lat: Vec<String> = s.latencies_us.iter().map(|l| l.to_string()).collect();
            println!(
                "{} {} {} {} {}",
                s.delivered,
                s.user_ticks,
                s.sys_ticks,
                s.cpu_ns,
                lat.join(",")
            );
        }
        _ => orchestrate(),
    }
}

// ---------------------------------------------------------------- servers

fn serve(kind: &str, name: &str) {
    match (kind, name) {
        ("echo", "green") => echo_green(),
        ("echo", "tokio") => echo_tokio(None),
        ("echo", "tokio-4k") => echo_tokio(Some(SMALL_READ_BUFFER)),
        ("echo", "threads") => echo_threads(None),
        ("echo", "threads-4k") => echo_threads(Some(SMALL_READ_BUFFER)),
        ("chat", "green") => chat_green::serve(),
        ("chat", "tokio") => chat_tokio(),
        _ => panic!("unknown server {kind} {name}"),
    }
}

fn announce(addr: std::net::SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{addr}");
    let _ = out.flush();
}

/// examples/ws_echo.rs, with `#[green::main]` spelled out.
fn echo_green() {
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
                _ => break,
            }
        }
    }

    fn app(req: Request<Body>) -> Response<Body> {
        websocket::accept(&req, echo)
    }

    green::runtime::Builder::new().run(|| {
        let server = Server::bind("127.0.0.1:0").expect("bind");
        announce(server.local_addr());
        server.serve_forever(app).expect("serve");
    });
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// tungstenite's default configuration, or its read buffer set to `read_buf`.
fn ws_config(read_buf: Option<usize>) -> Option<tungstenite::protocol::WebSocketConfig> {
    read_buf.map(|n| tungstenite::protocol::WebSocketConfig::default().read_buffer_size(n))
}

/// tokio-tungstenite's echo server on a current_thread runtime.
fn echo_tokio(read_buf: Option<usize>) {
    use futures_util::{SinkExt, StreamExt};
    tokio_runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        announce(listener.local_addr().expect("addr"));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let accept =
                    tokio_tungstenite::accept_async_with_config(stream, ws_config(read_buf));
                let Ok(mut ws) = accept.await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_close() {
                        break;
                    }
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
}

/// tungstenite over std, one OS thread per client.
fn echo_threads(read_buf: Option<usize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    announce(listener.local_addr().expect("addr"));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        std::thread::spawn(move || {
            let Ok(mut ws) = tungstenite::accept_with_config(stream, ws_config(read_buf)) else {
                return;
            };
            while let Ok(msg) = ws.read() {
                if msg.is_close() {
                    break;
                }
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).is_err() {
                    break;
                }
            }
        });
    }
}

/// examples/chat.rs with the paths `#[green::main]` would rewrite written
/// out (`std::thread` → `green::thread`, `std::sync` → `green::sync`).
mod chat_green {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};

    use green::http::server::{Body, Request, Response, Server, StatusCode};
    use green::sync::mpsc::{self, SyncSender, TrySendError};
    use green::sync::{Arc, Mutex};
    use green::thread;
    use green::websocket::{self, CloseCode, CloseFrame, Message, Sender, Utf8Bytes, WebSocket};

    const QUEUE: usize = 256;

    struct Client {
        queue: SyncSender<Utf8Bytes>,
        socket: Sender,
    }

    #[derive(Default)]
    struct Room {
        clients: Mutex<HashMap<u64, Client>>,
        next_id: AtomicU64,
    }

    impl Room {
        fn join(&self, client: Client) -> u64 {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            self.clients.lock().unwrap().insert(id, client);
            id
        }

        fn leave(&self, id: u64) {
            self.clients.lock().unwrap().remove(&id);
        }

        fn broadcast(&self, text: Utf8Bytes) {
            let mut clients = self.clients.lock().unwrap();
            clients.retain(|_, c| match c.queue.try_send(text.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    let _ = c.socket.shutdown();
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
        }
    }

    fn chat(room: &Room, mut ws: WebSocket) {
        let (queue, outgoing) = mpsc::sync_channel::<Utf8Bytes>(QUEUE);
        let socket = ws.sender();
        let id = room.join(Client {
            queue,
            socket: socket.clone(),
        });
        let writer = thread::spawn(move || {
            for text in outgoing {
                if socket.send(Message::Text(text)).is_err() {
                    return;
                }
            }
            let _ = socket.close(Some(CloseFrame {
                code: CloseCode::Policy,
                reason: "too slow".into(),
            }));
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
            "/ws" => {
                let room = room.clone();
                websocket::accept(&req, move |ws| chat(&room, ws))
            }
            _ => Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body("not found\n".into())
                .unwrap(),
        }
    }

    pub(super) fn serve() {
        green::runtime::Builder::new().run(|| {
            let server = Server::bind("127.0.0.1:0").expect("bind");
            super::announce(server.local_addr());
            server
                .serve_forever(app(Arc::new(Room::default())))
                .expect("serve");
        });
    }
}

/// The same chat on tokio-tungstenite: a bounded channel (256) and a
/// writer task per client; a client whose channel is full is dropped.
fn chat_tokio() {
    use futures_util::{SinkExt, StreamExt};
    use std::collections::HashMap;
    use std::sync::Mutex;
    use tokio::sync::mpsc;
    use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

    type Room = Arc<Mutex<HashMap<u64, mpsc::Sender<Utf8Bytes>>>>;

    fn broadcast(room: &Room, text: Utf8Bytes) {
        room.lock()
            .unwrap()
            .retain(|_, q| q.try_send(text.clone()).is_ok());
    }

    async fn client(stream: tokio::net::TcpStream, room: Room, id: u64) {
        let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let (mut sink, mut source) = ws.split();
        let (queue, mut outgoing) = mpsc::channel::<Utf8Bytes>(256);
        room.lock().unwrap().insert(id, queue);
        let writer = tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                if sink.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        while let Some(Ok(msg)) = source.next().await {
            match msg {
                Message::Text(text) => broadcast(&room, text),
                Message::Close(_) => break,
                _ => {}
            }
        }
        room.lock().unwrap().remove(&id);
        let _ = writer.await;
    }

    tokio_runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        announce(listener.local_addr().expect("addr"));
        let room: Room = Arc::default();
        let mut next_id = 0;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            next_id += 1;
            tokio::spawn(client(stream, room.clone(), next_id));
        }
    });
}

// ------------------------------------------------------------ load generator

/// A client connection after the handshake: the stream and the bytes read
/// past the 101.
async fn ws_connect(addr: &str, path: &str) -> (tokio::net::TcpStream, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("handshake");
    let mut buf = Vec::with_capacity(1024);
    loop {
        let mut chunk = [0u8; 1024];
        let n = s.read(&mut chunk).await.expect("handshake read");
        assert!(n > 0, "server closed during the handshake");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).expect("head");
            assert!(
                head.starts_with("HTTP/1.1 101"),
                "handshake refused: {head}"
            );
            return (s, buf[end + 4..].to_vec());
        }
    }
}

/// A masked client text frame (a fixed mask key: servers cannot tell).
fn client_frame(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut f = vec![0x81, 0x80 | payload.len() as u8];
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

fn cpu_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    (f[11].parse().unwrap(), f[12].parse().unwrap())
}

/// Nanoseconds on CPU of all of `pid`'s threads (0 without schedstat).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.filter_map(|e| {
        let s = std::fs::read_to_string(e.ok()?.path().join("schedstat")).ok()?;
        s.split_whitespace().next()?.parse::<u64>().ok()
    })
    .sum()
}

#[derive(Clone, Copy)]
struct Cpu {
    user_ticks: u64,
    sys_ticks: u64,
    ns: u64,
}

fn cpu(pid: u32) -> Cpu {
    let (u, s) = cpu_ticks(pid);
    Cpu {
        user_ticks: u,
        sys_ticks: s,
        ns: cpu_ns(pid),
    }
}

struct EchoRun {
    messages: u64,
    user_ticks: u64,
    sys_ticks: u64,
    cpu_ns: u64,
}

/// `conns` connections ping-ponging a 64-byte text for a warm-up second,
/// then `dur` measured.
fn echo_load(addr: &str, pid: u32, conns: usize, dur: Duration) -> EchoRun {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    tokio_runtime().block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..conns {
            let (mut s, rest) = ws_connect(addr, "/").await;
            assert!(rest.is_empty(), "bytes after the 101");
            let (count, stop) = (count.clone(), stop.clone());
            tasks.spawn(async move {
                let frame = client_frame(PAYLOAD);
                let mut want = vec![0x81, PAYLOAD.len() as u8];
                want.extend_from_slice(PAYLOAD);
                let mut got = vec![0u8; want.len()];
                while !stop.load(Ordering::Relaxed) {
                    s.write_all(&frame).await.expect("send");
                    s.read_exact(&mut got).await.expect("echo");
                    assert_eq!(got, want, "not the echo");
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (c0, n0) = (cpu(pid), count.load(Ordering::Relaxed));
        tokio::time::sleep(dur).await;
        let (c1, n1) = (cpu(pid), count.load(Ordering::Relaxed));
        stop.store(true, Ordering::Relaxed);
        while tasks.join_next().await.is_some() {}
        EchoRun {
            messages: n1 - n0,
            user_ticks: c1.user_ticks - c0.user_ticks,
            sys_ticks: c1.sys_ticks - c0.sys_ticks,
            cpu_ns: c1.ns - c0.ns,
        }
    })
}

struct ChatRun {
    delivered: u64,
    user_ticks: u64,
    sys_ticks: u64,
    cpu_ns: u64,
    latencies_us: Vec<u64>,
}

/// Reads server frames (unmasked, text) from `s`, starting with `buf`;
/// counts those of the current broadcast and tells the sender when all
/// `clients` have it.
async fn chat_reader(
    mut s: tokio::net::tcp::OwnedReadHalf,
    mut buf: Vec<u8>,
    state: Arc<ChatState>,
) {
    use tokio::io::AsyncReadExt;
    let mut start = 0;
    loop {
        // Parse the frames buffered.
        loop {
            let b = &buf[start..];
            if b.len() < 2 {
                break;
            }
            let (len, head) = match b[1] & 0x7f {
                126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
                126 => break,
                127 => panic!("unexpectedly long frame"),
                n => (n as usize, 2),
            };
            if b.len() < head + len {
                break;
            }
            let opcode = b[0] & 0x0f;
            if opcode == 8 {
                return; // close
            }
            let payload = &b[head..head + len];
            // "m<seq>:"…
            let seq = payload[1..]
                .split(|&c| c == b':')
                .next()
                .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u64>().ok());
            if opcode == 1 && seq == Some(state.seq.load(Ordering::Acquire)) {
                let n = state.received.fetch_add(1, Ordering::AcqRel) + 1;
                if n == state.clients {
                    state.done.notify_one();
                }
            }
            start += head + len;
        }
        buf.drain(..start);
        start = 0;
        let len = buf.len();
        buf.resize(len + 16 * 1024, 0);
        match s.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.truncate(len + n),
        }
    }
}

struct ChatState {
    seq: AtomicU64,
    received: AtomicUsize,
    clients: usize,
    done: tokio::sync::Notify,
}

/// `clients` connections to `/ws`; the first sends `broadcasts` messages,
/// each after the previous one reached every client.
fn chat_load(addr: &str, pid: u32, clients: usize, broadcasts: usize) -> ChatRun {
    use tokio::io::AsyncWriteExt;
    let state = Arc::new(ChatState {
        seq: AtomicU64::new(u64::MAX),
        received: AtomicUsize::new(0),
        clients,
        done: tokio::sync::Notify::new(),
    });
    tokio_runtime().block_on(async {
        // The write halves are kept: dropping one would shut it down.
        let mut writers = Vec::with_capacity(clients);
        for _ in 0..clients {
            let (s, rest) = ws_connect(addr, "/ws").await;
            let (r, w) = s.into_split();
            writers.push(w);
            tokio::spawn(chat_reader(r, rest, state.clone()));
        }
        let sender = writers.first_mut().expect("no clients");
        // Let the last ones join the room.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let warm = 5;
        let mut latencies = Vec::with_capacity(broadcasts);
        let mut c0 = cpu(pid);
        for i in 0..warm + broadcasts {
            if i == warm {
                c0 = cpu(pid);
            }
            let mut text = format!("m{i}:").into_bytes();
            text.extend_from_slice(&PAYLOAD[text.len()..]);
            let frame = client_frame(&text);
            state.received.store(0, Ordering::Release);
            state.seq.store(i as u64, Ordering::Release);
            let t0 = Instant::now();
            sender.write_all(&frame).await.expect("send");
            tokio::time::timeout(Duration::from_secs(30), state.done.notified())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "broadcast {i}: {} of {clients} clients got it in 30 s",
                        state.received.load(Ordering::Acquire)
                    )
                });
            if i >= warm {
                latencies.push(t0.elapsed().as_micros() as u64);
            }
        }
        let c1 = cpu(pid);
        ChatRun {
            delivered: (broadcasts * clients) as u64,
            user_ticks: c1.user_ticks - c0.user_ticks,
            sys_ticks: c1.sys_ticks - c0.sys_ticks,
            cpu_ns: c1.ns - c0.ns,
            latencies_us: latencies,
        }
    })
}

// --------------------------------------------------------------- the figure

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Pins the calling thread (and the threads it starts later) to `cpu`.
fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is a small CPU number, well within the set.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: the set is initialised and its size is passed with it.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc != 0 {
        eprintln!(
            "bench websocket: could not pin to CPU {cpu}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Soft RLIMIT_NOFILE up to the hard limit (1 000 clients).
fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes a whole rlimit into the pointer given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 && lim.rlim_cur < lim.rlim_max
    {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads the rlimit it is given.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}

/// A server child, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(kind: &str, name: &str) -> Server {
        let mut child = Command::new(std::env::current_exe().expect("current_exe"))
            .args(["serve", kind, name, "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server address");
        let server = Server {
            child,
            addr: line.trim().to_string(),
        };
        assert!(!server.addr.is_empty(), "{kind} {name} did not start");
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a load child (on CPU 1) and returns its one line of output.
fn load(args: &[String]) -> Option<String> {
    let out = Command::new(std::env::current_exe().expect("current_exe"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Per message: user µs (ticks), total µs (ticks), total µs (schedstat).
#[derive(Clone, Copy)]
struct PerMsg {
    user: f64,
    total: f64,
    sched: f64,
    rate: f64,
}

fn per_msg(n: u64, user: u64, sys: u64, ns: u64, secs: f64) -> PerMsg {
    let tck = clk_tck();
    let us = |ticks: u64| ticks as f64 / tck * 1e6 / n as f64;
    PerMsg {
        user: us(user),
        total: us(user + sys),
        sched: ns as f64 / 1e3 / n as f64,
        rate: n as f64 / secs,
    }
}

fn parse_nums(line: &str) -> Vec<u64> {
    line.split_whitespace()
        .take(4)
        .map(|w| w.parse().expect("number"))
        .collect()
}

fn echo_figure(rounds: usize) {
    let conns: usize = env("WS_BENCH_CONNS", 50);
    let secs: f64 = env("WS_BENCH_SECS", 5.0);
    println!(
        "# ws echo: {conns} connections, 64-byte text ping-pong, {secs} s x {rounds} rounds; \
         server on CPU 0, load on CPU 1"
    );
    let mut samples: Vec<Vec<PerMsg>> = vec![Vec::new(); ECHO_PEERS.len()];
    for _ in 0..rounds {
        for (i, name) in ECHO_PEERS.iter().enumerate() {
            let server = Server::start("echo", name);
            let args: Vec<String> = vec![
                "echo-load".into(),
                "1".into(),
                server.addr.clone(),
                server.child.id().to_string(),
                conns.to_string(),
                secs.to_string(),
            ];
            let Some(line) = load(&args) else {
                eprintln!("bench websocket: echo load against {name} failed");
                continue;
            };
            drop(server);
            let v = parse_nums(&line);
            if v[0] > 0 {
                samples[i].push(per_msg(v[0], v[1], v[2], v[3], secs));
            }
        }
    }
    println!("# server            user-us/msg  total-us/msg  (schedstat)     msg/s   (medians)");
    let mut med = Vec::new();
    for (name, s) in ECHO_PEERS.iter().zip(&samples) {
        let label = peer_label(name);
        if s.is_empty() {
            println!("{label:<19} did not run");
            continue;
        }
        let m = PerMsg {
            user: median(s.iter().map(|x| x.user).collect()),
            total: median(s.iter().map(|x| x.total).collect()),
            sched: median(s.iter().map(|x| x.sched).collect()),
            rate: median(s.iter().map(|x| x.rate).collect()),
        };
        println!(
            "{label:<19} {:>11.2} {:>13.2} {:>12.2} {:>9.0}",
            m.user, m.total, m.sched, m.rate
        );
        med.push((*name, m));
    }
    if let Some(&(_, g)) = med.iter().find(|m| m.0 == "green") {
        for (name, m) in &med {
            if *name == "green" {
                continue;
            }
            let target = if *name == "tokio" {
                "  (targets: user <= 0.70x, total <= 1.00x)"
            } else {
                ""
            };
            let ratio = |a: f64, b: f64| {
                if b > 0.0 {
                    format!("{:.2}x", a / b)
                } else {
                    "-".to_string()
                }
            };
            println!(
                "green/{:<13} user {}  total {}  (schedstat {}){target}",
                name,
                ratio(g.user, m.user),
                ratio(g.total, m.total),
                ratio(g.sched, m.sched)
            );
        }
    }
}

fn peer_label(name: &str) -> &'static str {
    match name {
        "green" => "green",
        "tokio" => "tokio-tungstenite",
        "tokio-4k" => "tokio-tung. 4 KiB",
        "threads" => "tungstenite+threads",
        _ => "tung.+threads 4 KiB",
    }
}

fn chat_figure(rounds: usize) {
    let clients: usize = env("WS_BENCH_CLIENTS", 1000);
    let broadcasts: usize = env("WS_BENCH_BROADCASTS", 300);
    println!(
        "# chat: {clients} clients, {broadcasts} broadcasts of 64 bytes one after another x \
         {rounds} rounds; server on CPU 0, load on CPU 1"
    );
    // Per peer: latencies (µs) of every broadcast, per-round CPU samples.
    let mut lat: Vec<Vec<f64>> = vec![Vec::new(); CHAT_PEERS.len()];
    let mut cpu: Vec<Vec<PerMsg>> = vec![Vec::new(); CHAT_PEERS.len()];
    for _ in 0..rounds {
        for (i, name) in CHAT_PEERS.iter().enumerate() {
            let server = Server::start("chat", name);
            let args: Vec<String> = vec![
                "chat-load".into(),
                "1".into(),
                server.addr.clone(),
                server.child.id().to_string(),
                clients.to_string(),
                broadcasts.to_string(),
            ];
            let Some(line) = load(&args) else {
                eprintln!("bench websocket: chat load against {name} failed");
                continue;
            };
            drop(server);
            let v = parse_nums(&line);
            cpu[i].push(per_msg(v[0], v[1], v[2], v[3], 1.0));
            let l = line.split_whitespace().nth(4).unwrap_or("");
            lat[i].extend(l.split(',').filter_map(|x| x.parse::<f64>().ok()));
        }
    }
    println!(
        "# server            latency-ms p50   p90   user-us/delivered  total-us/delivered  (schedstat)"
    );
    let mut med = Vec::new();
    for (i, name) in CHAT_PEERS.iter().enumerate() {
        let label = peer_label(name);
        if cpu[i].is_empty() {
            println!("{label:<19} did not run");
            continue;
        }
        let mut l = lat[i].clone();
        l.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let p50 = l[l.len() / 2] / 1e3;
        let p90 = l[l.len() * 9 / 10] / 1e3;
        let u = median(cpu[i].iter().map(|x| x.user).collect());
        let t = median(cpu[i].iter().map(|x| x.total).collect());
        let s = median(cpu[i].iter().map(|x| x.sched).collect());
        println!("{label:<19} {p50:>14.2} {p90:>5.2} {u:>18.2} {t:>19.2} {s:>12.2}");
        med.push((p50, u, t, s));
    }
    if let [g, t] = med[..] {
        println!(
            "green/tokio         latency {:.2}x  user {:.2}x  total {:.2}x  (schedstat {:.2}x)",
            g.0 / t.0,
            g.1 / t.1,
            g.2 / t.2,
            g.3 / t.3
        );
    }
}

fn orchestrate() {
    let rounds: usize = env("WS_BENCH_ROUNDS", 3);
    let only: String = env("WS_BENCH_ONLY", String::new());
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("bench websocket: fewer than 2 CPUs; server and load share one");
    }
    if only.is_empty() || only == "echo" {
        echo_figure(rounds);
    }
    if only.is_empty() || only == "chat" {
        chat_figure(rounds);
    }
}

//! The server examples stop gracefully on SIGTERM and SIGINT: run as
//! programs on 127.0.0.1:0, sent a signal while a request (or a
//! WebSocket) is in flight, they refuse new connections, finish what is
//! in flight and exit 0. A second signal meanwhile ends the process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode;

/// A running example, killed on drop if still running.
struct Example {
    child: Child,
    addr: SocketAddr,
    /// Its standard error after the first line.
    stderr: Arc<Mutex<String>>,
    /// The thread reading it (done at the example's exit).
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Example {
    /// Starts the example `name` on 127.0.0.1:0 and reads its address
    /// from the first line it prints.
    fn start(name: &str) -> Example {
        let mut child = Command::new(binary(name))
            .arg("127.0.0.1:0")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        let addr = line
            .rsplit("//")
            .next()
            .unwrap()
            .trim()
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|_| panic!("no address in {line:?}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let rest = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).is_ok_and(|n| n > 0) {
                rest.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Example {
            child,
            addr,
            stderr,
            reader: Some(reader),
        }
    }

    fn signal(&self, sig: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child, which has not been reaped
        // (the `Child` is not waited for yet), so the pid is still its.
        let r = unsafe { libc::kill(pid, sig) };
        assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits (a generous minute at most) for the example to exit.
    fn exit_status(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                // All it printed has been read.
                if let Some(r) = self.reader.take() {
                    r.join().unwrap();
                }
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the example did not exit; it said:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until a new connection is refused, while the example still
    /// runs (so: it stopped accepting, it did not just exit).
    fn assert_refuses_while_running(&mut self) {
        self.wait_refused();
        assert!(
            self.is_running(),
            "the example exited instead of finishing what was in flight:\n{}",
            self.stderr()
        );
    }

    /// Exit status 0, and it said why it stopped.
    fn assert_exits_0_after(&mut self, sig: &str) {
        let status = self.exit_status();
        let said = self.stderr();
        assert!(status.success(), "{status}; it said:\n{said}");
        assert!(said.contains(&format!("{sig}, stopping")), "{said}");
    }
}

/// The example's binary: built now unless it is newer than this test's
/// binary and than its source (`cargo test` builds examples; a run of
/// this test alone may find them stale).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.rs"));
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = modified(&path).is_some_and(|built| {
        modified(&exe).is_some_and(|t| built > t) && modified(&source).is_some_and(|s| built > s)
    });
    if !fresh {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Without the variables cargo set for this test (CARGO_PKG_NAME,
        // ...): a build script that reads one would see it change and
        // rebuild, and so would the next `cargo test`.
        let mut build = Command::new(cargo);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("CARGO_") && k != "CARGO_HOME" && k != "CARGO_TARGET_DIR" {
                build.env_remove(&*k);
            }
        }
        let status = build
            .args(["build", "--quiet", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "could not build example {name}");
    }
    path
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

/// Reads until `want` has arrived; returns what was read.
fn read_until(s: &mut TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "EOF before {want:?}: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads to EOF.
fn read_to_end(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    String::from_utf8_lossy(&got).into_owned()
}

/// A keep-alive connection that made one request and now waits, idle.
fn idle_keep_alive(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = connect(addr);
    write!(s, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let head = read_until(&mut s, "\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    s
}

#[test]
fn wsgi_on_sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0() {
    let mut ex = Example::start("wsgi");
    let mut idle = idle_keep_alive(ex.addr, "/visits");
    let mut slow = connect(ex.addr);
    write!(slow, "GET /slow?ms=3000 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let head = read_until(&mut slow, "working for 3000 ms");
    ex.signal(libc::SIGTERM);
    ex.assert_refuses_while_running();
    // The request in flight finishes: its last chunk, then the end.
    let rest = read_to_end(&mut slow);
    let whole = head + &rest;
    assert!(
        whole.contains("done\n") && whole.ends_with("0\r\n\r\n"),
        "{whole}"
    );
    // The idle keep-alive connection was closed (after its response).
    read_to_end(&mut idle);
    ex.assert_exits_0_after("SIGTERM");
}

#[test]
fn http_hello_on_sigint_closes_idle_connections_and_exits_0() {
    let mut ex = Example::start("http_hello");
    let mut idle = idle_keep_alive(ex.addr, "/");
    ex.signal(libc::SIGINT);
    ex.assert_refuses_while_running_or_done();
    let rest = read_to_end(&mut idle);
    assert!(rest.is_empty() || rest.contains("Hello, World!"), "{rest}");
    ex.assert_exits_0_after("SIGINT");
}

#[test]
fn a_second_signal_during_the_graceful_stop_ends_the_process() {
    let mut ex = Example::start("wsgi");
    let mut slow = connect(ex.addr);
    write!(slow, "GET /slow?ms=60000 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    read_until(&mut slow, "working for 60000 ms");
    ex.signal(libc::SIGTERM);
    // Refused: the stop has begun, so the subscription is gone.
    ex.assert_refuses_while_running();
    ex.signal(libc::SIGTERM);
    let status = ex.exit_status();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
}

/// The close a WebSocket client gets: 1001, "going away".
fn assert_going_away(ws: &mut tungstenite::WebSocket<TcpStream>) {
    loop {
        match ws.read().unwrap() {
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::Away);
                break;
            }
            Message::Close(None) => panic!("a close without a code"),
            _ => {}
        }
    }
    // Answer it (tungstenite queued the reply), then see the end.
    while ws.read().is_ok() {}
}

fn ws_client(addr: SocketAddr, path: &str) -> tungstenite::WebSocket<TcpStream> {
    tungstenite::client(format!("ws://{addr}{path}"), connect(addr))
        .unwrap()
        .0
}

#[test]
fn ws_echo_on_sigterm_says_going_away_and_exits_0() {
    let mut ex = Example::start("ws_echo");
    let mut ws = ws_client(ex.addr, "/");
    ws.send(Message::text("hi")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("hi"));
    ex.signal(libc::SIGTERM);
    assert_going_away(&mut ws);
    ex.assert_exits_0_after("SIGTERM");
}

#[test]
fn chat_on_sigint_says_going_away_to_every_client_and_exits_0() {
    let mut ex = Example::start("chat");
    let mut a = ws_client(ex.addr, "/ws");
    let mut b = ws_client(ex.addr, "/ws");
    a.send(Message::text("hello")).unwrap();
    assert_eq!(a.read().unwrap(), Message::text("hello"));
    assert_eq!(b.read().unwrap(), Message::text("hello"));
    ex.signal(libc::SIGINT);
    assert_going_away(&mut a);
    assert_going_away(&mut b);
    ex.assert_exits_0_after("SIGINT");
}

impl Example {
    /// As [`assert_refuses_while_running`](Self::assert_refuses_while_running),
    /// for a server with nothing in flight, which may be gone by then.
    fn assert_refuses_while_running_or_done(&mut self) {
        self.wait_refused();
    }

    /// Waits (30 s at most) until a new connection is refused.
    fn wait_refused(&self) {
        let start = Instant::now();
        loop {
            match TcpStream::connect(self.addr) {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
                Err(e) => panic!("connect: {e}"),
                // Not closed yet: close this one and try again.
                Ok(s) => drop(s),
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "still accepting 30 s after the signal"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

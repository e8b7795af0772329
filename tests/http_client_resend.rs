//! green::http's client and connections the server closes under it: a
//! pooled connection taken without a system call (its hub saw nothing
//! arrive on it) that the server had closed gets the request again on a
//! new connection when its method is idempotent, once; a POST is checked
//! before it goes and is never sent twice.
//!
//! The server here is plain std on OS threads, so that it closes
//! connections on its own time, not when the client's hub lets it run.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use green::http::client::Client;

/// What the server saw: each request it read, as `"METHOD PATH"`.
type Seen = Arc<Mutex<Vec<String>>>;

struct Server {
    addr: SocketAddr,
    seen: Seen,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves on 127.0.0.1:0, a thread per connection, each answer 5 ms
    /// after its request:
    /// - `/close-soon`: answers (keep-alive as far as the client can
    ///   tell), then closes the connection 5 ms later without reading
    ///   more;
    /// - `/keep`: answers and reads the next request;
    /// - `/drop`: closes without an answer.
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Seen::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let seen = seen2.clone();
                        conns.push(std::thread::spawn(move || serve(conn, &seen)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
            for c in conns {
                let _ = c.join();
            }
        });
        Server {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, seen: &Seen) {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    loop {
        // One head, and its body by Content-Length.
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0; 4096];
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < end + length {
            let mut chunk = [0; 4096];
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..end + length);
        let mut words = head.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        seen.lock().unwrap().push(format!("{method} {path}"));
        if path == "/drop" {
            return;
        }
        // Answered a little later: the client's read waits for it, so its
        // hub polls the connection from then on (a socket never polled
        // tells nothing, and a pool peeks at it).
        std::thread::sleep(Duration::from_millis(5));
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        if conn.write_all(answer).is_err() {
            return;
        }
        if path == "/close-soon" {
            std::thread::sleep(Duration::from_millis(5));
            return;
        }
    }
}

#[test]
fn a_get_on_a_pooled_connection_the_server_closed_goes_again_on_a_new_one() {
    let server = Server::start();
    let client = Client::new();
    let url = server.url("/close-soon");
    for i in 0..10 {
        let body = client.get(&url).send().map(|r| r.text());
        assert_eq!(body.unwrap().unwrap(), "hello", "GET {i}");
    }
    // Each GET after the first went out on the pooled connection first
    // (taken without a system call), found it closed, and went again on a
    // new one. The server read each request once: a request on a
    // connection it was closing was never read.
    let seen = server.seen();
    assert_eq!(seen.len(), 10, "{seen:?}");
    assert!(seen.iter().all(|r| r == "GET /close-soon"), "{seen:?}");
}

#[test]
fn a_post_is_checked_before_it_goes_and_sent_once() {
    let server = Server::start();
    let client = Client::new();
    let url = server.url("/close-soon");
    for i in 0..5 {
        // The server's close arrives while the thread sleeps, before the
        // hub polls again: the pooled connection looks quiet, so the POST
        // is what finds it closed.
        std::thread::sleep(Duration::from_millis(30));
        let body = client.post(&url).send_bytes(b"x").map(|r| r.text());
        assert_eq!(body.unwrap().unwrap(), "hello", "POST {i}");
    }
    let seen = server.seen();
    assert_eq!(seen, vec!["POST /close-soon".to_string(); 5]);
}

#[test]
fn a_get_goes_again_once_at_most() {
    let server = Server::start();
    let client = Client::new();
    assert_eq!(
        client
            .get(&server.url("/keep"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "hello"
    );
    // On the kept connection the server reads the request and closes
    // without an answer; on the new one too. The client gives up after
    // the second.
    let err = client.get(&server.url("/drop")).send().unwrap_err();
    let seen = server.seen();
    assert_eq!(seen, ["GET /keep", "GET /drop", "GET /drop"], "{err}");
    // A first request on a new connection is not sent again.
    let err = client.get(&server.url("/drop")).send().unwrap_err();
    assert_eq!(server.seen().len(), 4, "{err}");
}

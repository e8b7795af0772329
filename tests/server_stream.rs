//! green::server::StreamServer (gevent's `StreamServer`): the accept loop,
//! a greenlet per connection, the pool limit, close, stop with a deadline,
//! serve_forever stopped from another thread.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use green::server::{ServerHandle, StreamServer};

// ANCHOR: echo
fn echo(mut s: green::net::TcpStream, _peer: std::net::SocketAddr) {
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        if s.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}
// ANCHOR_END: echo

/// Runs a server built by `make` with `start` on a thread of its own.
fn run<F>(make: F) -> (ServerHandle, std::thread::JoinHandle<()>)
where
    F: FnOnce() -> StreamServer + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let h = make().start();
        tx.send(h.clone()).unwrap();
        h.wait();
    });
    (rx.recv().unwrap(), t)
}

fn ping(s: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    s.write_all(msg).unwrap();
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got).unwrap();
    got
}

#[test]
fn serves_each_connection_in_a_greenlet() {
    let (h, t) = run(|| StreamServer::bind("127.0.0.1:0", echo).unwrap());
    let mut clients: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(h.local_addr()).unwrap())
        .collect();
    for (i, c) in clients.iter_mut().enumerate() {
        let msg = format!("hello {i}");
        assert_eq!(ping(c, msg.as_bytes()), msg.as_bytes());
    }
    assert_eq!(h.connections(), 50);
    drop(clients);
    assert!(h.stop(Duration::from_secs(2)));
    t.join().unwrap();
}

#[test]
fn max_connections_is_a_pool_limit() {
    let (h, t) = run(|| {
        StreamServer::bind("127.0.0.1:0", echo)
            .unwrap()
            .max_connections(2)
    });
    let mut a = TcpStream::connect(h.local_addr()).unwrap();
    let mut b = TcpStream::connect(h.local_addr()).unwrap();
    assert_eq!(ping(&mut a, b"a"), b"a");
    assert_eq!(ping(&mut b, b"b"), b"b");
    let mut c = TcpStream::connect(h.local_addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    c.write_all(b"c").unwrap();
    let mut one = [0u8; 1];
    assert!(c.read_exact(&mut one).is_err(), "a third was served");
    assert_eq!(h.connections(), 2);
    drop(a);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.read_exact(&mut one).unwrap();
    assert_eq!(&one, b"c");
    drop((b, c));
    assert!(h.stop(Duration::from_secs(2)));
    t.join().unwrap();
}

#[test]
fn close_refuses_new_clients_and_keeps_open_ones() {
    let (h, t) = run(|| StreamServer::bind("127.0.0.1:0", echo).unwrap());
    let mut a = TcpStream::connect(h.local_addr()).unwrap();
    assert_eq!(ping(&mut a, b"x"), b"x");
    h.close();
    assert!(h.is_closed());
    let t0 = Instant::now();
    while TcpStream::connect(h.local_addr()).is_ok() {
        assert!(t0.elapsed() < Duration::from_secs(2), "still accepting");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ping(&mut a, b"still"), b"still");
    drop(a);
    assert!(h.stop(Duration::from_secs(2)));
    t.join().unwrap();
}

#[test]
fn stop_kills_connections_past_the_deadline() {
    let (h, t) = run(|| StreamServer::bind("127.0.0.1:0", echo).unwrap());
    let mut a = TcpStream::connect(h.local_addr()).unwrap();
    assert_eq!(ping(&mut a, b"x"), b"x");
    let t0 = Instant::now();
    assert!(
        !h.stop(Duration::from_millis(200)),
        "an open echo cannot finish"
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(h.connections(), 0);
    let mut rest = Vec::new();
    a.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert!(matches!(a.read_to_end(&mut rest), Ok(0) | Err(_)));
    t.join().unwrap();
}

#[test]
fn serve_forever_stops_from_another_thread() {
    // ANCHOR: serve_forever
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        green::runtime::Builder::new().workers(2).run(|| {
            let server = StreamServer::bind("127.0.0.1:0", echo).unwrap();
            tx.send(server.handle()).unwrap();
            server.serve_forever()
        })
    });
    let h = rx.recv().unwrap();
    let mut clients: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(h.local_addr()).unwrap())
        .collect();
    for c in &mut clients {
        assert_eq!(ping(c, b"multi-hub"), b"multi-hub");
    }
    drop(clients);
    assert!(h.stop(Duration::from_secs(2)));
    t.join().unwrap().unwrap();
    // ANCHOR_END: serve_forever
}

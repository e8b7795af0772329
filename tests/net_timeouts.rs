//! Timeouts expire with the error kinds std's do (checked against real std
//! sockets on the same machine), and a zero timeout is refused as std
//! refuses it.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream, UdpSocket};
use green::thread;

const T: Duration = Duration::from_millis(60);

fn std_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    (c, l.accept().unwrap().0)
}

fn green_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    (c, l.accept().unwrap().0)
}

#[test]
fn read_timeout_kind_matches_std() {
    let (mut sc, _ss) = std_pair();
    sc.set_read_timeout(Some(T)).unwrap();
    let std_err = sc.read(&mut [0u8; 8]).unwrap_err();

    let (mut gc, _gs) = green_pair();
    gc.set_read_timeout(Some(T)).unwrap();
    assert_eq!(gc.read_timeout().unwrap(), Some(T));
    // Another greenlet keeps running while this one waits for its timeout.
    let ticker = thread::spawn(|| {
        let mut n = 0;
        for _ in 0..5 {
            thread::sleep(Duration::from_millis(5));
            n += 1;
        }
        n
    });
    let t0 = Instant::now();
    let err = gc.read(&mut [0u8; 8]).unwrap_err();
    let waited = t0.elapsed();
    assert_eq!(err.kind(), std_err.kind());
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(err.raw_os_error(), std_err.raw_os_error());
    assert!(waited >= T && waited < T * 10, "{waited:?}");
    assert_eq!(ticker.join().unwrap(), 5);
    // The socket still works after a timeout.
    gc.set_read_timeout(None).unwrap();
    assert_eq!(gc.read_timeout().unwrap(), None);
}

#[test]
fn write_timeout_kind_matches_std() {
    fn fill<W: Write>(w: &mut W) -> io::Error {
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if let Err(e) = w.write(&chunk) {
                return e;
            }
        }
    }
    let (mut sc, _ss) = std_pair();
    sc.set_write_timeout(Some(T)).unwrap();
    let std_err = fill(&mut sc);

    let (mut gc, _gs) = green_pair();
    gc.set_write_timeout(Some(T)).unwrap();
    assert_eq!(gc.write_timeout().unwrap(), Some(T));
    let err = fill(&mut gc);
    assert_eq!(err.kind(), std_err.kind());
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
}

#[test]
fn zero_timeout_is_refused_as_std() {
    let (sc, _ss) = std_pair();
    let std_err = sc.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
    let (gc, _gs) = green_pair();
    let err = gc.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.kind(), std_err.kind());
    let err = gc.set_write_timeout(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let std_err = std::net::TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
    let err = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), std_err.kind());
}

#[test]
fn udp_recv_timeout_kind_matches_std() {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let std_err = s.recv_from(&mut [0u8; 8]).unwrap_err();
    let g = UdpSocket::bind("127.0.0.1:0").unwrap();
    g.set_read_timeout(Some(T)).unwrap();
    let t0 = Instant::now();
    let err = g.recv_from(&mut [0u8; 8]).unwrap_err();
    assert!(t0.elapsed() >= T);
    assert_eq!(err.kind(), std_err.kind());
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
}

/// A listener whose accept queue is full (backlog 0, one connection queued
/// and never accepted) drops further SYNs, so a connect to it hangs: the
/// loopback way to see `connect_timeout` expire.
#[test]
fn connect_timeout_kind_matches_std() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket2::SockRef::from(&l).listen(0).unwrap();
    let addr = l.local_addr().unwrap();
    let mut held = Vec::new();
    let mut std_err = None;
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, T) {
            Ok(s) => held.push(s),
            Err(e) => {
                std_err = Some(e);
                break;
            }
        }
    }
    let std_err = std_err.expect("the backlog never filled");
    assert_eq!(std_err.kind(), io::ErrorKind::TimedOut);
    let t0 = Instant::now();
    let err = TcpStream::connect_timeout(&addr, T).unwrap_err();
    let waited = t0.elapsed();
    assert_eq!(err.kind(), std_err.kind());
    assert!(waited >= T && waited < T * 20, "{waited:?}");
}

//! green::os::unix::net: stream listener and client, pair, datagrams,
//! timeouts, non-blocking mode.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::path::PathBuf;
use std::time::Duration;

use green::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use green::thread;

fn path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("green-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn listener_and_streams() {
    let p = path("stream");
    let l = UnixListener::bind(&p).unwrap();
    let server = thread::spawn(move || {
        let mut served = 0;
        for s in l.incoming().take(50) {
            let mut s = s.unwrap();
            thread::spawn(move || {
                let mut buf = [0u8; 64];
                loop {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).unwrap();
                }
            });
            served += 1;
        }
        served
    });
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let p = p.clone();
            thread::spawn(move || {
                let mut c = UnixStream::connect(&p).unwrap();
                let msg = format!("client {i}");
                c.write_all(msg.as_bytes()).unwrap();
                c.shutdown(Shutdown::Write).unwrap();
                let mut back = String::new();
                c.read_to_string(&mut back).unwrap();
                assert_eq!(back, msg);
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(server.join().unwrap(), 50);
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn pair_timeout_and_nonblocking() {
    let (a, mut b) = UnixStream::pair().unwrap();
    a.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
    let err = (&a).read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    a.set_nonblocking(true).unwrap();
    let err = (&a).read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    a.set_nonblocking(false).unwrap();
    a.set_read_timeout(None).unwrap();
    let r = thread::spawn(move || {
        let mut buf = [0u8; 5];
        (&a).read_exact(&mut buf).unwrap();
        buf
    });
    thread::sleep(Duration::from_millis(10));
    b.write_all(b"hello").unwrap();
    assert_eq!(&r.join().unwrap(), b"hello");
    assert!(b.peer_addr().unwrap().is_unnamed());
}

#[test]
fn datagrams() {
    let pa = path("dgram-a");
    let pb = path("dgram-b");
    let a = UnixDatagram::bind(&pa).unwrap();
    let b = UnixDatagram::bind(&pb).unwrap();
    let rx = thread::spawn(move || {
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        b.send_to(&buf[..n], from.as_pathname().unwrap()).unwrap();
    });
    a.send_to(b"dgram", &pb).unwrap();
    let mut buf = [0u8; 16];
    let n = a.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"dgram");
    rx.join().unwrap();
    a.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    assert_eq!(
        a.recv(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    let (x, y) = UnixDatagram::pair().unwrap();
    x.send(b"p").unwrap();
    assert_eq!(y.recv(&mut buf).unwrap(), 1);
    std::fs::remove_file(&pa).unwrap();
    std::fs::remove_file(&pb).unwrap();
}

/// A Unix `connect` to a listener whose backlog is full does not block the
/// hub: it retries greenly until the accept loop makes room.
#[test]
fn connect_waits_greenly_while_the_backlog_is_full() {
    let p = path("backlog");
    let std_l = std::os::unix::net::UnixListener::bind(&p).unwrap();
    socket2::SockRef::from(&std_l).listen(1).unwrap();
    let l = UnixListener::from_std(std_l).unwrap();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let p = p.clone();
            thread::spawn(move || UnixStream::connect(&p).map(|_| ()))
        })
        .collect();
    // With every client waiting (no accept yet), this greenlet still runs.
    thread::sleep(Duration::from_millis(50));
    let accepted = thread::spawn(move || {
        for _ in 0..8 {
            l.accept().unwrap();
        }
    });
    for c in clients {
        c.join().unwrap().unwrap();
    }
    accepted.join().unwrap();
    std::fs::remove_file(&p).unwrap();
}

//! std::net and std::os::unix::net: a TCP echo server with one thread per
//! connection, EOF and half-close, read timeouts, UDP, Unix sockets.
//!
//! `main` asserts the behaviour and returns a transcript of it, one line per
//! observable result, that must not depend on timing or scheduling (no
//! addresses or ports).

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).unwrap()
    };
}

pub(crate) fn main() -> String {
    let mut out = String::new();
    tcp_echo(&mut out, 50);
    read_timeout(&mut out);
    udp_echo(&mut out);
    unix_pair(&mut out);
    out
}

fn tcp_echo(out: &mut String, clients: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let mut accepted = 0;
        for stream in listener.incoming().take(clients) {
            let mut stream = stream.unwrap();
            accepted += 1;
            thread::spawn(move || {
                let mut buf = [0; 64];
                loop {
                    match stream.read(&mut buf).unwrap() {
                        0 => break, // the client shut down its write half
                        n => stream.write_all(&buf[..n]).unwrap(),
                    }
                }
            });
        }
        accepted
    });
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                let msg = format!("hello {i}");
                s.write_all(msg.as_bytes()).unwrap();
                s.shutdown(Shutdown::Write).unwrap();
                let mut back = String::new();
                s.read_to_string(&mut back).unwrap();
                assert_eq!(back, msg);
                // After EOF, reads keep returning 0.
                let again = s.read(&mut [0; 8]).unwrap();
                (back, again)
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (back, again) = h.join().unwrap();
        say!(
            out,
            "tcp: client {i} got back {back:?}, then read {again} at EOF"
        );
    }
    let accepted = server.join().unwrap();
    assert_eq!(accepted, clients);
    say!(out, "tcp: server accepted {accepted} connections");
}

fn read_timeout(out: &mut String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server, _) = listener.accept().unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    say!(
        out,
        "timeout: read_timeout set {:?}",
        client.read_timeout().unwrap()
    );
    let t0 = Instant::now();
    let err = client.read(&mut [0; 8]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    // std on Linux reports an expired read timeout as WouldBlock (EAGAIN).
    say!(
        out,
        "timeout: read with nothing to read fails with {:?}",
        err.kind()
    );
    let waited = t0.elapsed() >= Duration::from_millis(15);
    assert!(waited);
    say!(out, "timeout: waited for the timeout {waited}");
    let zero = client.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
    say!(
        out,
        "timeout: a zero timeout is rejected with {:?}",
        zero.kind()
    );
}

fn udp_echo(out: &mut String) {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let h = thread::spawn(move || {
        let mut buf = [0; 16];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        server.send_to(&buf[..n], from).unwrap();
    });
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(b"ping", addr).unwrap();
    let mut buf = [0; 16];
    let (n, _) = client.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    say!(out, "udp: echoed {:?}", String::from_utf8_lossy(&buf[..n]));
    h.join().unwrap();
}

fn unix_pair(out: &mut String) {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let h = thread::spawn(move || {
        let mut buf = [0; 5];
        b.read_exact(&mut buf).unwrap();
        b.write_all(&buf).unwrap();
    });
    a.write_all(b"hello").unwrap();
    let mut buf = [0; 5];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    say!(out, "unix: echoed {:?}", String::from_utf8_lossy(&buf));
    h.join().unwrap();
    // The peer is gone: EOF.
    let eof = a.read(&mut buf).unwrap();
    say!(out, "unix: read after the peer closed returns {eof}");
}

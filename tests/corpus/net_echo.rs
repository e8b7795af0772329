//! std::net and std::os::unix::net: a TCP echo server with one thread per
//! connection, EOF and half-close, read timeouts, UDP, Unix sockets.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

pub(crate) fn main() {
    tcp_echo(50);
    read_timeout();
    udp_echo();
    unix_pair();
}

fn tcp_echo(clients: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        for stream in listener.incoming().take(clients) {
            let mut stream = stream.unwrap();
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
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    server.join().unwrap();
}

fn read_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server, _) = listener.accept().unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let t0 = Instant::now();
    let err = client.read(&mut [0; 8]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    assert!(t0.elapsed() >= Duration::from_millis(15));
}

fn udp_echo() {
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
    h.join().unwrap();
}

fn unix_pair() {
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
    h.join().unwrap();
}

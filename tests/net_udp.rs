//! green::net::UdpSocket: send_to/recv_from, peek_from, connect/send/recv,
//! waiting greenly for a datagram, non-blocking mode, clones, options.

use std::io;
use std::time::Duration;

use green::net::UdpSocket;
use green::thread;

#[test]
fn send_to_recv_from() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a_addr = a.local_addr().unwrap();
    let b_addr = b.local_addr().unwrap();
    // b waits greenly for a datagram sent later by another greenlet.
    let rx = thread::spawn(move || {
        let mut buf = [0u8; 32];
        let (n, from) = b.peek_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        let (n, from2) = b.recv_from(&mut buf).unwrap();
        assert_eq!(from, from2);
        assert_eq!(&buf[..n], b"ping");
        b.send_to(b"pong", from).unwrap();
        from
    });
    thread::sleep(Duration::from_millis(20));
    a.send_to(b"ping", b_addr).unwrap();
    let mut buf = [0u8; 32];
    let (n, from) = a.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"pong");
    assert_eq!(from, b_addr);
    assert_eq!(rx.join().unwrap(), a_addr);
}

#[test]
fn connected() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    let b2 = b.try_clone().unwrap();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 8];
        let n = b2.recv(&mut buf).unwrap();
        b2.send(&buf[..n]).unwrap();
    });
    a.send(b"echo").unwrap();
    let mut buf = [0u8; 8];
    let n = a.peek(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"echo");
    assert_eq!(a.recv(&mut buf).unwrap(), 4);
    h.join().unwrap();
}

#[test]
fn nonblocking_and_options() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_nonblocking(true).unwrap();
    let err = s.recv_from(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    s.set_broadcast(true).unwrap();
    assert!(s.broadcast().unwrap());
    s.set_ttl(7).unwrap();
    assert_eq!(s.ttl().unwrap(), 7);
    s.set_multicast_ttl_v4(3).unwrap();
    assert_eq!(s.multicast_ttl_v4().unwrap(), 3);
    s.set_multicast_loop_v4(false).unwrap();
    assert!(!s.multicast_loop_v4().unwrap());
    assert!(s.take_error().unwrap().is_none());
    assert!(s.peer_addr().is_err());
    s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    assert!(format!("{s:?}").contains("UdpSocket"));
    let err = s.send_to(b"x", &[][..]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

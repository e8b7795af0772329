//! green::net TCP: echo, EOF, half-close, peek, vectored I/O, try_clone from
//! two greenlets, refused connect, non-blocking mode, options, fd
//! conversions, host-name lookup, a greenlet woken by a write from
//! another OS thread, and a reset by the peer.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::time::{Duration, Instant};

use green::net::{SocketAddr, TcpListener, TcpStream};
use green::thread;

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

#[test]
fn echo_and_eof() {
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let (mut s, peer) = l.accept().unwrap();
        assert_eq!(s.peer_addr().unwrap(), peer);
        let mut buf = [0u8; 64];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                return "eof";
            }
            s.write_all(&buf[..n]).unwrap();
        }
    });
    let mut c = TcpStream::connect(addr).unwrap();
    assert_eq!(c.peer_addr().unwrap(), addr);
    for i in 0..100u32 {
        let msg = format!("hello {i}");
        c.write_all(msg.as_bytes()).unwrap();
        let mut back = vec![0u8; msg.len()];
        c.read_exact(&mut back).unwrap();
        assert_eq!(back, msg.as_bytes());
    }
    drop(c);
    assert_eq!(server.join().unwrap(), "eof");
}

#[test]
fn many_clients_one_hub() {
    let (l, addr) = listener();
    let _server = thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            thread::spawn(move || {
                let mut buf = [0u8; 256];
                loop {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).unwrap();
                }
            });
        }
    });
    let clients: Vec<_> = (0..200u32)
        .map(|i| {
            thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                for j in 0..20u32 {
                    let msg = format!("{i}:{j}");
                    c.write_all(msg.as_bytes()).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    c.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg.as_bytes());
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

#[test]
fn half_close() {
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        // The client's write half is shut; ours still works.
        s.write_all(&all).unwrap();
        s.write_all(b"!").unwrap();
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(b"half").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let err = c.write(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    let mut back = String::new();
    c.read_to_string(&mut back).unwrap();
    assert_eq!(back, "half!");
    // EOF again.
    assert_eq!(c.read(&mut [0u8; 8]).unwrap(), 0);
    server.join().unwrap();
}

#[test]
fn peek_then_read() {
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut buf = [0u8; 16];
        // peek waits greenly for data, then leaves it queued.
        let n = s.peek(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"peekaboo");
        let mut all = [0u8; 8];
        (&s).read_exact(&mut all).unwrap();
        assert_eq!(&all, b"peekaboo");
    });
    thread::sleep(Duration::from_millis(20));
    let mut c = TcpStream::connect(addr).unwrap();
    thread::sleep(Duration::from_millis(20));
    c.write_all(b"peekaboo").unwrap();
    server.join().unwrap();
}

#[test]
fn vectored() {
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let (mut a, mut b) = ([0u8; 3], [0u8; 5]);
        let mut got = 0;
        while got < 8 {
            let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
            let n = s.read_vectored(&mut bufs).unwrap();
            assert!(n > 0);
            got += n;
            if got < 8 {
                // Rare: the two writes arrived apart; keep it simple.
                panic!("short vectored read: {n}");
            }
        }
        [a.to_vec(), b.to_vec()].concat()
    });
    let mut c = TcpStream::connect(addr).unwrap();
    let n = c
        .write_vectored(&[IoSlice::new(b"abc"), IoSlice::new(b"defgh")])
        .unwrap();
    assert_eq!(n, 8);
    assert_eq!(server.join().unwrap(), b"abcdefgh");
}

#[test]
fn try_clone_from_two_greenlets() {
    let (l, addr) = listener();
    let server = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 1024];
        let mut total = 0;
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
            s.write_all(&buf[..n]).unwrap();
        }
        total
    });
    let c = TcpStream::connect(addr).unwrap();
    let mut reader = c.try_clone().unwrap();
    let mut writer = c.try_clone().unwrap();
    // The reader waits in `read` on the shared registration while the
    // writer runs in another greenlet.
    let r = thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() < 100_000 {
            let n = reader.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let w = thread::spawn(move || {
        let chunk: Vec<u8> = (0..100u8).collect();
        for _ in 0..1000 {
            writer.write_all(&chunk).unwrap();
        }
        writer.shutdown(Shutdown::Write).unwrap();
    });
    w.join().unwrap();
    let got = r.join().unwrap();
    assert_eq!(got.len(), 100_000);
    assert!(got.chunks(100).all(|c| c == (0..100u8).collect::<Vec<_>>()));
    assert_eq!(server.join().unwrap(), 100_000);
    // The original handle still works after its clones are gone.
    assert_eq!(c.local_addr().unwrap().ip(), addr.ip());
    assert_eq!((&c).read(&mut [0u8; 4]).unwrap(), 0);
}

#[test]
fn refused_connect_matches_std() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let std_err = std::net::TcpStream::connect(addr).unwrap_err();
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(err.kind(), std_err.kind());
    assert_eq!(err.raw_os_error(), std_err.raw_os_error());
    let err = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn nonblocking_would_block_at_once() {
    let (l, addr) = listener();
    l.set_nonblocking(true).unwrap();
    let t0 = Instant::now();
    assert_eq!(l.accept().unwrap_err().kind(), io::ErrorKind::WouldBlock);
    let c = TcpStream::connect(addr).unwrap();
    // The connection is queued; a non-blocking accept gets it once the
    // handshake is done.
    let mut accepted = None;
    for _ in 0..100 {
        match l.accept() {
            Ok(p) => {
                accepted = Some(p.0);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("{e}"),
        }
    }
    let mut s = accepted.expect("accepted");
    c.set_nonblocking(true).unwrap();
    let t1 = Instant::now();
    assert_eq!(
        (&c).read(&mut [0u8; 8]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert!(t1.elapsed() < Duration::from_millis(500));
    assert!(t0.elapsed() < Duration::from_secs(2));
    s.write_all(b"x").unwrap();
    let mut buf = [0u8; 8];
    loop {
        match (&c).read(&mut buf) {
            Ok(n) => {
                assert_eq!(&buf[..n], b"x");
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    }
    // Back to blocking: read waits greenly again.
    c.set_nonblocking(false).unwrap();
    let w = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        s.write_all(b"y").unwrap();
        s
    });
    assert_eq!((&c).read(&mut buf).unwrap(), 1);
    assert_eq!(buf[0], b'y');
    drop(w.join().unwrap());
}

#[test]
fn options() {
    let (l, addr) = listener();
    let c = TcpStream::connect(addr).unwrap();
    let (s, _) = l.accept().unwrap();
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    c.set_ttl(42).unwrap();
    assert_eq!(c.ttl().unwrap(), 42);
    l.set_ttl(43).unwrap();
    assert_eq!(l.ttl().unwrap(), 43);
    c.set_linger(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(1)));
    assert!(c.take_error().unwrap().is_none());
    assert!(l.take_error().unwrap().is_none());
    assert_eq!(s.local_addr().unwrap(), addr);
    assert_eq!(c.read_timeout().unwrap(), None);
    c.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    // Clones share the timeouts, as std's dup'd sockets do.
    assert_eq!(
        c.try_clone().unwrap().read_timeout().unwrap(),
        Some(Duration::from_millis(5))
    );
    let dbg = format!("{c:?}");
    assert!(dbg.contains("TcpStream"), "{dbg}");
    assert!(format!("{l:?}").contains("TcpListener"));
}

#[test]
fn fd_conversions() {
    let (l, addr) = listener();
    let c = TcpStream::connect(addr).unwrap();
    let (s, _) = l.accept().unwrap();
    // Into a std socket (back in blocking mode) and back.
    let fd = c.into_raw_fd();
    // SAFETY: `fd` was just given up by `into_raw_fd` and is owned here.
    let mut std_c = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    std_c.write_all(b"std").unwrap();
    let owned = OwnedFd::from(std_c);
    let mut c = TcpStream::from(owned);
    let mut s2 = s.try_clone().unwrap();
    let mut buf = [0u8; 3];
    s2.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"std");
    s2.write_all(b"ok").unwrap();
    let mut buf = [0u8; 2];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ok");
    // A shared socket gives up a duplicate; the clone keeps working.
    let raw = s.as_raw_fd();
    let dup: OwnedFd = s.into();
    assert_ne!(dup.as_raw_fd(), raw);
    s2.write_all(b"!").unwrap();
    c.read_exact(&mut buf[..1]).unwrap();
    assert_eq!(buf[0], b'!');
    // FromRawFd on a listener.
    let lfd = l.into_raw_fd();
    // SAFETY: `lfd` was just given up by `into_raw_fd` and is owned here.
    let l = unsafe { TcpListener::from_raw_fd(lfd) };
    let _c2 = TcpStream::connect(addr).unwrap();
    l.accept().unwrap();
}

#[test]
fn host_name_is_resolved_on_the_pool() {
    let (l, addr) = listener();
    let port = addr.port();
    let t = thread::spawn(move || l.accept().map(|_| ()));
    // "localhost" is a host name: it is looked up on the blocking-call
    // pool while this greenlet waits.
    let c = TcpStream::connect(("localhost", port))
        .or_else(|_| TcpStream::connect(format!("127.0.0.1:{port}")))
        .unwrap();
    assert!(green::tpool::threads() >= 1);
    t.join().unwrap().unwrap();
    drop(c);
    let err = TcpStream::connect("no-such-host.invalid:80").unwrap_err();
    let std_err = std::net::TcpStream::connect("no-such-host.invalid:80").unwrap_err();
    assert_eq!(err.kind(), std_err.kind());
    let err = TcpStream::connect(&[][..]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn read_woken_by_write_from_another_os_thread() {
    let (l, addr) = listener();
    let client = TcpStream::connect(addr).unwrap();
    let (server, _) = l.accept().unwrap();
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 5];
        let t0 = Instant::now();
        (&server).read_exact(&mut buf).unwrap();
        (buf, t0.elapsed())
    });
    // A plain OS thread writes through the green stream registered on this
    // thread's hub; the greenlet parked in `read` is woken by the hub.
    let os = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        (&client).write_all(b"hello").unwrap();
        client
    });
    let (buf, waited) = reader.join().unwrap();
    assert_eq!(&buf, b"hello");
    assert!(waited >= Duration::from_millis(40), "{waited:?}");
    drop(os.join().unwrap());
}

#[test]
fn greenlet_on_another_thread_reads_a_socket_from_this_hub() {
    let (l, addr) = listener();
    let mut client = TcpStream::connect(addr).unwrap();
    let (server, _) = l.accept().unwrap();
    // An OS thread (with its own hub) reads a stream registered here: its
    // root context is woken through this hub, which runs while we wait.
    let os = std::thread::spawn(move || {
        let mut buf = [0u8; 3];
        (&server).read_exact(&mut buf).unwrap();
        buf
    });
    thread::sleep(Duration::from_millis(30));
    client.write_all(b"abc").unwrap();
    while !os.is_finished() {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(&os.join().unwrap(), b"abc");
}

#[test]
fn socket_types_are_send_and_sync_as_std() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<TcpStream>();
    check::<TcpListener>();
    check::<green::net::UdpSocket>();
    check::<green::os::unix::net::UnixStream>();
    check::<green::os::unix::net::UnixListener>();
    check::<green::os::unix::net::UnixDatagram>();
    check::<green::net::Incoming<'static>>();
}

#[test]
fn killed_while_waiting_in_accept_and_read() {
    let (l, addr) = listener();
    let acceptor = thread::spawn(move || l.accept().map(|p| p.0));
    let c = TcpStream::connect(addr);
    // The acceptor got the connection; now kill a reader parked in `read`.
    let _server_side = acceptor.join().unwrap().unwrap();
    let c = c.unwrap();
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 8];
        (&c).read(&mut buf)
    });
    thread::sleep(Duration::from_millis(20));
    reader.kill();
    let r = reader.join();
    assert!(thread::is_greenlet_exit(&*r.unwrap_err()));
    // A listener parked in accept unwinds too, and its socket closes.
    let (l, addr) = listener();
    let acceptor = thread::spawn(move || l.accept().map(|_| ()));
    thread::sleep(Duration::from_millis(20));
    acceptor.kill();
    assert!(acceptor.join().is_err());
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn dropped_on_another_os_thread() {
    let (l, addr) = listener();
    let c = TcpStream::connect(addr).unwrap();
    let (s, _) = l.accept().unwrap();
    // Dropping a socket on another thread deregisters it there and leaves
    // the release of its readiness record to this hub.
    std::thread::spawn(move || drop(c)).join().unwrap();
    let mut buf = [0u8; 4];
    assert_eq!((&s).read(&mut buf).unwrap(), 0);
    for _ in 0..3 {
        thread::yield_now();
    }
    let c2 = TcpStream::connect(addr).unwrap();
    let (mut s2, _) = l.accept().unwrap();
    s2.write_all(b"ok").unwrap();
    (&c2).read_exact(&mut buf[..2]).unwrap();
    assert_eq!(&buf[..2], b"ok");
}

/// The peer resets the connection (SO_LINGER 0, then close) while we wait
/// in `read`: what was sent before still arrives, then the read fails with
/// `ConnectionReset`, as it does on a std socket, and the hub carries on.
#[test]
fn reset_by_peer_while_reading_matches_std() {
    fn reset(peer: std::net::TcpStream) {
        socket2::SockRef::from(&peer)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(peer);
    }

    // std, on OS threads.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 16];
        (
            s.read(&mut buf).unwrap(),
            s.read(&mut buf).map_err(|e| e.kind()),
        )
    });
    let mut peer = std::net::TcpStream::connect(addr).unwrap();
    peer.write_all(b"hi").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    reset(peer);
    let std_result = reader.join().unwrap();

    // green, with the reader a greenlet on this hub.
    let (l, addr) = listener();
    let reader = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 16];
        (
            s.read(&mut buf).unwrap(),
            s.read(&mut buf).map_err(|e| e.kind()),
        )
    });
    let ticker = thread::spawn(|| {
        for _ in 0..10 {
            thread::sleep(Duration::from_millis(5));
        }
    });
    let mut peer = std::net::TcpStream::connect(addr).unwrap();
    peer.write_all(b"hi").unwrap();
    // The reader takes "hi" and waits again.
    thread::sleep(Duration::from_millis(50));
    reset(peer);
    let green_result = reader.join().unwrap();
    ticker.join().unwrap();

    assert_eq!(std_result, (2, Err(io::ErrorKind::ConnectionReset)));
    assert_eq!(green_result, std_result);
}

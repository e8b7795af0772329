//! 9 000 concurrent TCP connections to one listener, in one process, on one
//! hub: 9 000 client sockets plus 9 000 accepted ones (and a greenlet each)
//! fit the default `ulimit -n` of 20 000 (10 000 pairs would need 20 000
//! descriptors and more). With a lower limit the test uses what fits.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};
use green::thread;

fn nofile_limit() -> usize {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) };
    assert_eq!(rc, 0);
    r.rlim_cur as usize
}

#[test]
fn nine_thousand_concurrent_connections() {
    let pairs = 9_000.min(nofile_limit().saturating_sub(600) / 2);
    eprintln!(
        "net_scale: {pairs} connections (RLIMIT_NOFILE {})",
        nofile_limit()
    );
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let open = Arc::new(AtomicUsize::new(0));
    let served = open.clone();
    let _server = thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            let served = served.clone();
            served.fetch_add(1, Ordering::SeqCst);
            thread::Builder::new()
                .stack_size(32 * 1024)
                .spawn(move || {
                    let mut buf = [0u8; 16];
                    loop {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => s.write_all(&buf[..n]).unwrap(),
                        }
                    }
                    served.fetch_sub(1, Ordering::SeqCst);
                })
                .unwrap();
        }
    });
    let t0 = Instant::now();
    let mut clients = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        clients.push(TcpStream::connect(addr).unwrap());
    }
    let connected = t0.elapsed();
    while open.load(Ordering::SeqCst) < pairs {
        thread::sleep(Duration::from_millis(5));
    }
    // Every connection is open at once; each echoes a byte.
    for (i, c) in clients.iter().enumerate() {
        (&*c).write_all(&[i as u8]).unwrap();
    }
    for (i, c) in clients.iter().enumerate() {
        let mut b = [0u8; 1];
        (&*c).read_exact(&mut b).unwrap();
        assert_eq!(b[0], i as u8);
    }
    let echoed = t0.elapsed();
    eprintln!("net_scale: connected in {connected:?}, all echoed by {echoed:?}");
    assert_eq!(open.load(Ordering::SeqCst), pairs);
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(30);
    while open.load(Ordering::SeqCst) > 0 {
        assert!(Instant::now() < deadline, "server greenlets did not end");
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        green::runtime::stats().greenlets,
        1,
        "only the accept loop is left"
    );
}

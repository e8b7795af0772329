//! A listener survives descriptor exhaustion: with `RLIMIT_NOFILE` lowered
//! (in this test binary's own process), `accept` hits `EMFILE`, backs off
//! greenly without spinning or returning the error, and accepts the rest
//! once descriptors are free again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};
use green::thread;

mod util;

fn cpu_time() -> Duration {
    // SAFETY: rusage is plain data; all zeros is a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we pass.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

#[test]
fn accept_backs_off_on_emfile_and_recovers() {
    const CLIENTS: usize = 150;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    // Room for the clients and 40 accepted sockets, no more.
    let limit = (util::open_fds() + 16 + CLIENTS + 40) as u64;
    let r = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit reads the struct we pass; this binary has this one
    // test, so nothing else in the process depends on the old limit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);

    // Every client connects first (the backlog holds them): the clients'
    // descriptors are taken before the server may use any.
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(TcpStream::connect(addr).unwrap());
    }
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    let server = thread::spawn(move || {
        let mut keep = Vec::new();
        while keep.len() < CLIENTS {
            // Never returns EMFILE: it waits until a descriptor is free.
            let (s, _) = l.accept().expect("accept returned an error");
            keep.push(s);
            a.fetch_add(1, Ordering::SeqCst);
        }
        keep.len()
    });
    // The server accepts until the limit, then backs off.
    let t0 = Instant::now();
    while accepted.load(Ordering::SeqCst) < 30 && t0.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    let stuck_at = accepted.load(Ordering::SeqCst);
    assert!(stuck_at < CLIENTS, "the limit was never hit");
    let cpu0 = cpu_time();
    let wall0 = Instant::now();
    thread::sleep(Duration::from_millis(400));
    let cpu = cpu_time() - cpu0;
    let wall = wall0.elapsed();
    // Backing off, not spinning: well under a tenth of a core.
    assert!(cpu < wall / 10, "accept spun: {cpu:?} CPU in {wall:?}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        stuck_at,
        "accepted past EMFILE?"
    );
    // Free descriptors: the pending connections are accepted.
    drop(clients);
    assert_eq!(server.join().unwrap(), CLIENTS);
}

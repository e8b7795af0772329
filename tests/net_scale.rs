//! Many concurrent TCP connections to one listener on one hub. In one
//! process: 9 000 concurrent TCP connections to one listener, on one
//! hub: 9 000 client sockets plus 9 000 accepted ones (and a greenlet each)
//! fit the default `ulimit -n` of 20 000 (10 000 pairs would need 20 000
//! descriptors and more). With clients in a child process: 10 000
//! connections to one listener whose process holds the 10 000 accepted
//! sockets. With a lower limit the tests use what fits.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};
use green::thread;

/// The two big tests would exceed the descriptor limit together: the
/// harness runs tests in parallel, so they take turns.
static BIG: std::sync::Mutex<()> = std::sync::Mutex::new(());

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

/// Starts an echo server greenlet (one small-stack greenlet per connection)
/// on 127.0.0.1:0; returns its address and the number of connections it
/// holds open.
fn counting_echo_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let open = Arc::new(AtomicUsize::new(0));
    let served = open.clone();
    thread::spawn(move || {
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
    (addr, open)
}

/// Sends one byte on every connection, then reads each echo back (the
/// clients are green or std streams).
fn echo_one_byte_each<S>(clients: &[S])
where
    for<'a> &'a S: Read + Write,
{
    for (i, c) in clients.iter().enumerate() {
        let mut c = c;
        c.write_all(&[i as u8]).unwrap();
    }
    for (i, c) in clients.iter().enumerate() {
        let mut b = [0u8; 1];
        let mut c = c;
        c.read_exact(&mut b).unwrap();
        assert_eq!(b[0], i as u8);
    }
}

#[test]
fn nine_thousand_concurrent_connections() {
    let _turn = BIG.lock().unwrap_or_else(|e| e.into_inner());
    let pairs = 9_000.min(nofile_limit().saturating_sub(600) / 2);
    eprintln!(
        "net_scale: {pairs} connections (RLIMIT_NOFILE {})",
        nofile_limit()
    );
    let (addr, open) = counting_echo_server();
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
    echo_one_byte_each(&clients);
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

/// The child half of `ten_thousand_connections_from_a_child_process`: plain
/// std clients, run in a process of their own so that the server process
/// holds 10 000 accepted sockets without the clients' 10 000.
#[test]
fn scale_child_clients() {
    let Ok(addr) = std::env::var("GREEN_SCALE_ADDR") else {
        return; // Run directly by the harness: nothing to do.
    };
    let n: usize = std::env::var("GREEN_SCALE_N").unwrap().parse().unwrap();
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(std::net::TcpStream::connect(&addr).unwrap());
    }
    echo_one_byte_each(&clients);
    println!("GREEN_SCALE_DONE");
    // Hold every connection open until the parent closes our stdin.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn ten_thousand_connections_from_a_child_process() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let _turn = BIG.lock().unwrap_or_else(|e| e.into_inner());
    let n = 10_000.min(nofile_limit().saturating_sub(600));
    let (addr, open) = counting_echo_server();
    let t0 = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "scale_child_clients",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GREEN_SCALE_ADDR", addr.to_string())
        .env("GREEN_SCALE_N", n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Reading the child's pipe blocks: it runs on the blocking-call pool
    // while this hub serves the 10 000 connections.
    let (done, mut stdout) = green::tpool::execute(move || {
        let mut r = std::io::BufReader::new(stdout);
        let mut line = String::new();
        while r.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("GREEN_SCALE_DONE") {
                return (true, r);
            }
            line.clear();
        }
        (false, r)
    });
    assert!(done, "the child clients failed");
    eprintln!(
        "net_scale: {n} connections from a child process echoed in {:?}; {} open at once",
        t0.elapsed(),
        open.load(Ordering::SeqCst)
    );
    assert_eq!(open.load(Ordering::SeqCst), n);
    drop(child.stdin.take());
    let status = green::tpool::execute(move || {
        // Drain the child's output (the harness's last lines) and reap it.
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        child.wait()
    })
    .unwrap();
    assert!(status.success(), "child: {status:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while open.load(Ordering::SeqCst) > 0 {
        assert!(Instant::now() < deadline, "server greenlets did not end");
        thread::sleep(Duration::from_millis(5));
    }
}

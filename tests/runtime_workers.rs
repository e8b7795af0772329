//! `workers = N`: several hubs on several OS threads, greenlets placed at
//! spawn. One test runs the cases in turn, so that no other runtime of this
//! binary's threads runs beside them and the thread count at the end is
//! this test's own.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::sync::{Arc, Mutex, mpsc};
use green::thread;

fn os_thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

fn hub_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.starts_with("green-hub-"))
        .count()
}

fn spread_over_every_hub() {
    assert_eq!(green::runtime::hubs(), 3);
    let handles: Vec<_> = (0..300u64)
        .map(|i| thread::spawn(move || (i * 2, os_thread_name())))
        .collect();
    let mut names = HashSet::new();
    for (i, h) in handles.into_iter().enumerate() {
        let (v, name) = h.join().unwrap();
        assert_eq!(v, i as u64 * 2);
        names.insert(name);
    }
    assert_eq!(names.len(), 3, "greenlets ran on {names:?}");
    assert!(
        names.contains("green-hub-1") && names.contains("green-hub-2"),
        "{names:?}"
    );
}

fn greenlets_on_workers_spread_too() {
    let inner = thread::spawn(|| {
        let hs: Vec<_> = (0..30).map(|_| thread::spawn(os_thread_name)).collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .collect::<HashSet<_>>()
            .len()
    });
    assert_eq!(inner.join().unwrap(), 3);
}

/// CPU time of this process so far (every thread, user and system).
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut u), 0);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Two greenlets on two hubs hand a message back and forth (each hand-over
/// a wake-up of the other hub); afterwards the idle hubs stop spinning for
/// wake-ups and block, so a quiet runtime costs no CPU.
fn ping_pong_across_hubs_then_idle() {
    let (to_echo, from_driver) = mpsc::channel::<u32>();
    let (to_driver, from_echo) = mpsc::channel::<u32>();
    // Consecutive spawns go to different hubs.
    let echo = thread::spawn(move || {
        let mut n = 0;
        for v in from_driver.iter() {
            to_driver.send(v + 1).unwrap();
            n += 1;
        }
        (n, os_thread_name())
    });
    let driver = thread::spawn(move || {
        for i in 0..5_000 {
            to_echo.send(i).unwrap();
            assert_eq!(from_echo.recv().unwrap(), i + 1);
        }
        os_thread_name()
    });
    let driver_thread = driver.join().unwrap();
    let (n, echo_thread) = echo.join().unwrap();
    assert_eq!(n, 5_000);
    assert_ne!(driver_thread, echo_thread, "both ran on one hub");

    let cpu0 = process_cpu();
    thread::sleep(Duration::from_millis(300));
    let idle_cpu = process_cpu() - cpu0;
    assert!(
        idle_cpu < Duration::from_millis(150),
        "idle hubs used {idle_cpu:?} of CPU in 300 ms: still spinning"
    );
}

fn locks_and_channels_across_hubs() {
    let counter = Arc::new(Mutex::new(0u32));
    let (tx, rx) = mpsc::channel();
    let handles: Vec<_> = (0..60)
        .map(|_| {
            let counter = counter.clone();
            let tx = tx.clone();
            thread::spawn(move || {
                for _ in 0..100 {
                    let mut g = counter.lock().unwrap();
                    *g += 1;
                    drop(g);
                    thread::yield_now();
                }
                tx.send(1u32).unwrap();
            })
        })
        .collect();
    drop(tx);
    assert_eq!(rx.iter().sum::<u32>(), 60);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), 6000);
}

fn kill_and_panic_across_hubs() {
    let sleepers: Vec<_> = (0..6)
        .map(|_| thread::spawn(|| thread::sleep(Duration::from_secs(3600))))
        .collect();
    thread::sleep(Duration::from_millis(20));
    let start = Instant::now();
    for h in &sleepers {
        h.kill();
    }
    for h in sleepers {
        assert!(thread::is_greenlet_exit(&*h.join().unwrap_err()));
    }
    assert!(start.elapsed() < Duration::from_secs(30));
    let boom: Vec<_> = (0..3)
        .map(|i| thread::spawn(move || -> u32 { panic!("boom {i}") }))
        .collect();
    for h in boom {
        assert!(h.join().is_err());
    }
}

fn spawn_local_stays_here() {
    let here = os_thread_name();
    let names: HashSet<_> = (0..10)
        .map(|_| thread::spawn_local(os_thread_name).join().unwrap())
        .collect();
    assert_eq!(names, HashSet::from([here]));
}

fn sleepers_on_every_hub() {
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let hs: Vec<_> = (0..3000)
        .map(|_| {
            let done = done.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), 3000);
    assert!(start.elapsed() < Duration::from_secs(20));
}

fn tcp_served_across_hubs() {
    use std::io::{Read, Write};
    // The listener lives on this hub; each accepted stream is served by a
    // greenlet placed on some hub, and the clients are spread too.
    let listener = green::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let clients = 150;
    let server = thread::spawn(move || {
        let mut handlers = Vec::new();
        for _ in 0..clients {
            let (mut stream, _) = listener.accept().unwrap();
            handlers.push(thread::spawn(move || {
                let mut buf = [0u8; 64];
                loop {
                    let n = stream.read(&mut buf).unwrap();
                    if n == 0 {
                        break os_thread_name();
                    }
                    stream.write_all(&buf[..n]).unwrap();
                }
            }));
        }
        handlers
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<HashSet<_>>()
            .len()
    });
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            thread::spawn(move || {
                let mut s = green::net::TcpStream::connect(addr).unwrap();
                for round in 0..5u8 {
                    let msg = [i as u8, round, 7];
                    s.write_all(&msg).unwrap();
                    let mut back = [0u8; 3];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        server.join().unwrap(),
        3,
        "handlers did not run on every hub"
    );
}

#[test]
fn workers_run_greenlets_on_several_hubs() {
    assert_eq!(green::runtime::hubs(), 1);
    green::runtime::Builder::new().workers(3).run(|| {
        spread_over_every_hub();
        greenlets_on_workers_spread_too();
        locks_and_channels_across_hubs();
        ping_pong_across_hubs_then_idle();
        kill_and_panic_across_hubs();
        spawn_local_stays_here();
        sleepers_on_every_hub();
        tcp_served_across_hubs();
    });
    assert_eq!(green::runtime::hubs(), 1);
    // Outside the runtime, greenlets stay on this thread again.
    let here = os_thread_name();
    assert_eq!(thread::spawn(os_thread_name).join().unwrap(), here);
    // The worker threads end.
    let deadline = Instant::now() + Duration::from_secs(10);
    while hub_threads() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(hub_threads(), 0, "worker hub threads still running");
}

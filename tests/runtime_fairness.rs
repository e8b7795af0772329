//! The cooperative budget: a greenlet whose operations never have to wait
//! (an unbounded `send`, a `try_recv` or `try_lock` in a loop, a socket
//! that always has data) still lets the other greenlets and the poller
//! run, as a thread would be preempted. Each of these loops spun forever
//! on one hub before the budget (std's own tests hang the same way).
//!
//! Every scenario runs under a watchdog: a regression fails in seconds
//! instead of hanging the suite.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use green::net::TcpListener;
use green::sync::{Mutex, mpsc};

/// Runs `f` on a runtime of one hub on its own OS thread; fails if it has
/// not returned within 20 s.
fn on_one_hub<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let r = green::runtime::Builder::new().run(f);
        let _ = tx.send(());
        r
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => t.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match t.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still spinning after 20 s (no cooperative yield)")
        }
    }
}

#[test]
fn unbounded_send_loop_lets_others_run() {
    let sent = on_one_hub("send loop", || {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let spinner = {
            let stop = stop.clone();
            green::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    tx.send(n).unwrap();
                    n += 1;
                }
                n
            })
        };
        let setter = green::thread::spawn(move || stop.store(true, Ordering::SeqCst));
        setter.join().unwrap();
        let n = spinner.join().unwrap();
        assert_eq!(rx.try_iter().count() as u64, n);
        n
    });
    assert!(sent > 0);
}

#[test]
fn try_recv_loop_lets_the_sender_run() {
    let got = on_one_hub("try_recv loop", || {
        let (tx, rx) = mpsc::channel();
        let receiver = green::thread::spawn(move || {
            loop {
                match rx.try_recv() {
                    Ok(v) => return v,
                    Err(mpsc::TryRecvError::Empty) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        });
        let sender = green::thread::spawn(move || tx.send(42u32).unwrap());
        sender.join().unwrap();
        receiver.join().unwrap()
    });
    assert_eq!(got, 42);
}

#[test]
fn try_lock_loop_lets_a_sleeping_holder_finish() {
    on_one_hub("try_lock loop", || {
        let m = Arc::new(Mutex::new(0u32));
        let held = Arc::new(AtomicBool::new(false));
        let holder = {
            let (m, held) = (m.clone(), held.clone());
            green::thread::spawn(move || {
                let mut g = m.lock().unwrap();
                held.store(true, Ordering::SeqCst);
                // A timer: fires only if the hub gets to poll.
                green::thread::sleep(Duration::from_millis(20));
                *g += 1;
            })
        };
        let spinner = {
            let (m, held) = (m.clone(), held.clone());
            green::thread::spawn(move || {
                while !held.load(Ordering::SeqCst) {
                    green::thread::yield_now();
                }
                loop {
                    if let Ok(g) = m.try_lock() {
                        return *g;
                    }
                }
            })
        };
        holder.join().unwrap();
        assert_eq!(spinner.join().unwrap(), 1);
    });
}

#[test]
fn a_reader_that_never_waits_lets_others_tick() {
    let ticks = on_one_hub("busy reader", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // A writer on another OS thread keeps the socket full, so the
        // reader's reads always find data.
        let writer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let chunk = vec![7u8; 64 * 1024];
            while s.write_all(&chunk).is_ok() {}
        });
        let (mut conn, _) = listener.accept().unwrap();
        let ticks = Arc::new(AtomicU64::new(0));
        let ticker = {
            let ticks = ticks.clone();
            green::thread::spawn(move || {
                for _ in 0..10 {
                    green::thread::sleep(Duration::from_millis(5));
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let reader = {
            let ticks = ticks.clone();
            green::thread::spawn(move || {
                let mut buf = [0u8; 1];
                let mut total = 0u64;
                // Reads until the ticker has ticked ten times: without a
                // budget, it never does.
                while ticks.load(Ordering::SeqCst) < 10 {
                    total += conn.read(&mut buf).unwrap() as u64;
                }
                drop(conn);
                total
            })
        };
        ticker.join().unwrap();
        let total = reader.join().unwrap();
        writer.join().unwrap();
        assert!(total > 0);
        ticks.load(Ordering::SeqCst)
    });
    assert_eq!(ticks, 10);
}

#[test]
fn accept_completes_while_another_greenlet_spins_on_try_recv() {
    on_one_hub("accept under a spinner", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let spinner = green::thread::spawn(move || {
            let mut spins = 0u64;
            while let Err(mpsc::TryRecvError::Empty) = rx.try_recv() {
                spins += 1;
            }
            spins
        });
        let client = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"hi").unwrap();
        });
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 2];
        conn.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        tx.send(()).unwrap();
        client.join().unwrap();
        // The spinner ends once told; how often it spun is timing (under
        // valgrind the connection may be there before it ever runs).
        spinner.join().unwrap();
    });
}

#[test]
fn spinning_on_once_lock_get_lets_the_initializer_run() {
    let v = on_one_hub("OnceLock::get spin", || {
        let cell = Arc::new(green::sync::OnceLock::new());
        let setter = {
            let cell = cell.clone();
            green::thread::spawn(move || {
                let _ = cell.set(7u32);
            })
        };
        // std's own tests spin like this, waiting for another thread.
        while cell.get().is_none() {}
        setter.join().unwrap();
        *cell.get().unwrap()
    });
    assert_eq!(v, 7);
}

#[test]
fn spinning_on_once_is_completed_lets_it_complete() {
    on_one_hub("Once::is_completed spin", || {
        let once = Arc::new(green::sync::Once::new());
        let runner = {
            let once = once.clone();
            green::thread::spawn(move || once.call_once(|| ()))
        };
        while !once.is_completed() {}
        runner.join().unwrap();
    });
}

//! green::thread: park, unpark, park_timeout; wake-ups across OS threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use green::thread;

#[test]
fn unpark_before_park_is_not_lost() {
    thread::current().unpark();
    let start = Instant::now();
    thread::park();
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn park_waits_for_unpark_from_another_greenlet() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let h = thread::spawn(move || {
        while !f.load(Ordering::SeqCst) {
            thread::park();
        }
    });
    thread::sleep(Duration::from_millis(20));
    assert!(!h.is_finished());
    flag.store(true, Ordering::SeqCst);
    h.thread().unpark();
    h.join().unwrap();
}

#[test]
fn park_timeout_returns_after_the_timeout() {
    let h = thread::spawn(|| {
        let start = Instant::now();
        thread::park_timeout(Duration::from_millis(30));
        start.elapsed()
    });
    assert!(h.join().unwrap() >= Duration::from_millis(30));
}

#[test]
fn greenlet_woken_by_a_plain_os_thread() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let h = thread::spawn(move || {
        while !f.load(Ordering::SeqCst) {
            thread::park();
        }
        "woken"
    });
    let target = h.thread().clone();
    let os = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        flag.store(true, Ordering::SeqCst);
        target.unpark();
    });
    // The root context runs the hub (blocked in epoll) until the remote
    // wake-up arrives.
    assert_eq!(h.join().unwrap(), "woken");
    os.join().unwrap();
}

#[test]
fn root_context_parks_and_is_woken_by_a_greenlet() {
    let me = thread::current();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        d.store(true, Ordering::SeqCst);
        me.unpark();
    });
    while !done.load(Ordering::SeqCst) {
        thread::park();
    }
    h.join().unwrap();
}

#[test]
fn two_hubs_wake_each_other() {
    // A greenlet on another OS thread's hub unparks one on this hub.
    let here = thread::spawn(|| {
        thread::park_timeout(Duration::from_secs(20));
        "parked greenlet returned"
    });
    let target = here.thread().clone();
    let other = std::thread::spawn(move || {
        let g = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            target.unpark();
        });
        g.join().unwrap();
    });
    let start = Instant::now();
    assert_eq!(here.join().unwrap(), "parked greenlet returned");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "woke by timeout, not by unpark"
    );
    other.join().unwrap();
}

//! green::thread: spawning, joining, names, ids, detaching.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::thread;

#[test]
fn spawn_and_join_returns_the_value() {
    let h = thread::spawn(|| 6 * 7);
    assert_eq!(h.join().unwrap(), 42);
}

#[test]
fn thousands_of_sleepers_run_concurrently() {
    let start = Instant::now();
    let handles: Vec<_> = (0..5000u64)
        .map(|i| {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(100));
                i
            })
        })
        .collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 4999 * 5000 / 2);
    // Run one after the other they would take 500 s.
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "sleeps did not overlap"
    );
}

#[test]
fn builder_names_the_greenlet_and_current_sees_it() {
    let h = thread::Builder::new()
        .name("worker-7".into())
        .stack_size(64 * 1024)
        .spawn(|| thread::current().name().map(str::to_owned))
        .unwrap();
    assert_eq!(h.thread().name(), Some("worker-7"));
    assert_eq!(h.join().unwrap().as_deref(), Some("worker-7"));
    let unnamed = thread::spawn(|| thread::current().name().is_none());
    assert!(unnamed.join().unwrap());
}

#[test]
fn ids_are_unique_and_stable() {
    let me = thread::current().id();
    assert_eq!(me, thread::current().id());
    let h = thread::spawn(|| thread::current().id());
    let child_seen = h.thread().id();
    let child = h.join().unwrap();
    assert_eq!(child, child_seen);
    assert_ne!(child, me);
}

#[test]
fn is_finished_flips_after_the_closure_returns() {
    let h = thread::spawn(|| thread::sleep(Duration::from_millis(20)));
    assert!(!h.is_finished());
    while !h.is_finished() {
        thread::sleep(Duration::from_millis(1));
    }
    h.join().unwrap();
}

#[test]
fn dropping_the_handle_detaches() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    drop(thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        r.fetch_add(1, Ordering::SeqCst);
    }));
    let deadline = Instant::now() + Duration::from_secs(10);
    while ran.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn spawn_local_takes_non_send_closures() {
    let shared = Rc::new(5);
    let s = shared.clone();
    let h = thread::spawn_local(move || Rc::new(*s + 1));
    assert_eq!(*h.join().unwrap(), 6);
    assert_eq!(Rc::strong_count(&shared), 1);
}

#[test]
fn spawn_later_waits_before_running() {
    let start = Instant::now();
    let h = thread::spawn_later(Duration::from_millis(50), move || start.elapsed());
    assert!(h.join().unwrap() >= Duration::from_millis(50));
}

#[test]
fn yield_now_interleaves_greenlets() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..2)
        .map(|g| {
            let log = log.clone();
            thread::spawn(move || {
                for i in 0..3 {
                    log.lock().unwrap().push((g, i));
                    thread::yield_now();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let log = log.lock().unwrap();
    assert_eq!(*log, vec![(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]);
}

#[test]
fn greenlets_spawn_greenlets() {
    fn tree(depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let a = thread::spawn(move || tree(depth - 1));
        let b = thread::spawn(move || tree(depth - 1));
        a.join().unwrap() + b.join().unwrap()
    }
    assert_eq!(thread::spawn(|| tree(10)).join().unwrap(), 1024);
}

#[test]
fn join_from_another_os_thread() {
    // The greenlet lives on this thread's hub; an OS thread joins it and is
    // woken through the hub's remote queue.
    let h = thread::spawn(|| {
        thread::sleep(Duration::from_millis(20));
        "done"
    });
    let joiner = std::thread::spawn(move || h.join().unwrap());
    // Run this hub until the greenlet finished.
    thread::sleep(Duration::from_millis(100));
    assert_eq!(joiner.join().unwrap(), "done");
}

#[test]
fn std_reexports_are_there() {
    assert!(thread::available_parallelism().unwrap().get() >= 1);
    assert!(!thread::panicking());
    let r: thread::Result<()> = Ok(());
    assert!(r.is_ok());
}

#[test]
fn spawn_unchecked_may_borrow_when_joined() {
    let data = String::from("abc");
    // SAFETY: joined below, before `data` is dropped.
    let h = unsafe { thread::Builder::new().spawn_unchecked(|| data.len()) }.unwrap();
    assert_eq!(h.join().unwrap(), 3);
}

#[test]
#[allow(deprecated)]
fn deprecated_std_items_are_mirrored() {
    let start = Instant::now();
    thread::sleep_ms(5);
    thread::park_timeout_ms(1);
    assert!(start.elapsed() >= Duration::from_millis(5));
}

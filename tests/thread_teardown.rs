//! Thread exit and runtime teardown: green calls from destructors that run
//! while (or after) the hub is torn down, greenlet-local destructors that
//! touch other keys, greenlets left on an exiting thread or on a worker hub
//! when `run` returns (killed and unwound: no frozen greenlet, no leaked
//! descriptor or stack). The cases that used to abort or leak run in a
//! child process, so that descriptor and map counts are the case's own.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::sync::mpsc;
use green::thread;

mod util;

const CHILD: &str = "GREEN_TEARDOWN_CASE";

/// Runs `case` in a child process (this test binary's `child_entry`),
/// killing it after `limit`; returns (success, stdout, stderr).
fn run_child(case: &str, limit: Duration) -> (bool, String, String) {
    util::run_child_case(CHILD, case, limit)
}

/// A destructor that makes green calls: `current`, `sleep`, `recv`.
struct GreenCallsOnDrop(&'static str);
impl Drop for GreenCallsOnDrop {
    fn drop(&mut self) {
        let _ = thread::current().id();
        thread::sleep(Duration::from_millis(1));
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(rx.recv().unwrap(), 7);
        println!("dropped {}", self.0);
    }
}

green::thread_local! {
    static GREEN_LOCAL: RefCell<Option<GreenCallsOnDrop>> = const { RefCell::new(None) };
}

std::thread_local! {
    static STD_LOCAL: RefCell<Option<GreenCallsOnDrop>> = const { RefCell::new(None) };
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Entry of the child process; does nothing in a normal test run.
#[test]
fn child_entry() {
    match std::env::var(CHILD).as_deref() {
        Ok("exit-calls") => {
            std::thread::spawn(|| {
                // A std thread-local made before the hub: destroyed after it.
                STD_LOCAL.with(|l| *l.borrow_mut() = Some(GreenCallsOnDrop("std local")));
                thread::yield_now();
                GREEN_LOCAL.with(|l| *l.borrow_mut() = Some(GreenCallsOnDrop("green local")));
            })
            .join()
            .unwrap();
            println!("survived");
        }
        Ok("exit-leaks") => {
            let dropped = Arc::new(AtomicUsize::new(0));
            // Warm up (std's own descriptors, the first hub's signal stack).
            std::thread::spawn(thread::yield_now).join().unwrap();
            let (f0, m0) = (util::open_fds(), util::memory_maps());
            for _ in 0..20 {
                let d = dropped.clone();
                std::thread::spawn(move || {
                    let h = thread::spawn(move || {
                        let _c = Counted(d);
                        thread::sleep(Duration::from_secs(3600));
                    });
                    thread::yield_now();
                    // Its handle outlives the hub, as a JoinHandle kept
                    // elsewhere would.
                    std::mem::forget(h);
                })
                .join()
                .unwrap();
            }
            let (f1, m1) = (util::open_fds(), util::memory_maps());
            println!(
                "fds {f0} -> {f1}, maps {m0} -> {m1}, dropped {}",
                dropped.load(Ordering::SeqCst)
            );
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                20,
                "destructors did not run"
            );
            assert!(f1 <= f0, "leaked descriptors: {f0} -> {f1}");
            // Under AddressSanitizer (scripts/asan.sh) the sanitizer's own
            // allocator maps memory as it goes: only the fds count there.
            if std::env::var_os("GREEN_ASAN").is_none() {
                assert!(m1 <= m0 + 4, "leaked maps: {m0} -> {m1}");
            }
            println!("survived");
        }
        Ok("workers") => {
            let dropped = Arc::new(AtomicUsize::new(0));
            let round = |dropped: &Arc<AtomicUsize>| {
                let handles = green::runtime::Builder::new().workers(2).run(|| {
                    let (tx, rx) = mpsc::channel();
                    let hs: Vec<_> = (0..4)
                        .map(|i| {
                            let tx = tx.clone();
                            let d = dropped.clone();
                            thread::spawn(move || {
                                let _c = Counted(d);
                                let on = std::thread::current().name().map(String::from);
                                tx.send((i, on)).unwrap();
                                thread::sleep(Duration::from_secs(3600));
                            })
                        })
                        .collect();
                    let mut names: Vec<_> = (0..4).map(|_| rx.recv().unwrap()).collect();
                    names.sort();
                    let names: Vec<_> = names.into_iter().map(|(_, n)| n).collect();
                    hs.into_iter().zip(names).collect::<Vec<_>>()
                });
                let mut on_worker = 0;
                for (h, name) in handles {
                    if name.as_deref() == Some("green-hub-1") {
                        on_worker += 1;
                        let err = h.join().unwrap_err();
                        assert!(thread::is_greenlet_exit(&*err));
                    } else {
                        h.kill();
                        let _ = h.join();
                    }
                }
                assert!(on_worker > 0, "no greenlet was placed on the worker");
            };
            round(&dropped);
            let (f0, m0) = (util::open_fds(), util::memory_maps());
            for _ in 0..5 {
                round(&dropped);
            }
            let (f1, m1) = (util::open_fds(), util::memory_maps());
            println!("fds {f0} -> {f1}, maps {m0} -> {m1}");
            assert_eq!(dropped.load(Ordering::SeqCst), 24);
            assert!(f1 <= f0, "leaked descriptors: {f0} -> {f1}");
            // Under AddressSanitizer (scripts/asan.sh) the sanitizer's own
            // allocator maps memory as it goes: only the fds count there.
            if std::env::var_os("GREEN_ASAN").is_none() {
                assert!(m1 <= m0 + 4, "leaked maps: {m0} -> {m1}");
            }
            println!("survived");
        }
        _ => {}
    }
}

#[test]
fn green_calls_in_destructors_at_thread_exit() {
    let (ok, out, err) = run_child("exit-calls", Duration::from_secs(30));
    assert!(
        ok && out.contains("survived"),
        "stdout: {out}\nstderr: {err}"
    );
    assert!(out.contains("dropped green local"), "stdout: {out}");
    assert!(out.contains("dropped std local"), "stdout: {out}");
}

#[test]
fn greenlets_left_on_an_exiting_thread_are_unwound() {
    let (ok, out, err) = run_child("exit-leaks", Duration::from_secs(60));
    assert!(
        ok && out.contains("survived"),
        "stdout: {out}\nstderr: {err}"
    );
}

#[test]
fn greenlets_left_on_a_worker_hub_are_unwound_when_run_returns() {
    let (ok, out, err) = run_child("workers", Duration::from_secs(60));
    assert!(
        ok && out.contains("survived"),
        "stdout: {out}\nstderr: {err}"
    );
}

struct TouchOnDrop;
impl Drop for TouchOnDrop {
    fn drop(&mut self) {
        // Creates the other key's value while the greenlet's values are
        // being dropped.
        BLOCKS.with(|_| ());
    }
}

struct BlockOnDrop;
impl Drop for BlockOnDrop {
    fn drop(&mut self) {
        thread::sleep(Duration::from_millis(30));
    }
}

green::thread_local! {
    static TOUCHES: TouchOnDrop = TouchOnDrop;
    static BLOCKS: BlockOnDrop = BlockOnDrop;
}

#[test]
fn a_local_destructor_that_creates_another_value_loses_no_wakeup() {
    let (tx, rx) = mpsc::channel();
    let _g = thread::spawn(|| TOUCHES.with(|_| ()));
    let _s = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(1).unwrap();
    });
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(Duration::from_secs(3)), Ok(1));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "the message sat in the channel for {:?}",
        start.elapsed()
    );
}

//! green::thread kill: unwinding from a blocking point, GreenletExit, and
//! stacks going back to the pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::thread;

struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn kill_unwinds_a_sleeping_greenlet_and_runs_destructors() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let h = thread::spawn(move || {
        let _guard = SetOnDrop(d);
        thread::sleep(Duration::from_secs(3600));
        unreachable!("the sleep was interrupted");
    });
    thread::sleep(Duration::from_millis(10));
    let start = Instant::now();
    h.kill();
    let err = h.join().unwrap_err();
    assert!(thread::is_greenlet_exit(&*err));
    assert!(err.downcast_ref::<thread::GreenletExit>().is_some());
    assert!(dropped.load(Ordering::SeqCst), "destructor did not run");
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn killed_before_start_never_runs() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = thread::spawn(move || r.store(true, Ordering::SeqCst));
    h.kill();
    assert!(thread::is_greenlet_exit(&*h.join().unwrap_err()));
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn kill_interrupts_park_and_join_and_yield() {
    let parked = thread::spawn(|| {
        loop {
            thread::park();
        }
    });
    let inner = thread::spawn(thread::park);
    let inner_thread = inner.thread().clone();
    let joiner = thread::spawn(move || inner.join().is_ok());
    let yielder = thread::spawn(|| {
        loop {
            thread::yield_now();
        }
    });
    thread::sleep(Duration::from_millis(10));
    for h in [&parked, &yielder] {
        h.kill();
    }
    joiner.kill();
    assert!(thread::is_greenlet_exit(&*parked.join().unwrap_err()));
    assert!(thread::is_greenlet_exit(&*yielder.join().unwrap_err()));
    assert!(thread::is_greenlet_exit(&*joiner.join().unwrap_err()));
    // `inner` (its handle died with `joiner`) still waits: let it finish.
    let live = green::runtime::stats().greenlets;
    inner_thread.unpark();
    thread::yield_now();
    assert_eq!(green::runtime::stats().greenlets, live - 1);
}

#[test]
fn kill_after_finish_does_nothing() {
    let h = thread::spawn(|| 7);
    while !h.is_finished() {
        thread::yield_now();
    }
    h.kill();
    assert_eq!(h.join().unwrap(), 7);
}

#[test]
fn killed_and_finished_greenlets_return_their_stacks() {
    // Warm the pool so the counts below are steady.
    let before = green::runtime::stats();
    let count = Arc::new(AtomicUsize::new(0));
    for round in 0..3 {
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let c = count.clone();
                thread::spawn(move || {
                    c.fetch_add(1, Ordering::SeqCst);
                    if i % 2 == 0 {
                        thread::sleep(Duration::from_secs(3600));
                    }
                })
            })
            .collect();
        thread::yield_now();
        let mid = green::runtime::stats();
        assert!(mid.greenlets >= 100, "round {round}: {mid:?}");
        for h in &handles {
            h.kill();
        }
        for h in handles {
            let _ = h.join();
        }
    }
    // Let the hub finish the killed greenlets.
    thread::yield_now();
    let after = green::runtime::stats();
    assert_eq!(
        after.greenlets, before.greenlets,
        "greenlets leaked: {after:?}"
    );
    // Three rounds of 200 reuse the same stacks: at most 200 were mapped.
    assert!(
        after.mapped_stacks - before.mapped_stacks <= 200,
        "{before:?} -> {after:?}"
    );
    assert_eq!(
        after.pooled_stacks - before.pooled_stacks,
        after.mapped_stacks - before.mapped_stacks
    );
    assert_eq!(
        after.timers, before.timers,
        "timers of killed sleeps were not cancelled"
    );
}

#[test]
fn link_runs_once_the_greenlet_ends_however_it_ends() {
    let (tx, rx) = green::sync::mpsc::channel::<&'static str>();
    // Returned: links run in order, after the result is ready.
    let h = thread::spawn(|| 1);
    let t = tx.clone();
    h.link(move || t.send("first").unwrap());
    let t = tx.clone();
    h.link(move || t.send("second").unwrap());
    assert_eq!(rx.recv().unwrap(), "first");
    assert_eq!(rx.recv().unwrap(), "second");
    assert!(h.is_finished());
    assert_eq!(h.join().unwrap(), 1);

    // Already finished: runs at once, on the caller.
    let h = thread::spawn(|| ());
    thread::sleep(Duration::from_millis(2));
    let t = tx.clone();
    h.link(move || t.send("at once").unwrap());
    assert_eq!(rx.try_recv(), Ok("at once"));
    h.join().unwrap();

    // Panicked, killed while running, killed before it started; a link
    // that panics does not stop the next one.
    let h = thread::spawn(|| panic!("expected by the test"));
    let t = tx.clone();
    h.link(move || t.send("after panic").unwrap());
    assert_eq!(rx.recv().unwrap(), "after panic");
    assert!(h.join().is_err());

    let h = thread::spawn(|| thread::sleep(Duration::from_secs(10)));
    thread::yield_now();
    h.link(|| panic!("a link that panics (expected by the test)"));
    let t = tx.clone();
    h.link(move || t.send("after kill").unwrap());
    h.kill();
    assert_eq!(rx.recv().unwrap(), "after kill");
    assert!(thread::is_greenlet_exit(&*h.join().unwrap_err()));

    let h = thread::spawn(|| ());
    let t = tx.clone();
    h.link(move || t.send("never started").unwrap());
    h.kill();
    assert_eq!(rx.recv().unwrap(), "never started");
    assert!(h.join().is_err());
    drop(tx);
    assert!(rx.recv().is_err(), "no link left holding a sender");
}

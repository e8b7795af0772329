//! green::timeout: Timeout and with_timeout.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use green::sync::mpsc;
use green::sync::{Arc, Mutex};
use green::thread;
use green::timeout::{Elapsed, Timeout, with_timeout};

mod util;
use util::assert_clean;

#[test]
fn with_timeout_interrupts_a_sleep() {
    let t0 = Instant::now();
    let r = with_timeout(Duration::from_millis(10), || {
        thread::sleep(Duration::from_secs(10));
        1
    });
    assert!(matches!(r, Err(Elapsed { .. })));
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(10) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(with_timeout(Duration::from_secs(1), || 5), Ok(5));
    assert_clean();
}

#[test]
fn timeout_guard_interrupts_recv_in_a_greenlet() {
    let (tx, rx) = mpsc::channel::<i32>();
    let h = thread::spawn(move || {
        let t = Timeout::start(Duration::from_millis(5));
        let r = panic::catch_unwind(AssertUnwindSafe(|| rx.recv()));
        match r {
            Err(p) => t.is_mine(&*p),
            Ok(_) => false,
        }
    });
    assert!(h.join().unwrap());
    drop(tx);
    assert_clean();
}

#[test]
fn uncaught_timeout_ends_the_greenlet_with_elapsed() {
    let m = Arc::new(Mutex::new(()));
    let held = m.lock().unwrap();
    let m2 = m.clone();
    let h = thread::spawn(move || {
        let _t = Timeout::start(Duration::from_millis(5));
        let _g = m2.lock().unwrap();
    });
    let err = h.join().unwrap_err();
    assert!(err.is::<Elapsed>());
    drop(held);
    // The timed-out waiter left the lock's queue.
    assert!(m.try_lock().is_ok());
    assert_clean();
}

#[test]
fn dropped_timeout_never_fires() {
    {
        let _t = Timeout::start(Duration::from_millis(2));
    }
    thread::sleep(Duration::from_millis(10));
    let t = Timeout::start(Duration::from_millis(1));
    // Let it fire while we do not block...
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(3) {}
    drop(t);
    // ...its pending payload was withdrawn: this sleep is not interrupted.
    thread::sleep(Duration::from_millis(1));
    assert_clean();
}

#[test]
fn pending_expiry_is_withdrawn_even_after_the_hub_ran() {
    let t = Timeout::start(Duration::from_millis(1));
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(3) {}
    // yield_now runs the hub, which fires the timer: this unwinds.
    let r = panic::catch_unwind(thread::yield_now);
    assert!(t.is_mine(&*r.unwrap_err()));
    drop(t);
    thread::sleep(Duration::from_millis(1));
    assert_clean();
}

#[test]
fn nested_timeouts_each_catch_their_own() {
    // Inner expires first: the inner with_timeout catches it.
    let r = with_timeout(Duration::from_secs(5), || {
        with_timeout(Duration::from_millis(5), || {
            thread::sleep(Duration::from_secs(5))
        })
    });
    assert!(matches!(r, Ok(Err(_))));
    // Outer expires first: the inner lets it through to the outer.
    let r = with_timeout(Duration::from_millis(5), || {
        with_timeout(Duration::from_secs(5), || {
            thread::sleep(Duration::from_secs(5))
        })
    });
    assert!(r.is_err());
    assert_clean();
}

#[test]
fn kill_wins_over_a_timeout() {
    let h = thread::spawn(|| {
        with_timeout(Duration::from_millis(5), || {
            thread::sleep(Duration::from_secs(5))
        })
    });
    thread::yield_now();
    h.kill();
    let e = h.join().unwrap_err();
    assert!(thread::is_greenlet_exit(&*e));
    assert_clean();
}

#[test]
fn timeout_on_an_os_thread_root_context() {
    let os = std::thread::spawn(|| {
        let (_tx, rx) = mpsc::channel::<()>();
        let r = with_timeout(Duration::from_millis(5), || rx.recv());
        r.is_err()
    });
    assert!(os.join().unwrap());
}

#[test]
fn every_kind_of_wait_is_interruptible() {
    use green::event::{AsyncResult, Event};
    use green::pool::Pool;
    use green::queue::Queue;
    use green::sync::{Barrier, Condvar, RwLock, Semaphore};
    let ms = Duration::from_millis(3);

    let pair = (Mutex::new(()), Condvar::new());
    assert!(with_timeout(ms, || pair.1.wait(pair.0.lock().unwrap()).map(drop)).is_err());
    assert!(
        !pair.0.is_poisoned(),
        "the condvar wait held no guard when it unwound"
    );

    let rw = RwLock::new(0);
    let w = rw.write().unwrap();
    assert!(with_timeout(ms, || drop(rw.read())).is_err());
    drop(w);
    assert!(
        rw.try_write().is_ok(),
        "the timed-out reader left the queue"
    );

    let sem = Semaphore::new(0);
    assert!(with_timeout(ms, || sem.acquire()).is_err());
    assert_eq!(sem.waiting(), 0);

    let q: Queue<u8> = Queue::new();
    assert!(with_timeout(ms, || q.get()).is_err());
    assert_eq!(q.getters(), 0);

    let ev = Event::new();
    assert!(with_timeout(ms, || ev.wait()).is_err());
    let r: AsyncResult<u8> = AsyncResult::new();
    assert!(with_timeout(ms, || r.get().ok()).is_err());

    let b = Barrier::new(2);
    assert!(with_timeout(ms, || b.wait()).is_err());

    let pool = Pool::new(1);
    let busy = pool.spawn(|| thread::sleep(Duration::from_millis(30)));
    assert!(
        with_timeout(ms, || pool.spawn(|| ())).is_err(),
        "spawn parked on a full pool"
    );
    busy.join().unwrap();

    let (tx, rx) = mpsc::sync_channel::<u8>(0);
    assert!(with_timeout(ms, || tx.send(1)).is_err());
    drop(rx);
    let h = thread::spawn(|| 1);
    assert_eq!(with_timeout(ms, || h.join().unwrap()), Ok(1));
    assert_clean();
}

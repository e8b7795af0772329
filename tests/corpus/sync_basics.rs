//! std::sync: Mutex, Condvar, RwLock, Barrier, Once, OnceLock, poisoning,
//! and mpsc channels (unbounded, bounded, rendezvous, timeouts).
//!
//! `main` asserts the behaviour and returns a transcript of it, one line per
//! observable result, that must not depend on timing or scheduling.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Barrier, Condvar, Mutex, Once, OnceLock, RwLock, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).unwrap()
    };
}

pub(crate) fn main() -> String {
    let mut out = String::new();
    mutex_counts(&mut out);
    condvar_hands_over(&mut out);
    rwlock_readers_and_writer(&mut out);
    barrier_releases_all(&mut out);
    once_runs_once(&mut out);
    poisoning(&mut out);
    channels(&mut out);
    bounded_channels(&mut out);
    timeouts(&mut out);
    out
}

fn mutex_counts(out: &mut String) {
    let counter = Arc::new(Mutex::new(0u32));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let c = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..100 {
                    let mut g = c.lock().unwrap();
                    let v = *g;
                    thread::yield_now(); // hold the lock across a switch
                    *g = v + 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = *counter.lock().unwrap();
    assert_eq!(total, 5000);
    say!(out, "mutex: 50 threads x 100 increments = {total}");
    assert!(counter.try_lock().is_ok());
    say!(out, "mutex: try_lock when free is_ok true");
    let held = counter.lock().unwrap();
    let busy = matches!(counter.try_lock(), Err(TryLockError::WouldBlock));
    assert!(busy);
    say!(out, "mutex: try_lock when held is WouldBlock {busy}");
    drop(held);
    say!(out, "mutex: poisoned {}", counter.is_poisoned());
}

fn condvar_hands_over(out: &mut String) {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = Arc::clone(&pair);
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        *p2.0.lock().unwrap() = true;
        p2.1.notify_one();
    });
    let (lock, cvar) = &*pair;
    let ready = cvar.wait_while(lock.lock().unwrap(), |r| !*r).unwrap();
    assert!(*ready);
    say!(out, "condvar: wait_while saw ready = {}", *ready);
    drop(ready);
    h.join().unwrap();
    let (g, res) = cvar
        .wait_timeout(lock.lock().unwrap(), Duration::from_millis(10))
        .unwrap();
    assert!(res.timed_out());
    say!(
        out,
        "condvar: wait_timeout without notify timed_out {}, value {}",
        res.timed_out(),
        *g
    );
    drop(g);
}

fn rwlock_readers_and_writer(out: &mut String) {
    let lock = Arc::new(RwLock::new(vec![1]));
    let readers: Vec<_> = (0..10)
        .map(|_| {
            let l = Arc::clone(&lock);
            thread::spawn(move || l.read().unwrap().len())
        })
        .collect();
    lock.write().unwrap().push(2);
    let mut consistent = 0;
    for r in readers {
        let n = r.join().unwrap();
        // Whether a reader ran before or after the writer depends on
        // scheduling: only count that each saw a whole state.
        assert!(n == 1 || n == 2);
        consistent += 1;
    }
    say!(out, "rwlock: {consistent} readers saw a length of 1 or 2");
    let v = lock.read().unwrap().clone();
    assert_eq!(v, [1, 2]);
    say!(out, "rwlock: after the write {v:?}");
    let r1 = lock.read().unwrap();
    let r2 = lock.read().unwrap();
    say!(
        out,
        "rwlock: two read guards at once see {} and {}",
        r1.len(),
        r2.len()
    );
    let write_blocked = lock.try_write().is_err();
    assert!(write_blocked);
    say!(out, "rwlock: try_write while read is err {write_blocked}");
    drop((r1, r2));
    say!(
        out,
        "rwlock: try_write when free is_ok {}",
        lock.try_write().is_ok()
    );
}

fn barrier_releases_all(out: &mut String) {
    let barrier = Arc::new(Barrier::new(10));
    let leaders = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let b = Arc::clone(&barrier);
            let l = Arc::clone(&leaders);
            thread::spawn(move || {
                if b.wait().is_leader() {
                    l.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let joined = handles.into_iter().map(|h| h.join().unwrap()).count();
    let leaders = leaders.load(Ordering::SeqCst);
    assert_eq!(leaders, 1);
    say!(out, "barrier: {joined} threads released, {leaders} leader");
}

fn once_runs_once(out: &mut String) {
    static ONCE: Once = Once::new();
    static CELL: OnceLock<u32> = OnceLock::new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    say!(out, "once: completed before {}", ONCE.is_completed());
    let handles: Vec<_> = (0..10)
        .map(|i| {
            thread::spawn(move || {
                ONCE.call_once(|| {
                    RUNS.fetch_add(1, Ordering::SeqCst);
                });
                *CELL.get_or_init(|| i)
            })
        })
        .collect();
    let values: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    // Which thread won the OnceLock depends on scheduling: only that they
    // all agree goes in the transcript.
    let agree = values.windows(2).all(|w| w[0] == w[1]);
    assert!(agree);
    say!(out, "once: {} OnceLock readers agree {agree}", values.len());
    let runs = RUNS.load(Ordering::SeqCst);
    assert_eq!(runs, 1);
    say!(out, "once: call_once ran {runs} time(s)");
    assert!(ONCE.is_completed());
    say!(out, "once: completed after {}", ONCE.is_completed());
}

fn poisoning(out: &mut String) {
    let m = Arc::new(Mutex::new(1));
    let m2 = Arc::clone(&m);
    let joined = thread::spawn(move || {
        let _g = m2.lock().unwrap();
        panic!("expected panic in corpus: poison the mutex");
    })
    .join();
    say!(
        out,
        "poison: panicking holder joined is_err {}",
        joined.is_err()
    );
    assert!(m.is_poisoned());
    say!(out, "poison: is_poisoned {}", m.is_poisoned());
    say!(out, "poison: lock is_err {}", m.lock().is_err());
    say!(
        out,
        "poison: try_lock is Poisoned {}",
        matches!(m.try_lock(), Err(TryLockError::Poisoned(_)))
    );
    let g = m.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(*g, 1);
    say!(out, "poison: value recovered with into_inner {}", *g);
}

fn channels(out: &mut String) {
    let (tx, rx) = mpsc::channel();
    for i in 0..100 {
        let tx = tx.clone();
        thread::spawn(move || tx.send(i).unwrap());
    }
    drop(tx);
    let mut got: Vec<i32> = rx.iter().collect();
    // Arrival order depends on scheduling; the set does not.
    got.sort();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    say!(
        out,
        "channel: received {} values, sorted they are 0..100 {}",
        got.len(),
        got.iter().copied().eq(0..100)
    );
    let after = rx.recv();
    assert!(after.is_err(), "all senders gone");
    say!(out, "channel: recv with all senders gone {after:?}");
    say!(
        out,
        "channel: try_recv with all senders gone {:?}",
        rx.try_recv()
    );

    let (tx, rx) = mpsc::channel::<u8>();
    let empty = rx.try_recv();
    assert_eq!(empty, Err(TryRecvError::Empty));
    say!(out, "channel: try_recv on empty {empty:?}");
    tx.send(7).unwrap();
    tx.send(8).unwrap();
    say!(out, "channel: in order {:?} {:?}", rx.recv(), rx.try_recv());
    drop(rx);
    let sent = tx.send(1);
    assert!(sent.is_err(), "receiver gone");
    say!(
        out,
        "channel: send with receiver gone is_err {}, gives back {:?}",
        sent.is_err(),
        sent.err().map(|e| e.0)
    );
}

fn bounded_channels(out: &mut String) {
    let (tx, rx) = mpsc::sync_channel(2);
    let h = thread::spawn(move || {
        for i in 0..10 {
            tx.send(i).unwrap(); // blocks while two are queued
        }
    });
    thread::sleep(Duration::from_millis(10));
    let got: Vec<i32> = rx.iter().collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    say!(out, "sync_channel(2): received in order {got:?}");
    h.join().unwrap();

    let (tx, rx) = mpsc::sync_channel::<u8>(1);
    say!(out, "sync_channel(1): try_send {:?}", tx.try_send(1));
    say!(
        out,
        "sync_channel(1): try_send when full {:?}",
        tx.try_send(2)
    );
    say!(out, "sync_channel(1): recv {:?}", rx.recv());
    drop(rx);
    say!(
        out,
        "sync_channel(1): try_send with receiver gone {:?}",
        tx.try_send(3)
    );

    let (tx, rx) = mpsc::sync_channel(0); // rendezvous
    let h = thread::spawn(move || rx.recv().unwrap());
    tx.send("hand-off").unwrap();
    let handed = h.join().unwrap();
    assert_eq!(handed, "hand-off");
    say!(out, "sync_channel(0): rendezvous handed over {handed:?}");
}

fn timeouts(out: &mut String) {
    let (tx, rx) = mpsc::channel::<()>();
    let t0 = Instant::now();
    let first = rx.recv_timeout(Duration::from_millis(20));
    assert_eq!(first, Err(RecvTimeoutError::Timeout));
    say!(out, "recv_timeout: with a sender and no message {first:?}");
    let waited = t0.elapsed() >= Duration::from_millis(20);
    assert!(waited);
    say!(out, "recv_timeout: waited at least 20ms {waited}");
    drop(tx);
    let second = rx.recv_timeout(Duration::from_millis(20));
    assert_eq!(second, Err(RecvTimeoutError::Disconnected));
    say!(out, "recv_timeout: with no sender {second:?}");
}

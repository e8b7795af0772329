//! std::sync: Mutex, Condvar, RwLock, Barrier, Once, OnceLock, poisoning,
//! and mpsc channels (unbounded, bounded, rendezvous, timeouts).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Barrier, Condvar, Mutex, Once, OnceLock, RwLock};
use std::thread;
use std::time::{Duration, Instant};

pub(crate) fn main() {
    mutex_counts();
    condvar_hands_over();
    rwlock_readers_and_writer();
    barrier_releases_all();
    once_runs_once();
    poisoning();
    channels();
    bounded_channels();
    timeouts();
}

fn mutex_counts() {
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
    assert_eq!(*counter.lock().unwrap(), 5000);
    assert!(counter.try_lock().is_ok());
}

fn condvar_hands_over() {
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
    drop(ready);
    h.join().unwrap();
    let (g, res) = cvar
        .wait_timeout(lock.lock().unwrap(), Duration::from_millis(10))
        .unwrap();
    assert!(res.timed_out());
    drop(g);
}

fn rwlock_readers_and_writer() {
    let lock = Arc::new(RwLock::new(vec![1]));
    let readers: Vec<_> = (0..10)
        .map(|_| {
            let l = Arc::clone(&lock);
            thread::spawn(move || l.read().unwrap().len())
        })
        .collect();
    lock.write().unwrap().push(2);
    for r in readers {
        let n = r.join().unwrap();
        assert!(n == 1 || n == 2);
    }
    assert_eq!(*lock.read().unwrap(), [1, 2]);
}

fn barrier_releases_all() {
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
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(leaders.load(Ordering::SeqCst), 1);
}

fn once_runs_once() {
    static ONCE: Once = Once::new();
    static CELL: OnceLock<u32> = OnceLock::new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
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
    assert!(values.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    assert!(ONCE.is_completed());
}

fn poisoning() {
    let m = Arc::new(Mutex::new(1));
    let m2 = Arc::clone(&m);
    let _ = thread::spawn(move || {
        let _g = m2.lock().unwrap();
        panic!("expected panic in corpus: poison the mutex");
    })
    .join();
    assert!(m.is_poisoned());
    let g = m.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(*g, 1);
}

fn channels() {
    let (tx, rx) = mpsc::channel();
    for i in 0..100 {
        let tx = tx.clone();
        thread::spawn(move || tx.send(i).unwrap());
    }
    drop(tx);
    let mut got: Vec<i32> = rx.iter().collect();
    got.sort();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert!(rx.recv().is_err(), "all senders gone");

    let (tx, rx) = mpsc::channel::<u8>();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(rx);
    assert!(tx.send(1).is_err(), "receiver gone");
}

fn bounded_channels() {
    let (tx, rx) = mpsc::sync_channel(2);
    let h = thread::spawn(move || {
        for i in 0..10 {
            tx.send(i).unwrap(); // blocks while two are queued
        }
    });
    thread::sleep(Duration::from_millis(10));
    let got: Vec<i32> = rx.iter().collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    h.join().unwrap();

    let (tx, rx) = mpsc::sync_channel(0); // rendezvous
    let h = thread::spawn(move || rx.recv().unwrap());
    tx.send("hand-off").unwrap();
    assert_eq!(h.join().unwrap(), "hand-off");
}

fn timeouts() {
    let (tx, rx) = mpsc::channel::<()>();
    let t0 = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(t0.elapsed() >= Duration::from_millis(20));
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Disconnected)
    );
}

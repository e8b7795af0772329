//! Wake-ups across OS threads: greenlets on two hubs, and plain threads,
//! waking each other many times without losing a wake-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use green::thread;

/// Waits (parking) until `turn` holds `want`.
fn wait_for(turn: &AtomicU64, want: u64) {
    while turn.load(Ordering::Acquire) != want {
        thread::park_timeout(Duration::from_secs(10));
    }
}

#[test]
fn ping_pong_between_two_hubs() {
    const ROUNDS: u64 = 5_000;
    let turn = Arc::new(AtomicU64::new(0));
    let (to_b, from_a) = std::sync::mpsc::channel::<thread::Thread>();
    let (to_a, from_b) = std::sync::mpsc::channel::<thread::Thread>();

    // Hub B: a greenlet on another OS thread answers odd turns.
    let t = turn.clone();
    let other = std::thread::spawn(move || {
        let g = thread::spawn(move || {
            to_a.send(thread::current()).unwrap();
            let ping = from_a.recv().unwrap();
            for i in 0..ROUNDS {
                wait_for(&t, 2 * i + 1);
                t.store(2 * i + 2, Ordering::Release);
                ping.unpark();
            }
        });
        g.join().unwrap();
    });

    // Hub A (this thread): a greenlet plays even turns.
    let t = turn.clone();
    let ping = thread::spawn(move || {
        let pong = from_b.recv().unwrap();
        for i in 0..ROUNDS {
            t.store(2 * i + 1, Ordering::Release);
            pong.unpark();
            wait_for(&t, 2 * i + 2);
        }
    });
    to_b.send(ping.thread().clone()).unwrap();
    let start = std::time::Instant::now();
    ping.join().unwrap();
    other.join().unwrap();
    assert_eq!(turn.load(Ordering::Acquire), 2 * ROUNDS);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "a wake-up was lost"
    );
}

#[test]
fn many_os_threads_wake_many_greenlets() {
    const GREENLETS: usize = 200;
    const WAKES: u64 = 50;
    let counters: Arc<Vec<AtomicU64>> =
        Arc::new((0..GREENLETS).map(|_| AtomicU64::new(0)).collect());
    let handles: Vec<_> = (0..GREENLETS)
        .map(|i| {
            let c = counters.clone();
            thread::spawn(move || {
                // Each greenlet waits for WAKES increments made by others.
                while c[i].load(Ordering::Acquire) < WAKES {
                    thread::park_timeout(Duration::from_secs(10));
                }
            })
        })
        .collect();
    let targets: Arc<Vec<thread::Thread>> =
        Arc::new(handles.iter().map(|h| h.thread().clone()).collect());
    let wakers: Vec<_> = (0..4)
        .map(|w| {
            let c = counters.clone();
            let t = targets.clone();
            std::thread::spawn(move || {
                for _ in 0..WAKES {
                    for i in (w..GREENLETS).step_by(4) {
                        c[i].fetch_add(1, Ordering::AcqRel);
                        t[i].unpark();
                    }
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    let start = std::time::Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    for w in wakers {
        w.join().unwrap();
    }
    // Each greenlet needed WAKES/4 * 4 = WAKES increments from its waker;
    // had a wake-up been lost it would have sat out a 10 s park_timeout.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "a wake-up was lost"
    );
}

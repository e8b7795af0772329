//! Cross-hub stress: greenlets on several OS threads (each with its own
//! hub) and plain OS threads hammer the same primitives. A lost wake-up
//! shows up as a hang, which the watchdog turns into a failure.

use std::time::Duration;

use green::queue::Queue;
use green::sync::mpsc;
use green::sync::{Arc, Condvar, Mutex, RwLock, Semaphore};
use green::thread;

/// Runs `f` on a thread and fails if it does not finish in time.
fn watchdog(secs: u64, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => h.join().unwrap(),
        Err(_) => panic!("stress test hung (lost wake-up?)"),
    }
}

/// Spawns `hubs` OS threads, each running `per_hub` greenlets of `f(hub,
/// greenlet)`, and joins them all.
fn on_hubs(hubs: usize, per_hub: usize, f: impl Fn(usize, usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let threads: Vec<_> = (0..hubs)
        .map(|h| {
            let f = f.clone();
            std::thread::spawn(move || {
                let gs: Vec<_> = (0..per_hub)
                    .map(|g| {
                        let f = f.clone();
                        thread::spawn(move || f(h, g))
                    })
                    .collect();
                gs.into_iter().for_each(|g| g.join().unwrap());
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

#[test]
fn mutex_and_condvar_across_hubs() {
    watchdog(60, || {
        let state = Arc::new((Mutex::new((0u64, 0u64)), Condvar::new()));
        let s = state.clone();
        // Half the greenlets produce, half consume, across 3 hubs.
        on_hubs(3, 8, move |_, g| {
            let (m, cv) = &*s;
            for _ in 0..300 {
                if g % 2 == 0 {
                    let mut st = m.lock().unwrap();
                    st.0 += 1;
                    cv.notify_one();
                } else {
                    let mut st = cv.wait_while(m.lock().unwrap(), |st| st.0 == 0).unwrap();
                    st.0 -= 1;
                    st.1 += 1;
                }
                if g % 3 == 0 {
                    thread::yield_now();
                }
            }
        });
        assert_eq!(state.0.lock().unwrap().1, 3 * 4 * 300);
    });
}

#[test]
fn bounded_channels_across_hubs() {
    watchdog(60, || {
        let (tx, rx) = mpsc::sync_channel::<u64>(2);
        let rx = Arc::new(Mutex::new(rx));
        let total = Arc::new(Mutex::new(0u64));
        let t = total.clone();
        on_hubs(4, 6, move |h, g| {
            if (h + g) % 2 == 0 {
                for i in 0..500 {
                    tx.send(i).unwrap();
                }
            } else {
                for _ in 0..500 {
                    // The green Mutex serializes receivers across hubs.
                    let v = rx.lock().unwrap().recv().unwrap();
                    *t.lock().unwrap() += v;
                }
            }
        });
        assert_eq!(*total.lock().unwrap(), 12 * (499 * 500 / 2));
    });
}

#[test]
fn rendezvous_across_hubs_and_os_threads() {
    watchdog(60, || {
        let (tx, rx) = mpsc::sync_channel::<u32>(0);
        let senders: Vec<_> = (0..4)
            .map(|_| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let gs: Vec<_> = (0..5)
                        .map(|_| {
                            let tx = tx.clone();
                            thread::spawn(move || {
                                for i in 0..100 {
                                    tx.send(i).unwrap();
                                }
                            })
                        })
                        .collect();
                    gs.into_iter().for_each(|g| g.join().unwrap());
                })
            })
            .collect();
        drop(tx);
        let got: u32 = rx.iter().sum();
        senders.into_iter().for_each(|s| s.join().unwrap());
        assert_eq!(got, 20 * (99 * 100 / 2));
    });
}

#[test]
fn rwlock_semaphore_queue_across_hubs() {
    watchdog(60, || {
        let lock = Arc::new(RwLock::new(0u64));
        let sem = Arc::new(Semaphore::new(3));
        let q: Queue<u64> = Queue::bounded(5);
        let (l, s, q2) = (lock.clone(), sem.clone(), q.clone());
        let consumer = std::thread::spawn(move || (0..3 * 8 * 100).map(|_| q2.get()).sum::<u64>());
        on_hubs(3, 8, move |_, g| {
            for i in 0..100 {
                let _p = s.access();
                if (g + i) % 4 == 0 {
                    *l.write().unwrap() += 1;
                } else {
                    let _r = l.read().unwrap();
                    thread::yield_now();
                }
                q.put(1);
            }
        });
        assert_eq!(consumer.join().unwrap(), 3 * 8 * 100);
        assert_eq!(*lock.read().unwrap(), 3 * 8 * 100 / 4);
        assert_eq!(sem.available(), 3);
    });
}

#[test]
fn mutex_fast_and_slow_paths_under_parallel_os_threads() {
    watchdog(60, || {
        let m = Arc::new(Mutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        if (i + t) % 7 == 0
                            && let Ok(mut g) = m.try_lock()
                        {
                            *g += 1;
                            continue;
                        }
                        *m.lock().unwrap() += 1;
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*m.lock().unwrap(), 80_000);
    });
}

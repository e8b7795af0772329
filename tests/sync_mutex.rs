//! green::sync locks: Mutex, RwLock, Condvar, Semaphore.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::sync::{Arc, BoundedSemaphore, Condvar, Mutex, RwLock, Semaphore, TryLockError};
use green::thread;

/// Every greenlet of this thread's hub is gone and no timer is left.
mod util;
use util::assert_clean;

#[test]
fn many_greenlets_contend() {
    let m = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..100)
        .map(|_| {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..50 {
                    let mut g = m.lock().unwrap();
                    let v = *g;
                    // Switch while holding: everyone else queues.
                    thread::yield_now();
                    *g = v + 1;
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*m.lock().unwrap(), 5000);
    assert_clean();
}

// ANCHOR: mutex_os_thread
#[test]
fn greenlets_and_an_os_thread_share_a_mutex() {
    let m = Arc::new(Mutex::new(0u64));
    let m2 = m.clone();
    let os = std::thread::spawn(move || {
        for _ in 0..2000 {
            *m2.lock().unwrap() += 1;
        }
    });
    let hs: Vec<_> = (0..10)
        .map(|_| {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..200 {
                    let mut g = m.lock().unwrap();
                    *g += 1;
                    drop(g);
                    thread::yield_now();
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    os.join().unwrap();
    assert_eq!(*m.lock().unwrap(), 4000);
    assert_clean();
}
// ANCHOR_END: mutex_os_thread

#[test]
fn a_greenlet_waits_for_an_os_thread_holding_the_lock() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let m2 = m.clone();
    let g = m.lock().unwrap();
    let os = std::thread::spawn(move || {
        // Parks this OS thread (its root context) until the greenlet side
        // unlocks.
        m2.lock().unwrap().push("os");
    });
    std::thread::sleep(Duration::from_millis(30));
    drop(g);
    os.join().unwrap();
    let m3 = m.clone();
    let held = m.lock().unwrap();
    let h = thread::spawn(move || m3.lock().unwrap().push("greenlet"));
    thread::sleep(Duration::from_millis(5));
    assert!(!h.is_finished());
    drop(held);
    h.join().unwrap();
    assert_eq!(*m.lock().unwrap(), ["os", "greenlet"]);
    assert_clean();
}

// ANCHOR: fairness
#[test]
fn a_waiter_is_not_starved() {
    let m = Arc::new(Mutex::new(()));
    let rounds = Arc::new(AtomicUsize::new(0));
    let (m1, r1) = (m.clone(), rounds.clone());
    let hog = thread::spawn(move || {
        for _ in 0..1000 {
            let _g = m1.lock().unwrap();
            r1.fetch_add(1, Ordering::SeqCst);
            thread::yield_now();
        }
    });
    thread::yield_now();
    let (m2, r2) = (m.clone(), rounds.clone());
    let waiter = thread::spawn(move || {
        let _g = m2.lock().unwrap();
        r2.load(Ordering::SeqCst)
    });
    let got_in_at = waiter.join().unwrap();
    hog.join().unwrap();
    assert!(
        got_in_at <= 3,
        "the waiter got the lock only after {got_in_at} rounds"
    );
    assert_clean();
}
// ANCHOR_END: fairness

// ANCHOR: poisoning
#[test]
fn poisoning() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let r = thread::spawn(move || {
        let _g = m2.lock().unwrap();
        panic!("boom (expected by the test)");
    })
    .join();
    assert!(r.is_err());
    assert!(m.is_poisoned());
    let e = m.lock().unwrap_err();
    assert_eq!(**e.get_ref(), 1);
    drop(e);
    assert!(matches!(m.try_lock(), Err(TryLockError::Poisoned(_))));
    m.clear_poison();
    assert!(!m.is_poisoned());
    assert_eq!(*m.lock().unwrap(), 1);
    let m = Arc::try_unwrap(m).unwrap();
    assert_eq!(m.into_inner().unwrap(), 1);
    assert_clean();
}
// ANCHOR_END: poisoning

#[test]
fn try_lock_get_mut_into_inner() {
    let mut m = Mutex::new(String::from("a"));
    m.get_mut().unwrap().push('b');
    {
        let g = m.try_lock().unwrap();
        assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
        assert_eq!(*g, "ab");
    }
    assert_eq!(
        format!("{:?}", m),
        r#"Mutex { data: "ab", poisoned: false, .. }"#
    );
    assert_eq!(m.into_inner().unwrap(), "ab");
}

#[test]
fn a_killed_waiter_leaves_the_queue() {
    let m = Arc::new(Mutex::new(0));
    let g = m.lock().unwrap();
    let m1 = m.clone();
    let victim = thread::spawn(move || *m1.lock().unwrap() += 100);
    let m2 = m.clone();
    let other = thread::spawn(move || *m2.lock().unwrap() += 1);
    thread::sleep(Duration::from_millis(2));
    victim.kill();
    let r = victim.join();
    assert!(thread::is_greenlet_exit(&*r.unwrap_err()));
    drop(g);
    other.join().unwrap();
    assert_eq!(*m.lock().unwrap(), 1);
    assert!(!m.is_poisoned(), "a killed waiter never held the lock");
    assert_clean();
}

#[test]
fn a_waiter_killed_after_the_hand_off_passes_the_lock_on() {
    let m = Arc::new(Mutex::new(0));
    let g = m.lock().unwrap();
    let m1 = m.clone();
    let first = thread::spawn(move || *m1.lock().unwrap() += 100);
    let m2 = m.clone();
    let second = thread::spawn(move || *m2.lock().unwrap() += 1);
    thread::sleep(Duration::from_millis(2));
    // Hands the lock to `first`, which is killed before it runs.
    drop(g);
    first.kill();
    assert!(first.join().is_err());
    second.join().unwrap();
    assert_eq!(*m.lock().unwrap(), 1);
    assert_clean();
}

#[test]
fn holding_a_guard_across_a_blocking_call_keeps_the_hub_running() {
    let m = Arc::new(Mutex::new(0));
    let m1 = m.clone();
    let holder = thread::spawn(move || {
        let mut g = m1.lock().unwrap();
        thread::sleep(Duration::from_millis(20));
        *g += 1;
    });
    let others: Vec<_> = (0..10).map(|i| thread::spawn(move || i * 2)).collect();
    let sum: i32 = others.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 90);
    assert!(!holder.is_finished());
    holder.join().unwrap();
    assert_eq!(*m.lock().unwrap(), 1);
    assert_clean();
}

#[test]
fn rwlock_readers_share_writers_exclude() {
    let l = Arc::new(RwLock::new(0));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..10)
        .map(|_| {
            let (l, inside, max) = (l.clone(), inside.clone(), max.clone());
            thread::spawn(move || {
                let g = l.read().unwrap();
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(5));
                inside.fetch_sub(1, Ordering::SeqCst);
                *g
            })
        })
        .collect();
    let writers: Vec<_> = (0..5)
        .map(|_| {
            let (l, inside) = (l.clone(), inside.clone());
            thread::spawn(move || {
                let mut g = l.write().unwrap();
                assert_eq!(inside.load(Ordering::SeqCst), 0);
                let v = *g;
                thread::yield_now();
                *g = v + 1;
            })
        })
        .collect();
    readers.into_iter().for_each(|h| {
        h.join().unwrap();
    });
    writers.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*l.read().unwrap(), 5);
    assert!(max.load(Ordering::SeqCst) > 1, "readers did not overlap");
    assert_clean();
}

#[test]
fn rwlock_writer_is_not_starved_by_readers() {
    let l = Arc::new(RwLock::new(false));
    let stop = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..5)
        .map(|_| {
            let (l, stop) = (l.clone(), stop.clone());
            thread::spawn(move || {
                let mut rounds = 0;
                while !*l.read().unwrap() {
                    rounds += 1;
                    let _g = l.read().unwrap();
                    thread::yield_now();
                    if stop.load(Ordering::SeqCst) == 1 {
                        break;
                    }
                }
                rounds
            })
        })
        .collect();
    thread::yield_now();
    let t0 = Instant::now();
    *l.write().unwrap() = true;
    assert!(t0.elapsed() < Duration::from_millis(500));
    stop.store(1, Ordering::SeqCst);
    readers.into_iter().for_each(|h| {
        h.join().unwrap();
    });
    assert_clean();
}

#[test]
fn rwlock_poison_and_try() {
    let l = Arc::new(RwLock::new(1));
    {
        let _r = l.read().unwrap();
        assert!(l.try_read().is_ok());
        assert!(matches!(l.try_write(), Err(TryLockError::WouldBlock)));
    }
    let l2 = l.clone();
    let _ = thread::spawn(move || {
        let _w = l2.write().unwrap();
        panic!("boom (expected by the test)");
    })
    .join();
    assert!(l.is_poisoned());
    assert!(l.read().is_err());
    l.clear_poison();
    assert_eq!(*l.read().unwrap(), 1);
    assert_clean();
}

#[test]
fn rwlock_killed_writer_in_queue_lets_readers_in() {
    let l = Arc::new(RwLock::new(0));
    let r = l.read().unwrap();
    let l1 = l.clone();
    let writer = thread::spawn(move || *l1.write().unwrap() += 1);
    thread::sleep(Duration::from_millis(2));
    let l2 = l.clone();
    let reader = thread::spawn(move || *l2.read().unwrap());
    thread::sleep(Duration::from_millis(2));
    assert!(!reader.is_finished(), "reader queued behind the writer");
    writer.kill();
    assert!(writer.join().is_err());
    assert_eq!(reader.join().unwrap(), 0);
    drop(r);
    assert!(l.try_write().is_ok());
    assert_clean();
}

// ANCHOR: condvar
#[test]
fn condvar_producer_consumer() {
    let pair = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    let p2 = pair.clone();
    let consumer = thread::spawn(move || {
        let (m, cv) = &*p2;
        let mut got = Vec::new();
        while got.len() < 100 {
            let mut q = cv.wait_while(m.lock().unwrap(), |q| q.is_empty()).unwrap();
            got.append(&mut q);
        }
        got
    });
    let (m, cv) = &*pair;
    for i in 0..100 {
        m.lock().unwrap().push(i);
        cv.notify_one();
        if i % 7 == 0 {
            thread::yield_now();
        }
    }
    assert_eq!(consumer.join().unwrap(), (0..100).collect::<Vec<_>>());
    assert_clean();
}
// ANCHOR_END: condvar

#[test]
fn condvar_timeouts() {
    let m = Mutex::new(0);
    let cv = Condvar::new();
    let t0 = Instant::now();
    let (g, r) = cv
        .wait_timeout(m.lock().unwrap(), Duration::from_millis(20))
        .unwrap();
    assert!(r.timed_out());
    assert!(t0.elapsed() >= Duration::from_millis(20));
    drop(g);
    let (g, r) = cv
        .wait_timeout_while(m.lock().unwrap(), Duration::from_millis(10), |v| *v == 0)
        .unwrap();
    assert!(r.timed_out());
    assert_eq!(*g, 0);
    drop(g);
    assert_clean();
}

#[test]
fn condvar_with_an_os_thread() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = pair.clone();
    let os = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        *p2.0.lock().unwrap() = true;
        p2.1.notify_all();
    });
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let p = pair.clone();
            thread::spawn(move || {
                let (g, r) =
                    p.1.wait_timeout_while(p.0.lock().unwrap(), Duration::from_secs(5), |v| !*v)
                        .unwrap();
                assert!(*g);
                r.timed_out()
            })
        })
        .collect();
    for w in waiters {
        assert!(!w.join().unwrap());
    }
    os.join().unwrap();
    assert_clean();
}

#[test]
fn condvar_notification_to_a_killed_waiter_is_passed_on() {
    let pair = Arc::new((Mutex::new(0), Condvar::new()));
    let p1 = pair.clone();
    let victim = thread::spawn(move || {
        let g = p1.0.lock().unwrap();
        let _g = p1.1.wait(g).unwrap();
    });
    let p2 = pair.clone();
    let survivor = thread::spawn(move || {
        let g = p2.0.lock().unwrap();
        let g = p2.1.wait_while(g, |v| *v == 0).unwrap();
        *g
    });
    thread::sleep(Duration::from_millis(2));
    *pair.0.lock().unwrap() = 7;
    pair.1.notify_one(); // chooses the victim (FIFO)...
    victim.kill(); // ...which dies before acting on it
    assert!(victim.join().is_err());
    assert_eq!(survivor.join().unwrap(), 7);
    assert_clean();
}

#[test]
fn semaphore_limits_concurrency() {
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..20)
        .map(|_| {
            let (sem, inside, max) = (sem.clone(), inside.clone(), max.clone());
            thread::spawn(move || {
                let _p = sem.access();
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(1));
                inside.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(max.load(Ordering::SeqCst), 3);
    assert_eq!(sem.available(), 3);
    assert_clean();
}

#[test]
fn semaphore_timeout_and_bounded_release() {
    let sem = Semaphore::new(1);
    assert!(sem.try_acquire());
    assert!(sem.locked());
    let t0 = Instant::now();
    assert!(!sem.acquire_timeout(Duration::from_millis(10)));
    assert!(t0.elapsed() >= Duration::from_millis(10));
    assert_eq!(sem.waiting(), 0);
    sem.release();
    assert!(sem.acquire_timeout(Duration::from_millis(10)));

    let b = BoundedSemaphore::new(2);
    assert!(b.release().is_err(), "released above the initial value");
    b.acquire();
    assert!(b.release().is_ok());
    assert_eq!(b.available(), 2);
    assert_clean();
}

#[test]
fn semaphore_killed_waiter_leaves_no_trace() {
    let sem = Arc::new(Semaphore::new(0));
    let s1 = sem.clone();
    let victim = thread::spawn(move || s1.acquire());
    thread::sleep(Duration::from_millis(2));
    assert_eq!(sem.waiting(), 1);
    victim.kill();
    assert!(victim.join().is_err());
    assert_eq!(sem.waiting(), 0);
    sem.release();
    assert_eq!(sem.available(), 1);
    assert_clean();
}

#[test]
fn contention_across_two_hubs() {
    // Two OS threads, each with its own hub and 20 greenlets, on one lock.
    let m = Arc::new(Mutex::new(0u64));
    let hub = |m: Arc<Mutex<u64>>| {
        move || {
            let hs: Vec<_> = (0..20)
                .map(|_| {
                    let m = m.clone();
                    thread::spawn(move || {
                        for _ in 0..100 {
                            let mut g = m.lock().unwrap();
                            let v = *g;
                            thread::yield_now();
                            *g = v + 1;
                        }
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            assert_clean();
        }
    };
    let a = std::thread::spawn(hub(m.clone()));
    let b = std::thread::spawn(hub(m.clone()));
    a.join().unwrap();
    b.join().unwrap();
    assert_eq!(*m.lock().unwrap(), 4000);
}

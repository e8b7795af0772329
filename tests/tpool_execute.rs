//! green::tpool: values and panics come back, the hub keeps running while a
//! job blocks, the bound holds, a killed waiter unwinds at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use green::thread;
use green::tpool;

#[test]
fn value_panic_and_concurrency() {
    assert_eq!(tpool::execute(|| 6 * 7), 42);
    let r = std::panic::catch_unwind(|| tpool::execute(|| -> u32 { panic!("in the pool") }));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"in the pool"));

    // While the pool blocks an OS thread, greenlets on this hub run.
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let ticker = thread::spawn(move || {
        for _ in 0..10 {
            thread::sleep(Duration::from_millis(10));
            t.fetch_add(1, Ordering::Relaxed);
        }
    });
    tpool::execute(|| std::thread::sleep(Duration::from_millis(150)));
    // (At least a few ticks: a loaded machine may run the sleeps late.)
    assert!(ticks.load(Ordering::Relaxed) >= 3, "{ticks:?}");
    ticker.join().unwrap();

    // The bound holds: 6 jobs of 100 ms on 2 threads take 3 rounds.
    tpool::set_max_threads(2);
    assert_eq!(tpool::max_threads(), 2);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..6)
        .map(|_| {
            let (running, peak) = (running.clone(), peak.clone());
            thread::spawn(move || {
                tpool::execute(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(100));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let took = t0.elapsed();
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    assert!(took >= Duration::from_millis(290), "{took:?}");

    // A killed waiter unwinds at once; the job finishes unobserved.
    let h = thread::spawn(|| tpool::execute(|| std::thread::sleep(Duration::from_millis(300))));
    thread::sleep(Duration::from_millis(20));
    let t0 = Instant::now();
    h.kill();
    let r = h.join();
    assert!(r.is_err() && thread::is_greenlet_exit(&*r.unwrap_err()));
    assert!(t0.elapsed() < Duration::from_millis(250));
    tpool::set_max_threads(tpool::DEFAULT_MAX_THREADS);
}

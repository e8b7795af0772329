//! `GREEN_TPOOL_SIZE` bounds the blocking-call pool (read at first use, so
//! this test has a binary of its own).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use green::{thread, tpool};

#[test]
fn env_sets_the_bound_and_threads_start_lazily() {
    // SAFETY: no other thread of this process reads the environment now:
    // this binary's only test runs before the pool or a hub exists.
    unsafe { std::env::set_var("GREEN_TPOOL_SIZE", "3") };
    assert_eq!(tpool::max_threads(), 3);
    assert_eq!(tpool::threads(), 0, "threads start lazily");
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..9)
        .map(|i| {
            let (running, peak) = (running.clone(), peak.clone());
            thread::spawn(move || {
                tpool::execute(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i * 2
                })
            })
        })
        .collect();
    let sum: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, (0..9).map(|i| i * 2).sum());
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(tpool::threads(), 3);
}

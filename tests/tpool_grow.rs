//! The pool starts its first threads (one less than the cores) at once and
//! more only for jobs that wait: blocking jobs still run side by side up to
//! the bound, and short jobs do not crowd the cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use green::{thread, tpool};

/// One test, short jobs first: the pool is one per process, and threads
/// started for blocking jobs stay 10 s.
#[test]
fn short_jobs_use_few_threads_and_blocking_jobs_grow_the_pool() {
    short_jobs_use_few_threads();
    blocking_jobs_grow_the_pool_to_run_side_by_side();
}

fn blocking_jobs_grow_the_pool_to_run_side_by_side() {
    green::runtime::Builder::new().run(|| {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                thread::spawn(move || {
                    tpool::execute(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(200));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        // Each job that waited a millisecond started a thread: all eight
        // blocked at once (a loaded machine may start one a little late).
        assert!(
            peak.load(Ordering::SeqCst) >= 6,
            "peak {} of 8 blocking jobs ran at once",
            peak.load(Ordering::SeqCst)
        );
        assert!(tpool::threads() <= tpool::max_threads());
    });
}

fn short_jobs_use_few_threads() {
    green::runtime::Builder::new().run(|| {
        let hs: Vec<_> = (0..50)
            .map(|i| {
                thread::spawn(move || {
                    (0..200)
                        .map(|j| tpool::execute(move || i + j))
                        .sum::<usize>()
                })
            })
            .collect();
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), 200 * i + 199 * 200 / 2);
        }
        // How many threads short jobs need is a matter of timing (a job
        // that waits a millisecond on a loaded machine grows the pool), so
        // it is reported, not asserted; `cargo bench --bench fs` measures
        // what the policy is for.
        eprintln!(
            "{} pool threads after 10 000 short jobs ({} cores)",
            tpool::threads(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        assert!(tpool::threads() <= tpool::max_threads());
    });
}

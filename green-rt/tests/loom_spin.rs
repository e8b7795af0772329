//! Loom model of the spin lock (`src/rt/spin.rs`, compiled in as it is,
//! on loom's atomics and loom's checked cell).
//!
//! Mutual exclusion: loom's cell fails the model if any access to the
//! guarded value does not happen after the previous one, which catches a
//! lock that lets two holders in as well as an unlock or lock ordering too
//! weak to publish the holder's writes. A flag set inside the critical
//! section checks the exclusion directly too.
//!
//! Run with `scripts/loom.sh` (`RUSTFLAGS="--cfg loom"`).
#![cfg(loom)]

#[allow(dead_code, unused_imports)]
#[path = "../src/rt/loom.rs"]
mod loom;

#[path = "loom_support/sync.rs"]
mod sync;

use std::sync::Arc;

use ::loom::sync::atomic::{AtomicBool, Ordering};
use ::loom::thread;

use sync::spin::SpinLock;

/// The guarded value: a counter, and a flag that is set only inside the
/// critical section.
struct Shared {
    lock: SpinLock<u32>,
    inside: AtomicBool,
}

fn critical_section(s: &Shared) {
    let mut g = s.lock.lock();
    assert!(
        !s.inside.swap(true, Ordering::Relaxed),
        "two holders of the spin lock"
    );
    *g += 1;
    s.inside.store(false, Ordering::Relaxed);
}

/// Threads that each take the lock `rounds` times.
fn run(threads: usize, rounds: u32) {
    let mut model = ::loom::model::Builder::new();
    // A contender spins through its backoff rounds (a branch each) before
    // it yields: more branches per execution than loom's default allows.
    model.max_branches = 20_000;
    model.check(move || {
        let s = Arc::new(Shared {
            lock: SpinLock::new(0),
            inside: AtomicBool::new(false),
        });
        let ts: Vec<_> = (1..threads)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || {
                    for _ in 0..rounds {
                        critical_section(&s);
                    }
                })
            })
            .collect();
        for _ in 0..rounds {
            critical_section(&s);
        }
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(*s.lock.lock(), threads as u32 * rounds);
    });
}

/// Two threads, one critical section each (the contended path: a waiter
/// spins, backs off and yields while the other holds the lock).
#[test]
fn mutual_exclusion_two_threads() {
    run(2, 1);
}

/// Two threads, two critical sections each: a holder relocks right after
/// unlocking while the other spins.
#[test]
fn mutual_exclusion_relock() {
    run(2, 2);
}

// Three threads are out of reach: two contenders that spin and yield to
// each other make executions longer than loom explores in reasonable time.

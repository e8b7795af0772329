//! Loom model of a waiter's park/notify state machine (`src/rt/park.rs`,
//! compiled in as it is, on loom's atomics).
//!
//! The owner parks through [`ParkState::park`] until a condition holds;
//! other threads make it hold and unpark. A suspended owner is resumed the
//! way the hub resumes a greenlet: once per `unpark` that returned `true`
//! (loom's park token plays the ready-queue entry), or, for a root
//! context, by running until the state is notified. A lost wake-up leaves
//! the owner parked for good, which loom reports as a deadlock.
//!
//! Run with `scripts/loom.sh` (`RUSTFLAGS="--cfg loom"`).
#![cfg(loom)]

#[allow(dead_code, unused_imports)]
#[path = "../src/rt/loom.rs"]
mod loom;

#[allow(dead_code)]
#[path = "../src/rt/park.rs"]
mod park;

use std::sync::Arc;

use ::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use ::loom::thread;

use park::ParkState;

/// A waiter on a "hub" played by loom: resumed once per `unpark` that
/// returned `true`, which the model counts.
struct Waiter {
    state: ParkState,
    thread: thread::Thread,
    /// `unpark` calls that found the owner parked.
    resumes: AtomicUsize,
}

impl Waiter {
    fn current() -> Arc<Waiter> {
        Arc::new(Waiter {
            state: ParkState::new(),
            thread: thread::current(),
            resumes: AtomicUsize::new(0),
        })
    }

    /// The runtime's `Task::unpark`.
    fn unpark(&self) {
        if self.state.unpark() {
            self.resumes.fetch_add(1, Ordering::Relaxed);
            self.thread.unpark();
        }
    }

    /// Parks (as a greenlet) until `done`; returns how many times it
    /// suspended.
    fn park_until(&self, done: impl Fn() -> bool) -> usize {
        let mut suspends = 0;
        while !done() {
            self.state.park(|| {
                suspends += 1;
                thread::park();
            });
        }
        suspends
    }
}

/// An unpark racing the owner's park: the owner sees the condition.
#[test]
fn unpark_races_park() {
    ::loom::model(|| {
        let w = Waiter::current();
        let flag = Arc::new(AtomicBool::new(false));
        let t = {
            let (w, flag) = (w.clone(), flag.clone());
            thread::spawn(move || {
                flag.store(true, Ordering::Release);
                w.unpark();
            })
        };
        let suspends = w.park_until(|| flag.load(Ordering::Acquire));
        t.join().unwrap();
        // Every suspend was resumed by exactly one unpark, and no unpark
        // resumed an owner that was not suspended.
        assert_eq!(w.resumes.load(Ordering::Relaxed), suspends);
    });
}

/// A wake-up that comes before the park is kept: the park returns at once
/// (and consumes it: the next one parks).
#[test]
fn notify_before_park() {
    ::loom::model(|| {
        let w = Waiter::current();
        w.unpark();
        assert!(w.state.is_notified());
        w.state.park(|| panic!("parked with a wake-up pending"));
        assert!(!w.state.is_notified());
        let t = {
            let w = w.clone();
            thread::spawn(move || w.unpark())
        };
        let mut suspended = false;
        w.state.park(|| {
            suspended = true;
            thread::park();
        });
        t.join().unwrap();
        assert_eq!(w.resumes.load(Ordering::Relaxed), usize::from(suspended));
    });
}

/// Two unparkers, one of them stale (it changes nothing the owner waits
/// for, as a wake-up left over from an earlier wait does): the wake-up of
/// the one that matters must not be swallowed by the other.
#[test]
fn two_unparkers_one_stale() {
    ::loom::model(|| {
        let w = Waiter::current();
        let flag = Arc::new(AtomicBool::new(false));
        let stale = {
            let w = w.clone();
            thread::spawn(move || w.unpark())
        };
        let real = {
            let (w, flag) = (w.clone(), flag.clone());
            thread::spawn(move || {
                flag.store(true, Ordering::Release);
                w.unpark();
            })
        };
        let suspends = w.park_until(|| flag.load(Ordering::Acquire));
        stale.join().unwrap();
        real.join().unwrap();
        assert_eq!(w.resumes.load(Ordering::Relaxed), suspends);
    });
}

/// Two unparkers that each make half of the owner's condition hold.
#[test]
fn two_unparkers_both_needed() {
    ::loom::model(|| {
        let w = Waiter::current();
        let flags = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
        let ts: Vec<_> = (0..2)
            .map(|i| {
                let (w, flags) = (w.clone(), flags.clone());
                thread::spawn(move || {
                    flags[i].store(true, Ordering::Release);
                    w.unpark();
                })
            })
            .collect();
        let suspends = w.park_until(|| flags.iter().all(|f| f.load(Ordering::Acquire)));
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(w.resumes.load(Ordering::Relaxed), suspends);
    });
}

/// The root context does not suspend: its park runs the hub's loop until
/// its state is notified (`Hub::run_root`), here a loop that yields.
#[test]
fn root_context_runs_until_notified() {
    ::loom::model(|| {
        let state = Arc::new(ParkState::new());
        let flag = Arc::new(AtomicBool::new(false));
        let t = {
            let (state, flag) = (state.clone(), flag.clone());
            thread::spawn(move || {
                flag.store(true, Ordering::Release);
                // Whether it found the root parked or not, the root's loop
                // sees the state notified.
                state.unpark();
            })
        };
        while !flag.load(Ordering::Acquire) {
            state.park(|| {
                while !state.is_notified() {
                    thread::yield_now();
                }
            });
        }
        t.join().unwrap();
    });
}

/// A finished waiter ignores wake-ups: none reports it parked, and the
/// state stays done.
#[test]
fn done_absorbs_wakeups() {
    ::loom::model(|| {
        let w = Waiter::current();
        let flag = Arc::new(AtomicBool::new(false));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (w, flag) = (w.clone(), flag.clone());
                thread::spawn(move || {
                    flag.store(true, Ordering::Release);
                    w.unpark();
                })
            })
            .collect();
        let suspends = w.park_until(|| flag.load(Ordering::Acquire));
        w.state.set_done();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(w.resumes.load(Ordering::Relaxed), suspends);
        // Done: a later wake-up neither resumes nor leaves a notification.
        w.unpark();
        assert_eq!(w.resumes.load(Ordering::Relaxed), suspends);
        assert!(!w.state.is_notified());
    });
}

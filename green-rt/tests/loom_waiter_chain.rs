//! Loom models of the wait queues' pass-on paths with three waiters or
//! more on one lock: `src/rt/waiter.rs` compiled in as it is, on loom's
//! atomics, under the stand-in `crate::task` of `loom_support/task.rs`
//! (with the real park state), over a blocking stand-in for the spin lock
//! (`loom_support/blocking_lock.rs` says why; the spin lock is checked in
//! `loom_spin.rs`, and under the wait queues with two threads in
//! `loom_waiter.rs`).
//!
//! A grant or a notification that reaches a waiter as it is killed must be
//! passed on to the next waiter, which would otherwise stay parked for
//! good (loom reports that as a deadlock).
//!
//! Run with `scripts/loom.sh` (`RUSTFLAGS="--cfg loom"`).
#![cfg(loom)]

#[allow(dead_code, unused_imports)]
#[path = "../src/rt/loom.rs"]
mod loom;

#[allow(dead_code)]
#[path = "loom_support/sync_waiter_blocking.rs"]
mod sync;

#[allow(dead_code)]
#[path = "loom_support/task.rs"]
mod task;

#[allow(dead_code)]
#[path = "loom_support/prims.rs"]
mod prims;

use std::panic::{self, AssertUnwindSafe};

use ::loom::thread;
use prims::{Acquired, Semaphore, Tokens, spawn_waiter};
use sync::waiter;
use task::Task;

/// Two waiters; the first is killed while the holder releases: if the
/// grant reached the killed one, its release passes the permit to the
/// second, which must not be left parked (loom reports that as a
/// deadlock) and must never hold it together with anyone.
#[test]
fn grant_passed_on_to_next_waiter() {
    ::loom::model(|| {
        let sem = Semaphore::new(1);
        task::enter(&Task::new());
        assert_eq!(sem.acquire(None), Acquired::Yes);
        let (first, first_task) = {
            let sem = sem.clone();
            spawn_waiter(move || {
                let r = sem.acquire(None);
                if r == Acquired::Yes {
                    sem.release();
                }
                r
            })
        };
        // The second waiter queues behind the first (or takes the permit
        // if the first is gone by then).
        let (second, _) = {
            let sem = sem.clone();
            spawn_waiter(move || {
                let r = sem.acquire(None);
                assert_eq!(r, Acquired::Yes);
                sem.release();
            })
        };
        first_task.kill();
        sem.release();
        let r = first.join().unwrap();
        second.join().unwrap();
        assert_ne!(r, Acquired::TimedOut);
        sem.assert_settled();
    });
}

/// Two waiters for one token; the first is killed. If it was notified
/// before it unwound, its cleanup passes the notification on, so the second
/// still wakes and takes the token. (If the killed one took the token
/// before the kill landed, a second token is given.)
#[test]
fn condition_wait_passes_notification_on() {
    ::loom::model(|| {
        let tokens = Tokens::new();
        task::enter(&Task::new());
        let (first, first_task) = {
            let tokens = tokens.clone();
            spawn_waiter(move || panic::catch_unwind(AssertUnwindSafe(|| tokens.take())).is_ok())
        };
        let (second, _) = {
            let tokens = tokens.clone();
            spawn_waiter(move || tokens.take())
        };
        let giver = {
            let tokens = tokens.clone();
            thread::spawn(move || tokens.give())
        };
        first_task.kill();
        giver.join().unwrap();
        if first.join().unwrap() {
            // The first one took the token: the second needs another.
            tokens.give();
        }
        assert_eq!(second.join().unwrap(), Some(()));
        let s = waiter::lock(&tokens.state);
        assert_eq!(s.tokens, 0);
        assert!(s.waiters.is_empty());
    });
}

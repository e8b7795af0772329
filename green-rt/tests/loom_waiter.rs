//! Loom models of the wait queues' grant/abandon paths: `src/rt/waiter.rs`
//! compiled in as it is (with the real spin lock and, under the stand-in
//! `crate::task` of `loom_support/task.rs`, the real park state), on
//! loom's atomics.
//!
//! Hand-off ([`wait_grant`]): a semaphore built as the runtime's are
//! (`Semaphore`, `RawMutex`): a release pops the first waiter under the
//! lock and grants it the permit; a waiter that times out or is killed
//! abandons its place. A grant racing an abandon must be kept (timeout) or
//! passed on (kill) exactly once: at the end every permit is accounted for,
//! never two holders at once, no waiter left parked.
//!
//! Condition waits ([`wait_until`]): a waiter killed after being notified
//! passes the notification on, so the next waiter still wakes.
//!
//! Run with `scripts/loom.sh` (`RUSTFLAGS="--cfg loom"`).
#![cfg(loom)]

#[allow(dead_code, unused_imports)]
#[path = "../src/rt/loom.rs"]
mod loom;

#[allow(dead_code)]
#[path = "loom_support/sync_waiter.rs"]
mod sync;

#[allow(dead_code)]
#[path = "loom_support/task.rs"]
mod task;

#[allow(dead_code)]
#[path = "loom_support/prims.rs"]
mod prims;

use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use ::loom::thread;

use prims::{Acquired, Semaphore, Tokens, spawn_waiter};
use sync::waiter;
use task::Task;

/// A holder releases while the waiter's timer fires: the waiter either gets
/// the permit (granted before it abandoned: it keeps it) or times out (its
/// abandon took it off the queue first: the permit goes back).
#[test]
fn grant_races_timeout() {
    ::loom::model(|| {
        let sem = Semaphore::new(1);
        task::enter(&Task::new());
        assert_eq!(sem.acquire(None), Acquired::Yes);
        let (w, wt) = {
            let sem = sem.clone();
            spawn_waiter(move || {
                let r = sem.acquire(Some(Instant::now()));
                if r == Acquired::Yes {
                    sem.release();
                }
                r
            })
        };
        let timer = thread::spawn(move || wt.time_out());
        sem.release();
        timer.join().unwrap();
        let r = w.join().unwrap();
        assert_ne!(r, Acquired::Killed);
        sem.assert_settled();
    });
}

/// A holder releases while the waiter is killed: a grant that reached the
/// waiter first is released by its unwind and passed on.
#[test]
fn grant_races_kill() {
    ::loom::model(|| {
        let sem = Semaphore::new(1);
        task::enter(&Task::new());
        assert_eq!(sem.acquire(None), Acquired::Yes);
        let (w, wt) = {
            let sem = sem.clone();
            spawn_waiter(move || {
                let r = sem.acquire(None);
                if r == Acquired::Yes {
                    sem.release();
                }
                r
            })
        };
        let killer = thread::spawn(move || wt.kill());
        sem.release();
        killer.join().unwrap();
        let r = w.join().unwrap();
        assert_ne!(r, Acquired::TimedOut);
        sem.assert_settled();
    });
}

/// One waiter for a token, killed while the giver gives one: if it had
/// been notified, its cleanup passes the notification on (to no one here);
/// either it took the token or the token is still there, and the queue is
/// empty.
#[test]
fn condition_wait_killed_while_notified() {
    ::loom::model(|| {
        let tokens = Tokens::new();
        task::enter(&Task::new());
        let (w, wt) = {
            let tokens = tokens.clone();
            spawn_waiter(move || panic::catch_unwind(AssertUnwindSafe(|| tokens.take())).is_ok())
        };
        let killer = thread::spawn(move || wt.kill());
        tokens.give();
        killer.join().unwrap();
        let took = w.join().unwrap();
        let s = waiter::lock(&tokens.state);
        assert_eq!(s.tokens, usize::from(!took));
        assert!(s.waiters.is_empty());
    });
}

//! Loom models of the cross-hub wake-up: the hand-over handshake
//! (`src/rt/wake.rs`) between threads that give a hub work and the hub
//! going to sleep, with the hub's remote queue behind the real spin lock
//! (`src/rt/spin.rs`) and, on top, a waiter's park state
//! (`src/rt/park.rs`); all compiled in as they are, on loom's atomics.
//!
//! The hub's poll is played by a stand-in for the `mio::Waker`: an event
//! flag under a loom mutex and condvar, set by `wake` and consumed by a
//! poll, which blocks for it only when told it may (as `epoll_wait` with
//! the waker's eventfd registered). The hub's loop around it follows
//! `Hub::poll` and `Hub::drain_remote`. Work left in the queue while the
//! hub sleeps leaves the hub blocked for good, which loom reports as a
//! deadlock.
//!
//! Run with `scripts/loom.sh` (`RUSTFLAGS="--cfg loom"`).
#![cfg(loom)]

#[allow(dead_code, unused_imports)]
#[path = "../src/rt/loom.rs"]
mod loom;

#[path = "loom_support/sync.rs"]
mod sync;

#[allow(dead_code)]
#[path = "../src/rt/wake.rs"]
mod wake;

#[allow(dead_code)]
#[path = "../src/rt/park.rs"]
mod park;

use std::sync::Arc;

use ::loom::sync::atomic::{AtomicBool, Ordering};
use ::loom::sync::{Condvar, Mutex};
use ::loom::thread;

use park::ParkState;
use sync::spin::SpinLock;
use wake::Handshake;

/// The stand-in for the hub's `mio::Waker` and the wait in its poll.
struct Waker {
    event: Mutex<bool>,
    cv: Condvar,
}

impl Waker {
    fn wake(&self) {
        *self.event.lock().unwrap() = true;
        self.cv.notify_one();
    }

    /// A poll: blocks for the event if `may_block`; returns whether the
    /// event came (and consumes it).
    fn poll(&self, may_block: bool) -> bool {
        let mut event = self.event.lock().unwrap();
        while may_block && !*event {
            event = self.cv.wait(event).unwrap();
        }
        std::mem::take(&mut *event)
    }
}

/// The part of a hub other threads touch (the runtime's `Remote`).
struct Remote<T> {
    queue: SpinLock<Vec<T>>,
    wake: Handshake,
    waker: Waker,
}

impl<T> Remote<T> {
    fn new() -> Remote<T> {
        Remote {
            queue: SpinLock::new(Vec::new()),
            wake: Handshake::new(),
            waker: Waker {
                event: Mutex::new(false),
                cv: Condvar::new(),
            },
        }
    }

    /// `Remote::push` and `Remote::notify`.
    fn push(&self, item: T) {
        self.queue.lock().push(item);
        if self.wake.notify() {
            self.waker.wake();
        }
    }

    /// `Hub::drain_remote`.
    fn drain(&self, into: &mut Vec<T>) -> bool {
        self.wake.take();
        let mut q = self.queue.lock();
        let any = !q.is_empty();
        into.append(&mut q);
        any
    }

    /// `Hub::poll` with nothing to run (`blocking`) or between greenlets:
    /// returns whether it took work.
    fn poll(&self, blocking: bool, into: &mut Vec<T>) -> bool {
        let woken = if blocking {
            let may_block = self.wake.begin_sleep();
            let woken = self.waker.poll(may_block);
            self.wake.end_sleep();
            woken
        } else {
            self.waker.poll(false)
        };
        (woken || self.wake.is_pending()) && self.drain(into)
    }
}

/// Producers each hand the hub one item; the hub, with nothing else to do,
/// polls (blocking) until it has them all: none is left in the queue while
/// it sleeps.
fn handover(producers: usize) {
    ::loom::model(move || {
        let remote = Arc::new(Remote::new());
        let ts: Vec<_> = (0..producers)
            .map(|i| {
                let remote = remote.clone();
                thread::spawn(move || remote.push(i))
            })
            .collect();
        let mut got = Vec::new();
        while got.len() < producers {
            remote.poll(true, &mut got);
        }
        for t in ts {
            t.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, (0..producers).collect::<Vec<_>>());
        assert!(remote.queue.lock().is_empty());
    });
}

/// One hand-over racing the hub's decision to block.
#[test]
fn handover_one_producer() {
    handover(1);
}

/// Two hand-overs: the second finds the work pending (no second wake-up)
/// or the hub awake again, and still is not left behind.
#[test]
fn handover_two_producers() {
    handover(2);
}

/// The hub polls without blocking first (it had greenlets to run, or
/// spun), then blocks: a hand-over during the non-blocking poll is taken
/// then or by the blocking one.
#[test]
fn handover_while_running() {
    ::loom::model(|| {
        let remote = Arc::new(Remote::new());
        let t = {
            let remote = remote.clone();
            thread::spawn(move || remote.push(7))
        };
        let mut got = Vec::new();
        remote.poll(false, &mut got);
        while got.is_empty() {
            remote.poll(true, &mut got);
        }
        t.join().unwrap();
        assert_eq!(got, [7]);
    });
}

/// The whole cross-hub wake-up: the root context of a hub waits (park
/// state, then the hub's loop until it is notified); another thread makes
/// its condition hold and unparks it: `Task::unpark` finds it parked and
/// hands it to its hub (`schedule_remote`: push onto the remote queue,
/// notify, wake).
#[test]
fn cross_hub_unpark_of_root() {
    ::loom::model(|| {
        let remote: Arc<Remote<Arc<ParkState>>> = Arc::new(Remote::new());
        let root = Arc::new(ParkState::new());
        let flag = Arc::new(AtomicBool::new(false));
        let t = {
            let (remote, root, flag) = (remote.clone(), root.clone(), flag.clone());
            thread::spawn(move || {
                flag.store(true, Ordering::Release);
                if root.unpark() {
                    remote.push(root.clone());
                }
            })
        };
        let mut drained = Vec::new();
        while !flag.load(Ordering::Acquire) {
            // `Hub::run_root`: the loop runs until the root is notified;
            // a drained root task is not queued to run (slot ROOT).
            root.park(|| {
                while !root.is_notified() {
                    remote.poll(true, &mut drained);
                }
            });
        }
        t.join().unwrap();
    });
}

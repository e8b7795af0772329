//! No user code runs under the toolkit's internal locks: a `Clone`, `Ord`
//! or `Drop` that makes a green blocking call (sleep, yield) parks only its
//! own greenlet, and the other greenlets that touch the same `AsyncResult`
//! or queue carry on (issue 10, defect 6).
//!
//! Each scenario runs on its own OS thread under a watchdog, so a
//! regression fails the test instead of hanging the suite.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::Duration;

use green::event::AsyncResult;
use green::queue::{PriorityQueue, Queue};
use green::thread;

/// Runs `f` on a new OS thread and fails if it does not finish within
/// `limit` (the thread is left behind: it is stuck for good).
fn watchdog(what: &str, limit: Duration, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(())) => {}
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("{what}: did not finish within {limit:?} (hung under an internal lock?)"),
    }
}

const LIMIT: Duration = Duration::from_secs(10);

/// A value whose `Clone` parks the greenlet (a sleep, then a yield).
#[derive(Debug, PartialEq)]
struct SlowClone(u32);

static CLONES: AtomicUsize = AtomicUsize::new(0);

impl Clone for SlowClone {
    fn clone(&self) -> SlowClone {
        CLONES.fetch_add(1, AtomicOrdering::Relaxed);
        thread::sleep(Duration::from_millis(5));
        thread::yield_now();
        SlowClone(self.0)
    }
}

#[test]
fn async_result_get_with_a_clone_that_sleeps() {
    watchdog("AsyncResult::get", LIMIT, || {
        let r: AsyncResult<SlowClone, String> = AsyncResult::new();
        r.set(SlowClone(7));
        let getters: Vec<_> = (0..4)
            .map(|_| {
                let r = r.clone();
                thread::spawn(move || r.get().unwrap())
            })
            .collect();
        // While the getters sleep inside `clone`, others touch the result.
        let others = {
            let r = r.clone();
            thread::spawn(move || {
                r.set(SlowClone(8)); // ignored: the first set wins
                assert!(r.ready() && r.successful());
                r.peek().unwrap().unwrap()
            })
        };
        thread::yield_now();
        assert_eq!(
            r.get_timeout(Duration::from_secs(5)).unwrap(),
            Ok(SlowClone(7))
        );
        for h in getters {
            assert_eq!(h.join().unwrap(), SlowClone(7));
        }
        assert_eq!(others.join().unwrap(), SlowClone(7));
    });
}

#[test]
fn async_result_waiters_woken_while_a_clone_sleeps() {
    watchdog("AsyncResult::set during a slow get", LIMIT, || {
        let r: AsyncResult<SlowClone, String> = AsyncResult::new();
        // Parked waiters, then a set, then every waiter clones (and sleeps
        // in its clone) one after another on this hub.
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let r = r.clone();
                thread::spawn(move || r.get())
            })
            .collect();
        thread::yield_now();
        r.set(SlowClone(1));
        // A second result, set and read while the waiters above clone.
        let r2: AsyncResult<SlowClone, String> = AsyncResult::new();
        let h = {
            let r2 = r2.clone();
            thread::spawn(move || r2.get())
        };
        thread::yield_now();
        r2.set_error("no".into());
        assert_eq!(h.join().unwrap(), Err("no".to_string()));
        for h in waiters {
            assert_eq!(h.join().unwrap(), Ok(SlowClone(1)));
        }
    });
}

#[test]
fn async_result_across_os_threads_with_a_clone_that_sleeps() {
    watchdog("AsyncResult::get across threads", LIMIT, || {
        let r: AsyncResult<SlowClone, String> = AsyncResult::new();
        r.set(SlowClone(3));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let hs: Vec<_> = (0..3)
                        .map(|_| {
                            let r = r.clone();
                            thread::spawn(move || r.get().unwrap())
                        })
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap().0).sum::<u32>()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 9);
        }
    });
}

/// An item whose comparison parks the greenlet.
#[derive(Debug, PartialEq, Eq)]
struct SlowOrd(u32);

impl PartialOrd for SlowOrd {
    fn partial_cmp(&self, other: &SlowOrd) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SlowOrd {
    fn cmp(&self, other: &SlowOrd) -> Ordering {
        thread::yield_now();
        self.0.cmp(&other.0)
    }
}

#[test]
fn priority_queue_with_an_ord_that_yields() {
    watchdog("PriorityQueue with a yielding Ord", LIMIT, || {
        let q = PriorityQueue::new();
        let producers: Vec<_> = (0..4u32)
            .map(|p| {
                let q = q.clone();
                thread::spawn(move || {
                    for i in 0..25u32 {
                        q.put(SlowOrd(i * 4 + p));
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || (0..25).map(|_| q.get().0).collect::<Vec<_>>())
            })
            .collect();
        for h in producers {
            h.join().unwrap();
        }
        let mut all: Vec<u32> = consumers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    });
}

#[test]
fn priority_queue_orders_with_an_ord_that_yields() {
    watchdog("PriorityQueue order", LIMIT, || {
        let q = PriorityQueue::bounded(8);
        for v in [5, 3, 7, 1, 8, 2, 6, 4] {
            q.put(SlowOrd(v));
        }
        assert!(q.is_full());
        assert!(q.put_nowait(SlowOrd(0)).is_err());
        let got: Vec<u32> = (0..8).map(|_| q.get().0).collect();
        assert_eq!(got, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(q.get_nowait().is_err());
        // A bounded put that parks, released by a get on another greenlet.
        for v in 0..8 {
            q.put(SlowOrd(v));
        }
        let h = {
            let q = q.clone();
            thread::spawn(move || q.put(SlowOrd(100)))
        };
        thread::yield_now();
        assert_eq!(q.get().0, 0);
        h.join().unwrap();
        assert_eq!(q.len(), 8);
        let got: Vec<u32> = (0..8).map(|_| q.get_timeout(LIMIT).unwrap().0).collect();
        assert_eq!(got, [1, 2, 3, 4, 5, 6, 7, 100]);
    });
}

#[test]
fn priority_queue_getter_killed_while_it_orders_loses_nothing() {
    watchdog("PriorityQueue kill", LIMIT, || {
        let q = PriorityQueue::new();
        for v in 0..50 {
            q.put(SlowOrd(v));
        }
        // Getters that are killed at random points, some while ordering.
        for round in 0..20 {
            let q2 = q.clone();
            let h = thread::spawn(move || q2.get().0);
            for _ in 0..round % 4 {
                thread::yield_now();
            }
            h.kill();
            if let Ok(v) = h.join() {
                // It got one before the kill: put it back.
                q.put(SlowOrd(v));
            }
        }
        assert_eq!(q.len(), 50);
        let mut got: Vec<u32> = (0..50).map(|_| q.get_nowait().unwrap().0).collect();
        got.sort_unstable();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    });
}

/// An item whose `Drop` parks the greenlet.
struct SlowDrop(#[allow(dead_code)] u32);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        thread::yield_now();
    }
}

#[test]
fn a_drop_that_yields_never_runs_under_the_lock() {
    watchdog("Drop that yields", LIMIT, || {
        // The losing `set` drops its value; the other greenlet reads.
        let r: AsyncResult<std::sync::Arc<SlowDrop>, String> = AsyncResult::new();
        r.set(std::sync::Arc::new(SlowDrop(1)));
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let r = r.clone();
                thread::spawn(move || {
                    r.set(std::sync::Arc::new(SlowDrop(i)));
                    r.get().is_ok()
                })
            })
            .collect();
        for h in hs {
            assert!(h.join().unwrap());
        }
        drop(r);
        // Queue items dropped with the queue or taken out.
        let q = Queue::new();
        for i in 0..10 {
            q.put(SlowDrop(i));
        }
        let h = {
            let q = q.clone();
            thread::spawn(move || {
                for _ in 0..5 {
                    drop(q.get());
                }
            })
        };
        thread::yield_now();
        h.join().unwrap();
        assert_eq!(q.len(), 5);
        drop(q);
    });
}

#[test]
fn a_panic_hook_that_yields_never_runs_under_the_lock() {
    // A greenlet stuck in the hook keeps std's hook lock, which the test
    // harness takes at exit: this scenario runs in a child process, killed
    // if it hangs.
    const CHILD: &str = "GREEN_TEST_HOOK_CHILD";
    if std::env::var_os(CHILD).is_some() {
        return panic_hook_scenario();
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panic_hook_that_yields_never_runs_under_the_lock",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t0.elapsed() > LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "a panic hook that yields: hung for {LIMIT:?} (task_done panicked under the lock?)"
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
}

fn panic_hook_scenario() {
    // Green installs its own hook with its first greenlet: ours goes on
    // top of it, and yields in the greenlet named "hook-yields".
    thread::spawn(|| ()).join().unwrap();
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if thread::current().name() == Some("hook-yields") {
            thread::yield_now();
        }
        default(info);
    }));
    let q: Queue<u32> = Queue::new();
    let bad = {
        let q = q.clone();
        thread::Builder::new()
            .name("hook-yields".into())
            .spawn(move || q.task_done())
            .unwrap()
    };
    let other = {
        let q = q.clone();
        thread::spawn(move || {
            q.put(1);
            q.get()
        })
    };
    assert!(bad.join().is_err());
    assert_eq!(other.join().unwrap(), 1);
}

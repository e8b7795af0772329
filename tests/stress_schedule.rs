//! A randomized schedule of kills, timeouts and panics across two hubs.
//!
//! Each round runs a runtime with two hubs and a mix of greenlets chosen by
//! a seeded generator: workers that take a green `Mutex` (and check that
//! nobody else is inside), send numbered messages on a channel, sleep,
//! yield, panic, or run under a `Timeout`, and killers that kill random
//! workers at random moments. After the round every greenlet is joined and
//! the test checks:
//!
//! - mutual exclusion held at every moment;
//! - every message whose `send` returned `Ok` was received, none twice;
//! - every greenlet ended as its schedule says it may (returned, panicked,
//!   killed or timed out), and joining never hangs (a watchdog fails the
//!   test instead);
//! - no file descriptor leaked and the memory maps did not grow after the
//!   first rounds warmed the stack pools.
//!
//! The seed of a failing round is printed; `GREEN_STRESS_SEED=N` replays
//! one round, `GREEN_STRESS_ROUNDS=N` runs more.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use green::sync::{Mutex, mpsc};

mod util;

/// xorshift64*: small, seedable, good enough to pick schedules.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Shared {
    lock: Mutex<u64>,
    inside: AtomicBool,
    violations: AtomicUsize,
    sent: AtomicU64,
}

/// A value whose destructor blocks greenly, so that unwinds (from kills,
/// timeouts and panics) pass through a blocking call.
struct SlowDrop;

impl Drop for SlowDrop {
    fn drop(&mut self) {
        green::thread::sleep(Duration::from_micros(200));
    }
}

struct Leave<'a>(&'a AtomicBool);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn worker(id: u64, seed: u64, shared: Arc<Shared>, tx: mpsc::Sender<u64>) -> u64 {
    let mut rng = Rng::new(seed);
    let _slow = SlowDrop;
    let mut done = 0;
    for step in 0..rng.below(20) + 5 {
        match rng.below(8) {
            0 | 1 => {
                let mut g = shared.lock.lock().unwrap_or_else(|e| e.into_inner());
                if shared.inside.swap(true, Ordering::SeqCst) {
                    shared.violations.fetch_add(1, Ordering::SeqCst);
                }
                // Leaves the critical section however the greenlet leaves
                // it (a kill or timeout unwinds from the sleep below);
                // dropped before the lock guard.
                let _leave = Leave(&shared.inside);
                if rng.below(2) == 0 {
                    green::thread::sleep(Duration::from_micros(rng.below(300)));
                } else {
                    green::thread::yield_now();
                }
                *g += 1;
            }
            2 | 3 => {
                let msg = (id << 32) | step;
                if tx.send(msg).is_ok() {
                    shared.sent.fetch_add(1, Ordering::SeqCst);
                }
            }
            4 => green::thread::sleep(Duration::from_micros(rng.below(500))),
            5 => green::thread::yield_now(),
            6 => {
                let _ = green::timeout::with_timeout(Duration::from_micros(rng.below(400)), || {
                    let _inner = SlowDrop;
                    green::thread::sleep(Duration::from_micros(rng.below(800)));
                });
            }
            _ => {
                if rng.below(10) == 0 {
                    panic!("scheduled panic in worker {id}");
                }
            }
        }
        done += 1;
    }
    done
}

fn round(seed: u64) {
    let mut rng = Rng::new(seed);
    let shared = Arc::new(Shared {
        lock: Mutex::new(0),
        inside: AtomicBool::new(false),
        violations: AtomicUsize::new(0),
        sent: AtomicU64::new(0),
    });
    let workers = 20 + rng.below(40);
    let killers = rng.below(4);
    let result = green::runtime::Builder::new().workers(2).run({
        let shared = shared.clone();
        move || {
            let (tx, rx) = mpsc::channel();
            let consumer = green::thread::spawn(move || {
                let mut seen = HashSet::new();
                let mut dups = 0;
                for m in rx {
                    if !seen.insert(m) {
                        dups += 1;
                    }
                }
                (seen.len() as u64, dups)
            });
            let handles: Arc<Vec<green::thread::JoinHandle<u64>>> = Arc::new(
                (0..workers)
                    .map(|id| {
                        let (shared, tx) = (shared.clone(), tx.clone());
                        let s = rng.next();
                        green::thread::spawn(move || worker(id, s, shared, tx))
                    })
                    .collect(),
            );
            drop(tx);
            let killer_handles: Vec<_> = (0..killers)
                .map(|_| {
                    let handles = handles.clone();
                    let s = rng.next();
                    green::thread::spawn(move || {
                        let mut rng = Rng::new(s);
                        for _ in 0..rng.below(10) + 1 {
                            green::thread::sleep(Duration::from_micros(rng.below(1_000)));
                            let h = &handles[rng.below(handles.len() as u64) as usize];
                            h.kill();
                            match rng.below(4) {
                                // A second kill at once, or while the first
                                // unwinds through a `SlowDrop`.
                                0 => h.kill(),
                                1 => {
                                    green::thread::sleep(Duration::from_micros(rng.below(300)));
                                    h.kill();
                                }
                                _ => {}
                            }
                        }
                    })
                })
                .collect();
            for k in killer_handles {
                k.join().expect("a killer never fails");
            }
            let handles =
                Arc::try_unwrap(handles).unwrap_or_else(|_| panic!("the killers are done"));
            let mut outcomes = [0usize; 3];
            for h in handles {
                match h.join() {
                    Ok(_) => outcomes[0] += 1,
                    Err(p) if green::thread::is_greenlet_exit(&*p) => outcomes[1] += 1,
                    Err(_) => outcomes[2] += 1,
                }
            }
            let (received, dups) = consumer.join().expect("the consumer never fails");
            (outcomes, received, dups)
        }
    });
    let (outcomes, received, dups) = result;
    assert_eq!(
        shared.violations.load(Ordering::SeqCst),
        0,
        "seed {seed}: two greenlets inside the Mutex at once"
    );
    assert_eq!(dups, 0, "seed {seed}: a message was received twice");
    assert_eq!(
        received,
        shared.sent.load(Ordering::SeqCst),
        "seed {seed}: messages sent (Ok) and received differ"
    );
    assert_eq!(
        outcomes.iter().sum::<usize>() as u64,
        workers,
        "seed {seed}: every worker joined: {outcomes:?}"
    );
}

/// Runs `f` on its own thread and fails if it takes longer than `limit`
/// (a hang must fail the test, not stall the suite).
fn with_watchdog(limit: Duration, what: String, f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        f();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(limit) {
        Ok(()) => t.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The round panicked: report its message.
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no progress in {limit:?} (hang)")
        }
    }
}

#[test]
fn random_kills_timeouts_and_panics_across_two_hubs() {
    let rounds: u64 = std::env::var("GREEN_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seeds: Vec<u64> = match std::env::var("GREEN_STRESS_SEED") {
        Ok(s) => vec![s.parse().expect("GREEN_STRESS_SEED is a number")],
        Err(_) => {
            let base = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64;
            (0..rounds).map(|i| base.wrapping_add(i * 7919)).collect()
        }
    };
    // Panics are expected; keep their messages out of the test output.
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        if !msg.contains("scheduled panic") {
            eprintln!("{msg}");
        }
    }));
    let warm = seeds.len().min(5);
    let mut fds_after_warmup = 0;
    let mut maps_after_warmup = 0;
    for (i, &seed) in seeds.iter().enumerate() {
        with_watchdog(
            Duration::from_secs(30),
            format!("seed {seed} (GREEN_STRESS_SEED={seed} replays it)"),
            move || round(seed),
        );
        if i + 1 == warm {
            fds_after_warmup = util::open_fds();
            maps_after_warmup = util::memory_maps();
        }
    }
    let _ = std::panic::take_hook();
    if seeds.len() > warm {
        let (fds, maps) = (util::open_fds(), util::memory_maps());
        assert!(
            fds <= fds_after_warmup,
            "file descriptors leaked: {fds_after_warmup} after warm-up, {fds} at the end"
        );
        assert!(
            maps <= maps_after_warmup + 64,
            "memory maps grew: {maps_after_warmup} after warm-up, {maps} at the end"
        );
    }
}

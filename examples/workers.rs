//! Several hubs: CPU-bound greenlets spread over the cores.
//!
//! `cargo run --release --example workers` runs the same work on one hub
//! and then on as many hubs as the machine has cores, and prints both times.
//!
//! An ordinary std program under `#[green::main]`; the number of hubs is
//! green's own setting, so each run goes through `green::runtime::Builder`
//! (a fixed number would be `#[green::main(workers = N)]`).

use std::thread;
use std::time::{Duration, Instant};

/// Some CPU work: a few million rounds of an xorshift.
fn work(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..5_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

// ANCHOR: workers
fn run_on(hubs: usize) -> (u64, Duration) {
    let start = Instant::now();
    let total = green::runtime::Builder::new().workers(hubs).run(|| {
        // `spawn` places each greenlet on the hubs in turn.
        let handles: Vec<_> = (0..64).map(|i| thread::spawn(move || work(i))).collect();
        handles
            .into_iter()
            .fold(0u64, |acc, h| acc ^ h.join().unwrap())
    });
    (total, start.elapsed())
}
// ANCHOR_END: workers

#[green::main]
fn main() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let (a, one) = run_on(1);
    let (b, many) = run_on(cores);
    assert_eq!(a, b);
    println!(
        "1 hub: {one:.2?}; {cores} hubs: {many:.2?}; speed-up {:.2}x",
        one.as_secs_f64() / many.as_secs_f64()
    );
}

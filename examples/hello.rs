//! Ten thousand sleeping threads on one OS thread: an ordinary std
//! program, made green by `#[green::main]`.
//!
//! `cargo run --example hello`

// ANCHOR: program
use std::thread;
use std::time::{Duration, Instant};

#[green::main]
fn main() {
    let start = Instant::now();
    // ANCHOR: spawn
    let handles: Vec<_> = (0..10_000u64)
        .map(|i| {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(100));
                i * 2
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    // ANCHOR_END: spawn
    println!(
        "10000 threads slept 100 ms each in {:.0?} in all; sum = {total}",
        start.elapsed()
    );
    // green's own counters: every one of those threads was a greenlet.
    println!("{:?}", green::runtime::stats());
}
// ANCHOR_END: program

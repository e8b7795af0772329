//! Ten thousand sleeping "threads" on one OS thread.
//!
//! `cargo run --example hello`

use std::time::{Duration, Instant};

use green::thread;

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
        "10000 greenlets slept 100 ms each in {:.0?} in all; sum = {total}",
        start.elapsed()
    );
    println!("{:?}", green::runtime::stats());
}

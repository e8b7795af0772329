//! The blocking-call pool: code that can only block (here a `std::fs`
//! read and a sleep standing in for a blocking client from another crate)
//! runs on a pool thread while this thread's greenlets keep running.
//!
//! `cargo run --example tpool`
//!
//! An ordinary std program under `#[green::main]`, with one helper kept on
//! std by `#[green::unpatched]` to stand for code green cannot patch.

use std::io;
use std::panic;
use std::thread;
use std::time::{Duration, Instant};

use green::tpool;

// ANCHOR: blocking
/// Stands for a blocking client from another crate: `#[green::unpatched]`
/// keeps it on std (the crate's imports are patched, so it names std's
/// paths in full), and it blocks whatever OS thread runs it.
#[green::unpatched]
fn blocking_read(path: &str) -> io::Result<String> {
    std::thread::sleep(Duration::from_millis(100));
    std::fs::read_to_string(path)
}
// ANCHOR_END: blocking

#[green::main]
fn main() {
    // ANCHOR: execute
    let ticker = thread::spawn(|| {
        for i in 0..5 {
            thread::sleep(Duration::from_millis(20));
            println!("tick {i}");
        }
    });
    let t0 = Instant::now();
    // Blocks an OS thread of the pool, not the hub: the ticks go on.
    let manifest = tpool::execute(|| blocking_read("Cargo.toml"));
    println!(
        "read {} bytes in {:?} on the pool",
        manifest.map(|s| s.len()).unwrap_or(0),
        t0.elapsed()
    );
    ticker.join().unwrap();
    // A panic in the job resumes in the caller.
    let r = panic::catch_unwind(|| tpool::execute(|| panic!("job failed")));
    assert!(r.is_err());
    // ANCHOR_END: execute
}

//! Ten threads each call a helper that sleeps 100 ms: together they take
//! 100 ms, not a second.
use std::thread;
use std::time::{Duration, Instant};

fn slow_square(n: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(100));
    n * n
}

fn main() {
    let start = Instant::now();
    let handles: Vec<_> = (0..10)
        .map(|n| thread::spawn(move || slow_square(n)))
        .collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let overlapped = start.elapsed() < Duration::from_millis(600);
    println!("sum: {sum}");
    println!("sleeps overlapped: {overlapped}");
    println!("done");
}

//! 10 000 threads that sleep, spawned from a helper beside `main`.
use std::thread;
use std::time::Duration;

const THREADS: u64 = 10_000;

fn nap(i: u64) -> u64 {
    thread::sleep(Duration::from_millis(300));
    i
}

fn spawn_all() -> Vec<thread::JoinHandle<u64>> {
    (0..THREADS)
        .map(|i| thread::spawn(move || nap(i)))
        .collect()
}

fn main() {
    let handles = spawn_all();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("threads: {THREADS}");
    println!("sum: {sum}");
    println!("expected: {}", THREADS * (THREADS - 1) / 2);
}

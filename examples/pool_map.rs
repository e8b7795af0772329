//! `Pool::map` and `imap`: run a function over many inputs with at most
//! `size` greenlets at once, like eventlet's `GreenPool.imap`.
//!
//! `cargo run --example pool_map`
//!
//! The pool is green's (`green::pool::Pool`); everything else is std,
//! made green by `#[green::main]`.

// ANCHOR: main
use std::thread;
use std::time::{Duration, Instant};

use green::pool::Pool;

fn slow_square(x: u64) -> u64 {
    // Stands for a blocking call (a request, a query): it parks this
    // greenlet and lets the others run.
    thread::sleep(Duration::from_millis(10));
    x * x
}

#[green::main]
fn main() {
    let pool = Pool::new(100);

    // 1000 jobs of 10 ms, 100 at a time: about 100 ms, not 10 s.
    let t0 = Instant::now();
    let squares = pool.map(slow_square, 0..1000);
    println!(
        "map: {} results in {:?}, sum {}",
        squares.len(),
        t0.elapsed(),
        squares.iter().sum::<u64>()
    );

    // imap yields results in input order as soon as they are ready;
    // imap_unordered as the jobs finish.
    for (i, sq) in pool.imap(slow_square, 0..5).enumerate() {
        println!("imap: {i}^2 = {sq}");
    }
    let firsts: Vec<u64> = pool
        .imap_unordered(
            |ms: u64| {
                thread::sleep(Duration::from_millis(ms));
                ms
            },
            [30, 10, 20],
        )
        .collect();
    println!("imap_unordered finished in order {firsts:?}");

    // Spawning through the pool parks while it is full.
    let handles: Vec<_> = (0..5).map(|i| pool.spawn(move || i * 10)).collect();
    pool.join();
    let total: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("spawned through the pool: total {total}");
}
// ANCHOR_END: main

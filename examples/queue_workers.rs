//! A boss fills a bounded queue; workers drain it (gevent's
//! `examples/queue.py` pattern). The boss parks whenever the queue is full,
//! so it never runs far ahead of the workers.
//!
//! `cargo run --example queue_workers`
//!
//! Threads and sleeps are std's, made green by `#[green::main]`; the queue
//! is green's (`green::queue::Queue`), which std does not have.

// ANCHOR: main
use std::thread;
use std::time::Duration;

use green::queue::Queue;

#[green::main]
fn main() {
    let tasks: Queue<Option<u32>> = Queue::bounded(3);

    let workers: Vec<_> = ["steve", "john", "bob"]
        .into_iter()
        .map(|name| {
            let tasks = tasks.clone();
            thread::Builder::new()
                .name(name.to_string())
                .spawn(move || {
                    let mut done = 0;
                    // `None` tells a worker to quit.
                    while let Some(n) = tasks.get() {
                        println!("worker {name} got task {n}");
                        thread::sleep(Duration::from_millis(10));
                        done += 1;
                    }
                    println!("worker {name} quitting after {done} tasks");
                    done
                })
                .unwrap()
        })
        .collect();

    let boss = thread::spawn(move || {
        for n in 1..=12 {
            // Parks while the queue holds 3 tasks.
            tasks.put(Some(n));
        }
        for _ in 0..3 {
            tasks.put(None);
        }
        println!("boss: all tasks queued");
    });

    boss.join().unwrap();
    let total: u32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    println!("{total} tasks done");
}
// ANCHOR_END: main

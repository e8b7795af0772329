//! A deliberately broken program, for the "Debugging and operations"
//! chapter: an ordinary std program made green by `#[green::main]`, whose
//! one call into "a dependency" blocks the OS thread, and with it every
//! greenlet of the hub.
//!
//! ```text
//! GREEN_BLOCKING_MS=100 cargo run --example blocking          # the detector
//! cargo run --example blocking -- --dump                      # runtime::dump()
//! GREEN_DUMP_SIGNAL=1 cargo run --example blocking -- --slow  # then: kill -USR1 <pid>
//! ```

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: legacy
/// Stands for a dependency's blocking client: `#[green::unpatched]` keeps
/// this module on std, as code in another crate stays.
#[green::unpatched]
mod legacy {
    pub(crate) fn fetch(key: u32, takes: std::time::Duration) -> u32 {
        // A blocking call: the OS thread sleeps, and no greenlet runs.
        std::thread::sleep(takes);
        key * 2
    }
}
// ANCHOR_END: legacy

#[green::main]
fn main() {
    // --slow: the same, slowly enough to send the program signals.
    let slow = std::env::args().any(|a| a == "--slow");
    let (tick, delay, takes) = if slow {
        (1_000, 2_000, 3_000)
    } else {
        (20, 50, 1_000)
    };
    let (tx, rx) = mpsc::channel();
    let mut workers = Vec::new();
    for i in 0..4 {
        let tx = tx.clone();
        let worker = thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || {
                for n in 0..10 {
                    thread::sleep(Duration::from_millis(tick));
                    tx.send(i * 100 + n).unwrap();
                }
            })
            .unwrap();
        workers.push(worker);
    }
    drop(tx);
    let fetcher = thread::Builder::new()
        .name("fetcher".into())
        .spawn(move || {
            thread::sleep(Duration::from_millis(delay));
            legacy::fetch(21, Duration::from_millis(takes))
        })
        .unwrap();
    // ANCHOR: dump
    if std::env::args().any(|a| a == "--dump") {
        thread::sleep(Duration::from_millis(30));
        eprint!("{}", green::runtime::dump());
    }
    // ANCHOR_END: dump
    if slow {
        println!("kill -USR1 {} prints a dump", std::process::id());
    }
    let start = Instant::now();
    let received = rx.iter().count();
    let answer = fetcher.join().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    // ANCHOR: stats
    let stats = green::runtime::stats();
    println!(
        "{received} messages, answer {answer}, in {:?}; the hub once went {:?} without polling",
        start.elapsed(),
        stats.longest_stall
    );
    // ANCHOR_END: stats
}

//! gevent's kill, with destructors: a greenlet stuck in a long sleep is
//! unwound from it, and `join` says it was killed.
//!
//! `cargo run --example kill`
//!
//! std has no kill, so the greenlet to be killed is spawned with
//! `green::thread::Builder`, whose `JoinHandle` has `kill`; everything else
//! is std, made green by `#[green::main]`.

use std::thread;
use std::time::Duration;

struct Connection(&'static str);

impl Drop for Connection {
    fn drop(&mut self) {
        println!("closing {}", self.0);
    }
}

#[green::main]
fn main() {
    // ANCHOR: kill
    let worker = green::thread::Builder::new()
        .name("slow-worker".into())
        .spawn(|| {
            let _conn = Connection("db");
            thread::sleep(Duration::from_secs(3600)); // interrupted here
            "never returned"
        })
        .unwrap();
    thread::sleep(Duration::from_millis(10));
    worker.kill();
    let err = worker.join().unwrap_err();
    assert!(green::thread::is_greenlet_exit(&*err));
    // ANCHOR_END: kill
    println!("worker was killed; its destructors ran first");

    // ANCHOR: scope
    let words = vec!["scoped", "greenlets", "borrow"];
    let lengths: Vec<usize> = thread::scope(|s| {
        let handles: Vec<_> = words.iter().map(|w| s.spawn(move || w.len())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // ANCHOR_END: scope
    println!("{words:?} -> {lengths:?}");
}

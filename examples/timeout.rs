//! Timeouts for any blocking code: a `Timeout` guard interrupts the
//! greenlet's current blocking call at its deadline; `with_timeout` turns
//! that into a `Result` (gevent's `Timeout`, eventlet's `with_timeout`).
//!
//! `cargo run --example timeout`
//!
//! The channel, threads and sleeps are std's, made green by
//! `#[green::main]`; `Timeout` and `with_timeout` are green's toolkit.

// ANCHOR: main
use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use green::timeout::{Timeout, with_timeout};

#[green::main]
fn main() {
    // with_timeout: Err(Elapsed) if the closure did not finish in time.
    let r = with_timeout(Duration::from_millis(50), || {
        thread::sleep(Duration::from_secs(10));
        "finished"
    });
    println!("slow call: {r:?}");
    let r = with_timeout(Duration::from_millis(50), || "finished");
    println!("fast call: {r:?}");

    // Any green blocking call is interrupted: here a channel receive.
    let (_tx, rx) = mpsc::channel::<String>();
    match with_timeout(Duration::from_millis(20), || rx.recv()) {
        Ok(msg) => println!("got {msg:?}"),
        Err(elapsed) => println!("recv: {elapsed}"),
    }

    // A Timeout guard covers a whole scope; dropping it disarms it. An
    // expiry nobody catches ends the greenlet: `join` returns its payload.
    let h = thread::spawn(|| {
        let _deadline = Timeout::start(Duration::from_millis(30));
        for i in 0.. {
            thread::sleep(Duration::from_millis(10));
            println!("tick {i}");
        }
    });
    let err = h.join().unwrap_err();
    println!(
        "greenlet ended by its timeout: {}",
        err.downcast_ref::<green::timeout::Elapsed>().is_some()
    );

    // Catching it by hand: is_mine tells our expiry from other panics.
    let t = Timeout::start(Duration::from_millis(10));
    let r = panic::catch_unwind(|| thread::sleep(Duration::from_secs(1)));
    if let Err(p) = r {
        assert!(t.is_mine(&*p));
        println!("caught our own timeout");
    }
}
// ANCHOR_END: main

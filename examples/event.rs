//! Waiters and a setter: an `Event` wakes every greenlet waiting on it,
//! and an `AsyncResult` hands them all one value (gevent's
//! `examples/event.py`).
//!
//! `cargo run --example event`
//!
//! Threads and sleeps are std's, made green by `#[green::main]`; `Event`
//! and `AsyncResult` are green's toolkit.

// ANCHOR: event
use std::thread;
use std::time::Duration;

use green::event::{AsyncResult, Event};

#[green::main]
fn main() {
    let ready = Event::new();
    let waiters: Vec<_> = (0..3)
        .map(|i| {
            let ready = ready.clone();
            thread::spawn(move || {
                println!("waiter {i}: waiting");
                ready.wait();
                println!("waiter {i}: woken");
            })
        })
        .collect();

    let setter = {
        let ready = ready.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            println!("setter: setting the event");
            ready.set();
        })
    };
    setter.join().unwrap();
    waiters.into_iter().for_each(|w| w.join().unwrap());

    // ANCHOR: async_result
    let answer: AsyncResult<u32, String> = AsyncResult::new();
    let getter = {
        let answer = answer.clone();
        thread::spawn(move || answer.get())
    };
    thread::sleep(Duration::from_millis(10));
    answer.set(42);
    println!("getter got {:?}", getter.join().unwrap());
    // ANCHOR_END: async_result
}
// ANCHOR_END: event

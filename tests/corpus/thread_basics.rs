//! std::thread: spawn, join, results, panics, names, scopes, park, sleep.

use std::thread;
use std::time::{Duration, Instant};

pub(crate) fn main() {
    spawn_and_join();
    panics_are_caught_by_join();
    names_and_builder();
    scoped_threads_borrow();
    park_and_unpark();
    sleep_sleeps();
    many_threads();
}

fn spawn_and_join() {
    let h = thread::spawn(|| 6 * 7);
    assert_eq!(h.join().unwrap(), 42);
    let handles: Vec<_> = (0..10u64).map(|i| thread::spawn(move || i * i)).collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 285);
}

fn panics_are_caught_by_join() {
    let r = thread::spawn(|| -> u8 { panic!("expected panic in corpus") }).join();
    let payload = r.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>().copied(),
        Some("expected panic in corpus")
    );
}

fn names_and_builder() {
    let h = thread::Builder::new()
        .name("worker-7".to_string())
        .spawn(|| thread::current().name().map(str::to_owned))
        .unwrap();
    assert_eq!(h.thread().name(), Some("worker-7"));
    assert_eq!(h.join().unwrap().as_deref(), Some("worker-7"));
    let a = thread::spawn(|| thread::current().id()).join().unwrap();
    let b = thread::spawn(|| thread::current().id()).join().unwrap();
    assert_ne!(a, b);
    assert_ne!(a, thread::current().id());
}

fn scoped_threads_borrow() {
    let mut data = vec![1, 2, 3];
    let total = thread::scope(|s| {
        let h = s.spawn(|| data.iter().sum::<i32>());
        h.join().unwrap()
    });
    data.push(total);
    assert_eq!(data, [1, 2, 3, 6]);
}

fn park_and_unpark() {
    let parked = thread::spawn(|| {
        thread::park();
        "woken"
    });
    thread::sleep(Duration::from_millis(10));
    parked.thread().unpark();
    assert_eq!(parked.join().unwrap(), "woken");

    let t0 = Instant::now();
    thread::park_timeout(Duration::from_millis(20));
    assert!(t0.elapsed() < Duration::from_secs(5));
}

fn sleep_sleeps() {
    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(30));
    assert!(t0.elapsed() >= Duration::from_millis(30));
}

fn many_threads() {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..200)
        .map(|i| {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                i
            })
        })
        .collect();
    let sum: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 199 * 200 / 2);
    // They slept at the same time, not one after another.
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

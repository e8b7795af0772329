//! std::thread: spawn, join, results, panics, names, scopes, park, sleep.
//!
//! `main` asserts the behaviour and returns a transcript of it, one line per
//! observable result, that must not depend on timing or scheduling.

use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).unwrap()
    };
}

pub(crate) fn main() -> String {
    let mut out = String::new();
    spawn_and_join(&mut out);
    panics_are_caught_by_join(&mut out);
    names_and_builder(&mut out);
    scoped_threads_borrow(&mut out);
    park_and_unpark(&mut out);
    sleep_sleeps(&mut out);
    many_threads(&mut out);
    out
}

fn spawn_and_join(out: &mut String) {
    let h = thread::spawn(|| 6 * 7);
    let answer = h.join().unwrap();
    assert_eq!(answer, 42);
    say!(out, "spawn: joined {answer}");
    let handles: Vec<_> = (0..10u64).map(|i| thread::spawn(move || i * i)).collect();
    let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let sum: u64 = squares.iter().sum();
    assert_eq!(sum, 285);
    say!(out, "spawn: squares in join order {squares:?}, sum {sum}");
}

fn panics_are_caught_by_join(out: &mut String) {
    let r = thread::spawn(|| -> u8 { panic!("expected panic in corpus") }).join();
    say!(out, "panic: join is_err {}", r.is_err());
    let payload = r.unwrap_err();
    let message = payload.downcast_ref::<&str>().copied();
    assert_eq!(message, Some("expected panic in corpus"));
    say!(out, "panic: payload {message:?}");
}

fn names_and_builder(out: &mut String) {
    let h = thread::Builder::new()
        .name("worker-7".to_string())
        .spawn(|| thread::current().name().map(str::to_owned))
        .unwrap();
    assert_eq!(h.thread().name(), Some("worker-7"));
    say!(out, "names: handle name {:?}", h.thread().name());
    let inside = h.join().unwrap();
    assert_eq!(inside.as_deref(), Some("worker-7"));
    say!(out, "names: name seen inside {inside:?}");
    let unnamed = thread::spawn(|| thread::current().name().map(str::to_owned))
        .join()
        .unwrap();
    say!(out, "names: unnamed thread {unnamed:?}");
    let a = thread::spawn(|| thread::current().id()).join().unwrap();
    let b = thread::spawn(|| thread::current().id()).join().unwrap();
    assert_ne!(a, b);
    assert_ne!(a, thread::current().id());
    say!(out, "names: ids of two threads differ {}", a != b);
    say!(
        out,
        "names: id differs from the caller's {}",
        a != thread::current().id()
    );
}

fn scoped_threads_borrow(out: &mut String) {
    let mut data = vec![1, 2, 3];
    let total = thread::scope(|s| {
        let h = s.spawn(|| data.iter().sum::<i32>());
        h.join().unwrap()
    });
    say!(out, "scope: borrowed sum {total}");
    data.push(total);
    assert_eq!(data, [1, 2, 3, 6]);
    say!(out, "scope: data after scope {data:?}");
}

fn park_and_unpark(out: &mut String) {
    let parked = thread::spawn(|| {
        thread::park();
        "woken"
    });
    thread::sleep(Duration::from_millis(10));
    parked.thread().unpark();
    let woken = parked.join().unwrap();
    assert_eq!(woken, "woken");
    say!(out, "park: parked thread returned {woken:?}");

    let t0 = Instant::now();
    thread::park_timeout(Duration::from_millis(20));
    let returned = t0.elapsed() < Duration::from_secs(5);
    assert!(returned);
    say!(out, "park: park_timeout returned in time {returned}");
}

fn sleep_sleeps(out: &mut String) {
    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(30));
    let slept = t0.elapsed() >= Duration::from_millis(30);
    assert!(slept);
    say!(out, "sleep: slept at least 30ms {slept}");
}

fn many_threads(out: &mut String) {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..200)
        .map(|i| {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                i
            })
        })
        .collect();
    let results: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let in_order = results.iter().copied().eq(0..200);
    let sum: i32 = results.iter().sum();
    assert!(in_order);
    assert_eq!(sum, 199 * 200 / 2);
    say!(
        out,
        "many: {} sleepers joined, results in spawn order {in_order}, sum {sum}",
        results.len()
    );
    // They slept at the same time, not one after another.
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    say!(out, "many: slept concurrently (under 5s) true");
}

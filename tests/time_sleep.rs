//! green::time: std::time re-exported, plus the green sleep.

use std::sync::{Arc, Mutex};

use green::thread;
use green::time::{Duration, Instant};

#[test]
fn sleepers_wake_in_deadline_order() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = [50u64, 10, 30, 20, 40]
        .into_iter()
        .map(|ms| {
            let order = order.clone();
            thread::spawn(move || {
                green::time::sleep(Duration::from_millis(ms));
                order.lock().unwrap().push(ms);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![10, 20, 30, 40, 50]);
}

#[test]
fn sleep_lasts_at_least_its_duration() {
    let start = Instant::now();
    green::time::sleep(Duration::from_millis(25));
    assert!(start.elapsed() >= Duration::from_millis(25));
    let deadline = Instant::now() + Duration::from_millis(10);
    green::time::sleep_until(deadline);
    assert!(Instant::now() >= deadline);
}

#[test]
fn sleep_zero_yields_to_others() {
    let ran = Arc::new(Mutex::new(false));
    let r = ran.clone();
    let h = thread::spawn(move || *r.lock().unwrap() = true);
    green::time::sleep(Duration::ZERO);
    assert!(*ran.lock().unwrap());
    h.join().unwrap();
}

#[test]
fn many_timers_pending_at_once() {
    let handles: Vec<_> = (0..20_000u64)
        .map(|i| thread::spawn(move || green::time::sleep(Duration::from_millis(500 + i % 50))))
        .collect();
    thread::yield_now();
    assert!(green::runtime::stats().timers >= 10_000);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(green::runtime::stats().timers, 0);
}

//! green::thread::scope: scoped greenlets borrowing from the parent's stack.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use green::thread;

#[test]
fn scoped_greenlets_borrow_and_are_joined() {
    let mut data = vec![1, 2, 3];
    let counter = AtomicUsize::new(0);
    let total = thread::scope(|s| {
        let h = s.spawn(|| data.iter().sum::<i32>());
        for _ in 0..10 {
            s.spawn(|| {
                thread::sleep(Duration::from_millis(5));
                counter.fetch_add(1, Ordering::SeqCst);
            });
        }
        h.join().unwrap()
    });
    // Every scoped greenlet finished before scope returned.
    assert_eq!(counter.load(Ordering::SeqCst), 10);
    assert_eq!(total, 6);
    data.push(4);
    assert_eq!(data.len(), 4);
}

#[test]
fn unjoined_panic_makes_scope_panic() {
    let r = std::panic::catch_unwind(|| {
        thread::scope(|s| {
            s.spawn(|| panic!("scoped boom"));
        })
    });
    let err = r.unwrap_err();
    assert_eq!(
        err.downcast_ref::<&str>(),
        Some(&"a scoped thread panicked")
    );
}

#[test]
fn joined_panic_is_returned_not_rethrown() {
    let got = thread::scope(|s| {
        let h = s.spawn(|| -> u8 { panic!("handled") });
        h.join().is_err()
    });
    assert!(got);
}

#[test]
fn builder_spawn_scoped_names_the_greenlet() {
    let name = thread::scope(|s| {
        thread::Builder::new()
            .name("scoped".into())
            .spawn_scoped(s, || thread::current().name().map(str::to_owned))
            .unwrap()
            .join()
            .unwrap()
    });
    assert_eq!(name.as_deref(), Some("scoped"));
}

//! Stable std API that green's sync mirrors lacked (issue 10): each is
//! checked side by side with std's.
//!
//! - `RwLockWriteGuard::downgrade` (stable since 1.92)
//! - `LazyLock::force_mut`, `LazyLock::get`, `LazyLock::get_mut`

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use green::sync::{Arc, LazyLock, RwLock, RwLockWriteGuard};
use green::thread;

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn downgrade_keeps_the_value_and_admits_readers_as_std() {
    let s = std::sync::RwLock::new(1);
    let g = RwLock::new(1);
    let mut sw = s.write().unwrap();
    let mut gw = g.write().unwrap();
    *sw += 1;
    *gw += 1;
    let sr = std::sync::RwLockWriteGuard::downgrade(sw);
    let gr = RwLockWriteGuard::downgrade(gw);
    assert_eq!((*sr, *gr), (2, 2));
    // Other readers may enter, writers may not.
    assert_eq!(*s.try_read().unwrap(), 2);
    assert_eq!(*g.try_read().unwrap(), 2);
    assert!(s.try_write().is_err());
    assert!(g.try_write().is_err());
    drop((sr, gr));
    // Released: a writer enters.
    *s.try_write().unwrap() = 3;
    *g.try_write().unwrap() = 3;
    assert_eq!(s.into_inner().unwrap(), g.into_inner().unwrap());
}

#[test]
fn downgrade_works_on_unsized_data() {
    let b: Box<RwLock<[u8]>> = Box::new(RwLock::new([0u8; 3]));
    let mut w = b.write().unwrap();
    w[1] = 7;
    let r = RwLockWriteGuard::downgrade(w);
    assert_eq!(&*r, &[0, 7, 0]);
}

#[test]
fn downgrade_lets_waiting_readers_in_and_no_writer_between() {
    let lock = Arc::new(RwLock::new(0u32));
    let entered = Arc::new(AtomicUsize::new(0));
    let mut w = lock.write().unwrap();
    // Queued in order: two readers, a writer, a reader.
    let reader = |lock: &Arc<RwLock<u32>>| {
        let (lock, entered) = (lock.clone(), entered.clone());
        thread::spawn(move || {
            let r = lock.read().unwrap();
            entered.fetch_add(1, Ordering::SeqCst);
            let v = *r;
            thread::sleep(Duration::from_millis(20));
            v
        })
    };
    let r1 = reader(&lock);
    let r2 = reader(&lock);
    thread::yield_now();
    let writer = {
        let lock = lock.clone();
        thread::spawn(move || {
            let mut w = lock.write().unwrap();
            *w += 100;
        })
    };
    thread::yield_now();
    let r3 = reader(&lock);
    thread::yield_now();
    assert_eq!(entered.load(Ordering::SeqCst), 0);

    *w = 5;
    let r = RwLockWriteGuard::downgrade(w);
    thread::yield_now();
    // The two readers queued before the writer came in with us; the
    // writer did not get in between (they saw our value), and the reader
    // queued behind the writer waits for it.
    assert_eq!(entered.load(Ordering::SeqCst), 2);
    assert_eq!(*r, 5);
    drop(r);
    assert_eq!(r1.join().unwrap(), 5);
    assert_eq!(r2.join().unwrap(), 5);
    writer.join().unwrap();
    assert_eq!(r3.join().unwrap(), 105);
}

#[test]
fn downgrade_across_os_threads() {
    // A writer on an OS thread downgrades; a green writer waiting on
    // another thread gets in only after the read guard is gone.
    let lock = Arc::new(RwLock::new(Vec::<u32>::new()));
    let w = lock.write().unwrap();
    let other = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            thread::spawn(move || lock.write().unwrap().push(2))
                .join()
                .unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    let mut w = w;
    w.push(1);
    let r = RwLockWriteGuard::downgrade(w);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(*r, [1]);
    drop(r);
    other.join().unwrap();
    assert_eq!(*lock.read().unwrap(), [1, 2]);
}

#[test]
fn lazy_lock_force_mut_get_get_mut_as_std() {
    let mut s: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| vec![1]);
    let mut g: LazyLock<Vec<u8>> = LazyLock::new(|| vec![1]);
    assert_eq!(std::sync::LazyLock::get(&s), None);
    assert_eq!(LazyLock::get(&g), None);
    assert_eq!(std::sync::LazyLock::get_mut(&mut s), None);
    assert_eq!(LazyLock::get_mut(&mut g), None);
    std::sync::LazyLock::force_mut(&mut s).push(2);
    LazyLock::force_mut(&mut g).push(2);
    assert_eq!(std::sync::LazyLock::get(&s), Some(&vec![1, 2]));
    assert_eq!(LazyLock::get(&g), Some(&vec![1, 2]));
    std::sync::LazyLock::get_mut(&mut s).unwrap().push(3);
    LazyLock::get_mut(&mut g).unwrap().push(3);
    // force_mut on an initialized lazy does not run the initializer again.
    assert_eq!(*std::sync::LazyLock::force_mut(&mut s), [1, 2, 3]);
    assert_eq!(*LazyLock::force_mut(&mut g), [1, 2, 3]);
    assert_eq!(*s, *g);
}

#[test]
fn lazy_lock_force_mut_poisoned_as_std() {
    let mut s: std::sync::LazyLock<u8> = std::sync::LazyLock::new(|| panic!("boom"));
    let mut g: LazyLock<u8> = LazyLock::new(|| panic!("boom"));
    for round in 0..2 {
        let se = panic::catch_unwind(AssertUnwindSafe(|| {
            std::sync::LazyLock::force_mut(&mut s);
        }))
        .unwrap_err();
        let ge = panic::catch_unwind(AssertUnwindSafe(|| {
            LazyLock::force_mut(&mut g);
        }))
        .unwrap_err();
        let (se, ge) = (panic_message(se), panic_message(ge));
        assert_eq!(se, ge, "round {round}");
        if round == 1 {
            assert!(ge.contains("poisoned"), "{ge}");
        }
        assert_eq!(std::sync::LazyLock::get(&s), None);
        assert_eq!(LazyLock::get(&g), None);
        assert_eq!(LazyLock::get_mut(&mut g), None);
    }
    // Deref (force) of the poisoned lazy panics too.
    let e = panic::catch_unwind(AssertUnwindSafe(|| *g)).unwrap_err();
    assert!(panic_message(e).contains("poisoned"));
}

#[test]
fn lazy_lock_get_in_a_generic_context_needs_no_fn_bound() {
    fn peek<T, F>(l: &LazyLock<T, F>) -> Option<&T> {
        LazyLock::get(l)
    }
    static L: LazyLock<u32> = LazyLock::new(|| 7);
    assert_eq!(peek(&L), None);
    assert_eq!(*L, 7);
    assert_eq!(peek(&L), Some(&7));
}

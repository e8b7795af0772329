//! green::sync: Once, OnceLock, LazyLock, Barrier.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use green::sync::{Arc, Barrier, LazyLock, Once, OnceLock};
use green::thread;

mod util;
use util::assert_clean;

#[test]
fn once_runs_once_while_others_park() {
    static ONCE: Once = Once::new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let hs: Vec<_> = (0..20)
        .map(|_| {
            thread::spawn(|| {
                ONCE.call_once(|| {
                    // Blocks greenly inside the initializer: the others must
                    // park, not run it again.
                    thread::sleep(Duration::from_millis(10));
                    RUNS.fetch_add(1, Ordering::SeqCst);
                });
                assert!(ONCE.is_completed());
                RUNS.load(Ordering::SeqCst)
            })
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), 1);
    }
    assert_clean();
}

#[test]
fn once_poisoning_and_force() {
    let once = Arc::new(Once::new());
    let o = once.clone();
    let r =
        thread::spawn(move || o.call_once(|| panic!("init failed (expected by the test)"))).join();
    assert!(r.is_err());
    assert!(!once.is_completed());
    let o = once.clone();
    assert!(
        thread::spawn(move || o.call_once(|| {})).join().is_err(),
        "poisoned"
    );
    let mut saw_poison = false;
    once.call_once_force(|s| saw_poison = s.is_poisoned());
    assert!(saw_poison);
    assert!(once.is_completed());
    once.wait();
    assert_clean();
}

#[test]
fn once_wait_parks_until_done() {
    let once = Arc::new(Once::new());
    let o = once.clone();
    let waiter = thread::spawn(move || o.wait());
    thread::sleep(Duration::from_millis(2));
    assert!(!waiter.is_finished());
    once.call_once(|| {});
    waiter.join().unwrap();
    assert_clean();
}

#[test]
fn oncelock_concurrent_init() {
    let cell = Arc::new(OnceLock::new());
    let inits = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..10)
        .map(|i| {
            let (cell, inits) = (cell.clone(), inits.clone());
            thread::spawn(move || {
                *cell.get_or_init(|| {
                    inits.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(5));
                    i
                })
            })
        })
        .collect();
    let vals: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    assert!(vals.iter().all(|v| *v == vals[0]));
    assert_eq!(cell.set(99), Err(99));
    assert_clean();
}

#[test]
fn oncelock_wait_set_take_and_panicking_init() {
    let cell = Arc::new(OnceLock::new());
    let c = cell.clone();
    let waiter = thread::spawn(move || *c.wait());
    thread::sleep(Duration::from_millis(2));
    let c = cell.clone();
    let r = thread::spawn(move || {
        c.get_or_init(|| panic!("first init fails (expected by the test)"));
    })
    .join();
    assert!(r.is_err());
    assert!(cell.get().is_none());
    assert!(!waiter.is_finished());
    assert_eq!(cell.set(5), Ok(()));
    assert_eq!(waiter.join().unwrap(), 5);
    let mut cell = Arc::try_unwrap(cell).unwrap();
    assert_eq!(cell.take(), Some(5));
    assert_eq!(cell.get_or_init(|| 6), &6);
    assert_eq!(format!("{cell:?}"), "OnceLock(6)");
    assert_clean();
}

// ANCHOR: lazylock
#[test]
fn lazylock_static() {
    static INITS: AtomicUsize = AtomicUsize::new(0);
    static VALUE: LazyLock<Vec<u32>> = LazyLock::new(|| {
        INITS.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(5));
        vec![1, 2, 3]
    });
    let hs: Vec<_> = (0..10).map(|_| thread::spawn(|| VALUE.len())).collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), 3);
    }
    assert_eq!(INITS.load(Ordering::SeqCst), 1);
    assert_clean();
}
// ANCHOR_END: lazylock

#[test]
fn lazylock_poisoned_by_panicking_init() {
    let lazy: Arc<LazyLock<u32, Box<dyn FnOnce() -> u32 + Send>>> =
        Arc::new(LazyLock::new(Box::new(|| {
            panic!("bad init (expected by the test)")
        })));
    let l = lazy.clone();
    assert!(thread::spawn(move || **l).join().is_err());
    let l = lazy.clone();
    let e = thread::spawn(move || **l).join().unwrap_err();
    let msg = e
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned());
    assert!(msg.unwrap().contains("poisoned"));
    assert_clean();
}

#[test]
fn barrier_leader_and_generations() {
    let b = Arc::new(Barrier::new(5));
    let leaders = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..10)
        .map(|_| {
            let (b, leaders) = (b.clone(), leaders.clone());
            thread::spawn(move || {
                if b.wait().is_leader() {
                    leaders.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(leaders.load(Ordering::SeqCst), 2);
    assert!(Barrier::new(0).wait().is_leader());
    assert_clean();
}

#[test]
fn barrier_with_an_os_thread_and_a_killed_party() {
    let b = Arc::new(Barrier::new(2));
    let b1 = b.clone();
    let victim = thread::spawn(move || b1.wait().is_leader());
    thread::sleep(Duration::from_millis(2));
    victim.kill();
    assert!(victim.join().is_err());
    // The killed party was withdrawn: two new parties are needed.
    let b2 = b.clone();
    let os = std::thread::spawn(move || b2.wait().is_leader());
    let me = b.wait().is_leader();
    let other = os.join().unwrap();
    assert!(me ^ other);
    assert_clean();
}

#[test]
fn auto_traits_match_std() {
    use std::panic::{RefUnwindSafe, UnwindSafe};
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
    use green::sync::{
        Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, mpsc,
    };
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<RwLock<Vec<u8>>>();
    send_sync::<Condvar>();
    send_sync::<Barrier>();
    send_sync::<Once>();
    send_sync::<OnceLock<String>>();
    send_sync::<LazyLock<String>>();
    sync::<MutexGuard<'static, u8>>();
    sync::<RwLockReadGuard<'static, u8>>();
    sync::<RwLockWriteGuard<'static, u8>>();
    send_sync::<mpsc::Sender<u8>>();
    send_sync::<mpsc::SyncSender<u8>>();
    send::<mpsc::Receiver<u8>>();
    unwind_safe::<Mutex<u8>>();
    unwind_safe::<RwLock<u8>>();
    unwind_safe::<Condvar>();
    unwind_safe::<Once>();
    send_sync::<green::event::Event>();
    send_sync::<green::event::AsyncResult<u8>>();
    send_sync::<green::queue::Queue<u8>>();
    send_sync::<green::queue::PriorityQueue<u8>>();
    send_sync::<green::pool::Pool>();
    send_sync::<green::pool::Group>();
    send_sync::<green::sync::Semaphore>();
    #[allow(deprecated)]
    static _INIT: Once = green::sync::ONCE_INIT;
}

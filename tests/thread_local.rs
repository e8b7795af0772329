//! green::thread_local!: one value per greenlet, dropped when it ends.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use green::thread;

green::thread_local! {
    static COUNTER: Cell<u32> = Cell::new(0);
    static NAMES: RefCell<Vec<String>> = RefCell::new(Vec::new());
}

#[test]
fn each_greenlet_sees_its_own_value() {
    COUNTER.set(100);
    let handles: Vec<_> = (0..10)
        .map(|i| {
            thread::spawn(move || {
                for _ in 0..i {
                    COUNTER.set(COUNTER.get() + 1);
                    thread::yield_now();
                }
                COUNTER.get()
            })
        })
        .collect();
    let got: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert_eq!(COUNTER.get(), 100);
}

#[test]
fn refcell_helpers_work() {
    let h = thread::spawn(|| {
        NAMES.with_borrow_mut(|v| v.push("a".into()));
        NAMES.with_borrow(|v| v.len()) + NAMES.take().len()
    });
    assert_eq!(h.join().unwrap(), 2);
}

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

green::thread_local!(static DROPS: RefCell<Option<CountDrop>> = const { RefCell::new(None) });

#[test]
fn values_are_dropped_when_the_greenlet_ends() {
    let drops = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..5)
        .map(|_| {
            let d = drops.clone();
            thread::spawn(move || DROPS.set(Some(CountDrop(d))))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    thread::yield_now();
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

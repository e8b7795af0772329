//! std::thread_local!: one value per thread, initialised lazily, dropped at
//! thread exit.

use std::cell::{Cell, RefCell};
// `core::sync::atomic` is `std::sync::atomic` under another path, and is
// not patched: this corpus needs only `green::thread`.
use core::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

static DROPS: AtomicUsize = AtomicUsize::new(0);

struct Noisy;

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static COUNT: Cell<u32> = const { Cell::new(0) };
    static NAMES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static NOISY: Noisy = const { Noisy };
}

pub(crate) fn main() {
    COUNT.with(|c| c.set(100));
    let handles: Vec<_> = (0..20)
        .map(|i| {
            thread::spawn(move || {
                assert_eq!(COUNT.with(Cell::get), 0, "a new thread starts fresh");
                for _ in 0..i {
                    COUNT.with(|c| c.set(c.get() + 1));
                    thread::yield_now();
                }
                NAMES.with(|n| n.borrow_mut().push(format!("t{i}")));
                NOISY.with(|_| ());
                (COUNT.with(Cell::get), NAMES.with(|n| n.borrow().len()))
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), (i as u32, 1));
    }
    assert_eq!(
        COUNT.with(Cell::get),
        100,
        "other threads do not touch ours"
    );
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        20,
        "each thread dropped its value"
    );
}

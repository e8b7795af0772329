//! std::thread_local!: one value per thread, initialised lazily, dropped at
//! thread exit.
//!
//! `main` asserts the behaviour and returns a transcript of it, one line per
//! observable result, that must not depend on timing or scheduling.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
// `core::sync::atomic` is `std::sync::atomic` under another path, and is
// not rewritten by patching: in this file only the `std::thread` paths are.
use core::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).unwrap()
    };
}

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

pub(crate) fn main() -> String {
    let mut out = String::new();
    COUNT.with(|c| c.set(100));
    say!(out, "main: COUNT set to {}", COUNT.with(Cell::get));
    let handles: Vec<_> = (0..20)
        .map(|i| {
            thread::spawn(move || {
                let fresh = COUNT.with(Cell::get);
                assert_eq!(fresh, 0, "a new thread starts fresh");
                for _ in 0..i {
                    COUNT.with(|c| c.set(c.get() + 1));
                    thread::yield_now();
                }
                NAMES.with(|n| n.borrow_mut().push(format!("t{i}")));
                NOISY.with(|_| ());
                let names = NAMES.with(|n| n.borrow().clone());
                (fresh, COUNT.with(Cell::get), names)
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (fresh, count, names) = h.join().unwrap();
        assert_eq!((count, names.len()), (i as u32, 1));
        say!(
            out,
            "thread {i}: started at {fresh}, counted to {count}, names {names:?}"
        );
    }
    let ours = COUNT.with(Cell::get);
    assert_eq!(ours, 100, "other threads do not touch ours");
    say!(out, "main: COUNT still {ours}");
    let names = NAMES.with(|n| n.borrow().len());
    say!(out, "main: NAMES has {names} entries");
    let drops = DROPS.load(Ordering::SeqCst);
    assert_eq!(drops, 20, "each thread dropped its value");
    say!(
        out,
        "main: {drops} thread-local values dropped at thread exit"
    );
    out
}

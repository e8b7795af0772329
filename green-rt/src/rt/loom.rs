//! The primitives under the runtime's concurrency core, swappable for
//! loom's.
//!
//! The pieces whose correctness rests on atomics alone take their atomics,
//! cell, spin hint and yield from here:
//!
//! - the spin lock ([`super::spin`]),
//! - a waiter's park/notify state (`rt/park.rs`),
//! - the hand-over handshake between a thread that gives a hub work and
//!   the hub going to sleep (`rt/wake.rs`),
//! - the wait queues and their grant/abandon paths
//!   ([`super::waiter`]).
//!
//! In the runtime these are std's own types, re-exported (the cell is a
//! `repr(transparent)` wrapper whose methods inline away), so this module
//! costs nothing. The loom models (`green-rt/tests/loom_*.rs`, run by
//! `scripts/loom.sh` with `--cfg loom`) compile those same source files
//! into their test crates, where this module hands out loom's types
//! instead; the hub-specific parts (switching stacks, the `mio` poll) sit
//! behind narrow seams that the models replace with stand-ins built on
//! loom's threads. Loom then explores the interleavings of the real code.
//!
//! The switch is `all(loom, test)`: a test crate built with `--cfg loom`.
//! The library itself, even when built with `--cfg loom` as the models'
//! dependency, keeps std's types (its `const fn` constructors need them).

#[cfg(not(all(loom, test)))]
pub(crate) use std::{
    hint::spin_loop,
    sync::atomic::{AtomicBool, AtomicU8, Ordering},
    thread::yield_now,
};

#[cfg(all(loom, test))]
pub(crate) use ::loom::{
    sync::atomic::{AtomicBool, AtomicU8, Ordering},
    thread::yield_now,
};

/// A busy-wait hint to the CPU, which means nothing to the memory model:
/// under loom, nothing. (Loom's own `spin_loop` yields, and a backoff of
/// dozens of hints per round then makes more branches than loom explores;
/// a spin loop still yields to loom through its `yield_now`.)
#[cfg(all(loom, test))]
#[inline(always)]
pub(crate) fn spin_loop() {}

/// A cell for data guarded by a lock: std's `UnsafeCell`, or loom's, which
/// checks that every access happens after the previous one (so a lock that
/// lets two holders in, or publishes the data with too weak an ordering,
/// fails the model).
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T: ?Sized> {
    #[cfg(not(all(loom, test)))]
    inner: std::cell::UnsafeCell<T>,
    #[cfg(all(loom, test))]
    inner: ::loom::cell::UnsafeCell<T>,
}

impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    #[cfg(not(all(loom, test)))]
    #[inline(always)]
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell {
            inner: std::cell::UnsafeCell::new(value),
        }
    }

    /// A cell holding `value`.
    #[cfg(all(loom, test))]
    pub(crate) fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell {
            inner: ::loom::cell::UnsafeCell::new(value),
        }
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    /// A pointer to the value, for a caller that has exclusive access to
    /// it (loom records the access and checks it against the others).
    #[cfg(not(all(loom, test)))]
    #[inline(always)]
    pub(crate) fn get_mut_ptr(&self) -> *mut T {
        self.inner.get()
    }

    /// A pointer to the value, for a caller that has exclusive access to
    /// it (loom records the access and checks it against the others).
    #[cfg(all(loom, test))]
    pub(crate) fn get_mut_ptr(&self) -> *mut T {
        self.inner.get_mut().with(|p| p)
    }
}

//! Stand-in for `src/rt/spin.rs` in the models with three or more
//! threads on one lock: a lock whose contenders park (loom's thread park)
//! where the spin lock's spin and yield.
//!
//! Loom lets two yielding contenders hand the CPU to each other without end
//! (a switch away from a thread that yielded costs no preemption), so
//! executions with two spinners grow past any bound. The wait-queue
//! protocol needs of its lock only mutual exclusion with acquire/release
//! ordering, which this gives too; the spin lock itself is checked in
//! `loom_spin.rs`, and with two threads in `loom_waiter.rs`. (Loom's own
//! mutex will not do: a guard dropped during an unwind, as a killed
//! waiter's cleanup drops one, poisons it for good.)

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use ::loom::cell::UnsafeCell;
use ::loom::sync::atomic::{AtomicBool, Ordering};
use ::loom::thread::{self, Thread};

/// A lock around `T` with the spin lock's interface.
#[derive(Debug)]
pub(crate) struct SpinLock<T: ?Sized> {
    locked: AtomicBool,
    /// Contenders to unpark at the next unlock. A std mutex: loom runs one
    /// thread at a time and nothing blocks under it.
    parked: Mutex<Vec<Thread>>,
    value: UnsafeCell<T>,
}

// SAFETY: one holder at a time has access to `value` (see `lock`).
unsafe impl<T: ?Sized + Send> Sync for SpinLock<T> {}

/// Access to a [`SpinLock`]'s value; unlocks when dropped.
#[derive(Debug)]
pub(crate) struct SpinGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    /// An unlocked lock around `value`.
    pub(crate) fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            parked: Mutex::new(Vec::new()),
            value: UnsafeCell::new(value),
        }
    }
}

impl<T: ?Sized> SpinLock<T> {
    fn try_lock(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    fn parked(&self) -> std::sync::MutexGuard<'_, Vec<Thread>> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the lock, parking while another thread holds it.
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        let me = thread::current();
        while !self.try_lock() {
            // Registered before the second try, so an unlock after it
            // finds this thread to unpark.
            self.parked().push(me.clone());
            if self.try_lock() {
                break;
            }
            thread::park();
        }
        // Entries an unlock did not take (a wake-up meant for the waiter's
        // park state, or the second try, let it in first).
        self.parked().retain(|t| t.id() != me.id());
        SpinGuard { lock: self }
    }
}

impl<T: ?Sized> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock; loom checks the access.
        unsafe { &*self.lock.value.get_mut().with(|p| p) }
    }
}

impl<T: ?Sized> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`.
        unsafe { &mut *self.lock.value.get_mut().with(|p| p) }
    }
}

impl<T: ?Sized> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        // A read-modify-write, so that loom orders it after the contenders'
        // attempts (see `src/rt/spin.rs` on loom's modification order).
        self.lock.locked.swap(false, Ordering::Release);
        // All of them: an entry may be stale (its thread got the lock
        // since), and one stale wake-up must not stand for a real one. The
        // others find the lock taken again and park again.
        let parked = std::mem::take(&mut *self.lock.parked());
        for t in parked {
            t.unpark();
        }
    }
}
